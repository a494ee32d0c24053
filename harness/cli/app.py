"""The `limitbench` command: run / report / list. Bad input exits 2 with one clear message."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from harness.cli.commands import export as export_command
from harness.cli.commands import listing
from harness.cli.commands import setup as setup_command
from harness.cli.commands import validate as validate_command
from harness.core.errors import UserError, did_you_mean

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Benchmark the performance limits of language models.",
)

EXIT_BAD_INPUT = 2
EXIT_INTERNAL = 4  # 3 is "some units failed" (harness.executors)


@app.command()
def run(
    suite: Annotated[
        str | None, typer.Argument(help="suite YAML file or built-in name (or --model/--tasks)")
    ] = None,
    out: Annotated[Path | None, typer.Option(help="run folder [results/<suite>/<run-id>]")] = None,
    limit: Annotated[int | None, typer.Option(min=1, help="at most N samples per task")] = None,
    report: Annotated[bool, typer.Option(help="write the markdown report when done")] = True,
    resume: Annotated[
        bool, typer.Option(help="finish an interrupted run in --out (or the suite's latest run)")
    ] = False,
    executor: Annotated[str, typer.Option(help="where units run: local or ray")] = "local",
    address: Annotated[str | None, typer.Option(help="Ray cluster address (ray)")] = None,
    max_retries: Annotated[int, typer.Option(help="retries of a failing unit (ray)")] = 2,
    shared_cache: Annotated[
        str | None, typer.Option(help="LIMITBENCH_CACHE on every Ray worker (ray)")
    ] = None,
    model: Annotated[str | None, typer.Option(help="ad-hoc: model source, no suite")] = None,
    backend: Annotated[str | None, typer.Option(help="ad-hoc: engine [hf]")] = None,
    knob: Annotated[
        list[str] | None, typer.Option("--set", help="ad-hoc: knob=value[,value...]")
    ] = None,
    tasks: Annotated[str | None, typer.Option(help="ad-hoc: tasks a,b (names or files)")] = None,
    profilers: Annotated[str | None, typer.Option(help="ad-hoc: profilers a,b")] = None,
    print_suite: Annotated[bool, typer.Option(help="print the suite as YAML and stop")] = False,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="engine logs on the terminal, not engine.log")
    ] = False,
) -> None:
    """Run every task on every model variant of a suite, profiled (exit 3: units failed)."""
    from rich.console import Console

    from harness.cli.adhoc import AdhocFlags, suite_source
    from harness.cli.run_folder import run_in_folder
    from harness.executors import EXIT_UNITS_FAILED, ExecutorOptions
    from harness.run.prepare import prepare_run, suite_text

    console = Console(stderr=True)
    options = ExecutorOptions(executor, address, max_retries, shared_cache)
    source = suite_source(suite, AdhocFlags(model, backend, knob or [], tasks, profilers))
    if print_suite:
        typer.echo(suite_text(source), nl=False)
        return
    the_plan, out = prepare_run(source, out, resume, limit)
    store, done, outcome = run_in_folder(the_plan, out, resume, options, console, verbose)
    console.print(f"finished {outcome.ran} unit(s); records in {store.records_path}")
    for failed in outcome.failed:
        console.print(f"[red]failed[/] {failed.variant_id} · {failed.task}: {failed.reason}")
    if report and (outcome.ran or done):
        from harness.report.render.command import write_report
        from harness.report.render.html import html_path

        written = write_report(out, None)
        console.print(f"report: {written} (HTML: {html_path(written)})")
    typer.echo(str(out))
    if outcome.failed:
        raise typer.Exit(EXIT_UNITS_FAILED)


def _write(path: Path, text: str, flag: str) -> None:
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as err:
        raise UserError(f"{flag} {path}: cannot write ({err.strerror})") from None


@app.command()
def report(
    run_dirs: Annotated[list[Path], typer.Argument(help="run folders written by `limitbench run`")],
    out: Annotated[
        Path | None, typer.Option(help="markdown file [reports/<suite>/<run>.md]")
    ] = None,
    csv: Annotated[Path | None, typer.Option(help="also export the tidy frame as CSV")] = None,
    parquet: Annotated[Path | None, typer.Option(help="also export it as Parquet")] = None,
    trend_cost: Annotated[
        str, typer.Option(help="quality-per-cost trend per: second, joule or dollar")
    ] = "second",
    price_per_hour: Annotated[
        float | None, typer.Option(help="dollars per hour of the machine (--trend-cost dollar)")
    ] = None,
    trend_points: Annotated[
        Path | None,
        typer.Option(help="CSV of published points: name,released,task,efficiency,cost"),
    ] = None,
) -> None:
    """Aggregate one or more runs into a markdown report with scaling curves and fits, and the
    same report as one self-contained HTML file beside it."""
    from harness.report.analysis.trend import Cost, TrendOptions
    from harness.report.render.command import write_report
    from harness.report.render.html import html_path

    if trend_cost not in set(Cost):
        raise UserError(
            f"option '--trend-cost': '{trend_cost}' is not one of {', '.join(Cost)}"
            f"{did_you_mean(trend_cost, list(Cost))}"
        )
    trend = TrendOptions(Cost(trend_cost), price_per_hour, trend_points)
    written = write_report(run_dirs, out, csv, parquet, trend)
    typer.echo(str(written))
    typer.echo(str(html_path(written)))


@app.command()
def gate(
    baseline: Annotated[str, typer.Option(help="run folder or saved baseline name")],
    candidate: Annotated[str, typer.Option(help="run folder or saved baseline name")],
    rules: Annotated[Path | None, typer.Option(help="YAML tolerances (see README)")] = None,
    markdown: Annotated[Path | None, typer.Option(help="also write the summary here")] = None,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="write the verdict as JSON")
    ] = None,
) -> None:
    """Compare a candidate run with a baseline: exit 0 pass, 1 regression, 2 bad input."""
    from harness import gate as g

    the_rules = g.load_rules(rules)
    base, cand = g.load(baseline), g.load(candidate)
    found = g.compare_identity(base, cand)
    found += g.compare_quality(base, cand, the_rules) + g.compare_perf(base, cand, the_rules)
    found += g.check_invariance(cand, the_rules)
    verdict = g.decide(found, str(base.path), str(cand.path))
    text = g.to_markdown(verdict)
    typer.echo(text)
    if markdown is not None:
        _write(markdown, text, "--markdown")
    if json_out is not None:
        _write(json_out, g.to_json(verdict), "--json")
    raise typer.Exit(0 if verdict.passed else 1)


baseline_app = typer.Typer(help="Save and list baselines under results/baselines/.")
app.add_typer(baseline_app, name="baseline")


@baseline_app.command("save")
def baseline_save(
    run_dir: Annotated[str, typer.Argument(help="run folder")],
    name: Annotated[str, typer.Argument(help="baseline name")],
) -> None:
    """Copy a run's records, samples and manifest to results/baselines/NAME."""
    from harness.gate.runs import save_baseline

    typer.echo(str(save_baseline(run_dir, name)))


