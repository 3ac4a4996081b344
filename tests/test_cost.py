"""Tests of the cost model (bench.analysis.cost, .monthly), every figure computed by hand.

Prices are those of bench.awsfacts (us-east-1): x86_64 duration 0.0000166667 / 0.000015 /
0.0000133334 per GB-s by tier, arm64 0.0000133334 / 0.0000120001 / 0.0000106667,
requests 0.20 per million, provisioned 0.0000041667 per GB-s (+ 0.0000097222 duration).
"""

from __future__ import annotations

from datetime import date

import pytest

from bench.analysis import (
    InvocationProfile,
    TrafficProfile,
    billed_duration_ms,
    cost_per_million,
    gb_seconds,
    init_is_billed,
    invocation_cost,
    invocation_profile,
    monthly_cost,
    power_tuning_cost,
    summarize,
    tiered_duration,
)
from bench.analysis.cost import power_tuning_mean
from bench.records import InvocationRecord

P1, P2, P3 = 0.0000166667, 0.000015, 0.0000133334
REQUEST = 0.20 / 1e6


# ---- one invocation ----


def test_gb_seconds():
    assert gb_seconds(100, 1024) == pytest.approx(0.1)
    assert gb_seconds(1000, 512) == pytest.approx(0.5)


@pytest.mark.parametrize(
    "billed_ms, memory_mb, arch, path, expected",
    [
        # 0.1 GB-s x 0.0000166667 x 1e6 = 1.66667, + 0.20 requests
        (100, 1024, "x86_64", "direct", 1.86667),
        # 0.1 GB-s x 0.0000133334 x 1e6 = 1.33334, + 0.20
        (100, 1024, "arm64", "direct", 1.53334),
        # 1 ms at 128 MB = 0.000125 GB-s -> 0.00208334, + 0.20
        (1, 128, "x86_64", "direct", 0.20208334),
        # 2 s at 2048 MB = 4 GB-s -> 66.6668, + 0.20
        (2000, 2048, "x86_64", "direct", 66.8668),
        (100, 1024, "x86_64", "apigw-http", 1.86667 + 1.00),
        (100, 1024, "x86_64", "apigw-rest", 1.86667 + 3.50),
        (0, 1024, "x86_64", "direct", 0.20),
    ],
)
def test_cost_per_million_hand_computed(billed_ms, memory_mb, arch, path, expected):
    assert cost_per_million(billed_ms, memory_mb, arch, path) == pytest.approx(expected, rel=1e-6)


def test_cost_per_million_at_the_provisioned_duration_rate():
    # 0.1 GB-s x 0.0000097222 x 1e6 = 0.97222 (x86_64), 0.1 x 0.0000077778 = 0.77778 (arm64)
    assert cost_per_million(100, 1024, "x86_64", provisioned=True) == pytest.approx(1.17222, rel=1e-9)
    assert cost_per_million(100, 1024, "arm64", provisioned=True) == pytest.approx(0.97778, rel=1e-9)


def test_cost_default_path_is_direct():
    assert cost_per_million(100, 1024, "x86_64") == cost_per_million(100, 1024, "x86_64", "direct")


@pytest.mark.parametrize(
    "args, match",
    [
        ((100, 1024, "x86"), "architecture 'x86'"),
        ((100, 1024, "x86_64", "grpc"), "path 'grpc'"),
        ((-1, 1024, "x86_64"), "mean_billed_ms"),
        ((float("nan"), 1024, "x86_64"), "mean_billed_ms"),
        ((100, 0, "x86_64"), "memory_mb"),
    ],
)
def test_cost_rejects_bad_input(args, match):
    with pytest.raises(ValueError, match=match):
        cost_per_million(*args)


# ---- INIT billing, before and after 2025-08-01, on demand and provisioned ----


def test_billed_duration_with_and_without_init():
    # FACTS.md's REPORT line: Duration 15.74, Init Duration 130.49, Billed Duration 147.
    assert billed_duration_ms(15.74, 130.49, init_billed=True) == 147
    assert billed_duration_ms(15.74, 130.49, init_billed=False) == 16
    assert billed_duration_ms(15.74, None, init_billed=True) == 16
    assert billed_duration_ms(2.0, None, init_billed=True) == 2  # integer durations stay put


@pytest.mark.parametrize(
    "init_type, day, billed",
    [
        ("on-demand", date(2025, 8, 1), True),
        (None, date(2026, 11, 26), True),  # AWS does not say; on demand is the default
        ("on-demand", date(2025, 7, 31), False),
        ("provisioned-concurrency", date(2026, 11, 26), False),
    ],
)
def test_init_is_billed(init_type, day, billed):
    assert init_is_billed(init_type, day) is billed


def test_a_cold_start_costs_its_init_only_when_billed():
    after = invocation_cost(billed_duration_ms(15.74, 130.49, init_billed=True), 128, "x86_64")
    before = invocation_cost(billed_duration_ms(15.74, 130.49, init_billed=False), 128, "x86_64")
    # 131 ms more at 128 MB: 131 x 0.000125 GB-s x 0.0000166667
    assert after - before == pytest.approx(131 * 0.000125 * P1, rel=1e-12)


