"""RAFT data: the gold chunk among retrieved distractors and cited in the answer, or distractors only and the
abstention text."""

from __future__ import annotations

import json
import re

import pytest
from tests.conftest import REPO, write

from ragtune.errors import InputError
from ragtune.finetune.examples import read_training_examples
from ragtune.finetune.raft import oracle_chunk
from ragtune.generate.prompts import ABSTAIN_TEXT
from ragtune.types import Chunk

MEMOS = REPO / "examples" / "eval"


def chunk(text: str, doc: str = "d") -> Chunk:
    return Chunk(f"{doc}#1", doc, "v", 0, text, 0, len(text), (), "")


def test_the_oracle_is_the_gold_chunk_holding_the_answer_despite_tokenization():
    chunks = [chunk("Nothing here."), chunk("The population was 1 , 000 people in Earth ' s north.")]
    assert oracle_chunk(chunks, ["1,000"]) is chunks[1]  # the source is space-tokenized, the answer is not
    assert oracle_chunk(chunks, ["Earth's north"]) is chunks[1]
    assert oracle_chunk(chunks, ["the Population WAS"]) is chunks[1]
    assert oracle_chunk(chunks, ["absent"]) is None


def test_raft_rows_cite_the_gold_chunk_or_abstain_and_train_as_chat(fake_index, tmp_path):
    out = tmp_path / "raft.jsonl"
    stats = fake_index.tuning.make_raft(MEMOS / "memos_qa.jsonl", MEMOS / "memos_corpus.jsonl", out, distractors=2,
                                 oracle_share=0.5, seed=3)
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    qa = {json.loads(line)["id"]: json.loads(line) for line in (MEMOS / "memos_qa.jsonl").read_text().splitlines()}
    assert stats.written == len(rows) > 0 and stats.with_oracle > 0 and stats.without_oracle > 0
    for row in rows:
        item = qa[row["source_item"]]
        user, reply = row["messages"][0]["content"], row["messages"][-1]["content"]
        sources = re.findall(r"^\[(\d)\] ", user, flags=re.M)
        if row["oracle"]:
            assert len(sources) == 3
            cited = re.search(r"\[(\d)\]$", reply).group(1)
            cited_text = user.split(f"[{cited}] ", 1)[1].split("\n\n[", 1)[0]
            assert item["answers"][0].lower() in cited_text.lower() and reply.startswith(item["answers"][0])
        else:
            assert len(sources) == 2 and reply == ABSTAIN_TEXT
    again = tmp_path / "again.jsonl"
    fake_index.tuning.make_raft(MEMOS / "memos_qa.jsonl", MEMOS / "memos_corpus.jsonl", again, distractors=2,
                         oracle_share=0.5, seed=3)
    assert again.read_text() == out.read_text()  # seeded: the same data every time
    examples = read_training_examples(out)
    assert len(examples) == len(rows) and examples[0].prompt[0]["role"] == "user"


def test_gold_ids_missing_from_the_corpus_are_a_clear_error(fake_index, tmp_path):
    qa = write(tmp_path / "qa.jsonl", '{"id": "q", "question": "who?", "answers": ["x"], "gold_doc_ids": ["zz"]}\n')
    with pytest.raises(InputError, match="no RAFT example could be built"):
        fake_index.tuning.make_raft(qa, MEMOS / "memos_corpus.jsonl", tmp_path / "o.jsonl")
    assert not (tmp_path / "o.jsonl").exists()
