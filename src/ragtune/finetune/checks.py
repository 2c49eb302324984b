"""Data-sufficiency checks run before fine-tuning (and by ``ragtune finetune check``).

Each check is a small pure function from training examples to zero or more :class:`Finding` objects; a finding says
what is wrong, how often, with a few example ids, and — in ``why`` — why it matters for fine-tuning. ``run_checks``
runs them all and returns a :class:`CheckReport`; ``ensure_trainable`` turns its errors into an :class:`InputError`
unless the user passes ``--force``.

Thresholds are rules of thumb, not measurements: they are named constants below so they can be read, cited and
changed in one place.
"""

from __future__ import annotations

import math
import re
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Callable, Iterable, Literal, Sequence

from ragtune.errors import InputError
from ragtune.evaluate.answer_metrics import parse_json
from ragtune.finetune.data_stats import canonical_completion, data_stats, is_json_object
from ragtune.finetune.examples import TrainingExample
from ragtune.finetune.similarity import similar_pairs

Severity = Literal["error", "warning", "info"]
SEVERITIES: tuple[Severity, ...] = ("error", "warning", "info")

# --- task types ------------------------------------------------------------------------------------------------------
TASK_TYPES = ("json", "short_answer", "text")
# A JSON task: at least this share of outputs parse as JSON objects (the rest are the format errors to report).
JSON_TASK_MIN_SHARE = 0.8
# A short-answer task (extraction, classification, QA spans): the median output has at most this many words.
SHORT_ANSWER_MAX_MEDIAN_WORDS = 10

# --- how many examples ---------------------------------------------------------------------------------------------
# Rules of thumb from LoRA practice, not measurements on this model: on a narrow format task (fixed-schema JSON) a
# LoRA adapter learns the format from ~100 examples and needs a few hundred for the field values to become accurate;
# short answers and free text (content, tone, style) need more, because every output is different. This matches
# public guidance such as OpenAI's fine-tuning guide ("clear improvements from fine-tuning on 50 to 100 training
# examples", for much larger models) and LIMA (Zhou et al., 2023: ~1,000 curated examples to set a chat style).
# Counted after removing exact duplicates. Below the error count an adapter mostly memorises its examples.
MIN_EXAMPLES_ERROR = {"json": 50, "short_answer": 50, "text": 50}
MIN_EXAMPLES_WARNING = {"json": 200, "short_answer": 500, "text": 500}

# --- duplicates, leakage, conflicts --------------------------------------------------------------------------------
# Exact duplicates (same prompt and completion after whitespace normalisation): a few are harmless, above this share
# they re-weight the data towards the repeated examples.
DUPLICATE_ERROR_SHARE = 0.10
# Near duplicates: Jaccard similarity of the word sets (lowercased, punctuation dropped) of prompt + completion.
NEAR_DUPLICATE_JACCARD = 0.9
# Train/eval leakage: an eval prompt whose word set is this similar to a training prompt (or equal after
# normalisation) is counted as seen in training.
LEAKAGE_JACCARD = 0.9
# Conflicting labels: the share of distinct (normalised) prompts with more than one distinct completion.
CONFLICT_ERROR_SHARE = 0.05

# --- format --------------------------------------------------------------------------------------------------------
# In a JSON task, the share of (non-empty) outputs that are not JSON objects above which it is an error.
BAD_JSON_ERROR_SHARE = 0.05
# Key-set consistency: when at most this share of JSON outputs deviate from the most common top-level key set, the
# deviations look like mistakes in a fixed schema (warning); above it the schema has optional keys (info).
KEY_SET_OUTLIER_SHARE = 0.05
# A top-level key seen in at most this many outputs (and under RARE_KEY_MAX_SHARE of them) is either a typo or a
# field the model cannot learn from so few examples.
RARE_KEY_MAX_EXAMPLES = 4
RARE_KEY_MAX_SHARE = 0.05

# --- length --------------------------------------------------------------------------------------------------------
# Share of examples longer than max_length above which truncation is an error (any truncation is a warning).
TRUNCATION_ERROR_SHARE = 0.10
# Without a tokenizer, tokens are estimated from characters (~4 characters per token for English BPE vocabularies).
CHARS_PER_TOKEN = 4

EXAMPLES_SHOWN = 5  # example ids listed per finding

_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class Finding:
    code: str
    severity: Severity
    message: str
    why: str
    count: int
    examples: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.severity not in SEVERITIES:
            raise ValueError(f"severity {self.severity!r}: expected one of {', '.join(SEVERITIES)}")

    def to_json(self) -> dict:
        return {"code": self.code, "severity": self.severity, "message": self.message, "why": self.why,
                "count": self.count, "examples": list(self.examples)}


