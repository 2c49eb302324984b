"""ragtune: decide between, and run, retrieval-augmented generation and fine-tuning — locally."""

from ragtune.config import ChunkingConfig, RetrievalConfig, Settings
from ragtune.errors import RagtuneError
from ragtune.index import Index, IndexStatus
from ragtune.retrieve.filters import Filters

__all__ = ["ChunkingConfig", "Filters", "Index", "IndexStatus", "RagtuneError", "RetrievalConfig", "Settings"]
__version__ = "0.1.0"
