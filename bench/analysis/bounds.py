"""One-sided confidence bounds: is a figure surely below a limit, surely above it, or can the data not tell?

A CI gate asks a one-sided question ("is the true p95 at most 300 ms?"). Its answer needs a
lower bound L and an upper bound U, each holding at ``level`` on its own side: P(true >= L) >=
level and P(true <= U) >= level. Then "U <= limit" says the figure is within the limit and
"L > limit" that it is over it, each wrong with probability at most 1 - level; between them,
the data cannot tell. Together, [L, U] is a two-sided interval at 2 level - 1.

Methods (each exact or standard, and named in ``method``):
- quantiles: order statistics, from the binomial distribution of the number of values below
  the true quantile (distribution-free, as bench/analysis/stats.py's two-sided interval);
- proportions: Clopper-Pearson (exact binomial; never below 0 or above 1, and honest at 0 of n);
- means: Student t.
A bound the sample is too small for is None, with the n it would need.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

from bench.analysis.sample import as_sample
from bench.analysis.stats import ORDER_STATISTIC, STUDENT_T, Values, proportion_ci

CLOPPER_PEARSON = "Clopper-Pearson (exact binomial)"
NEWCOMBE = "Newcombe hybrid score (Wilson)"


@dataclass(frozen=True)
class Bounds:
    """An estimate with one-sided bounds at ``level``; a bound is None when n is too small for it."""

    estimate: float | None
    lower: float | None
    upper: float | None
    level: float
    method: str
    n: int
    need_n_lower: int | None = None  # the n a missing lower bound would need
    need_n_upper: int | None = None


def _check_level(level: float) -> None:
    if not 0.5 < level < 1:
        raise ValueError(f"level {level}: must be between 0.5 and 1 (exclusive)")


def quantile_bounds(values: Values, q: float, level: float) -> Bounds:
    """The q-quantile (the one percentile rule) with order-statistic bounds.

    B, the number of values below the true q-quantile, is Binomial(n, q). The upper bound is
    X(u) for the smallest u with P(B <= u - 1) >= level; the lower bound X(l) for the largest l
    with P(B <= l - 1) <= 1 - level. They exist once q^n <= 1 - level (upper) and
    (1 - q)^n <= 1 - level (lower): p99's upper bound at level 0.99 needs n >= 459.
    """
    _check_level(level)
    if not 0 < q < 1:
        raise ValueError(f"q {q}: must be between 0 and 1 (exclusive)")
    sample = as_sample(values)
    n = sample.n
    if not n:
        return Bounds(None, None, None, level, ORDER_STATISTIC, 0, _min_n(1 - q, level), _min_n(q, level))
    lower_rank, upper_rank = bound_ranks(n, q, level)
    upper = sample.value_at_rank(upper_rank) if upper_rank <= n else None
    lower = sample.value_at_rank(lower_rank) if lower_rank >= 1 else None
    return Bounds(
        sample.quantile(q),
        lower,
        upper,
        level,
        ORDER_STATISTIC,
        n,
        None if lower is not None else _min_n(1 - q, level),
        None if upper is not None else _min_n(q, level),
    )


@functools.lru_cache(maxsize=4096)  # a pure function of (n, q, level)
def bound_ranks(n: int, q: float, level: float) -> tuple[int, int]:
    """1-based ranks (l, u) of quantile_bounds' order statistics; l < 1 or u > n: no such bound."""
    u = int(stats.binom.ppf(level, n, q)) + 1
    k = int(stats.binom.ppf(1 - level, n, q))
    if stats.binom.cdf(k, n, q) > 1 - level:
        k -= 1
    return k + 1, u


def _min_n(share_beyond: float, level: float) -> int:
    """The smallest n with share_beyond^n <= 1 - level: the n an order-statistic bound needs."""
    return max(1, math.ceil(math.log(1 - level) / math.log(share_beyond) - 1e-9))


