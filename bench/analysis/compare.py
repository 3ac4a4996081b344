"""Comparing two samples: two variants of one run, or one variant across two runs.

Like pyperf's _compare.py, a comparison names its test and only gives a verdict the data
supports: "faster"/"slower" (or the words the caller chooses, e.g. "cheaper"/"dearer") when
the Mann-Whitney U test rejects "no difference" at alpha, "no significant difference" when
it does not, and "not enough data" when samples this small could never reject it.

Samples are bench.analysis.sample.Samples (histograms with exact moments) or raw values, so a
comparison of two million-invocation variants costs no more than one of two hundred.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from bench.analysis.sample import Sample, as_sample
from bench.analysis.stats import (
    ALPHA,
    CONFIDENCE,
    Interval,
    Values,
    bootstrap_p95_diff_ci,
    cliffs_delta,
    effect_size_label,
    quantile,
    welch_diff_ci,
)

MANN_WHITNEY = "Mann-Whitney U, two-sided"
NOT_ENOUGH_DATA = "not enough data"
NO_DIFFERENCE = "no significant difference"
# Up to this many values in all, scipy's own test runs on the expanded values (exact where it can be).
EXPAND_LIMIT = 10_000


@dataclass(frozen=True)
class Comparison:
    """x against y. Differences are x - y; a negative Cliff's delta means x tends lower."""

    n_x: int
    n_y: int
    verdict: str  # words[0] (x lower), words[1] (x higher), NO_DIFFERENCE or NOT_ENOUGH_DATA
    reason: str | None  # why the verdict is NOT_ENOUGH_DATA
    test: str
    alpha: float
    p_value: float | None
    cliffs_delta: float | None
    effect_size: str | None  # Romano et al.'s label for |cliffs_delta|
    mean_diff: float | None
    mean_diff_ci: Interval | None
    p95_diff: float | None  # None when not asked for (compare_samples(p95=False))
    p95_diff_ci: Interval | None

    @property
    def decided(self) -> bool:
        """True when the verdict is a significant difference in either direction."""
        return self.verdict not in (NO_DIFFERENCE, NOT_ENOUGH_DATA)

    def as_dict(self) -> dict[str, Any]:
        out = dict(self.__dict__)
        for name in ("mean_diff_ci", "p95_diff_ci"):
            out[name] = None if out[name] is None else out[name].as_dict()
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Comparison:
        values = dict(data)
        for name in ("mean_diff_ci", "p95_diff_ci"):
            values[name] = Interval.from_dict(values.get(name))
        return cls(**values)


def min_p_value(n_x: int, n_y: int) -> float:
    """The smallest two-sided p-value the exact Mann-Whitney test can give at these sizes.

    It is 2 / C(n_x + n_y, n_x), reached when the samples do not overlap at all; if it
    exceeds alpha, no data of these sizes can show a difference (3 and 3 give 0.1).
    """
    if min(n_x, n_y) < 1:
        return 1.0
    # In logs: C(n, k) itself has millions of digits for a large run's samples.
    log_comb = math.lgamma(n_x + n_y + 1) - math.lgamma(n_x + 1) - math.lgamma(n_y + 1)
    return min(1.0, math.exp(math.log(2) - log_comb))


def mann_whitney_p(x: Values, y: Values) -> float:
    """The two-sided p-value of the Mann-Whitney U test of x against y.

    Up to EXPAND_LIMIT values in all: scipy.stats.mannwhitneyu on the expanded values (exact
    for small samples without ties, else the normal approximation with continuity
    correction). Above it, the same normal approximation with tie correction, computed from
    the distinct values and their counts (midranks per distinct value), as scipy does it.
    """
    xs, ys = as_sample(x), as_sample(y)
    if xs.n + ys.n <= EXPAND_LIMIT:
        return float(stats.mannwhitneyu(xs.repeated(), ys.repeated(), alternative="two-sided").pvalue)
    return _asymptotic_p(xs, ys)


