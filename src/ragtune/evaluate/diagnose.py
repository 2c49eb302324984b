"""``diagnose``: is it knowledge or behaviour? A verdict from paired condition results, with evidence and CIs.

Inputs are per-item primary scores under each condition, aligned by item id:
- QA items score on content — ``answer_contained`` (the gold answer is in the reply). Verbosity and format of
  free-text answers are reported but do not drive the verdict: a QA set states what is true, not how to say it.
  Unanswerable items are left out of the verdict and reported as abstention evidence.
- behaviour items score on the exact expected output — per-field accuracy for JSON outputs (invalid JSON = 0),
  exact match otherwise.

Rules (target T, default 0.8; an item "passes" when its primary score is at least 0.5):
1. **prompt** — closed-book or few-shot already meets T.
2. **knowledge** problem — putting the gold context in the prompt helps: the paired gain oracle − closed_book
   has a 95% CI above zero and a mean of at least ``MIN_EFFECT`` (0.1). QA items that fail even with the gold
   context are *comprehension* misses: the model misreads a passage that holds the answer. They are not
   evidence for fine-tuning (no format or behaviour is wrong; a stronger model, or RAFT-style training, raises
   that ceiling) and are reported separately.
3. **behaviour** problem — behaviour items still miss T with all the information and the best prompt
   (oracle + few-shot): the model has what it needs and still produces the wrong output.
4. Verdict: both problems → **both**; knowledge only → **rag**; behaviour only → **finetune**; neither, and
   oracle + few-shot meets T → **prompt**; neither and it does not → **rag** when retrieval-style context is what
   moved the score most, else inconclusive.
With an adapter (``adapter`` / ``adapter+retrieval`` conditions), the verdict is still decided on the base model —
it names the kind of problem — and the evidence adds whether the adapter closes the gap: its paired difference
against the best base prompt, and whether it meets T.
When examples make a condition significantly worse than the same condition without them (paired CI of
few_shot − closed_book or oracle+few_shot − oracle below zero, per item kind), the evidence says "examples hurt"
and the failure taxonomy sets that condition aside for that kind of item; the verdict rules stay as above.
Whenever a deciding CI straddles its boundary the verdict is marked ``inconclusive`` with a rough estimate of
how many items would separate it (CI half-width shrinks with √n).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Collection, Mapping, Sequence

from ragtune.evaluate.bootstrap import Estimate, estimate, paired_bootstrap_diff

MIN_EFFECT = 0.1
PASS = 0.5
VERDICTS = ("prompt", "rag", "finetune", "both")


@dataclass(frozen=True)
class ItemScores:
    """One item's primary score per condition (missing key = condition not run)."""

    item_id: str
    kind: str  # "qa" | "behaviour"
    scores: Mapping[str, float]
    errors: tuple[str, ...] = ()  # conditions whose run failed on this item (scored 0)


@dataclass(frozen=True)
class Diagnosis:
    verdict: str
    inconclusive: bool
    conditions: dict[str, Estimate]
    evidence: list[str]
    failures: dict[str, int]
    items_needed: int | None = None
    knowledge_gain: tuple[float, float, float] | None = None
    recommendations: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        return {
            "verdict": self.verdict, "inconclusive": self.inconclusive,
            # "score" repeats "value": the key diagnose used before 0.2 (see CHANGELOG), kept for one release
            "conditions": {k: {**v.to_json(), "score": round(v.value, 4)} for k, v in self.conditions.items()},
            "evidence": self.evidence, "failures": self.failures, "items_needed": self.items_needed,
            "knowledge_gain": None if self.knowledge_gain is None else {
                "mean": round(self.knowledge_gain[0], 4),
                "ci95": [round(self.knowledge_gain[1], 4), round(self.knowledge_gain[2], 4)]},
            "recommendations": self.recommendations,
        }


def _estimate(items: Sequence[ItemScores], condition: str) -> Estimate | None:
    values = [i.scores[condition] for i in items if condition in i.scores]
    if not values:
        return None
    return estimate(values)


