"""The LanceDB store's on-disk shape: its schema version, what each version changed, and the table schemas."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa

SCHEMA_VERSION = 2
# What each schema version changed, for the message that refuses an index built with an older one.
_SCHEMA_CHANGES = {
    2: "documents belong to named sources (file ids are SOURCE/path) and metadata filter pairs are stored as "
       "JSON [key, value], so '=' in a key or value is unambiguous",
}

def chunk_schema(dim: int) -> pa.Schema:
    return pa.schema(
        [
            ("chunk_id", pa.string()),
            ("doc_id", pa.string()),
            ("doc_version", pa.string()),
            ("ordinal", pa.int32()),
            ("text", pa.string()),
            ("start", pa.int64()),
            ("end", pa.int64()),
            ("heading_path", pa.list_(pa.string())),
            ("source_path", pa.string()),
            ("metadata", pa.string()),
            ("meta_kv", pa.list_(pa.string())),
            ("groups", pa.list_(pa.string())),
            ("terms", pa.list_(pa.string())),
            ("text_sha", pa.string()),
            ("vector", pa.list_(pa.float32(), dim)),
        ]
    )


DOCUMENT_SCHEMA = pa.schema(
    [
        ("doc_id", pa.string()),
        ("version", pa.string()),
        ("fingerprint", pa.string()),
        ("source_path", pa.string()),
        ("title", pa.string()),
        ("text", pa.string()),
        ("metadata", pa.string()),
        ("groups", pa.list_(pa.string())),
        ("n_chunks", pa.int32()),
        ("indexed_at", pa.string()),
        ("source", pa.string()),
    ]
)


SOURCE_SCHEMA = pa.schema([("name", pa.string()), ("root", pa.string()), ("kind", pa.string()),
                           ("created", pa.string()), ("synced", pa.string())])


def schema_mismatch(root: Path, found: object) -> str:
    """Why an index cannot be used, and what to do: its folder is rebuilt from the user's files, so deleting it
    loses nothing but the old store versions (which audit replay of older answers needs)."""
    change = _SCHEMA_CHANGES.get(SCHEMA_VERSION, "")
    return (f"the index in {root} has schema {found} but this ragtune uses {SCHEMA_VERSION}"
            + (f" ({change})" if change else "")
            + f"; delete {root} and run again: ingest (or the evaluation that built it) rebuilds it from "
              "your files")
