"""Every figure the report can draw, drawn from synthetic records through the sections that
make them: no two texts overlap (their boxes measured through the renderer: titles, axis and
tick labels, legends, point numbers and the key of names), no axes is left without data, a
log axis holds only positive values, and a figure without information is not drawn but named
in one line where its link would be. Nine trend figures of two models (empty log axes, dates
over each other, names in the margin) were the default suite's report before."""

from __future__ import annotations

import subprocess
import sys
import warnings
from collections.abc import Iterator
from datetime import date
from itertools import combinations
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from matplotlib.collections import PathCollection
from matplotlib.text import Text

from harness.core.perf_names import Percentiled, PerfName, percentile_name
from harness.core.values import Value
from harness.report.analysis.scaling import Series
from harness.report.analysis.trend import TrendOptions, TrendPoint
from harness.report.render import drawn
from harness.report.render.drawable import refusal
from harness.report.render.plots import _pyplot
from harness.report.sections import limits, scaling, trend
from harness.report.sections.parts import (
    File,
    FrontierFigure,
    ScalingFigure,
    Section,
    ServingFigure,
    TrendFigure,
)
from harness.store.records import Record, RunStore
from tests.conftest import make_manifest
from tests.test_report import _deployer_records, _record, _records
from tests.test_trend import _generations
from tests.test_trend import _record as _dated


def _family() -> list[Record]:
    """Six models of a family whose loss follows a saturating law: a fitted curve."""
    sizes = np.geomspace(1e7, 3e9, 6)
    return [
        _record(f"f{i}", {}, 2.0 + 400 * float(n) ** -0.35, 100.0, int(n)).model_copy(
            update={"model": f"f{i}"}
        )
        for i, n in enumerate(sizes)
    ]


def _serving() -> list[Record]:
    out = []
    for level, (rate, ttft, tpot) in enumerate([(30.0, 0.7, 0.017), (29.0, 2.3, 0.018)], 1):
        perf = {
            PerfName.ACHIEVED_OUTPUT_TOKENS_PER_S: Value(value=rate, unit="tok/s"),
            percentile_name(Percentiled.TTFT, "p50"): Value(value=ttft, unit="s"),
            percentile_name(Percentiled.TTFT, "p99"): Value(value=ttft * 1.3, unit="s"),
            percentile_name(Percentiled.TPOT, "p50"): Value(value=tpot, unit="s"),
            percentile_name(Percentiled.TPOT, "p99"): Value(value=tpot * 1.2, unit="s"),
        }
        base = _record(f"s@concurrency={level}", {"concurrency": level}, 20.0, rate, 1)
        out.append(base.model_copy(update={"perf": {**base.perf, **perf}}))
    return out


def _crowded() -> ScalingFigure:
    """Eight quantization levels at nearly one spot (names used to print over each other)."""
    bits = [4.5, 4.5, 4.6, 4.5, 8.5, 8.5, 16.0, 32.0]
    bpb = [1.061, 1.0611, 1.06, 1.0612, 1.005, 1.0051, 1.005, 1.005]
    names = [f"smollm2-135m-gguf@quant=level{i}" for i in range(len(bits))]
    series = Series(
        "smollm2-135m-gguf", bits, bpb, [b - 0.02 for b in bpb], [b + 0.02 for b in bpb], names
    )
    return ScalingFigure(
        "crowded.png", "crowded", "bits per weight", "bits_per_byte (bits/byte)", [series], True
    )


def every_figure() -> list[File]:
    """The files of every section that draws, on synthetic records."""
    sections: list[Section] = [
        scaling.scaling_section(_records(), "fig"),
        limits.fits_section(_family(), "fig", 0),
        scaling.frontier_section(_deployer_records(), "fig"),
        trend.trend_section(_generations(8.0, 6, noise=0.2), "fig", 1, TrendOptions()),
    ]
    files: list[File] = [f for s in sections for f in s.files]
    files.append(ServingFigure("serving.png", "latency vs throughput", _serving(), 1.0))
    files.append(_crowded())
    return files


