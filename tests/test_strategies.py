"""Tests of bench.decide.strategies: each strategy's pick on hand-made candidates with known answers.

The aws-lambda-power-tuning cases are its own analyzer tests (test/unit/test-lambda.js, describe
'analyzer', v4.4.0) carried over with their numbers and expected picks, plus the tie-breaks and the
direction of the balanced weight. Samples are built so that the data either clearly separates two
sizes (narrow, far apart) or clearly cannot (one spread shared by both).
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from bench.analysis.cost import power_tuning_cost
from bench.analysis.sample import Sample
from bench.decide.model import Candidate
from bench.decide.powertuning import TuningStat, power_tuning_order, power_tuning_pick, trimmed_mean
from bench.decide.settings import DecisionSettings
from bench.decide.strategies import pick_memory

SPREAD = np.linspace(0.99, 1.01, 60)  # +-1%: far apart figures are separated
WIDE = np.linspace(0.5, 1.5, 60)  # +-50%: figures 1% apart are not


def cand(mb: int, per_million: float, duration: float, upper: float | None = None) -> Candidate:
    return Candidate(
        variant=f"mem-{mb}",
        memory_mb=mb,
        usd_per_invocation=per_million / 1e6,
        monthly_usd=per_million * 10,
        predicted_cold_share=0.001,
        duration_ms=duration,
        latency_ms=None if upper is None else upper * 0.9,
        latency_upper_ms=upper,
    )


def samples(cands: list[Candidate], spread: np.ndarray = SPREAD) -> tuple[dict[str, Sample], dict[str, Sample]]:
    """Per-call cost (per million) and latency samples centred on each candidate's figures."""
    cost = {c.variant: Sample.of(spread * c.usd_per_invocation * 1e6) for c in cands}
    latency = {c.variant: Sample.of(spread * (c.duration_ms or 1.0)) for c in cands}
    return cost, latency


def pick(cands: list[Candidate], spread: np.ndarray = SPREAD, **settings: object):
    return pick_memory(cands, DecisionSettings(**settings), *samples(cands, spread))  # type: ignore[arg-type]


def aplt(rows: list[tuple[int, float, float]], strategy: str, weight: float = 0.5) -> int:
    order = power_tuning_order([TuningStat(f"mem-{mb}", mb, c, d) for mb, c, d in rows], strategy, weight)
    return order[0].memory_mb


# ---- aws-lambda-power-tuning's own analyzer cases: (power, averagePrice, averageDuration) ----


def test_aplt_cost_picks_the_lowest_price_and_at_equal_price_the_faster():
    assert aplt([(128, 100, 100), (256, 200, 300), (512, 30, 200)], "cost") == 512
    assert aplt([(128, 100, 100), (256, 100, 90), (512, 300, 200)], "cost") == 256


def test_aplt_speed_picks_the_lowest_duration_and_at_equal_duration_the_cheaper():
    assert aplt([(128, 100, 300), (256, 200, 200), (512, 300, 100)], "speed") == 512
    assert aplt([(128, 100, 200), (256, 90, 200), (512, 300, 400)], "speed") == 256


def test_aplt_balanced_weights():
    assert aplt([(128, 100, 100), (256, 200, 300), (512, 30, 200)], "balanced", 1) == 512
    assert aplt([(128, 100, 300), (256, 200, 200), (512, 300, 100)], "balanced", 0) == 512
    assert aplt([(128, 101, 300), (256, 200, 200), (512, 300, 101)], "balanced") == 256
    assert aplt([(128, 100, 300), (256, 200, 200), (512, 300, 100), (1024, 1000, 50)], "balanced", 0.3) == 512


def test_aplt_balanced_weight_multiplies_cost_normalised_by_the_maxima():
    # 128: 0.9 x 100/150 + 0.1 x 1000/1000 = 0.70; 1024: 0.9 x 1 + 0.1 x 100/1000 = 0.91.
    # Were the weight on duration, 1024 would win (0.19 against 0.97).
    assert aplt([(128, 100, 1000), (1024, 150, 100)], "balanced", 0.9) == 128
    assert aplt([(128, 100, 1000), (1024, 150, 100)], "balanced", 0.1) == 1024
    assert aplt([(128, 100, 1000), (1024, 150, 100)], "balanced", 7) == 128  # clamped to 1, as APLT does