@app.command("export-benchmark")
def export_benchmark(
    run_dir: Annotated[str, typer.Argument(help="run folder or saved baseline")],
    out: Annotated[Path, typer.Option(help="JSON file in pytest-benchmark's format")],
) -> None:
    """Export a run's timings as pytest-benchmark JSON for existing charting tools."""
    import json

    from harness.export.pytest_benchmark import to_pytest_benchmark
    from harness.gate.runs import load

    _write(out, json.dumps(to_pytest_benchmark(load(run_dir)), indent=2), "--out")
    typer.echo(str(out))


@app.command("schema")
def write_schemas(
    out: Annotated[Path | None, typer.Option(help="folder to write the JSON Schemas into")] = None,
) -> None:
    """Write the JSON Schemas of records.jsonl, samples.jsonl and manifest.json."""
    from harness.core.errors import user_path
    from harness.store.runfiles import SCHEMA_DIR
    from harness.store.runfiles import write_schemas as write

    with user_path("--out", out or SCHEMA_DIR):
        written = write(out)
    for path in written:
        typer.echo(str(path))


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        typer.echo(f"limitbench {version('limitbench')}")
        raise typer.Exit()


@app.callback()
def _options(
    show_version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="print version")
    ] = False,
) -> None:
    """Benchmark the performance limits of language models."""


app.command("list")(listing.list_plugins)
app.command("validate")(validate_command.validate_suite)
app.command("export")(export_command.export_run)
app.command("setup")(setup_command.setup_engine)


def _is_click(err: BaseException, name: str) -> bool:
    """Whether `err` is click's exception `name`, from click itself or typer's vendored
    copy (typer >= 0.20 bundles its own click, whose classes are not click's)."""
    return any(cls.__name__ == name for cls in type(err).__mro__)


def main() -> None:
    """Exit codes: 0 pass/done, 1 gate regression, 2 bad input, 3 some units failed,
    4 internal error, 130 ^C."""
    try:
        # Without standalone mode click returns a typer.Exit's code instead of exiting.
        code = app(standalone_mode=False)
        if isinstance(code, int) and code:
            sys.exit(code)
    except UserError as err:
        typer.echo(f"limitbench: error: {err}", err=True)
        sys.exit(EXIT_BAD_INPUT)
    except KeyboardInterrupt:
        typer.echo("limitbench: interrupted; finished units are kept (use --resume)", err=True)
        sys.exit(130)
    except Exception as err:
        if _is_click(err, "Exit"):
            sys.exit(int(getattr(err, "exit_code", 0)))
        if _is_click(err, "Abort"):
            typer.echo("limitbench: interrupted; finished units are kept (use --resume)", err=True)
            sys.exit(130)
        if _is_click(err, "ClickException"):
            getattr(err, "show")()  # noqa: B009 - the vendored class is not typed as click's
            sys.exit(EXIT_BAD_INPUT)
        _internal_error(err)


def _internal_error(err: Exception) -> None:
    """A bug of ours, not bad input and not a regression: a short message and exit 4 (1 is
    the gate's "regression"), with the traceback only when asked for."""
    import os
    import traceback

    if os.environ.get("LIMITBENCH_DEBUG"):
        traceback.print_exc()
    typer.echo(
        f"limitbench: internal error ({type(err).__name__}: {err}). Finished units are kept. "
        "Set LIMITBENCH_DEBUG=1 to see the traceback, and please report it.",
        err=True,
    )
    sys.exit(EXIT_INTERNAL)
