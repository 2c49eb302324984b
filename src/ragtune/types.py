"""Typed records passed between stages, at the bottom of the package: every layer may use them, they use no
layer. All frozen: a stage returns new values, never mutates its input."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Iterable, Literal, Mapping, Sequence

import numpy as np

from ragtune.errors import ConfigError, InputError

BlockKind = Literal["heading", "paragraph", "list_item", "code", "table", "quote"]
SearchMode = Literal["hybrid", "bm25", "dense"]
SEARCH_MODES: tuple[SearchMode, ...] = ("hybrid", "bm25", "dense")
FUSION_METHODS = ("zscore", "rrf")  # how hybrid search fuses its lists: ragtune.retrieve.fusion


@dataclass(frozen=True)
class Block:
    """One structural unit of a parsed document, in reading order.

    ``level`` is the heading level (1–6) for headings and 0 otherwise. ``text`` is raw extracted text; the
    normalizer decides whitespace, so parsers do not have to.
    """

    kind: BlockKind
    text: str
    level: int = 0


@dataclass(frozen=True)
class ParsedDocument:
    """What a parser returns: a title (may be empty) and the blocks in reading order."""

    title: str
    blocks: tuple[Block, ...]


@dataclass(frozen=True)
class SourceDocument:
    """A document read from disk (file or one corpus line) before normalization.

    ``fingerprint_input`` is the raw content that decides whether the document changed since it was indexed
    (file bytes, or the canonical JSON of a corpus line).
    """

    doc_id: str
    source_path: str
    parsed: ParsedDocument
    metadata: Mapping[str, str]
    fingerprint_input: bytes


@dataclass(frozen=True)
class Section:
    """A span of the normalized text that came from one block; offsets index ``Document.text``."""

    start: int
    end: int
    kind: BlockKind
    heading_path: tuple[str, ...]


@dataclass(frozen=True)
class Document:
    """A normalized document: ``version`` is the sha256 of ``text``."""

    doc_id: str
    version: str
    text: str
    title: str
    source_path: str
    metadata: Mapping[str, str]
    sections: tuple[Section, ...]


@dataclass(frozen=True)
class Chunk:
    """A retrievable span: ``document.text[start:end] == text``."""

    chunk_id: str
    doc_id: str
    doc_version: str
    ordinal: int
    text: str
    start: int
    end: int
    heading_path: tuple[str, ...]
    source_path: str
    metadata: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Hit:
    """A ranked search result with the per-mode evidence behind its rank.

    ``scores`` holds the raw score of each retriever that found the chunk (``bm25``, ``dense``) and, in hybrid
    mode, the fused ``rrf`` score; ``ranks`` holds the 1-based rank in each retriever's list.
    """

    chunk: Chunk
    score: float
    scores: Mapping[str, float]
    ranks: Mapping[str, int]


# ---- filters -------------------------------------------------------------------------------------------------


def visible_to(doc_groups: Iterable[str] | None, groups: frozenset[str] | None) -> bool:
    """The access rule, in one place: a document with no groups is visible to everyone; a document with groups is
    visible to a caller holding at least one of them; ``groups`` None means an unrestricted caller (an admin key,
    the local CLI). Stores apply the same rule inside their queries (see ``store.lance.filters_sql`` and the
    searcher's in-memory mask); tests check they agree with this function."""
    if groups is None:
        return True
    held = set(doc_groups or ())
    return not held or not held.isdisjoint(groups)


@dataclass(frozen=True)
class Viewer:
    """Who is asking, for access control: an API key's id, its groups, and whether it is an admin key.

    Components take ``viewer=None`` for the local user (CLI, Python API), who sees everything."""

    key_id: str
    groups: frozenset[str] = frozenset()
    admin: bool = False

    @property
    def visibility(self) -> frozenset[str] | None:
        """The groups a search must be restricted to, or None (admin: everything)."""
        return None if self.admin else self.groups

    def sees(self, doc_groups: Iterable[str] | None) -> bool:
        return visible_to(doc_groups, self.visibility)

    def sees_record(self, body: Mapping) -> bool:
        """A non-admin key sees only the audit records of answers it asked itself."""
        return self.admin or body.get("api_key_id") == self.key_id


@dataclass(frozen=True)
class Filters:
    """All conditions must hold. ``metadata`` matches values as strings (metadata is stored as strings).

    ``groups`` restricts results to documents visible to a caller holding those groups (:func:`visible_to`);
    None means no restriction. It is applied inside the search, never to its top-k afterwards, so a restricted
    caller still gets k results when k visible ones exist."""

    path_prefix: str | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)
    groups: frozenset[str] | None = None

    def __post_init__(self) -> None:
        if self.groups is not None and not isinstance(self.groups, frozenset):
            object.__setattr__(self, "groups", frozenset(self.groups))

    @property
    def empty(self) -> bool:
        return not self.path_prefix and not self.metadata and self.groups is None

    @staticmethod
    def parse(path_prefix: str | None = None, where: list[str] | None = None) -> "Filters":
        """Build filters from CLI-style ``key=value`` strings, split at the first '=' (so the value may hold '='
        and the key may not; the Python API takes any key)."""
        metadata: dict[str, str] = {}
        for item in where or []:
            key, sep, value = item.partition("=")
            if not sep or not key.strip():
                raise InputError(f"filter {item!r}: expected key=value, e.g. --where lang=en")
            metadata[key.strip()] = value.strip()
        return Filters(path_prefix or None, metadata)

    def to_json(self) -> dict:
        """As audit records keep them (replay rebuilds the same filters from this)."""
        return {"path_prefix": self.path_prefix, "metadata": dict(self.metadata),
                "groups": None if self.groups is None else sorted(self.groups)}

    @staticmethod
    def from_json(data: Mapping) -> "Filters":
        groups = data.get("groups")  # absent in records written before access groups existed
        return Filters(data.get("path_prefix"), dict(data.get("metadata") or {}),
                       None if groups is None else frozenset(groups))

    def mask(self, source_paths: np.ndarray, metadata_sets: Sequence[set[str]]) -> np.ndarray:
        """Which rows pass: ``source_paths`` a str array, ``metadata_sets`` each row's :func:`metadata_pairs`."""
        keep = np.ones(len(source_paths), dtype=bool)
        if self.path_prefix and len(source_paths):
            keep &= np.char.startswith(source_paths, self.path_prefix)
        wanted = metadata_pairs(self.metadata)
        if wanted:
            keep &= np.fromiter((all(w in row for w in wanted) for row in metadata_sets), dtype=bool,
                                count=len(source_paths))
        return keep


