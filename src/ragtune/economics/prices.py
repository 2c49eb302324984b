"""The price sheet: a YAML file the user edits, read into checked dataclasses.

Every mistake is one line naming the file, the line and the field (``prices.yaml:7: options.rag.api.input_per_1m:
-2 is negative``), so the YAML is composed into nodes (which keep their line numbers) and checked node by node
rather than loaded into plain dicts that have lost them. See docs/economics.md for the format;
``examples/prices.yaml`` is a filled-in example whose numbers are examples only.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from ragtune.errors import InputError

OPTIONS = ("prompt", "rag", "finetune", "rag+finetune")
RETRIEVES = {"prompt": False, "rag": True, "finetune": False, "rag+finetune": True}
TRAINS = {"prompt": False, "rag": False, "finetune": True, "rag+finetune": True}
GIVEN = {
    "queries_per_day": "queries a day",
    "prompt_tokens": "input tokens a query sends besides retrieved sources (instructions, question, examples)",
    "context_tokens": "tokens of retrieved sources a RAG query adds",
    "completion_tokens": "tokens a reply holds",
    "seconds_per_query": "seconds a local model spends on one query",
    "training_hours": "hours one (re)training takes",
    "eval_hours": "hours the evaluation after each (re)training takes",
    "retrain_every_days": "days between retrainings (0: never)",
    "embed_seconds_per_chunk": "seconds to embed and index one chunk",
    "corpus_chunks": "chunks in the index",
    "chunks_changed_per_day": "chunks re-embedded a day as documents change",
    "horizon_months": "months one-off costs (first training, first index) are spread over",
}
# ISO 4217 codes of the currencies in wide use; the sheet names one of them (or asks for another to be added).
CURRENCIES = frozenset(
    "USD EUR GBP JPY CHF CAD AUD NZD CNY HKD SGD KRW TWD INR IDR MYR PHP THB VND SEK NOK DKK ISK PLN CZK HUF RON "
    "BGN UAH TRY ILS AED SAR QAR EGP ZAR NGN KES MAD BRL MXN ARS CLP COP PEN UYU RUB KZT PKR BDT LKR".split())
_CODE = re.compile(r"[A-Z]{3}")


@dataclass(frozen=True)
class ApiPrice:
    """Pay per token: an API, or any server that bills that way."""

    input_per_1m: float
    output_per_1m: float


@dataclass(frozen=True)
class LocalPrice:
    """Pay for machine time: ``per_hour`` of a machine that serves ``concurrency`` queries at once; the seconds a
    query takes are measured (audit records, eval runs) unless ``seconds_per_query`` gives them."""

    per_hour: float
    concurrency: float = 1.0
    seconds_per_query: float | None = None


@dataclass(frozen=True)
class OptionPrice:
    name: str
    serving: ApiPrice | LocalPrice
    fixed_per_month: float = 0.0
    line: int = 0


@dataclass(frozen=True)
class PriceSheet:
    currency: str
    options: dict[str, OptionPrice]
    training_per_hour: float | None = None
    embedding_per_hour: float | None = None
    given: dict[str, float] = field(default_factory=dict)
    source: str = ""

    def to_json(self) -> dict:
        def serving(o: OptionPrice) -> dict:
            kind = "api" if isinstance(o.serving, ApiPrice) else "local"
            return {kind: {k: v for k, v in o.serving.__dict__.items() if v is not None},
                    "fixed_per_month": o.fixed_per_month}

        return {"source": self.source, "currency": self.currency,
                "options": {n: serving(o) for n, o in self.options.items()},
                "training_per_hour": self.training_per_hour, "embedding_per_hour": self.embedding_per_hour,
                "given": self.given}


# ---- reading ---------------------------------------------------------------------------------------------------


class _Sheet:
    """Checks nodes of one file and raises errors that name the file, line and field."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.currency: tuple[str, str, int] | None = None  # (code, field, line) of the first currency seen

    def fail(self, node: yaml.Node | None, path: str, message: str) -> InputError:
        line = f":{node.start_mark.line + 1}" if node is not None else ""
        return InputError(f"{self.source}{line}: {path}: {message}" if path else f"{self.source}{line}: {message}")

    def mapping(self, node: yaml.Node, path: str, allowed: tuple[str, ...] | dict) -> dict[str, yaml.Node]:
        if not isinstance(node, yaml.MappingNode):
            raise self.fail(node, path, "expected a mapping of keys to values")
        out: dict[str, yaml.Node] = {}
        for key, value in node.value:
            name = key.value if isinstance(key, yaml.ScalarNode) else None
            where = f"{path}.{name}" if path else str(name)
            if name not in allowed:
                known = ", ".join(allowed)
                raise self.fail(key, where, f"unknown field; expected one of {known}")
            if name in out:
                raise self.fail(key, where, "given twice")
            out[name] = value
        return out

    def number(self, node: yaml.Node, path: str, *, positive: bool = False) -> float:
        value = yaml.SafeLoader("").construct_object(node) if isinstance(node, yaml.ScalarNode) else None
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            shown = node.value if isinstance(node, yaml.ScalarNode) else "a list or mapping"
            raise self.fail(node, path, f"{shown!r} is not a number")
        if value < 0:
            raise self.fail(node, path, f"{value:g} is negative; amounts are >= 0")
        if positive and value == 0:
            raise self.fail(node, path, "must be more than 0")
        return float(value)

    def currency_of(self, node: yaml.Node, path: str) -> str:
        code = node.value.strip() if isinstance(node, yaml.ScalarNode) else ""
        if not _CODE.fullmatch(code) or code not in CURRENCIES:
            raise self.fail(node, path, f"unknown currency {code!r}; use an ISO 4217 code such as USD, EUR or GBP")
        if self.currency is None:
            self.currency = (code, path, node.start_mark.line + 1)
        elif self.currency[0] != code:
            first, where, line = self.currency
            raise self.fail(node, path, f"{code} mixes with {first} ({where}, line {line}); one sheet holds one "
                                        "currency: convert the prices first")
        return code


