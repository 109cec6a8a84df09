"""The ONNX graph of a BERT sentence encoder, written from its weights: tokens in, pooled vector out.

Inputs ``input_ids`` and ``attention_mask`` (int64, batch x tokens, padding on the right); output
``sentence_embedding`` (float32, batch x hidden): the mean of the last hidden states over the real tokens,
L2-normalised, as sentence-transformers computes with Transformer + mean Pooling + Normalize.

Each part is written either with standard ONNX ops (opset 17, for any ONNX runtime) or with one of
onnxruntime's CPU contrib ops (com.microsoft), chosen by name in ``fused``: ``embed_ln``
(EmbedLayerNormalization), ``attention`` (Attention), ``skip_ln`` (SkipLayerNormalization), ``bias_gelu``
(BiasGelu). ``DEFAULT_FUSED`` is what measured fastest on CPU.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from mcp_memory.errors import InvalidInputError

OPSET = 17
MS_DOMAIN = "com.microsoft"
OUTPUT = "sentence_embedding"
FUSIONS = frozenset({"embed_ln", "attention", "skip_ln", "bias_gelu"})
#: measured on 2 AMD EPYC cores (onnxruntime 1.32): Attention and BiasGelu save about 3% CPU over standard ops;
#: EmbedLayerNormalization makes onnxruntime fuse Add + LayerNormalization into SkipLayerNormalization, whose CPU
#: kernel took 3x their time (13% of the model instead of 4%), so neither is used by default
DEFAULT_FUSED = frozenset({"attention", "bias_gelu"})
NOT_BERT_FIX = "use the sentence_transformers embedder for it (MCP_MEMORY_EMBEDDER=sentence_transformers)"


@dataclass(frozen=True)
class BertConfig:
    """The few numbers of a Hugging Face ``config.json`` that shape the graph."""

    hidden_size: int
    num_heads: int
    num_layers: int
    intermediate_size: int
    layer_norm_eps: float

    @classmethod
    def from_json(cls, config: dict[str, Any], where: str) -> BertConfig:
        """Check that ``config`` describes a plain BERT encoder; a clear error names the fix otherwise."""
        kind = config.get("model_type")
        if kind != "bert":
            raise InvalidInputError(f"{where}: model_type {kind!r} is not BERT; the onnx builder only writes BERT "
                                    f"encoders (model_type 'bert'): {NOT_BERT_FIX}")
        checks = {"hidden_act": ("gelu",), "position_embedding_type": ("absolute", None)}
        for key, allowed in checks.items():
            if config.get(key) not in allowed:
                raise InvalidInputError(f"{where}: {key} {config.get(key)!r} is not supported by the onnx builder "
                                        f"(only {allowed[0]!r}): {NOT_BERT_FIX}")
        try:
            made = cls(int(config["hidden_size"]), int(config["num_attention_heads"]),
                       int(config["num_hidden_layers"]), int(config["intermediate_size"]),
                       float(config.get("layer_norm_eps", 1e-12)))
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidInputError(f"{where}: config.json lacks a BERT setting ({exc})") from None
        if made.hidden_size % made.num_heads:
            raise InvalidInputError(f"{where}: hidden_size {made.hidden_size} is not a multiple of "
                                    f"num_attention_heads {made.num_heads}")
        return made


class Weights:
    """The encoder's tensors by their ``BertModel`` names, whatever prefix the checkpoint used (``bert.``)."""

    ANCHOR = "embeddings.word_embeddings.weight"

    def __init__(self, tensors: dict[str, Any], where: str):
        anchors = [k for k in tensors if k == self.ANCHOR or k.endswith("." + self.ANCHOR)]
        if len(anchors) != 1:
            raise InvalidInputError(f"{where}: the weights have no single '{self.ANCHOR}' tensor, so this is not a "
                                    f"BERT checkpoint: {NOT_BERT_FIX}")
        self.prefix = anchors[0][: -len(self.ANCHOR)]
        self.tensors = tensors
        self.where = where

    def __call__(self, name: str) -> Any:
        import numpy as np

        try:
            return np.ascontiguousarray(self.tensors[self.prefix + name], dtype=np.float32)
        except KeyError:
            raise InvalidInputError(f"{self.where}: the weights lack '{self.prefix + name}' (not a BERT "
                                    f"checkpoint, or too few layers for its config.json): {NOT_BERT_FIX}") from None