def _needed(n: int, half_width: float, margin: float) -> int:
    """Items for the CI half-width to shrink below the margin (half-width ∝ 1/√n)."""
    margin = max(abs(margin), 0.01)
    return int(math.ceil(n * (half_width / margin) ** 2))


def diagnose(items: Sequence[ItemScores], target: float = 0.8, *, adapter_id: str | None = None) -> Diagnosis:
    if not items:
        raise ValueError("diagnose needs at least one scored item")
    names = ("closed_book", "few_shot", "oracle", "oracle+few_shot", "retrieval", "adapter", "adapter+retrieval")
    conditions = {c: e for c in names if (e := _estimate(items, c)) is not None}
    evidence = _error_evidence(items)
    needed: list[int] = []
    inconclusive = False
    evidence += [_hurt_evidence(kind, pair, diff) for (kind, pair), diff in _examples_hurt(items).items()]

    # 1. prompt: the model already does it without extra information
    for c in ("closed_book", "few_shot"):
        e = conditions.get(c)
        if e and e.value >= target:
            uncertain = e.ci95[0] < target
            evidence.append(f"{c} scores {e.value:.2f} [{e.ci95[0]:.2f}, {e.ci95[1]:.2f}], meeting the target "
                            f"{target:.2f}: no retrieval or training needed")
            if uncertain:
                needed.append(_needed(e.n, (e.ci95[1] - e.ci95[0]) / 2, e.value - target))
            return Diagnosis("prompt", uncertain, conditions, evidence, _failures(items), max(needed, default=None),
                             recommendations=["use the prompt as measured; re-check as the data grows"])

    # 2. knowledge: does the gold context help? (paired over items that ran both conditions)
    qa = [i for i in items if i.kind == "qa" and {"oracle", "closed_book"} <= set(i.scores)]
    knowledge = False
    gain = None
    if qa:
        gain = paired_bootstrap_diff([i.scores["oracle"] for i in qa], [i.scores["closed_book"] for i in qa])
        mean, lo, hi = gain
        knowledge = lo > 0 and mean >= MIN_EFFECT
        evidence.append(f"gold context in the prompt changes the QA score by {mean:+.2f} [{lo:+.2f}, {hi:+.2f}] "
                        f"over {len(qa)} questions")
        # uncertain about "any gain" (CI straddles 0) or about "a gain worth acting on" (CI straddles MIN_EFFECT):
        # the items needed are counted against the boundary that is in doubt
        if lo <= 0 < mean:
            inconclusive = True
            needed.append(_needed(len(qa), (hi - lo) / 2, mean))
        elif lo > 0 and abs(mean - MIN_EFFECT) < (hi - lo) / 2:
            inconclusive = True
            needed.append(_needed(len(qa), (hi - lo) / 2, mean - MIN_EFFECT))
        comprehension = sum(1 for i in qa if i.scores["oracle"] < PASS and i.scores.get("oracle+few_shot", 0) < PASS)
        if comprehension:
            evidence.append(f"{comprehension} of {len(qa)} questions fail even with the gold passage in the prompt: "
                            "the model misreads context that holds the answer (comprehension misses — a model "
                            "capability limit, counted neither for retrieval nor for fine-tuning)")
        if "retrieval" in conditions and "oracle" in conditions:
            paired = [i for i in qa if "retrieval" in i.scores]
            if paired:
                lag, llo, lhi = paired_bootstrap_diff([i.scores["oracle"] for i in paired],
                                                      [i.scores["retrieval"] for i in paired])
                if llo > 0:
                    evidence.append(f"retrieval trails the gold context by {lag:.2f} [{llo:.2f}, {lhi:.2f}]: "
                                    "retrieval is a bottleneck (try hybrid search, a larger k, or smaller chunks)")
                else:
                    evidence.append(f"retrieval reaches the gold-context score (gap {lag:+.2f} "
                                    f"[{llo:+.2f}, {lhi:+.2f}])")

    # 3. behaviour: with everything the model needs and the best prompt, do behaviour items still fail?
    behaviour_items = [i for i in items if i.kind == "behaviour"]
    behaviour = False
    if behaviour_items:
        best = "oracle+few_shot" if any("oracle+few_shot" in i.scores for i in behaviour_items) else "few_shot"
        e = _estimate(behaviour_items, best) or _estimate(behaviour_items, "closed_book")
        if e is not None:
            behaviour = e.value < target
            evidence.append(f"behaviour items score {e.value:.2f} [{e.ci95[0]:.2f}, {e.ci95[1]:.2f}] with all "
                            f"information and {best.replace('+', ' + ')} examples (target {target:.2f})")
            if e.ci95[0] < target <= e.ci95[1]:
                inconclusive = True
                needed.append(_needed(e.n, (e.ci95[1] - e.ci95[0]) / 2, e.value - target))

    adapter_recs = _adapter_evidence(items, conditions, target, evidence, adapter_id or "ID")

    if knowledge and behaviour:
        verdict = "both"
        recs = ["index the documents (RAG) for the facts", "fine-tune a LoRA adapter on the output format"]
    elif knowledge:
        verdict = "rag"
        recs = ["index the documents and answer with retrieval (RAG)"]
    elif behaviour:
        verdict = "finetune"
        recs = ["fine-tune a LoRA adapter on examples of the required output (a few hundred is typical)"]
    else:
        ofs = conditions.get("oracle+few_shot")
        verdict = "prompt" if ofs and ofs.value >= target else "rag"
        inconclusive = True
        recs = ["collect more items: neither knowledge nor behaviour failures stand out"]
        evidence.append("no condition separates knowledge from behaviour failures at this sample size")
    return Diagnosis(verdict, inconclusive, conditions, evidence, _failures(items), max(needed, default=None),
                     gain, recs + adapter_recs)


