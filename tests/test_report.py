"""Reports: fits recover known laws, frontiers are right, the markdown answers a deployer's
questions, figures render headless (the report's numbers on a run on disk: test_report_values)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from harness.adapters.choice import ClassificationAdapter
from harness.adapters.perplexity import PerplexityAdapter
from harness.core.perf_specs import Kernels, SpecContext, perf_specs
from harness.core.values import Value
from harness.report.analysis.fit import Fit, Refusal, fit_power_law, pareto_front
from harness.report.render.document import render
from harness.store.records import SCHEMA_VERSION, Record
from tests.conftest import make_manifest, make_specs


@pytest.mark.e2e
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_saturating_fit_recovers_known_law_within_ci(seed: int) -> None:
    rng = np.random.default_rng(seed)
    e, a, alpha = 2.0, 400.0, 0.35
    n = np.geomspace(1e6, 1e10, 9)
    y = (e + a * n**-alpha) * np.exp(rng.normal(0, 0.01, n.size))
    fit = fit_power_law(n, y, saturating=True, seed=seed)
    assert isinstance(fit, Fit)
    for name, true in (("E", e), ("alpha", alpha), ("A", a)):
        low, high = fit.ci[name]
        assert low <= true <= high, (name, fit.params, fit.ci)
    assert fit.params["E"] == pytest.approx(e, rel=0.1)
    assert fit.heldout_rel_error is not None and fit.heldout_rel_error < 0.05
    within = fit.size_within(0.1)
    assert within is not None
    reducible = fit.params["A"] * within ** -fit.params["alpha"]
    assert reducible == pytest.approx(0.1 * fit.params["E"])


@pytest.mark.e2e
def test_plain_fit_and_refusals() -> None:
    n = np.geomspace(1e3, 1e6, 6)
    fit = fit_power_law(n, 50 * n**-0.2, saturating=False)
    assert isinstance(fit, Fit) and fit.params["alpha"] == pytest.approx(0.2, rel=1e-3)
    refused = fit_power_law([1e6, 1e7, 1e8], [3.0, 2.5, 2.2], saturating=True)
    assert isinstance(refused, Refusal) and "needs at least 5" in refused.reason


def test_four_sizes_are_refused_for_the_saturating_law() -> None:
    """With 4 sizes, resamples of 3 interpolate exactly (A in [3, 8e207] was printed)."""
    refused = fit_power_law([1e6, 1e7, 1e8, 1e9], [3.0, 2.5, 2.2, 2.1], saturating=True)
    assert isinstance(refused, Refusal) and "4 distinct sizes" in refused.reason


def test_rising_losses_are_refused_not_fit_with_negative_alpha() -> None:
    n = np.geomspace(1e6, 1e9, 6)
    for y in (2.0 * n**0.05, np.full(n.size, 2.0)):
        refused = fit_power_law(n, y, saturating=True)
        assert isinstance(refused, Refusal) and "alpha" in refused.reason
        plain = fit_power_law(n, y, saturating=False)
        assert isinstance(plain, Refusal)


def test_size_within_never_divides_by_zero() -> None:
    fit = Fit("saturating", {"E": 1.0, "A": 2.0, "alpha": 0.0}, {}, 5, None)
    assert fit.size_within(0.1) is None


def test_fit_intervals_are_bounded_and_from_resamples_with_four_sizes() -> None:
    rng = np.random.default_rng(3)
    n = np.geomspace(1e6, 1e9, 5)
    y = (2.0 + 300 * n**-0.3) * np.exp(rng.normal(0, 0.02, n.size))
    fit = fit_power_law(n, y, saturating=True, seed=0)
    assert isinstance(fit, Fit)
    assert 0 < fit.params["alpha"] <= 5
    for low, high in fit.ci.values():
        assert np.isfinite(low) and np.isfinite(high) and high < 1e30
    assert fit.ci["alpha"][0] > 0


def test_pareto_front() -> None:
    cost = [1.0, 2.0, 3.0, 1.5, 4.0]
    quality = [0.5, 0.7, 0.9, 0.4, 0.85]
    assert pareto_front(cost, quality, higher_is_better=True) == [0, 1, 2]
    assert pareto_front(cost, [5, 4, 3, 6, 1], higher_is_better=False) == [0, 1, 2, 4]


def _record(
    variant: str,
    knobs: dict[str, str | int | float],
    ppl: float,
    tps: float,
    n_params: int,
    perf: dict[str, Value] | None = None,
) -> Record:
    return Record(
        run_id="run1",
        suite="snap",
        task="ppl",
        task_version=1,
        adapter="perplexity",
        variant_id=variant,
        model="m",
        n_params=n_params,
        knobs=knobs,
        quality={
            "token_perplexity": Value(
                value=ppl,
                unit="ppl",
                higher_is_better=False,
                ci_low=ppl * 0.9,
                ci_high=ppl * 1.1,
                n=10,
            )
        },
        metrics=make_specs("perplexity", PerplexityAdapter.metrics, ["token_perplexity"]),
        perf={
            "input_tokens_per_s": Value(value=tps, unit="tok/s", higher_is_better=True),
            "wall_time": Value(value=1.0, unit="s"),
            **(perf or {}),
        },
        unavailable={"energy": "no counter here"},
        started_at="t",
        wall_s=2.0,
    )


def _records() -> list[Record]:
    bits = lambda b: {"bits_per_weight": Value(value=b, unit="bits")}  # noqa: E731
    layers = [(6, 40.0, 60e6), (12, 30.0, 90e6), (18, 26.0, 120e6), (24, 24.5, 150e6)]
    return [
        _record("m", {}, 24.0, 100.0, 180_000_000),
        *[
            _record(
                f"m@layers={k}",
                {"layers": k},
                p,
                100.0 * 30 / k,
                int(n),
                {"layers_kept": Value(value=k, unit="layers")},
            )
            for k, p, n in layers
        ],
        _record("m@quant=q8_0", {"quant": "q8_0"}, 24.1, 100.0, 180_000_000, bits(8.5)),
        _record("m@quant=q4_0", {"quant": "q4_0"}, 30.0, 100.0, 180_000_000, bits(4.5)),
    ]


def _speed(value: float, spread: float) -> Value:
    reps = [value - spread, value, value + spread]
    return Value(
        value=value,
        unit="tok/s",
        higher_is_better=True,
        ci_low=min(reps),
        ci_high=max(reps),
        repeats=reps,
    )


def _deployer_records(schema: int = SCHEMA_VERSION) -> list[Record]:
    """The synthetic run above plus what the review found missing: repeat intervals, a
    fake-quant variant on the base's kernels, a perplexity above the vocabulary size.

    Schema 3 says the kernels are simulated in the perf specs; schema 2 said it only in the
    conventions' text (`kernels: same as ...`), which old runs still carry."""
    out = []
    for r in _records():
        conventions = {"vocab_size": "1000"}
        simulated = r.knobs.get("quant") == "q8_0"
        if simulated and schema < 3:
            conventions["kernels"] = "same as the unquantized model (fake quantization)"
        tps = r.perf["input_tokens_per_s"].value
        # q8_0 measured 50% faster than its base by noise: same kernels, must not rank
        perf = {**r.perf, "input_tokens_per_s": _speed(tps * (1.5 if simulated else 1), 5)}
        kernels = Kernels.SIMULATED if simulated else Kernels.REAL
        specs = perf_specs(perf, SpecContext(kernels=kernels)) if schema >= 3 else {}
        update = {"conventions": conventions, "perf": perf, "perf_specs": specs}
        out.append(r.model_copy(update={**update, "schema_version": schema}))
    broken = _record("m@quant=q2", {"quant": "q2"}, 2.4e6, 100.0, 180_000_000)
    out.append(broken.model_copy(update={"conventions": {"vocab_size": "1000"}}))
    return out


