"""Metadata filters applied before ranking: a source-path prefix and exact metadata key=value matches."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

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

    def matches(self, source_path: str, metadata_pairs: list[str] | None) -> bool:
        if self.path_prefix and not source_path.startswith(self.path_prefix):
            return False
        pairs = set(metadata_pairs or [])
        return all(f"{k}={v}" in pairs for k, v in self.metadata.items())


def metadata_pairs(metadata: Mapping[str, str]) -> list[str]:
    """The searchable form of metadata: sorted ``key=value`` strings."""
    return sorted(f"{k}={v}" for k, v in metadata.items())
