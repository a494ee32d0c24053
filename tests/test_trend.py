"""The quality-per-cost trend: a known doubling time recovered within its interval, refusals
below three release dates, external points read strictly and drawn, and the report section."""

from __future__ import annotations

import math
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pytest

from harness.core.errors import UserError
from harness.core.perf_names import PerfName
from harness.core.values import Value
from harness.report.analysis.trend import (
    Cost,
    TrendFit,
    TrendOptions,
    TrendRefusal,
    fit_doubling,
    measured_points,
    read_external,
)
from harness.report.render.drawn import trend_section
from harness.store.records import Record

START = date(2020, 1, 1)


def _record(name: str, released: date | None, accuracy: float, samples_per_s: float) -> Record:
    return Record(
        run_id="r",
        suite="s",
        task="qa",
        task_version=1,
        adapter="qa",
        variant_id=name,
        model=name,
        n_params=1,
        knobs={},
        quality={"accuracy": Value(value=accuracy, unit="acc", higher_is_better=True, n=100)},
        perf={
            PerfName.SAMPLES_PER_S: Value(
                value=samples_per_s, unit="samples/s", higher_is_better=True
            ),
            PerfName.ENERGY_NET: Value(value=50.0, unit="J", higher_is_better=False),
        },
        started_at="2026-01-01T00:00:00+00:00",
        wall_s=1.0,
        model_released=released.isoformat() if released else None,
    )


def _generations(doubling_months: float, n: int, noise: float, seed: int = 0) -> list[Record]:
    """n models over four years whose efficiency doubles every `doubling_months`."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        day = START + timedelta(days=int(i * 4 * 365 / (n - 1)))
        months = (day - START).days / (365.25 / 12)
        efficiency = 2 ** (months / doubling_months) * 2 ** rng.normal(0, noise)
        out.append(_record(f"m{i}", day, 0.5, efficiency / 0.5))
    return out


@pytest.mark.e2e
def test_a_known_doubling_time_is_recovered_within_its_interval() -> None:
    points, skipped = measured_points(_generations(8.0, 12, noise=0.5), "qa", Cost.SECOND)
    assert len(points) == 12 and not skipped
    fit = fit_doubling(points, seed=1)
    assert isinstance(fit, TrendFit)
    assert fit.low <= 8.0 <= fit.high
    assert fit.doubling_months == pytest.approx(8.0, rel=0.15)
    assert 4 < fit.low < fit.high < 16  # 12 generations pin it down
    exact = fit_doubling(measured_points(_generations(8.0, 5, noise=0.0), "qa", Cost.SECOND)[0], 1)
    assert isinstance(exact, TrendFit) and exact.doubling_months == pytest.approx(8.0, rel=1e-6)


def test_two_release_dates_are_refused_with_the_reason() -> None:
    records = [
        _record("smollm2", date(2024, 11, 1), 0.7, 40),
        _record("gemma3", date(2025, 8, 14), 0.6, 20),
    ]
    points, _ = measured_points(records, "qa", Cost.SECOND)
    fit = fit_doubling(points, seed=1)
    assert isinstance(fit, TrendRefusal)
    assert fit.reason == "2 distinct release date(s) among 2 model(s); a trend needs at least 3"
    zero = [*records, _record("z", date(2026, 1, 1), 0.0, 10)]
    refused = fit_doubling(measured_points(zero, "qa", Cost.SECOND)[0], seed=1)
    assert (
        isinstance(refused, TrendRefusal)
        and "(1 more scored 0, which a log-scale" in refused.reason
    )


def test_undated_and_lower_is_better_models_are_left_out_with_the_reason() -> None:
    ppl = _record("p", date(2023, 1, 1), 20.0, 5).model_copy(
        update={
            "quality": {
                "token_perplexity": Value(value=20.0, unit="ppl", higher_is_better=False, n=4)
            }
        }
    )
    points, skipped = measured_points([_record("u", None, 0.5, 5), ppl], "qa", Cost.SECOND)
    assert points == []
    assert skipped == [
        "`p`: token_perplexity is lower-is-better, not a quality per cost",
        "`u`: its model entry gives no `released` date",
    ]


def test_costs_per_joule_and_per_dollar() -> None:
    record = _record("m", START, 0.5, 10.0)
    (joule,), _ = measured_points([record], "qa", Cost.JOULE)
    assert joule.efficiency == pytest.approx(0.5 * 100 / 50.0)  # 100 samples, 50 J
    (dollar,), _ = measured_points([record], "qa", Cost.DOLLAR, price_per_hour=2.0)
    assert dollar.efficiency == pytest.approx(0.5 * 10.0 * 3600 / 2.0)
    with pytest.raises(UserError, match="--price-per-hour"):
        TrendOptions(Cost.DOLLAR)


def test_external_points_are_read_strictly(tmp_path: Path) -> None:
    good = tmp_path / "points.csv"
    good.write_text("name,released,task,efficiency,cost\npaper-a,2021-06-01,qa,3.5,second\n")
    (point,) = read_external(good, Cost.SECOND)["qa"]
    assert point.released == date(2021, 6, 1) and not point.measured
    with pytest.raises(UserError, match=r"points\.csv:2: cost 'second' is not the trend's 'joule'"):
        read_external(good, Cost.JOULE)
    bad = tmp_path / "bad.csv"
    bad.write_text("name,released,task,efficiency,cost\nx,June 2021,qa,3,second\n")
    with pytest.raises(UserError, match=r"bad\.csv:2: .*released: YYYY-MM-DD"):
        read_external(bad, Cost.SECOND)
    short = tmp_path / "short.csv"
    short.write_text("name,released\nx,2021-01-01\n")
    with pytest.raises(UserError, match="missing cost, efficiency, task"):
        read_external(short, Cost.SECOND)


@pytest.mark.e2e
def test_the_section_shows_the_fit_and_draws_external_points(tmp_path: Path) -> None:
    external = tmp_path / "points.csv"
    external.write_text("name,released,task,efficiency,cost\npaper-a,2019-06-01,qa,0.5,second\n")
    options = TrendOptions(Cost.SECOND, None, external)
    text = trend_section(_generations(8.0, 6, noise=0.2), tmp_path / "fig", "fig", 1, options)
    row = next(line for line in text.splitlines() if line.startswith("| qa |"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[1:3] == ["6", "6"]
    doubling = float(cells[3].split()[0])
    assert math.isclose(doubling, 8.0, rel_tol=0.3)
    assert (tmp_path / "fig" / "qa_trend.png").stat().st_size > 10_000
    assert "![qa: quality per second by release date](fig/qa_trend.png)" in text
    assert (
        trend_section([_record("u", None, 0.5, 5)], tmp_path / "f2", "f2", 1, TrendOptions()) == ""
    )
