"""Exhaustive mode's figures against APLT's documented definitions, the models, and the stop test.

Vectors are written from APLT's source (utils.js computeAverageDuration, computePrice,
computeTotalCost; analyzer.js orders), with values whose sums are exact in binary, so the
answers are asserted exactly.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from bench.analysis.separation import check_cheapest
from bench.tune.adaptive import EQUIVALENT, SEPARATED, UNDECIDED, _min_n, separation_test
from bench.tune.exhaustive import SizeStats, aplt_base_cost, aplt_pick, size_stats
from bench.tune.model import CPU_SHARE, PARROTFISH, best_fit, fit_cpu_share, fit_parrotfish

BASE = 2.1e-9  # APLT's x86_64 default region base cost per ms at 128 MB


@pytest.mark.parametrize(
    "durations, discard, expected",
    [
        ([10, 9, 8, 7, 6, 5, 4, 3, 2, 1], 0.2, 5.5),  # parseInt(10 x 0.2) = 2 cut each end: mean of 3..8
        ([100, 1, 2, 3, 4], 0.2, 3.0),  # the cold outlier and the fastest go
        ([100, 1, 2, 3], 0.2, 26.5),  # parseInt(4 x 0.2) = 0: nothing cut
        ([1.5, 2.5, 100.25, 3.5, 0.25, 2.0, 2.0, 9.0, 4.0, 5.0], 0.3, 3.0),  # 10 x 0.3 = 3.0000000000000004 -> 3
        ([4, 8, 16], 0.0, 28 / 3),
        ([7.0] * 50, 0.4, 7.0),
    ],
)
def test_average_duration_is_aplts_trimmed_mean(durations, discard, expected):
    stats = size_stats(128, durations, [1.0] * len(durations), discard, BASE)
    assert stats is not None and stats.average_duration == expected


def test_price_and_total_cost_are_aplts_formulas():
    # billed [5, 5, 6, 7, 100] at 512 MB: trimmed mean (5 + 6 + 7) / 3 = 6 -> ceil 6 x 2.1e-9 x 512 / 128.
    billed = [5.0, 5.0, 6.0, 7.0, 100.0]
    stats = size_stats(512, [4.2, 4.5, 5.1, 6.9, 99.0], billed, 0.2, BASE)
    assert stats is not None
    assert stats.average_price == math.ceil(6.0) * BASE * (512 / 128)
    assert stats.total_cost == sum(b * BASE * (512 / 128) for b in billed)  # computeTotalCost: each call, summed
    # A trimmed billed mean that is not whole is rounded up before pricing: (3 + 4 + 4) / 3 -> 4.
    assert size_stats(1024, [1.0] * 5, [3.0, 3.0, 4.0, 4.0, 9.0], 0.2, BASE).average_price == 4 * BASE * 8
    assert size_stats(128, [], [], 0.2, BASE) is None  # APLT's average of nothing is 0, which it drops
    assert aplt_base_cost("x86_64") == 2.1e-9 and aplt_base_cost("arm64") == 1.7e-9


def test_strategies_and_tie_breaks_are_aplts():
    s = [SizeStats(128, 2.0, 40.0, 0), SizeStats(256, 2.0, 20.0, 0), SizeStats(512, 3.0, 10.0, 0)]
    assert [x.value for x in aplt_pick(s, "cost", 0.5)] == [256, 128, 512]  # equal price: the faster
    t = [SizeStats(128, 3.0, 10.0, 0), SizeStats(256, 2.0, 10.0, 0), SizeStats(512, 1.0, 30.0, 0)]
    assert [x.value for x in aplt_pick(t, "speed", 0.5)] == [256, 128, 512]  # equal duration: the cheaper
    # balanced, w = 0.5: 128: 0.5 + 0.5 x 10/30 = 0.667; 256: 0.333 + 0.333 = 0.667; 512: 0.167 + 0.5 = 0.667 -> all
    # equal up to rounding, so take w = 0.75: 128: 0.833; 256: 0.583; 512: 0.375.
    assert [x.value for x in aplt_pick(t, "balanced", 0.75)] == [512, 256, 128]
    assert [x.value for x in aplt_pick(t, "balanced", 1.0)] == [512, 256, 128]  # weight 1 is cost
    assert [x.value for x in aplt_pick(t, "balanced", 0.0)][-1] == 512  # weight 0 is speed


def test_cpu_share_model_recovers_its_parameters():
    sizes = [128, 512, 1769, 3008]
    truth = [3.0 + 40.0 * max(1.0, 1769 / m) for m in sizes]
    fit = fit_cpu_share(sizes, truth, [5, 5, 5, 5])
    assert fit is not None and fit.name == CPU_SHARE
    assert fit.params == pytest.approx((3.0, 40.0), rel=1e-12)
    assert fit.predict(1024) == pytest.approx(3.0 + 40.0 * 1769 / 1024, rel=1e-12)
    assert fit.predict(10240) == pytest.approx(43.0, rel=1e-12)  # flat above one vCPU (single-threaded)
    assert fit.relative_error == pytest.approx(0.0, abs=1e-12)
    assert fit_cpu_share([512, 512], [1.0, 2.0], [1, 1]) is None  # one distinct size fits nothing


def test_parrotfish_model_wins_on_its_own_curve():
    sizes = [128, 256, 512, 1024, 1536, 3008]
    truth = [5.0 + 100.0 * math.exp(-m / 400.0) for m in sizes]
    fit = fit_parrotfish(sizes, truth, [5] * 6)
    assert fit is not None and fit.params == pytest.approx((5.0, 100.0, 400.0), rel=1e-6)
    assert best_fit(sizes, truth, [5] * 6).name == PARROTFISH
    flat = [3.0 + 40.0 * max(1.0, 1769 / m) for m in sizes]
    assert best_fit(sizes, flat, [5] * 6).name == CPU_SHARE
    assert fit_parrotfish(sizes[:4], truth[:4], [5] * 4) is None  # AICc needs five sizes for three parameters


def test_stop_test_is_the_decision_stages_rule_at_95_percent():
    rng = np.random.default_rng(7)
    for shift in (0.0, 0.05, 0.2, 1.0):
        for n in (3, 4, 8, 30):
            x = list(rng.normal(10.0, 1.0, n))
            y = list(rng.normal(10.0 + shift * 10, 1.0, n))
            ours = separation_test(x, y, 0.95, 0.0, "x", "y").outcome == SEPARATED
            assert ours == check_cheapest("x", "y", x, y).separated


def test_equivalence_and_not_enough_data():
    same = [10.0, 10.1, 9.9, 10.0, 10.05, 9.95] * 5
    near = [v + 0.02 for v in same]
    assert separation_test(same, near, 0.95, 0.05, "a", "b").outcome == EQUIVALENT
    assert separation_test(same, near, 0.95, 0.0001, "a", "b").outcome == UNDECIDED
    assert separation_test([1.0, 2.0, 3.0], [4.0, 5.0, 6.0], 0.95, 0.05, "a", "b").outcome == UNDECIDED
    assert _min_n(0.05) == 4 and _min_n(0.01) == 5  # 2 / C(8, 4) = 0.029; 2 / C(10, 5) = 0.0079
