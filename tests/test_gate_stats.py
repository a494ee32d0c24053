"""The gate's statistics against independent computations on synthetic scores: exact McNemar
against scipy's binomial test and its closed-form interval, the paired bootstrap's interval,
p-value and detectable drop against the normal theory it approximates, and Holm's step-down
procedure. Point estimates are checked exactly, resampled quantities within a tolerance a
few times their resampling error (the seeds are fixed, so the checks are deterministic)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pytest
from scipy.stats import binomtest, norm

from harness.adapters.perplexity import PerplexityAdapter
from harness.gate.paired import Z_POWER, holm, mcnemar, paired_bootstrap

Rows = Sequence[Mapping[str, float]]
Z95 = float(norm.ppf(0.95))  # the gate's tests are one-sided at `confidence`


def _mean_x(rows: Rows) -> float:
    return float(np.mean([r["x"] for r in rows]))


def _rows(values: np.ndarray) -> list[dict[str, float]]:
    return [{"x": float(v)} for v in values]


def test_mcnemar_and_holm_against_known_values() -> None:
    base = [1.0] * 10 + [0.0] * 10
    cand = [0.0] * 6 + [1.0] * 4 + [0.0] * 10  # 6 lost, 0 gained
    result = mcnemar(base, cand, 0.95)
    assert result.p_value == pytest.approx(0.5**6)
    assert holm([0.01, 0.04, 0.03], 0.05) == [True, False, False]
    assert holm([0.01, 0.02, 0.03], 0.1) == [True, True, True]
    # step-down: the smallest p against alpha/3, the next against alpha/2, then alpha
    assert holm([0.001, 0.2, 0.012], 0.05) == [True, False, True]
    assert holm([0.02, 0.2, 0.012], 0.05) == [True, False, True]
    assert holm([0.02, 0.2, 0.018], 0.05) == [False, False, False]  # 0.018 > 0.05 / 3


def test_mcnemar_matches_the_binomial_test_and_its_closed_form_interval() -> None:
    rng = np.random.default_rng(1)
    n = 300
    base = (rng.random(n) < 0.8).astype(float)
    cand = np.where(rng.random(n) < 0.25, 1.0 - base, base)  # a quarter of answers flip
    lost = int(((base == 1) & (cand == 0)).sum())
    gained = int(((base == 0) & (cand == 1)).sum())
    result = mcnemar(list(base), list(cand), 0.95)
    expected_p = binomtest(lost, lost + gained, 0.5, alternative="greater").pvalue
    assert result.p_value == pytest.approx(expected_p, rel=1e-12)
    assert (result.baseline, result.candidate) == (base.mean(), cand.mean())
    assert result.drop == pytest.approx((lost - gained) / n, abs=1e-15)
    se = float(np.std(base - cand, ddof=1) / math.sqrt(n))
    assert result.drop_ci == pytest.approx((result.drop - Z95 * se, result.drop + Z95 * se))
    assert result.mde == pytest.approx((Z95 + Z_POWER) * max(se, 0.5 / math.sqrt(n)))


def test_mcnemar_without_disagreements_is_p_one_with_the_power_floor() -> None:
    same = [1.0, 0.0] * 50
    result = mcnemar(same, same, 0.95)
    assert result.p_value == 1.0 and result.drop == 0.0
    assert result.mde == pytest.approx((Z95 + Z_POWER) * 0.5 / math.sqrt(100))


@pytest.fixture(scope="module")
def paired_means() -> tuple[np.ndarray, np.ndarray]:
    """200 paired scores; the candidate is worse by 0.3 with paired noise of sd 1."""
    rng = np.random.default_rng(2)
    base = rng.normal(10.0, 2.0, 200)
    return base, base - 0.3 + rng.normal(0.0, 1.0, 200)


def test_paired_bootstrap_interval_follows_normal_theory(
    paired_means: tuple[np.ndarray, np.ndarray],
) -> None:
    base, cand = paired_means
    diffs = base - cand
    se = float(np.std(diffs, ddof=1) / math.sqrt(diffs.size))
    result = paired_bootstrap(_rows(base), _rows(cand), _mean_x, True, 0.0, False, 0.95, 2000, 0)
    assert (result.baseline, result.candidate) == (_mean_x(_rows(base)), _mean_x(_rows(cand)))
    assert result.drop == pytest.approx(float(diffs.mean()), rel=1e-12)
    # a percentile of 2000 resamples is off by about 0.05 se; allow three times that
    assert result.drop_ci[0] == pytest.approx(result.drop - Z95 * se, abs=0.15 * se)
    assert result.drop_ci[1] == pytest.approx(result.drop + Z95 * se, abs=0.15 * se)
    assert result.mde == pytest.approx((Z95 + Z_POWER) * se, rel=0.1)
    # No resample reaches a drop of zero, so the empirical p would sit at its floor 1/2001,
    # above any Holm threshold below 0.0005; the tail is the normal one instead.
    from scipy.stats import norm

    assert result.p_value < 1 / 2001
    assert result.p_value == pytest.approx(norm.sf(result.drop / se), rel=0.5)
    assert "normal tail" in result.method


def test_paired_bootstrap_p_value_is_the_resampled_tail(
    paired_means: tuple[np.ndarray, np.ndarray],
) -> None:
    base, cand = paired_means
    diffs = base - cand
    se = float(np.std(diffs, ddof=1) / math.sqrt(diffs.size))
    tolerance = float(diffs.mean()) - 0.5 * se  # the drop sits half an se above it
    result = paired_bootstrap(
        _rows(base), _rows(cand), _mean_x, True, tolerance, False, 0.95, 2000, 0
    )
    assert result.p_value == pytest.approx(norm.cdf(-0.5), abs=0.03)
    again = paired_bootstrap(
        _rows(base), _rows(cand), _mean_x, True, tolerance, False, 0.95, 2000, 0
    )
    assert again == result  # seeded: the same inputs give the same verdict


def test_paired_bootstrap_relative_and_lower_is_better() -> None:
    """bits per byte (lower is better) from the perplexity adapter's own reducer: the drop is
    the candidate's increase, relative to the baseline; identical runs have p = 1."""
    bpb = next(m for m in PerplexityAdapter.metrics if m.name == "bits_per_byte")
    rng = np.random.default_rng(3)
    n_bytes = rng.integers(200, 400, 60).astype(float)
    logprob = -n_bytes * rng.uniform(0.5, 0.7, 60)
    base = [{"logprob": lp, "n_bytes": nb} for lp, nb in zip(logprob, n_bytes, strict=True)]
    cand = [{"logprob": 1.1 * r["logprob"], "n_bytes": r["n_bytes"]} for r in base]
    b0 = -logprob.sum() / n_bytes.sum() / math.log(2)
    result = paired_bootstrap(base, cand, bpb.reduce, False, 0.05, True, 0.95, 500, 0)
    assert result.baseline == pytest.approx(b0, rel=1e-12)
    assert result.candidate == pytest.approx(1.1 * b0, rel=1e-12)
    assert result.drop == pytest.approx(0.1, rel=1e-9)  # 10% worse, relative to the baseline
    # a resample's drop is 0.1 of its own baseline over the fixed full-sample one: near 0.1
    low, high = result.drop_ci
    assert 0.095 < low < 0.1 < high < 0.105
    # no resample comes near the 0.05 allowed: the normal tail is far below the 1/501 floor
    assert result.p_value < 1e-6 and "normal tail" in result.method
    same = paired_bootstrap(base, base, bpb.reduce, False, 0.0, True, 0.95, 500, 0)
    assert same.drop == 0.0 and same.p_value == 1.0
