"""The HTTP API (``ragtune serve``): FastAPI routes over a :class:`ragtune.Workspace`, API-key auth, metrics and
the static web UI. See docs/api.md."""

from ragtune.api.app import create_app

__all__ = ["create_app"]