def _error_evidence(items: Sequence[ItemScores]) -> list[str]:
    """Say where the model failed to run at all: those items count as failures of that condition."""
    counts: dict[str, int] = {}
    for item in items:
        for condition in item.errors:
            counts[condition] = counts.get(condition, 0) + 1
    if not counts:
        return []
    where = ", ".join(f"{n} under {c}" for c, n in counts.items())
    return [f"the model failed to run on some items ({where}); they count as failures (scored 0), see each run's "
            "items.jsonl for the errors"]


def _adapter_evidence(items: Sequence[ItemScores], conditions: dict[str, Estimate], target: float,
                      evidence: list[str], adapter_id: str) -> list[str]:
    """What a trained adapter changes, compared on the same items with the best base-model prompt. The verdict
    itself is decided on the base model (it names the kind of problem); this says whether the adapter fixes it."""
    if "adapter" not in conditions:
        return []
    recs: list[str] = []
    for condition, baselines in (("adapter", ("few_shot", "oracle+few_shot", "closed_book")),
                                 ("adapter+retrieval", ("retrieval",))):
        baseline = next((b for b in baselines if b in conditions), None)
        paired = [i for i in items if condition in i.scores and baseline in i.scores] if baseline else []
        if not paired:
            continue
        mean, lo, hi = paired_bootstrap_diff([i.scores[condition] for i in paired],
                                             [i.scores[baseline] for i in paired])
        e = conditions[condition]
        closes = lo > 0 and e.value >= target
        evidence.append(f"{condition} scores {e.value:.2f} [{e.ci95[0]:.2f}, {e.ci95[1]:.2f}], "
                        f"{mean:+.2f} [{lo:+.2f}, {hi:+.2f}] against base {baseline} on the same {len(paired)} "
                        f"items: " + ("the adapter closes the gap" if closes else
                                      "better than the base model but short of the target" if lo > 0 else
                                      "no clear gain over the base model"))
        if condition == "adapter":
            recs.append(f"promote the adapter (`ragtune adapters promote {adapter_id}`)" if closes else
                        "the adapter does not close the gap yet: more or cleaner training data "
                        "(`ragtune finetune check`), or more epochs")
    return recs


