"""Tests of bench.decide.feasibility: which variants are set aside before any strategy, and why.

Summaries are made by bench.analysis.summarize from synthetic records, so each test states what
a run measured and checks the verdict and its sentence; error-rate intervals are checked against
Wilson's formula computed here by hand.
"""

from __future__ import annotations

import math

import pytest

from bench.analysis import Sample, summarize
from bench.decide.feasibility import MIN_OK_CALLS, infeasible_variants
from bench.decide.model import Candidate
from bench.decide.settings import DecisionSettings
from bench.decide.strategies import pick_memory
from bench.records import InvocationRecord

OOM = "Runtime.OutOfMemory"
THROTTLE = "ReservedFunctionConcurrentInvocationLimitExceeded"


def ok(variant: str, mb: int | None, ms: float, *, n: int, path: str = "direct", billed: bool = True):
    """n successful calls of ms each (client latency 5 ms above), warm, with their REPORT lines."""
    return [
        InvocationRecord(
            run_id="r",
            variant=variant,
            path=path,
            t_start_ns=i,
            client_ms=ms + 5,
            status="ok",
            cold=False,
            duration_ms=ms if billed else None,
            billed_ms=math.ceil(ms) if billed else None,
            memory_mb=mb if billed else None,
        )
        for i in range(n)
    ]


def failed(variant: str, status: str, error_type: str, *, n: int, mb: int | None = None, client_ms: float = 50.0):
    """n failed calls; with ``mb`` they carry a REPORT line (an out-of-memory kill is billed)."""
    return [
        InvocationRecord(
            run_id="r",
            variant=variant,
            path="direct",
            t_start_ns=i,
            client_ms=client_ms,
            status=status,
            error_type=error_type,
            duration_ms=40.0 if mb else None,
            billed_ms=40 if mb else None,
            memory_mb=mb,
        )
        for i in range(n)
    ]