@pytest.mark.e2e
@pytest.mark.parametrize("schema", [SCHEMA_VERSION, 2])
def test_report_answers_what_do_i_lose_and_gain(tmp_path: Path, schema: int) -> None:
    manifest = make_manifest()
    records = _deployer_records(schema)
    text = render([manifest], records, tmp_path / "figs", "figs", "limitbench report run1")
    figures = sorted(p.name for p in (tmp_path / "figs").iterdir())
    assert "fit_ppl_m__layers_.png" in figures and "frontier_ppl.png" in figures
    for name in figures:
        assert (tmp_path / "figs" / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    vs = text.split("## Each variant against its base", 1)[1].split("\n## ", 1)[0]
    rows = {line.split(" | ")[1]: line for line in vs.splitlines() if line.startswith("| ppl")}
    assert "**worse**" in rows["m@layers=6"] and "**worse**" in rows["m@quant=q2"]
    assert "no detectable change" in rows["m@quant=q8_0 ‡"]
    assert "×1e+05" in rows["m@quant=q2"]  # a 1e5-fold perplexity is a ratio, not +1e7 %
    assert "no detectable quality change vs base for" in vs and "`m@layers=24`" in vs
    # depth ladder of one model: a degradation curve with an interval-bearing fit, no "limit"
    assert "## Degradation curves" in text and "## Limits" not in text
    summary = text.split("## Summary", 1)[1].split("\n## ", 1)[0]
    assert "fastest by input tok/s" in summary or "variants tied" in summary
    assert "m@quant=q8_0" not in summary.split("fastest", 1)[-1].split("(same kernels")[0] or (
        "(same kernels as base)" in summary
    )
    assert "above the vocabulary size 1000" in summary
    assert "input tok/s" in text and "output tok/s" in text


@pytest.mark.parametrize("schema", [SCHEMA_VERSION, 2])
def test_fastest_ignores_a_same_kernel_variant_ahead_by_noise(schema: int) -> None:
    from harness.report.sections.summary import speed_clauses

    chosen = ("m", "m@quant=q8_0")
    records = [r for r in _deployer_records(schema) if r.variant_id in chosen]
    (clause,) = speed_clauses("ppl", records)
    assert clause.tie and "all 2 ranked variants tied" in clause.detail


@pytest.mark.e2e
def test_report_cli_exports_csv(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ppl_suite: object
) -> None:
    import pandas as pd

    from tests.conftest import run_cli

    suite = ppl_suite(
        [{"name": "m", "source": "x", "backend": "mock"}],  # type: ignore[operator]
        {"mock_quality": [1.0, 2.0]},
    )
    out, again = tmp_path / "run", tmp_path / "run2"
    for folder in (out, again):
        assert run_cli(monkeypatch, "run", str(suite), "--out", str(folder), "--no-report") == 0
    csv = tmp_path / "frame.csv"
    target = tmp_path / "r.md"
    report = ("report", str(out), str(again), "--out", str(target), "--csv", str(csv))
    assert run_cli(monkeypatch, *report) == 0
    frame = pd.read_csv(csv)
    assert {"task", "variant_id", "metric", "value", "ci_low", "unit"} <= set(frame.columns)
    assert len(frame[frame.metric == "token_perplexity"]) == 4  # 2 variants x 2 runs


def test_vs_base_uses_paired_samples_and_flags_below_chance() -> None:
    from harness.report.analysis.flags import flags
    from harness.report.analysis.versus import versus_base
    from harness.report.sections.deployer import vs_base_section

    def acc_record(variant: str, knobs: dict[str, str | int | float | bool], acc: float) -> Record:
        rec = _record(variant, knobs, 1.0, 100.0, 1000)
        value = Value(
            value=acc,
            unit="fraction",
            higher_is_better=True,
            ci_low=acc - 0.1,
            ci_high=acc + 0.1,
            n=40,
        )
        return rec.model_copy(
            update={
                "adapter": "classification",
                "quality": {"accuracy": value},
                "metrics": make_specs(
                    "classification", ClassificationAdapter.metrics, ["accuracy"]
                ),
                "conventions": {"chance_accuracy": "0.5"},
            }
        )

    base_correct = [1.0] * 30 + [0.0] * 10
    cand_correct = [1.0] * 12 + [0.0] * 28  # 18 of the base's correct answers lost
    same = list(base_correct)
    samples = {
        ("m", "ppl"): {f"s{i}": {"correct": c} for i, c in enumerate(base_correct)},
        ("m@quant=q4_0", "ppl"): {f"s{i}": {"correct": c} for i, c in enumerate(cand_correct)},
        ("m@quant=q8_0", "ppl"): {f"s{i}": {"correct": c} for i, c in enumerate(same)},
    }
    records = [
        acc_record("m", {}, 0.75),
        acc_record("m@quant=q4_0", {"quant": "q4_0"}, 0.3),
        acc_record("m@quant=q8_0", {"quant": "q8_0"}, 0.75),
    ]
    found = {v.record.variant_id: v.quality for v in versus_base(records, samples, 0)}
    assert found["m@quant=q4_0"].verdict == "worse"
    assert found["m@quant=q4_0"].change == pytest.approx(-0.45)
    assert found["m@quant=q4_0"].method.startswith("paired bootstrap over 40")
    assert found["m@quant=q8_0"].verdict == "no detectable change at n = 40"
    assert found["m@quant=q8_0"].low == found["m@quant=q8_0"].high == 0.0
    assert "below chance (0.5)" in flags(records[1])[0]
    assert "no detectable quality change vs base for `m@quant=q8_0`" in vs_base_section(
        records, samples, 0
    )


def test_vs_base_picks_the_lightest_load_and_the_most_bits() -> None:
    from harness.report.analysis.versus import base_records

    bits = lambda b: {"bits_per_weight": Value(value=b, unit="bits")}  # noqa: E731
    served = [_record(f"s@concurrency={c}", {"concurrency": c}, 24.0, 10.0, 1) for c in (4, 1, 2)]
    ladder = [
        _record(f"g@quant={q}", {"quant": q}, p, 10.0, 1, bits(b))
        for q, p, b in (("q4_k_m", 25.0, 6.2), ("f16", 24.0, 16.0), ("q8_0", 24.1, 8.5))
    ]
    served = [r.model_copy(update={"model": "s"}) for r in served]
    ladder = [r.model_copy(update={"model": "g"}) for r in ladder]
    bases = base_records([*served, *ladder])
    assert bases[("s", "ppl")].variant_id == "s@concurrency=1"
    assert bases[("g", "ppl")].variant_id == "g@quant=f16"


def test_a_single_timed_window_ranks_against_nothing() -> None:
    from harness.report.analysis.speed import fastest, speed_of

    def timed(variant: str, tps: float, repeats: list[float] | None) -> Record:
        r = _record(variant, {}, 24.0, tps, 1)
        speed = Value(
            value=tps,
            unit="tok/s",
            higher_is_better=True,
            ci_low=min(repeats or [tps]),
            ci_high=max(repeats or [tps]),
            repeats=repeats,
        )
        return r.model_copy(update={"perf": {**r.perf, "input_tokens_per_s": speed}})

    one = speed_of(timed("a", 200.0, [200.0]), "input_tokens_per_s")
    three = speed_of(timed("b", 100.0, [99.0, 100.0, 101.0]), "input_tokens_per_s")
    slow = speed_of(timed("c", 50.0, [49.0, 50.0, 51.0]), "input_tokens_per_s")
    assert one is not None and three is not None and slow is not None
    assert not fastest([one, three])[1]  # one window: tied with everything
    group, apart = fastest([three, slow])
    assert apart and [s.record.variant_id for s in group] == ["b"]
