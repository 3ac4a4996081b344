"""Streaming statistics: HDR histograms in µs, status counts, concurrency; exact where promised.

Accuracy is checked on data whose percentiles are known exactly, against HdrHistogram's
documented bound for 3 significant digits (a reported value is within 1/1024 of the true one).
No timings here: speed is measured by tests/perf/collector.py and tests/perf/percentiles.py.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from bench.analysis import Sample, key_summary, summarize
from bench.collect import Metric, RunStats, StatsKey, build_stats
from bench.collect import histograms as hdr
from bench.collect.metric import sum_of_squares
from bench.collect.timeline import CHUNK_S, NS, ConcurrencyTimeline
from bench.records import STATUSES, InvocationRecord

T0 = 1_700_000_000 * NS  # a whole second, so that the timeline cases below are easy to read
BOUND = 1 / 1024  # HDR, 3 digits: 2,048 sub-buckets per power of two, answer = bucket's highest value


def nearest_rank(sorted_values: np.ndarray, percentile: float):
    """The exact percentile under HdrHistogram's rank rule: the round(p*n/100)-th smallest, at least the 1st."""
    rank = max(int(percentile * sorted_values.size / 100 + 0.5), 1)
    return sorted_values[rank - 1]


def record(i: int = 0, **fields) -> InvocationRecord:
    values = dict(
        run_id="r",
        variant="mem-128",
        path="direct",
        t_start_ns=T0 + i * 1_000_000,
        client_ms=10.0,
        status="ok",
        request_id=f"req-{i}",
        cold=False,
        duration_ms=8.0,
        billed_ms=9,
        memory_mb=128,
    )
    values.update(fields)
    return InvocationRecord(**values)


# --- histograms.py ---------------------------------------------------------------------------


def test_batched_recording_equals_hdrhistograms_own_record_value():
    rng = np.random.default_rng(7)
    edges = [0, 1, 2, 2047, 2048, 2049, 4095, 4096, 4097, 10**6, hdr.HIGHEST_US - 1, hdr.HIGHEST_US]
    values = np.concatenate(
        [
            rng.integers(0, 5000, 5000),
            rng.integers(0, hdr.HIGHEST_US + 1, 5000),
            np.exp(rng.uniform(0, math.log(hdr.HIGHEST_US), 5000)).astype(np.int64),
            edges,
        ]
    )
    batched, one_by_one = hdr.new_histogram(), hdr.new_histogram()
    assert hdr.record_us(batched, values) == 0
    for value in values.tolist():
        assert one_by_one.record_value(value)
    assert batched.equals(one_by_one)
    assert batched.get_total_count() == values.size


def metric_of(values_us) -> Metric:
    metric = Metric()
    metric.record(np.asarray(values_us, dtype=np.int64))
    return metric


def percentiles_us(metric: Metric, asked) -> list[int]:
    """The one percentile rule (bench/analysis/sample.py) on a metric, in whole µs."""
    sample = Sample.from_metric(metric)
    return [round(sample.percentile(p) * 1000) for p in asked]


def test_bucket_values_are_hdrhistograms_own():
    rng = np.random.default_rng(4)
    histogram = hdr.new_histogram()
    hdr.record_us(histogram, np.concatenate([np.arange(0, 5000), rng.integers(0, hdr.HIGHEST_US, 20_000)]))
    values, counts = hdr.buckets_us(histogram)
    indexes = [i for i in range(histogram.counts_len) if histogram.get_count_at_index(i)]
    assert values.tolist() == [
        histogram.get_highest_equivalent_value(histogram.get_value_from_index(i)) for i in indexes
    ]
    assert counts.tolist() == [histogram.get_count_at_index(i) for i in indexes]


def test_percentiles_are_hdrhistograms_own_answers():
    rng = np.random.default_rng(5)
    asked = [0.1, 1, 25, 50, 90, 95, 99, 99.9, 99.99, 100]
    for values in (rng.lognormal(10, 2, 50_000).astype(np.int64), np.array([12345])):
        metric = metric_of(values)
        assert percentiles_us(metric, asked) == [metric.histogram.get_value_at_percentile(p) for p in asked]
        # The 0th percentile is the exact minimum (HDR would answer its bucket's lowest value).
        assert Sample.from_metric(metric).percentile(0) == values.min() / 1000
    assert Sample.from_metric(Metric()).percentile(50) is None


