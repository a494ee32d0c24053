"""The environment fingerprint stored in every manifest."""

from __future__ import annotations

import os
import platform
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

import psutil

from harness.store.runfiles import Fingerprint, GpuDevice

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


def _torch() -> Any:
    """torch, imported here on purpose: a fingerprint taken before the model loads (the
    manifest is written first) must still see the GPU and torch's thread count."""
    try:
        import torch
    except ImportError:
        return None
    return torch


def nvidia_driver() -> str | None:
    """The NVIDIA driver version from NVML, or None where NVML is absent."""
    try:
        import pynvml

        pynvml.nvmlInit()
        try:
            version = pynvml.nvmlSystemGetDriverVersion()
        finally:
            pynvml.nvmlShutdown()
    except Exception:  # no NVML library, no driver, no device: not an error here
        return None
    return version.decode() if isinstance(version, bytes) else str(version)


def gpu_info(torch: Any = None) -> list[GpuDevice] | str:
    torch = torch if torch is not None else _torch()
    if torch is None:
        return "torch not installed"
    if not torch.cuda.is_available():
        return "no CUDA device visible"
    driver = nvidia_driver()
    out = []
    for i in range(torch.cuda.device_count()):
        props = torch.cuda.get_device_properties(i)
        out.append(
            GpuDevice(
                name=torch.cuda.get_device_name(i),
                memory_bytes=props.total_memory,
                uuid=str(getattr(props, "uuid", "")) or None,
                capability=f"{props.major}.{props.minor}",
                driver=driver,
                cuda=torch.version.cuda,
            )
        )
    return out


def fingerprint() -> Fingerprint:
    torch = _torch()
    return Fingerprint(
        python=platform.python_version(),
        platform=platform.platform(),
        cpu=cpu_model(),
        physical_cores=psutil.cpu_count(logical=False),
        logical_cores=psutil.cpu_count(logical=True),
        torch_threads=torch.get_num_threads() if torch is not None else None,
        memory_bytes=psutil.virtual_memory().total,
        gpu=gpu_info(torch),
        cuda_visible_devices=os.environ.get("CUDA_VISIBLE_DEVICES"),
        libraries=library_versions(),
        git_sha=git_sha(Path.cwd()),
        hf_hub_offline=os.environ.get("HF_HUB_OFFLINE"),
    )


def hardware_key(env: Fingerprint) -> str:
    """What must match for two runs' speed to be comparable."""
    return env.hardware_key()
