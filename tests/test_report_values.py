"""`limitbench report` on a synthetic run written through the run store, its numbers checked
against independent computations: point estimates exactly, intervals within a tolerance of
what theory or scipy gives (bootstrap ones within a fraction of a standard error), and the
markdown's structure (sections in order, well-formed tables, figures that exist)."""

from __future__ import annotations

import math
import re
import statistics
from pathlib import Path

import pandas as pd
import pytest
from scipy.stats import binomtest

from harness.adapters.choice import ClassificationAdapter
from harness.core.values import Value
from harness.metrics import summarize
from harness.metrics.choice import choice_scores
from harness.store.records import Record, RunStore
from harness.store.runfiles import SampleRow
from tests.conftest import make_manifest, make_specs, run_cli

N, WRONG, LOST = 200, 40, 30  # the variant loses 30 of its base's 160 right answers
BASE_SPEED, FAST_SPEED = (100.0, 103.0, 98.0), (200.0, 206.0, 196.0)
VARIANTS = {"m": ({}, 0, BASE_SPEED), "m@quant=q4_0": ({"quant": "q4_0"}, LOST, FAST_SPEED)}


def _correct(lost: int) -> list[float]:
    return [0.0] * (WRONG + lost) + [1.0] * (N - WRONG - lost)


def _write_run(folder: Path) -> Path:
    """Records as the runner writes them: quality summarized from the per-sample scores."""
    store = RunStore(folder)
    store.create(make_manifest())
    accuracy = next(m for m in ClassificationAdapter.metrics if m.name == "accuracy")
    for variant, (knobs, lost, speed) in VARIANTS.items():
        scores = [
            choice_scores([-0.1, -3.0] if right else [-3.0, -0.1], [3, 3], 0, [4, 4])
            for right in _correct(lost)
        ]
        perf = Value(
            value=statistics.median(speed),
            unit="tok/s",
            higher_is_better=True,
            ci_low=min(speed),
            ci_high=max(speed),
            repeats=list(speed),
        )
        record = Record(
            run_id="run1",
            suite="snap",
            task="topic",
            task_version=1,
            adapter="classification",
            variant_id=variant,
            model="m",
            n_params=1000,
            knobs=knobs,
            quality={"accuracy": summarize(accuracy, scores, 0)},
            perf={"input_tokens_per_s": perf},
            metrics=make_specs("classification", [accuracy], ["accuracy"]),
            started_at="t",
            wall_s=1.0,
        )
        rows = [
            SampleRow(variant_id=variant, task="topic", sample_id=f"s{i}", label="0", scores=s)
            for i, s in enumerate(scores)
        ]
        store.append_unit(record, rows)
    return folder


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, pd.DataFrame]:
    folder = tmp_path_factory.mktemp("report")
    run = _write_run(folder / "run")
    target, csv = folder / "r.md", folder / "frame.csv"
    mp = pytest.MonkeyPatch()
    code = run_cli(mp, "report", str(run), "--out", str(target), "--csv", str(csv))
    mp.undo()
    assert code == 0
    return target, target.read_text(encoding="utf-8"), pd.read_csv(csv)


def _section(text: str, heading: str) -> str:
    return text.split(f"\n{heading}\n", 1)[1].split("\n## ", 1)[0]


def _row(section: str, first_cells: str) -> list[str]:
    (line,) = [ln for ln in section.splitlines() if ln.startswith(f"| {first_cells} |")]
    return [cell.strip() for cell in line.strip("|").split("|")]


def _numbers(cell: str) -> list[float]:
    return [float(x) for x in re.findall(r"[-+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?", cell)]


def _wilson(right: int) -> tuple[float, float]:
    ci = binomtest(right, N).proportion_ci(0.95, method="wilson")
    return float(ci.low), float(ci.high)


def test_quality_values_are_the_records_with_wilson_intervals(
    report: tuple[Path, str, pd.DataFrame],
) -> None:
    _, text, frame = report
    quality = frame[frame.metric == "accuracy"].set_index("variant_id")
    table = _section(text, "## Quality by task")
    for variant, (_, lost, _) in VARIANTS.items():
        right = N - WRONG - lost
        low, high = _wilson(right)
        assert quality.loc[variant, "value"] == right / N  # exact
        assert quality.loc[variant, "n"] == N
        assert quality.loc[variant, "ci_low"] == pytest.approx(low, rel=1e-9)
        assert quality.loc[variant, "ci_high"] == pytest.approx(high, rel=1e-9)
        value, shown_low, shown_high = _numbers(_row(table, variant)[1])
        assert value == right / N  # four significant figures hold these exactly
        assert shown_low == pytest.approx(low, rel=5e-4)
        assert shown_high == pytest.approx(high, rel=5e-4)


def test_variant_against_base_change_and_intervals(
    report: tuple[Path, str, pd.DataFrame],
) -> None:
    _, text, _ = report
    row = _row(_section(text, "## Each variant against its base"), "topic | m@quant=q4_0")
    assert row[2] == "accuracy" and _numbers(row[3]) == [0.8, 0.65]
    change, low, high = _numbers(row[4])
    assert change == -LOST / N  # exact: every lost answer is a paired -1
    # paired differences are -1 on LOST samples, 0 elsewhere: the normal-theory interval
    p = LOST / N
    se = math.sqrt(p * (1 - p) / (N - 1))
    assert low == pytest.approx(change - 1.96 * se, abs=0.4 * se)
    assert high == pytest.approx(change + 1.96 * se, abs=0.4 * se)
    assert row[5] == "**worse**" and row[6] == "—"  # a classification task has no KL
    # speed: ratio of medians 2.0, its bootstrap interval inside the repeats' extreme ratios
    point, ratio_low, ratio_high = (1 + x / 100 for x in _numbers(row[7]))
    assert point == pytest.approx(statistics.median(FAST_SPEED) / statistics.median(BASE_SPEED))
    assert min(FAST_SPEED) / max(BASE_SPEED) - 1e-3 <= ratio_low <= point
    assert point <= ratio_high <= max(FAST_SPEED) / min(BASE_SPEED) + 1e-3


def test_summary_names_the_best_and_the_fastest(report: tuple[Path, str, pd.DataFrame]) -> None:
    _, text, _ = report
    summary = _section(text, "## Summary")
    best = next(line for line in summary.splitlines() if "best" in line)
    assert "`m`" in best and _numbers(best.split("accuracy", 1)[1])[0] == 0.8
    fastest = next(line for line in summary.splitlines() if "fastest" in line)
    assert "`m@quant=q4_0`" in fastest
    assert _numbers(fastest.split("`,", 1)[1])[:3] == [200.0, 196.0, 206.0]


def test_markdown_structure(report: tuple[Path, str, pd.DataFrame]) -> None:
    target, text, _ = report
    headings = [line for line in text.splitlines() if line.startswith("## ")]
    expected = [
        "## What to deploy",
        "## Summary",
        "## Each variant against its base",
        "## Quality by task",
    ]
    assert headings[:4] == expected and "## Performance" in headings
    assert headings[-1] == "## Reproducibility"
    tables = re.findall(r"(?:^\|.*\|\n)+", text, flags=re.M)
    assert len(tables) == 3  # variant vs base, quality by task, performance
    for block in tables:
        lines = block.splitlines()
        widths = {line.count("|") for line in lines}
        assert len(widths) == 1, block  # every row has the header's columns
        assert set(lines[1]) <= set("|-: ")  # the separator row follows the header
    figures = re.findall(r"!\[[^]]*\]\(([^)]+)\)", text)
    assert figures
    for figure in figures:
        assert (target.parent / figure).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