# ---- examples that hurt -----------------------------------------------------------------------------------------

# (condition with examples, the same condition without them)
EXAMPLE_PAIRS = (("few_shot", "closed_book"), ("oracle+few_shot", "oracle"))


def _examples_hurt(items: Sequence[ItemScores]) -> dict[tuple[str, tuple[str, str]], tuple[float, float, float, int]]:
    """(item kind, (with, without)) → (mean, lo, hi, n) of the paired difference with − without, for the pairs
    where adding examples made the same condition significantly worse (95% CI entirely below zero).

    Examples are meant to help; when they hurt, the prompt is broken (examples in another shape than the task, or
    misleading ones), and that condition says nothing about knowledge or behaviour. Checked per item kind, because
    one kind's examples can be broken while the other's are fine."""
    hurt = {}
    for kind in sorted({i.kind for i in items}):
        for with_, without in EXAMPLE_PAIRS:
            paired = [i for i in items if i.kind == kind and {with_, without} <= set(i.scores)]
            if not paired:
                continue
            mean, lo, hi = paired_bootstrap_diff([i.scores[with_] for i in paired],
                                                 [i.scores[without] for i in paired])
            if hi < 0:
                hurt[(kind, (with_, without))] = (mean, lo, hi, len(paired))
    return hurt


def _hurt_evidence(kind: str, pair: tuple[str, str], diff: tuple[float, float, float, int]) -> str:
    (with_, without), (mean, lo, hi, n) = pair, diff
    label = "behaviour" if kind == "behaviour" else "QA"
    return (f"examples hurt: {with_.replace('+', ' + ')} scores {mean:+.2f} [{lo:+.2f}, {hi:+.2f}] against "
            f"{without} on the same {n} {label} items; a prompt made worse by its examples is broken, not evidence, "
            f"so the failure classes set {with_} aside for these items")


def conditions_set_aside(items: Sequence[ItemScores]) -> dict[str, frozenset[str]]:
    """Item kind → the example conditions that made it significantly worse (see :func:`_examples_hurt`)."""
    out: dict[str, set[str]] = {}
    for kind, (with_, _) in _examples_hurt(items):
        out.setdefault(kind, set()).add(with_)
    return {kind: frozenset(names) for kind, names in out.items()}


FAILURE_CLASSES = ("knowledge", "retrieval", "comprehension", "behaviour", "prompt_fixable")


def failure_class(item: ItemScores, set_aside: Collection[str] = ()) -> str | None:
    """The first class that explains an item's failure on the base model, or None when closed-book passes.
    Conditions in ``set_aside`` (see :func:`conditions_set_aside`) are not taken as evidence."""
    s = {c: v for c, v in item.scores.items() if c not in set_aside}
    if s.get("closed_book", 0) >= PASS:
        return None
    if item.kind == "behaviour":
        return "prompt_fixable" if max(s.get("few_shot", 0), s.get("oracle+few_shot", 0)) >= PASS else "behaviour"
    if s.get("oracle", 0) >= PASS:
        return "retrieval" if "retrieval" in s and s["retrieval"] < PASS else "knowledge"
    if s.get("oracle+few_shot", 0) >= PASS or s.get("few_shot", 0) >= PASS:
        return "prompt_fixable"
    return "comprehension"


def _failures(items: Sequence[ItemScores]) -> dict[str, int]:
    """Failure taxonomy over items (an item counts once, in the first class that explains it)."""
    counts = dict.fromkeys(FAILURE_CLASSES, 0)
    set_aside = conditions_set_aside(items)
    for i in items:
        if (kind := failure_class(i, set_aside.get(i.kind, frozenset()))) is not None:
            counts[kind] += 1
    return counts
