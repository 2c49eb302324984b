"""The sync plan as a pure function: compare stored fingerprints with the incoming ones."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Collection, Mapping


@dataclass(frozen=True)
class SyncPlan:
    added: tuple[str, ...]
    updated: tuple[str, ...]
    unchanged: tuple[str, ...]
    removed: tuple[str, ...]

    @property
    def to_index(self) -> tuple[str, ...]:
        return self.added + self.updated


def plan_sync(
    stored: Mapping[str, str],
    incoming: Mapping[str, str],
    *,
    remove_missing: bool,
    unreadable: Collection[str] = (),
) -> SyncPlan:
    """Decide what to do with each document id.

    ``stored`` and ``incoming`` map doc id → fingerprint. A stored id absent from ``incoming`` is removed only when
    ``remove_missing`` (sync) and only if it is not in ``unreadable`` (present but failed to read this time: a
    transient error must not delete indexed content). Ids keep the incoming order; removals are sorted.
    """
    added = tuple(i for i, fp in incoming.items() if i not in stored)
    updated = tuple(i for i, fp in incoming.items() if i in stored and stored[i] != fp)
    unchanged = tuple(i for i, fp in incoming.items() if stored.get(i) == fp)
    keep = set(incoming) | set(unreadable)
    removed = tuple(sorted(i for i in stored if i not in keep)) if remove_missing else ()
    return SyncPlan(added, updated, unchanged, removed)