def test_milliseconds_round_to_the_nearest_microsecond():
    assert hdr.ms_to_us([0.0, 0.0004, 0.0006, 1.0, 12.3456, 900_000.0]).tolist() == [0, 0, 1, 1000, 12346, 900_000_000]


def test_values_over_the_highest_are_clamped_and_counted_never_dropped():
    histogram = hdr.new_histogram()
    clamped = hdr.record_us(histogram, np.array([5, hdr.HIGHEST_US + 1, 10 * hdr.HIGHEST_US, -3]))
    assert clamped == 2
    assert histogram.get_total_count() == 4
    assert histogram.get_value_at_percentile(100) >= hdr.HIGHEST_US
    assert histogram.get_value_at_percentile(1) == 0  # a negative value (a clock step) counts as 0


def test_range_covers_one_microsecond_to_fifteen_minutes():
    histogram = hdr.new_histogram()
    hdr.record_us(histogram, np.array([1, 15 * 60 * 1_000_000]))
    assert histogram.get_value_at_percentile(50) == 1
    assert abs(histogram.get_value_at_percentile(100) - 900_000_000) <= 900_000_000 * BOUND


def test_percentiles_of_every_integer_are_within_the_bound():
    # 1 .. 10^6 µs once each: the exact nearest-rank percentile of p is round(p * 10^4) µs.
    values = np.arange(1, 1_000_001, dtype=np.int64)
    asked = (1, 10, 50, 90, 99, 99.9, 99.99)
    for percentile, got in zip(asked, percentiles_us(metric_of(values), asked), strict=True):
        exact = nearest_rank(values, percentile)
        assert exact == round(percentile * 10_000)
        assert exact <= got <= exact * (1 + BOUND), percentile
        if exact < 2048:
            assert got == exact  # unit resolution below 2,048 µs


def test_percentiles_across_the_whole_range_are_within_the_bound():
    # A geometric grid from 1 µs to 1 h: every bucket size HDR has, each value once.
    values = np.unique(np.geomspace(1, hdr.HIGHEST_US, 200_000).astype(np.int64))
    percentiles = [0.1, 1, 5, 25, 50, 75, 90, 95, 99, 99.5, 99.9, 99.99]
    for percentile, got in zip(percentiles, percentiles_us(metric_of(values), percentiles), strict=True):
        exact = int(nearest_rank(values, percentile))
        assert exact <= got <= exact + exact * BOUND, percentile


def test_encoding_round_trips_and_refuses_other_settings():
    histogram = hdr.new_histogram()
    hdr.record_us(histogram, np.array([3, 1500, 250_000, 3_000_000]))
    text = hdr.encode(histogram)
    assert isinstance(text, str)
    assert hdr.decode(text).equals(histogram)
    from hdrh.histogram import HdrHistogram

    other = HdrHistogram(1, 60_000_000, 2)
    other.record_value(5)
    with pytest.raises(ValueError, match="expected"):
        hdr.decode(other.encode().decode("ascii"))


# --- stats.py --------------------------------------------------------------------------------


def test_keys_split_by_variant_path_and_cold_with_every_status_counted():
    records = [
        record(0, cold=True, init_ms=150.0),
        record(1),
        record(2, status="function_error", error_type="E"),
        record(3, cold=None, status="throttled", duration_ms=None, billed_ms=None, memory_mb=None),
        record(4, variant="mem-512", memory_mb=512),
        record(5, path="apigw-http", cold=None, duration_ms=None, billed_ms=None),
    ]
    stats = build_stats(records)
    assert set(stats.keys) == {
        StatsKey("mem-128", "direct", "cold"),
        StatsKey("mem-128", "direct", "warm"),
        StatsKey("mem-128", "direct", "unknown"),
        StatsKey("mem-512", "direct", "warm"),
        StatsKey("mem-128", "apigw-http", "unknown"),
    }
    warm = stats.keys[StatsKey("mem-128", "direct", "warm")]
    assert warm.statuses == {**dict.fromkeys(STATUSES, 0), "ok": 1, "function_error": 1}
    assert warm.error_types == {"E": 1}
    assert set(warm.metrics) == {"client_ms", "duration_ms", "billed_ms"}, "a warm key has no init durations"
    assert warm.metrics["client_ms"].count == 1, "client latency counts ok calls only"
    assert warm.metrics["duration_ms"].count == 2, "an error that ran has a duration"
    cold = stats.keys[StatsKey("mem-128", "direct", "cold")]
    assert cold.metrics["init_ms"].count == 1 and cold.metrics["init_ms"].max_us == 150_000
    throttled = stats.keys[StatsKey("mem-128", "direct", "unknown")]
    assert throttled.statuses["throttled"] == 1 and throttled.metrics == {}, "a throttle is no latency"
    assert stats.records == 6
    assert sum(k.statuses["ok"] for k in stats.keys.values()) == 4


