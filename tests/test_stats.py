"""Tests of bench.analysis.stats and .compare on data whose answers are known by hand.

Order-statistic ranks are checked against an exact binomial computed here with fractions
(no scipy), Wilson intervals against their closed form and published values, Student t
and Welch against table values and scipy's own t-test. Nothing random runs unseeded.
"""

from __future__ import annotations

import json
import math
from fractions import Fraction

import numpy as np
import pytest
from scipy import stats as scipy_stats

from bench.analysis.compare import (
    NO_DIFFERENCE,
    NOT_ENOUGH_DATA,
    Comparison,
    compare_samples,
    fmt_p,
    min_p_value,
)
from bench.analysis.stats import (
    ORDER_STATISTIC,
    STUDENT_T,
    WELCH_T,
    WILSON,
    Interval,
    bootstrap_p95_diff_ci,
    cliffs_delta,
    effect_size_label,
    mean_ci,
    min_n_for_quantile_ci,
    order_statistic_coverage,
    order_statistic_ranks,
    proportion_ci,
    quantile,
    quantile_ci,
    stability_warnings,
    welch_diff_ci,
)

Z95 = 1.959963984540054  # the standard normal's 97.5% point


def exact_ranks(n: int, q: Fraction, tail: Fraction = Fraction(1, 40)):
    """The equal-tailed order-statistic ranks from an exact binomial cdf (fractions only)."""
    cdf, total = [], Fraction(0)
    for k in range(n + 1):
        total += math.comb(n, k) * q**k * (1 - q) ** (n - k)
        cdf.append(total)
    lower = max((k for k in range(n + 1) if cdf[k] <= tail), default=-1)
    upper = min(k for k in range(n + 1) if cdf[k] >= 1 - tail)
    if lower < 0 or upper > n - 1:
        return None
    return lower + 1, upper + 1


# ---- order-statistic intervals ----


@pytest.mark.parametrize(
    "n, ranks, coverage",
    [
        (5, None, None),  # 2 x (1/2)^5 = 1/16 > 5%: no pair of ranks reaches 95%
        (6, (1, 6), Fraction(62, 64)),  # the smallest n for a 95% median interval
        (10, (2, 9), Fraction(1002, 1024)),  # P(B <= 1) = 11/1024, P(B <= 8) = 1013/1024
    ],
)
def test_median_ranks_by_hand(n, ranks, coverage):
    assert order_statistic_ranks(n, 0.5) == ranks
    if ranks:
        assert order_statistic_coverage(n, 0.5, ranks) == pytest.approx(float(coverage), abs=1e-15)


def test_median_ranks_agree_with_le_boudecs_approximation_at_n_100():
    # SeBS computes [X(floor((n - 1.96 sqrt n) / 2)), X(ceil(1 + (n + 1.96 sqrt n) / 2))].
    n = 100
    approx = (math.floor((n - 1.96 * math.sqrt(n)) / 2), math.ceil(1 + (n + 1.96 * math.sqrt(n)) / 2))
    assert order_statistic_ranks(n, 0.5) == approx == (40, 61)


@pytest.mark.parametrize("q", [Fraction(1, 2), Fraction(9, 10), Fraction(19, 20), Fraction(99, 100)])
def test_ranks_equal_the_exact_binomial(q):
    # Every n to 100, then around the p99 threshold (367/368) and a few beyond.
    for n in [*range(1, 101), 200, 366, 367, 368, 369, 500]:
        assert order_statistic_ranks(n, float(q)) == exact_ranks(n, q), n


@pytest.mark.parametrize("q, need", [(0.5, 6), (0.95, 72), (0.99, 368)])
def test_minimum_n_for_an_interval(q, need):
    # 95%: (1 - q)^n and q^n must both be <= 2.5%; 0.95^71 = 0.0262, 0.95^72 = 0.0249.
    assert min_n_for_quantile_ci(q) == need
    assert order_statistic_ranks(need - 1, q) is None
    assert order_statistic_ranks(need, q) is not None


def test_quantile_ci_on_1_to_n_returns_the_ranked_values():
    values = [float(v) for v in range(10, 0, -1)]  # 10..1: the function sorts its own copy
    assert quantile_ci(values, 0.5) == Interval(2.0, 9.0, ORDER_STATISTIC, 0.95)
    assert values[0] == 10.0
    assert quantile_ci(range(1, 73), 0.95) == Interval(64.0, 72.0, ORDER_STATISTIC, 0.95)


