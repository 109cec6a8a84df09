"""The settings of the onnx embedder: where its model is, and whether to run the int8 copy."""

from __future__ import annotations

from mcp_memory.config import Setting, as_choice, as_optional_path

QUANTIZE_VALUES = ("none", "int8")

ONNX_SETTINGS: tuple[Setting, ...] = (
    Setting("MCP_MEMORY_ONNX_PATH", "the onnx embedder's model directory (built there when empty) or a .onnx file "
            "(used as is); default <data dir>/onnx/<model>", None, as_optional_path),
    Setting("MCP_MEMORY_ONNX_QUANTIZE", "int8: run model.int8.onnx, dynamically quantized on first use (about 1.5x "
            "faster, recall@10 0.012 lower on LoCoMo); none: float32, the same vectors as sentence-transformers",
            "none", as_choice(*QUANTIZE_VALUES)),
)