# ---- tiers ----


@pytest.mark.parametrize(
    "gb_s, start, arch, expected",
    [
        (1e9, 0.0, "x86_64", [(1, 1e9, P1)]),
        (10e9, 0.0, "x86_64", [(1, 6e9, P1), (2, 4e9, P2)]),
        (20e9, 0.0, "x86_64", [(1, 6e9, P1), (2, 9e9, P2), (3, 5e9, P3)]),
        (10e9, 0.0, "arm64", [(1, 7.5e9, 0.0000133334), (2, 2.5e9, 0.0000120001)]),
        (1e6, 4e5, "x86_64", [(1, 6e5, P1)]),
        (4e5, 4e5, "x86_64", []),
    ],
)
def test_tiered_duration(gb_s, start, arch, expected):
    charges = tiered_duration(gb_s, arch, start_gb_s=start)
    assert [(c.tier, c.gb_s, c.usd_per_gb_s) for c in charges] == expected


# ---- a month ----


def month(billed_ms=100.0, memory_mb=128, arch="x86_64", provisioned_ms=None, **traffic):
    return monthly_cost(InvocationProfile(memory_mb, arch, billed_ms, provisioned_ms), TrafficProfile(**traffic))


def items(cost) -> dict[str, float]:
    return {item.name: item.usd for item in cost.items}


def test_month_without_free_tier():
    # 10 M x 0.1 s x 0.125 GB = 125,000 GB-s x 0.0000166667 = 2.0833375; requests 2.00
    cost = month(requests_per_month=10e6)
    assert items(cost) == pytest.approx({"Lambda requests": 2.0, "Lambda duration, on demand, tier 1": 2.0833375})
    assert cost.total_usd == pytest.approx(4.0833375, rel=1e-12)


def test_month_with_free_tier_is_awss_own_example():
    # aws.amazon.com/lambda/pricing's classic example: 512 MB, 3 M calls of 1 s: 1.5 M GB-s,
    # less 400,000 free = 1.1 M x 0.0000166667 = 18.33337; 2 M billable requests = 0.40.
    cost = month(billed_ms=1000, memory_mb=512, requests_per_month=3e6, free_tier=True)
    assert items(cost) == pytest.approx({"Lambda requests": 0.40, "Lambda duration, on demand, tier 1": 18.33337})
    assert cost.total_usd == pytest.approx(18.73337, rel=1e-12)


def test_month_inside_the_free_tier_costs_nothing():
    cost = month(requests_per_month=1e6, free_tier=True)  # 12,500 GB-s
    assert cost.total_usd == 0.0
    assert [item.note for item in cost.items][1] == "all within the free tier"


def test_month_over_the_first_tier():
    # 1 G calls of 10 s at 1024 MB = 10 B GB-s: 6 B at tier 1, 4 B at tier 2.
    cost = month(billed_ms=10_000, memory_mb=1024, requests_per_month=1e9)
    assert items(cost) == pytest.approx(
        {
            "Lambda requests": 200.0,
            "Lambda duration, on demand, tier 1": 6e9 * P1,
            "Lambda duration, on demand, tier 2": 4e9 * P2,
        }
    )


def test_month_with_provisioned_concurrency_all_month():
    # 10 x 1 GB x 730 h x 3600 s = 26,280,000 GB-s x 0.0000041667 = 109.500876;
    # 1 M calls of 100 ms (warm, no INIT) = 100,000 GB-s x 0.0000097222 = 0.97222.
    cost = month(
        billed_ms=250,
        provisioned_ms=100,
        memory_mb=1024,
        requests_per_month=1e6,
        provisioned_concurrency=10,
        provisioned_hours=730,
        peak_concurrency=10,
        free_tier=True,
    )
    assert items(cost) == pytest.approx(
        {
            "Lambda requests": 0.20,  # no free tier: every request was served by provisioned concurrency
            "Provisioned concurrency": 109.500876,
            "Lambda duration, provisioned": 0.97222,
        }
    )


def test_provisioned_time_is_rounded_up_to_five_minutes():
    # 1.01 h = 3,636 s, billed as 3,900 s (13 x 300): 2 x 0.5 GB x 3,900 s = 3,900 GB-s.
    cost = month(memory_mb=512, requests_per_month=0, provisioned_concurrency=2, provisioned_hours=1.01)
    (provisioned,) = [item for item in cost.items if item.name == "Provisioned concurrency"]
    assert provisioned.quantity == 3900.0


def test_provisioned_share_spills_over_to_on_demand():
    traffic = TrafficProfile(4e6, provisioned_concurrency=2, provisioned_hours=365, peak_concurrency=4)
    assert traffic.provisioned_share == 0.25  # half the peak, half the month
    cost = monthly_cost(InvocationProfile(1024, "x86_64", 200.0, 100.0), traffic)
    # 3 M on demand x 0.2 GB-s; 1 M provisioned x 0.1 GB-s
    assert items(cost)["Lambda duration, on demand, tier 1"] == pytest.approx(3e6 * 0.2 * P1)
    assert items(cost)["Lambda duration, provisioned"] == pytest.approx(1e6 * 0.1 * 0.0000097222)