class _Graph:
    """Collects nodes and initializers with unique names."""

    def __init__(self) -> None:
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []
        self._count = 0

    def const(self, name: str, array: Any) -> str:
        from onnx import numpy_helper

        self.initializers.append(numpy_helper.from_array(array, name))
        return name

    def op(self, op_type: str, inputs: list[str], outputs: int = 1, domain: str = "", **attrs: Any) -> Any:
        from onnx import helper

        self._count += 1
        names = [f"{op_type.lower()}_{self._count}" + (f"_{i}" if i else "") for i in range(outputs)]
        self.nodes.append(helper.make_node(op_type, inputs, names, name=f"{op_type}_{self._count}", domain=domain,
                                           **attrs))
        return names[0] if outputs == 1 else names


def build_bert(config: BertConfig, weights: Weights, fused: Iterable[str] | bool = True,
               metadata: dict[str, str] | None = None) -> Any:
    """The ``onnx.ModelProto`` of the encoder with mean pooling and L2 normalisation.

    ``fused``: the contrib ops to use (names in ``FUSIONS``); True for ``DEFAULT_FUSED``, False for none.
    """
    import numpy as np
    from onnx import TensorProto, helper

    ops = DEFAULT_FUSED if fused is True else frozenset() if fused is False else frozenset(fused)
    if ops - FUSIONS:
        raise ValueError(f"unknown fusions {sorted(ops - FUSIONS)}; known: {sorted(FUSIONS)}")
    g = _Graph()
    hidden, lengths = (_fused_embeddings if "embed_ln" in ops else _plain_embeddings)(g, config, weights)
    mask_f = g.op("Cast", ["attention_mask"], to=TensorProto.FLOAT)
    if "attention" in ops:
        mask = lengths or g.op("ReduceSum", [g.op("Cast", ["attention_mask"], to=TensorProto.INT32),
                                             g.const("axis_tokens_1d", np.array([1], dtype=np.int64))], keepdims=0)
    else:  # additive bias: 0 on real tokens, -10000 on padding, shaped (batch, 1, 1, tokens) for the scores
        bias = g.op("Mul", [g.op("Sub", [g.const("one_f", np.array(1.0, dtype=np.float32)), mask_f]),
                            g.const("mask_filter", np.array(-10000.0, dtype=np.float32))])
        mask = g.op("Unsqueeze", [bias, g.const("axes_1_2", np.array([1, 2], dtype=np.int64))])
    for i in range(config.num_layers):
        hidden = _layer(g, config, weights, ops, f"encoder.layer.{i}.", hidden, mask)
    # mean over the real tokens, then L2 normalisation (clamped as sentence-transformers does)
    mask3 = g.op("Unsqueeze", [mask_f, g.const("axis_last", np.array([-1], dtype=np.int64))])
    axis1 = g.const("axis_tokens", np.array([1], dtype=np.int64))
    total = g.op("ReduceSum", [g.op("Mul", [hidden, mask3]), axis1], keepdims=0)
    count = g.op("ReduceSum", [mask3, axis1], keepdims=0)
    count = g.op("Max", [count, g.const("min_count", np.array(1e-9, dtype=np.float32))])
    mean = g.op("Div", [total, count])
    norm = g.op("Sqrt", [g.op("ReduceSumSquare", [mean], axes=[1], keepdims=1)])  # axes an attribute until opset 18
    norm = g.op("Max", [norm, g.const("min_norm", np.array(1e-12, dtype=np.float32))])
    g.nodes.append(helper.make_node("Div", [mean, norm], [OUTPUT], name="normalize"))

    dims = ["batch", "tokens"]
    graph = helper.make_graph(
        g.nodes, "sentence_encoder",
        [helper.make_tensor_value_info("input_ids", TensorProto.INT64, dims),
         helper.make_tensor_value_info("attention_mask", TensorProto.INT64, dims)],
        [helper.make_tensor_value_info(OUTPUT, TensorProto.FLOAT, ["batch", config.hidden_size])],
        g.initializers)
    opsets = [helper.make_opsetid("", OPSET)] + ([helper.make_opsetid(MS_DOMAIN, 1)] if ops else [])
    model = helper.make_model(graph, opset_imports=opsets, producer_name="mcp-memory-onnx")
    model.ir_version = 8
    helper.set_model_props(model, metadata or {})
    return model


