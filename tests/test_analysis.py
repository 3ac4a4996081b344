"""Tests of bench.analysis: per-variant summaries, on records with known answers.

The statistics themselves are tested in test_stats.py, the cost model in test_cost.py.
"""

from __future__ import annotations

import dataclasses
import json

import pytest

from bench.analysis import (
    Figure,
    Interval,
    Percentiles,
    RunSummary,
    VariantSummary,
    cost_per_million,
    summarize,
)
from bench.analysis.stats import ORDER_STATISTIC, STUDENT_T, WILSON, mean_ci, proportion_ci, quantile_ci
from bench.collect import histograms as hdr
from bench.records import InvocationRecord


def hdr_value(ms: float) -> float:
    """What a histogram answers for a value: its bucket's highest equivalent value, in ms."""
    return hdr.new_histogram().get_highest_equivalent_value(round(ms * 1000)) / 1000


def nearest_rank(values, p: float) -> float:
    """The one percentile rule, on exact values: the round(p n / 100)-th smallest, at least the 1st."""
    ordered = sorted(values)
    return ordered[max(int(p * len(ordered) / 100 + 0.5), 1) - 1]


def rec(variant="mem-512", status="ok", client_ms=10.0, path="direct", **kw) -> InvocationRecord:
    return InvocationRecord(
        run_id="r1", variant=variant, path=path, t_start_ns=0, client_ms=client_ms, status=status, **kw
    )


# ---- summarize: one variant with every kind of record ----


def mixed_records() -> list[InvocationRecord]:
    return [
        rec(
            client_ms=150.0, cold=True, init_ms=120.0, duration_ms=20.0, billed_ms=141, max_memory_mb=60, memory_mb=512
        ),
        rec(client_ms=12.0, cold=False, duration_ms=8.0, billed_ms=8, max_memory_mb=61, memory_mb=512),
        rec(client_ms=11.0, cold=False, duration_ms=7.5, billed_ms=8, max_memory_mb=61, memory_mb=512),
        rec(client_ms=13.0, cold=False, duration_ms=9.0, billed_ms=9, max_memory_mb=62, memory_mb=512),
        rec(
            client_ms=170.0, cold=True, init_ms=140.0, duration_ms=25.0, billed_ms=166, max_memory_mb=63, memory_mb=512
        ),
        rec(
            status="function_error",
            error_type="ValueError",
            client_ms=14.0,
            cold=False,
            duration_ms=3.0,
            billed_ms=3,
            max_memory_mb=62,
            memory_mb=512,
        ),
        rec(
            status="timeout",
            error_type="Sandbox.Timedout",
            client_ms=3005.0,
            cold=False,
            duration_ms=3000.0,
            billed_ms=3000,
            max_memory_mb=64,
            memory_mb=512,
        ),
        # A throttled call never ran: no REPORT line, so nothing but client time and status.
        rec(status="throttled", error_type="ReservedFunctionConcurrentInvocationLimitExceeded", client_ms=2.0),
        rec(status="transport_error", error_type="ConnectionResetError", client_ms=1.0),
        rec(client_ms=10.0, cold=None),  # not yet joined to its REPORT line
    ]


def test_counts_are_exact():
    (v,) = summarize(mixed_records(), architecture="x86_64").variants
    assert (v.variant, v.path, v.memory_mb) == ("mem-512", "direct", 512)
    assert v.invocations == 10
    assert v.ok == 6
    assert v.errors == 4
    assert dict(v.errors_by_status) == {
        "function_error": 1,
        "throttled": 1,
        "timeout": 1,
        "client_error": 0,
        "transport_error": 1,
    }
    assert dict(v.errors_by_type) == {
        "ConnectionResetError": 1,
        "ReservedFunctionConcurrentInvocationLimitExceeded": 1,
        "Sandbox.Timedout": 1,
        "ValueError": 1,
    }
    assert v.cold_starts == 2
    assert v.cold_known == 7  # the throttled, transport-error and unjoined calls are unknown


