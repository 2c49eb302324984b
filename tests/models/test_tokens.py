"""Token counting for chunking: one counter, from the model folder's tokenizer.json, for every embedder backend."""

from __future__ import annotations

import shutil

import pytest

from ragtune.errors import ModelError
from ragtune.models.embedder import SentenceTransformerEmbedder, default_embedder_path
from ragtune.models.tokens import TokenCounter

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
