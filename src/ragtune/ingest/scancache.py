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
(:func:`ragtune.files.write_atomic`) by the writer holding the home's write lock, plus a journal beside it: a
sync that changed a few entries appends them as JSON lines instead of rewriting every entry, and the journal
is folded into a new whole file once it has more lines than a quarter of the entries. A process keeps the
cache it loaded or saved last and uses it again while neither file has changed since, so a server or a watcher
that syncs a large folder over and over neither parses nor rewrites the whole cache each time (on a
10,000-file folder that was 20-100 ms to parse and 30-130 ms to rewrite per sync; the spread is fresh memory).

Every entry, in either file, is something a sync saw: a file's state and the fingerprint its bytes had. So an
entry out of date, a journal left over from before a whole rewrite, or a torn last line cost at worst reading
a file again — the state or the store's fingerprint no longer matches — never a wrong fingerprint. The cache
is tied to the fingerprint's shared part (settings, embedder, groups) and the size limit: under other ones
every remembered fingerprint is moot, so the files are ignored. A missing, damaged or foreign file is an empty
cache, never an error.
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


def remove_cache(home: Path, source: str) -> None:
    path = cache_path(home, source)
    _HELD.pop(str(path), None)
    path.unlink(missing_ok=True)
    _journal(path).unlink(missing_ok=True)


def _journal(path: Path) -> Path:
    return path.with_name(path.name + ".journal")


def _identity(path: Path) -> tuple:
    """What tells whether the files changed since this process read or wrote them: a whole rewrite makes a new
    inode, an append a larger size."""
    def one(p: Path):
        try:
            st = os.stat(p)
        except OSError:
            return None
        return st.st_ino, st.st_size, st.st_mtime_ns
    return one(path), one(_journal(path))


# A journal is folded into a new whole file past this many lines, or a quarter of the entries when more.
JOURNAL_MIN_LINES = 256

# str(path) -> (files' identity, shape, the cache as this process last loaded or saved it)
_HELD: dict[str, tuple[tuple, str, ScanCache]] = {}


class ScanCache:
    """doc id → (source path, file state, fingerprint) for one source, valid for one fingerprint ``shape``."""

    def __init__(self, path: Path, shape: str, entries: dict[str, list] | None = None,
                 journal_lines: int | None = None) -> None:
        self.path = path
        self.shape = shape
        self._entries: dict[str, list] = entries or {}
        self._dirty: dict[str, list | None] = {}  # changed since written: doc id → entry, or None when gone
        self._journal_lines = journal_lines  # lines of a journal of this shape; None: no usable journal

    @classmethod
    def load(cls, path: Path, shape: str) -> ScanCache:
        identity = _identity(path)
        held = _HELD.get(str(path))
        if held is not None and held[0] == identity and held[1] == shape and identity[0] is not None:
            return held[2]
        entries = _read_entries(path, shape)
        cache = cls(path, shape, entries, _replay_journal(_journal(path), shape, entries))
        _HELD[str(path)] = (identity, shape, cache)
        return cache

    def documents(self) -> set[str]:
        """The documents remembered."""
        return set(self._entries)

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
            self._dirty[doc_id] = entry
            if entry is None:
                self._entries.pop(doc_id, None)
            else:
                self._entries[doc_id] = entry

    def keep_only(self, doc_ids: set[str]) -> None:
        """Forget documents no longer in the source (a full scan of it saw all the others)."""
        gone = [d for d in self._entries if d not in doc_ids]
        for doc_id in gone:
            del self._entries[doc_id]
            self._dirty[doc_id] = None

    def save(self) -> None:
        """Write what changed: appended to the journal, or every entry anew once the journal is long. Failing
        to write only costs reading the files again next time."""
        if not self._dirty:
            return
        limit = max(JOURNAL_MIN_LINES, len(self._entries) // 4)
        try:
            if (self._journal_lines is None or not self.path.exists()
                    or self._journal_lines + len(self._dirty) > limit):
                data = {"format": CACHE_FORMAT, "shape": self.shape, "entries": self._entries}
                write_atomic(self.path, json.dumps(data, separators=(",", ":")))
                write_atomic(_journal(self.path), _header(self.shape))
                self._journal_lines = 0
            else:
                lines = "".join(json.dumps([doc_id, entry], separators=(",", ":")) + "\n"
                                for doc_id, entry in self._dirty.items())
                with open(_journal(self.path), "a", encoding="utf-8") as journal:
                    journal.write(lines)
                self._journal_lines += len(self._dirty)
        except OSError:
            return
        self._dirty = {}
        _HELD[str(self.path)] = (_identity(self.path), self.shape, self)


def _header(shape: str) -> str:
    return json.dumps({"format": CACHE_FORMAT, "shape": shape}, separators=(",", ":")) + "\n"


def _read_entries(path: Path, shape: str) -> dict[str, list]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        usable = data.get("format") == CACHE_FORMAT and data.get("shape") == shape
        return data["entries"] if usable and isinstance(data.get("entries"), dict) else {}
    except (OSError, ValueError, AttributeError, KeyError):
        return {}


def _replay_journal(path: Path, shape: str, entries: dict[str, list]) -> int | None:
    """Apply the journal's lines to ``entries``; returns its line count, or None when it is missing or of
    another shape (the next save then writes every entry anew). Lines that do not parse (a torn last line) are
    skipped."""
    try:
        with open(path, encoding="utf-8") as journal:
            if journal.readline() != _header(shape):
                return None
            count = 0
            for line in journal:
                count += 1
                try:
                    doc_id, entry = json.loads(line)
                except (ValueError, TypeError):
                    continue
                if not isinstance(doc_id, str):
                    continue
                if isinstance(entry, list):
                    entries[doc_id] = entry
                else:
                    entries.pop(doc_id, None)
            return count
    except (OSError, ValueError):
        return None
