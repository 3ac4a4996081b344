"""Synthetic runs with known distributions, for the gate tests: what lambench's default run looks like.

Each variant's warm client latency is lognormal around the medians the README's default run
measured (320, 75, 45 and 37 ms at 128, 512, 1024 and 1769 MB), with sigma 0.3, the widest
that run showed (ln(p95 / p50) / 1.645 ranged 0.21..0.30); cold starts (the first call of each
of 4 users, 0.8%) add a lognormal Init Duration around 250 ms; 0.5% of calls fail. The records
go through the real collector (build_stats) and analysis (summarize), as a run's do.
"""

from __future__ import annotations

import math

import numpy as np

from bench.analysis import summarize
from bench.collect import build_stats
from bench.gate.evidence import RunEvidence
from bench.records import InvocationRecord

MEDIAN_MS = {128: 320.0, 512: 75.0, 1024: 45.0, 1769: 37.0}
SIGMA = 0.3
DEFAULT_N = 480  # invocations per variant in the default run (4 users, 60 s, 4 sizes)
COLD_PER_VARIANT = 4
ERROR_RATE = 0.005
OVERHEAD_MS = 2.0


def synthetic_records(
    seed: int,
    n: int = DEFAULT_N,
    *,
    scale: dict[int, float] | None = None,
    error_rate: float = ERROR_RATE,
    sigma: float = SIGMA,
    run_id: str = "synthetic",
) -> list[InvocationRecord]:
    """n records per variant; ``scale`` multiplies one size's latencies (20%: {512: 1.2})."""
    rng = np.random.default_rng(seed)
    out = []
    for memory, median in MEDIAN_MS.items():
        factor = (scale or {}).get(memory, 1.0)
        duration = rng.lognormal(math.log(median * factor), sigma, n)
        failed = rng.random(n) < error_rate
        init = rng.lognormal(math.log(250.0), 0.2, n)
        for i in range(n):
            cold = i < COLD_PER_VARIANT
            init_ms = float(init[i]) if cold else None
            ms = float(duration[i])
            out.append(
                InvocationRecord(
                    run_id=run_id,
                    variant=f"mem-{memory}",
                    path="direct",
                    t_start_ns=i * 10_000_000,
                    client_ms=ms + OVERHEAD_MS + (init_ms or 0.0),
                    status="function_error" if failed[i] else "ok",
                    error_type="Unhandled" if failed[i] else None,
                    cold=cold,
                    init_ms=init_ms,
                    duration_ms=ms,
                    billed_ms=math.ceil(ms),
                    max_memory_mb=60,
                    memory_mb=memory,
                )
            )
    return out


def synthetic_run(seed: int, n: int = DEFAULT_N, **kwargs) -> RunEvidence:
    """A RunEvidence as load_run would read it from a run of these records."""
    stats = build_stats(synthetic_records(seed, n, **kwargs))
    summary = summarize(stats, architecture="x86_64")
    results = {"run": {"run_id": f"seed-{seed}", "function": "synthetic"}, "recommendation": None}
    return RunEvidence(f"seed-{seed}", results, summary, stats)


def write_run(run_dir, records, *, function: str = "synthetic"):
    """A run folder as `lambench run` leaves it: records.sqlite, run.json and every output."""
    from bench.collect import RecordStore
    from bench.outputs import outputs_from_store, write_run_info

    with RecordStore(run_dir / "records.sqlite") as store:
        for record in records:
            store.add(record)
    write_run_info(run_dir, {"run_id": run_dir.name, "function": function, "architecture": "x86_64"})
    return outputs_from_store(run_dir)
