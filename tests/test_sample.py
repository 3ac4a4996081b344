"""Statistics from distinct values and counts equal the same statistics on every value.

Analysis computes from histograms (bench/analysis/sample.py), never from one object per
invocation. These tests check, on data whose answers are known, that each weighted computation
gives exactly what the textbook computation gives on the expanded values: scipy's own tests,
numpy's moments, and brute-force counts.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as scipy_stats

from bench.analysis import Sample
from bench.analysis.compare import EXPAND_LIMIT, mann_whitney_p
from bench.analysis.stats import (
    bootstrap_p95_diff_ci,
    cliffs_delta,
    mean_ci,
    quantile_ci,
    stability_warnings,
    welch_diff_ci,
)
from bench.collect import Metric


def tied(rng, n: int, low: int, high: int) -> np.ndarray:
    """n integers in [low, high): many ties, as bucketed latencies have."""
    return rng.integers(low, high, n).astype(float)


def test_an_exact_sample_keeps_every_value_and_its_moments():
    values = [3.0, 1.0, 3.0, 2.0, 10.0]
    sample = Sample.of(values)
    assert sample.values.tolist() == [1.0, 2.0, 3.0, 10.0] and sample.counts.tolist() == [1, 1, 2, 1]
    assert (sample.n, sample.minimum, sample.maximum) == (5, 1.0, 10.0)
    assert sample.mean == pytest.approx(np.mean(values)) and sample.variance == pytest.approx(np.var(values, ddof=1))
    assert sample.repeated().tolist() == sorted(values)


@pytest.mark.parametrize("p, rank", [(50, 3), (90, 5), (10, 1), (0.1, 1), (100, 5), (30, 2)])
def test_the_nearest_rank_rule_by_hand(p, rank):
    # n = 5: rank = max(1, floor(p * 5 / 100 + 0.5)); 30 -> floor(2.0) = 2; 50 -> floor(3.0) = 3.
    assert Sample.of([10.0, 20.0, 30.0, 40.0, 50.0]).percentile(p) == 10.0 * rank


def test_a_histogram_sample_has_exact_moments_and_bucketed_values():
    metric = Metric()
    metric.record(np.array([1000, 1500, 2_000_000], dtype=np.int64))
    sample = Sample.from_metric(metric)
    assert sample.bucketed and sample.n == 3
    assert sample.mean == pytest.approx((1.0 + 1.5 + 2000.0) / 3, rel=1e-15)
    assert sample.variance == pytest.approx(np.var([1.0, 1.5, 2000.0], ddof=1), rel=1e-12)
    assert (sample.minimum, sample.maximum) == (1.0, 2000.0)
    assert sample.values[:2].tolist() == [1.0, 1.5], "below 2,048 µs every microsecond has its own bucket"
    assert 2000.0 <= sample.values[2] <= 2000.0 * (1 + 1 / 1024)


def test_affine_maps_values_and_moments():
    sample = Sample.of([1.0, 2.0, 4.0]).affine(3.0, 0.5)
    assert sample.values.tolist() == [3.5, 6.5, 12.5]
    assert sample.mean == pytest.approx(np.mean([3.5, 6.5, 12.5]))
    assert sample.variance == pytest.approx(np.var([3.5, 6.5, 12.5], ddof=1))


def test_intervals_from_counts_equal_intervals_from_every_value():
    rng = np.random.default_rng(2)
    values = tied(rng, 3000, 10, 400)
    sample = Sample.of(values)
    for q in (0.5, 0.95, 0.99):
        assert quantile_ci(sample, q) == quantile_ci(list(values), q)
    assert mean_ci(sample) == mean_ci(list(values))
    assert stability_warnings(sample) == stability_warnings(list(values))


def test_cliffs_delta_and_welch_from_counts_equal_brute_force():
    rng = np.random.default_rng(3)
    x, y = tied(rng, 400, 0, 50), tied(rng, 300, 5, 60)
    pairs = np.sign(x[:, None] - y[None, :])
    assert cliffs_delta(Sample.of(x), Sample.of(y)) == pytest.approx(pairs.mean(), abs=1e-15)
    welch = scipy_stats.ttest_ind(x, y, equal_var=False).confidence_interval(0.95)
    ci = welch_diff_ci(Sample.of(x), Sample.of(y))
    assert (ci.lo, ci.hi) == pytest.approx((welch.low, welch.high), rel=1e-10)


@pytest.mark.parametrize("shift", [0, 1, 3])
def test_mann_whitney_from_counts_equals_scipy_on_every_value(shift):
    # Above EXPAND_LIMIT the p-value is computed from counts (midranks, tie correction,
    # continuity correction); scipy computes it from the 24,000 values themselves.
    rng = np.random.default_rng(4 + shift)
    x, y = tied(rng, 12_000, 0, 200), tied(rng, 12_000, shift, 200 + shift)
    assert x.size + y.size > EXPAND_LIMIT
    expected = scipy_stats.mannwhitneyu(x, y, alternative="two-sided", method="asymptotic").pvalue
    assert mann_whitney_p(Sample.of(x), Sample.of(y)) == pytest.approx(expected, rel=1e-9, abs=1e-300)


def test_mann_whitney_of_small_samples_is_scipys_exact_test():
    assert mann_whitney_p([1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0]) == pytest.approx(2 / 70, rel=1e-12)


def test_bootstrap_from_counts_brackets_the_true_difference_and_is_seeded():
    rng = np.random.default_rng(6)
    x = rng.normal(100, 5, 5000).round()
    y = x + 20
    ci = bootstrap_p95_diff_ci(Sample.of(x), Sample.of(y))
    assert ci.lo <= -20.0 <= ci.hi and ci.hi - ci.lo < 5
    assert bootstrap_p95_diff_ci(Sample.of(x), Sample.of(y)) == ci