@dataclass(frozen=True)
class CheckReport:
    findings: tuple[Finding, ...]
    stats: dict = field(default_factory=dict)

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "warning"]

    @property
    def ok(self) -> bool:
        return not self.errors

    def to_json(self) -> dict:
        return {
            "ok": self.ok,
            "counts": {s: sum(1 for f in self.findings if f.severity == s) for s in SEVERITIES},
            "findings": [f.to_json() for f in self.findings],
            "stats": self.stats,
        }


def run_checks(
    train: Sequence[TrainingExample],
    eval: Sequence[TrainingExample] | None = None,  # noqa: A002 — the name users know from --eval
    *,
    count_tokens: Callable[[TrainingExample], int] | None = None,
    max_length: int = 512,
    task: str | None = None,
) -> CheckReport:
    """Every check on ``train`` (and leakage into ``eval`` when given). ``count_tokens`` gives an example's full
    length in tokens (prompt + completion as the trainer sees them); without it lengths are estimated."""
    if not train:
        raise InputError("no training examples to check")
    if max_length < 1:
        raise InputError(f"max_length={max_length}: must be at least 1")
    detected = detect_task(train)
    if task is not None and task not in TASK_TYPES:
        raise InputError(f"task {task!r}: expected one of {', '.join(TASK_TYPES)}")
    task = task or detected
    tokens = [count_tokens(ex) for ex in train] if count_tokens else [estimate_tokens(ex) for ex in train]
    unique = _unique(train)

    findings: list[Finding] = []
    findings += check_size(len(unique), len(train), task)
    findings += check_empty_completions(train)
    findings += check_exact_duplicates(train)
    findings += check_near_duplicates(unique)
    findings += check_conflicting_labels(train)
    if eval:
        findings += check_leakage(train, eval)
    if task == "json":
        findings += check_json_format(train)
        findings += check_json_keys(train)
    findings += check_truncation(train, tokens, max_length, estimated=count_tokens is None)

    order = {s: i for i, s in enumerate(SEVERITIES)}
    findings.sort(key=lambda f: order[f.severity])  # stable: checks keep their order within a severity
    return CheckReport(tuple(findings), data_stats(train, unique, eval, task, detected, tokens, count_tokens is None,
                                               max_length))


def ensure_trainable(report: CheckReport, force: bool) -> None:
    """Raise :class:`InputError` listing the report's errors, unless there are none or ``force`` is set."""
    if report.ok or force:
        return
    listed = "; ".join(f"{f.code}: {f.message}" for f in report.errors)
    raise InputError(f"the training data failed {len(report.errors)} check(s) — {listed}. Fix the data (see "
                     "`ragtune finetune check`) or pass --force to train anyway")


# --- task type and lengths -----------------------------------------------------------------------------------------

def detect_task(train: Sequence[TrainingExample]) -> str:
    """``json`` when most outputs are JSON objects, else ``short_answer`` for short outputs, else ``text``."""
    json_share = sum(1 for ex in train if is_json_object(ex.completion)) / len(train)
    if json_share >= JSON_TASK_MIN_SHARE:
        return "json"
    if statistics.median(len(ex.completion.split()) for ex in train) <= SHORT_ANSWER_MAX_MEDIAN_WORDS:
        return "short_answer"
    return "text"


def estimate_tokens(example: TrainingExample) -> int:
    chars = sum(len(m["content"]) for m in example.prompt) + len(example.completion)
    return math.ceil(chars / CHARS_PER_TOKEN)


# --- checks --------------------------------------------------------------------------------------------------------

def check_size(unique: int, total: int, task: str) -> list[Finding]:
    low, enough = MIN_EXAMPLES_ERROR[task], MIN_EXAMPLES_WARNING[task]
    if unique >= enough:
        return []
    counted = f"{unique} distinct examples" + (f" ({total} with duplicates)" if total != unique else "")
    if unique < low:
        return [Finding("too_few_examples", "error", f"{counted}; a {task} task needs at least {low}, "
                        f"preferably {enough}+", "With this few examples a LoRA adapter memorises them instead of "
                        "learning the task, so it will not generalise to new inputs.", unique)]
    return [Finding("few_examples", "warning", f"{counted}; {enough}+ are recommended for a {task} task",
                    "Below a few hundred examples fine-tuning usually teaches the output format but not reliably "
                    "the content, so expect format gains more than accuracy gains.", unique)]


def check_empty_completions(train: Sequence[TrainingExample]) -> list[Finding]:
    empty = [ex for ex in train if not ex.completion.strip()]
    if not empty:
        return []
    return [Finding("empty_completion", "error", f"{len(empty)} examples have an empty completion",
                    "An empty completion teaches the model to answer with nothing (or only the end token).",
                    len(empty), _ids(empty))]


