"""Incremental sync cost: re-syncing a 1,000-document folder after one edit or one deletion vs the first
ingest.

What it measures: a temporary folder of ``--docs`` markdown notes (a heading and 1-3 paragraphs each, built
from the SQuAD dev passages, cycled and varied so every file is distinct) is ingested with
``documents.ingest([folder])``; then one file gets a sentence appended and ``documents.sync(folder)`` runs; then one
file is deleted and sync runs again. Finally the CLI ``ragtune --home H sync DIR --json`` runs in a subprocess
twice, once with nothing changed and once after editing one more file; its wall time includes starting Python
and the imports, plus loading the embedder when something must be embedded (the model loads lazily).

Why: sync is what users run on every change; it should cost in proportion to what changed (hash 1,000 files,
embed one), not to the folder. Each step is also checked: the reports must say updated=1 / unchanged=999 and
removed=1, and the deleted document's chunks must be gone from the store.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import (
    ROOT,
    SQUAD_CORPUS,
    add_quick_flag,
    apply_sizes,
    load_embedder_warm,
    log,
    machine_info,
    machine_line,
    markdown_table,
    read_jsonl,
    write_markdown_docs,
    write_result,
)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", type=int, default=None,
                        help="markdown documents in the synced folder (default 1000; --quick: 200)")
    parser.add_argument(
        "--corpus", type=Path, default=SQUAD_CORPUS, help="passages the documents are built from"
    )
    parser.add_argument("--skip-cli", action="store_true", help="do not time the CLI subprocess")
    parser.add_argument("--name", default="sync", help="result file name under bench/results/")
    add_quick_flag(parser)
    return apply_sizes(parser.parse_args(), full={"docs": 1000}, quick={"docs": 200})


def chunk_doc_ids(index) -> list[str]:
    return index.documents.store.chunk_columns()["doc_id"].to_pylist()


def expect(checks: list[dict], what: str, got, want) -> None:
    checks.append({"check": what, "got": got, "want": want, "ok": got == want})
    if got != want:
        log(f"CHECK FAILED: {what}: got {got!r}, want {want!r}")


def step_row(label: str, seconds: float, report: dict, initial_s: float) -> list:
    counts = [report.get(key, "") for key in ("added", "updated", "removed", "unchanged", "chunks")]
    return [label, seconds, *counts, f"{seconds / initial_s:.4f}"]


def run_cli(
    home: Path,
    folder: Path,
    checks: list[dict],
    rows: list[list],
    initial_s: float,
    label: str,
    updated: int,
    unchanged: int,
) -> dict:
    """Time ``ragtune --home H sync DIR --json`` in a new process (start-up, imports, model load included)."""
    # the interpreter running this benchmark, so the CLI measured is the ragtune measured everywhere else
    command = [
        sys.executable,
        "-m",
        "ragtune.cli.main",
        "--home",
        str(home),
        "sync",
        str(folder),
        "--json",
    ]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    t = time.perf_counter()
    proc = subprocess.run(command, capture_output=True, text=True, env=env, cwd=ROOT)
    wall_s = time.perf_counter() - t
    expect(checks, f"CLI sync {label}: exit code", proc.returncode, 0)
    result = {
        "command": " ".join(command),
        "wall_s": wall_s,
        "returncode": proc.returncode,
        "stderr": proc.stderr[-2000:],
    }
    try:
        result["report"] = report = json.loads(proc.stdout)
    except ValueError:
        expect(checks, f"CLI sync {label}: stdout is JSON", proc.stdout[:200], "<json>")
        return result
    expect(checks, f"CLI sync {label}: updated", report.get("updated"), updated)
    expect(checks, f"CLI sync {label}: unchanged", report.get("unchanged"), unchanged)
    rows.append(
        step_row(f"CLI `ragtune sync --json`, {label} (process wall time)", wall_s, report, initial_s)
    )
    rows.append(
        step_row(
            "  of which the sync itself (`seconds` in its JSON)", float(report["seconds"]), {}, initial_s
        )
    )
    return result


def main() -> int:
    args = parse_args()
    from ragtune import Workspace

    machine = machine_info()
    log(f"machine: {machine_line(machine)}")
    embedder = load_embedder_warm()
    passages = [r["text"] for r in read_jsonl(args.corpus)]
    checks: list[dict] = []
    rows: list[list] = []
    n = args.docs

    with tempfile.TemporaryDirectory(prefix="ragtune-bench-sync-") as tmp:
        folder, home = Path(tmp) / "notes", Path(tmp) / "home"
        paths = write_markdown_docs(passages, n, folder, min_paragraphs=1, max_paragraphs=3)
        distinct = len({p.read_bytes() for p in paths})
        expect(checks, "generated documents are distinct", distinct, n)
        index = Workspace(home, embedder=embedder)

        log(f"initial ingest of {n} documents ...")
        t = time.perf_counter()
        initial = index.documents.ingest([folder])
        initial_s = time.perf_counter() - t
        expect(checks, "initial: added", initial.added, n)
        docs0, chunks0 = index.documents.store.counts()
        rows.append(step_row("initial Index.ingest([folder])", initial_s, initial.to_json(), initial_s))

        edited = paths[n // 2]
        with open(edited, "a", encoding="utf-8") as handle:
            handle.write("\nThis sentence was appended to check that sync re-indexes exactly one document.\n")
        log(f"sync after editing {edited.name} ...")
        t = time.perf_counter()
        edit = index.documents.sync(folder)
        edit_s = time.perf_counter() - t
        for key, want in (("updated", 1), ("unchanged", n - 1), ("added", 0), ("removed", 0)):
            expect(checks, f"edit sync: {key}", getattr(edit, key), want)
        rows.append(step_row("Index.sync after editing 1 file", edit_s, edit.to_json(), initial_s))

        deleted = paths[n // 3]
        # a file's document id is SOURCE/path (the source defaults to the folder's name)
        relative = deleted.relative_to(folder).as_posix()
        owners = sorted({d for d in chunk_doc_ids(index) if d.endswith(f"/{relative}")})
        expect(checks, "deleted file is one stored document", len(owners), 1)
        deleted_id = owners[0] if owners else relative
        deleted_chunks = chunk_doc_ids(index).count(deleted_id)
        deleted_query = deleted.read_text(encoding="utf-8").split("\n\n")[1][:300]
        found = any(h.chunk.doc_id == deleted_id for h in index.documents.search(deleted_query, k=20).hits)
        expect(checks, "before delete: doc among top-20 hits for its own text", found, True)
        deleted.unlink()
        log(f"sync after deleting {deleted_id} ({deleted_chunks} chunks) ...")
        t = time.perf_counter()
        removal = index.documents.sync(folder)
        removal_s = time.perf_counter() - t
        for key, want in (("removed", 1), ("unchanged", n - 1), ("added", 0), ("updated", 0)):
            expect(checks, f"delete sync: {key}", getattr(removal, key), want)
        docs1, chunks1 = index.documents.store.counts()
        expect(checks, "delete sync: documents in store", docs1, docs0 - 1)
        expect(checks, "delete sync: chunks in store", chunks1, chunks0 - deleted_chunks)
        expect(
            checks, "delete sync: chunks of the deleted doc left", chunk_doc_ids(index).count(deleted_id), 0
        )
        hits = index.documents.search(deleted_query, k=20).hits
        expect(
            checks,
            "delete sync: deleted doc among top-20 hits for its own text",
            any(h.chunk.doc_id == deleted_id for h in hits),
            False,
        )
        expect(checks, "delete sync: document record gone", index.documents.document(deleted_id) is None, True)
        rows.append(step_row("Index.sync after deleting 1 file", removal_s, removal.to_json(), initial_s))

        cli = None
        if not args.skip_cli:
            cli = {}
            log("CLI sync with nothing changed ...")
            cli["unchanged"] = run_cli(
                home, folder, checks, rows, initial_s, "nothing changed", updated=0, unchanged=n - 1
            )
            with open(paths[(2 * n) // 3], "a", encoding="utf-8") as handle:
                handle.write("\nA second appended sentence, for the command-line sync.\n")
            log("CLI sync after editing 1 file ...")
            cli["edit"] = run_cli(
                home, folder, checks, rows, initial_s, "after editing 1 file", updated=1, unchanged=n - 2
            )

    ok = all(c["ok"] for c in checks)
    print(
        f"Sync of a folder of {n} markdown documents ({docs0} docs, {chunks0} chunks after the first "
        "ingest)\n"
    )
    print(
        markdown_table(
            [
                "step",
                "seconds",
                "added",
                "updated",
                "removed",
                "unchanged",
                "chunks written",
                "ratio to initial",
            ],
            rows,
            digits=2,
        )
    )
    print()
    print(
        markdown_table(
            ["check", "got", "want", "result"],
            [[c["check"], str(c["got"]), str(c["want"]), "ok" if c["ok"] else "FAILED"] for c in checks],
        )
    )
    results = {
        "docs": n,
        "documents_in_store": docs0,
        "chunks_in_store": chunks0,
        "initial": {"seconds": initial_s, "report": initial.to_json()},
        "edit_sync": {"seconds": edit_s, "ratio_to_initial": edit_s / initial_s, "report": edit.to_json()},
        "delete_sync": {
            "seconds": removal_s,
            "ratio_to_initial": removal_s / initial_s,
            "deleted_doc": deleted_id,
            "deleted_chunks": deleted_chunks,
            "report": removal.to_json(),
        },
        "cli": cli,
        "checks": checks,
        "all_checks_ok": ok,
    }
    path = write_result(args.name, args, results, machine)
    log(f"wrote {path}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