def _asymptotic_p(xs: Sample, ys: Sample) -> float:
    values = np.union1d(xs.values, ys.values)
    cx = np.zeros(values.size)
    cy = np.zeros(values.size)
    cx[np.searchsorted(values, xs.values)] = xs.counts
    cy[np.searchsorted(values, ys.values)] = ys.counts
    ties = cx + cy
    midrank = np.cumsum(ties) - ties + (ties + 1) / 2
    n_x, n_y = xs.n, ys.n
    n = n_x + n_y
    u = float(np.dot(cx, midrank)) - n_x * (n_x + 1) / 2
    u = max(u, n_x * n_y - u)
    tie_term = float(np.sum(ties**3 - ties))
    sd = math.sqrt(n_x * n_y / 12 * ((n + 1) - tie_term / (n * (n - 1))))
    if sd == 0:
        return 1.0
    z = (u - n_x * n_y / 2 - 0.5) / sd
    return float(min(1.0, max(0.0, 2 * stats.norm.sf(z))))


def _not_enough(xs: Sample, ys: Sample, alpha: float, reason: str) -> Comparison:
    return Comparison(
        xs.n, ys.n, NOT_ENOUGH_DATA, reason, MANN_WHITNEY, alpha, None, None, None, None, None, None, None
    )


def compare_samples(
    x: Values,
    y: Values,
    *,
    alpha: float = ALPHA,
    words: tuple[str, str] = ("faster", "slower"),
    seed: int = 0,
    p95: bool = True,
) -> Comparison:
    """Compare x with y (lower is better): which tends lower, by how much, how surely.

    Methods: the Mann-Whitney U test, two-sided (mann_whitney_p) decides the verdict at
    ``alpha``; Cliff's delta (= 2U / (n_x n_y) - 1) gives the effect size; a Welch t interval
    covers the difference in means and a seeded bootstrap percentile interval the difference
    in p95 (each unknown, with its reason, when n is too small). The bootstrap costs
    O(resamples x distinct values); ``p95=False`` leaves it out (p95_diff and p95_diff_ci
    None) where only the means matter.
    """
    xs, ys = as_sample(x), as_sample(y)
    if min(xs.n, ys.n) == 0:
        return _not_enough(xs, ys, alpha, f"an empty sample (n = {xs.n} and {ys.n})")
    floor = min_p_value(xs.n, ys.n)
    if floor > alpha:
        return _not_enough(
            xs,
            ys,
            alpha,
            f"with n = {xs.n} and {ys.n} the smallest possible p-value is {floor:.3g}, above alpha = {alpha:g}",
        )
    p_value = mann_whitney_p(xs, ys)
    delta = cliffs_delta(xs, ys)
    decided = p_value < alpha and delta != 0
    verdict = (words[0] if delta < 0 else words[1]) if decided else NO_DIFFERENCE
    p95_ci = bootstrap_p95_diff_ci(xs, ys, CONFIDENCE, seed=seed) if p95 else None
    return Comparison(
        n_x=xs.n,
        n_y=ys.n,
        verdict=verdict,
        reason=None,
        test=MANN_WHITNEY,
        alpha=alpha,
        p_value=p_value,
        cliffs_delta=delta,
        effect_size=effect_size_label(delta),
        mean_diff=float(xs.mean - ys.mean),  # type: ignore[operator]  # both non-empty
        mean_diff_ci=welch_diff_ci(xs, ys),
        p95_diff=quantile(xs, 0.95) - quantile(ys, 0.95) if p95 else None,
        p95_diff_ci=p95_ci,
    )


def fmt_p(p_value: float | None) -> str:
    """p as a report writes it: "p = 0.031", "p < 0.001", or "p unknown"."""
    if p_value is None:
        return "p unknown"
    return "p < 0.001" if p_value < 0.001 else f"p = {p_value:.3f}"
