"""A deterministic embedder for fast unit tests: hashed bag of words, L2-normalized.

Texts sharing words get similar vectors, so ranking tests are meaningful, and no model is loaded.
"""

from __future__ import annotations

import hashlib
import re
from typing import Sequence

import numpy as np

_WORD = re.compile(r"\w+")


class FakeEmbedder:
    model_id = "fake-hash-embedder"

    def __init__(self, dim: int = 64) -> None:
        self.dim = dim
        self.calls: list[int] = []  # texts embedded per call, so tests can assert what was (not) re-embedded
        self.warmed_up = False

    def _vector(self, text: str) -> np.ndarray:
        vec = np.zeros(self.dim, dtype=np.float32)
        for word in _WORD.findall(text.lower()):
            bucket = int.from_bytes(hashlib.blake2b(word.encode(), digest_size=4).digest(), "little")
            vec[bucket % self.dim] += 1.0
        norm = np.linalg.norm(vec)
        return vec / norm if norm else vec

    def embed(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        self.calls.append(len(texts))
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([self._vector(t) for t in texts])

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        return [len(_WORD.findall(t)) for t in texts]

    def warm_up(self) -> None:
        self.warmed_up = True  # nothing to load; tests check that a server warms its embedder up