# -- embeddings ----------------------------------------------------------------------------------------------
def _position_table(weights: Weights) -> Any:
    """Position embeddings with token type 0 folded in: a single sentence never has another token type."""
    return weights("embeddings.position_embeddings.weight") + weights("embeddings.token_type_embeddings.weight")[0]


def _fused_embeddings(g: _Graph, config: BertConfig, w: Weights) -> tuple[str, str | None]:
    """(hidden states, per-row lengths) from EmbedLayerNormalization."""
    from onnx import TensorProto

    ids = g.op("Cast", ["input_ids"], to=TensorProto.INT32)
    mask = g.op("Cast", ["attention_mask"], to=TensorProto.INT32)
    hidden, lengths = g.op(
        "EmbedLayerNormalization",
        [ids, "", g.const("word_embeddings", w("embeddings.word_embeddings.weight")),
         g.const("position_embeddings", _position_table(w)), "",
         g.const("embeddings_ln_gamma", w("embeddings.LayerNorm.weight")),
         g.const("embeddings_ln_beta", w("embeddings.LayerNorm.bias")), mask],
        outputs=2, domain=MS_DOMAIN, epsilon=config.layer_norm_eps)
    return hidden, lengths


def _plain_embeddings(g: _Graph, config: BertConfig, w: Weights) -> tuple[str, str | None]:
    import numpy as np

    words = g.op("Gather", [g.const("word_embeddings", w("embeddings.word_embeddings.weight")), "input_ids"])
    positions = g.const("position_embeddings", _position_table(w))
    width = g.op("Gather", [g.op("Shape", ["input_ids"]), g.const("one", np.array(1, dtype=np.int64))])
    used = g.op("Slice", [positions, g.const("zero_1d", np.array([0], dtype=np.int64)),
                          g.op("Unsqueeze", [width, g.const("axis0", np.array([0], dtype=np.int64))])])
    hidden = g.op("LayerNormalization", [g.op("Add", [words, used]),
                                         g.const("embeddings_ln_gamma", w("embeddings.LayerNorm.weight")),
                                         g.const("embeddings_ln_beta", w("embeddings.LayerNorm.bias"))],
                  axis=-1, epsilon=config.layer_norm_eps)
    return hidden, None