def test_aplt_full_ties_keep_the_order_given_and_sizes_without_duration_are_left_out():
    assert aplt([(128, 100, 100), (256, 100, 100)], "cost") == 128
    assert aplt([(256, 100, 100), (128, 100, 100)], "speed") == 256
    assert aplt([(128, 50, 200), (256, 100, 100)], "balanced") == 128  # both score 0.75
    assert aplt([(128, 10, 0), (256, 20, 100)], "cost") == 256  # analyzer.js:86 drops a 0 duration
    with pytest.raises(ValueError, match="slo"):
        aplt([(128, 10, 10)], "slo")


# ---- trimmed_mean: APLT's average, scipy's trim_mean, from counts ----


def test_trimmed_mean_equals_scipy_trim_mean_of_the_expanded_values():
    rng = np.random.default_rng(7)
    for n in (1, 2, 4, 5, 9, 10, 11, 99, 1000):
        values = rng.choice([1.0, 2.5, 3.0, 7.0, 40.0, 900.0], size=n) + rng.integers(0, 3, size=n)
        sample = Sample.of(values)
        assert sample.counts.max() > 1 or n < 5  # ties: the cut falls inside a run of equal values
        for discard in (0.0, 0.1, 0.2, 0.25, 0.4, 0.45):
            assert trimmed_mean(sample, discard) == pytest.approx(stats.trim_mean(values, discard), rel=1e-12, abs=0)


def test_trimmed_mean_matches_aplts_own_cases():
    durations = Sample.of([1, 2, 3, 4, 2000])
    assert trimmed_mean(durations) == 3
    assert trimmed_mean(durations, 0.4) == 3
    assert trimmed_mean(durations, 0) == 402
    assert trimmed_mean(Sample.of([1]), 0.4) == 1
    with pytest.raises(ValueError):
        trimmed_mean(Sample.empty())
    with pytest.raises(ValueError):
        trimmed_mean(durations, 0.5)


def test_power_tuning_pick_uses_its_own_price_ceil_of_the_trimmed_billed_mean():
    # 128 MB: billed trimmed mean 100.2 -> ceil 101 ms -> 101 units; 256 MB: exactly 50 -> 100 units.
    billed = {"mem-128": Sample.of([100, 100, 100.6, 0, 900]), "mem-256": Sample.of([50] * 5)}
    durations = {"mem-128": Sample.of([99.0] * 5), "mem-256": Sample.of([49.0] * 5)}
    memory = {"mem-128": 128, "mem-256": 256}
    assert trimmed_mean(billed["mem-128"]) == pytest.approx(100.2)
    assert power_tuning_cost(100.2, 128) > power_tuning_cost(50, 256)
    assert power_tuning_pick(memory, billed, durations, "cost") == "mem-256"
    assert power_tuning_pick(memory, billed, durations, "slo") == "mem-256"  # APLT's default, cost
    assert power_tuning_pick(memory, billed, durations, "speed") == "mem-256"
    slower = {"mem-128": durations["mem-128"], "mem-256": Sample.of([120.0] * 5)}
    assert power_tuning_pick(memory, billed, slower, "speed") == "mem-128"
    assert power_tuning_pick(memory, {"mem-128": billed["mem-128"]}, durations, "speed") == "mem-128"
    assert power_tuning_pick(memory, {}, durations, "cost") is None


# ---- pick_memory: the same rules, with evidence ----


def test_cost_picks_the_cheapest_and_names_what_would_change_it():
    cands = [cand(128, 0.83, 300.0), cand(512, 0.75, 66.0), cand(1024, 0.88, 40.0)]

    p = pick(cands, strategy="cost")

    assert (p.variant, p.memory_mb, p.strategy, p.separated, p.runner_up) == ("mem-512", 512, "cost", True, "mem-128")
    assert p.reason.startswith("512 MB has the lowest price ($0.7500 per million; aws-lambda-power-tuning's cost")
    # 0.83 / 0.75 = 1.1067; at equal price 512 MB would still win, being faster (APLT's tie-break).
    assert p.sensitivity == "512 MB stays the pick unless its cost per million rises 10.7% (to $0.8300)."


def test_speed_picks_the_lowest_trimmed_mean_duration():
    cands = [cand(512, 0.75, 66.0), cand(1024, 0.88, 40.0), cand(1769, 1.31, 50.0)]

    p = pick(cands, strategy="speed")

    assert (p.variant, p.separated, p.runner_up) == ("mem-1024", True, "mem-1769")
    assert p.sensitivity == "1024 MB stays the pick unless its average duration rises 25% (to 50 ms)."