def test_quantile_ci_too_small_says_why():
    ci = quantile_ci([1.0, 2.0, 3.0, 4.0, 5.0], 0.5)
    assert (ci.lo, ci.hi, ci.known) == (None, None, False)
    assert ci.reason == "a 95% interval of p50 needs n >= 6; n = 5"
    assert quantile_ci(range(1, 72), 0.95).reason == "a 95% interval of p95 needs n >= 72; n = 71"


def test_point_estimate_lies_inside_its_interval():
    for n in range(6, 400):
        values = np.arange(1, n + 1, dtype=float)
        for q in (0.5, 0.95, 0.99):
            ci = quantile_ci(values, q)
            if ci.known:
                assert ci.lo <= quantile(values, q) <= ci.hi, (n, q)


def test_median_interval_covers_at_least_95_percent_seeded():
    # 2,000 samples of 50 from an exponential (median ln 2); seeded, so exact every run.
    rng = np.random.default_rng(12345)
    hits = sum((ci := quantile_ci(rng.exponential(size=50), 0.5)).lo <= math.log(2) <= ci.hi for _ in range(2000))
    exact = order_statistic_coverage(50, 0.5, order_statistic_ranks(50, 0.5))
    assert exact >= 0.95
    assert hits / 2000 >= 0.94  # within sampling error of the exact coverage


# ---- mean, proportion ----


def test_mean_ci_student_t_by_hand():
    # mean 3, s = sqrt(2.5), sem = sqrt(0.5); t(0.975, 4) = 2.7764451051977987 (tables).
    half = 2.7764451051977987 * math.sqrt(0.5)
    ci = mean_ci([1, 2, 3, 4, 5])
    assert ci.method == STUDENT_T
    assert (ci.lo, ci.hi) == pytest.approx((3 - half, 3 + half), rel=1e-12)
    assert ci.lo == pytest.approx(1.0367568385, rel=1e-9)


def test_mean_ci_needs_two_and_clips_at_a_floor():
    assert mean_ci([7.0]).reason == "a Student t interval needs n >= 2; n = 1"
    assert not mean_ci([]).known
    assert mean_ci([5.0, 5.0, 5.0]) == Interval(5.0, 5.0, STUDENT_T, 0.95)
    clipped = mean_ci([0, 0, 0, 10], floor=0.0)
    assert clipped.lo == 0.0 and clipped.hi == mean_ci([0, 0, 0, 10]).hi


def wilson(k: int, n: int, z: float = Z95) -> tuple[float, float]:
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return centre - half, centre + half


@pytest.mark.parametrize(
    "k, n, published",
    [
        (5, 10, (0.2366, 0.7634)),
        (0, 10, (0.0, 0.2775)),
        (1, 20, (0.0089, 0.2361)),
        (8, 890, (0.0046, 0.0176)),  # a cold-start rate like a real run's
    ],
)
def test_wilson_interval(k, n, published):
    ci = proportion_ci(k, n)
    assert ci.method == WILSON
    assert (ci.lo, ci.hi) == pytest.approx(wilson(k, n), abs=1e-12)
    assert (round(ci.lo, 4), round(ci.hi, 4)) == published


def test_proportion_ci_without_trials_says_so():
    assert proportion_ci(0, 0).reason == "no trials (n = 0)"
    with pytest.raises(ValueError):
        proportion_ci(3, 2)


# ---- two samples ----


def brute_delta(x, y) -> float:
    return sum((a > b) - (a < b) for a in x for b in y) / (len(x) * len(y))


@pytest.mark.parametrize(
    "x, y",
    [
        ([1, 2, 3], [1, 2, 3]),
        ([1, 2], [3, 4]),
        ([3, 4], [1, 2]),
        ([1, 2, 2, 5, 9], [2, 2, 3, 7]),
        ([10], [1, 10, 10, 30]),
    ],
)
def test_cliffs_delta_equals_the_pairwise_count(x, y):
    assert cliffs_delta(x, y) == pytest.approx(brute_delta(x, y), abs=1e-15)
    u = scipy_stats.mannwhitneyu(x, y).statistic
    assert cliffs_delta(x, y) == pytest.approx(2 * u / (len(x) * len(y)) - 1, abs=1e-15)


@pytest.mark.parametrize(
    "delta, label", [(0.0, "negligible"), (-0.146, "negligible"), (0.2, "small"), (-0.4, "medium"), (0.474, "large")]
)
def test_effect_size_labels(delta, label):
    assert effect_size_label(delta) == label


def test_min_p_value_of_the_exact_test():
    assert min_p_value(3, 3) == pytest.approx(2 / 20)
    assert min_p_value(4, 4) == pytest.approx(2 / 70)
    assert min_p_value(0, 5) == 1.0
    assert min_p_value(5_000_000, 5_000_000) == 0.0  # computed in logs: C(n, k) would have millions of digits


