"""ragtune: decide between, and run, retrieval-augmented generation and fine-tuning — locally."""

from ragtune.config import ChunkingConfig, RetrievalConfig, Settings
from ragtune.errors import RagtuneError
from ragtune.types import Filters
from ragtune.version import __version__
from ragtune.workspace import Workspace

__all__ = ["ChunkingConfig", "Filters", "RagtuneError", "RetrievalConfig", "Settings", "Workspace", "__version__"]
