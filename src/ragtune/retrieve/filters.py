"""Metadata filters applied before ranking: a source-path prefix and exact metadata key=value matches."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np

from ragtune.errors import InputError


@dataclass(frozen=True)
class Filters:
    """All conditions must hold. ``metadata`` matches values as strings (metadata is stored as strings)."""

    path_prefix: str | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not self.path_prefix and not self.metadata

    @staticmethod
    def parse(path_prefix: str | None = None, where: list[str] | None = None) -> "Filters":
        """Build filters from CLI-style ``key=value`` strings."""
        metadata: dict[str, str] = {}
        for item in where or []:
            key, sep, value = item.partition("=")
            if not sep or not key.strip():
                raise InputError(f"filter {item!r}: expected key=value, e.g. --where lang=en")
            metadata[key.strip()] = value.strip()
        return Filters(path_prefix or None, metadata)

    def mask(self, source_paths: np.ndarray, metadata_sets: Sequence[set[str]]) -> np.ndarray:
        """Which rows pass: ``source_paths`` a str array, ``metadata_sets`` each row's ``key=value`` strings."""
        keep = np.ones(len(source_paths), dtype=bool)
        if self.path_prefix and len(source_paths):
            keep &= np.char.startswith(source_paths, self.path_prefix)
        wanted = metadata_pairs(self.metadata)
        if wanted:
            keep &= np.fromiter((all(w in row for w in wanted) for row in metadata_sets), dtype=bool,
                                count=len(source_paths))
        return keep


def metadata_pairs(metadata: Mapping[str, str]) -> list[str]:
    """The searchable form of metadata: sorted ``key=value`` strings."""
    return sorted(f"{k}={v}" for k, v in metadata.items())
