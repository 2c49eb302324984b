"""A sentence-transformers embedder run by onnxruntime from its ONNX export (see :mod:`ragtune.models.onnx_export`).

It reproduces what ``SentenceTransformer.encode`` does for a mean-pooling model — strip each text, tokenize with
the model's fast tokenizer truncated to ``max_seq_length`` tokens (special tokens included), run the network,
mean-pool over the attention mask, L2-normalize — without PyTorch at query time. Texts are batched by token
count, longest first, so each batch pads to lengths close to its own (sentence-transformers sorts by characters).
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Sequence

import numpy as np

from ragtune.errors import ModelError
from ragtune.models.tokens import TokenCounter


class OnnxEmbedder:
    """``precision`` is ``float32`` (the exported float model) or ``int8`` (its dynamic quantization)."""

    def __init__(self, source: Path, model_id: str, dim: int, precision: str = "float32") -> None:
        if precision not in ("float32", "int8"):
            raise ValueError(f"precision {precision!r}: float32 or int8")
        if not (source / "tokenizer.json").is_file():
            raise ModelError(f"embedder folder {source} has no tokenizer.json, which the ONNX backend needs; use "
                             "embedder_backend 'torch' (RAGTUNE_EMBEDDER_BACKEND=torch)")
        self.source = source
        self.model_id = model_id
        self.dim = dim
        self.precision = precision
        self._session = None
        self._tokenizer = None
        self._tokens = TokenCounter(source)
        self._max_seq_length = 0
        self._lock = threading.Lock()

    def _load(self) -> None:
        """Export on first use (cached across processes), then open the session and the tokenizer."""
        with self._lock:
            if self._session is not None:
                return
            import onnxruntime
            from tokenizers import Tokenizer

            from ragtune.models.onnx_export import exported_embedder

            export = exported_embedder(self.source)
            options = onnxruntime.SessionOptions()
            options.log_severity_level = 3  # onnxruntime's warnings about unused initializers are not the user's
            path = export.int8_model if self.precision == "int8" else export.float_model
            session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
            tokenizer = Tokenizer.from_file(str(self.source / "tokenizer.json"))
            tokenizer.enable_truncation(export.max_seq_length)  # counts the special tokens, like transformers
            padding = tokenizer.padding or {}
            tokenizer.enable_padding(pad_id=padding.get("pad_id", 0), pad_token=padding.get("pad_token", "[PAD]"),
                                     pad_type_id=padding.get("pad_type_id", 0))  # to the longest in each batch
            self._max_seq_length = export.max_seq_length
            self._tokenizer = tokenizer
            self._session = session

    def embed(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        self._load()
        tokenizer, session = self._tokenizer, self._session
        # sentence-transformers strips each text before tokenizing
        unpadded = self._unpadded_lengths([str(t).strip() for t in texts])
        order = np.argsort(-np.asarray(unpadded), kind="stable")
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for start in range(0, len(texts), batch_size):
            rows = order[start:start + batch_size]
            encodings = tokenizer.encode_batch([str(texts[i]).strip() for i in rows])
            ids = np.asarray([e.ids for e in encodings], dtype=np.int64)
            feed = {"input_ids": ids,
                    "attention_mask": np.asarray([e.attention_mask for e in encodings], dtype=np.int64),
                    "token_type_ids": np.asarray([e.type_ids for e in encodings], dtype=np.int64)}
            out[rows] = session.run(None, feed)[0]
        return out

    def _unpadded_lengths(self, texts: list[str]) -> list[int]:
        """Each text's token count as the model sees it (special tokens in, truncated): the batching key."""
        counts = self.count_tokens(texts)
        return [min(n + 2, self._max_seq_length) for n in counts]

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        return self._tokens.count(texts)

    @property
    def max_tokens(self) -> int:
        self._load()
        return self._max_seq_length - 2