def proportion_bounds(k: int, n: int, level: float) -> Bounds:
    """k of n, with Clopper-Pearson one-sided bounds (beta quantiles); at k = 0 the lower bound is 0."""
    _check_level(level)
    if not 0 <= k <= n:
        raise ValueError(f"k {k}: must be between 0 and n = {n}")
    if n == 0:
        return Bounds(None, None, None, level, CLOPPER_PEARSON, 0, 1, 1)
    lower = 0.0 if k == 0 else float(stats.beta.ppf(1 - level, k, n - k + 1))
    upper = 1.0 if k == n else float(stats.beta.ppf(level, k + 1, n - k))
    return Bounds(k / n, lower, upper, level, CLOPPER_PEARSON, n)


def mean_bounds(values: Values, level: float, *, floor: float | None = None) -> Bounds:
    """The mean with Student t one-sided bounds: mean -+ t(level, n - 1) s / sqrt(n); clipped at ``floor``."""
    _check_level(level)
    sample = as_sample(values)
    if sample.n < 2 or sample.mean is None or sample.sd is None:
        return Bounds(sample.mean, None, None, level, STUDENT_T, sample.n, 2, 2)
    half = float(stats.t.ppf(level, sample.n - 1)) * sample.sd / math.sqrt(sample.n)
    lower, upper = sample.mean - half, sample.mean + half
    if floor is not None:
        lower, upper = max(lower, floor), max(upper, floor)
    return Bounds(sample.mean, lower, upper, level, STUDENT_T, sample.n)


def proportion_diff_interval(k1: int, n1: int, k2: int, n2: int, confidence: float) -> tuple[float, float, float]:
    """k1/n1 - k2/n2 with Newcombe's hybrid score interval (his method 10), from Wilson intervals.

    Returns (difference, lo, hi). Unlike the Wald interval it behaves at rates of 0, which is
    where error rates live. Both n must be > 0.
    """
    if n1 <= 0 or n2 <= 0:
        raise ValueError("both samples need n > 0")
    p1, p2 = k1 / n1, k2 / n2
    a, b = proportion_ci(k1, n1, confidence), proportion_ci(k2, n2, confidence)
    assert a.lo is not None and a.hi is not None and b.lo is not None and b.hi is not None
    d = p1 - p2
    return d, d - math.hypot(p1 - a.lo, b.hi - p2), d + math.hypot(a.hi - p1, p2 - b.lo)


# Above this many pairs of distinct values, shift_ratio_interval declines (memory, not principle).
MAX_PAIRS = 4_000_000


def shift_ratio_interval(x: Values, y: Values, confidence: float) -> tuple[float, float, float] | None:
    """How much slower x is than y as a whole: the Hodges-Lehmann shift of log values, as a ratio - 1.

    The estimate is the weighted median of all pairwise differences log x_i - log y_j (a scale
    change: "latency is 18% higher"); the interval is Moses' distribution-free interval, the
    pairwise differences of ranks C and n_x n_y - C + 1, with C from the Mann-Whitney U
    statistic's normal approximation at ``confidence``. It is the interval that goes with the
    Mann-Whitney test: it excludes 0 when the test rejects at 1 - confidence (up to ties).
    Computed over the distinct values with their counts; None when a value is not > 0, a sample
    is empty, or the pairs of distinct values exceed MAX_PAIRS.
    """
    xs, ys = as_sample(x), as_sample(y)
    if not xs.n or not ys.n or xs.values.size * ys.values.size > MAX_PAIRS:
        return None
    if xs.values[0] <= 0 or ys.values[0] <= 0:
        return None
    diffs = (np.log(xs.values)[:, None] - np.log(ys.values)[None, :]).ravel()
    weights = (xs.counts[:, None] * ys.counts[None, :]).ravel()
    order = np.argsort(diffs, kind="stable")
    diffs, cumulative = diffs[order], np.cumsum(weights[order])
    pairs = xs.n * ys.n

    def at_rank(rank: float) -> float:
        return float(diffs[min(int(np.searchsorted(cumulative, rank)), diffs.size - 1)])

    z = float(stats.norm.isf((1 - confidence) / 2))
    c = max(1, math.floor(pairs / 2 - z * math.sqrt(pairs * (xs.n + ys.n + 1) / 12)))
    estimate = (at_rank((pairs + 1) / 2) + at_rank((pairs + 2) / 2)) / 2
    return math.expm1(estimate), math.expm1(at_rank(c)), math.expm1(at_rank(pairs - c + 1))
