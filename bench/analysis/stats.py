"""Statistics with their uncertainty: intervals, comparisons and stability checks.

Every function names its method in its docstring, and every interval names it in its
``method`` field, so a figure in a report can always say how it was made. When a statistic
cannot be computed honestly (too few samples for the confidence asked), the interval comes
back with ``lo``/``hi`` None and a ``reason``, and a comparison says "not enough data":
never a made-up interval, never a verdict by default (STYLE.md).

Methods, after SeBS (order statistics for the median) and pyperf (a named test, a stability
check): quantiles get the distribution-free order-statistic interval from the binomial
distribution; means get Student's t; proportions get the Wilson score interval; two samples
are compared with the Mann-Whitney U test, Cliff's delta, a Welch t interval of the
difference in means and a seeded bootstrap interval of the difference in p95.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from scipy import stats

CONFIDENCE = 0.95
ALPHA = 0.05
PERCENTILE_METHOD = "linear"  # numpy's default, Hyndman & Fan type 7, for point estimates
ORDER_STATISTIC = "order statistics (binomial, distribution-free)"
STUDENT_T = "Student t"
WILSON = "Wilson score"
WELCH_T = "Welch t"
BOOTSTRAP_SEED = 0
BOOTSTRAP_RESAMPLES = 2000
BOOTSTRAP = f"bootstrap percentile ({BOOTSTRAP_RESAMPLES} resamples, seed {BOOTSTRAP_SEED})"
# A resampled p95 needs at least one value above it in each sample: n >= 1 / (1 - 0.95).
MIN_N_P95_BOOTSTRAP = 20
# pyperf warns when the standard deviation is 10% of the mean or more.
CV_WARN = 0.10
# A robust spread check that a handful of outliers cannot trip, unlike pyperf's min/max one.
IQR_WARN = 0.50
UNSTABLE = "the result may be unstable"
# Romano et al. (2006) thresholds for |Cliff's delta|.
_EFFECT_SIZES = ((0.147, "negligible"), (0.33, "small"), (0.474, "medium"))


@dataclass(frozen=True)
class Interval:
    """A confidence interval; ``lo``/``hi`` are None, and ``reason`` says why, when unknown."""

    lo: float | None
    hi: float | None
    method: str
    confidence: float
    reason: str | None = None

    @property
    def known(self) -> bool:
        return self.lo is not None and self.hi is not None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> Interval | None:
        return None if data is None else cls(**data)


def _unknown(method: str, confidence: float, reason: str) -> Interval:
    return Interval(None, None, method, confidence, reason)


def _finite(values: Sequence[float]) -> np.ndarray:
    array = np.asarray(values, dtype=float)
    if array.ndim != 1 or not np.all(np.isfinite(array)):
        raise ValueError("values must be a flat sequence of finite numbers")
    return array


# ---- quantiles ----

def quantile(values: Sequence[float], q: float) -> float:
    """The q-quantile by numpy's "linear" method (Hyndman & Fan type 7)."""
    return float(np.percentile(_finite(values), 100 * q, method=PERCENTILE_METHOD))


def order_statistic_ranks(n: int, q: float, confidence: float = CONFIDENCE) -> tuple[int, int] | None:
    """1-based ranks (l, u) with P(X(l) <= true q-quantile <= X(u)) >= confidence, or None.

    Method: the distribution-free interval from order statistics (as SeBS does for the
    median, after Le Boudec), exact rather than its normal approximation. The number B of
    samples below the q-quantile is Binomial(n, q); l - 1 is the largest k with
    P(B <= k) <= alpha/2 and u - 1 the smallest k with P(B <= k) >= 1 - alpha/2, an
    equal-tailed, conservative choice. None when n is too small for any such ranks.
    """
    if n < 1 or not 0 < q < 1 or not 0 < confidence < 1:
        return None
    tail = (1 - confidence) / 2
    k = int(stats.binom.ppf(tail, n, q))  # smallest k with cdf(k) >= tail
    lower = k if stats.binom.cdf(k, n, q) <= tail else k - 1
    upper = int(stats.binom.ppf(1 - tail, n, q))
    if lower < 0 or upper > n - 1:
        return None
    return lower + 1, upper + 1


