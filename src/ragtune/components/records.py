"""What an API key may read of the audit log: its own answers (admin keys: all), and of those only the ones whose
retrieved documents it can all still see — a record quotes the passages its answer saw, so once a document moves
out of a key's groups (or is deleted), the key's old records that quote it are withheld too, exactly as the
document is. Replay uses the same rule. Withheld and missing records get the same "not found"."""

from __future__ import annotations

from dataclasses import dataclass

from ragtune.audit.log import AuditLog, AuditRecord
from ragtune.components.documents import DocumentIndex
from ragtune.types import Viewer


@dataclass
class AuditView:
    audit: AuditLog
    documents: DocumentIndex

    def _restricted(self, viewer: Viewer | None) -> bool:
        return viewer is not None and not viewer.admin

    def _readable(self, record: AuditRecord, visible: set[str]) -> bool:
        return all(r.get("doc_id") in visible for r in record.body.get("retrieved") or [])

    def _visible(self, viewer: Viewer) -> set[str]:
        return {d.doc_id for d in self.documents.list_documents(viewer)}

    def get(self, record_id: str, viewer: Viewer | None = None) -> AuditRecord:
        record = self.audit.get(record_id, viewer)
        if self._restricted(viewer) and not self._readable(record, self._visible(viewer)):
            raise self.audit.not_found(record_id)
        return record

    def list(self, limit: int = 20, viewer: Viewer | None = None) -> list[AuditRecord]:
        if not self._restricted(viewer):
            return self.audit.list(limit, viewer)
        visible = self._visible(viewer)
        found: list[AuditRecord] = []
        before = None
        while len(found) < limit:  # page back through the key's own records until enough are readable
            page = self.audit.list(max(limit, 100), viewer, before=before)
            found += [r for r in page if self._readable(r, visible)]
            if len(page) < max(limit, 100):
                break
            before = page[-1].seq
        return found[:limit]
