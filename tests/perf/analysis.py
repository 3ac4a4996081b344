"""Analysis at scale: ``lambench report`` on 1 M and 10 M stored records, beside a bare column scan.

    .venv/bin/python tests/perf/analysis.py [--records 1000000,10000000] [--repeat 1]

For each size N, a record store of N realistic records (tests/perf/collector.py's pool of
100,000, replayed in laps 25 s apart; 4 variants, 2 % cold, 1 % throttled) is written with the
project's own RecordStore (not timed). Then, each in a fresh process of its own, so that its peak
RSS is its own, interleaved ``--repeat`` times:

- ``report``: ``python -m bench report RUN_DIR``: the whole path of a finished run, from the store
  to results.json, summary.json and report.html (store -> aggregates -> figures -> files);
- ``bare``: the least any Python analysis of the store must do: ``SELECT`` the same columns the
  fold reads, chunk by chunk, into numpy arrays (strings as object arrays), and nothing else.

Printed: wall seconds and peak RSS of each (medians over the repeats), and the ratio report /
bare. Goals: within 3x of the bare scan, and under 1 GB of peak RSS at 10 M records. Asserts
nothing: the figures go in the README.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

BARE_SCAN = """
import sqlite3, sys
import numpy as np
from bench.collect.fold import FOLD_FIELDS
TEXT = {"variant", "path", "status", "error_type", "init_type"}
conn = sqlite3.connect(sys.argv[1])
cursor = conn.execute(f"SELECT {', '.join(FOLD_FIELDS)} FROM invocations ORDER BY rowid")
while rows := cursor.fetchmany(50_000):
    for name, column in zip(FOLD_FIELDS, zip(*rows)):
        np.array(column, dtype=object if name in TEXT else np.float64)
"""


def write_store(path: Path, count: int) -> None:
    from collector import LAP_NS, record_pool

    from bench.collect.rows import row_of
    from bench.collect.store import RecordStore
    from bench.records import FIELDS

    pool = [row_of(r) for r in record_pool()]
    at = FIELDS.index("t_start_ns")
    written, lap = 0, 0
    with RecordStore(path) as store:
        while written < count:
            take = min(len(pool), count - written)
            shift = lap * LAP_NS
            store.add_rows([row[:at] + (row[at] + shift,) + row[at + 1 :] for row in pool[:take]])
            store.flush()
            written, lap = written + take, lap + 1


def measure(command: list[str]) -> tuple[float, float]:
    """(wall seconds, peak RSS in MB) of one child process, which must succeed."""
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode:
        raise SystemExit(f"{command[:4]} failed ({process.returncode}): {process.stderr.read().decode()[-2000:]}")
    return wall, usage.ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", default="1000000,10000000", help="comma-separated record counts")
    parser.add_argument("--repeat", type=int, default=1, help="interleaved rounds per size (medians shown)")
    args = parser.parse_args()
    print(f"{'records':>12} {'report s':>9} {'bare s':>8} {'ratio':>6} {'report MB':>10} {'bare MB':>8}")
    for count in (int(n) for n in args.records.split(",")):
        with tempfile.TemporaryDirectory(prefix="lambench-perf-analysis-") as folder:
            run_dir = Path(folder) / "20261201-000000"
            run_dir.mkdir()
            write_store(run_dir / "records.sqlite", count)
            report, bare = [], []
            for _ in range(args.repeat):
                bare.append(measure([sys.executable, "-c", BARE_SCAN, str(run_dir / "records.sqlite")]))
                report.append(measure([sys.executable, "-m", "bench", "report", str(run_dir)]))
            r_s, r_mb = (statistics.median(x) for x in zip(*report, strict=True))
            b_s, b_mb = (statistics.median(x) for x in zip(*bare, strict=True))
            print(f"{count:>12,} {r_s:>9.1f} {b_s:>8.1f} {r_s / b_s:>5.2f}x {r_mb:>10.0f} {b_mb:>8.0f}", flush=True)


if __name__ == "__main__":
    main()
