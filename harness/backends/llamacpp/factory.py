"""Loads a llama.cpp model; llama-cpp-python is imported only to load.

The `quant` knob picks the file: absent, the source GGUF as it is; a level, that level of the
real ladder (see llamacpp_ladder). Knobs it does not honour (dtype, batch_size, pruning, ...)
stop the suite at planning time instead of being silently ignored.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import Any

import psutil

from harness.backends.base import Backend, BackendInfo
from harness.backends.llamacpp.options import LlamaCppOptions
from harness.backends.resolved import ResolvedConfig, known
from harness.core.errors import UserError
from harness.core.perf_names import PerfName
from harness.core.perf_specs import Kernels
from harness.suite.schema import ModelConfig
from harness.suite.sources import resolve_local
from harness.variants.facts import KernelsUsed, Measure, Note, TransformFacts

EXTRA = "limitbench setup llamacpp"


def missing_extra() -> str | None:
    if importlib.util.find_spec("llama_cpp") is None:
        return (
            "the llamacpp backend needs llama-cpp-python, which is not installed: run "
            f"`{EXTRA}` (it compiles llama.cpp once, about 5 minutes on 2 cores, and caches "
            "the wheel), or install the extra: pip install 'limitbench[llamacpp]'"
        )
    return None


def load_llamacpp(cfg: ModelConfig, options: LlamaCppOptions, base_dir: Path) -> Backend:
    reason = missing_extra()
    if reason is not None:
        raise UserError(f"model '{cfg.name}': {reason}")
    from harness.backends.llamacpp.backend import LlamaCppBackend

    source = resolve_local(cfg.source, base_dir)
    if source.suffix != ".gguf":
        raise UserError(f"model '{cfg.name}': backend llamacpp needs a .gguf file, got {source}")
    threads = options.threads or default_threads()
    details = TransformFacts.of(Note("engine", "llama.cpp (llama-cpp-python)"))
    path = source
    if options.quant is not None:
        from harness.backends.llamacpp.ladder import ladder_file

        level = ladder_file(source, options.quant, threads)
        path = level.path
        details = details.then(
            [
                KernelsUsed(Kernels.REAL),
                Note("quant_source", level.provenance),
            ]
        )
    llama, resident = _open(cfg, path, options, threads)
    info = _info(cfg.name, path, llama, options)
    details = details.then(
        [
            Measure(
                PerfName.BITS_PER_WEIGHT, 8 * info.weight_bytes / max(info.n_params, 1), "bits"
            ),
            Measure(PerfName.FILE_BYTES, path.stat().st_size, "B"),
            Measure(PerfName.RESIDENT_BYTES, resident, "B"),
            Note("llamacpp_file", str(path)),
        ]
    )
    return LlamaCppBackend(llama, info, details, _resolved(llama, options, threads, info))


def default_threads() -> int:
    """The CPUs this process may use: OMP_NUM_THREADS where a scheduler set it (Ray sets it
    to the worker's num_cpus; llama.cpp's spinning threads on more cores than were granted
    slow every worker on the node), else the CPUs in the process's affinity mask."""
    granted = os.environ.get("OMP_NUM_THREADS", "")
    if granted.isdigit() and int(granted) > 0:
        return int(granted)
    return len(os.sched_getaffinity(0))


def _open(cfg: ModelConfig, path: Path, options: LlamaCppOptions, threads: int) -> tuple[Any, int]:
    """The loaded model, and the RSS it added once every weight was touched by a decode."""
    import llama_cpp

    layers = options.n_gpu_layers
    if layers and not llama_cpp.llama_supports_gpu_offload():
        raise UserError(
            f"model '{cfg.name}': knob 'n_gpu_layers' = {layers}, but this llama-cpp-python "
            'build has no GPU offload; reinstall it with CMAKE_ARGS="-DGGML_CUDA=on" '
            "(or -DGGML_METAL=on) or drop the knob"
        )
    before = psutil.Process().memory_info().rss
    try:
        llama: Any = llama_cpp.Llama(
            model_path=str(path),
            n_ctx=options.n_ctx,
            n_batch=options.n_batch,
            n_threads=threads,
            n_threads_batch=threads,
            n_gpu_layers=layers,
            verbose=False,
        )
    except (ValueError, RuntimeError) as err:
        raise UserError(f"model '{cfg.name}': llama.cpp could not load {path}: {err}") from None
    llama.eval([max(int(llama.token_bos()), 0)])  # touch every weight page once
    llama.reset()
    return llama, psutil.Process().memory_info().rss - before


def _info(name: str, path: Path, llama: Any, options: LlamaCppOptions) -> BackendInfo:
    model = llama._model
    n_ctx = int(llama.n_ctx())
    layers = options.n_gpu_layers
    return BackendInfo(
        model=name,
        source=str(path),
        n_params=int(model.n_params()),
        dtype=f"gguf {_ftype(model)}",
        device="cpu" if not layers else f"cpu+gpu ({layers} layers offloaded)",
        weight_bytes=int(model.size()),
        max_length=min(options.max_length or n_ctx, n_ctx),
        details={"description": model.desc(), "n_ctx": n_ctx, "vocab_size": llama.n_vocab()},
    )


def _resolved(
    llama: Any, options: LlamaCppOptions, threads: int, info: BackendInfo
) -> ResolvedConfig:
    """The options as llama.cpp took them: its context and batch read back from the loaded
    context (it may round or cap what was asked), threads as granted."""
    import llama_cpp

    context = getattr(llama, "context_params", None)
    ran = {
        **options.model_dump(),
        "threads": int(getattr(context, "n_threads", threads) or threads),
        "n_ctx": int(llama.n_ctx()),
        "n_batch": int(getattr(llama, "n_batch", options.n_batch)),
        "max_length": info.max_length,
    }
    return ResolvedConfig(
        dtype=info.dtype,
        device=info.device,
        options=known(ran),
        reported={
            "description": str(info.details.get("description", "")),
            "gpu_offload": bool(llama_cpp.llama_supports_gpu_offload()),
        },
        libraries={"llama_cpp": str(llama_cpp.__version__)},
    )


def _ftype(model: Any) -> str:
    """llama.cpp's own description names the type (e.g. 'llama 135M Q4_K - Medium')."""
    return str(model.desc()).split(" ", 2)[-1]
