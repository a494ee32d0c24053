"""A real GGUF quantization ladder, built once per source file and cached.

One float (F32) GGUF is written from the source file's weights: every tensor dequantized with
gguf-py and written with the source's metadata (tokenizer, chat template, hyperparameters).
Every level is then produced from that float file by llama.cpp's own quantizer
(`llama_model_quantize`, its C API through llama-cpp-python), so the levels are the files
llama.cpp would serve. When the source is itself quantized (the packaged SmolLM2 is Q4_1) the
ladder starts from its dequantized weights, and every record says so.

Files are written to a temporary name and renamed into place, so a killed build never leaves
a half file that a later run would load.
"""

from __future__ import annotations

import ctypes
import os
from dataclasses import dataclass
from pathlib import Path

from harness.backends.llamacpp.levels import LLAMACPP_LEVELS
from harness.core.errors import UserError
from harness.core.paths import cache_dir
from harness.suite.sources import sha256_of

# Keys the writer sets itself, or that describe the old file rather than the new one.
_SKIPPED_KEYS = ("general.architecture", "general.file_type", "general.alignment")


@dataclass(frozen=True)
class LadderFile:
    path: Path
    level: str
    source_file_type: str  # llama.cpp file type of the file the ladder started from
    provenance: str  # one sentence for the record: which weights this level was built from


def file_type_name(path: Path) -> str:
    """The GGUF's `general.file_type` as llama.cpp names it (e.g. MOSTLY_Q4_1)."""
    from gguf import GGUFReader, LlamaFileType

    field = GGUFReader(path).fields.get("general.file_type")
    if field is None:
        return "unknown"
    try:
        return LlamaFileType(int(field.contents())).name
    except ValueError:
        return f"file type {int(field.contents())}"


def ladder_dir(source: Path) -> Path:
    return cache_dir() / "llamacpp-ladder" / f"{source.stem}-{sha256_of(source)[:16]}"


def write_float_gguf(source: Path, out: Path) -> None:
    """Dequantize every tensor of `source` to float32 and write them, with its metadata."""
    import numpy as np
    from gguf import GGUFReader, GGUFValueType, GGUFWriter, LlamaFileType
    from gguf.quants import dequantize

    reader = GGUFReader(source)
    arch = str(reader.fields["general.architecture"].contents())
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    writer = GGUFWriter(tmp, arch)
    for name, field in reader.fields.items():
        if name.startswith("GGUF.") or name in _SKIPPED_KEYS:
            continue
        kind = field.types[0]
        sub = field.types[-1] if kind == GGUFValueType.ARRAY else None
        writer.add_key_value(name, field.contents(), kind, sub_type=sub)
    writer.add_file_type(LlamaFileType.ALL_F32)
    for tensor in reader.tensors:
        weights = dequantize(np.asarray(tensor.data), tensor.tensor_type).astype(np.float32)
        writer.add_tensor(tensor.name, weights)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    tmp.rename(out)


def quantize_level(float_file: Path, level: str, out: Path, threads: int) -> None:
    """Run llama.cpp's quantizer on the float file."""
    import llama_cpp

    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = getattr(llama_cpp, f"LLAMA_FTYPE_{LLAMACPP_LEVELS[level]}")
    params.nthread = threads
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    status = llama_cpp.llama_model_quantize(
        str(float_file).encode(), str(tmp).encode(), ctypes.byref(params)
    )
    if status != 0:
        tmp.unlink(missing_ok=True)
        raise UserError(f"llama.cpp could not quantize {float_file} to '{level}' (status {status})")
    tmp.rename(out)


def ladder_file(source: Path, level: str, threads: int) -> LadderFile:
    """The cached file of one level, built (with the float file it starts from) if missing."""
    if level not in LLAMACPP_LEVELS:
        raise UserError(f"knob 'quant' = {level!r}: not a llama.cpp level")
    folder = ladder_dir(source)
    folder.mkdir(parents=True, exist_ok=True)
    float_file = folder / "f32.gguf"
    if not float_file.exists():
        write_float_gguf(source, float_file)
    out = folder / f"{level}.gguf"
    if not out.exists():
        quantize_level(float_file, level, out, threads)
    source_type = file_type_name(source)
    provenance = (
        f"llama.cpp {level.upper()} built by llama_model_quantize from an F32 GGUF whose "
        f"weights are {source.name} ({source_type}) dequantized with gguf-py"
    )
    if level == "f32":
        provenance = f"F32 GGUF: {source.name} ({source_type}) dequantized with gguf-py"
    return LadderFile(out, level, source_type, provenance)
