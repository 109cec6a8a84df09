"""Entry point of the ``onnx`` plugin: the ``onnx`` embedder and the ``memory onnx-export`` command.

Importing this module is cheap: onnxruntime loads on the first embed, onnx only when a model is built.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any, Callable

from mcp_memory import hookimpl

from .embedder import OnnxEmbedder
from .model_dir import DEFAULT_MODEL, QUANTIZE_VALUES, quantize_setting, resolve

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
                                        "local BERT model directory (default: MCP_MEMORY_EMBEDDING_MODEL)")
    parser.add_argument("--force", action="store_true", help="build again even if a current build is there, and "
                                                             "replace another model")
    parser.add_argument("--quantize", choices=QUANTIZE_VALUES,
                        help="also write model.int8.onnx with int8 (default: MCP_MEMORY_ONNX_QUANTIZE, else none)")


def _run(args: argparse.Namespace, settings: Any) -> int:
    from .build import export

    model = args.model or getattr(settings, "embedding_model", None) or DEFAULT_MODEL
    output = Path(args.output) if args.output else resolve(settings.with_changes(embedding_model=model)).directory
    quantize = args.quantize or quantize_setting()
    started = time.perf_counter()
    done, built = export(output, model, force=args.force, quantize=quantize)
    what = f"built {model} into {done} in {time.perf_counter() - started:.1f} s" if built else \
        f"{done} already holds a current build of {model}"
    print(f"{what}{' (with model.int8.onnx)' if quantize == 'int8' else ''}; use it with MCP_MEMORY_EMBEDDER=onnx"
          + (f" MCP_MEMORY_ONNX_PATH={done}" if args.output else ""))
    return 0


@hookimpl
def memory_register_cli(register: Callable[..., None]) -> None:
    register("onnx-export", "build the ONNX embedding model from the bundled weights (no torch), once",
             _configure, _run)
