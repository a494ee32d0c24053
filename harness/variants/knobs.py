"""The model-transform knobs: quantization, pruning, layer truncation. The engines that can
apply them declare them in their options and apply them (`Backend.apply_transform`)."""

from __future__ import annotations

from harness.variants.base import BITS_PER_WEIGHT, N_PARAMS, SPARSITY, knob

# `order` fixes the sequence: an adapter onto the model it was trained on, then structure,
# then sparsity, then quantization of what is left.
knob("adapter", "a LoRA (peft) adapter folder, merged into the weights", "transform", order=0)
knob(
    "layers", "keep the first k decoder layers", "transform", order=1, unit="layers", axis=N_PARAMS
)
knob(
    "drop_middle",
    "remove n decoder layers from the middle",
    "transform",
    order=2,
    unit="layers",
    axis=N_PARAMS,
)
knob(
    "sparsity",
    "unstructured magnitude pruning of Linear weights",
    "transform",
    order=3,
    unit="fraction",
    axis=SPARSITY,
)
knob(
    "quant",
    "weight quantization: GGUF round-trip, torch int8, bitsandbytes (hf); llama.cpp levels",
    "transform",
    order=4,
    axis=BITS_PER_WEIGHT,
)