def parse_prices(text: str, source: str = "prices.yaml") -> PriceSheet:
    sheet = _Sheet(source)
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise InputError(f"{source}{line}: not valid YAML: {problem}") from None
    if root is None:
        raise InputError(f"{source}: the price sheet is empty; see examples/prices.yaml")
    top = sheet.mapping(root, "", ("currency", "options", "training", "embedding", "given"))
    if "currency" not in top:
        raise sheet.fail(root, "currency", "missing; name the sheet's currency (an ISO 4217 code such as USD)")
    currency = sheet.currency_of(top["currency"], "currency")
    if "options" not in top:
        raise sheet.fail(root, "options", f"missing; price at least one of {', '.join(OPTIONS)}")
    options = {name: _option(sheet, name, node)
               for name, node in sheet.mapping(top["options"], "options", OPTIONS).items()}
    if not options:
        raise sheet.fail(top["options"], "options", f"empty; price at least one of {', '.join(OPTIONS)}")
    training = _hourly(sheet, top, "training")
    embedding = _hourly(sheet, top, "embedding")
    trained = [n for n in options if TRAINS[n]]
    if trained and training is None:
        raise sheet.fail(root, "training.per_hour", f"missing; {', '.join(trained)} trains an adapter, so the "
                                                    "sheet needs the training machine's price per hour")
    retrieving = [n for n in options if RETRIEVES[n]]
    if retrieving and embedding is None:
        raise sheet.fail(root, "embedding.per_hour", f"missing; {', '.join(retrieving)} embeds the documents, so "
                                                     "the sheet needs the embedding machine's price per hour")
    given = {}
    if "given" in top and not (isinstance(top["given"], yaml.ScalarNode) and top["given"].value in ("", "null", "~")):
        for name, node in sheet.mapping(top["given"], "given", GIVEN).items():
            given[name] = sheet.number(node, f"given.{name}", positive=name == "horizon_months")
    return PriceSheet(currency, options, training, embedding, given, source)


def _option(sheet: _Sheet, name: str, node: yaml.Node) -> OptionPrice:
    path = f"options.{name}"
    fields = sheet.mapping(node, path, ("api", "local", "fixed_per_month", "currency"))
    if "currency" in fields:
        sheet.currency_of(fields["currency"], f"{path}.currency")
    kinds = [k for k in ("api", "local") if k in fields]
    if len(kinds) != 1:
        raise sheet.fail(node, path, "give exactly one of api (prices per 1M tokens) or local (machine price per "
                                     "hour)" + ("; found both" if len(kinds) == 2 else "; found neither"))
    kind = kinds[0]
    serving: ApiPrice | LocalPrice
    if kind == "api":
        api = sheet.mapping(fields["api"], f"{path}.api", ("input_per_1m", "output_per_1m", "currency"))
        if "currency" in api:
            sheet.currency_of(api["currency"], f"{path}.api.currency")
        values = _required(sheet, api, fields["api"], f"{path}.api", ("input_per_1m", "output_per_1m"))
        serving = ApiPrice(**values)
    else:
        local = sheet.mapping(fields["local"], f"{path}.local",
                              ("per_hour", "concurrency", "seconds_per_query", "currency"))
        if "currency" in local:
            sheet.currency_of(local["currency"], f"{path}.local.currency")
        values = _required(sheet, local, fields["local"], f"{path}.local", ("per_hour",))
        if "concurrency" in local:
            values["concurrency"] = sheet.number(local["concurrency"], f"{path}.local.concurrency", positive=True)
        if "seconds_per_query" in local:
            values["seconds_per_query"] = sheet.number(local["seconds_per_query"],
                                                       f"{path}.local.seconds_per_query")
        serving = LocalPrice(**values)
    fixed = sheet.number(fields["fixed_per_month"], f"{path}.fixed_per_month") if "fixed_per_month" in fields else 0.0
    return OptionPrice(name, serving, fixed, node.start_mark.line + 1)


def _required(sheet: _Sheet, fields: dict[str, yaml.Node], node: yaml.Node, path: str,
              names: tuple[str, ...]) -> dict[str, float]:
    out = {}
    for name in names:
        if name not in fields:
            raise sheet.fail(node, f"{path}.{name}", "missing")
        out[name] = sheet.number(fields[name], f"{path}.{name}")
    return out


def _hourly(sheet: _Sheet, top: dict[str, yaml.Node], section: str) -> float | None:
    if section not in top:
        return None
    fields = sheet.mapping(top[section], section, ("per_hour", "currency"))
    if "currency" in fields:
        sheet.currency_of(fields["currency"], f"{section}.currency")
    return _required(sheet, fields, top[section], section, ("per_hour",))["per_hour"]


def read_prices(path: str | Path) -> PriceSheet:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{path}: no such price sheet; start from examples/prices.yaml") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read the price sheet: {exc}") from None
    return parse_prices(text, str(path))
