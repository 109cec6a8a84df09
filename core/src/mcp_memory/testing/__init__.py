"""Test support shipped with the core: the storage conformance suite and small test doubles."""

from .conformance import StorageConformance
from .fakes import HashEmbedder, InMemoryStorage, LexicalInMemoryStorage

__all__ = ["StorageConformance", "HashEmbedder", "InMemoryStorage", "LexicalInMemoryStorage"]
