"""A model's shapes, read from its weights' metadata rather than from a torch module, so that
every engine gets a roofline: a transformers config, a GGUF file's metadata and tensor table
(llama.cpp, and a served model launched from a local GGUF), or a loaded torch module.

What the roofline needs: the Linear weights a token runs through (the output head apart, since
scoring runs it only on scored positions), the attention width and each layer's window for the
attention FLOPs, and the KV-cache bytes per token that decode reads beside the weights.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# llama.cpp keeps its KV cache in f16 unless told otherwise (type_k / type_v).
LLAMACPP_KV_BYTES = 2.0
DTYPE_BYTES = {"float32": 4.0, "bfloat16": 2.0, "float16": 2.0}


@dataclass(frozen=True)
class ModelShape:
    layers: int
    attention_width: int  # heads x head_dim: the width of Q.K^T and A.V
    kv_width: int  # kv_heads x head_dim: what one layer caches per token, for K and for V
    body_params: int  # Linear weights a token runs through, output head excluded
    head_params: int  # the output head's weights (vocab x hidden)
    windows: tuple[int | None, ...]  # keys each layer's queries may see (None: all)
    kv_bytes_per_element: float
    source: str  # where the shapes were read (the record's note says so)

    def layer_windows(self, context: int) -> list[int]:
        return [context if w is None else min(w, context) for w in self.windows]

    @property
    def kv_bytes_per_token(self) -> float:
        """K and V of every layer for one cached token."""
        return 2.0 * self.layers * self.kv_width * self.kv_bytes_per_element


def causal_pairs(n: int, window: int) -> int:
    """Query-key pairs of causal attention over n tokens when each query sees <= window keys."""
    w = min(n, window)
    return w * (w + 1) // 2 + (n - w) * w


def attention_flops(
    shape: ModelShape, lengths: Sequence[int], context: int, causal: bool = True
) -> float:
    """4 x (heads x head_dim) x pairs: 2 FLOPs per multiply-add, for scores and for values.
    An encoder's tokens attend both ways: n x n pairs per request, not n (n + 1) / 2."""
    windows = shape.layer_windows(context)
    if causal:
        pairs = sum(causal_pairs(n, w) for w in windows for n in lengths)
    else:
        pairs = sum(n * min(n, w) for w in windows for n in lengths)
    return 4.0 * shape.attention_width * pairs


def config_windows(config: Any) -> tuple[int | None, ...]:
    """Each layer's sliding window (None: full attention) from a transformers config."""
    layers = int(getattr(config, "num_hidden_layers", 0) or 0)
    window = int(getattr(config, "sliding_window", 0) or 0)
    types = getattr(config, "layer_types", None)
    out: list[int | None] = []
    for index in range(layers):
        sliding = window > 0 and (
            types[index] == "sliding_attention"
            if types
            else getattr(config, "use_sliding_window", True)
        )
        out.append(window if sliding else None)
    return tuple(out)


def config_widths(config: Any) -> tuple[int, int]:
    """(heads x head_dim, kv_heads x head_dim); head_dim is not hidden / heads for models
    with an explicit one (Gemma-3-270M: 4 x 256 = 1024 against a hidden size of 640)."""
    heads = int(getattr(config, "num_attention_heads", 0) or 0)
    hidden = int(getattr(config, "hidden_size", 0) or 0)
    head_dim = int(getattr(config, "head_dim", 0) or (hidden // heads if heads else 0))
    kv_heads = int(getattr(config, "num_key_value_heads", 0) or heads)
    return heads * head_dim, kv_heads * head_dim


def torch_shape(model: Any, dtype: str) -> ModelShape:
    """From a loaded transformers module: its Linear weights as they are after transforms
    (pruned, truncated, quantized layers counted by their logical shape)."""
    from harness.hardware.params import head_weights, linear_weights

    config = model.config
    width, kv_width = config_widths(config)
    head = head_weights(model)
    return ModelShape(
        layers=int(getattr(config, "num_hidden_layers", 0) or 0),
        attention_width=width,
        kv_width=kv_width,
        body_params=linear_weights(model) - head,
        head_params=head,
        windows=config_windows(config),
        kv_bytes_per_element=DTYPE_BYTES.get(dtype, 4.0),
        source="the loaded torch modules",
    )


def _field(reader: Any, key: str) -> Any:
    found = reader.fields.get(key)
    return None if found is None else found.contents()


def gguf_shape(path: Path) -> ModelShape | None:
    """From a GGUF file's metadata and tensor table: every 2-D tensor of a block is a Linear
    weight; `output.weight` (or the tied token embedding) is the head. None when the file
    holds no transformer blocks the metadata describes."""
    from gguf import GGUFReader

    reader = GGUFReader(str(path))
    arch = _field(reader, "general.architecture")
    layers = _field(reader, f"{arch}.block_count")
    heads = _field(reader, f"{arch}.attention.head_count")
    if not arch or not layers or not heads:
        return None
    heads = max(heads) if isinstance(heads, list) else int(heads)  # per-layer lists exist
    kv_heads = _field(reader, f"{arch}.attention.head_count_kv") or heads
    kv_heads = max(kv_heads) if isinstance(kv_heads, list) else int(kv_heads)
    hidden = int(_field(reader, f"{arch}.embedding_length") or 0)
    head_dim = int(_field(reader, f"{arch}.attention.key_length") or hidden // heads)
    window = _field(reader, f"{arch}.attention.sliding_window")
    tensors = {t.name: int(t.n_elements) for t in reader.tensors}
    body = sum(
        int(t.n_elements) for t in reader.tensors if t.name.startswith("blk.") and len(t.shape) == 2
    )
    head = tensors.get("output.weight", tensors.get("token_embd.weight", 0))
    return ModelShape(
        layers=int(layers),
        attention_width=heads * head_dim,
        kv_width=kv_heads * head_dim,
        body_params=body,
        head_params=head,
        # A sliding window is applied to every layer: GGUF metadata does not say which
        # layers are global, so long-context attention FLOPs are a lower bound there.
        windows=tuple(int(window) if window else None for _ in range(int(layers))),
        kv_bytes_per_element=LLAMACPP_KV_BYTES,
        source="GGUF metadata and tensor table",
    )
