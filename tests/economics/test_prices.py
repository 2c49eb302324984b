"""The price sheet: a bad sheet is one line naming the file, the line and the field."""

from __future__ import annotations

import pytest
from tests.conftest import REPO

from ragtune.economics.prices import ApiPrice, LocalPrice, parse_prices, read_prices
from ragtune.errors import InputError

GOOD = """\
currency: EUR
options:
  prompt:
    api:
      input_per_1m: 2
      output_per_1m: 8.5
  finetune:
    local:
      per_hour: 1.2
      concurrency: 4
    fixed_per_month: 30
training:
  per_hour: 3
given:
  queries_per_day: 500
"""


def test_a_good_sheet_reads_into_checked_values():
    sheet = parse_prices(GOOD)
    assert sheet.currency == "EUR"
    assert sheet.options["prompt"].serving == ApiPrice(2.0, 8.5)
    assert sheet.options["finetune"].serving == LocalPrice(1.2, 4.0)
    assert sheet.options["finetune"].fixed_per_month == 30.0
    assert sheet.training_per_hour == 3.0 and sheet.embedding_per_hour is None
    assert sheet.given == {"queries_per_day": 500.0}


def test_the_example_sheet_reads_and_labels_every_price_an_example():
    path = REPO / "examples" / "prices.yaml"
    sheet = read_prices(path)
    assert set(sheet.options) == {"prompt", "rag", "finetune", "rag+finetune"}
    for line in path.read_text().splitlines():
        if any(k in line for k in ("input_per_1m:", "output_per_1m:", "per_hour:")):
            assert "EXAMPLE" in line, line


@pytest.mark.parametrize("edit, expected", [
    # a missing field
    (lambda s: s.replace("      output_per_1m: 8.5\n", ""), "prices.yaml:5: options.prompt.api.output_per_1m: missing"),
    (lambda s: s.replace("currency: EUR\n", ""), "prices.yaml:1: currency: missing"),
    (lambda s: s.replace("training:\n  per_hour: 3\n", ""), "prices.yaml:1: training.per_hour: missing; finetune"),
    # negative and non-numeric values
    (lambda s: s.replace("input_per_1m: 2", "input_per_1m: -2"),
     "prices.yaml:5: options.prompt.api.input_per_1m: -2 is negative"),
    (lambda s: s.replace("per_hour: 1.2", "per_hour: cheap"),
     "prices.yaml:9: options.finetune.local.per_hour: 'cheap' is not a number"),
    (lambda s: s.replace("queries_per_day: 500", "queries_per_day: true"),
     "prices.yaml:15: given.queries_per_day: 'true' is not a number"),
    (lambda s: s.replace("concurrency: 4", "concurrency: 0"),
     "prices.yaml:10: options.finetune.local.concurrency: must be more than 0"),
    # an unknown option or field
    (lambda s: s.replace("  prompt:\n", "  gpt:\n"), "prices.yaml:3: options.gpt: unknown field; expected one of "
                                                      "prompt, rag, finetune, rag+finetune"),
    (lambda s: s.replace("queries_per_day", "queries"), "prices.yaml:15: given.queries: unknown field"),
    # an unknown currency, or a mix
    (lambda s: s.replace("currency: EUR", "currency: euros"), "prices.yaml:1: currency: unknown currency 'euros'"),
    (lambda s: s + "embedding:\n  per_hour: 1\n  currency: USD\n",
     "prices.yaml:18: embedding.currency: USD mixes with EUR (currency, line 1)"),
    (lambda s: s.replace("      output_per_1m: 8.5\n", "      output_per_1m: 8.5\n      currency: GBP\n"),
     "prices.yaml:7: options.prompt.api.currency: GBP mixes with EUR"),
    # structure
    (lambda s: s.replace("    api:\n", "    api:\n      input_per_1m: 1\n    local:\n      per_hour: 1\n    x:\n")
     .replace("    x:\n", ""), "prices.yaml:4: options.prompt: give exactly one of api"),
    (lambda s: s + "given:\n  corpus_chunks: 3\n", "prices.yaml:16: given: given twice"),
    (lambda s: "currency: EUR\noptions: [1, 2]\n", "prices.yaml:2: options: expected a mapping"),
    (lambda s: "currency: EUR\noptions: {prompt: {api: {input_per_1m: 1, output_per_1m: [}}}\n",
     "prices.yaml:2: not valid YAML"),
])
def test_a_bad_sheet_is_one_line_naming_the_field_and_line(edit, expected):
    with pytest.raises(InputError) as error:
        parse_prices(edit(GOOD))
    message = str(error.value)
    assert message.startswith(expected), message
    assert "\n" not in message


def test_an_empty_or_missing_sheet_is_a_user_error(tmp_path):
    with pytest.raises(InputError, match="empty"):
        parse_prices("")
    with pytest.raises(InputError, match="no such price sheet"):
        read_prices(tmp_path / "nope.yaml")
