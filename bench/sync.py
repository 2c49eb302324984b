"""Incremental sync cost: re-syncing a 1,000-document folder after one edit or one deletion vs the first ingest.

What it measures: a temporary folder of ``--docs`` markdown notes (a heading and 1-3 paragraphs each, built from
the SQuAD dev passages, cycled and varied so every file is distinct) is ingested with ``Index.ingest([folder])``;
then one file gets a sentence appended and ``Index.sync(folder)`` runs; then one file is deleted and sync runs
again. Finally one more file is edited and the CLI ``ragtune --home H sync DIR --json`` runs in a subprocess, whose
wall time includes starting Python, importing torch and loading the model.

Why: sync is what users run on every change; it should cost in proportion to what changed (hash 1,000 files, embed
one), not to the folder. Each step is also checked: the reports must say updated=1 / unchanged=999 and removed=1,
and the deleted document's chunks must be gone from the store.
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

from _common import (ROOT, SQUAD_CORPUS, load_embedder_warm, log, machine_info, machine_line, markdown_table,
                     read_jsonl, write_markdown_docs, write_result)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", type=int, default=1000, help="markdown documents in the synced folder")
    parser.add_argument("--corpus", type=Path, default=SQUAD_CORPUS, help="passages the documents are built from")
    parser.add_argument("--skip-cli", action="store_true", help="do not time the CLI subprocess")
    parser.add_argument("--name", default="sync", help="result file name under bench/results/")
    return parser.parse_args()


def chunk_doc_ids(index) -> list[str]:
    return index.store.chunk_columns()["doc_id"].to_pylist()


def expect(checks: list[dict], what: str, got, want) -> None:
    checks.append({"check": what, "got": got, "want": want, "ok": got == want})
    if got != want:
        log(f"CHECK FAILED: {what}: got {got!r}, want {want!r}")


def main() -> int:
    args = parse_args()
    from ragtune import Index

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
        index = Index(home, embedder=embedder)

        log(f"initial ingest of {n} documents ...")
        t = time.perf_counter()
        initial = index.ingest([folder])
        initial_s = time.perf_counter() - t
        expect(checks, "initial: added", initial.added, n)
        docs0, chunks0 = index.store.counts()
        rows.append(["initial Index.ingest([folder])", initial_s, initial.added, initial.updated, initial.removed,
                     initial.unchanged, initial.chunks, "1.000"])

        edited = paths[n // 2]
        with open(edited, "a", encoding="utf-8") as handle:
            handle.write("\nThis sentence was appended to check that sync re-indexes exactly one document.\n")
        log(f"sync after editing {edited.name} ...")
        t = time.perf_counter()
        edit = index.sync(folder)
        edit_s = time.perf_counter() - t
        for key, want in (("updated", 1), ("unchanged", n - 1), ("added", 0), ("removed", 0)):
            expect(checks, f"edit sync: {key}", getattr(edit, key), want)
        rows.append(["Index.sync after editing 1 file", edit_s, edit.added, edit.updated, edit.removed,
                     edit.unchanged, edit.chunks, f"{edit_s / initial_s:.4f}"])

        deleted = paths[n // 3]
        deleted_id = deleted.relative_to(folder).as_posix()
        deleted_chunks = chunk_doc_ids(index).count(deleted_id)
        deleted.unlink()
        log(f"sync after deleting {deleted_id} ({deleted_chunks} chunks) ...")
        t = time.perf_counter()
        removal = index.sync(folder)
        removal_s = time.perf_counter() - t
        for key, want in (("removed", 1), ("unchanged", n - 1), ("added", 0), ("updated", 0)):
            expect(checks, f"delete sync: {key}", getattr(removal, key), want)
        docs1, chunks1 = index.store.counts()
        expect(checks, "delete sync: documents in store", docs1, docs0 - 1)
        expect(checks, "delete sync: chunks in store", chunks1, chunks0 - deleted_chunks)
        expect(checks, "delete sync: chunks of the deleted doc left", chunk_doc_ids(index).count(deleted_id), 0)
        expect(checks, "delete sync: deleted doc in any search hit",
               any(h.chunk.doc_id == deleted_id for h in index.search(deleted.stem + " " + passages[(n // 3) %
                   len(passages)][:200], k=20).hits), False)
        expect(checks, "delete sync: document record gone", index.document(deleted_id) is None, True)
        rows.append(["Index.sync after deleting 1 file", removal_s, removal.added, removal.updated, removal.removed,
                     removal.unchanged, removal.chunks, f"{removal_s / initial_s:.4f}"])

        cli = None
        if not args.skip_cli:
            edited2 = paths[(2 * n) // 3]
            with open(edited2, "a", encoding="utf-8") as handle:
                handle.write("\nA second appended sentence, for the command-line sync.\n")
            ragtune = Path(sys.executable).parent / "ragtune"
            command = [str(ragtune), "--home", str(home), "sync", str(folder), "--json"]
            log("CLI: " + " ".join(command))
            env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
            t = time.perf_counter()
            proc = subprocess.run(command, capture_output=True, text=True, env=env, cwd=ROOT)
            cli_s = time.perf_counter() - t
            expect(checks, "CLI exit code", proc.returncode, 0)
            cli = {"command": command, "wall_s": cli_s, "returncode": proc.returncode, "stderr": proc.stderr[-2000:]}
            try:
                cli["report"] = report = json.loads(proc.stdout)
                expect(checks, "CLI sync: updated", report.get("updated"), 1)
                expect(checks, "CLI sync: unchanged", report.get("unchanged"), n - 2)
                rows.append(["CLI `ragtune sync --json` (wall, incl. startup + model load)", cli_s,
                             report.get("added"), report.get("updated"), report.get("removed"),
                             report.get("unchanged"), report.get("chunks"), f"{cli_s / initial_s:.4f}"])
                rows.append(["  of which reported by the CLI as sync `seconds`", float(report.get("seconds")),
                             "", "", "", "", "", f"{report.get('seconds') / initial_s:.4f}"])
            except ValueError:
                expect(checks, "CLI stdout is JSON", proc.stdout[:200], "<json>")

    ok = all(c["ok"] for c in checks)
    print(f"Sync of a folder of {n} markdown documents ({docs0} docs, {chunks0} chunks after the first ingest)\n")
    print(markdown_table(["step", "seconds", "added", "updated", "removed", "unchanged", "chunks written",
                          "ratio to initial"], rows, digits=2))
    print()
    print(markdown_table(["check", "got", "want", "result"],
                         [[c["check"], str(c["got"]), str(c["want"]), "ok" if c["ok"] else "FAILED"] for c in checks]))
    results = {
        "docs": n, "documents_in_store": docs0, "chunks_in_store": chunks0,
        "initial": {"seconds": initial_s, "report": initial.to_json()},
        "edit_sync": {"seconds": edit_s, "ratio_to_initial": edit_s / initial_s, "report": edit.to_json()},
        "delete_sync": {"seconds": removal_s, "ratio_to_initial": removal_s / initial_s,
                        "deleted_doc": deleted_id, "deleted_chunks": deleted_chunks, "report": removal.to_json()},
        "cli": cli, "checks": checks, "all_checks_ok": ok,
    }
    path = write_result(args.name, args, results, machine)
    log(f"wrote {path}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
