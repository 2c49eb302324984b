"""Write a synthetic knowledge set: invented internal memos and questions that only those memos answer.

Every fact is invented (made-up project code names, people, vendors, sites), so a model cannot know the answers
closed-book and the gold memo is the only place to find them — the situation ``ragtune diagnose`` should call a
knowledge (RAG) problem. Each memo states five facts about one project; each question asks about one of them, so the
other four sit next to the answer as in-passage distractors. The output is a pure function of the arguments (seeded),
so a set can be regenerated instead of stored.

    python examples/eval/make_memos.py --memos 40 --out-dir examples/eval
    # → examples/eval/memos40_qa.jsonl, examples/eval/memos40_corpus.jsonl
"""

from __future__ import annotations

import argparse
import json
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

# Syllables for invented names: common enough to be pronounceable, combined so the result is not a real word.
ONSETS = ("b", "d", "f", "g", "k", "l", "m", "n", "p", "r", "s", "t", "v", "z", "br", "dr", "gr", "kr", "tr", "st")
VOWELS = ("a", "e", "i", "o", "u", "ai", "ou")
CODAS = ("", "n", "r", "l", "s", "x", "th", "nd", "rk")
FIRST_NAMES = ("Dana", "Marta", "Ravi", "Lena", "Tomasz", "Priya", "Jonah", "Ines", "Kofi", "Mei", "Oskar", "Amara",
               "Yusuf", "Sofia", "Elif", "Mateo", "Hana", "Niamh", "Arjun", "Greta", "Tariq", "Ilse", "Bruno", "Leila")
VENDOR_KINDS = ("Systems", "Labs", "Works", "Logistics", "Analytics", "Supply")
SITES = ("north", "south", "east", "west", "harbour", "river", "hill", "park")
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December")
NUMBER_WORDS = {2: "two", 3: "three", 4: "four", 5: "five", 6: "six", 7: "seven", 8: "eight", 9: "nine"}


def invented_word(rng: random.Random, syllables: int) -> str:
    return ("".join(rng.choice(ONSETS) + rng.choice(VOWELS) for _ in range(syllables)) + rng.choice(CODAS)).capitalize()


def person(rng: random.Random) -> str:
    return f"{rng.choice(FIRST_NAMES)} {invented_word(rng, 3)}"


def day(rng: random.Random) -> str:
    return f"{rng.randint(1, 28)} {rng.choice(MONTHS)}"


@dataclass(frozen=True)
class Fact:
    sentence: str
    question: str
    answers: tuple[str, ...]


# One builder per kind of fact: (rng, project name) → the sentence in the memo, a question and its answers.
# Each kind asks for a different thing, so a question about one fact has exactly one answer in its memo.
FactBuilder = Callable[[random.Random, str], Fact]


def _launch(rng: random.Random, p: str) -> Fact:
    d = day(rng)
    return Fact(f"Project {p} launches on {d}.", f"When does Project {p} launch?", (d,))


def _owner(rng: random.Random, p: str) -> Fact:
    who = person(rng)
    return Fact(f"The budget owner is {who}.", f"Who is the budget owner of Project {p}?", (who,))


def _budget(rng: random.Random, p: str) -> Fact:
    amount = f"{rng.randint(40, 480) * 1000:,} euros"
    return Fact(f"The approved budget is {amount}.", f"What is the approved budget of Project {p}?", (amount,))


def _vendor(rng: random.Random, p: str) -> Fact:
    vendor = f"{invented_word(rng, 3)} {rng.choice(VENDOR_KINDS)}"
    return Fact(f"The equipment comes from {vendor}.", f"Which vendor supplies the equipment for Project {p}?",
                (vendor,))


def _site(rng: random.Random, p: str) -> Fact:
    site = f"{invented_word(rng, 2)} {rng.choice(SITES).capitalize()}"
    return Fact(f"The work takes place at the {site} site.", f"At which site does Project {p} take place?",
                (site, f"the {site} site"))


