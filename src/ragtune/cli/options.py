"""Options several commands share, declared once so their flags and help stay identical."""

from __future__ import annotations

import typer

EVAL_QA = typer.Option(..., "--qa", help="eval .jsonl: QA items and/or behaviour items (input/output)")
EVAL_CORPUS = typer.Option(None, "--corpus", help="documents for retrieval and the oracle's gold context")
TRAIN = typer.Option(None, "--train", help="few-shot examples come from here if given")
ADAPTER = typer.Option(None, "--adapter",
                       help="adapter id from the registry or a peft adapter folder (default: the promoted adapter; "
                            "'base' for none)")
SHOTS = typer.Option(3, "--shots", help="examples in few-shot conditions")
LIMIT = typer.Option(None, "--limit", help="only the first N items")
JSON = typer.Option(False, "--json", help="print a JSON result on stdout")
GROUPS = typer.Option(None, "--groups", help="comma-separated access groups for these docs (default: a known source keeps the groups it has; "
                      "a new one gets none, i.e. visible to every key)")
RECORD_ID = typer.Argument(..., help="audit record id (or sequence number)")
SOURCE = typer.Option(None, "--source", help="name of the source (default: the folder's name or the file's stem)")