def test_api_gateway_line_items():
    cost = month(requests_per_month=2e6, path="apigw-rest")
    assert items(cost)["API Gateway REST API requests"] == pytest.approx(7.00)
    big = month(requests_per_month=400e6, path="apigw-http")
    assert items(big)["API Gateway HTTP API requests"] == pytest.approx(400.0)
    assert any("300,000,000" in note for note in big.notes)


def test_bad_traffic_is_refused():
    with pytest.raises(ValueError, match="path"):
        TrafficProfile(1e6, path="grpc")
    with pytest.raises(ValueError, match="provisioned_hours"):
        TrafficProfile(1e6, provisioned_concurrency=1, provisioned_hours=800)
    with pytest.raises(ValueError, match="architecture"):
        InvocationProfile(128, "sparc", 10.0)


def test_monthly_cost_is_frozen_and_plain_data():
    cost = month(requests_per_month=10e6)
    with pytest.raises(AttributeError):
        cost.items = ()
    data = cost.as_dict()
    assert data["total_usd"] == pytest.approx(4.0833375) and data["traffic"]["requests_per_month"] == 10e6


def test_invocation_profile_from_a_summary():
    records = [
        InvocationRecord(
            run_id="r",
            variant="mem-512",
            path="direct",
            t_start_ns=0,
            client_ms=5.0,
            status="ok",
            cold=cold,
            billed_ms=billed,
            init_ms=100.0 if cold else None,
            memory_mb=512,
        )
        for cold, billed in [(True, 110)] + [(False, 10)] * 9
    ]
    (v,) = summarize(records, architecture="x86_64").variants
    measured = invocation_profile(v, "x86_64")
    assert (measured.billed_ms, measured.billed_ms_provisioned) == (20.0, 10.0)
    production = invocation_profile(v, "x86_64", cold_start_rate=0.01)  # 99 x 10 + 1 x 110
    assert production.billed_ms == pytest.approx(11.0)


# ---- aws-lambda-power-tuning's formula, and where it differs ----


def test_power_tuning_formula():
    assert power_tuning_cost(15.74, 128) == pytest.approx(16 * 2.1e-9, rel=1e-15)
    assert power_tuning_cost(15.74, 1024) == pytest.approx(16 * 2.1e-9 * 8, rel=1e-15)
    assert power_tuning_mean([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]) == 5.5  # 2 cut from each end
    assert power_tuning_mean([1, 1, 1, 1, 100]) == 1.0


def test_power_tuning_differs_by_exactly_the_explained_terms():
    memory, duration, init = 128, 15.74, 130.49  # the REPORT line of FACTS.md
    per_ms = P1 / 1024 / 1000 * memory  # list price per ms at 128 MB: 2.0833375e-9
    pt = power_tuning_cost(duration, memory)  # 16 ms x 2.1e-9 = 3.36e-8 USD
    warm = invocation_cost(billed_duration_ms(duration, None, init_billed=True), memory, "x86_64")
    cold = invocation_cost(billed_duration_ms(duration, init, init_billed=True), memory, "x86_64")

    request = REQUEST  # 2e-7: power tuning leaves it out
    rate = 16 * (per_ms - 2.1e-9)  # -2.666e-10: 2.1e-9 is 0.80% above the list price
    init_billing = (147 - 16) * per_ms  # 2.729e-7: the INIT phase, billed since 2025-08-01
    assert warm - pt == pytest.approx(request + rate, rel=1e-12)
    assert cold - pt == pytest.approx(request + rate + init_billing, rel=1e-12)
    assert 2.1e-9 / per_ms - 1 == pytest.approx(0.0079980, abs=1e-7)
    # In numbers: for this cold start lambench's model costs 15 times power tuning's.
    assert (pt, cold) == pytest.approx((3.36e-8, 5.0625061e-7), rel=1e-7)


def test_power_tuning_has_no_tiers():
    # 1 G calls of 10 s at 1 GB = 10 B GB-s a month: 6 B at tier 1, 4 B at tier 2.
    calls, ms, memory = 1e9, 10_000, 1024
    ours = month(billed_ms=ms, memory_mb=memory, requests_per_month=calls).total_usd
    pt = calls * power_tuning_cost(ms, memory)  # 1e9 x 10,000 x 2.1e-9 x 8 = 168,000
    request = calls * REQUEST  # 200
    rate = calls * ms * (P1 / 1000 - 2.1e-9 * 8)  # -1,333.34
    tiers = 4e9 * (P2 - P1)  # -6,666.68: the second tier's lower price
    assert pt == pytest.approx(168_000.0)
    assert ours - pt == pytest.approx(request + rate + tiers, rel=1e-9)
