"""The plain progress line of a headless run in a log (bench/load/progress.py), from known records."""

from __future__ import annotations

from gate_synthetic import synthetic_records

from bench.collect import build_stats
from bench.load.progress import progress_line


def test_the_line_counts_invocations_errors_cold_starts_and_gives_each_p95():
    records = synthetic_records(1, n=100, error_rate=0.0)
    line = progress_line(build_stats(records), 20.4, 60)
    assert line.startswith("load 20s/60s: 400 invocations, 0 errors, 16 cold starts; p95 mem-128 ")
    assert line.index("mem-128") < line.index("mem-512") < line.index("mem-1024") < line.index("mem-1769")
    ok = sorted(r.client_ms for r in records if r.variant == "mem-512")
    assert f"mem-512 {ok[94]:,.0f} ms" in line  # nearest rank: the 95th of 100, to the HDR's 3 digits


def test_before_any_call_the_line_has_no_percentiles():
    assert progress_line(build_stats([]), 0, 60) == "load 0s/60s: 0 invocations, 0 errors, 0 cold starts"
