"""A sentence-transformers embedder run by onnxruntime from its ONNX export (see :mod:`ragtune.models.onnx_export`).

It reproduces what ``SentenceTransformer.encode`` does for a mean-pooling model — strip each text, tokenize with
the model's fast tokenizer truncated to ``max_seq_length`` tokens (special tokens included), run the network,
mean-pool over the attention mask, L2-normalize — without PyTorch at query time. Texts are batched by token
count, longest first, so each batch pads to lengths close to its own (sentence-transformers sorts by characters).

Several batches (an ingest) run side by side, one a core, each on one thread; a lone batch (a query) runs on
every core. Split over the cores, a small batch waits at every operator for the slowest of them; one batch a
core never waits. Measured on 2 cores at the batch size below: side by side 4.81 s and 6.42 s for the two
sets' passages, one batch on both cores 5.52 s and 7.17 s; a lone query 4.2–4.8 ms on both cores, 5.5–6.2 ms
on one.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Sequence

import numpy as np

from ragtune.errors import ModelError
from ragtune.models.tokens import TokenCounter, encode_batch

# A batch holds at most ``batch_size`` texts and at most this many padded tokens (texts × the longest): a
# passage of the model's full 256 tokens goes alone, short texts (queries, short chunks) go several to a
# batch. Wide batches were slower on a CPU, not faster — likely because a small batch's activations stay in
# the caches (64 full passages' feed-forward activations alone are ~100 MB). Measured on 2 cores (32 MB L3),
# 256 passages of each shared dev set, int8, batches side by side, best of 3: NQ-swap 4.81 s at 256 tokens,
# 5.12 s at 1,024, 5.44 s at 2,048, 6.63 s at 16,384 (64 passages, the old batches); SQuAD 6.42, 6.95, 7.37,
# 9.06 s. The float export gains alike (128 passages of each set: 2.60 and 3.66 s against 4.73 and 5.44 s).
MAX_BATCH_TOKENS = 256


# Batches run side by side on at most this many cores: each batch's activations take their share of the cache.
MAX_WORKERS = 8


def _usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))  # the cores this process may run on (a container's limit too)
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _open_session(path: Path, threads: int | None):
    """An onnxruntime CPU session on ``threads`` threads (None: its default, one per physical core)."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3  # onnxruntime's warnings about unused initializers are not the user's
    if threads is not None:
        options.intra_op_num_threads = options.inter_op_num_threads = threads
    return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def _batches(order: np.ndarray, lengths: Sequence[int], batch_size: int, max_tokens: int) -> list[np.ndarray]:
    """``order`` (indices, longest text first) cut into batches of at most ``batch_size`` texts and at most
    ``max_tokens`` padded tokens (a text longer than that goes alone)."""
    batches = []
    start = 0
    while start < len(order):
        fit = max(1, max_tokens // max(1, lengths[order[start]]))  # the first text of a batch is its longest
        stop = min(start + min(batch_size, fit), len(order))
        batches.append(order[start:stop])
        start = stop
    return batches


class OnnxEmbedder:
    """``precision`` is ``float32`` (the exported float model) or ``int8`` (its dynamic quantization, in the
    copy this CPU runs best: :func:`ragtune.models.onnx_export.int8_file`)."""

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
        self._session = None  # every core on one batch
        self._single = None  # one thread a run: several batches side by side (opened when first needed)
        self._workers = 1
        self._path: Path | None = None
        self._tokenizer = None
        self._tokens = TokenCounter(source)
        self._max_seq_length = 0
        self._lock = threading.Lock()

    def _load(self) -> None:
        """Export on first use (cached across processes), then open the session and the tokenizer."""
        with self._lock:
            if self._session is not None:
                return
            from tokenizers import Tokenizer

            from ragtune.models.onnx_export import exported_embedder

            export = exported_embedder(self.source)
            self._path = export.int8_model if self.precision == "int8" else export.float_model
            session = _open_session(self._path, threads=None)
            self._workers = min(_usable_cores(), MAX_WORKERS)
            tokenizer = Tokenizer.from_file(str(self.source / "tokenizer.json"))
            tokenizer.enable_truncation(export.max_seq_length)  # counts the special tokens, like transformers
            padding = tokenizer.padding or {}
            tokenizer.enable_padding(pad_id=padding.get("pad_id", 0), pad_token=padding.get("pad_token", "[PAD]"),
                                     pad_type_id=padding.get("pad_type_id", 0))  # to the longest in each batch
            self._max_seq_length = export.max_seq_length
            self._tokenizer = tokenizer
            self._session = session

    def _single_thread_session(self):
        """The session several batches share side by side, opened on the first call that has several (a
        process that only embeds queries never opens it)."""
        with self._lock:
            if self._single is None:
                self._single = _open_session(self._path, threads=1)
            return self._single

    def warm_up(self) -> None:
        """Open and run every session a document's embedding uses, so that a server's first upload does not
        pay for it (opening the single-thread session took 134 ms of a 324 ms upload)."""
        self._load()
        sessions = [self._session] + ([self._single_thread_session()] if self._workers > 1 else [])
        for session in sessions:
            self._run(["warm-up"], session)

    def embed(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        self._load()
        stripped = [str(t).strip() for t in texts]  # sentence-transformers strips each text before tokenizing
        unpadded = self._unpadded_lengths(stripped)
        order = np.argsort(-np.asarray(unpadded), kind="stable")
        out = np.empty((len(texts), self.dim), dtype=np.float32)

        def run(rows: np.ndarray, session) -> None:
            out[rows] = self._run([stripped[i] for i in rows], session)

        batches = _batches(order, unpadded, batch_size, MAX_BATCH_TOKENS)
        if len(batches) > 1 and self._workers > 1:
            single = self._single_thread_session()
            with ThreadPoolExecutor(self._workers, thread_name_prefix="ragtune-embed") as pool:
                for _ in pool.map(lambda rows: run(rows, single), batches):  # re-raises a batch's error
                    pass
        else:
            for rows in batches:
                run(rows, self._session)
        return out

    def _run(self, texts: list[str], session) -> np.ndarray:
        """One batch through the network: the pooled, normalized vectors of ``texts`` (already stripped)."""
        encodings = encode_batch(self._tokenizer, texts)
        feed = {"input_ids": np.asarray([e.ids for e in encodings], dtype=np.int64),
                "attention_mask": np.asarray([e.attention_mask for e in encodings], dtype=np.int64),
                "token_type_ids": np.asarray([e.type_ids for e in encodings], dtype=np.int64)}
        return session.run(None, feed)[0]

    def _unpadded_lengths(self, texts: list[str]) -> list[int]:
        """Each text's token count as the model sees it (special tokens in, truncated): the batching key."""
        counts = self.count_tokens(texts)
        return [min(n + 2, self._max_seq_length) for n in counts]

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        return self._tokens.count(texts)

    @property
    def model_file(self) -> Path:
        """The ONNX file this embedder runs (exported on first use)."""
        self._load()
        return self._path

    @property
    def max_tokens(self) -> int:
        self._load()
        return self._max_seq_length - 2
