"""Pruning variants: unstructured magnitude sparsity and structured layer removal."""

from __future__ import annotations

from typing import Any

from harness.backends.shared_transformers.quantize import quantizable_linears
from harness.core.errors import UserError
from harness.core.perf_names import PerfName
from harness.variants.facts import Measure, TransformFacts


def magnitude_prune(backend: Any, sparsity: Any) -> TransformFacts:
    """Zero the smallest-|w| fraction of each Linear's weights (layer-wise), the output head
    and embeddings excluded. Dense kernels still run, so speed is unchanged; the record
    reports the effective (non-zero) parameter count."""
    import torch

    if not 0.0 <= float(sparsity) < 1.0:
        raise UserError(f"knob 'sparsity' = {sparsity}: expected a fraction in [0, 1)")
    zeroed = 0
    with torch.no_grad():
        for _, module in quantizable_linears(backend.model):
            weight = module.weight
            k = int(weight.numel() * float(sparsity))
            if k == 0:
                continue
            threshold = weight.abs().flatten().float().kthvalue(k).values
            mask = weight.abs().float() <= threshold
            weight.masked_fill_(mask, 0.0)
            zeroed += int(mask.sum())
    total = sum(p.numel() for p in backend.model.parameters())
    return TransformFacts.of(
        Measure(PerfName.N_PARAMS_EFFECTIVE, total - zeroed, "params"),
        Measure(PerfName.SPARSITY, float(sparsity), "fraction"),
    )


def _decoder_layers(model: Any) -> tuple[Any, str]:
    base = getattr(model, "model", None)
    layers = getattr(base, "layers", None)
    if layers is None:
        raise UserError(
            f"layer knobs need a decoder with model.layers; {type(model).__name__} has none"
        )
    return base, "layers"


def keep_layers(model: Any, keep: list[int]) -> TransformFacts:
    """Keep the given decoder layers, renumbered so the KV cache indexes them densely."""
    import torch

    base, attr = _decoder_layers(model)
    layers = getattr(base, attr)
    kept = torch.nn.ModuleList([layers[i] for i in keep])
    for index, layer in enumerate(kept):
        attention = getattr(layer, "self_attn", None)
        if attention is not None and hasattr(attention, "layer_idx"):
            attention.layer_idx = index
    setattr(base, attr, kept)
    config = model.config
    types = getattr(config, "layer_types", None)
    if types is not None:
        config.layer_types = [types[i] for i in keep]
    original = config.num_hidden_layers
    config.num_hidden_layers = len(keep)
    return TransformFacts.of(
        Measure(PerfName.LAYERS_KEPT, len(keep), "layers"),
        Measure(PerfName.LAYERS_ORIGINAL, original, "layers"),
        Measure(PerfName.N_PARAMS_EFFECTIVE, sum(p.numel() for p in model.parameters()), "params"),
    )


def truncate(backend: Any, k: Any) -> TransformFacts:
    """`layers: k` keeps the first k decoder layers."""
    n = backend.model.config.num_hidden_layers
    if not 1 <= int(k) <= n:
        raise UserError(f"knob 'layers' = {k}: the model has {n} decoder layers")
    return keep_layers(backend.model, list(range(int(k))))


def drop_middle(backend: Any, count: Any) -> TransformFacts:
    """`drop_middle: n` removes n consecutive layers centred in the stack, keeping the first
    and last layers that matter most for input and output."""
    n = backend.model.config.num_hidden_layers
    if not 0 <= int(count) <= n - 2:
        raise UserError(f"knob 'drop_middle' = {count}: can drop at most {n - 2} of {n} layers")
    start = (n - int(count)) // 2
    dropped = set(range(start, start + int(count)))
    return keep_layers(backend.model, [i for i in range(n) if i not in dropped])
