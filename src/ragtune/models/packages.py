"""Models shipped inside PyPI wheels: find a package's folder without importing it."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from ragtune.errors import ModelError


def package_dir(module: str, install: str) -> Path:
    """The folder of an installed package (``find_spec``, so its ``__init__`` never runs)."""
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(f"the model package for {module!r} is not installed: run `make setup` (or `{install}`)")
    return Path(spec.submodule_search_locations[0])