def check_exact_duplicates(train: Sequence[TrainingExample]) -> list[Finding]:
    first: dict[tuple, TrainingExample] = {}
    repeats: list[str] = []
    for ex in train:
        key = _exact_key(ex)
        if key in first:
            repeats.append(f"{ex.example_id} = {first[key].example_id}")
        else:
            first[key] = ex
    if not repeats:
        return []
    return _by_share("exact_duplicates", len(repeats), len(train), DUPLICATE_ERROR_SHARE,
                     lambda share: f"{len(repeats)} examples ({share:.1%}) repeat an earlier example exactly",
                     "Repeated examples are trained on several times per epoch, over-weighting them and encouraging "
                     "memorisation; they also inflate the example count.", tuple(repeats[:EXAMPLES_SHOWN]))


def check_near_duplicates(unique: Sequence[TrainingExample]) -> list[Finding]:
    """Near duplicates among examples that are not exact duplicates of each other."""
    sets = [_words(_prompt_text(ex) + "\n" + ex.completion) for ex in unique]
    parent = list(range(len(unique)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, j in similar_pairs(sets, NEAR_DUPLICATE_JACCARD):
        a, b = root(i), root(j)
        if a != b:
            parent[max(a, b)] = min(a, b)
    near = [f"{ex.example_id} ~ {unique[root(i)].example_id}" for i, ex in enumerate(unique) if root(i) != i]
    if not near:
        return []
    share = len(near) / len(unique)
    return [Finding("near_duplicates", "warning", f"{len(near)} examples ({share:.1%}) nearly repeat another example "
                    f"(word-set Jaccard ≥ {NEAR_DUPLICATE_JACCARD})", "Near-identical examples add little new "
                    "signal and over-weight one phrasing, so the data is less varied than its size suggests.",
                    len(near), tuple(near[:EXAMPLES_SHOWN]))]


def check_conflicting_labels(train: Sequence[TrainingExample]) -> list[Finding]:
    groups: dict[str, list[TrainingExample]] = defaultdict(list)
    for ex in train:
        groups[" ".join(_WORD.findall(_prompt_text(ex).lower()))].append(ex)
    conflicts: list[str] = []
    for members in groups.values():
        distinct: dict[str, TrainingExample] = {}
        for ex in members:
            distinct.setdefault(canonical_completion(ex.completion), ex)
        if len(distinct) > 1:
            conflicts.append(" vs ".join(ex.example_id for ex in list(distinct.values())[:3]))
    if not conflicts:
        return []
    return _by_share("conflicting_labels", len(conflicts), len(groups), CONFLICT_ERROR_SHARE,
                     lambda share: f"{len(conflicts)} prompts ({share:.1%} of distinct prompts) have different "
                     "completions", "When the same input has different targets the model is trained towards an "
                     "average of them, which lowers accuracy and makes outputs inconsistent.",
                     tuple(conflicts[:EXAMPLES_SHOWN]))


def check_leakage(train: Sequence[TrainingExample], eval: Sequence[TrainingExample]) -> list[Finding]:  # noqa: A002
    """Eval examples whose prompt is in the training data, exactly (after normalisation) or nearly."""
    normal = {}
    for ex in train:
        normal.setdefault(" ".join(_WORD.findall(_prompt_text(ex).lower())), ex)
    leaked: dict[int, str] = {}
    for i, ex in enumerate(eval):
        hit = normal.get(" ".join(_WORD.findall(_prompt_text(ex).lower())))
        if hit is not None:
            leaked[i] = f"{ex.example_id} = {hit.example_id}"
    exact = len(leaked)
    train_sets = [_words(_prompt_text(ex)) for ex in train]
    eval_sets = [_words(_prompt_text(ex)) for ex in eval]
    for i, j in similar_pairs(train_sets, LEAKAGE_JACCARD, queries=eval_sets):
        leaked.setdefault(i, f"{eval[i].example_id} ~ {train[j].example_id}")
    if not leaked:
        return []
    shown = tuple(leaked[i] for i in sorted(leaked)[:EXAMPLES_SHOWN])
    return [Finding("train_eval_leakage", "error", f"{len(leaked)} of {len(eval)} eval prompts also appear in the "
                    f"training data ({exact} exactly, {len(leaked) - exact} nearly)", "An eval item the model was "
                    "trained on measures memorisation, not generalisation, so the before/after comparison "
                    "overstates the gain.", len(leaked), shown)]


def check_json_format(train: Sequence[TrainingExample]) -> list[Finding]:
    candidates = [ex for ex in train if ex.completion.strip()]  # empty ones are reported on their own
    bad = [ex for ex in candidates if not is_json_object(ex.completion)]
    if not bad:
        return []
    return _by_share("invalid_json", len(bad), len(candidates), BAD_JSON_ERROR_SHARE,
                     lambda share: f"{len(bad)} outputs ({share:.1%}) are not valid JSON objects in a JSON task",
                     "Every malformed target teaches the model that malformed output is acceptable, which is "
                     "exactly the failure fine-tuning a format task is meant to remove.", _ids(bad))


def check_json_keys(train: Sequence[TrainingExample]) -> list[Finding]:
    objects = [(ex, obj) for ex in train if isinstance(obj := parse_json(ex.completion), dict)]
    if not objects:
        return []
    findings: list[Finding] = []
    key_sets = Counter(frozenset(obj) for _, obj in objects)
    common, common_count = key_sets.most_common(1)[0]
    others = [ex for ex, obj in objects if frozenset(obj) != common]
    if others:
        share = len(others) / len(objects)
        listed = ", ".join(sorted(common)) or "no keys"
        if share <= KEY_SET_OUTLIER_SHARE:
            findings.append(Finding("json_key_set_outliers", "warning", f"{len(others)} JSON outputs ({share:.1%}) "
                                    f"have a different key set from the usual one ({listed})", "When almost every "
                                    "output shares one schema, the few that differ are likely mistakes, and the "
                                    "model learns them as allowed variations.", len(others), _ids(others)))
        else:
            findings.append(Finding("json_key_sets_vary", "info", f"{len(key_sets)} different key sets; the most "
                                    f"common ({listed}) covers {common_count / len(objects):.1%} of outputs",
                                    "Optional keys are fine when the input decides them, but the model needs "
                                    "enough examples of each to learn when to include a key.", len(others),
                                    _ids(others)))
    keys = Counter(k for _, obj in objects for k in obj)
    rare = sorted(k for k, n in keys.items()
                  if n <= RARE_KEY_MAX_EXAMPLES and n / len(objects) < RARE_KEY_MAX_SHARE)
    if rare:
        holders = [ex for ex, obj in objects if any(k in obj for k in rare)]
        findings.append(Finding("json_rare_keys", "warning", "keys seen in very few outputs: "
                                + ", ".join(f"{k} ({keys[k]})" for k in rare[:10]), "A key seen only a handful of "
                                "times is either a typo or a field the model cannot learn to fill from so few "
                                "examples.", len(rare), _ids(holders)))
    return findings


def check_truncation(train: Sequence[TrainingExample], tokens: Sequence[int], max_length: int, *,
                     estimated: bool) -> list[Finding]:
    long = [ex for ex, n in zip(train, tokens) if n > max_length]
    if not long:
        return []
    how = f" (estimated at ~{CHARS_PER_TOKEN} characters per token; use a tokenizer for exact counts)" if estimated \
        else ""
    return _by_share("truncation", len(long), len(train), TRUNCATION_ERROR_SHARE,
                     lambda share: f"{len(long)} examples ({share:.1%}) are longer than max_length={max_length} "
                     f"tokens{how}", "Training cuts long examples at max_length, so the loss on a cut completion "
                     "teaches the model to stop mid-output (or it never sees the completion at all).", _ids(long))


# --- helpers -------------------------------------------------------------------------------------------------------

def _by_share(code: str, count: int, total: int, error_share: float, message: Callable[[float], str], why: str,
              shown: tuple[str, ...]) -> list[Finding]:
    """One finding for ``count`` bad items out of ``total``: an error above ``error_share``, else a warning."""
    share = count / total
    severity: Severity = "error" if share > error_share else "warning"
    return [Finding(code, severity, message(share), why, count, shown)]


def _prompt_text(ex: TrainingExample) -> str:
    return "\n".join(m["content"] for m in ex.prompt)


def _words(text: str) -> frozenset[str]:
    return frozenset(_WORD.findall(text.lower()))


def _exact_key(ex: TrainingExample) -> tuple:
    return (tuple((m["role"], " ".join(m["content"].split())) for m in ex.prompt), " ".join(ex.completion.split()))


def _unique(train: Sequence[TrainingExample]) -> list[TrainingExample]:
    seen: set[tuple] = set()
    unique = []
    for ex in train:
        key = _exact_key(ex)
        if key not in seen:
            seen.add(key)
            unique.append(ex)
    return unique


def _ids(examples: Iterable[TrainingExample]) -> tuple[str, ...]:
    shown = []
    for ex in examples:
        shown.append(ex.example_id)
        if len(shown) == EXAMPLES_SHOWN:
            break
    return tuple(shown)
