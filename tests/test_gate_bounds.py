"""One-sided bounds and the intervals of differences that CI gates decide on, against known answers."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from bench.analysis.bounds import (
    bound_ranks,
    mean_bounds,
    proportion_bounds,
    proportion_diff_interval,
    quantile_bounds,
    shift_ratio_interval,
)


@pytest.mark.parametrize(
    ("n", "q", "level"), [(480, 0.95, 0.99), (480, 0.99, 0.99), (1000, 0.5, 0.95), (90, 0.95, 0.99)]
)
def test_quantile_bound_ranks_are_the_tightest_that_hold(n, q, level):
    lower, upper = bound_ranks(n, q, level)
    # P(X(u) >= true quantile) = P(B <= u - 1), B ~ Binomial(n, q): at least level, and u - 1 would not do.
    if upper <= n:
        assert stats.binom.cdf(upper - 1, n, q) >= level
        assert stats.binom.cdf(upper - 2, n, q) < level
    # P(X(l) <= true quantile) = P(B >= l) = 1 - cdf(l - 1): at least level, and l + 1 would not do.
    if lower >= 1:
        assert 1 - stats.binom.cdf(lower - 1, n, q) >= level
        assert 1 - stats.binom.cdf(lower, n, q) < level


def test_quantile_bounds_exist_from_the_n_the_binomial_allows():
    # p99's upper bound at 99% needs 0.99^n <= 0.01: n >= 459 (the default run's 480 has it).
    assert quantile_bounds(np.arange(458.0), 0.99, 0.99).upper is None
    assert quantile_bounds(np.arange(458.0), 0.99, 0.99).need_n_upper == 459
    assert quantile_bounds(np.arange(459.0), 0.99, 0.99).upper == 458.0  # the maximum
    bounds = quantile_bounds(np.arange(1.0, 1001.0), 0.5, 0.95)
    assert bounds.estimate == 500.0
    assert bounds.lower < 500.0 < bounds.upper


def test_quantile_bounds_cover_at_their_level():
    # Over 400 exponential samples of 200, the 90% upper bound of the median is below the
    # true median (ln 2) about 10% of the time: the count is Binomial(400, <= 0.1).
    rng = np.random.default_rng(7)
    misses = sum(quantile_bounds(rng.exponential(1.0, 200), 0.5, 0.9).upper < math.log(2) for _ in range(400))
    assert misses <= stats.binom.ppf(0.999, 400, 0.1)


def test_clopper_pearson_bounds():
    zero = proportion_bounds(0, 480, 0.99)
    assert zero.lower == 0.0
    assert zero.upper == pytest.approx(1 - 0.01 ** (1 / 480), rel=1e-9)  # the "rule of three", exactly
    every = proportion_bounds(480, 480, 0.99)
    assert every.upper == 1.0
    assert every.lower == pytest.approx(0.01 ** (1 / 480), rel=1e-9)
    some = proportion_bounds(5, 100, 0.975)
    two_sided = stats.binomtest(5, 100).proportion_ci(confidence_level=0.95, method="exact")
    assert (some.lower, some.upper) == pytest.approx((two_sided.low, two_sided.high), rel=1e-9)


def test_mean_bounds_are_student_t():
    values = [10.0, 12.0, 9.0, 11.0, 13.0]
    bounds = mean_bounds(values, 0.95)
    half = stats.t.ppf(0.95, 4) * np.std(values, ddof=1) / math.sqrt(5)
    assert (bounds.lower, bounds.upper) == pytest.approx((11.0 - half, 11.0 + half))
    assert mean_bounds([5.0], 0.95).upper is None


def test_newcombe_difference_matches_his_worked_example():
    # Newcombe (1998), Statistics in Medicine 17:873, table II, example (a): 56/70 - 48/80,
    # method 10 (hybrid score): 0.0524 to 0.3339.
    diff, lo, hi = proportion_diff_interval(56, 70, 48, 80, 0.95)
    assert diff == pytest.approx(0.2)
    assert (round(lo, 4), round(hi, 4)) == (0.0524, 0.3339)


def test_shift_interval_goes_with_the_mann_whitney_test():
    from bench.analysis.compare import mann_whitney_p

    rng = np.random.default_rng(3)
    x, y = rng.lognormal(0.0, 0.3, 2000) * 1.2, rng.lognormal(0.0, 0.3, 2000)
    estimate, lo, hi = shift_ratio_interval(x, y, 0.99)
    assert lo < 0.2 < hi and abs(estimate - 0.2) < 0.03
    # Over 60 small, barely different pairs: the 95% interval excludes 0 exactly when the test rejects at 5%.
    agree = 0
    for _ in range(60):
        a, b = rng.lognormal(0.0, 0.3, 60) * 1.08, rng.lognormal(0.0, 0.3, 60)
        _, lo, hi = shift_ratio_interval(a, b, 0.95)
        agree += (lo > 0 or hi < 0) == (mann_whitney_p(a, b) < 0.05)
    assert agree >= 58  # ties between the normal approximation's C and the exact test's edge
    assert shift_ratio_interval([1.0], [], 0.95) is None
