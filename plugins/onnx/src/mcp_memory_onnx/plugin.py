"""Entry point of the ``onnx`` plugin: the ``onnx`` embedder (the default, priority 100), its settings and the
``memory onnx-export`` command.

Importing this module is cheap (every ``memory`` process imports it): the embedder module loads when an embedder
is made, onnxruntime on the first embed, onnx only when a model is built.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from mcp_memory import hookimpl
from mcp_memory.config import Setting, Settings
from mcp_memory.registration import Command, EmbedderBackend

from .settings import ONNX_SETTINGS, QUANTIZE_VALUES

if TYPE_CHECKING:
    from .embedder import OnnxEmbedder

NAME = "onnx"
PRIORITY = 100


def create_embedder(settings: Settings) -> OnnxEmbedder:
    """Factory called by the core with the ``Settings`` in force (no model load here)."""
    from .embedder import OnnxEmbedder

    return OnnxEmbedder(settings)


@hookimpl
def memory_register_embedder(register: Callable[[EmbedderBackend], None]) -> None:
    register(EmbedderBackend(name=NAME, factory=create_embedder, priority=PRIORITY,
                             description="all-MiniLM-L6-v2 (or a local BERT model) on ONNX Runtime, no torch"))


@hookimpl
def memory_settings() -> Sequence[Setting]:
    return ONNX_SETTINGS


def _configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--output", help="directory to write (default: MCP_MEMORY_ONNX_PATH, else "
                                         "<data dir>/onnx/<model>, where the onnx embedder looks)")
    parser.add_argument("--model", help="sentence-transformers model: all-MiniLM-L6-v2 (default, bundled) or a "
                                        "local BERT model directory (default: MCP_MEMORY_EMBEDDING_MODEL)")
    parser.add_argument("--force", action="store_true", help="build again even if a current build is there, and "
                                                             "replace another model")
    parser.add_argument("--quantize", choices=QUANTIZE_VALUES,
                        help="also write model.int8.onnx with int8 (default: MCP_MEMORY_ONNX_QUANTIZE, else none)")
    parser.add_argument("--quiet", action="store_true", help="print nothing when the model is already built")


def _run(args: argparse.Namespace, settings: Settings) -> int:
    from .build import export
    from .model_dir import DEFAULT_MODEL, quantize_setting, resolve

    model = args.model or settings.embedding_model or DEFAULT_MODEL
    output = Path(args.output) if args.output else resolve(settings.with_changes(embedding_model=model)).directory
    quantize = args.quantize or quantize_setting(settings)
    started = time.perf_counter()
    done, built = export(output, model, force=args.force, quantize=quantize)
    if not built and args.quiet:
        return 0
    what = f"built {model} into {done} in {time.perf_counter() - started:.1f} s" if built else \
        f"{done} already holds a current build of {model}"
    print(f"{what}{' (with model.int8.onnx)' if quantize == 'int8' else ''}"
          + (f"; use it with MCP_MEMORY_ONNX_PATH={done}" if args.output else ""))
    return 0


@hookimpl
def memory_register_cli(register: Callable[[Command], None]) -> None:
    register(Command(name="onnx-export", help="build the ONNX embedding model from the bundled weights (no torch), "
                                              "once; the onnx embedder otherwise builds it on first use",
                     configure=_configure, run=_run))
