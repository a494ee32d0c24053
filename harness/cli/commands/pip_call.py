"""Running pip for `limitbench setup`: into this environment or another one's interpreter."""

from __future__ import annotations

import subprocess
from pathlib import Path

from harness.core.errors import UserError


def run_pip(python: Path | str, *args: str, env: dict[str, str] | None = None) -> None:
    """`python -m pip ARGS`, its output on the terminal; a failure is one UserError."""
    command = [str(python), "-m", "pip", "--disable-pip-version-check", *args]
    done = subprocess.run(command, check=False, env=env)
    if done.returncode != 0:
        raise UserError(f"`{' '.join(command)}` failed (exit {done.returncode}); see above")
