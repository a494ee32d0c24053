"""Scaling-law fits: L(N) = E + A * N^-alpha (saturating) and L(N) = A * N^-alpha (plain).

Fitted with scipy's least_squares on log residuals (log y - log L(N)) with a soft-L1 robust
loss, parameters kept positive through logs. Bootstrap over points gives CIs; a held-out
check fits without the largest N and predicts it. Too few points means a refusal with the
reason, never a fit through noise.

Guards (each one a failure seen in practice): the three-parameter law needs at least 5
distinct sizes, two more than its parameters, because with 4 a resample of 3 sizes
interpolates exactly and its "interval" spans hundreds of decades; alpha is bounded to
(0, ALPHA_MAX], since a loss that rises with N is not a power-law decay and alpha = 0 makes
the size-within-margin formula divide by zero; intervals come only from resamples that keep
at least 4 distinct sizes, and are withheld when fewer than MIN_QUALIFYING of the N_BOOT
resamples qualify.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

N_BOOT = 200
MIN_SIZES = {"saturating": 5, "plain": 3}
MIN_RESAMPLE_SIZES = 4
MIN_QUALIFYING = 40  # resamples with enough sizes; fewer and no interval is given
ALPHA_MIN, ALPHA_MAX = 1e-3, 5.0


@dataclass(frozen=True)
class Fit:
    form: str  # "saturating" or "plain"
    params: dict[str, float]  # E (saturating only), A, alpha
    ci: dict[str, tuple[float, float]]
    n_points: int
    heldout_rel_error: float | None  # |pred - actual| / actual at the largest N
    draws: tuple[dict[str, float], ...] = ()  # qualifying bootstrap fits, for the band

    def band(self, n: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        """Pointwise 95% band of the curve over the bootstrap fits, or None without them."""
        if len(self.draws) < MIN_QUALIFYING:
            return None
        curves = np.asarray(
            [d.get("E", 0.0) + d["A"] * np.power(n, -d["alpha"]) for d in self.draws]
        )
        return np.percentile(curves, 2.5, axis=0), np.percentile(curves, 97.5, axis=0)

    def predict(self, n: float | np.ndarray) -> np.ndarray:
        e = self.params.get("E", 0.0)
        return np.asarray(e + self.params["A"] * np.power(n, -self.params["alpha"]))

    def size_within(self, margin: float) -> float | None:
        """N at which the reducible part A N^-alpha falls to `margin` x E."""
        e = self.params.get("E")
        if not e or self.params["alpha"] <= 0 or margin <= 0:
            return None
        return float((self.params["A"] / (margin * e)) ** (1 / self.params["alpha"]))


SLOPE_EPS = 1e-9  # |log-log slope| below this is flat, not falling


@dataclass(frozen=True)
class Refusal:
    form: str
    reason: str


def _solve(x: np.ndarray, y: np.ndarray, saturating: bool) -> np.ndarray:
    from scipy.optimize import least_squares

    scale = x.min()  # fit in N / N_min so the exponent does not fight huge magnitudes
    xs = x / scale

    def residuals(theta: np.ndarray) -> np.ndarray:
        log_a, alpha = theta[0], theta[1]
        pred = np.exp(log_a) * np.power(xs, -alpha)
        if saturating:
            pred = pred + np.exp(theta[2])
        return np.asarray(np.log(y) - np.log(pred))

    start = [np.log(max(y.max() - y.min(), 1e-6)), 0.5] + (
        [np.log(y.min() * 0.9)] if saturating else []
    )
    if not saturating:
        start[0] = np.log(y.max())
    low = [-np.inf, ALPHA_MIN] + ([-np.inf] if saturating else [])
    high = [np.inf, ALPHA_MAX] + ([np.inf] if saturating else [])
    fitted = least_squares(
        residuals, start, loss="soft_l1", f_scale=0.1, max_nfev=2000, bounds=(low, high)
    )
    theta = fitted.x.copy()
    theta[0] = theta[0] + theta[1] * np.log(scale)  # back to A in units of N
    return np.asarray(theta)


def _params(theta: np.ndarray, saturating: bool) -> dict[str, float]:
    out = {"A": float(np.exp(theta[0])), "alpha": float(theta[1])}
    if saturating:
        out["E"] = float(np.exp(theta[2]))
    return out


def fit_power_law(
    x: Sequence[float] | np.ndarray,
    y: Sequence[float] | np.ndarray,
    saturating: bool = True,
    seed: int = 0,
) -> Fit | Refusal:
    form = "saturating" if saturating else "plain"
    xa, ya = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    keep = np.isfinite(xa) & np.isfinite(ya) & (xa > 0) & (ya > 0)
    xa, ya = xa[keep], ya[keep]
    needed = MIN_SIZES[form]
    if len(np.unique(xa)) < needed:
        return Refusal(
            form,
            f"{len(np.unique(xa))} distinct sizes; a {form} law needs at least {needed} "
            "(with fewer, resamples interpolate exactly and the intervals mean nothing)",
        )
    slope = float(np.polyfit(np.log(xa), np.log(ya), 1)[0])
    # Flat values give a slope of +-1e-17 from rounding, whose sign depends on the BLAS.
    if slope >= -SLOPE_EPS or float(np.ptp(np.log(ya))) < SLOPE_EPS:
        return Refusal(form, "the values do not fall with size (a power law needs alpha > 0)")
    params = _params(_solve(xa, ya, saturating), saturating)
    if params["alpha"] <= ALPHA_MIN * 1.01:
        return Refusal(form, "the values do not fall with size (alpha would be <= 0)")
    draws = _bootstrap(xa, ya, saturating, seed)
    ci: dict[str, tuple[float, float]] = {}
    if len(draws) >= MIN_QUALIFYING:
        for k in params:
            values = [d[k] for d in draws]
            ci[k] = (float(np.percentile(values, 2.5)), float(np.percentile(values, 97.5)))
    return Fit(form, params, ci, len(xa), _heldout(xa, ya, saturating), tuple(draws))


def _bootstrap(x: np.ndarray, y: np.ndarray, saturating: bool, seed: int) -> list[dict[str, float]]:
    """Fits to point resamples that keep >= MIN_RESAMPLE_SIZES distinct sizes."""
    rng = np.random.default_rng(seed)
    draws = []
    for _ in range(N_BOOT):
        idx = rng.integers(0, len(x), len(x))
        if len(np.unique(x[idx])) >= MIN_RESAMPLE_SIZES:
            draws.append(_params(_solve(x[idx], y[idx], saturating), saturating))
    return draws


def _heldout(x: np.ndarray, y: np.ndarray, saturating: bool) -> float | None:
    largest = int(np.argmax(x))
    rest = np.arange(len(x)) != largest
    if len(np.unique(x[rest])) < MIN_SIZES["saturating" if saturating else "plain"] - 1:
        return None
    theta = _solve(x[rest], y[rest], saturating)
    fit = Fit("", _params(theta, saturating), {}, int(rest.sum()), None)
    return float(abs(fit.predict(x[largest]) - y[largest]) / y[largest])


def pareto_front(
    cost: Sequence[float], quality: Sequence[float], higher_is_better: bool
) -> list[int]:
    """Indices of points no other point beats on both lower cost and better quality."""
    q = np.asarray(quality, dtype=float) * (1 if higher_is_better else -1)
    c = np.asarray(cost, dtype=float)
    front = []
    for i in range(len(c)):
        dominated = np.any((c <= c[i]) & (q >= q[i]) & ((c < c[i]) | (q > q[i])))
        if not dominated and np.isfinite(c[i]) and np.isfinite(q[i]):
            front.append(i)
    return sorted(front, key=lambda i: c[i])
