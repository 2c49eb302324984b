"""Errors ragtune raises on purpose.

Every error a user can cause is a :class:`RagtuneError`: its message names the file, field or value at fault and
says what to do. The CLI prints it as one line on stderr and exits with ``exit_code`` (2); anything else is an
internal error (exit 1).
"""

from __future__ import annotations


class RagtuneError(Exception):
    """A problem the user can fix; the message says how."""

    exit_code = 2


class InputError(RagtuneError):
    """A path, file, line, field or argument value is not what ragtune expects."""


class NotFoundError(InputError):
    """A named thing (document, audit record, run, key, model) does not exist — or the caller may not see it: the
    two answer alike, so a caller cannot learn what exists beyond its access."""


class TooLargeError(InputError):
    """An input is over a size limit."""


class UnsupportedTypeError(InputError):
    """A file of a type ragtune does not read."""


class PermissionDeniedError(RagtuneError):
    """The caller may see the thing but not do this with it (an admin-only action, a group it does not hold)."""


class ConflictError(RagtuneError):
    """The request collides with what is there (a document the caller may not replace, a source of another kind)."""


class ParseError(InputError):
    """A single document could not be read; other documents in the same run still ingest."""

    def __init__(self, source: str, reason: str) -> None:
        super().__init__(f"{source}: {reason}")
        self.source = source
        self.reason = reason


class ConfigError(RagtuneError):
    """A setting (flag, environment variable, config value) is invalid."""


class StoreError(RagtuneError):
    """The index on disk cannot be used as asked (wrong embedder, locked, incompatible schema)."""


class EmbedderMismatchError(StoreError):
    """The index was built with another embedder (another model, or int8 vectors against float ones)."""


class StoreBusyError(StoreError):
    """Another process holds the home's write lock; retrying later succeeds."""


class StoreUnavailableError(StoreError):
    """The store's server cannot be reached right now (restarting, failing over); retrying later succeeds."""


class IndexSchemaError(StoreError):
    """The index on disk was built by a ragtune with another schema."""


class VersionCollectedError(StoreError):
    """An audit record pins a store version that ``ragtune gc`` has collected: the check cannot run."""

    exit_code = 3


class ModelError(RagtuneError):
    """A model could not be found or loaded."""


class AuditError(RagtuneError):
    """The audit log did not pass its check (edited, truncated, or keyed and no key to check it with), so what
    was asked of it — replay, sealing — is refused. Exit code 3, like ``ragtune audit verify`` finding a problem."""

    exit_code = 3