def test_keys_count_error_types_init_types_memory_and_max_memory():
    records = [
        record(
            0,
            status="throttled",
            error_type="ReservedFunctionConcurrentInvocationLimitExceeded",
            cold=None,
            duration_ms=None,
            billed_ms=None,
            memory_mb=None,
        ),
        record(1, init_type="on-demand", max_memory_mb=40),
        record(2, init_type="provisioned-concurrency", max_memory_mb=44),
        record(3, init_type="provisioned-concurrency", memory_mb=256),
        record(4, status="ok", error_type="ignored on an ok call"),
    ]
    stats = build_stats(records)
    warm = stats.keys[StatsKey("mem-128", "direct", "warm")]
    assert warm.error_types == {}
    assert warm.init_types == {"on-demand": 1, "provisioned-concurrency": 2}
    assert warm.memory == {128: 3, 256: 1}
    assert (warm.max_memory_mb, warm.max_memory_n) == (44, 2)
    unknown = stats.keys[StatsKey("mem-128", "direct", "unknown")]
    assert unknown.error_types == {"ReservedFunctionConcurrentInvocationLimitExceeded": 1}
    assert unknown.memory == {} and unknown.max_memory_mb is None


def test_moments_are_exact_integers_whatever_the_values():
    rng = np.random.default_rng(1)
    values = np.concatenate([rng.integers(0, 2**32 - 1, 100_000), [hdr.HIGHEST_US, 2**32 + 5, -7]])
    assert sum_of_squares(values) == sum(v * v for v in values.tolist())
    small = rng.integers(0, 5000, 1000)
    assert sum_of_squares(small) == sum(v * v for v in small.tolist())
    metric = metric_of(values[:100_000])
    sample = Sample.from_metric(metric)
    exact = values[:100_000].astype(object)
    mean = sum(exact.tolist()) / 100_000
    assert sample.mean == pytest.approx(mean / 1000, rel=1e-15)
    assert sample.variance == pytest.approx(float(np.var(values[:100_000] / 1000, ddof=1)), rel=1e-12)


def test_key_figures_are_in_ms_with_exact_mean_min_and_max():
    client = [1.0, 2.0, 3.0, 4.0, 100.25]
    stats = build_stats([record(i, client_ms=ms) for i, ms in enumerate(client)])
    (key,) = key_summary(stats)
    figures = key["metrics"]["client_ms"]
    assert figures["count"] == 5 and figures["min"] == 1.0 and figures["max"] == 100.25
    assert figures["mean"] == pytest.approx(sum(client) / 5)
    # HDR answers with its bucket's highest value: 3,000 µs sits in a bucket 2 µs wide.
    assert figures["p50"] == 3.001 and 100.25 <= figures["p90"] <= 100.25 * (1 + BOUND)
    wire = stats.to_wire()["keys"][0][3]["metrics"]["client_ms"]
    assert hdr.decode(wire["hdr"]).get_total_count() == 5