@pytest.fixture
def kept_open(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """pyplot with `close` held off, so a test can measure the figure a plot drew."""
    plt = _pyplot()
    monkeypatch.setattr(plt, "close", lambda fig=None: None)
    yield plt
    plt.close("all")


def _texts(fig: Any) -> list[Any]:
    """Every text the figure draws with something in it: tick labels only inside the view."""
    found: list[Any] = [*fig.texts]
    for ax in fig.axes:
        found += [ax.title, ax.xaxis.label, ax.yaxis.label, ax.xaxis.get_offset_text()]
        found += [c for c in ax.get_children() if isinstance(c, Text)]
        legend = ax.get_legend()
        if legend is not None:
            found += [*legend.get_texts(), legend.get_title()]
        for axis, limits_ in ((ax.xaxis, ax.get_xlim()), (ax.yaxis, ax.get_ylim())):
            low, high = sorted(limits_)
            for minor in (False, True):
                locs = axis.get_minorticklocs() if minor else axis.get_majorticklocs()
                labels = axis.get_ticklabels(minor=minor)
                found += [t for loc, t in zip(locs, labels, strict=False) if low <= loc <= high]
    unique = {id(t): t for t in found if t.get_visible() and t.get_text().strip()}
    return list(unique.values())


def assert_no_overlap(fig: Any) -> int:
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    texts = _texts(fig)
    boxes = [(t.get_text(), Text.get_window_extent(t, renderer)) for t in texts]
    # a text at a NaN position is not drawn (matplotlib skips it)
    boxes = [(text, box) for text, box in boxes if np.isfinite(box.get_points()).all()]
    for (a, box_a), (b, box_b) in combinations(boxes, 2):
        assert not box_a.overlaps(box_b), f"{a!r} overlaps {b!r}"
    width, height = fig.get_figwidth() * fig.dpi, fig.get_figheight() * fig.dpi
    for text, box in boxes:  # nothing runs off the image
        assert box.x0 >= -1 and box.x1 <= width + 1 and box.y0 >= -1, text
        assert box.y1 <= height + 1, text
    return len(texts)


def assert_axes_hold_data(fig: Any) -> None:
    for ax in fig.axes:
        xs, ys = [], []
        for line in ax.lines:
            data = np.asarray(line.get_xydata(), dtype=float)
            xs += list(data[:, 0])
            ys += list(data[:, 1])
        for collection in ax.collections:
            if not isinstance(collection, PathCollection):  # scatter points; bands and
                continue  # error bars have no data of their own
            offsets = np.asarray(collection.get_offsets(), dtype=float)
            xs += list(offsets[:, 0]) if offsets.size else []
            ys += list(offsets[:, 1]) if offsets.size else []
        x, y = np.asarray(xs), np.asarray(ys)
        finite = np.isfinite(x) & np.isfinite(y)
        assert finite.any(), f"axes {ax.get_title()!r} has no data"
        if ax.get_yscale() == "log":
            assert (y[finite] > 0).all(), ax.get_title()
        if ax.get_xscale() == "log":
            assert (x[finite] > 0).all(), ax.get_title()
        (x0, x1), (y0, y1) = sorted(ax.get_xlim()), sorted(ax.get_ylim())
        inside = (x[finite] >= x0) & (x[finite] <= x1) & (y[finite] >= y0) & (y[finite] <= y1)
        assert inside.any(), f"axes {ax.get_title()!r} shows none of its data"


def test_every_figure_has_data_and_no_text_over_another(kept_open: Any, tmp_path: Path) -> None:
    files = every_figure()
    kinds = {type(f).__name__ for f in files}
    assert kinds >= {"ScalingFigure", "FrontierFigure", "TrendFigure", "ServingFigure"}
    assert any(isinstance(f, ScalingFigure) and f.fit is not None for f in files)
    for file in files:
        assert refusal(file) is None, file.name
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # a library warning is a failure here
            path = drawn.write_file(file, tmp_path)
        assert path.stat().st_size > 5_000
        fig = kept_open.gcf()
        assert assert_no_overlap(fig) >= 5, file.name
        assert_axes_hold_data(fig)
        kept_open.close("all")


def test_points_at_one_spot_share_a_number_and_the_key_names_each(
    kept_open: Any, tmp_path: Path
) -> None:
    drawn.write_file(_crowded(), tmp_path)
    fig = kept_open.gcf()
    key = [t.get_text() for t in fig.texts]
    names = [f"smollm2-135m-gguf@quant=level{i}" for i in range(8)]
    assert [n for n in names if any(line.endswith(n) for line in key)] == names
    numbers = [t.get_text() for t in fig.axes[0].texts]
    assert numbers == [str(k) for k in range(1, len(numbers) + 1)]
    assert len(numbers) < len(names)  # the four levels at 4.5 bits share a spot


def _trend_figure(efficiencies: list[float]) -> TrendFigure:
    days = [date(2023, 1, 1), date(2023, 9, 1), date(2024, 5, 1), date(2025, 1, 1)]
    points = [
        TrendPoint(f"m{i}", d, e) for i, (d, e) in enumerate(zip(days, efficiencies, strict=False))
    ]
    return TrendFigure(
        "t.png", "qa: quality per second by release date", "accuracy x samples/s", points, None
    )


def test_a_figure_without_information_is_not_drawn_and_one_line_says_why(tmp_path: Path) -> None:
    two_models = _trend_figure([0.5, 0.7])
    zeros = _trend_figure([0.0, 0.0, 0.4, 0.6])
    series = Series("m", [0.0, 0.0], [1.0, 2.0], [1.0, 2.0], [1.0, 2.0], ["a", "b"])
    on_log = ScalingFigure("c.png", "c: loss vs parameters", "parameters", "loss", [series], True)
    frontier = scaling.frontier_section(_records(), "fig").files[0]  # timed once: none ranked
    assert isinstance(frontier, FrontierFigure)
    for file, why in (
        (two_models, "2 distinct release date(s) with a positive value; a trend needs at least 3"),
        (zeros, "2 distinct release date(s) with a positive value (2 more point(s) at 0"),
        (on_log, "0 point(s) to draw (a log axis places only positive values)"),
        (frontier, "0 variant(s) with a ranked speed"),
    ):
        text = drawn.draw(
            Section(f"intro\n\n![{file.title}](fig/{file.name})\n\nafter", (file,)), tmp_path
        )
        assert why in text, text
        assert f"*No figure ({file.title}): " in text and "fig/" not in text
        assert text.startswith("intro\n\n*No figure") and text.endswith("after")
        assert not (tmp_path / file.name).exists()
    three = _trend_figure([0.0, 0.3, 0.4, 0.6])  # three dated points drawn; the 0 left out
    assert refusal(three) is None


@pytest.mark.e2e
def test_the_report_command_prints_no_library_warning(tmp_path: Path) -> None:
    """Zeros where a figure's axis is log (a trend of models scoring 0 beside others): the
    report is written and stderr carries no warning."""
    store = RunStore(tmp_path / "run")
    store.create(make_manifest())
    days = [date(2023, 1, 1), date(2023, 9, 1), date(2024, 5, 1), date(2025, 1, 1)]
    for i, (day, accuracy) in enumerate(zip(days, [0.0, 0.3, 0.0, 0.6], strict=True)):
        store.append_unit(_dated(f"m{i}", day, accuracy, 2.0 + i), [])
    out = tmp_path / "report.md"
    done = subprocess.run(
        [sys.executable, "-m", "harness.cli", "report", str(tmp_path / "run"), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "Warning" not in done.stderr and "warn" not in done.stderr.lower(), done.stderr
    text = out.read_text()
    assert "*No figure (qa: quality per second by release date): 2 distinct" in text