def test_percentiles_follow_the_nearest_rank_rule_at_histogram_precision():
    records = mixed_records()
    (v,) = summarize(records, architecture="x86_64").variants
    # Client latency counts successful invocations only: a fast throttle is not a fast call.
    client = [r.client_ms for r in records if r.status == "ok"]
    duration = [r.duration_ms for r in records if r.duration_ms is not None]
    for stat, values in ((v.client_ms, client), (v.duration_ms, duration)):
        assert stat.n == len(values)
        assert [stat.p50, stat.p95, stat.p99] == [hdr_value(nearest_rank(values, p)) for p in (50, 95, 99)]
    assert (v.client_ms.n, v.duration_ms.n) == (6, 7)


def test_means_max_and_cost():
    (v,) = summarize(mixed_records(), architecture="arm64").variants
    billed = [141, 8, 8, 9, 166, 3, 3000]
    assert v.billed_ms_mean == Figure(7, pytest.approx(sum(billed) / 7), mean_ci(billed, floor=0.0))
    assert v.billed_ms_mean.ci.lo == 0.0  # the t interval of this skewed sample is clipped at 0 ms
    assert v.init_ms_mean == Figure(2, pytest.approx(130.0), mean_ci([120.0, 140.0], floor=0.0))
    assert v.max_memory_used_mb == Figure(7, 64)  # a maximum has no interval
    assert v.cost_per_million_usd == pytest.approx(cost_per_million(sum(billed) / 7, 512, "arm64"))


def test_figures_without_data_are_none_not_zero():
    records = [rec(variant="mem-1024", client_ms=5.0), rec(variant="mem-1024", client_ms=7.0)]
    (v,) = summarize(records, architecture="x86_64").variants
    assert v.client_ms.n == 2 and v.client_ms.p50 == hdr_value(5.0)
    assert v.duration_ms == Percentiles(n=0, p50=None, p95=None, p99=None)
    assert v.billed_ms_mean == Figure(0, None)
    assert v.init_ms_mean == Figure(0, None)
    assert v.max_memory_used_mb == Figure(0, None)
    assert v.cold_starts is None and v.cold_known == 0
    assert v.cost_per_million_usd is None
    assert v.memory_mb == 1024  # from the variant's name


def test_warm_only_variant_has_no_init_mean():
    records = [rec(cold=False, duration_ms=5.0, billed_ms=5, memory_mb=512)]
    (v,) = summarize(records, architecture="x86_64").variants
    assert v.cold_starts == 0 and v.cold_known == 1
    assert v.init_ms_mean == Figure(0, None)


def test_memory_from_records_then_mapping_then_name():
    records = [
        rec(variant="mem-512", memory_mb=500, billed_ms=10),  # records win over the name
        rec(variant="blue", billed_ms=10),
        rec(variant="mem-256", billed_ms=10),
        rec(variant="green", billed_ms=10),
    ]
    summary = summarize(records, architecture="x86_64", memory_by_variant={"blue": 2048})
    memory = {v.variant: v.memory_mb for v in summary.variants}
    assert memory == {"mem-512": 500, "blue": 2048, "mem-256": 256, "green": None}
    green = next(v for v in summary.variants if v.variant == "green")
    assert green.cost_per_million_usd is None  # no memory size, so no price


def test_variants_sorted_by_memory_not_name():
    records = [rec(variant=f"mem-{m}", billed_ms=10) for m in (1024, 128, 2048, 512)]
    records.append(rec(variant="unknown", billed_ms=10))
    summary = summarize(records, architecture="x86_64")
    assert [v.variant for v in summary.variants] == [
        "mem-128",
        "mem-512",
        "mem-1024",
        "mem-2048",
        "unknown",
    ]


