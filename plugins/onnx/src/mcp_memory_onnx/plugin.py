"""Entry point of the ``onnx`` plugin: the ``onnx`` embedder and the ``memory onnx-export`` command.

Importing this module is cheap: onnxruntime loads on the first embed, torch only inside the export command.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, Callable

from mcp_memory import hookimpl

from .embedder import OnnxEmbedder
from .model_dir import DEFAULT_MODEL, resolve

NAME = "onnx"


def create_embedder(settings: Any) -> OnnxEmbedder:
    """Factory called by the core with the ``Settings`` in force (no model load here)."""
    return OnnxEmbedder(settings)


@hookimpl
def memory_register_embedder(register: Callable[..., None]) -> None:
    register(NAME, create_embedder)


def _configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--output", help="directory to write (default: MCP_MEMORY_ONNX_PATH, else "
                                         "<data dir>/onnx/<model>, where the onnx embedder looks)")
    parser.add_argument("--model", help="sentence-transformers model: all-MiniLM-L6-v2 (default, bundled) or a "
                                        "local model directory (default: MCP_MEMORY_EMBEDDING_MODEL)")
    parser.add_argument("--force", action="store_true", help="replace an existing export")


def _run(args: argparse.Namespace, settings: Any) -> int:
    from .export import export

    model = args.model or getattr(settings, "embedding_model", None) or DEFAULT_MODEL
    output = Path(args.output) if args.output else resolve(settings.with_changes(embedding_model=model))[0]
    done = export(output, model, force=args.force)
    print(f"exported {model} to {done}; use it with MCP_MEMORY_EMBEDDER=onnx"
          + (f" MCP_MEMORY_ONNX_PATH={done}" if args.output else ""))
    return 0


@hookimpl
def memory_register_cli(register: Callable[..., None]) -> None:
    register("onnx-export", "export the embedding model to ONNX for the onnx embedder (needs torch once)",
             _configure, _run)