def metadata_pairs(metadata: Mapping[str, str]) -> list[str]:
    """The searchable form of metadata, one string per pair: the JSON array ``["key","value"]``, sorted.

    JSON, not ``key=value``: with '=' in a key or value, "a=b=c" would be both key "a" with value "b=c" and key
    "a=b" with value "c", so a filter on one would match the other. JSON quotes and escapes both parts, so each
    pair has exactly one encoding. Stores keep these strings (and compare them whole) in their ``meta_kv``
    column; changing the encoding means a new store schema version."""
    return sorted(json.dumps([k, v], ensure_ascii=False, separators=(",", ":")) for k, v in metadata.items())


# ---- generation ----------------------------------------------------------------------------------------------

Message = dict[str, str]  # {"role": "system" | "user" | "assistant", "content": "..."}


@dataclass(frozen=True)
class GenerationParams:
    """Decoding settings; ``temperature == 0`` means greedy (deterministic for local models)."""

    max_new_tokens: int = 160
    temperature: float = 0.0
    top_p: float = 1.0
    seed: int = 0
    stop: tuple[str, ...] = ()
    repetition_penalty: float = 1.0  # > 1 discourages repeating tokens (local models; servers may ignore it)

    def __post_init__(self) -> None:
        if self.max_new_tokens < 1:
            raise ConfigError(f"max_new_tokens={self.max_new_tokens}: must be >= 1")
        if self.temperature < 0:
            raise ConfigError(f"temperature={self.temperature}: must be >= 0")
        if self.repetition_penalty <= 0:
            raise ConfigError(f"repetition_penalty={self.repetition_penalty}: must be > 0")
        if not 0 < self.top_p <= 1:
            raise ConfigError(f"top_p={self.top_p}: must be in (0, 1]")

    def to_json(self) -> dict:
        data = asdict(self)
        data["stop"] = list(self.stop)
        return data


@dataclass(frozen=True)
class Generation:
    text: str
    prompt_tokens: int
    completion_tokens: int
    seconds: float
    finish_reason: str = "stop"
    counted: bool = True  # False when the backend did not report token counts (a streamed reply): counts are 0


@dataclass(frozen=True)
class ModelIdentity:
    """What the audit log records so an answer can be tied to exact weights."""

    backend: str  # "local" | "openai"
    model_id: str
    model_hash: str  # sha256 of the weights file(s); "" when a server does not expose it
    adapter_id: str | None = None
    adapter_hash: str | None = None
    extra: dict = field(default_factory=dict)  # a local model computing in bfloat16 has {"dtype": "bfloat16"}

    @property
    def dtype(self) -> str | None:
        """The precision a local model computes in (None: a server's own business). float32 is not written into
        ``extra``, so float32 identities — and the evaluation runs keyed by them — are what they were before
        ragtune had a choice."""
        return None if self.backend == "openai" else self.extra.get("dtype", "float32")


@dataclass(frozen=True)
class AdapterRef:
    """A resolved LoRA adapter: its folder and the id it is known by (a registry id, or the folder's name)."""

    path: Path
    adapter_id: str