def test_paths_are_summarised_apart():
    records = [
        rec(path="direct", billed_ms=10),
        rec(path="apigw-http", billed_ms=10),
        rec(path="apigw-http", billed_ms=10),
    ]
    direct, http = summarize(records, architecture="x86_64").variants
    assert (direct.path, direct.invocations) == ("direct", 1)
    assert (http.path, http.invocations) == ("apigw-http", 2)
    assert http.cost_per_million_usd == pytest.approx(direct.cost_per_million_usd + 1.00)


# ---- cheapest ----


def billed_variant(memory_mb: int, billed_ms: int, status: str = "ok", n: int = 3, path="direct"):
    return [
        rec(variant=f"mem-{memory_mb}", status=status, billed_ms=billed_ms, memory_mb=memory_mb, path=path)
        for _ in range(n)
    ]


def test_cheapest_is_lowest_cost():
    # GB-s per call: 128 MB x 400 ms = 0.05; 512 x 60 = 0.03; 1024 x 40 = 0.04; 2048 x 25 = 0.05
    records = billed_variant(128, 400) + billed_variant(512, 60) + billed_variant(1024, 40) + billed_variant(2048, 25)
    summary = summarize(records, architecture="x86_64")
    assert summary.cheapest == "mem-512"
    costs = {v.variant: v.cost_per_million_usd for v in summary.variants}
    assert min(costs, key=costs.get) == "mem-512"


def test_cheapest_needs_ok_invocations():
    # mem-128 is cheapest by billed time, but every call failed.
    records = billed_variant(128, 10, status="function_error") + billed_variant(512, 60)
    assert summarize(records, architecture="x86_64").cheapest == "mem-512"


def test_no_cheapest_when_nothing_ran_ok_or_was_billed():
    assert summarize(billed_variant(128, 10, status="timeout"), architecture="x86_64").cheapest is None
    assert summarize([rec(client_ms=3.0)], architecture="x86_64").cheapest is None
    empty = summarize([], architecture="x86_64")
    assert empty.variants == () and empty.cheapest is None


def test_cheapest_tie_goes_to_smaller_memory():
    records = billed_variant(1024, 50) + billed_variant(512, 100)  # both 0.05 GB-s per call
    assert summarize(records, architecture="x86_64").cheapest == "mem-512"


def test_cheapest_compares_lambda_cost_across_paths():
    # mem-1024 was only called through REST API, whose $3.50 per million is the same at
    # every memory size; on Lambda's own charge it is the cheaper variant.
    records = billed_variant(1024, 10, path="apigw-rest") + billed_variant(512, 100)
    summary = summarize(records, architecture="x86_64")
    assert summary.cheapest == "mem-1024"


# ---- contracts ----


def test_unknown_architecture_is_rejected_even_without_data():
    with pytest.raises(ValueError, match="architecture 'sparc'"):
        summarize([], architecture="sparc")


def test_reads_a_generator_once_and_leaves_a_list_alone():
    records = mixed_records()
    before = list(records)
    from_list = summarize(records, architecture="x86_64")
    from_gen = summarize((r for r in records), architecture="x86_64")
    assert records == before
    assert from_list == from_gen


def test_summaries_are_frozen():
    summary = summarize(mixed_records(), architecture="x86_64")
    v = summary.variants[0]
    with pytest.raises(dataclasses.FrozenInstanceError):
        v.ok = 0
    with pytest.raises(dataclasses.FrozenInstanceError):
        summary.cheapest = "mem-128"
    with pytest.raises(TypeError):
        v.errors_by_status["timeout"] = 0


def test_as_dict_is_json_and_round_trips():
    summary = summarize(mixed_records() + billed_variant(128, 400), architecture="x86_64")
    data = json.loads(json.dumps(summary.as_dict(), allow_nan=False))
    assert data["cheapest"] == summary.cheapest
    assert data["variants"][0]["client_ms"].keys() == {
        "n",
        "p50",
        "p95",
        "p99",
        "p50_ci",
        "p95_ci",
        "p99_ci",
    }
    assert data["variants"][0]["client_ms"]["p50_ci"]["method"] == ORDER_STATISTIC
    assert RunSummary.from_dict(data) == summary
    assert VariantSummary.from_dict(data["variants"][1]) == summary.variants[1]


