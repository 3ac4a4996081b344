"""bench/decide/recommend.py: the whole decision on synthetic records whose answers are known.

The strategies, feasibility rules, simulator and provisioned-concurrency plan each have their own
tests; these check that decide() wires them together on the user's traffic: the failing size is
excluded whatever it costs, the pick is the cheapest feasible size priced for the traffic,
sparse traffic gets provisioned concurrency and steady traffic does not, and the same run always
decides the same way.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from bench.analysis import summarize
from bench.analysis.cost import cost_per_million
from bench.collect import build_stats
from bench.decide.recommend import decide
from bench.decide.settings import DecisionSettings, TrafficSettings
from bench.records import InvocationRecord

T0 = 1_795_000_000 * 10**9
DURATION_MS = {128: 400.0, 512: 100.0, 1024: 55.0}
INIT_MS = 250.0


def records() -> list[InvocationRecord]:
    rng = np.random.default_rng(1)
    out = []
    for memory, duration in DURATION_MS.items():
        for i in range(600):
            cold = i < 6
            ms = float(rng.lognormal(math.log(duration), 0.1))
            # 128 MB runs out of memory on a third of its calls: the cheapest on paper, never the pick.
            failed = memory == 128 and i % 3 == 0
            out.append(
                InvocationRecord(
                    run_id="r", variant=f"mem-{memory}", path="direct", t_start_ns=T0 + i * 10**8,
                    client_ms=ms + 5 + (INIT_MS if cold else 0), status="function_error" if failed else "ok",
                    error_type="Runtime.OutOfMemory" if failed else None, request_id=f"{memory}-{i}", cold=cold,
                    init_ms=INIT_MS if cold else None, duration_ms=ms,
                    billed_ms=math.ceil(ms + (INIT_MS if cold else 0)), max_memory_mb=60, memory_mb=memory,
                )
            )  # fmt: skip
    return out


@pytest.fixture(scope="module")
def run():
    stats = build_stats(records())
    return summarize(stats, architecture="x86_64"), stats


def test_the_failing_size_is_excluded_and_the_cheapest_feasible_size_is_picked(run):
    summary, stats = run
    recommendation = decide(summary, stats, TrafficSettings(), DecisionSettings(), "x86_64")
    assert [(i.variant, "Runtime.OutOfMemory" in i.reason) for i in recommendation.infeasible] == [("mem-128", True)]
    candidates = {c.variant: c for c in recommendation.candidates}
    assert set(candidates) == {"mem-512", "mem-1024"}
    # Priced for the traffic: the warm and cold means mixed in the simulated cold share, requests included.
    for variant in summary.variants:
        if variant.variant in candidates:
            c = candidates[variant.variant]
            share = c.predicted_cold_share
            billed = (1 - share) * variant.billed_ms_warm.value + share * variant.billed_ms_cold.value
            assert c.usd_per_invocation * 1e6 == pytest.approx(cost_per_million(billed, c.memory_mb, "x86_64"))
    # 512 MB x ~100 ms = 51 GB-ms a call; 1024 MB x ~55 ms = 56 GB-ms: 512 MB is cheaper.
    assert recommendation.memory.variant == "mem-512" and recommendation.memory.separated is True
    assert recommendation.memory.power_tuning_pick == "mem-512"
    # One figure, one computation: the pick's month on demand is the same number in both answers.
    pc = recommendation.provisioned_concurrency
    assert pc.on_demand_monthly_usd == candidates["mem-512"].monthly_usd


def test_steady_traffic_needs_no_provisioned_concurrency_and_sparse_traffic_does(run):
    summary, stats = run
    steady = decide(summary, stats, TrafficSettings(requests_per_month=10_000_000), DecisionSettings(), "x86_64")
    pc = steady.provisioned_concurrency
    assert (pc.count, pc.case) == (0, "steady") and pc.predicted_cold_share <= 0.01
    assert pc.monthly_usd == pc.on_demand_monthly_usd
    sparse = decide(summary, stats, TrafficSettings(requests_per_month=2_600), DecisionSettings(), "x86_64")
    pc = sparse.provisioned_concurrency
    # 2,600 requests a month arrive ~1,000 s apart: with a 380 s idle timeout, exp(-380/1011) = 69% start cold.
    on_demand = next(o for o in pc.options if o.count == 0)
    assert on_demand.predicted_cold_share == pytest.approx(math.exp(-380 * 2_600 / (730 * 3600)), abs=0.01)
    assert pc.count >= 1 and pc.case == "sparse" and pc.predicted_cold_share <= 0.01
    assert pc.monthly_usd > pc.on_demand_monthly_usd, "keeping an environment warm costs more than rare calls"


def test_the_same_run_decides_the_same_way_and_serialises(run):
    summary, stats = run
    settings = (TrafficSettings(requests_per_month=300_000, bursts_per_day=4, burst_rps=20, burst_s=60),
                DecisionSettings(strategy="slo", slo_ms=150, slo_percentile=95))  # fmt: skip
    first, again = (decide(summary, stats, *settings, "x86_64") for _ in range(2))
    assert first == again
    data = json.loads(json.dumps(first.as_dict()))
    assert data["memory"]["strategy"] == "slo" and data["memory"]["variant"] == "mem-512"
    assert data["provisioned_concurrency"]["case"] == "bursty"
    assert {"count", "monthly_usd", "on_demand_monthly_usd", "break_even_utilisation", "predicted_cold_share",
            "reason"} <= set(data["provisioned_concurrency"])  # fmt: skip
    assert data["infeasible"] == [{"variant": "mem-128", "memory_mb": 128, "reason": first.infeasible[0].reason}]
