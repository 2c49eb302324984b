"""Token counting for chunking: one counter, from the model folder's tokenizer.json, for every embedder backend."""

from __future__ import annotations

import shutil

import pytest

from ragtune.errors import ModelError
from ragtune.models.embedder import SentenceTransformerEmbedder, default_embedder_path
from ragtune.models.tokens import TokenCounter, encode_batch

LONG = "word " * 600  # past the model's 256-token window and its tokenizer.json's padding length of 128


def test_counts_are_the_texts_real_lengths_without_special_tokens_padding_or_truncation():
    counter = TokenCounter(default_embedder_path())
    assert counter.count(["a", "hello world", LONG, "", "   "]) == [1, 2, 600, 0, 0]
    assert counter.count([]) == []


def test_counting_with_the_torch_backend_does_not_load_the_network():
    embedder = SentenceTransformerEmbedder(default_embedder_path(), "cpu")
    assert embedder.count_tokens(["The Normans gave their name to Normandy."]) == [9]
    assert embedder._model is None


def test_a_folder_without_tokenizer_json_counts_with_the_fallback_tokenizer(tmp_path):
    from tokenizers import Tokenizer

    source = default_embedder_path() / "tokenizer.json"
    counter = TokenCounter(tmp_path, fallback=lambda: Tokenizer.from_file(str(source)))
    assert counter.count(["hello world", LONG]) == [2, 600]


def test_a_folder_without_tokenizer_json_or_fallback_names_the_folder(tmp_path):
    shutil.copy(default_embedder_path() / "config.json", tmp_path / "config.json")
    with pytest.raises(ModelError, match=str(tmp_path)):
        TokenCounter(tmp_path).count(["hello"])


def test_encoding_without_offsets_gives_the_tokens_masks_and_type_ids_of_a_full_encoding():
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(default_embedder_path() / "tokenizer.json"))
    tokenizer.enable_truncation(256)
    texts = ["a", "hello world", LONG, "", "Zürich, 東京 🚀 — ∑ x² ≤ ∞"]
    fast, full = encode_batch(tokenizer, texts), tokenizer.encode_batch(texts)
    assert [(e.ids, e.attention_mask, e.type_ids) for e in fast] == [
        (e.ids, e.attention_mask, e.type_ids) for e in full]

    class WithoutFastPath:  # an older tokenizers release, or another tokenizer object
        def encode_batch(self, texts, add_special_tokens=True):
            return tokenizer.encode_batch(texts, add_special_tokens=add_special_tokens)

    assert [e.ids for e in encode_batch(WithoutFastPath(), texts, add_special_tokens=False)] == [
        e.ids for e in tokenizer.encode_batch(texts, add_special_tokens=False)]