# ---- intervals, cold and warm, init type ----


def test_every_percentile_carries_its_order_statistic_interval():
    records = [rec(client_ms=float(i)) for i in range(1, 101)]  # 1..100 ms
    (v,) = summarize(records, architecture="x86_64").variants
    client = v.client_ms
    assert client.n == 100
    values = [hdr_value(float(i)) for i in range(1, 101)]
    for name, q in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99)):
        assert client.interval(name) == quantile_ci(values, q)
    # n = 100: the median's interval is the 40th..61st values, p95's the 90th..100th (ranks
    # checked by hand in test_stats.py); p99 needs n >= 368, so it says why it has none.
    assert (client.p50_ci.lo, client.p50_ci.hi) == (hdr_value(40.0), hdr_value(61.0))
    assert (client.p95_ci.lo, client.p95_ci.hi) == (hdr_value(90.0), hdr_value(100.0))
    assert client.p99_ci.lo is None and client.p99_ci.hi is None
    assert client.p99_ci.reason == "a 95% interval of p99 needs n >= 368; n = 100"


def test_cold_rate_has_a_wilson_interval_and_warm_cold_are_apart():
    (v,) = summarize(mixed_records(), architecture="x86_64").variants
    assert v.cold_rate == Figure(7, pytest.approx(2 / 7), proportion_ci(2, 7))
    assert v.cold_rate.ci.method == WILSON
    assert v.client_ms_cold == Percentiles.of([hdr_value(150.0), hdr_value(170.0)])
    # ok calls only: the warm function error (14 ms) and timeout (3,005 ms) are not latencies.
    assert v.client_ms_warm == Percentiles.of([hdr_value(12.0), hdr_value(11.0), hdr_value(13.0)])
    assert v.duration_ms_cold.n == 2 and v.duration_ms_warm.n == 5
    assert v.billed_ms_cold.value == pytest.approx((141 + 166) / 2)
    assert v.billed_ms_warm.value == pytest.approx((8 + 8 + 9 + 3 + 3000) / 5)
    # A median of 2 values has no 95% interval: it says so rather than invent one.
    assert not v.client_ms_cold.p50_ci.known
    assert "needs n >= 6" in v.client_ms_cold.p50_ci.reason


def test_provisioned_served_counts_init_types():
    records = [
        rec(cold=False, init_type="provisioned-concurrency", billed_ms=5),
        rec(cold=False, init_type="provisioned-concurrency", billed_ms=5),
        rec(cold=True, init_ms=100.0, init_type="on-demand", billed_ms=105),
        rec(cold=False, init_type=None, billed_ms=5),
    ]
    (v,) = summarize(records, architecture="x86_64").variants
    assert (v.provisioned_served, v.init_type_known) == (2, 3)
    (unknown,) = summarize(mixed_records(), architecture="x86_64").variants
    assert (unknown.provisioned_served, unknown.init_type_known) == (None, 0)


def test_cost_interval_is_the_billed_means_interval_priced():
    (v,) = summarize(billed_variant(512, 60) + billed_variant(512, 80), architecture="x86_64").variants
    ci = v.billed_ms_mean.ci
    assert ci.method == STUDENT_T and ci.known
    assert v.cost_per_million_ci == Interval(
        cost_per_million(ci.lo, 512, "x86_64"), cost_per_million(ci.hi, 512, "x86_64"), STUDENT_T, 0.95
    )
    assert v.cost_per_million_ci.lo < v.cost_per_million_usd < v.cost_per_million_ci.hi


def test_one_billed_call_has_a_cost_but_no_interval():
    (v,) = summarize([rec(billed_ms=10, memory_mb=512)], architecture="x86_64").variants
    assert v.cost_per_million_usd == pytest.approx(cost_per_million(10, 512, "x86_64"))
    assert not v.cost_per_million_ci.known
    assert v.cost_per_million_ci.reason == "a Student t interval needs n >= 2; n = 1"


