"""Loading transformers models from a hub id, a local folder or a (cached-converted) GGUF."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from harness.backends.shared_transformers.placement import resolve_placement, stored_dtype
from harness.core.errors import UserError
from harness.core.hub_errors import hub_unreachable, is_unreachable
from harness.core.paths import cache_dir
from harness.suite.schema import ModelConfig
from harness.suite.sources import publish_folder, resolve, sha256_of
from harness.variants.base import DTYPE_BITS


def torch_dtype(name: str) -> Any:
    import torch

    if name not in DTYPE_BITS:
        raise UserError(f"knob 'dtype': '{name}' is not one of {', '.join(DTYPE_BITS)}")
    return getattr(torch, name)


def convert_gguf(path: Path) -> Path:
    """Dequantize a GGUF file once into a safetensors folder in the cache."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    out = cache_dir() / "converted" / f"{path.stem}-{sha256_of(path)[:16]}"
    if (out / ".complete").exists():
        return out
    # A per-process temp folder: cluster nodes may share this cache and convert at once.
    tmp = out.with_name(f"{out.name}.tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        tokenizer = AutoTokenizer.from_pretrained(path.parent, gguf_file=path.name)
        model: Any = AutoModelForCausalLM.from_pretrained(
            path.parent, gguf_file=path.name, dtype=_float32()
        )
    except Exception as err:  # transformers raises many types for a bad file
        raise UserError(f"{path}: GGUF file did not load ({type(err).__name__}: {err})") from None
    # save_pretrained refuses GGUF-loaded models until the quantizer markers are cleared.
    model.hf_quantizer = None
    model.is_quantized = False
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.save_pretrained(tmp, safe_serialization=True)
    tokenizer.save_pretrained(tmp)
    (tmp / "limitbench_source.json").write_text(json.dumps({"gguf_file": str(path)}))
    (tmp / ".complete").write_text("ok")
    publish_folder(tmp, out)
    return out


def transformers_source(found: Path | str) -> tuple[Path | str, str]:
    """What an engine reading transformers folders loads from a resolved source (a GGUF
    file dequantized once into the cache, else the folder or hub id as it is), and how the
    record names the source. The hf and vllm engines and a launched server's `{model_dir}`
    share it, so all of them load the very same float weights."""
    if isinstance(found, Path) and found.suffix == ".gguf":
        return convert_gguf(found), f"{found} (GGUF, dequantized)"
    return found, str(found)


def _float32() -> Any:
    import torch

    return torch.float32


def _checkpoint_dtype(location: Path | str, common: dict[str, Any]) -> str | None:
    """The dtype the checkpoint's config states; None when the config cannot be read (the
    model's own load below then says why)."""
    from transformers import AutoConfig

    try:
        return stored_dtype(AutoConfig.from_pretrained(location, **common))
    except (OSError, ValueError, KeyError):
        return None


def load_model(cfg: ModelConfig, knobs: Mapping[str, Any], base_dir: Path) -> tuple[Any, Any, str]:
    """(model, tokenizer, description of the source) with the dtype and device knobs applied:
    left out (or `dtype: auto`), they resolve GPU first (harness.backends.shared_transformers
    .placement); the backend reads what they became back from the loaded model."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    quiet: Any = hf_logging.disable_progress_bar
    quiet()  # our own progress bar is the one that counts
    torch.manual_seed(0)
    if "threads" in knobs:
        torch.set_num_threads(int(knobs["threads"]))
    location, source = transformers_source(resolve(cfg.source, base_dir))
    common: dict[str, Any] = {"trust_remote_code": cfg.trust_remote_code, "revision": cfg.revision}
    quant = str(knobs.get("quant", ""))
    device = knobs.get("device")
    placement = resolve_placement(
        str(device) if device is not None else None,
        str(knobs.get("dtype", "auto")),
        lambda: _checkpoint_dtype(location, common),
        bitsandbytes=quant.startswith("bnb_"),
        cpu_only=quant == "int8_dynamic",  # torch's dynamic int8 Linear has CPU kernels only
    )
    if quant.startswith("bnb_"):
        from harness.backends.shared_transformers.quantize import bnb_config

        common["quantization_config"] = bnb_config(quant)
        common["device_map"] = placement.device
    try:
        tokenizer = AutoTokenizer.from_pretrained(location, **common)
        model: Any = AutoModelForCausalLM.from_pretrained(
            location,
            dtype=torch_dtype(placement.dtype),
            use_safetensors=None if cfg.allow_pickle else True,
            **common,
        )
    except (OSError, ValueError, KeyError) as err:
        if isinstance(location, str) and is_unreachable(err):
            raise hub_unreachable(
                f"model '{cfg.name}'",
                location,
                "key 'source' =",
                "give 'source' a local folder, a .gguf file or a 'pip:' package file",
            ) from None
        raise UserError(f"model '{cfg.name}' ({source}) did not load: {err}") from None
    if "quantization_config" not in common:  # bitsandbytes models are placed at load
        model.to(placement.device)
    model.eval()
    return model, tokenizer, source