# -- one encoder layer ---------------------------------------------------------------------------------------
def _layer(g: _Graph, config: BertConfig, w: Weights, ops: frozenset[str], p: str, x: str, mask: str) -> str:
    import numpy as np

    name = p.replace("encoder.layer.", "l").rstrip(".")
    parts = ("query", "key", "value")  # packed side by side: one product for the three projections
    qkv_w = g.const(f"{name}_qkv_w", np.ascontiguousarray(
        np.concatenate([w(f"{p}attention.self.{n}.weight").T for n in parts], axis=1)))
    qkv_b = g.const(f"{name}_qkv_b", np.concatenate([w(f"{p}attention.self.{n}.bias") for n in parts]))
    if "attention" in ops:
        context = g.op("Attention", [x, qkv_w, qkv_b, mask], domain=MS_DOMAIN, num_heads=config.num_heads)
    else:
        context = _plain_attention(g, config, name, g.op("Add", [g.op("MatMul", [x, qkv_w]), qkv_b]), mask)
    x = _dense_residual_ln(g, config, w, ops, f"{p}attention.output.", f"{name}_attn", context, x)
    inner = g.op("MatMul", [x, g.const(f"{name}_ffn_in_w", np.ascontiguousarray(w(f"{p}intermediate.dense.weight").T))])
    bias = g.const(f"{name}_ffn_in_b", w(f"{p}intermediate.dense.bias"))
    if "bias_gelu" in ops:
        gelu = g.op("BiasGelu", [inner, bias], domain=MS_DOMAIN)
    else:  # x * 0.5 * (1 + erf(x / sqrt 2)), the form onnxruntime recognises
        inner = g.op("Add", [inner, bias])
        erf = g.op("Erf", [g.op("Div", [inner, g.const(f"{name}_sqrt2", np.array(2 ** 0.5, dtype=np.float32))])])
        gelu = g.op("Mul", [g.op("Mul", [inner, g.op("Add", [erf, g.const(f"{name}_one", np.array(1.0, np.float32))])]),
                            g.const(f"{name}_half", np.array(0.5, dtype=np.float32))])
    return _dense_residual_ln(g, config, w, ops, f"{p}output.", f"{name}_ffn", gelu, x)


def _plain_attention(g: _Graph, config: BertConfig, name: str, qkv: str, bias: str) -> str:
    """Scaled dot-product attention over 12 (or n) heads, from the packed projections."""
    import numpy as np

    heads, size = config.num_heads, config.hidden_size // config.num_heads
    # (batch, tokens, 3, heads, size) -> (3, batch, heads, tokens, size)
    qkv = g.op("Reshape", [qkv, g.const(f"{name}_qkv_shape", np.array([0, 0, 3, heads, size], dtype=np.int64))])
    qkv = g.op("Transpose", [qkv], perm=[2, 0, 3, 1, 4])
    q, k, v = (g.op("Squeeze", [part, g.const(f"{name}_axis0_{i}", np.array([0], dtype=np.int64))])
               for i, part in enumerate(g.op("Split", [qkv], outputs=3, axis=0)))
    scores = g.op("MatMul", [q, g.op("Transpose", [k], perm=[0, 1, 3, 2])])
    scores = g.op("Add", [g.op("Mul", [scores, g.const(f"{name}_scale", np.array(size ** -0.5, dtype=np.float32))]),
                          bias])
    context = g.op("MatMul", [g.op("Softmax", [scores], axis=-1), v])
    return g.op("Reshape", [g.op("Transpose", [context], perm=[0, 2, 1, 3]),
                            g.const(f"{name}_ctx_shape", np.array([0, 0, config.hidden_size], dtype=np.int64))])


def _dense_residual_ln(g: _Graph, config: BertConfig, w: Weights, ops: frozenset[str], p: str, name: str,
                       value: str, residual: str) -> str:
    """LayerNorm(value @ W + b + residual)."""
    import numpy as np

    dense = g.op("MatMul", [value, g.const(f"{name}_out_w", np.ascontiguousarray(w(f"{p}dense.weight").T))])
    bias = g.const(f"{name}_out_b", w(f"{p}dense.bias"))
    gamma = g.const(f"{name}_ln_gamma", w(f"{p}LayerNorm.weight"))
    beta = g.const(f"{name}_ln_beta", w(f"{p}LayerNorm.bias"))
    if "skip_ln" in ops:
        return g.op("SkipLayerNormalization", [dense, residual, gamma, beta, bias], domain=MS_DOMAIN,
                    epsilon=config.layer_norm_eps)
    return g.op("LayerNormalization", [g.op("Add", [g.op("Add", [dense, bias]), residual]), gamma, beta],
                axis=-1, epsilon=config.layer_norm_eps)