def test_unstable_warm_durations_are_flagged_like_pyperf():
    steady = [rec(cold=False, duration_ms=100.0 + i % 3, billed_ms=101) for i in range(30)]
    noisy = [rec(variant="mem-1024", cold=False, duration_ms=float(d), billed_ms=d) for d in [50, 150] * 15]
    summary = summarize(steady + noisy, architecture="x86_64")
    by_name = {v.variant: v for v in summary.variants}
    assert by_name["mem-512"].warnings == ()
    # The median of 15 x 50 ms and 15 x 150 ms is the 15th value, 50 ms (nearest rank).
    assert by_name["mem-1024"].warnings == (
        "warm duration: the result may be unstable: the standard deviation (50.9 ms) is 51% of the mean (100.0 ms)",
        "warm duration: the result may be unstable: the interquartile range (100.0 ms) is 200% of the median (50.0 ms)",
    )


# ---- can the data separate the cheapest from the next? ----


def spread_variant(memory_mb: int, billed: list[int]) -> list[InvocationRecord]:
    return [rec(variant=f"mem-{memory_mb}", billed_ms=ms, memory_mb=memory_mb) for ms in billed]


def test_cheapest_check_separates_clearly_different_costs():
    records = billed_variant(512, 60, n=30) + billed_variant(1024, 40, n=30)
    check = summarize(records, architecture="x86_64").cheapest_check
    assert (check.cheapest, check.runner_up, check.separated) == ("mem-512", "mem-1024", True)
    assert check.comparison.verdict == "cheaper"
    assert check.message.startswith("mem-512 is cheaper than the next cheapest, mem-1024")


def test_cheapest_check_warns_when_costs_overlap():
    # The same GB-s per call, 0.020..0.040 in steps of 0.001, at either memory size: a tie
    # that goes to the smaller size, and that no test may call a difference.
    a = spread_variant(512, [40 + 2 * i for i in range(21)])
    b = spread_variant(1024, [20 + i for i in range(21)])
    summary = summarize(a + b, architecture="x86_64")
    check = summary.cheapest_check
    assert summary.cheapest == "mem-512" and not check.separated
    assert check.comparison.verdict == "no significant difference"
    assert check.message.startswith("the data cannot separate mem-512 (cheapest) from mem-1024")


def test_cheapest_check_says_not_enough_data_for_three_calls_each():
    records = billed_variant(512, 60, n=3) + billed_variant(1024, 40, n=3)
    check = summarize(records, architecture="x86_64").cheapest_check
    assert not check.separated
    assert check.comparison.verdict == "not enough data"
    assert check.message == (
        "not enough data to tell mem-512 from mem-1024: with n = 3 and 3 the "
        "smallest possible p-value is 0.1, above alpha = 0.05; either may be "
        "the cheapest"
    )


def test_no_cheapest_check_with_one_variant():
    assert summarize(billed_variant(512, 60), architecture="x86_64").cheapest_check is None


def test_latency_cdfs_are_the_percentile_rule_at_fixed_levels_warm_and_cold_apart():
    from bench.analysis.cdf import LEVELS

    records = [rec(client_ms=float(i), cold=False) for i in range(1, 201)] + [
        rec(client_ms=500.0 + i, cold=True, init_ms=100.0) for i in range(10)
    ]
    summary = summarize(records, architecture="x86_64")
    curves = {c.cold: c for c in summary.cdfs}
    assert set(curves) == {"warm", "cold"} and (curves["warm"].n, curves["cold"].n) == (200, 10)
    warm = dict((level, ms) for ms, level in curves["warm"].points)
    assert [level for _, level in curves["warm"].points] == list(LEVELS)
    assert warm[50.0] == hdr_value(nearest_rank(range(1, 201), 50)) == hdr_value(100.0)
    assert warm[100.0] == hdr_value(200.0)
    assert RunSummary.from_dict(json.loads(json.dumps(summary.as_dict()))).cdfs == summary.cdfs