def order_statistic_coverage(n: int, q: float, ranks: tuple[int, int]) -> float:
    """The exact coverage of [X(l), X(u)] for the q-quantile: P(l <= B < u), B ~ Binomial(n, q)."""
    lo, hi = ranks
    return float(stats.binom.cdf(hi - 1, n, q) - stats.binom.cdf(lo - 1, n, q))


def min_n_for_quantile_ci(q: float, confidence: float = CONFIDENCE) -> int:
    """The smallest n for which order_statistic_ranks finds an interval.

    Method: the extreme ranks 1 and n must do, so (1 - q)^n and q^n must both be at most
    alpha/2: n >= log(alpha/2) / log(max(q, 1 - q)) (72 for p95, 368 for p99, 6 for p50).
    """
    n = max(1, math.ceil(math.log((1 - confidence) / 2) / math.log(max(q, 1 - q))) - 1)
    while order_statistic_ranks(n, q, confidence) is None:  # settles float rounding at the edge
        n += 1
    return n


def quantile_ci(values: Sequence[float], q: float, confidence: float = CONFIDENCE) -> Interval:
    """The order-statistic interval of the q-quantile (see order_statistic_ranks).

    Distribution-free: it assumes only independent samples from one continuous
    distribution. Unknown, with the n it needs, when the sample is too small.
    """
    array = np.sort(_finite(values))
    ranks = order_statistic_ranks(len(array), q, confidence)
    if ranks is None:
        need = min_n_for_quantile_ci(q, confidence)
        return _unknown(ORDER_STATISTIC, confidence,
                        f"a {confidence:.0%} interval of p{100 * q:g} needs n >= {need}; "
                        f"n = {len(array)}")
    return Interval(float(array[ranks[0] - 1]), float(array[ranks[1] - 1]), ORDER_STATISTIC, confidence)


# ---- means and proportions ----

def mean_ci(
    values: Sequence[float], confidence: float = CONFIDENCE, *, floor: float | None = None
) -> Interval:
    """Student t interval of the mean: mean +- t(1 - alpha/2, n - 1) x s / sqrt(n).

    Assumes independent samples and a mean that is near-normal (the central limit theorem,
    for the n of a load test); unknown below n = 2. ``floor`` clips the interval at a bound
    the true mean cannot pass (0 for durations): it keeps the coverage and drops the
    impossible part a small, skewed sample gives.
    """
    array = _finite(values)
    if len(array) < 2:
        return _unknown(STUDENT_T, confidence, f"a Student t interval needs n >= 2; n = {len(array)}")
    mean = float(np.mean(array))
    half = float(stats.t.ppf((1 + confidence) / 2, len(array) - 1) * stats.sem(array))
    lo, hi = mean - half, mean + half
    if floor is not None:
        lo, hi = max(lo, floor), max(hi, floor)
    return Interval(lo, hi, STUDENT_T, confidence)


def proportion_ci(k: int, n: int, confidence: float = CONFIDENCE) -> Interval:
    """Wilson score interval of a proportion k / n (scipy's binomtest, without continuity correction).

    Unlike the normal (Wald) interval it stays inside [0, 1] and is not degenerate at
    k = 0 or k = n, which is where cold-start rates live. Unknown for n = 0.
    """
    if n == 0:
        return _unknown(WILSON, confidence, "no trials (n = 0)")
    if not 0 <= k <= n:
        raise ValueError(f"k {k}: must be between 0 and n = {n}")
    ci = stats.binomtest(k, n).proportion_ci(confidence_level=confidence, method="wilson")
    return Interval(float(ci.low), float(ci.high), WILSON, confidence)


# ---- two samples ----

def cliffs_delta(x: Sequence[float], y: Sequence[float]) -> float:
    """Cliff's delta, P(x > y) - P(x < y) over all pairs, in [-1, 1]; negative: x tends lower.

    Computed by sorting y and counting with binary search, O((n + m) log m).
    """
    xs, ys = _finite(x), np.sort(_finite(y))
    if not len(xs) or not len(ys):
        raise ValueError("Cliff's delta needs two non-empty samples")
    below = np.searchsorted(ys, xs, side="left")  # y values below each x
    above = len(ys) - np.searchsorted(ys, xs, side="right")
    return float((below.sum() - above.sum()) / (len(xs) * len(ys)))


def effect_size_label(delta: float) -> str:
    """negligible, small, medium or large, by Romano et al.'s (2006) thresholds for |delta|."""
    return next((label for limit, label in _EFFECT_SIZES if abs(delta) < limit), "large")


