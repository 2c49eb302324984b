"""The ONNX backends against the float PyTorch reference, on the real bundled model (slow: exports it once into a
temporary cache, ~15 s)."""

from __future__ import annotations

import os
import threading
import time

import numpy as np
import pytest

from ragtune.models import onnx_export
from ragtune.models.embedder import load_embedder
from ragtune.models.onnx_embedder import OnnxEmbedder

pytestmark = pytest.mark.slow

LONG = " ".join(f"Sentence {i} of a long report about river {i % 7} and its bridges." for i in range(60))
TEXTS = [
    "Who is the budget owner of Project Heron?",
    "The Normans were the people who in the 10th and 11th centuries gave their name to Normandy.",
    LONG,  # ~800 tokens: both must truncate it to the same 256
    LONG + " An ending the model never sees.",
    "  padded with whitespace  ",
    "a",
    "Zürich, São Paulo, Kraków — 東京 and Москва; emoji 🚀🔥, maths ∑ x² ≤ ∞",
    "\n\n# Heading\n\n- a list item\n- another, with `code`\n",
    "word " * 300,
]
EMPTYISH = ["", "   "]


@pytest.fixture(scope="module")
def backends(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    mp.setenv("RAGTUNE_CACHE", str(tmp_path_factory.mktemp("cache")))
    yield {name: load_embedder("default", None, name) for name in ("torch", "onnx", "onnx-int8")}
    mp.undo()


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


def test_onnx_float_gives_the_reference_vectors(backends):
    texts = TEXTS + EMPTYISH
    ref, got = backends["torch"].embed(texts), backends["onnx"].embed(texts)
    assert got.dtype == np.float32 and got.shape == (len(texts), 384)
    assert np.abs(got - ref).max() < 1e-4
    assert cosines(got, ref).min() >= 0.9999


# How far an int8 vector may move from the reference's: what decides the default is retrieval quality on both
# dev sets (bench/embedding.py's gate); these bounds catch a broken quantization (cosines of 0.6 and below on
# a CPU that saturates), not a small loss. The VNNI copy quantizes every projection, and a one-word text moves
# most (0.988 against 0.994 and up for sentences, measured).
INT8_MIN_COSINE, INT8_MEAN_COSINE = 0.98, 0.99


def test_onnx_int8_stays_close_to_the_reference(backends):
    ref, got = backends["torch"].embed(TEXTS), backends["onnx-int8"].embed(TEXTS)
    assert cosines(got, ref).min() >= INT8_MIN_COSINE and cosines(got, ref).mean() >= INT8_MEAN_COSINE
    # an empty text has no content to keep: its vector (the special tokens alone) moves a little more
    empty = cosines(backends["onnx-int8"].embed(EMPTYISH), backends["torch"].embed(EMPTYISH))
    assert empty.min() >= 0.97


HAS_VNNI = bool(onnx_export.cpu_flags() & onnx_export.VNNI_FLAGS)


@pytest.mark.parametrize("vnni", [False, pytest.param(True, marks=pytest.mark.skipif(
    not HAS_VNNI, reason="the VNNI copy is only run, and only exact, on a CPU with VNNI"))])
def test_each_int8_copy_stays_close_to_the_reference_on_the_cpu_that_runs_it(backends, monkeypatch, vnni):
    monkeypatch.setattr(onnx_export, "cpu_flags", lambda: frozenset({"avx512_vnni"} if vnni else {"avx2"}))
    reference = backends["onnx-int8"]
    embedder = OnnxEmbedder(reference.source, reference.model_id, reference.dim, "int8")
    assert embedder.model_file.name == (onnx_export.INT8_VNNI_FILE if vnni else onnx_export.INT8_FILE)
    got, ref = embedder.embed(TEXTS), backends["torch"].embed(TEXTS)
    assert cosines(got, ref).min() >= INT8_MIN_COSINE and cosines(got, ref).mean() >= INT8_MEAN_COSINE


def test_the_default_int8_backend_runs_the_copy_for_this_cpu(backends):
    expected = onnx_export.INT8_VNNI_FILE if HAS_VNNI else onnx_export.INT8_FILE
    assert backends["onnx-int8"].model_file.name == expected


@pytest.mark.parametrize("name", ["onnx", "onnx-int8"])
def test_long_texts_are_truncated_like_the_reference(backends, name):
    long, longer = backends[name].embed([LONG, LONG + " An ending the model never sees."])
    assert np.allclose(long, longer, atol=1e-6)
    assert backends[name].max_tokens == backends["torch"].max_tokens


def test_onnx_float_vectors_do_not_depend_on_the_batch(backends):
    embedder = backends["onnx"]
    together = embedder.embed(TEXTS, batch_size=3)
    alone = np.stack([embedder.embed([t])[0] for t in TEXTS])
    assert np.allclose(together, alone, atol=1e-5)
    assert np.allclose(embedder.embed(TEXTS[::-1])[::-1], together, atol=1e-5)
    assert embedder.embed([]).shape == (0, 384)


def test_onnx_int8_vectors_depend_a_little_on_the_batch(backends):
    """Dynamic quantization scales each activation tensor by its batch's range, so a text's int8 vector moves
    slightly with the texts it is batched with (docs/retrieval.md); the same batch gives the same vectors."""
    embedder = backends["onnx-int8"]
    together = embedder.embed(TEXTS, batch_size=3)
    alone = np.stack([embedder.embed([t])[0] for t in TEXTS])
    assert cosines(together, backends["torch"].embed(TEXTS)).min() >= INT8_MIN_COSINE
    assert cosines(alone, backends["torch"].embed(TEXTS)).min() >= INT8_MIN_COSINE
    assert cosines(together, alone).min() >= 0.975  # two quantized vectors, each close to the reference
    assert np.array_equal(embedder.embed(TEXTS, batch_size=3), together)
    assert np.array_equal(embedder.embed([TEXTS[0]])[0], alone[0])


def test_token_counts_match_the_reference_tokenizer(backends):
    """Chunk boundaries must not depend on the backend: every backend counts what the torch model's own
    (transformers) tokenizer counts, without special tokens, padding or truncation."""
    reference = backends["torch"].model.tokenizer(TEXTS + EMPTYISH, add_special_tokens=False)["input_ids"]
    for name in ("torch", "onnx", "onnx-int8"):
        assert backends[name].count_tokens(TEXTS + EMPTYISH) == [len(ids) for ids in reference], name


def test_model_ids_separate_the_int8_vectors(backends):
    assert backends["torch"].model_id == backends["onnx"].model_id == "all-MiniLM-L6-v2"
    assert backends["onnx-int8"].model_id == "all-MiniLM-L6-v2+onnx-int8"


class _Recorder:
    """An onnxruntime session that notes which thread ran each batch, and how many ran at once."""

    def __init__(self, session) -> None:
        self.session, self.threads, self.running, self.most = session, [], 0, 0
        self.lock = threading.Lock()

    def run(self, outputs, feed):
        with self.lock:
            self.threads.append(threading.get_ident())
            self.running += 1
            self.most = max(self.most, self.running)
        try:
            time.sleep(0.05)  # long enough for another worker to start its batch meanwhile
            return self.session.run(outputs, feed)
        finally:
            with self.lock:
                self.running -= 1


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="one core: batches run one after another")
def test_several_batches_run_side_by_side_and_a_lone_batch_on_every_core(backends):
    embedder = backends["onnx-int8"]
    reference = embedder.embed(TEXTS, batch_size=2)
    whole, single = embedder._session, embedder._single
    embedder._session, embedder._single = _Recorder(whole), _Recorder(single)
    try:
        assert np.array_equal(embedder.embed(TEXTS, batch_size=2), reference)
        assert embedder._single.most >= 2 and len(set(embedder._single.threads)) >= 2
        assert embedder._session.threads == []
        batches = len(embedder._single.threads)
        embedder.embed(["one short query"])
        assert len(embedder._session.threads) == 1 and len(embedder._single.threads) == batches
    finally:
        embedder._session, embedder._single = whole, single


def test_after_a_warm_up_embedding_documents_opens_no_session(backends, monkeypatch):
    """A server warms its embedder up at start: its first upload must not pay for opening a session."""
    import ragtune.models.onnx_embedder as onnx_embedder

    embedder = load_embedder("default", None, "onnx-int8")
    embedder.warm_up()
    monkeypatch.setattr(onnx_embedder, "_open_session", lambda *a, **k: pytest.fail("a session was opened"))
    reference = backends["onnx-int8"].embed(TEXTS, batch_size=2)
    assert np.array_equal(embedder.embed(TEXTS, batch_size=2), reference)
    embedder.embed(["one short query"])
