"""Comparing two samples: two variants of one run, or one variant across two runs.

Like pyperf's _compare.py, a comparison names its test and only gives a verdict the data
supports: "faster"/"slower" (or the words the caller chooses, e.g. "cheaper"/"dearer") when
the Mann-Whitney U test rejects "no difference" at alpha, "no significant difference" when
it does not, and "not enough data" when samples this small could never reject it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from bench.analysis.stats import (
    ALPHA,
    CONFIDENCE,
    Interval,
    bootstrap_p95_diff_ci,
    cliffs_delta,
    effect_size_label,
    quantile,
    welch_diff_ci,
)

MANN_WHITNEY = "Mann-Whitney U, two-sided"
NOT_ENOUGH_DATA = "not enough data"
NO_DIFFERENCE = "no significant difference"


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
    return min(1.0, 2 / math.comb(n_x + n_y, n_x))


def _not_enough(xs: np.ndarray, ys: np.ndarray, alpha: float, reason: str) -> Comparison:
    return Comparison(len(xs), len(ys), NOT_ENOUGH_DATA, reason, MANN_WHITNEY, alpha,
                      None, None, None, None, None, None, None)


def compare_samples(
    x: Sequence[float], y: Sequence[float], *, alpha: float = ALPHA,
    words: tuple[str, str] = ("faster", "slower"), seed: int = 0, p95: bool = True,
) -> Comparison:
    """Compare x with y (lower is better): which tends lower, by how much, how surely.

    Methods: the Mann-Whitney U test, two-sided (scipy.stats.mannwhitneyu, exact for small
    samples without ties, else the normal approximation with continuity correction) decides
    the verdict at ``alpha``; Cliff's delta (= 2U / (n_x n_y) - 1) gives the effect size;
    a Welch t interval covers the difference in means and a seeded bootstrap percentile
    interval the difference in p95 (each unknown, with its reason, when n is too small).
    The bootstrap costs O(resamples x n), about 2 s at n = 10,000; ``p95=False`` leaves
    it out (p95_diff and p95_diff_ci None) where only the means matter.
    """
    xs, ys = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if min(len(xs), len(ys)) == 0:
        return _not_enough(xs, ys, alpha, f"an empty sample (n = {len(xs)} and {len(ys)})")
    floor = min_p_value(len(xs), len(ys))
    if floor > alpha:
        return _not_enough(xs, ys, alpha, f"with n = {len(xs)} and {len(ys)} the smallest possible "
                                          f"p-value is {floor:.3g}, above alpha = {alpha:g}")
    p_value = float(stats.mannwhitneyu(xs, ys, alternative="two-sided").pvalue)
    delta = cliffs_delta(xs, ys)
    if p_value < alpha and delta != 0:
        verdict = words[0] if delta < 0 else words[1]
    else:
        verdict = NO_DIFFERENCE
    p95_ci = bootstrap_p95_diff_ci(xs, ys, CONFIDENCE, seed=seed) if p95 else None
    return Comparison(
        n_x=len(xs), n_y=len(ys), verdict=verdict, reason=None, test=MANN_WHITNEY, alpha=alpha,
        p_value=p_value, cliffs_delta=delta, effect_size=effect_size_label(delta),
        mean_diff=float(np.mean(xs) - np.mean(ys)), mean_diff_ci=welch_diff_ci(xs, ys),
        p95_diff=quantile(xs, 0.95) - quantile(ys, 0.95) if p95 else None, p95_diff_ci=p95_ci,
    )


def fmt_p(p_value: float | None) -> str:
    """p as a report writes it: "p = 0.031", "p < 0.001", or "p unknown"."""
    if p_value is None:
        return "p unknown"
    return "p < 0.001" if p_value < 0.001 else f"p = {p_value:.3f}"
