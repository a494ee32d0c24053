"""`limitbench validate SUITE`: plan a suite (config, tasks, data, knobs) without running it."""

from __future__ import annotations

from typing import Annotated

import typer


def validate_suite(
    suite: Annotated[str, typer.Argument(help="suite YAML file, or a built-in suite name")],
    limit: Annotated[int | None, typer.Option(min=1, help="at most N samples per task")] = None,
) -> None:
    """Check a suite, its task files and their data without loading a model (exit 0 or 2)."""
    from harness.core.paths import find_suite
    from harness.run.plan import plan

    the_plan = plan(find_suite(suite), limit)
    units = sum(len(the_plan.tasks_for(v)) for v in the_plan.variants)
    typer.echo(
        f"{the_plan.suite_path}: valid; {len(the_plan.variants)} variant(s), "
        f"{len(the_plan.tasks)} task(s), {units} unit(s)"
    )
    for task in the_plan.tasks:
        typer.echo(
            f"  {task.name}: {task.config.adapter}, {len(task.samples)} of "
            f"{task.n_available} sample(s), primary {', '.join(task.primary)}"
        )
    for variant in the_plan.variants:
        typer.echo(f"  {variant.id}: {', '.join(t.name for t in the_plan.tasks_for(variant))}")