def _headcount(rng: random.Random, p: str) -> Fact:
    n = rng.randint(2, 9)
    return Fact(f"The team will hire {NUMBER_WORDS[n]} engineers.",
                f"How many engineers will the Project {p} team hire?", (NUMBER_WORDS[n], str(n)))


def _room(rng: random.Random, p: str) -> Fact:
    room = f"{rng.choice('ABCDEFGH')}{rng.randint(1, 9)}"
    return Fact(f"Weekly check-ins are held in room {room}.", f"In which room are the Project {p} check-ins held?",
                (room, f"room {room}"))


def _deadline(rng: random.Random, p: str) -> Fact:
    days = rng.choice((10, 14, 21, 30, 45, 60, 90))
    return Fact(f"Open issues must be fixed within {days} days of the review.",
                f"Within how many days must Project {p} issues be fixed?", (f"{days} days", str(days)))


def _coordinator(rng: random.Random, p: str) -> Fact:
    who = person(rng)
    return Fact(f"Questions go to the coordinator, {who}.", f"Who is the coordinator of Project {p}?", (who,))


def _replaces(rng: random.Random, p: str) -> Fact:
    old = f"the {invented_word(rng, 2)} tool"
    return Fact(f"Project {p} replaces {old}, which is switched off afterwards.",
                f"Which tool does Project {p} replace?", (old, old.removeprefix("the ")))


FACTS: tuple[FactBuilder, ...] = (_launch, _owner, _budget, _vendor, _site, _headcount, _room, _deadline,
                                  _coordinator, _replaces)
FACTS_PER_MEMO = 5


def make_set(memos: int, questions_per_memo: int = 1, seed: int = 0) -> tuple[list[dict], list[dict]]:
    """(QA rows, corpus rows): ``memos`` memos of five facts each and ``questions_per_memo`` questions on each."""
    if not 1 <= questions_per_memo <= FACTS_PER_MEMO:
        raise SystemExit(f"--questions-per-memo must be between 1 and {FACTS_PER_MEMO}")
    rng = random.Random(seed)
    names: set[str] = set()
    qa: list[dict] = []
    corpus: list[dict] = []
    while len(corpus) < memos:
        project = invented_word(rng, 2)
        if project in names:  # code names must be unique: the question names the project it asks about
            continue
        names.add(project)
        facts = [build(rng, project) for build in rng.sample(FACTS, FACTS_PER_MEMO)]
        doc_id = f"memo-{project.lower()}"
        # the header names the project: most fact sentences do not, and retrieval must find the memo by it
        text = f"Memo on Project {project}. " + " ".join(f.sentence for f in facts)
        corpus.append({"id": doc_id, "title": f"Project {project} memo", "text": text})
        for fact in rng.sample(facts, questions_per_memo):
            qa.append({"id": f"mq{memos}-{len(qa) + 1:03d}", "question": fact.question, "answers": list(fact.answers),
                       "gold_doc_ids": [doc_id]})
    return qa, corpus


def write_jsonl(path: Path, rows: list[dict]) -> None:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--memos", type=int, default=40, help="memos to write (one project each)")
    parser.add_argument("--questions-per-memo", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out-dir", type=Path, default=Path(__file__).parent)
    parser.add_argument("--name", help="file prefix (default memos<N>)")
    args = parser.parse_args(argv)
    if args.memos < 1:
        raise SystemExit("--memos must be at least 1")
    qa, corpus = make_set(args.memos, args.questions_per_memo, args.seed)
    name = args.name or f"memos{args.memos}"
    if name == "memos":  # the hand-written set lives there; this script does not reproduce it
        raise SystemExit("--name memos would overwrite the hand-written memos_* files; pick another name")
    args.out_dir.mkdir(parents=True, exist_ok=True)
    write_jsonl(args.out_dir / f"{name}_qa.jsonl", qa)
    write_jsonl(args.out_dir / f"{name}_corpus.jsonl", corpus)


if __name__ == "__main__":
    main()
