"""Locust's distributed mode for real: a master and two workers, as processes, against the emulator.

Nothing may be lost or counted twice between the emulator, the per-worker record files, the
merged records.sqlite, the master's merged statistics and Locust's own counts. The emulator is
this test's own, so that its served count is this run's invocations alone.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from conftest import run_locust

from bench.analysis import key_summary
from bench.collect import RunStats, build_stats, merge_records, read_records
from bench.collect.runfolder import worker_stores
from bench.collect.store import RecordStore
from bench.records import InvocationRecord

REPO = Path(__file__).resolve().parent.parent
LOCUSTFILE = str(REPO / "locustfiles" / "direct.py")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def locust(*args: str, cwd: Path, log: Path) -> subprocess.Popen:
    with open(log, "w") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "locust", "-f", LOCUSTFILE, *args],
            cwd=cwd,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )


def run_distributed(endpoint: str, function: str, variants: str, reports: Path, payload: str = "{}", workers: int = 2):
    port = free_port()
    master = locust(
        "--master",
        "--headless",
        "--expect-workers",
        str(workers),
        "-u",
        "6",
        "-r",
        "6",
        "-t",
        "6s",
        "--master-bind-host",
        "127.0.0.1",
        "--master-bind-port",
        str(port),
        "--only-summary",
        # Let in-flight invokes finish, so that every invoke the emulator served is recorded.
        "--stop-timeout",
        "30",
        "--lambda-endpoint",
        endpoint,
        "--lambda-function",
        function,
        "--lambda-variants",
        variants,
        "--lambda-payload",
        payload,
        "--lambench-reports",
        str(reports),
        "--json-file",
        str(reports / "locust"),
        cwd=reports,
        log=reports / "master.log",
    )
    # Workers get the lambda options and the run id from the master; they are given nothing else.
    started = [
        locust(
            "--worker",
            "--master-host",
            "127.0.0.1",
            "--master-port",
            str(port),
            cwd=reports,
            log=reports / f"worker-{i}.log",
        )
        for i in range(workers)
    ]
    try:
        master.wait(timeout=180)
        for worker in started:
            worker.wait(timeout=60)
    finally:
        for process in (master, *started):
            if process.poll() is None:
                process.kill()
                process.wait()
    return master.returncode, [w.returncode for w in started]


def logs(reports: Path) -> str:
    return "\n".join(f"--- {p.name}\n{p.read_text()[-3000:]}" for p in sorted(reports.glob("*.log")))


def test_master_and_two_workers_lose_nothing_and_count_nothing_twice(own_emulator, tmp_path):
    emulator, _client, deploy = own_emulator()
    spec, variants = deploy("hello", (128, 512))
    code, worker_codes = run_distributed(emulator.url, spec.name, ",".join(v.name for v in variants), tmp_path)
    assert (code, worker_codes) == (0, [0, 0]), logs(tmp_path)

    (run_dir,) = [p for p in tmp_path.iterdir() if p.is_dir()]
    per_worker = worker_stores(run_dir)
    assert len(per_worker) == 2, "one record file per worker, in the master's run folder"
    records = read_records(run_dir / "records.sqlite")  # merged by the master at quit
    served = emulator.info()["served"]["invocations"]
    assert len(records) == served > 0, logs(tmp_path)
    assert sum(len(read_records(p)) for p in per_worker) == len(records)
    request_ids = [r.request_id for r in records]
    assert None not in request_ids and len(set(request_ids)) == len(records), "each invocation once"
    assert {r.run_id for r in records} == {run_dir.name}
    assert len({r.worker for r in records}) == 2

    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["complete"] is True and summary["missing_workers"] == []
    assert summary["records"] == len(records)
    assert sorted(w["records"] for w in summary["workers"].values()) == sorted(len(read_records(p)) for p in per_worker)
    # The workers' deltas counted every record once (the merge itself is tested exactly in
    # test_histograms.py), and summary.json's figures are those of the merged rows.
    assert sum(w["records"] for w in summary["workers"].values()) == len(records)
    assert summary["keys"] == json.loads(json.dumps(key_summary(build_stats(records))))
    assert RunStats.from_wire(summary["aggregates"]) == build_stats(records)
    locust_counts = {
        e["name"]: (e["num_requests"], e["num_failures"]) for e in json.loads((tmp_path / "locust.json").read_text())
    }
    by_variant = Counter(r.variant for r in records)
    assert locust_counts == {f"invoke {v}": (n, 0) for v, n in by_variant.items()}
    assert set(by_variant) == {v.name for v in variants}


def test_invokes_in_flight_at_the_time_limit_reach_the_master(own_emulator, tmp_path):
    # Locust's master gives its workers 0.5 s for a final report after -t; these invokes take 1.5 s.
    emulator, _client, deploy = own_emulator()
    spec, (variant,) = deploy("sleepy")
    code, worker_codes = run_distributed(emulator.url, spec.name, variant.name, tmp_path, payload='{"sleep_s": 1.5}')
    assert (code, worker_codes) == (0, [0, 0]), logs(tmp_path)
    (run_dir,) = [p for p in tmp_path.iterdir() if p.is_dir()]
    served = emulator.info()["served"]["invocations"]
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["complete"] is True
    assert summary["records"] == len(read_records(run_dir / "records.sqlite")) == served > 0
    locust_counts = {e["name"]: e["num_requests"] for e in json.loads((tmp_path / "locust.json").read_text())}
    assert locust_counts == {f"invoke {variant.name}": served}, "Locust's own counts got the last report too"


def test_a_single_process_writes_the_same_summary_as_its_rows(emulator, deploy, tmp_path):
    spec, (variant,) = deploy("hello")
    result = run_locust("direct.py", emulator.url, spec.name, variant.name, tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    (run_dir,) = [p for p in tmp_path.iterdir() if p.is_dir()]
    records = read_records(run_dir / "records.sqlite")
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["run_id"] == run_dir.name
    assert summary["keys"] == json.loads(json.dumps(key_summary(build_stats(records))))
    assert summary["records"] == len(records) > 0
    results = json.loads((run_dir / "results.json").read_text())
    assert sum(v["invocations"] for v in results["variants"]) == len(records)
    assert (run_dir / "report.html").is_file() and "lambench: report: " in result.stderr


def _record(worker: str, i: int) -> InvocationRecord:
    return InvocationRecord(
        run_id="r1",
        variant="mem-128",
        path="direct",
        t_start_ns=1_700_000_000_000_000_000 + i,
        client_ms=1.0 + i,
        status="ok",
        request_id=f"{worker}-{i}",
        worker=worker,
    )


def test_merge_records_takes_every_worker_row_once_and_can_run_again(tmp_path):
    for worker, count in (("a", 3), ("b", 5)):
        with RecordStore(tmp_path / f"records-{worker}.sqlite") as store:
            for i in range(count):
                store.add(_record(worker, i))
    merged = merge_records(tmp_path)
    assert merge_records(tmp_path) == merged == tmp_path / "records.sqlite"
    records = read_records(merged)
    assert sorted(r.request_id for r in records) == sorted([f"a-{i}" for i in range(3)] + [f"b-{i}" for i in range(5)])
    assert [r.t_start_ns for r in records] == sorted(r.t_start_ns for r in records)


def test_merge_records_of_a_single_process_run_is_its_own_file(tmp_path):
    with RecordStore(tmp_path / "records.sqlite") as store:
        store.add(_record("local", 0))
    assert merge_records(tmp_path) == tmp_path / "records.sqlite"
    with pytest.raises(FileNotFoundError):
        merge_records(tmp_path / "empty")
