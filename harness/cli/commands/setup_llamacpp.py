"""`limitbench setup llamacpp`: compile llama-cpp-python once per (version, build flags) into a
wheel cache, then install it (with its server extra) into this environment.

llama-cpp-python ships as source and compiles llama.cpp (about 5 minutes on 2 cores). pip's own
wheel cache is keyed by version alone, not by CMAKE_ARGS, so it may hand back a build made for
another CPU. Here the flags are part of the key: `<cache>/wheels/llama-cpp-python/<version>-
<digest of the flags>/`, shared by the README's set-up, CI and any venv on the machine.

The default build is portable x86-64-v3 (AVX2, FMA, F16C, BMI2) without native tuning: VMs that
list AMX but trap its tile instructions crash a native build (SIGILL in the q8_0/q4 kernels).
`--native` builds for this CPU; `--device cuda` adds llama.cpp's CUDA kernels.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

from harness.cli.commands.pip_call import run_pip
from harness.core.errors import UserError
from harness.core.paths import cache_dir

LLAMACPP_VERSION = "0.3.36"
PORTABLE_FLAGS = (
    "-DGGML_NATIVE=OFF",
    "-DGGML_AVX=ON",
    "-DGGML_AVX2=ON",
    "-DGGML_FMA=ON",
    "-DGGML_F16C=ON",
    "-DGGML_BMI2=ON",
)
NATIVE_FLAGS = ("-DGGML_NATIVE=ON",)
CUDA_FLAGS = ("-DGGML_CUDA=on",)
BUILD_FILE = "build.json"


def build_flags(device: str, native: bool) -> tuple[str, ...]:
    """The CMAKE_ARGS of a build: portable or native CPU kernels, plus CUDA's on `cuda`."""
    return (NATIVE_FLAGS if native else PORTABLE_FLAGS) + (CUDA_FLAGS if device == "cuda" else ())


def wheel_dir(flags: tuple[str, ...], version: str = LLAMACPP_VERSION) -> Path:
    digest = hashlib.sha256(" ".join(flags).encode()).hexdigest()[:12]
    return cache_dir() / "wheels" / "llama-cpp-python" / f"{version}-{digest}"


def cached_wheel(folder: Path) -> Path | None:
    """The finished wheel of a build folder; a build killed half-way left none."""
    if not (folder / BUILD_FILE).exists():
        return None
    found = sorted(folder.glob("llama_cpp_python-*.whl"))
    return found[-1] if found else None


def build_wheel(flags: tuple[str, ...], folder: Path) -> Path:
    """Compile the wheel into `folder` (minutes), unless a finished build is already there."""
    found = cached_wheel(folder)
    if found is not None:
        return found
    folder.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "CMAKE_ARGS": " ".join(flags), "FORCE_CMAKE": "1"}
    spec = f"llama-cpp-python=={LLAMACPP_VERSION}"
    print(f"compiling {spec} with {' '.join(flags)} (about 5 minutes on 2 cores, once)")
    _pip("wheel", "--no-deps", "--no-cache-dir", "-w", str(folder), spec, env=env)
    built = sorted(folder.glob("llama_cpp_python-*.whl"))
    if not built:
        raise UserError(f"limitbench setup llamacpp: pip built no wheel into {folder}")
    # Written last: its presence marks the build finished.
    (folder / BUILD_FILE).write_text(json.dumps({"version": LLAMACPP_VERSION, "flags": flags}))
    return built[-1]


def setup_llamacpp(device: str, native: bool) -> None:
    """Build (or reuse) the wheel and install it, with its server extra, into this Python."""
    flags = build_flags(device, native)
    folder = wheel_dir(flags)
    reused = cached_wheel(folder) is not None
    wheel = build_wheel(flags, folder)
    print(f"{'reusing' if reused else 'built'} {wheel}")
    # The wheel itself replaces any other build of the same version (pip would keep it)...
    _pip("install", "--quiet", "--no-deps", "--force-reinstall", str(wheel))
    # ...and the server extra's dependencies come from the index as usual.
    _pip(
        "install",
        "--quiet",
        "--find-links",
        str(folder),
        f"llama-cpp-python[server]=={LLAMACPP_VERSION}",
    )
    check = [sys.executable, "-c", "import llama_cpp; print(llama_cpp.__version__)"]
    found = subprocess.run(check, capture_output=True, text=True, check=False)
    if found.returncode != 0:
        raise UserError(
            "limitbench setup llamacpp: the installed llama-cpp-python does not import:\n"
            + found.stderr.strip()[-2000:]
        )
    print(f"llama-cpp-python {found.stdout.strip()} ready ({' '.join(flags)})")


def _pip(*args: str, env: dict[str, str] | None = None) -> None:
    run_pip(sys.executable, *args, env=env)  # into the environment running limitbench
