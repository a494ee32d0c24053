"""Ad-hoc runs: `limitbench run --model SOURCE --tasks a,b` without a suite file.

The flags become a SuiteConfig (the same typed model and errors as a YAML suite), which is
planned in memory and then written into the run folder as `suite.yaml`, so the folder is an
ordinary run: `--resume`, `report` and `gate` read it as they read any other.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from harness.core.errors import UserError
from harness.core.values import Scalar
from harness.run.prepare import FLAGS_SOURCE, SuiteSource
from harness.suite.schema import SuiteConfig, validate

ADHOC_SUITE = "adhoc"
_HEADER = (
    "# An ad-hoc suite written by `limitbench run --model ... --tasks ...`: rerun it with\n"
    "# `limitbench run THIS_FILE`, or finish this run with the same flags and --resume.\n"
)


@dataclass(frozen=True)
class AdhocFlags:
    """The command-line flags that describe a suite without a file."""

    model: str | None = None
    backend: str | None = None
    knobs: list[str] = field(default_factory=list)  # "knob=value[,value...]"
    tasks: str | None = None  # "a,b" or task files
    profilers: str | None = None  # "timing,memory"

    @property
    def given(self) -> bool:
        return any((self.model, self.backend, self.knobs, self.tasks, self.profilers))


def _split(value: str, flag: str) -> list[str]:
    items = [item.strip() for item in value.split(",") if item.strip()]
    if not items:
        raise UserError(f"{flag}: expected a comma-separated list, got {value!r}")
    return items


def _model_name(source: str) -> str:
    """A suite-valid name from the source's last path component (or hub id)."""
    stem = source.rstrip("/").rsplit("/", 1)[-1]
    stem = re.sub(r"\.gguf$", "", stem)
    name = re.sub(r"[^A-Za-z0-9_.\-]+", "-", stem).strip("-.")
    return name or "model"


def _absolute_if_local(source: str) -> str:
    """A local path as given on the command line is relative to the current folder, but
    the suite file lives in the run folder: store it absolute so a resume finds it."""
    if source.startswith("pip:"):
        return source
    path = Path(source).expanduser()
    if path.exists():
        return str(path.resolve())
    if source.startswith(("/", "./", "../", "~")) or source.endswith(".gguf"):
        raise UserError(f"--model {source}: no such file or folder (tried {path.resolve()})")
    return source  # a hub id


def _task_entry(name: str) -> str:
    """A task file given on the command line is relative to the current folder: stored
    absolute; a task name must be a built-in task."""
    from harness.core.paths import builtin_dir
    from harness.run.plan import find_task

    if name.endswith((".yaml", ".yml")):
        path = Path(name).expanduser()
        if not path.is_file():
            raise UserError(f"--tasks: task file '{name}' not found (tried {path.resolve()})")
        return str(path.resolve())
    find_task(name, [builtin_dir("tasks")], "--tasks")
    return name


def _parse_knobs(items: list[str]) -> dict[str, list[Scalar]]:
    from harness.variants import KNOBS

    axes: dict[str, list[Scalar]] = {}
    for item in items:
        name, sep, raw = item.partition("=")
        if not sep or not name.strip():
            raise UserError(f"--set {item!r}: expected knob=value (e.g. --set dtype=bfloat16)")
        KNOBS.get(name.strip(), where=f"--set {item}")
        # Each value is a YAML scalar, so `--set batch_size=8` is the integer 8.
        values = [yaml.safe_load(v) for v in _split(raw, f"--set {name}")]
        for value in values:
            if not isinstance(value, str | int | float | bool):
                raise UserError(f"--set {item}: {value!r} is not a single value")
        axes.setdefault(name.strip(), []).extend(values)
    return axes


def suite_data(flags: AdhocFlags) -> dict[str, Any]:
    """The suite the flags describe, as the mapping a YAML file would hold."""
    if not flags.model or not flags.tasks:
        missing = "--model" if not flags.model else "--tasks"
        raise UserError(
            f"{missing} is missing: an ad-hoc run needs both --model SOURCE and --tasks a,b "
            "(or give a suite file instead of the flags)"
        )
    source = _absolute_if_local(flags.model)
    model: dict[str, Any] = {"name": _model_name(source), "source": source}
    if flags.backend:
        from harness.backends import BACKENDS

        BACKENDS.get(flags.backend, where="--backend")
        model["backend"] = flags.backend
    axes = _parse_knobs(flags.knobs)
    if axes:
        model["variants"] = {"axes": axes}
    data: dict[str, Any] = {
        "name": ADHOC_SUITE,
        "description": f"ad-hoc run of {flags.model}",
        "models": [model],
        "tasks": [_task_entry(t) for t in _split(flags.tasks, "--tasks")],
    }
    if flags.profilers:
        from harness.profilers import PROFILERS

        names = _split(flags.profilers, "--profilers")
        for name in names:
            PROFILERS.get(name, where="--profilers")
        data["profilers"] = names
    return data


def adhoc_suite(flags: AdhocFlags) -> SuiteSource:
    """Validate the flags as a suite (placed in its run folder later)."""
    data = suite_data(flags)
    config = validate(SuiteConfig, data, FLAGS_SOURCE)
    text = _HEADER + yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
    return SuiteSource(config, None, text)


def file_suite(suite: str) -> SuiteSource:
    from harness.core.paths import find_suite
    from harness.suite.schema import load_suite

    path = find_suite(suite)
    return SuiteSource(load_suite(path), path)


def suite_source(suite: str | None, flags: AdhocFlags) -> SuiteSource:
    """The suite file, or the suite the flags describe; never both, never neither."""
    if suite is not None and flags.given:
        raise UserError(
            f"give either a suite ({suite}) or the ad-hoc flags (--model, --tasks, --backend, "
            "--set, --profilers), not both"
        )
    if suite is None and not flags.given:
        raise UserError("missing SUITE: give a suite file or name, or --model SOURCE --tasks a,b")
    return file_suite(suite) if suite is not None else adhoc_suite(flags)
