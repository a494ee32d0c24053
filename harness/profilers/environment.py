"""The environment fingerprint stored in every manifest."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import psutil

from harness.runfiles import Fingerprint, GpuDevice

LIBRARIES = ("torch", "transformers", "accelerate", "gguf", "sacrebleu", "rouge-score", "numpy")


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def git_sha(where: Path) -> str | None:
    try:
        done = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=where,
            capture_output=True,
            text=True,
            check=False,
            timeout=5,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() or None if done.returncode == 0 else None


def library_versions() -> dict[str, str]:
    versions = {}
    for name in LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def gpu_info() -> list[GpuDevice] | str:
    torch = sys.modules.get("torch")
    if torch is None or not torch.cuda.is_available():
        return "no CUDA device visible"
    return [
        GpuDevice(
            name=torch.cuda.get_device_name(i),
            memory_bytes=torch.cuda.get_device_properties(i).total_memory,
        )
        for i in range(torch.cuda.device_count())
    ]


def fingerprint() -> Fingerprint:
    torch = sys.modules.get("torch")
    return Fingerprint(
        python=platform.python_version(),
        platform=platform.platform(),
        cpu=cpu_model(),
        physical_cores=psutil.cpu_count(logical=False),
        logical_cores=psutil.cpu_count(logical=True),
        torch_threads=torch.get_num_threads() if torch is not None else None,
        memory_bytes=psutil.virtual_memory().total,
        gpu=gpu_info(),
        libraries=library_versions(),
        git_sha=git_sha(Path.cwd()),
        hf_hub_offline=os.environ.get("HF_HUB_OFFLINE"),
    )


def hardware_key(env: Fingerprint) -> str:
    """What must match for two runs' speed to be comparable."""
    return env.hardware_key()
