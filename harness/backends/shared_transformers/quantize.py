"""Weight quantization variants.

* GGUF round-trips (`quant: q4_0`, ...): every Linear weight except the output head goes
  through gguf-py's quantizer and back. The model still runs in floats, so this measures the
  *quality* cost of a bit width exactly as llama.cpp would store it; the speed is not that of
  a quantized kernel, and the record says so.
* `quant: int8_dynamic`: torch's dynamic int8 quantization of the Linear layers, with real int8
  kernels on CPU, so both quality and speed are measured.
* `quant: bnb_int8` / `bnb_nf4`: bitsandbytes, applied at load time, CUDA only.
"""

from __future__ import annotations

import warnings
from typing import Any

from harness.core.errors import UserError
from harness.core.perf_names import PerfName
from harness.core.perf_specs import Kernels
from harness.variants.facts import KernelsUsed, Measure, Note, TransformFacts

GGUF_TYPES = ("q8_0", "q5_1", "q5_0", "q4_1", "q4_0", "mxfp4", "tq2_0", "tq1_0")
TORCH_TYPES = ("int8_dynamic",)
BNB_TYPES = ("bnb_int8", "bnb_nf4")
ALL_TYPES = (*GGUF_TYPES, *TORCH_TYPES, *BNB_TYPES)


def quantizable_linears(model: Any) -> list[tuple[str, Any]]:
    """Every nn.Linear except the output head (kept in full precision, as llama.cpp's
    mixed recipes and most int8 schemes do)."""
    import torch

    head = model.get_output_embeddings()
    return [
        (name, module)
        for name, module in model.named_modules()
        if isinstance(module, torch.nn.Linear) and module is not head
    ]


def gguf_round_trip(model: Any, kind: str) -> tuple[int, float, str]:
    import numpy as np
    import torch
    from gguf import quants
    from gguf.constants import GGML_QUANT_SIZES, GGMLQuantizationType

    qtype = GGMLQuantizationType[kind.upper()]
    block, type_size = GGML_QUANT_SIZES[qtype]
    quantized = 0
    for name, module in quantizable_linears(model):
        weight = module.weight.data
        if weight.shape[-1] % block:
            raise UserError(
                f"quant '{kind}': layer {name} has {weight.shape[-1]} input features, "
                f"not a multiple of the {block}-weight block"
            )
        array = weight.float().cpu().numpy().astype(np.float32)
        restored = quants.dequantize(quants.quantize(array, qtype), qtype)
        module.weight.data = torch.from_numpy(restored.copy()).to(weight.dtype).to(weight.device)
        quantized += weight.numel()
    note = (
        "simulated: gguf-py round-trip, weights dequantized back to floats; measures the "
        "quality of this bit width, not its speed or memory (those are the float model's)"
    )
    return quantized, type_size * 8 / block, note


def torch_int8_dynamic(model: Any) -> tuple[int, float, str]:
    import torch

    if next(model.parameters()).device.type != "cpu":
        raise UserError("quant 'int8_dynamic' runs on CPU only; set device: cpu")
    count = sum(m.weight.numel() for _, m in quantizable_linears(model))
    names = {name for name, _ in quantizable_linears(model)}
    qconfig = torch.ao.quantization.default_dynamic_qconfig
    spec = {name: qconfig for name in names}
    quantize_dynamic: Any = torch.ao.quantization.quantize_dynamic
    with warnings.catch_warnings():  # torch.ao is deprecated in favour of torchao; still works
        warnings.simplefilter("ignore")
        quantize_dynamic(model, spec, dtype=torch.qint8, inplace=True)
    return count, 8.0, "torch dynamic int8: int8 weights and int8 matmul kernels"


def _bits_summary(
    total: int, dtype_bits: int, quantized: int, bits: float, note: str, kernels: Kernels
) -> TransformFacts:
    stored = (quantized * bits + (total - quantized) * dtype_bits) / 8
    return TransformFacts.of(
        Measure(PerfName.BITS_PER_WEIGHT, bits, "bits"),
        Measure(PerfName.MEAN_BITS_PER_PARAMETER, 8 * stored / max(total, 1), "bits"),
        Measure(PerfName.WEIGHT_BYTES_QUANTIZED, stored, "B"),
        Note("quant_note", note),
        KernelsUsed(kernels),
    )


def hf_quant_check(value: object) -> str | None:
    """The hf backend's levels; a llama.cpp-only level points at the llamacpp backend."""
    if value in ALL_TYPES:
        return None
    return (
        f"not a level of the hf backend (expected one of {', '.join(ALL_TYPES)}); "
        "llama.cpp's own levels need the model's backend: llamacpp"
    )


def apply_quant(backend: Any, kind: str) -> TransformFacts:
    from harness.hardware.params import count_params, logical_numel

    model = backend.model
    total = count_params(model.parameters())
    dtype_bits = next(model.parameters()).element_size() * 8
    if kind in GGUF_TYPES:
        quantized, bits, note = gguf_round_trip(model, kind)
    elif kind in TORCH_TYPES:
        quantized, bits, note = torch_int8_dynamic(model)
    elif getattr(model, "is_loaded_in_8bit", False) or getattr(model, "is_loaded_in_4bit", False):
        quantized = sum(logical_numel(m.weight) for _, m in quantizable_linears(model))
        bits, note = (8.0 if kind == "bnb_int8" else 4.0), f"bitsandbytes {kind}, applied at load"
        dtype_bits = 16
    else:
        raise UserError(f"quant '{kind}' is applied at load time and needs CUDA and bitsandbytes")
    # a gguf-py round-trip runs float kernels: the report must not rank it on speed
    kernels = Kernels.SIMULATED if kind in GGUF_TYPES else Kernels.REAL
    return _bits_summary(total, dtype_bits, quantized, bits, note, kernels)


def bnb_config(kind: str) -> Any:
    """The BitsAndBytesConfig for a `bnb_*` quant knob, or a clear error when unavailable."""
    import importlib.util

    import torch

    if not torch.cuda.is_available() or importlib.util.find_spec("bitsandbytes") is None:
        raise UserError(f"quant '{kind}' needs a CUDA device and the bitsandbytes package")
    from transformers import BitsAndBytesConfig

    config: Any = BitsAndBytesConfig
    if kind == "bnb_int8":
        return config(load_in_8bit=True)
    return config(
        load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_compute_dtype=torch.bfloat16
    )
