"""Collector throughput and memory: records per second into SQLite, into the histograms, and both.

    .venv/bin/python tests/perf/collector.py [--records N]

Each phase runs in a fresh process of its own, so that its peak RSS is its own:

- ``store``: RecordStore.add per record, flushed on the listener's rule (at least once a second,
  and whenever MAX_BUFFERED rows wait);
- ``stats``: RunStats.add per record (HDR histograms, status counts, concurrency timeline);
- ``both``: RecordCollector.on_request with the record in the request context: the real path
  (one row per record, buffered; each flush folds the rows into the statistics, then writes them).

Records come from a pool of 100,000 distinct, realistic records (4 variants, 2 % cold with init
durations, 1 % throttled, UUID request ids), replayed in laps, each lap 25 s later than the one
before (shifted in place, off the clock); the pool is the baseline memory. The timed figures
include the final flush and the wire form a worker sends. Rates are given per wall-clock second and per CPU second of
the process: on a shared machine the second is the steadier. Printed per phase: records/s, the
longest single flush (how late "on disk within a second" can be when the process is saturated;
for ``both``, the collector's whole flush: folding the statistics, then writing),
RSS above the baseline after 100,000 and after N records (flat means the streaming part does
not grow with the count) and the peak RSS; medians of ``--repeat`` interleaved rounds (the
longest flush: the worst). Asserts nothing; the goal is >= 200,000 records/s and flat RSS. The
figures are for one CPU core: a Locust process is single-threaded.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

POOL = 100_000
CHECKPOINT = 100_000
LAP_NS = 25_000_000_000  # the pool's start times span 25 s (4,000 invocations/s)
T0_NS = 1_795_000_000 * 1_000_000_000
PHASES = ("store", "stats", "both")


def rss_kb(field: str = "VmRSS") -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def record_pool():
    import numpy as np

    from bench.records import InvocationRecord

    rng = np.random.default_rng(1)
    client = rng.lognormal(np.log(40.0), 0.5, POOL)
    pool = []
    for i in range(POOL):
        throttled, cold = i % 100 == 99, i % 50 == 0
        variant = f"mem-{(128, 512, 1024, 1769)[i % 4]}"
        common = dict(
            run_id="20261126-201543",
            variant=variant,
            path="direct",
            t_start_ns=T0_NS + i * 250_000,
            client_ms=float(client[i]),
            request_id=str(uuid.UUID(bytes=rng.bytes(16))),
            payload_bytes=2,
            worker="vm_" + uuid.UUID(int=7).hex,
        )
        if throttled:
            pool.append(InvocationRecord(status="throttled", error_type="ConcurrentInvocationLimitExceeded", **common))
        else:
            pool.append(
                InvocationRecord(
                    status="ok",
                    cold=cold,
                    init_ms=130.5 if cold else None,
                    duration_ms=float(client[i]) * 0.9,
                    billed_ms=int(client[i] * 0.9) + 1,
                    max_memory_mb=48,
                    memory_mb=int(variant[4:]),
                    response_bytes=40,
                    init_type="on-demand",
                    **common,
                )
            )
    return pool


def run_phase(phase: str, count: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="lambench-perf-") as folder:
        return _run_phase(phase, count, Path(folder))


def _run_phase(phase: str, count: int, folder: Path) -> dict:
    pool = record_pool()
    consume, settle, flushes, finish = _consumer(phase, folder)
    baseline = rss_kb()
    marks, wall, cpu, done, lap = {}, 0.0, 0.0, 0, 0
    while done < count:
        batch = pool if count - done >= len(pool) else pool[: count - done]
        wall_0, cpu_0 = time.perf_counter(), time.process_time()
        for record in batch:
            consume(record)
        settle()  # the consumer lets go of the lap's records before they are reused
        wall, cpu = wall + time.perf_counter() - wall_0, cpu + time.process_time() - cpu_0
        done, lap = done + len(batch), lap + 1
        if done in (CHECKPOINT, count):
            marks[done] = rss_kb() - baseline
        # Off the clock, and in place so that no new objects blur the RSS figures: the next lap
        # starts LAP_NS later, as a run's start times advance.
        for record in pool:
            object.__setattr__(record, "t_start_ns", record.t_start_ns + LAP_NS)
    wall_0, cpu_0 = time.perf_counter(), time.process_time()
    finish()
    wall, cpu = wall + time.perf_counter() - wall_0, cpu + time.process_time() - cpu_0
    return {
        "phase": phase,
        "records": count,
        "per_s": count / wall,
        "per_cpu_s": count / cpu,
        "max_flush_s": max(flushes, default=0.0),
        "rss_above_baseline_kb": marks,
        "baseline_kb": baseline,
        "peak_kb": rss_kb("VmHWM"),
    }


def _consumer(phase: str, folder: Path):
    """(consume(record), settle(), flush durations, finish()) for one phase."""
    from bench.collect.stats import RunStats
    from bench.collect.store import RecordStore

    flushes: list[float] = []
    if phase == "stats":
        stats = RunStats()
        return stats.add, stats.flush, flushes, stats.to_wire
    store = RecordStore(folder / "records.sqlite")
    from bench.collect.listener import MAX_BUFFERED, RecordCollector
    from bench.records import CONTEXT_KEY

    if phase == "store":
        _timed_flush(store, flushes)
        unflushed = [0]

        def consume(record):  # the listener's store half: flush on the clock or at MAX_BUFFERED rows
            store.add(record)
            unflushed[0] += 1
            if unflushed[0] >= MAX_BUFFERED:
                store.flush()
                unflushed[0] = 0
            elif store.maybe_flush():
                unflushed[0] = 0

        return consume, lambda: None, flushes, store.close

    collector = _timed_flush(RecordCollector(store), flushes)  # not attached: no gevent timer
    context: dict = {}

    def consume_both(record):
        context[CONTEXT_KEY] = record
        collector.on_request(context=context)

    def finish():
        collector.close()
        collector.stats.to_wire()  # what a Locust worker sends its master

    return consume_both, lambda: collector.stats.flush(), flushes, finish


def _timed_flush(writer, flushes: list[float]):
    """The writer (a store or a collector), its flush() timed into ``flushes``."""
    flush = writer.flush

    def timed_flush():
        started = time.perf_counter()
        flush()
        flushes.append(time.perf_counter() - started)

    writer.flush = timed_flush
    return writer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3, help="rounds of the three phases, interleaved")
    parser.add_argument("--phase", choices=PHASES, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        print(json.dumps(run_phase(args.phase, args.records)))
        return
    print(
        f"{args.records:,} records per phase, each phase in its own process, {args.repeat} interleaved rounds, "
        f"medians shown (Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f})"
    )
    runs: dict[str, list[dict]] = {phase: [] for phase in PHASES}
    for _ in range(args.repeat):
        for phase in PHASES:
            out = subprocess.run(
                [sys.executable, __file__, "--phase", phase, "--records", str(args.records)],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            runs[phase].append(json.loads(out))
    print(
        f"{'phase':<7} {'records/s':>10} {'per CPU s':>10} {'longest flush':>14} {'RSS +100k':>10} "
        f"{'RSS +all':>9} {'peak RSS':>9}"
    )
    medians = {phase: _median_row(phase, rows, args.records) for phase, rows in runs.items()}
    store, stats, both = (medians[p]["per_cpu_s"] for p in PHASES)
    print(
        f"per CPU second: both / store alone = {both / store:.2f}; stats alone / store alone = "
        f"{stats / store:.1f}; goal >= 200,000 records/s and flat RSS"
    )


def _median_row(phase: str, rows: list[dict], count: int) -> dict:
    def median(key):
        return statistics.median(r[key] for r in rows)

    def rss(mark):
        return statistics.median(r["rss_above_baseline_kb"].get(str(mark), 0) for r in rows) / 1024

    figures = {"per_s": median("per_s"), "per_cpu_s": median("per_cpu_s")}
    print(
        f"{phase:<7} {figures['per_s']:>10,.0f} {figures['per_cpu_s']:>10,.0f} "
        f"{max(r['max_flush_s'] for r in rows) * 1000:>11.0f} ms {rss(CHECKPOINT):>7.1f} MB "
        f"{rss(count):>6.1f} MB {median('peak_kb') / 1024:>6.0f} MB"
    )
    return figures


if __name__ == "__main__":
    main()