def test_merging_parts_through_the_wire_equals_one_pass_over_everything():
    rng = np.random.default_rng(3)
    records = [
        record(
            i,
            variant=f"mem-{128 * (1 + i % 3)}",
            cold=bool(i % 40 == 0),
            init_ms=200.0 + i % 7 if i % 40 == 0 else None,
            client_ms=float(rng.lognormal(3, 1)),
            duration_ms=float(rng.lognormal(2.5, 1)),
            billed_ms=int(rng.integers(1, 3000)),
            t_start_ns=T0 + int(rng.integers(0, 30 * NS)),
        )
        for i in range(20_000)
    ]
    whole = build_stats(records)
    merged = RunStats()
    for part in (records[:7000], records[7000:7001], records[7001:]):
        merged.merge(RunStats.from_wire(build_stats(part).to_wire()))
    assert merged == whole
    assert key_summary(merged) == key_summary(whole)


def test_rows_folded_in_any_batches_equal_one_pass_over_the_records():
    # The collector hands RunStats the rows it has just buffered for SQLite, in batches of any
    # size and mixture; the result must be exactly build_stats of the same records.
    from bench.collect.rows import row_of

    rng = np.random.default_rng(9)
    records = [
        record(
            i,
            variant=f"mem-{128 * (1 + i % 3)}",
            path=("direct", "apigw-http")[i % 5 == 0],
            status=STATUSES[int(rng.integers(0, len(STATUSES)))],
            cold=(True, False, None)[i % 3],
            init_ms=float(rng.lognormal(5, 0.3)) if i % 3 == 0 else None,
            duration_ms=None if i % 7 == 0 else float(rng.lognormal(2, 1)),
            billed_ms=None if i % 7 == 0 else int(rng.integers(0, 3000)),
            client_ms=float(rng.lognormal(3, 1.5)),
            t_start_ns=T0 + int(rng.integers(0, 20 * NS)),
        )
        for i in range(5000)
    ]
    whole = build_stats(records)
    rows = [row_of(r) for r in records]
    for sizes in ((5000,), (1, 2, 4997), (1000,) * 5, (3, 4096, 901)):
        stats, start = RunStats(), 0
        for size in sizes:
            stats.add_rows(rows[start : start + size])
            start += size
        stats.add_rows([])
        assert stats == whole, sizes
    assert whole.records == 5000


def test_records_are_folded_in_batches_and_read_after_a_flush():
    stats = RunStats(batch_size=4)
    for i in range(3):
        stats.add(record(i))
    assert stats.keys == {}, "still buffered"
    stats.add(record(3))
    assert stats.keys[StatsKey("mem-128", "direct", "warm")].records == 4
    stats.add(record(4))
    assert stats.records == 5  # reading flushes


def test_metric_merge_keeps_exact_extremes_and_sums():
    a, b = Metric(), Metric()
    a.record(np.array([5, 7]))
    b.record(np.array([2, 100]))
    a.merge(b)
    assert (a.count, a.sum_us, a.min_us, a.max_us) == (4, 114, 2, 100)
    a.merge(Metric())
    assert (a.min_us, a.max_us) == (2, 100)


def test_wire_refuses_another_schema_version():
    with pytest.raises(ValueError, match="schema_version"):
        RunStats.from_wire({"schema_version": 99, "keys": [], "timelines": []})


# --- timeline.py -----------------------------------------------------------------------------


def test_concurrency_of_known_intervals():
    timeline = ConcurrencyTimeline()
    # [10.5 s, 12.5 s), [11.0 s, 11.25 s), [12.0 s, 15.0 s) after T0.
    starts = np.array([T0 + 10_500_000_000, T0 + 11_000_000_000, T0 + 12_000_000_000])
    timeline.add(starts, np.array([2000.0, 250.0, 3000.0]))
    series = timeline.series()
    origin = T0 // NS + 10
    assert series["origin_s"] == origin
    assert series["starts"] == [1, 1, 1, 0, 0]
    assert series["in_flight"] == [0, 2, 2, 1, 1]  # sampled at the whole seconds 10 .. 14
    assert series["mean"] == [0.5, 1.25, 1.5, 1.0, 1.0]


def brute_force(starts: np.ndarray, ends: np.ndarray, origin: int, seconds: int):
    in_flight, mean = [], []
    for k in range(origin, origin + seconds):
        in_flight.append(int(np.count_nonzero((starts <= k * NS) & (k * NS < ends))))
        overlap = np.clip(np.minimum(ends, (k + 1) * NS) - np.maximum(starts, k * NS), 0, None)
        mean.append(int(overlap.sum()) / NS)
    return in_flight, mean


