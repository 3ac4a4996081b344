"""Statistics with their uncertainty: intervals, comparisons and stability checks.

Every function names its method in its docstring, and every interval names it in its
``method`` field, so a figure in a report can always say how it was made. When a statistic
cannot be computed honestly (too few samples for the confidence asked), the interval comes
back with ``lo``/``hi`` None and a ``reason``, and a comparison says "not enough data":
never a made-up interval, never a verdict by default (STYLE.md).

Methods, after SeBS (order statistics for the median) and pyperf (a named test, a stability
check): quantiles get the distribution-free order-statistic interval from the binomial
distribution; means get Student's t; proportions get the Wilson score interval; two samples
are compared with the Mann-Whitney U test (bench/analysis/compare.py), Cliff's delta, a Welch t
interval of the difference in means and a seeded bootstrap interval of the difference in p95.

Every function takes a bench.analysis.sample.Sample (the collector's histogram and exact
moments) or raw values (made exact Samples), so it costs the same for ten million invocations
as for ten. Percentiles follow sample.py's one rule (nearest rank).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from scipy import stats

from bench.analysis.sample import PERCENTILE_RULE, Sample, as_sample

Values = Sample | Sequence[float] | np.ndarray

CONFIDENCE = 0.95
ALPHA = 0.05
PERCENTILE_METHOD = PERCENTILE_RULE
ORDER_STATISTIC = "order statistics (binomial, distribution-free)"
STUDENT_T = "Student t"
WILSON = "Wilson score"
WELCH_T = "Welch t"
BOOTSTRAP_SEED = 0
BOOTSTRAP_RESAMPLES = 2000
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


# ---- quantiles ----


def quantile(values: Values, q: float) -> float:
    """The q-quantile by the one percentile rule (bench/analysis/sample.py: nearest rank)."""
    value = as_sample(values).quantile(q)
    if value is None:
        raise ValueError("the quantile of an empty sample")
    return value


@functools.lru_cache(maxsize=4096)  # a pure function of (n, q, confidence), asked for per figure
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


def quantile_ci(values: Values, q: float, confidence: float = CONFIDENCE) -> Interval:
    """The order-statistic interval of the q-quantile (see order_statistic_ranks).

    Distribution-free: it assumes only independent samples from one continuous
    distribution. Unknown, with the n it needs, when the sample is too small. From a
    histogram, the two order statistics are answered at its precision (3 digits).
    """
    sample = as_sample(values)
    ranks = order_statistic_ranks(sample.n, q, confidence)
    if ranks is None:
        need = min_n_for_quantile_ci(q, confidence)
        return _unknown(
            ORDER_STATISTIC,
            confidence,
            f"a {confidence:.0%} interval of p{100 * q:g} needs n >= {need}; n = {sample.n}",
        )
    return Interval(sample.value_at_rank(ranks[0]), sample.value_at_rank(ranks[1]), ORDER_STATISTIC, confidence)


# ---- means and proportions ----


def mean_ci(values: Values, confidence: float = CONFIDENCE, *, floor: float | None = None) -> Interval:
    """Student t interval of the mean: mean +- t(1 - alpha/2, n - 1) x s / sqrt(n).

    Assumes independent samples and a mean that is near-normal (the central limit theorem,
    for the n of a load test); unknown below n = 2. ``floor`` clips the interval at a bound
    the true mean cannot pass (0 for durations): it keeps the coverage and drops the
    impossible part a small, skewed sample gives.
    """
    sample = as_sample(values)
    if sample.n < 2 or sample.mean is None or sample.variance is None:
        return _unknown(STUDENT_T, confidence, f"a Student t interval needs n >= 2; n = {sample.n}")
    mean = sample.mean
    half = float(stats.t.ppf((1 + confidence) / 2, sample.n - 1) * math.sqrt(sample.variance / sample.n))
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


def cliffs_delta(x: Values, y: Values) -> float:
    """Cliff's delta, P(x > y) - P(x < y) over all pairs, in [-1, 1]; negative: x tends lower.

    Computed from the distinct values and their counts: for each value of x, the counts of y
    below and above it (binary search over y's cumulative counts), O((k + m) log m).
    """
    xs, ys = as_sample(x), as_sample(y)
    if not xs.n or not ys.n:
        raise ValueError("Cliff's delta needs two non-empty samples")
    cumulative = np.concatenate([[0], np.cumsum(ys.counts)])
    below = cumulative[np.searchsorted(ys.values, xs.values, side="left")]
    above = ys.n - cumulative[np.searchsorted(ys.values, xs.values, side="right")]
    return float(np.dot(xs.counts, below - above) / (xs.n * ys.n))


def effect_size_label(delta: float) -> str:
    """negligible, small, medium or large, by Romano et al.'s (2006) thresholds for |delta|."""
    return next((label for limit, label in _EFFECT_SIZES if abs(delta) < limit), "large")


def welch_diff_ci(x: Values, y: Values, confidence: float = CONFIDENCE) -> Interval:
    """Welch t interval of mean(x) - mean(y), with Welch-Satterthwaite degrees of freedom.

    From each sample's exact mean and variance. Unknown below n = 2 in either sample; exact
    (zero width) when neither sample varies.
    """
    xs, ys = as_sample(x), as_sample(y)
    if min(xs.n, ys.n) < 2 or xs.variance is None or ys.variance is None:
        return _unknown(WELCH_T, confidence, f"a Welch t interval needs n >= 2 in each sample; n = {xs.n} and {ys.n}")
    diff = float(xs.mean - ys.mean)  # type: ignore[operator]  # n >= 2: both means exist
    vx, vy = xs.variance / xs.n, ys.variance / ys.n
    if vx + vy == 0:
        return Interval(diff, diff, WELCH_T, confidence)
    df = (vx + vy) ** 2 / (vx**2 / (xs.n - 1) + vy**2 / (ys.n - 1))
    half = float(stats.t.ppf((1 + confidence) / 2, df) * math.sqrt(vx + vy))
    return Interval(diff - half, diff + half, WELCH_T, confidence)


def _resampled_percentiles(
    sample: Sample, p: float, resamples: int, rng: np.random.Generator, batch: int = 200
) -> np.ndarray:
    """The p-th percentile (the one rule) of ``resamples`` bootstrap resamples of ``sample``.

    A resample of n values drawn with replacement is a multinomial draw of n over the distinct
    values, with their shares as probabilities: the same distribution as resampling the
    expanded values, at a cost that does not grow with n.
    """
    shares = sample.counts / sample.n
    rank = max(int(p * sample.n / 100 + 0.5), 1)
    out = np.empty(resamples)
    for start in range(0, resamples, batch):
        size = min(batch, resamples - start)
        cumulative = np.cumsum(rng.multinomial(sample.n, shares, size=size), axis=1)
        out[start : start + size] = sample.values[(cumulative < rank).sum(axis=1)]
    return out


def bootstrap_p95_diff_ci(
    x: Values,
    y: Values,
    confidence: float = CONFIDENCE,
    *,
    seed: int = BOOTSTRAP_SEED,
    n_resamples: int = BOOTSTRAP_RESAMPLES,
) -> Interval:
    """Bootstrap percentile interval of p95(x) - p95(y), each sample resampled on its own.

    Each resample is a multinomial draw over the sample's distinct values (see
    _resampled_percentiles); the interval is the alpha/2 and 1 - alpha/2 quantiles of the
    resampled differences (the percentile method: BCa's jackknife is unreliable for a
    quantile). Seeded, so a report is reproducible. Unknown below n = 20 in either sample,
    where a resampled p95 would be little more than the maximum.
    """
    xs, ys = as_sample(x), as_sample(y)
    method = f"bootstrap percentile ({n_resamples} resamples, seed {seed})"
    if min(xs.n, ys.n) < MIN_N_P95_BOOTSTRAP:
        return _unknown(
            method,
            confidence,
            f"a bootstrap interval of p95 needs n >= {MIN_N_P95_BOOTSTRAP} in each sample; n = {xs.n} and {ys.n}",
        )
    rng = np.random.default_rng(seed)
    diffs = _resampled_percentiles(xs, 95, n_resamples, rng) - _resampled_percentiles(ys, 95, n_resamples, rng)
    tail = (1 - confidence) / 2
    lo, hi = np.quantile(diffs, [tail, 1 - tail])
    return Interval(float(lo), float(hi), method, confidence)


# ---- stability ----


def stability_warnings(values: Values, unit: str = "ms") -> tuple[str, ...]:
    """pyperf-style checks of one sample's spread; each failed check is one sentence.

    Method: the coefficient of variation against pyperf's 10% threshold ("the standard
    deviation is N% of the mean"), and the interquartile range against 50% of the median,
    a spread check that a few outliers (one GC pause, one cold start) cannot trip. Empty
    when n < 2 or the centre is not positive, where neither ratio means anything.
    """
    sample = as_sample(values)
    if sample.n < 2 or sample.mean is None or sample.sd is None:
        return ()
    mean, median = sample.mean, quantile(sample, 0.5)
    warnings = []
    if mean > 0:
        sd = sample.sd
        if sd / mean >= CV_WARN:
            warnings.append(
                f"the standard deviation ({sd:,.1f} {unit}) is {sd / mean:.0%} of the mean ({mean:,.1f} {unit})"
            )
    if median > 0:
        iqr = quantile(sample, 0.75) - quantile(sample, 0.25)
        if iqr / median >= IQR_WARN:
            warnings.append(
                f"the interquartile range ({iqr:,.1f} {unit}) is {iqr / median:.0%} "
                f"of the median ({median:,.1f} {unit})"
            )
    return tuple(warnings)