def test_balanced_picks_by_aplts_score_and_names_both_figures():
    cands = [cand(128, 1.01, 300.0), cand(256, 2.00, 200.0), cand(512, 3.00, 101.0)]

    p = pick(cands, strategy="balanced")

    assert (p.variant, p.separated) == ("mem-256", True)
    assert "0.667 = 0.5 x cost / max cost + 0.5 x duration / max duration" in p.reason
    assert p.sensitivity is not None
    assert p.sensitivity.startswith("256 MB stays the pick unless its cost per million rises ")
    assert ", or its average duration rises " in p.sensitivity


def test_cost_not_separated_picks_the_cheaper_and_says_so():
    cands = [cand(512, 0.750, 66.0), cand(1024, 0.755, 40.0)]

    p = pick(cands, WIDE, strategy="cost")

    assert (p.variant, p.separated, p.runner_up) == ("mem-512", False, "mem-1024")
    assert "the data cannot separate it from 1024 MB (the 95% interval of the difference in mean cost" in p.reason
    assert "it is also the cheaper of the two" in p.reason
    assert p.sensitivity == (
        "512 MB stays the pick while the data cannot tell it from 1024 MB, unless its cost per million rises "
        "0.667% (to $0.7550)."
    )


def test_speed_not_separated_picks_the_cheaper_of_the_fastest_two():
    cands = [cand(1024, 0.88, 40.9), cand(1769, 1.31, 40.5)]

    p = pick(cands, WIDE, strategy="speed")

    assert (p.variant, p.separated, p.runner_up) == ("mem-1024", False, "mem-1769")
    assert p.reason.startswith("1024 MB is picked: 1769 MB has the lowest average duration (40.5 ms, trimmed mean)")
    assert "and 1024 MB is the cheaper ($0.8800 per million against $1.3100)" in p.reason


def test_missing_samples_are_not_enough_data_never_a_verdict():
    cands = [cand(512, 0.75, 66.0), cand(1024, 0.88, 40.0)]
    p = pick_memory(cands, DecisionSettings(strategy="speed"), {}, {})
    assert (p.variant, p.separated) == ("mem-512", False)
    assert "not enough data: an empty sample" in p.reason


def test_slo_is_judged_on_the_upper_bound_not_the_point_estimate():
    cheap = cand(512, 0.75, 66.0, upper=320.0)  # its p95 (288 ms) meets 300 ms; its upper bound does not
    cands = [cheap, cand(1024, 0.88, 40.0, upper=290.0), cand(1769, 1.31, 38.0, upper=280.0)]
    assert cheap.latency_ms is not None and cheap.latency_ms < 300

    p = pick(cands, strategy="slo", slo_ms=300)

    assert (p.variant, p.strategy, p.separated, p.runner_up) == ("mem-1024", "slo", True, "mem-1769")
    assert p.reason == (
        "1024 MB is the cheapest size whose p95 upper bound (290 ms, 95%) meets the 300 ms SLO, at $0.8800 per million."
    )
    assert p.sensitivity == (
        "1024 MB stays the pick unless 512 MB's p95 upper bound (320 ms) falls to 300 ms or less, "
        "or its own p95 upper bound (290 ms) rises above 300 ms, "
        "or its cost per million rises 48.9% (to $1.3100), 1769 MB's."
    )


def test_slo_not_separated_keeps_the_cheaper_and_says_so():
    cands = [cand(1024, 0.880, 40.0, upper=290.0), cand(1769, 0.884, 38.0, upper=280.0)]
    p = pick(cands, WIDE, strategy="slo", slo_ms=300)
    assert (p.variant, p.separated, p.runner_up) == ("mem-1024", False, "mem-1769")
    assert "the data cannot tell its cost from 1769 MB's" in p.reason


def test_no_candidate_meets_the_slo():
    cands = [cand(512, 0.75, 66.0, upper=340.0), cand(1024, 0.88, 40.0, upper=320.0), cand(128, 0.7, 300.0)]

    p = pick(cands, strategy="slo", slo_ms=300, slo_percentile=99)

    assert (p.variant, p.memory_mb, p.separated) == (None, None, None)
    assert p.reason == (
        "No memory size meets the 300 ms SLO on the 95% upper bound of its p99; the closest, 1024 MB, reaches 320 ms."
    )
    assert p.sensitivity == "1024 MB would be the pick if its p99 upper bound fell by 20 ms (6.25%) to 300 ms."


def test_nothing_to_pick():
    assert pick_memory([], DecisionSettings(), {}, {}).variant is None
    only = pick([cand(512, 0.75, 66.0)], strategy="cost")
    assert (only.variant, only.separated, only.runner_up) == ("mem-512", None, None)
    no_duration = pick([cand(512, 0.75, 0.0)], strategy="cost")
    assert no_duration.variant is None and "512 MB left out" in no_duration.reason