def test_concurrency_equals_brute_force_and_adds_across_parts():
    rng = np.random.default_rng(11)
    starts = T0 + rng.integers(0, 60 * NS, 3000)
    client_ms = rng.lognormal(5, 1.5, 3000)  # some calls span many seconds
    ends = starts + np.rint(client_ms * 1e6).astype(np.int64)
    whole = ConcurrencyTimeline()
    whole.add(starts, client_ms)
    series = whole.series()
    in_flight, mean = brute_force(starts, ends, series["origin_s"], len(series["starts"]))
    assert series["in_flight"] == in_flight
    assert series["mean"] == pytest.approx(mean, abs=1e-9)
    assert sum(series["starts"]) == 3000
    parts = ConcurrencyTimeline()
    for chunk in np.array_split(np.arange(3000), 4):
        part = ConcurrencyTimeline()
        part.add(starts[chunk], client_ms[chunk])
        parts.merge(ConcurrencyTimeline.from_wire(part.to_wire()))
    assert parts.series() == series


def test_a_stray_timestamp_costs_one_chunk_and_is_reported_not_plotted():
    stats = build_stats([record(0), record(1, t_start_ns=5 * NS)])  # 1970, next to 2023
    timeline = stats.timelines[("mem-128", "direct")]
    assert len(timeline._starts.chunks) == 2
    (concurrency,) = summarize(stats, architecture="x86_64").concurrency
    assert "cannot be one run" in concurrency.error and concurrency.starts == ()
    assert stats.records == 2


def test_summary_concurrency_per_variant():
    records = [
        record(i, variant=v, client_ms=2000.0, t_start_ns=T0 + 500_000_000)
        for i, v in enumerate(["mem-128", "mem-128", "mem-512"])
    ]
    concurrency = summarize(build_stats(records), architecture="x86_64").concurrency
    peaks = {(c.variant, c.path): c.max_in_flight for c in concurrency}
    assert peaks == {("mem-128", "direct"): 2, ("mem-512", "direct"): 1}
    by_variant = {c.variant: c for c in concurrency}
    assert by_variant["mem-128"].mean == (1.0, 2.0, 1.0) and by_variant["mem-128"].origin_s == T0 // NS
    assert by_variant["mem-512"].max_mean == 1.0


def test_timeline_memory_follows_seconds_not_invocations():
    def footprint(timeline: ConcurrencyTimeline) -> int:
        parts = (timeline._starts, timeline._tick_diff, timeline._full_diff, timeline._partial_ns)
        return sum(chunk.nbytes for part in parts for chunk in part.chunks.values())

    timeline = ConcurrencyTimeline()
    timeline.add(T0 + np.arange(10_000) * 1_000_000, np.full(10_000, 5.0))  # 10,000 calls over 10 s
    after_one = footprint(timeline)
    for _ in range(49):
        timeline.add(T0 + np.arange(10_000) * 1_000_000, np.full(10_000, 5.0))  # the same 10 s, again and again
    assert footprint(timeline) == after_one <= 4 * CHUNK_S * 8, "500,000 calls cost what 10,000 did"
    # A run twice as long in seconds costs at most one more chunk per series, whatever its calls.
    timeline.add(T0 + CHUNK_S * NS + np.arange(1000) * 1_000_000, np.full(1000, 5.0))
    assert footprint(timeline) <= after_one + 4 * CHUNK_S * 8


def test_cold_starts_are_counted_by_the_second_they_started():
    throttled = {"cold": None, "status": "throttled", "duration_ms": None, "billed_ms": None}
    records = [
        record(0, cold=True, init_ms=100.0, t_start_ns=T0 + 200_000_000),
        record(1, t_start_ns=T0 + 300_000_000),
        record(2, cold=True, init_ms=90.0, t_start_ns=T0 + 2 * NS),
        record(3, t_start_ns=T0 + 2 * NS, **throttled),
    ]
    (concurrency,) = summarize(build_stats(records), architecture="x86_64").concurrency
    assert concurrency.starts == (2, 0, 2) and concurrency.cold_starts == (1, 0, 1)
