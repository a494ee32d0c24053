"""`limitbench list`: what a suite can name, and `--adapter NAME`: how to write a task."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from rich.console import Console


def list_plugins(
    adapter: Annotated[
        str | None, typer.Option(help="show one adapter's options and an example task")
    ] = None,
) -> None:
    """Show built-in tasks, adapters, backends, data formats, variant knobs and profilers."""
    from rich.console import Console

    console = Console()
    if adapter is not None:
        _show_adapter(console, adapter)
        return
    _show_tasks(console)
    _show_knobs(console)
    from harness.adapters import ADAPTERS
    from harness.backends import BACKENDS
    from harness.data import LOADERS
    from harness.profilers import PROFILERS

    for title, registry in (
        ("adapters", ADAPTERS),
        ("backends", BACKENDS),
        ("data formats", LOADERS),
        ("profilers", PROFILERS),
    ):
        names: list[str] = registry.names()
        console.print(f"[bold]{title}[/]: {', '.join(names)}")
    console.print("`limitbench list --adapter NAME` shows an adapter's options and an example.")


def _show_tasks(console: Console) -> None:
    from rich.table import Table

    from harness.core.paths import builtin_dir
    from harness.run.plan import build_adapter, primary_metrics
    from harness.suite.schema import load_task_file

    table = Table("task", "adapter", "n", "primary metric", "description", title="tasks")
    for path in sorted(builtin_dir("tasks").glob("*.yaml")):
        spec = load_task_file(path)
        primary = primary_metrics(spec, build_adapter(spec, str(path), seed=0))
        n = str(spec.n) if spec.n else "all"
        table.add_row(spec.name, spec.adapter, n, ", ".join(primary), spec.description)
    console.print(table)


def _show_knobs(console: Console) -> None:
    from rich.table import Table

    from harness.backends.options import engines_honouring
    from harness.variants import KNOBS

    table = Table("knob", "stage", "unit", "axis", "backends", "description", title="variant knobs")
    for name, knob in KNOBS:
        axis = knob.axis.label if knob.axis else ""
        backends = ", ".join(engines_honouring(name))  # their options declare it
        table.add_row(name, knob.stage, knob.unit or "", axis, backends, knob.description)
    console.print(table)


def _show_adapter(console: Console, name: str) -> None:
    from rich.syntax import Syntax
    from rich.table import Table

    from harness.adapters import ADAPTERS
    from harness.adapters.docs import option_rows

    factory: Any = ADAPTERS.get(name, where="--adapter")
    console.print(f"[bold]{name}[/]: {(factory.__doc__ or '').strip()}")
    table = Table("option", "type", "default", "description", title=f"{name} options")
    for row in option_rows(factory.Options):
        table.add_row(row.name, row.type, row.default, row.description)
    console.print(table)
    examples = _builtin_tasks_of(name)
    if examples:
        shown = examples[0].relative_to(examples[0].parent.parent)
        console.print(f"[bold]example[/] (built-in task {shown}):")
        text = examples[0].read_text(encoding="utf-8")
        console.print(Syntax(text, "yaml", theme="ansi_dark", word_wrap=True))
    console.print(
        "Task keys besides `options`: name, adapter, source (format, path, ...), n, fewshot "
        "{k, source}, primary. Prompts render {field} placeholders from each row; "
        "samples.jsonl shows every rendered prompt, the gold answer and the output."
    )


def _builtin_tasks_of(adapter: str) -> list[Path]:
    """The built-in task files that use `adapter`: real, tested examples of its options."""
    from harness.core.paths import builtin_dir
    from harness.suite.schema import load_task_file

    paths = sorted(builtin_dir("tasks").glob("*.yaml"))
    return [p for p in paths if load_task_file(p).adapter == adapter]
