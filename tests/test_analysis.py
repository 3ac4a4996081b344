"""Tests of bench.analysis: the cost model and per-variant summaries, on records with known answers."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from bench.analysis import (
    Figure,
    Percentiles,
    RunSummary,
    VariantSummary,
    cost_per_million,
    gb_seconds,
    summarize,
)
from bench.records import InvocationRecord


def rec(variant="mem-512", status="ok", client_ms=10.0, path="direct", **kw) -> InvocationRecord:
    return InvocationRecord(run_id="r1", variant=variant, path=path, t_start_ns=0,
                            client_ms=client_ms, status=status, **kw)


# ---- cost ----

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


# ---- summarize: one variant with every kind of record ----

def mixed_records() -> list[InvocationRecord]:
    return [
        rec(client_ms=150.0, cold=True, init_ms=120.0, duration_ms=20.0, billed_ms=141,
            max_memory_mb=60, memory_mb=512),
        rec(client_ms=12.0, cold=False, duration_ms=8.0, billed_ms=8, max_memory_mb=61, memory_mb=512),
        rec(client_ms=11.0, cold=False, duration_ms=7.5, billed_ms=8, max_memory_mb=61, memory_mb=512),
        rec(client_ms=13.0, cold=False, duration_ms=9.0, billed_ms=9, max_memory_mb=62, memory_mb=512),
        rec(client_ms=170.0, cold=True, init_ms=140.0, duration_ms=25.0, billed_ms=166,
            max_memory_mb=63, memory_mb=512),
        rec(status="function_error", error_type="ValueError", client_ms=14.0, cold=False,
            duration_ms=3.0, billed_ms=3, max_memory_mb=62, memory_mb=512),
        rec(status="timeout", error_type="Sandbox.Timedout", client_ms=3005.0, cold=False,
            duration_ms=3000.0, billed_ms=3000, max_memory_mb=64, memory_mb=512),
        # A throttled call never ran: no REPORT line, so nothing but client time and status.
        rec(status="throttled", error_type="ReservedFunctionConcurrentInvocationLimitExceeded",
            client_ms=2.0),
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
        "function_error": 1, "throttled": 1, "timeout": 1, "client_error": 0, "transport_error": 1,
    }
    assert dict(v.errors_by_type) == {
        "ConnectionResetError": 1, "ReservedFunctionConcurrentInvocationLimitExceeded": 1,
        "Sandbox.Timedout": 1, "ValueError": 1,
    }
    assert v.cold_starts == 2
    assert v.cold_known == 7  # the throttled, transport-error and unjoined calls are unknown


def test_percentiles_equal_numpys():
    records = mixed_records()
    (v,) = summarize(records, architecture="x86_64").variants
    client = [r.client_ms for r in records]
    duration = [r.duration_ms for r in records if r.duration_ms is not None]
    for stat, values in ((v.client_ms, client), (v.duration_ms, duration)):
        expected = np.percentile(values, [50, 95, 99], method="linear")
        assert stat.n == len(values)
        assert [stat.p50, stat.p95, stat.p99] == pytest.approx(list(expected), rel=1e-12)
    assert v.duration_ms.n == 7


def test_means_max_and_cost():
    (v,) = summarize(mixed_records(), architecture="arm64").variants
    billed = [141, 8, 8, 9, 166, 3, 3000]
    assert v.billed_ms_mean == Figure(7, pytest.approx(sum(billed) / 7))
    assert v.init_ms_mean == Figure(2, pytest.approx(130.0))
    assert v.max_memory_used_mb == Figure(7, 64)
    assert v.cost_per_million_usd == pytest.approx(cost_per_million(sum(billed) / 7, 512, "arm64"))


def test_figures_without_data_are_none_not_zero():
    records = [rec(variant="mem-1024", client_ms=5.0), rec(variant="mem-1024", client_ms=7.0)]
    (v,) = summarize(records, architecture="x86_64").variants
    assert v.client_ms.n == 2 and v.client_ms.p50 == pytest.approx(6.0)
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
        "mem-128", "mem-512", "mem-1024", "mem-2048", "unknown",
    ]


def test_paths_are_summarised_apart():
    records = [rec(path="direct", billed_ms=10), rec(path="apigw-http", billed_ms=10),
               rec(path="apigw-http", billed_ms=10)]
    direct, http = summarize(records, architecture="x86_64").variants
    assert (direct.path, direct.invocations) == ("direct", 1)
    assert (http.path, http.invocations) == ("apigw-http", 2)
    assert http.cost_per_million_usd == pytest.approx(direct.cost_per_million_usd + 1.00)


# ---- cheapest ----

def billed_variant(memory_mb: int, billed_ms: int, status: str = "ok", n: int = 3, path="direct"):
    return [rec(variant=f"mem-{memory_mb}", status=status, billed_ms=billed_ms,
                memory_mb=memory_mb, path=path) for _ in range(n)]


def test_cheapest_is_lowest_cost():
    # GB-s per call: 128 MB x 400 ms = 0.05; 512 x 60 = 0.03; 1024 x 40 = 0.04; 2048 x 25 = 0.05
    records = (billed_variant(128, 400) + billed_variant(512, 60)
               + billed_variant(1024, 40) + billed_variant(2048, 25))
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
    assert data["variants"][0]["client_ms"].keys() == {"n", "p50", "p95", "p99"}
    assert RunSummary.from_dict(data) == summary
    assert VariantSummary.from_dict(data["variants"][1]) == summary.variants[1]
