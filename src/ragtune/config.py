"""Validated settings. Each dataclass checks itself on construction so a bad value fails early, by name."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from ragtune.errors import ConfigError
from ragtune.types import FUSION_METHODS, GenerationParams

DEFAULT_HOME = Path(".ragtune")
STORE_BACKENDS = ("lance", "postgresql")  # what ragtune.store.factory knows: "lance", or a postgresql:// URL
# How the embedder runs (see ragtune.models.embedder): auto = the measured CPU default, or torch on a GPU
EMBEDDER_BACKENDS = ("auto", "torch", "onnx", "onnx-int8")
MODEL_DTYPES = ("float32", "bfloat16")  # a local generator's precision (GeneratorConfig.dtype)
_POSTGRES_SCHEMES = ("postgresql://", "postgres://")
_NAMESPACE = re.compile(r"[a-z0-9_]{0,40}")
MIB = 1 << 20


def resolve_home(home: str | Path | None = None) -> Path:
    """The ragtune home: an explicit argument, else ``$RAGTUNE_HOME``, else ``./.ragtune``."""
    chosen = home if home is not None else os.environ.get("RAGTUNE_HOME") or DEFAULT_HOME
    return Path(chosen).expanduser().resolve()


def redact_url(url: str) -> str:
    """``url`` without its password, for messages and ``ragtune status``."""
    try:
        parts = urlsplit(url)
        if parts.password is None:
            return url
        netloc = f"{parts.username or ''}:***@{parts.hostname or ''}" + (f":{parts.port}" if parts.port else "")
    except ValueError:
        return url.split("://", 1)[0] + "://…"
    return urlunsplit(parts._replace(netloc=netloc))


def store_backend(store: str) -> str:
    """Which backend a ``store`` setting names: ``lance``, or ``postgresql`` for a ``postgresql://`` URL
    (``postgresql://user:password@host:5432/database``; libpq's query parameters such as ``sslmode`` pass through)."""
    if store == "lance":
        return "lance"
    if store.startswith(_POSTGRES_SCHEMES):
        try:
            parts = urlsplit(store)
            parts.port  # noqa: B018 — raises ValueError on a port that is not a number
        except ValueError as exc:
            raise ConfigError(f"store {redact_url(store)!r}: not a valid URL ({exc})") from None
        if not (parts.hostname or "host=" in parts.query):
            raise ConfigError(f"store {redact_url(store)!r}: name the server, e.g. "
                              "postgresql://ragtune@db.example:5432/ragtune")
        return "postgresql"
    raise ConfigError(f"store {redact_url(store)!r} (RAGTUNE_STORE or --store): expected 'lance' (the index in the "
                      "home folder) or a PostgreSQL URL, postgresql://user:password@host:5432/database")


@dataclass(frozen=True)
class ChunkingConfig:
    """How documents are cut into chunks; sizes are counted in the embedder's tokens.

    ``target_tokens`` is the most a chunk holds (a single sentence longer than that is cut at word boundaries);
    ``overlap_tokens`` is how much of the previous chunk's tail a size-split chunk repeats; a heading starts a new
    chunk once the current one holds at least ``min_tokens``.
    """

    target_tokens: int = 200
    overlap_tokens: int = 32
    min_tokens: int = 48

    def __post_init__(self) -> None:
        if self.target_tokens < 16:
            raise ConfigError(f"chunking target_tokens={self.target_tokens}: must be at least 16")
        if not 0 <= self.overlap_tokens < self.target_tokens // 2:
            raise ConfigError(
                f"chunking overlap_tokens={self.overlap_tokens}: must be >= 0 and below half of "
                f"target_tokens ({self.target_tokens})"
            )
        if not 0 <= self.min_tokens <= self.target_tokens:
            raise ConfigError(f"chunking min_tokens={self.min_tokens}: must be between 0 and target_tokens")


def _env_number(name: str, default: float) -> float:
    """A positive number from the environment variable ``name``, or ``default`` when it is unset or empty."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r}: expected a number, e.g. {name}={default:g}") from None
    if not value > 0:  # also refuses nan
        raise ConfigError(f"{name}={raw!r}: must be above 0")
    return value


@dataclass(frozen=True)
class IngestConfig:
    """What one input may cost, so a single hostile or broken file cannot stall or exhaust an ingest run.

    A file over ``max_file_bytes`` (64 MiB; ``RAGTUNE_MAX_FILE_MB``) is refused before its bytes are read. A
    corpus ``.jsonl`` is read line by line rather than whole, so the file itself may be any size; each line is
    one document and gets the same ``max_file_bytes`` limit. A PDF with more than ``max_pdf_pages`` pages (2,000;
    ``RAGTUNE_MAX_PDF_PAGES``) is refused before its text is extracted, and extraction stops once it has run
    ``max_pdf_seconds`` (60 s; ``RAGTUNE_MAX_PDF_SECONDS``), checked between pages. pypdf's own limits cap each
    decompressed stream (see the pypdf pin in pyproject.toml). Every refusal is a per-file failure: the other
    files of the run are still indexed.
    """

    max_file_bytes: int = field(default_factory=lambda: int(_env_number("RAGTUNE_MAX_FILE_MB", 64) * MIB))
    max_pdf_pages: int = field(default_factory=lambda: int(_env_number("RAGTUNE_MAX_PDF_PAGES", 2000)))
    max_pdf_seconds: float = field(default_factory=lambda: _env_number("RAGTUNE_MAX_PDF_SECONDS", 60.0))

    def __post_init__(self) -> None:
        for name in ("max_file_bytes", "max_pdf_pages", "max_pdf_seconds"):
            if not getattr(self, name) > 0:
                raise ConfigError(f"ingest {name}={getattr(self, name)}: must be above 0")


@dataclass(frozen=True)
class RetrievalConfig:
    """Query-time settings.

    ``candidates`` is how deep each retriever's list goes before fusion; ``fusion`` how hybrid search combines
    the lists (``zscore`` or ``rrf``, see :mod:`ragtune.retrieve.fusion`); ``rrf_k`` is the reciprocal-rank-fusion
    constant (Cormack et al. 2009 use 60); above ``exact_max_chunks`` chunks the store's ANN and full-text indexes
    are used instead of exact in-memory search; ``refresh_seconds`` is how stale a reader may be about another
    process's writes (its own are seen at once). The default, 0, asks the store for its version on every query
    (~0.1–0.3 ms on either backend), so once any process's write has returned, every reader's next search —
    another API worker's included — sees it.
    """

    candidates: int = 100
    fusion: str = "zscore"
    rrf_k: int = 60
    exact_max_chunks: int = 100_000
    refresh_seconds: float = 0.0

    def __post_init__(self) -> None:
        if self.candidates < 1:
            raise ConfigError(f"retrieval candidates={self.candidates}: must be >= 1")
        if self.rrf_k < 0:
            raise ConfigError(f"retrieval rrf_k={self.rrf_k}: must be >= 0")
        if self.fusion not in FUSION_METHODS:
            raise ConfigError(f"retrieval fusion={self.fusion!r}: must be one of {', '.join(FUSION_METHODS)}")
        if self.refresh_seconds < 0:
            raise ConfigError(f"retrieval refresh_seconds={self.refresh_seconds}: must be >= 0")
        if self.exact_max_chunks < 0:
            raise ConfigError(f"retrieval exact_max_chunks={self.exact_max_chunks}: must be >= 0")


@dataclass(frozen=True)
class GeneratorConfig:
    """Which model answers. ``model`` is ``default`` (bundled SmolLM2-135M-Instruct) or a local transformers
    folder; with ``base_url`` set, ``model`` is the name an OpenAI-compatible server knows instead.
    Defaults come from ``RAGTUNE_MODEL``, ``RAGTUNE_BASE_URL`` and ``RAGTUNE_API_KEY`` (or ``OPENAI_API_KEY``)."""

    model: str = field(default_factory=lambda: os.environ.get("RAGTUNE_MODEL") or "default")
    base_url: str | None = field(default_factory=lambda: os.environ.get("RAGTUNE_BASE_URL") or None)
    api_key: str | None = field(
        default_factory=lambda: os.environ.get("RAGTUNE_API_KEY") or os.environ.get("OPENAI_API_KEY") or None
    )
    # The precision a local model computes in (a server chooses its own). float32 is the reference: answers are
    # the same whatever the batch size. bfloat16 halves the cost of the matrix products on CPUs with AVX512-BF16
    # or AMX but gives other answers, and batched evaluation then differs from one-at-a-time on some items:
    # half-precision rounding turns the last-bit differences of batched kernels into other tokens.
    # Numbers: docs/benchmarks.md (evaluation speed). RAGTUNE_MODEL_DTYPE.
    dtype: str = field(default_factory=lambda: os.environ.get("RAGTUNE_MODEL_DTYPE") or "float32")

    def __post_init__(self) -> None:
        if self.base_url and not self.base_url.startswith(("http://", "https://")):
            raise ConfigError(f"base_url {self.base_url!r}: expected http(s)://host:port/v1")
        if self.dtype not in MODEL_DTYPES:
            raise ConfigError(f"model dtype {self.dtype!r} (RAGTUNE_MODEL_DTYPE): must be one of "
                              f"{', '.join(MODEL_DTYPES)}")
        if not self.model:
            raise ConfigError("model: give 'default', a local model folder, or a server's model name")

    @property
    def backend(self) -> str:
        return "openai" if self.base_url else "local"


@dataclass(frozen=True)
class AuditConfig:
    """The audit log. With ``key`` set (``RAGTUNE_AUDIT_KEY``) record hashes are HMAC-SHA256 under it, so nobody
    without the key can rewrite the chain and have it verify (see ragtune.audit.log). Kept out of ``repr``."""

    key: str | None = field(default_factory=lambda: os.environ.get("RAGTUNE_AUDIT_KEY") or None, repr=False)

    def __post_init__(self) -> None:
        # a short key can be guessed offline from any one record, which would make keying pointless
        if self.key is not None and len(self.key) < 16:
            raise ConfigError("RAGTUNE_AUDIT_KEY is shorter than 16 characters: use a random one, e.g. "
                              "`openssl rand -hex 32`")


@dataclass(frozen=True)
class AnswerConfig:
    """How ``ask`` answers. ``min_relevance``: the best retrieved chunk's dense cosine below which no source is
    relevant enough to answer from. ``min_support``: the share of the answer's index terms that must occur in
    the sources it cites. How the defaults were calibrated: docs/answers.md."""

    # One source: the bundled 135M model answers best from a single passage (docs/answers.md has the numbers);
    # raise k for larger models.
    k: int = 1
    mode: str = "hybrid"
    min_relevance: float = 0.35
    min_support: float = 0.5
    params: GenerationParams = field(default_factory=lambda: GenerationParams(max_new_tokens=48))

    def __post_init__(self) -> None:
        if self.k < 1:
            raise ConfigError(f"k={self.k}: must be at least 1")
        if self.mode not in ("hybrid", "bm25", "dense"):
            raise ConfigError(f"mode {self.mode!r}: expected one of hybrid, bm25, dense")
        for name in ("min_relevance", "min_support"):
            value = getattr(self, name)
            if not -1.0 <= value <= 1.0:
                raise ConfigError(f"{name}={value}: must be between -1 and 1")


@dataclass(frozen=True)
class Settings:
    """Everything an :class:`ragtune.Index` needs to know, with defaults from the environment."""

    home: Path = field(default_factory=resolve_home)
    chunking: ChunkingConfig = field(default_factory=ChunkingConfig)
    ingest: IngestConfig = field(default_factory=IngestConfig)
    retrieval: RetrievalConfig = field(default_factory=RetrievalConfig)
    embedder: str = "default"
    # How the embedder runs: torch (the reference), onnx (same vectors, less overhead), onnx-int8 (quantized,
    # different vectors) or auto. An existing index keeps the backend family it was built with
    # (ragtune.models.embedder.backend_for_index). RAGTUNE_EMBEDDER_BACKEND or --embedder-backend.
    embedder_backend: str = field(default_factory=lambda: os.environ.get("RAGTUNE_EMBEDDER_BACKEND") or "auto")
    generator: GeneratorConfig = field(default_factory=GeneratorConfig)
    answer: AnswerConfig = field(default_factory=AnswerConfig)
    audit: AuditConfig = field(default_factory=AuditConfig)
    device: str | None = None
    embed_batch_size: int = 64
    # Prompts decoded together by evaluation (eval answers, diagnose, fine-tuning's before/after); the local
    # model pads a batch and also caps it by total tokens (models/local.py MAX_BATCH_TOKENS). Results do not
    # depend on it. Default measured in bench/eval_speed.py (docs/benchmarks.md): on a CPU a decode step costs
    # about the same for 1 row as for 32 (it streams the weights once), so wider batches take fewer steps.
    eval_batch_size: int = 32
    # `ragtune gc` keeps store versions younger than this, and older ones that audit records of this age pin
    retention_days: float = 30.0
    # Which backend holds the index (see ragtune.store.factory): "lance" keeps it in the home folder; a
    # postgresql:// URL keeps it in that database, shared by every process and machine pointed at it.
    store: str = field(default_factory=lambda: os.environ.get("RAGTUNE_STORE") or "lance")
    # Which index of a shared store this is: "" the main one; evaluations keep their corpus indexes apart under
    # other names (a PostgreSQL schema each). Lance ignores it: each index there has its own folder.
    store_namespace: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "home", resolve_home(self.home))  # accept str, ~, relative paths
        store_backend(self.store)
        if self.embedder_backend not in EMBEDDER_BACKENDS:
            raise ConfigError(f"embedder_backend {self.embedder_backend!r} (RAGTUNE_EMBEDDER_BACKEND or "
                              f"--embedder-backend): must be one of {', '.join(EMBEDDER_BACKENDS)}")
        if not _NAMESPACE.fullmatch(self.store_namespace):
            raise ConfigError(f"store_namespace {self.store_namespace!r}: at most 40 lower-case letters, digits, '_'")
        if self.retention_days < 0:
            raise ConfigError(f"retention_days={self.retention_days}: must be >= 0")
        if self.embed_batch_size < 1:
            raise ConfigError(f"embed_batch_size={self.embed_batch_size}: must be >= 1")
        if self.eval_batch_size < 1:
            raise ConfigError(f"eval_batch_size={self.eval_batch_size}: must be >= 1")


@dataclass(frozen=True)
class LoraConfig:
    """LoRA training settings, CPU-friendly by default.

    r=16 on every linear projection, 2 epochs, batch 8 and 256 tokens: on the bundled 135M model this learns a
    fixed JSON format from a few hundred examples in minutes on 2 cores (docs/finetune.md has the numbers).
    ``eval_every`` is in optimizer steps (0 = twice an epoch); training stops early after ``patience`` evaluations
    without a lower eval loss, and the adapter with the lowest eval loss is the one kept.
    """

    r: int = 16
    alpha: int = 32
    dropout: float = 0.05
    target_modules: tuple[str, ...] = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
    learning_rate: float = 5e-4
    epochs: float = 2.0
    batch_size: int = 8
    max_length: int = 256
    warmup_ratio: float = 0.05
    eval_every: int = 0
    patience: int = 2
    eval_fraction: float = 0.15
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("r", "alpha", "batch_size", "max_length"):
            if getattr(self, name) < 1:
                raise ConfigError(f"lora {name}={getattr(self, name)}: must be at least 1")
        if not 0 <= self.dropout < 1:
            raise ConfigError(f"lora dropout={self.dropout}: must be in [0, 1)")
        if not 0 < self.learning_rate < 1:
            raise ConfigError(f"learning_rate={self.learning_rate}: must be in (0, 1)")
        if self.epochs <= 0:
            raise ConfigError(f"epochs={self.epochs}: must be > 0")
        if not 0 < self.eval_fraction < 0.5:
            raise ConfigError(f"eval_fraction={self.eval_fraction}: must be in (0, 0.5)")
        if self.eval_every < 0 or self.patience < 0:
            raise ConfigError("eval_every and patience must be >= 0")
        if not self.target_modules:
            raise ConfigError("target_modules: name at least one module for LoRA")
