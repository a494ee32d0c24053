"""Before a run: its suite (a file, or the ad-hoc flags' suite), its folder, and its plan.

Every run is prepared here, whatever wrote its suite: `prepare_run` plans the suite in memory
(nothing is written if the plan fails), then makes the run folder and, for an ad-hoc suite,
writes the suite into it as `suite.yaml`, so the folder is an ordinary run that `--resume`,
`report` and `gate` read as any other.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from harness.core.errors import UserError
from harness.core.paths import is_folder_name
from harness.run.plan import Plan, plan_suite
from harness.run.runner import new_run_id
from harness.suite.schema import SuiteConfig

FLAGS_SOURCE = "the ad-hoc suite (--model/--tasks/--set flags)"
SUITE_FILE = "suite.yaml"


@dataclass(frozen=True)
class SuiteSource:
    """Where a run's suite comes from: a file, or flags (with the text to write)."""

    config: SuiteConfig
    path: Path | None  # the file; for an ad-hoc suite, where it is written (once placed)
    text: str | None = None  # ad-hoc only: the YAML written into the run folder


def suite_text(source: SuiteSource) -> str:
    """The YAML equivalent of the run's suite (the file's own text for a suite file)."""
    if source.text is not None:
        return source.text
    assert source.path is not None  # a suite file always has its path
    return source.path.read_text(encoding="utf-8")


def _runs_of(suite_name: str) -> list[Path]:
    folder = Path("results") / suite_name
    return sorted(p for p in folder.glob("*") if (p / "manifest.json").exists())


def run_folder(source: SuiteSource, out: Path | None, resume: bool) -> Path:
    """--out, or on --resume the suite's latest run (for flags, the latest run started with
    the same flags), or a new folder under results/<suite>/."""
    if out is not None:
        return out
    name = source.config.name
    if not is_folder_name(name):  # '.' or '..': the run would land in results/ or in .
        raise UserError(
            f"{source.path or FLAGS_SOURCE}: key 'name': '{name}' cannot name the run's folder "
            "results/<name>/ (it would lead out of results/); rename the suite, or give --out"
        )
    if resume:
        runs = _runs_of(name)
        if source.text is not None:
            runs = [r for r in runs if _same_text(r / SUITE_FILE, source.text)]
        if runs:
            return runs[-1]
    return Path("results") / name / new_run_id()


def _same_text(path: Path, text: str) -> bool:
    return path.is_file() and path.read_text(encoding="utf-8") == text


def prepare_run(
    source: SuiteSource, out: Path | None, resume: bool, limit: int | None
) -> tuple[Plan, Path]:
    """Plan the suite (nothing written yet), then make the run folder and, for flags, write
    the suite into it; the caller opens the store."""
    folder = run_folder(source, out, resume)
    if source.text is not None:
        source = replace(source, path=folder / SUITE_FILE)
    assert source.path is not None
    try:
        the_plan = plan_suite(source.config, source.path, limit)
    except UserError as err:
        if source.text is None:
            raise
        # The file is not written yet: name the flags the suite came from instead.
        raise UserError(str(err).replace(str(source.path), FLAGS_SOURCE)) from None
    if source.text is None:  # a suite file: the run makes (and on failure removes) the folder
        return the_plan, folder
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise UserError(f"--out {folder}: cannot create the run folder ({err.strerror})") from None
    write_adhoc_suite(source)
    return the_plan, folder


def write_adhoc_suite(source: SuiteSource) -> None:
    """Write the ad-hoc suite into its run folder; an existing one must be the same suite
    (a resume with the same flags), never overwritten."""
    if source.text is None or source.path is None:
        return
    if source.path.exists():
        if source.path.read_text(encoding="utf-8") != source.text:
            raise UserError(
                f"{source.path}: this run was started with other flags; resume it with the "
                f"same --model/--tasks/--set/--profilers, or `limitbench run {source.path} "
                f"--resume --out {source.path.parent}`"
            )
        return
    try:
        source.path.write_text(source.text, encoding="utf-8")
    except OSError as err:
        raise UserError(f"--out {source.path.parent}: cannot write ({err.strerror})") from None
