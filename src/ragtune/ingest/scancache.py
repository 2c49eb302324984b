"""What a sync already knows about a folder's files, so an unchanged file is not read again.

Deciding "unchanged" means hashing each file's bytes (:class:`~ragtune.ingest.pipeline.Fingerprinter`); over a
folder of 10,000 notes, reading them was most of a sync that changed one. The cache remembers, per document,
the file's state as ``stat`` gives it — device, inode, size, modification and change times in nanoseconds —
and the fingerprint its bytes had. A file whose state is the same as when it was hashed gets that fingerprint
without being read. Change time cannot be set from user space, so a tool that restores an old modification
time still shows up as a change.

Trust has two more conditions:

- the fingerprint counts only while it is still the one the store holds for that document (the store is the
  truth; the cache only saves reading): a document re-indexed by another home, or cut short, is read again;
- a file whose modification time is not clearly older than the moment it was checked is not remembered: a
  write in the same timestamp tick as our read would leave the state unchanged with other bytes (git's
  "racily clean" entries). How much older is "clearly" depends on the file system's timestamps
  (:func:`ragtune.files.timestamp_settled`). Such a file is read again next time, by which point its
  timestamp is old enough.

The cache is one JSON file per source under ``RAGTUNE_HOME/scan-cache/``, written whole
(:func:`ragtune.files.write_atomic`) by the writer holding the home's write lock. It is tied to the
fingerprint's shared part (settings, embedder, groups) and the size limit: under other ones every remembered
fingerprint is moot, so the file is ignored. A missing, damaged or foreign file is an empty cache, never an
error.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import NamedTuple

from ragtune.files import timestamp_settled, write_atomic

CACHE_FOLDER = "scan-cache"
CACHE_FORMAT = 1


class FileState(NamedTuple):
    device: int
    inode: int
    size: int
    mtime_ns: int
    ctime_ns: int


def file_state(path: str | Path) -> FileState | None:
    """The state of ``path`` (following a symlink, as reading it does), or None when it cannot be stat-ed."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return FileState(st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def cache_path(home: Path, source: str) -> Path:
    return Path(home) / CACHE_FOLDER / f"{source}.json"


class ScanCache:
    """doc id → (source path, file state, fingerprint) for one source, valid for one fingerprint ``shape``."""

    def __init__(self, path: Path, shape: str, entries: dict[str, list] | None = None) -> None:
        self.path = path
        self.shape = shape
        self._entries: dict[str, list] = entries or {}
        self._changed = False

    @classmethod
    def load(cls, path: Path, shape: str) -> ScanCache:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            usable = data.get("format") == CACHE_FORMAT and data.get("shape") == shape
            entries = data["entries"] if usable and isinstance(data.get("entries"), dict) else {}
        except (OSError, ValueError, AttributeError, KeyError):
            entries = {}
        return cls(path, shape, entries)

    def fingerprint(self, doc_id: str, source_path: str, state: FileState) -> str | None:
        """The fingerprint remembered for this document at exactly this source path and file state."""
        entry = self._entries.get(doc_id)
        if not (isinstance(entry, list) and len(entry) == 7):
            return None
        if entry[0] != source_path or tuple(entry[1:6]) != state:
            return None
        return entry[6] if isinstance(entry[6], str) else None

    def remember(self, doc_id: str, source_path: str, state: FileState, fingerprint: str,
                 checked_ns: int) -> None:
        """Remember what was read, unless the file changed too recently for its state to vouch for its
        bytes."""
        entry = [source_path, *state, fingerprint]
        if not timestamp_settled(state.mtime_ns, checked_ns):
            entry = None
        if self._entries.get(doc_id) != entry:
            self._changed = True
            if entry is None:
                self._entries.pop(doc_id, None)
            else:
                self._entries[doc_id] = entry

    def keep_only(self, doc_ids: set[str]) -> None:
        """Forget documents no longer in the source (a full scan of it saw all the others)."""
        gone = [d for d in self._entries if d not in doc_ids]
        for doc_id in gone:
            del self._entries[doc_id]
        self._changed = self._changed or bool(gone)

    def save(self) -> None:
        """Write the cache if it changed. Failing to write only costs reading the files again next time."""
        if not self._changed:
            return
        data = {"format": CACHE_FORMAT, "shape": self.shape, "entries": self._entries}
        try:
            write_atomic(self.path, json.dumps(data, separators=(",", ":")))
        except OSError:
            return
        self._changed = False
