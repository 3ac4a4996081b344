"""Tests of the provisioned-concurrency plan (bench.decide.provisioned): picks and prices by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from bench.analysis.sample import Sample
from bench.analysis.stats import proportion_ci
from bench.decide.model import ProvisionedPick
from bench.decide.provisioned import (
    break_even_rps,
    break_even_utilisation,
    monthly_usd,
    plan_provisioned,
    provisioned_hours,
    search_provisioned,
    traffic_case,
)
from bench.decide.settings import DAYS_PER_MONTH, DecisionSettings, TrafficSettings
from bench.decide.simulate import SimResult
from bench.decide.traffic import arrival_profile

# us-east-1, x86_64 (FACTS.md)
DURATION = 0.0000166667
PC = 0.0000041667
PC_DURATION = 0.0000097222
REQUEST = 0.20 / 1e6
MONTH_S = 730 * 3600


def sim(provisioned: int, requests: int, cold: int, served_by_pc: int, od_ms: float | None, pc_ms: float | None):
    return SimResult(
        provisioned=provisioned,
        requests=requests,
        cold=cold,
        cold_share=cold / requests,
        cold_share_ci=proportion_ci(cold, requests),
        served_by_pc=served_by_pc,
        peak_concurrency=4,
        pc_utilisation=None,
        p99_service_ms=None,
        mean_billed_ms_on_demand=od_ms,
        mean_billed_ms_provisioned=pc_ms,
        simulated_s=86_400,
        idle_timeout_s=380,
    )


def test_break_even_utilisation_comes_from_the_prices():
    assert break_even_utilisation("x86_64") == pytest.approx(PC / (DURATION - PC_DURATION), rel=1e-12)
    assert break_even_utilisation("x86_64") == pytest.approx(0.60, abs=0.001)  # the "about 60%"
    assert break_even_utilisation("arm64") == pytest.approx(0.0000033334 / (0.0000133334 - 0.0000077778), rel=1e-12)
    # 4 environments, 60% busy, at 50 ms a call: 4 x 0.6 x 20 = 48 requests a second.
    assert break_even_rps(4, 50.0, "x86_64") == pytest.approx(4 * 20 * PC / (DURATION - PC_DURATION), rel=1e-12)


def test_search_doubles_then_bisects_to_the_smallest_n_within_the_budget():
    shares = {0: 0.5, 1: 0.3, 2: 0.2, 3: 0.05, 4: 0.03, 5: 0.009, 6: 0.004, 7: 0.001, 8: 0.0}
    asked: list[int] = []

    def run(n: int) -> SimResult:
        asked.append(n)
        return sim(n, 1000, round(shares[n] * 1000), 0, 1.0, None)

    count, runs = search_provisioned(run, 0.01)
    assert count == 5
    assert asked == [0, 1, 2, 4, 8, 6, 5]
    assert set(runs) == set(asked)
    asked.clear()
    assert search_provisioned(run, 0.5)[0] == 0 and asked == [0]
    # A cap the budget cannot be met under: the cap comes back, over budget.
    assert search_provisioned(run, 0.0001, cap=3)[0] == 3


def test_provisioned_hours_round_each_period_up_to_five_minutes():
    assert provisioned_hours(24) == 730.0
    assert provisioned_hours(8) == pytest.approx(8 * DAYS_PER_MONTH)
    # 7.33 h = 439.8 minutes, billed as 440 a day.
    assert provisioned_hours(7.33) == pytest.approx(440 / 60 * DAYS_PER_MONTH)


def test_monthly_cost_of_simulated_options_by_hand():
    # 1 M requests a month at 1024 MB. On demand: 2% cold, mean billed 130 ms with INIT.
    on_demand = sim(0, 10_000, 200, 0, 130.0, None)
    usd = monthly_usd(on_demand, 1e6, hours_per_day=0, memory_mb=1024, architecture="x86_64", path="direct")
    assert usd == pytest.approx(1e6 * REQUEST + 1e6 * 0.130 * DURATION, rel=1e-12)
    # 2 always-on environments serve 60% (warm, 100 ms at the PC rate); 40% on demand at 110 ms.
    always = sim(2, 10_000, 10, 6_000, 110.0, 100.0)
    usd = monthly_usd(always, 1e6, hours_per_day=24, memory_mb=1024, architecture="x86_64", path="direct")
    expected = 1e6 * REQUEST + 2 * MONTH_S * PC + 0.6e6 * 0.100 * PC_DURATION + 0.4e6 * 0.110 * DURATION
    assert usd == pytest.approx(expected, rel=1e-12)
    # The same for 8 peak hours a day, through an HTTP API ($1 per million).
    usd = monthly_usd(always, 1e6, hours_per_day=8, memory_mb=1024, architecture="x86_64", path="apigw-http")
    peak_s = 8 * 3600 * DAYS_PER_MONTH  # 876,000 s, a whole number of 5 minutes
    expected = 1e6 * (REQUEST + 1e-6) + 2 * peak_s * PC + 0.6e6 * 0.100 * PC_DURATION + 0.4e6 * 0.110 * DURATION
    assert usd == pytest.approx(expected, rel=1e-12)


def test_sparse_traffic_gets_one_environment_priced_by_hand():
    # 2,600 requests a month of 1 ms at 128 MB, 100 ms of init: on demand 68.7% start cold
    # (exp(-rate x 380 s)), over the 1% budget; one provisioned environment serves every request
    # warm (two within the same millisecond never come in 1,000 days of 85 a day).
    profile = arrival_profile(TrafficSettings(requests_per_month=2600))
    warm, init = Sample.of([1.0]), Sample.of([100.0])
    pick = plan_provisioned(
        profile, warm, warm, init, memory_mb=128, architecture="x86_64", path="direct", decision=DecisionSettings()
    )
    assert isinstance(pick, ProvisionedPick)
    assert pick.count == 1 and pick.case == "sparse" and pick.predicted_cold_share == 0.0
    # The search's points (0, 1) and the pick's two neighbours above, for the chart.
    assert [n for n, _ in pick.curve] == [0, 1, 2, 3] and pick.curve[1][1] == 0.0
    share0 = pick.curve[0][1]
    assert abs(share0 - math.exp(-2600 / (DAYS_PER_MONTH * 86_400) * 380)) < 0.01
    # On demand: every request 1 ms, a cold one ceil(1 + 100) = 101 ms, at 0.125 GB.
    on_demand = 2600 * REQUEST + 2600 * ((1 - share0) * 1 + share0 * 101) / 1000 * 0.125 * DURATION
    assert pick.on_demand_monthly_usd == pytest.approx(on_demand, rel=1e-9)
    # Always on: 0.125 GB x 730 h provisioned, 2,600 requests of 1 ms at the PC duration rate.
    always = 2600 * REQUEST + 0.125 * MONTH_S * PC + 2600 * 0.001 * 0.125 * PC_DURATION
    assert pick.monthly_usd == pytest.approx(always, rel=1e-9)
    assert [o.label for o in pick.options] == ["on demand", "always on"]
    assert [o.predicted_p99_ms for o in pick.options] == [101.0, 1.0]
    assert pick.break_even_utilisation == pytest.approx(0.6, abs=0.001)
    # One environment at 1 ms a call pays only above 0.6 x 1000 = 600 requests a second.
    assert pick.sensitivity is not None and pick.sensitivity.startswith("PC stops paying below 600 rps")
    assert pick.reason.startswith(
        f"1 provisioned environment brings the predicted cold share from {share0:.3%} to 0.000%"
    )


def test_steady_traffic_within_the_budget_gets_no_provisioned_concurrency():
    rng = np.random.default_rng(4)
    warm = Sample.of(rng.gamma(4, 25, 2000))
    cold, init = Sample.of(rng.gamma(4, 30, 100)), Sample.of(rng.normal(300, 30, 100))
    profile = arrival_profile(TrafficSettings(requests_per_month=10e6))
    pick = plan_provisioned(
        profile, warm, cold, init, memory_mb=512, architecture="x86_64", path="direct", decision=DecisionSettings()
    )
    assert pick.count == 0 and pick.case == "steady"
    assert [n for n, _ in pick.curve] == [0, 1, 2] and pick.curve[0][1] == pick.predicted_cold_share < 0.01
    assert pick.monthly_usd == pick.on_demand_monthly_usd
    assert [o.label for o in pick.options] == ["on demand"]
    assert pick.reason.startswith("On demand already keeps cold starts to")


def test_a_peaked_profile_adds_pc_scheduled_for_the_peak_hours():
    # A budget of zero needs PC; 8 peak hours at 8/s of 300,000 a day.
    rng = np.random.default_rng(5)
    warm = Sample.of(rng.gamma(4, 25, 2000))
    cold, init = Sample.of(rng.gamma(4, 30, 100)), Sample.of(rng.normal(300, 30, 100))
    profile = arrival_profile(TrafficSettings(requests_per_month=3e5 * DAYS_PER_MONTH, peak_rps=8))
    decision = DecisionSettings(cold_start_budget=0.0)
    pick = plan_provisioned(
        profile, warm, cold, init, memory_mb=256, architecture="arm64", path="direct", decision=decision, overhead_ms=5
    )
    assert pick.count > 0 and pick.predicted_cold_share == 0.0
    labels = [(o.label, o.count, o.hours_per_day) for o in pick.options]
    assert labels == [("on demand", 0, 0.0), ("always on", pick.count, 24.0), ("peak hours", pick.count, 8.0)]
    on_demand, always, peak = pick.options
    assert peak.monthly_usd < always.monthly_usd
    # The provisioned charge alone of the always-on option: count x 0.25 GB x 730 h at arm64's rate.
    assert always.monthly_usd > pick.count * 0.25 * MONTH_S * 0.0000033334
    assert on_demand.predicted_p99_ms is not None and always.predicted_p99_ms is not None
    assert [n for n, _ in pick.curve] == sorted(n for n, _ in pick.curve)
    assert pick.curve[-1][0] >= pick.count and dict(pick.curve)[pick.count] == 0.0
    assert dict(pick.curve)[pick.count - 1] > 0.0  # the smallest N: one fewer misses the budget


def test_traffic_cases():
    assert traffic_case(arrival_profile(TrafficSettings(requests_per_month=10e6)), 380) == "steady"
    assert traffic_case(arrival_profile(TrafficSettings(requests_per_month=2600)), 380) == "sparse"
    bursty = TrafficSettings(requests_per_month=10e6, bursts_per_day=4, burst_rps=200, burst_s=60)
    assert traffic_case(arrival_profile(bursty), 380) == "bursty"


def test_a_bad_path_is_refused():
    with pytest.raises(ValueError, match="path"):
        plan_provisioned(
            arrival_profile(TrafficSettings()),
            Sample.of([1.0]),
            Sample.of([1.0]),
            Sample.of([1.0]),
            memory_mb=128,
            architecture="x86_64",
            path="grpc",
            decision=DecisionSettings(),
        )
