"""The llama.cpp quantization levels a `llamacpp` model's `quant` knob accepts.

Each maps to the llama.cpp file type (`LLAMA_FTYPE_<name>`) its quantizer writes. Kept free of
imports so knob validation needs neither llama-cpp-python nor gguf. The i-quants that need an
importance matrix (iq1/iq2/iq3) are left out: the ladder is built without calibration data.
"""

from __future__ import annotations

LLAMACPP_LEVELS: dict[str, str] = {
    "f32": "ALL_F32",
    "f16": "MOSTLY_F16",
    "bf16": "MOSTLY_BF16",
    "q8_0": "MOSTLY_Q8_0",
    "q6_k": "MOSTLY_Q6_K",
    "q5_k_m": "MOSTLY_Q5_K_M",
    "q5_k_s": "MOSTLY_Q5_K_S",
    "q5_1": "MOSTLY_Q5_1",
    "q5_0": "MOSTLY_Q5_0",
    "q4_k_m": "MOSTLY_Q4_K_M",
    "q4_k_s": "MOSTLY_Q4_K_S",
    "q4_1": "MOSTLY_Q4_1",
    "q4_0": "MOSTLY_Q4_0",
    "iq4_nl": "MOSTLY_IQ4_NL",
    "iq4_xs": "MOSTLY_IQ4_XS",
    "q3_k_l": "MOSTLY_Q3_K_L",
    "q3_k_m": "MOSTLY_Q3_K_M",
    "q3_k_s": "MOSTLY_Q3_K_S",
    "q2_k": "MOSTLY_Q2_K",
}


def llamacpp_level_check(value: object) -> str | None:
    if value in LLAMACPP_LEVELS:
        return None
    return f"not a llama.cpp quantization level; expected one of {', '.join(LLAMACPP_LEVELS)}"
