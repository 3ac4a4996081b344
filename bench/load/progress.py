"""Progress of a headless run in a log: one plain line every 10 s, not a redrawn bar.

A CI log is not a terminal: rich's live bar would either vanish or print a line per redraw. So
where the console is not a terminal, the load prints what a reader of the log needs, every
PLAIN_EVERY_S seconds and once at the end:

    load 20s/60s: 1,904 invocations, 0 errors, 16 cold starts; p95 mem-128 452 ms, mem-512 118 ms

The figures come from the collector's live aggregates (bench/collect/listener.py: the same
RunStats the report is made from, folded at least once a second), so the p95 follows the one
percentile rule and counts successful calls only.
"""

from __future__ import annotations

from collections import defaultdict

from bench.analysis.sample import Sample
from bench.collect import Metric, RunStats

PLAIN_EVERY_S = 10.0


def progress_line(stats: RunStats, elapsed_s: float, run_time_s: float) -> str:
    """One line: elapsed of planned, invocations, errors, cold starts and each variant's client p95 so far."""
    invocations = errors = cold = 0
    latency: dict[str, list[Metric]] = defaultdict(list)
    for key, key_stats in stats.keys.items():
        invocations += key_stats.records
        errors += key_stats.records - key_stats.statuses.get("ok", 0)
        if key.cold == "cold":
            cold += key_stats.records
        if "client_ms" in key_stats.metrics:
            latency[key.variant].append(key_stats.metrics["client_ms"])
    line = (
        f"load {elapsed_s:.0f}s/{run_time_s:.0f}s: {invocations:,} invocations, {errors:,} errors, {cold:,} cold starts"
    )
    p95s = []
    for variant in sorted(latency, key=_memory_order):
        p95 = Sample.from_metrics(latency[variant]).percentile(95)
        if p95 is not None:
            p95s.append(f"{variant} {p95:,.0f} ms")
    return line + ("; p95 " + ", ".join(p95s) if p95s else "")


def _memory_order(variant: str) -> tuple[int, str]:
    digits = "".join(c for c in variant if c.isdigit())
    return (int(digits) if digits else 0, variant)
