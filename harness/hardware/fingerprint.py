"""The environment fingerprint stored in every manifest."""

from __future__ import annotations

import os
import platform
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

import psutil
from pydantic import BaseModel, ConfigDict, Field

LIBRARIES = ("torch", "transformers", "accelerate", "gguf", "sacrebleu", "rouge-score", "numpy")


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class GpuDevice(_Frozen):
    """One CUDA device visible to the process that measured."""

    name: str = Field(description="device name as CUDA reports it")
    memory_bytes: int = Field(description="total device memory in bytes")
    uuid: str | None = Field(default=None, description="the device's UUID (as NVML names it)")
    capability: str | None = Field(default=None, description="CUDA compute capability")
    driver: str | None = Field(default=None, description="NVIDIA driver version (from NVML)")
    cuda: str | None = Field(default=None, description="CUDA version torch was built with")


class Fingerprint(_Frozen):
    """The machine and software a run (or a unit) was measured on.

    Extra keys are kept rather than refused, so a newer harness can add facts that an older
    reader carries along untouched.
    """

    model_config = ConfigDict(frozen=True, extra="allow")

    python: str = Field(description="Python version, e.g. 3.11.7")
    platform: str = Field(description="platform.platform(): OS, kernel and libc")
    cpu: str = Field(description="CPU model name")
    physical_cores: int | None = Field(description="physical CPU cores (None if unknown)")
    logical_cores: int | None = Field(description="logical CPU cores (None if unknown)")
    torch_threads: int | None = Field(description="torch intra-op threads; None without torch")
    memory_bytes: int = Field(description="total system memory in bytes")
    gpu: list[GpuDevice] | str = Field(
        description="visible CUDA devices, or the reason none is visible"
    )
    cuda_visible_devices: str | None = Field(
        default=None, description="CUDA_VISIBLE_DEVICES at run time"
    )
    libraries: dict[str, str] = Field(description="versions of the libraries that shape results")
    git_sha: str | None = Field(description="commit of the working directory, if a git checkout")
    hf_hub_offline: str | None = Field(description="HF_HUB_OFFLINE at run time")

    def hardware_key(self) -> str:
        """What must match for two measurements of speed to be comparable: CPU, cores,
        threads and GPU model names (not UUIDs: two cards of one model time alike)."""
        gpu = self.gpu if isinstance(self.gpu, str) else ",".join(d.name for d in self.gpu)
        return "|".join(
            str(part) for part in (self.cpu, self.logical_cores, self.torch_threads, gpu)
        )


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
