"""API keys for ``ragtune serve``: who may call it and which access groups each caller holds."""

from ragtune.keys.store import ApiKey, CreatedKey, KeyStore, parse_groups

__all__ = ["ApiKey", "CreatedKey", "KeyStore", "parse_groups"]