def test_identical_samples_show_no_difference():
    x = list(range(1, 21))
    c = compare_samples(x, x)
    assert (c.verdict, c.p_value, c.cliffs_delta, c.mean_diff, c.p95_diff) == (NO_DIFFERENCE, 1.0, 0.0, 0.0, 0.0)
    assert c.effect_size == "negligible" and not c.decided


def test_disjoint_small_samples_use_the_exact_test():
    c = compare_samples([1, 2, 3, 4], [5, 6, 7, 8])
    assert c.p_value == pytest.approx(2 / 70, rel=1e-12)  # the exact test's floor
    assert (c.verdict, c.cliffs_delta, c.effect_size) == ("faster", -1.0, "large")
    assert c.p95_diff_ci.reason == "a bootstrap interval of p95 needs n >= 20 in each sample; n = 4 and 4"
    assert compare_samples([5, 6, 7, 8], [1, 2, 3, 4]).verdict == "slower"


def test_shifted_samples_and_their_intervals():
    x = np.arange(1, 21, dtype=float)
    y = x + 100
    c = compare_samples(x, y)
    assert c.verdict == "faster" and c.p_value < 1e-6 and c.cliffs_delta == -1.0
    assert c.mean_diff == -100.0 and c.p95_diff == pytest.approx(-100.0, abs=1e-9)
    welch = scipy_stats.ttest_ind(x, y, equal_var=False).confidence_interval(0.95)
    assert c.mean_diff_ci.method == WELCH_T
    assert (c.mean_diff_ci.lo, c.mean_diff_ci.hi) == pytest.approx((welch.low, welch.high), rel=1e-12)
    # Both samples vary alike, so the bootstrap interval of the p95 gap brackets -100 ...
    assert c.p95_diff_ci.lo < -100.0 < c.p95_diff_ci.hi
    # ... and a fixed seed makes it the same interval every time.
    assert compare_samples(x, y).p95_diff_ci == c.p95_diff_ci
    assert bootstrap_p95_diff_ci(x, y, seed=1) != bootstrap_p95_diff_ci(x, y, seed=2)


def test_custom_words():
    assert compare_samples([1, 2, 3, 4], [5, 6, 7, 8], words=("cheaper", "dearer")).verdict == "cheaper"


def test_too_few_samples_is_not_a_verdict():
    c = compare_samples([1.0, 2.0, 3.0], [10.0, 11.0, 12.0])
    assert c.verdict == NOT_ENOUGH_DATA and not c.decided
    assert c.reason == "with n = 3 and 3 the smallest possible p-value is 0.1, above alpha = 0.05"
    assert c.p_value is None and c.cliffs_delta is None and c.mean_diff_ci is None
    assert compare_samples([], [1.0]).reason == "an empty sample (n = 0 and 1)"


def test_welch_without_variance_is_exact():
    assert welch_diff_ci([3, 3, 3], [5, 5]) == Interval(-2.0, -2.0, WELCH_T, 0.95)
    assert not welch_diff_ci([3], [5, 6]).known


def test_comparison_round_trips_through_json():
    c = compare_samples(np.arange(30.0), np.arange(30.0) + 3)
    assert Comparison.from_dict(json.loads(json.dumps(c.as_dict()))) == c
    assert fmt_p(0.0004) == "p < 0.001" and fmt_p(0.0312) == "p = 0.031" and fmt_p(None) == "p unknown"


# ---- stability ----


def test_stability_warnings_like_pyperf():
    assert stability_warnings([100.0] * 10) == ()
    assert stability_warnings([5.0]) == ()
    # 90 and 110 alternating: sd = sqrt(20 x 100 / 19) = 10.26, 10% of the mean; IQR 20% of the median.
    assert stability_warnings([90.0, 110.0] * 10) == ("the standard deviation (10.3 ms) is 10% of the mean (100.0 ms)",)
    assert stability_warnings([50.0, 150.0] * 15, unit="USD") == (
        "the standard deviation (50.9 USD) is 51% of the mean (100.0 USD)",
        # nearest rank: the median of 15 x 50 and 15 x 150 is the 15th value, 50
        "the interquartile range (100.0 USD) is 200% of the median (50.0 USD)",
    )


def test_non_finite_values_are_refused():
    with pytest.raises(ValueError):
        quantile_ci([1.0, float("nan")], 0.5)


def test_p95_can_be_left_out():
    c = compare_samples(np.arange(30.0), np.arange(30.0) + 3, p95=False)
    assert c.p95_diff is None and c.p95_diff_ci is None
    assert c.verdict == compare_samples(np.arange(30.0), np.arange(30.0) + 3).verdict
