"""Entry point of the plugin: registers the ``sentence_transformers`` embedder.

It ranks below ``onnx`` (priority 10 against 100): with both installed and ``MCP_MEMORY_EMBEDDER`` unset,
onnx embeds. Importing this module stays cheap (every ``memory`` process imports it): the embedder module loads
when an embedder is made; torch, sentence_transformers and numpy on the first embed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from mcp_memory import hookimpl
from mcp_memory.registration import EmbedderBackend

if TYPE_CHECKING:
    from .embedder import SentenceTransformerEmbedder

NAME = "sentence_transformers"
PRIORITY = 10


def create_embedder(settings: Any) -> SentenceTransformerEmbedder:
    """Factory called by the core with the ``Settings`` in force (no model load here)."""
    from .embedder import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder(settings)


@hookimpl
def memory_register_embedder(register: Callable[[EmbedderBackend], None]) -> None:
    register(EmbedderBackend(name=NAME, factory=create_embedder, priority=PRIORITY,
                             description="any sentence-transformers model (needs torch); MCP_MEMORY_EMBEDDING_MODEL"))
