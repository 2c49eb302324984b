"""Test doubles and helpers that ship with ragtune so users' own tests can use them too."""

from ragtune.testing.embedder import FakeEmbedder
from ragtune.testing.generator import FakeGenerator, FakeGenerators

__all__ = ["FakeEmbedder", "FakeGenerator", "FakeGenerators"]