def welch_diff_ci(x: Sequence[float], y: Sequence[float], confidence: float = CONFIDENCE) -> Interval:
    """Welch t interval of mean(x) - mean(y), with Welch-Satterthwaite degrees of freedom.

    Unknown below n = 2 in either sample; exact (zero width) when neither sample varies.
    """
    xs, ys = _finite(x), _finite(y)
    if min(len(xs), len(ys)) < 2:
        return _unknown(WELCH_T, confidence,
                        f"a Welch t interval needs n >= 2 in each sample; n = {len(xs)} and {len(ys)}")
    diff = float(np.mean(xs) - np.mean(ys))
    vx, vy = np.var(xs, ddof=1) / len(xs), np.var(ys, ddof=1) / len(ys)
    if vx + vy == 0:
        return Interval(diff, diff, WELCH_T, confidence)
    df = (vx + vy) ** 2 / (vx**2 / (len(xs) - 1) + vy**2 / (len(ys) - 1))
    half = float(stats.t.ppf((1 + confidence) / 2, df) * math.sqrt(vx + vy))
    return Interval(diff - half, diff + half, WELCH_T, confidence)


def _p95_diff(x: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
    return (np.percentile(x, 95, axis=axis, method=PERCENTILE_METHOD)
            - np.percentile(y, 95, axis=axis, method=PERCENTILE_METHOD))


def _seeded(seed: int) -> dict[str, Any]:
    # scipy 1.15 renamed random_state to rng; pyproject allows scipy from 1.11.
    generator = np.random.default_rng(seed)
    if "rng" in inspect.signature(stats.bootstrap).parameters:
        return {"rng": generator}
    return {"random_state": generator}


def bootstrap_p95_diff_ci(
    x: Sequence[float], y: Sequence[float], confidence: float = CONFIDENCE,
    *, seed: int = BOOTSTRAP_SEED, n_resamples: int = BOOTSTRAP_RESAMPLES,
) -> Interval:
    """Bootstrap percentile interval of p95(x) - p95(y), each sample resampled on its own.

    scipy.stats.bootstrap, method "percentile" (BCa's jackknife is unreliable for a
    quantile), with a fixed seed so a report is reproducible. Unknown below n = 20 in
    either sample, where a resampled p95 would be little more than the maximum.
    """
    xs, ys = _finite(x), _finite(y)
    method = f"bootstrap percentile ({n_resamples} resamples, seed {seed})"
    if min(len(xs), len(ys)) < MIN_N_P95_BOOTSTRAP:
        return _unknown(method, confidence, f"a bootstrap interval of p95 needs n >= "
                        f"{MIN_N_P95_BOOTSTRAP} in each sample; n = {len(xs)} and {len(ys)}")
    result = stats.bootstrap(
        (xs, ys), _p95_diff, n_resamples=n_resamples, vectorized=True, batch=200,
        confidence_level=confidence, method="percentile", **_seeded(seed),
    )
    ci = result.confidence_interval
    return Interval(float(ci.low), float(ci.high), method, confidence)


# ---- stability ----

def stability_warnings(values: Sequence[float], unit: str = "ms") -> tuple[str, ...]:
    """pyperf-style checks of one sample's spread; each failed check is one sentence.

    Method: the coefficient of variation against pyperf's 10% threshold ("the standard
    deviation is N% of the mean"), and the interquartile range against 50% of the median,
    a spread check that a few outliers (one GC pause, one cold start) cannot trip. Empty
    when n < 2 or the centre is not positive, where neither ratio means anything.
    """
    array = _finite(values)
    if len(array) < 2:
        return ()
    mean, median = float(np.mean(array)), quantile(array, 0.5)
    warnings = []
    if mean > 0:
        sd = float(np.std(array, ddof=1))
        if sd / mean >= CV_WARN:
            warnings.append(f"the standard deviation ({sd:,.1f} {unit}) is {sd / mean:.0%} "
                            f"of the mean ({mean:,.1f} {unit})")
    if median > 0:
        iqr = quantile(array, 0.75) - quantile(array, 0.25)
        if iqr / median >= IQR_WARN:
            warnings.append(f"the interquartile range ({iqr:,.1f} {unit}) is {iqr / median:.0%} "
                            f"of the median ({median:,.1f} {unit})")
    return tuple(warnings)