def wilson(k: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    """Wilson's score interval, from its formula."""
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return centre - half, centre + half


def by_name(infeasible):
    return {i.variant: i for i in infeasible}


def test_the_cheapest_on_paper_with_30_percent_out_of_memory_is_excluded_with_its_reason():
    records = (
        ok("mem-128", 128, 100.0, n=280)
        + failed("mem-128", "function_error", OOM, n=120, mb=128)
        + ok("mem-512", 512, 40.0, n=400)
    )
    summary = summarize(records, architecture="x86_64")
    assert summary.cheapest == "mem-128"  # 100 ms x 128 MB is less than 40 ms x 512 MB

    out = infeasible_variants(summary, DecisionSettings(), "direct")

    assert [(i.variant, i.memory_mb) for i in out] == [("mem-128", 128)]
    lo, hi = wilson(120, 400)
    assert lo > 0.01  # surely above the threshold, and the sentence says it with its interval
    assert out[0].reason == (
        f"30% of its 400 calls failed ({OOM} x 120), above max_error_rate 1% "
        f"(95% interval {lo * 100:.3g}% to {hi * 100:.3g}%)"
    )


def test_a_429_heavy_variant_is_excluded_and_its_fast_throttles_do_not_make_it_fast():
    records = (
        failed("mem-256", "throttled", THROTTLE, n=200, client_ms=2.0)
        + ok("mem-256", 256, 80.0, n=200)
        + ok("mem-1024", 1024, 60.0, n=400)
    )
    summary = summarize(records, architecture="x86_64")

    out = by_name(infeasible_variants(summary, DecisionSettings(strategy="speed"), "direct"))

    assert set(out) == {"mem-256"}
    assert out["mem-256"].reason.startswith(f"50% of its 400 calls failed ({THROTTLE} x 200), above max_error_rate 1%")
    # Even where its errors were tolerated, the 2 ms throttles are nowhere in its latency...
    v256 = next(v for v in summary.variants if v.variant == "mem-256")
    assert v256.client_ms.n == 200 and v256.client_ms.p50 == pytest.approx(85.0, rel=1e-3)
    assert infeasible_variants(summary, DecisionSettings(strategy="speed", max_error_rate=0.6), "direct") == []
    # ...so speed, judged on what its calls took, still picks the variant that is fast.
    # (mem-256 is made the cheaper, so that a pick by default or by tie-break would be mem-256.)
    price = {"mem-256": 0.5e-6, "mem-1024": 1e-6}
    candidates = [
        Candidate(v.variant, v.memory_mb or 0, price[v.variant], 1.0, 0.0, v.client_ms.p50, None, None)
        for v in summary.variants
    ]
    latency = {"mem-256": Sample.of([85.0] * 200), "mem-1024": Sample.of([65.0] * 400)}
    pick = pick_memory(candidates, DecisionSettings(strategy="speed", max_error_rate=0.6), {}, latency)
    assert (pick.variant, pick.separated, pick.runner_up) == ("mem-1024", True, "mem-256")


def test_half_a_percent_of_errors_passes_at_the_default_one_percent():
    records = ok("mem-512", 512, 40.0, n=398) + failed("mem-512", "function_error", "ValueError", n=2, mb=512)
    summary = summarize(records, architecture="x86_64")
    assert infeasible_variants(summary, DecisionSettings(), "direct") == []


def test_just_above_the_threshold_is_excluded_and_says_the_interval_still_reaches_it():
    records = ok("mem-512", 512, 40.0, n=395) + failed("mem-512", "timeout", "Sandbox.Timedout", n=5, mb=512)
    summary = summarize(records, architecture="x86_64")

    (out,) = infeasible_variants(summary, DecisionSettings(), "direct")

    lo, hi = wilson(5, 400)
    assert lo < 0.01 < 5 / 400
    assert out.reason == (
        "1.25% of its 400 calls failed (Sandbox.Timedout x 5), above max_error_rate 1%, "
        f"though its 95% interval ({lo * 100:.3g}% to {hi * 100:.3g}%) reaches it"
    )


def test_errors_without_a_type_are_named_by_status():
    records = ok("mem-512", 512, 40.0, n=90) + [
        InvocationRecord(run_id="r", variant="mem-512", path="direct", t_start_ns=0, client_ms=1.0, status=status)
        for status in ("transport_error",) * 6 + ("client_error",) * 4
    ]
    (out,) = infeasible_variants(summarize(records, architecture="x86_64"), DecisionSettings(), "direct")
    assert out.reason.startswith("10% of its 100 calls failed (transport_error x 6, client_error x 4), above")


def test_slo_needs_enough_successful_calls_for_the_upper_bound_of_its_percentile():
    summary = summarize(ok("mem-512", 512, 40.0, n=50), architecture="x86_64")
    slo = DecisionSettings(strategy="slo", slo_ms=300)

    (out,) = infeasible_variants(summary, slo, "direct")

    assert out.reason == "only 50 successful calls: a 95% upper bound of its p95 (strategy slo) needs at least 72"
    assert infeasible_variants(summary, DecisionSettings(strategy="cost"), "direct") == []
    assert infeasible_variants(summary, DecisionSettings(strategy="slo", slo_ms=300, slo_percentile=50), "direct") == []
    at_72 = summarize(ok("mem-512", 512, 40.0, n=72), architecture="x86_64")
    assert infeasible_variants(at_72, slo, "direct") == []


def test_every_strategy_needs_a_few_successful_billed_calls():
    few = summarize(ok("mem-512", 512, 40.0, n=MIN_OK_CALLS - 1), architecture="x86_64")
    (out,) = infeasible_variants(few, DecisionSettings(), "direct")
    assert out.reason == "only 4 of its 4 calls succeeded; a price and an average need at least 5 successful calls"

    enough = summarize(ok("mem-512", 512, 40.0, n=MIN_OK_CALLS), architecture="x86_64")
    assert infeasible_variants(enough, DecisionSettings(), "direct") == []

    unbilled = summarize(ok("mem-512", 512, 40.0, n=20, billed=False), architecture="x86_64")
    (out,) = infeasible_variants(unbilled, DecisionSettings(), "direct")
    assert (out.variant, out.memory_mb) == ("mem-512", 512)  # its memory from its name
    assert out.reason.startswith("only 0 of its calls have a billed duration")


def test_a_variant_of_unknown_memory_cannot_be_priced():
    summary = summarize(ok("blue", None, 40.0, n=20), architecture="x86_64")
    (out,) = infeasible_variants(summary, DecisionSettings(), "direct")
    assert (out.variant, out.memory_mb) == ("blue", None)
    assert "memory size is unknown" in out.reason


def test_a_variant_with_no_calls_on_the_traffics_path_is_infeasible():
    records = (
        ok("mem-512", 512, 40.0, n=20)
        + ok("mem-1024", 1024, 30.0, n=20)
        + ok("mem-1024", 1024, 30.0, n=20, path="apigw-http")
    )
    summary = summarize(records, architecture="x86_64")

    out = infeasible_variants(summary, DecisionSettings(), "apigw-http")

    assert [(i.variant, i.memory_mb) for i in out] == [("mem-512", 512)]
    assert out[0].reason.startswith("it has no calls on the apigw-http path (only direct)")
    assert infeasible_variants(summary, DecisionSettings(), "direct") == []


def test_an_unknown_path_is_refused():
    summary = summarize(ok("mem-512", 512, 40.0, n=20), architecture="x86_64")
    with pytest.raises(ValueError, match="path 'grpc'"):
        infeasible_variants(summary, DecisionSettings(), "grpc")
