"""`lambench report RUN_DIR`: a run folder's outputs made again from its records, the one way."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from bench.analysis import key_summary
from bench.collect import RecordStore, build_stats
from bench.records import InvocationRecord

T0 = 1_795_000_000 * 1_000_000_000


def records() -> list[InvocationRecord]:
    out = []
    for i in range(200):
        memory = (128, 512)[i % 2]
        cold = i < 4
        out.append(
            InvocationRecord(
                run_id="20261201-000000", variant=f"mem-{memory}", path="direct", t_start_ns=T0 + i * 10_000_000,
                client_ms=20.0 + i % 13, status="ok", request_id=f"r{i}", cold=cold,
                init_ms=150.0 if cold else None, duration_ms=15.0 + i % 7, billed_ms=16 + i % 7 + (150 if cold else 0),
                max_memory_mb=40, memory_mb=memory,
            )
        )  # fmt: skip
    return out


def lambench(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bench", *args], capture_output=True, text=True, timeout=120)


def test_report_remakes_the_outputs_from_the_records_and_run_facts(tmp_path: Path) -> None:
    run_dir = tmp_path / "20261201-000000"
    run_dir.mkdir()
    with RecordStore(run_dir / "records.sqlite") as store:
        for record in records():
            store.add(record)
    (run_dir / "run.json").write_text(json.dumps({"run_id": run_dir.name, "architecture": "arm64", "function": "f"}))
    decision_file = tmp_path / "decision.toml"
    decision_file.write_text('[traffic]\nrequests_per_month = 2600\n[decision]\nstrategy = "speed"\n')
    result = lambench("report", str(run_dir), "-c", str(decision_file))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == f"report: {(run_dir / 'report.html').resolve()}"
    results = json.loads((run_dir / "results.json").read_text())
    assert results["architecture"] == "arm64", "the run's facts come from run.json"
    assert results["run"]["records"] == 200
    assert {v["variant"]: v["invocations"] for v in results["variants"]} == {"mem-128": 100, "mem-512": 100}
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["keys"] == json.loads(json.dumps(key_summary(build_stats(records()))))
    # Decided for FILE's traffic and strategy, without running anything.
    recommendation = results["recommendation"]
    assert recommendation["traffic"]["requests_per_month"] == 2600 and recommendation["memory"]["strategy"] == "speed"
    assert recommendation["provisioned_concurrency"]["case"] == "sparse"
    assert "mem-" in (run_dir / "summary.md").read_text()
    assert (run_dir / "variants.csv").read_text().count("\n") == 3  # a header and one row per variant


def test_report_with_a_bad_decision_file_is_one_line_and_exit_2(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    with RecordStore(run_dir / "records.sqlite") as store:
        store.add(records()[0])
    bad = tmp_path / "decision.toml"
    bad.write_text("[decision]\nslo_percentile = 97\n")
    result = lambench("report", str(run_dir), "-c", str(bad))
    assert result.returncode == 2
    assert result.stderr == f"lambench: error: {bad}: decision.slo_percentile = 97: must be one of 50, 90, 95, 99\n"


def test_report_of_a_folder_without_records_is_one_line_and_exit_2(tmp_path: Path) -> None:
    for folder in (tmp_path / "absent", tmp_path):
        result = lambench("report", str(folder))
        assert result.returncode == 2
        assert result.stderr.count("\n") == 1 and result.stderr.startswith("lambench: error: "), result.stderr


def test_report_of_a_corrupt_or_foreign_store_is_one_line_and_exit_2(tmp_path: Path) -> None:
    import sqlite3

    corrupt, foreign, empty = (tmp_path / name for name in ("corrupt", "foreign", "empty"))
    for folder in (corrupt, foreign, empty):
        folder.mkdir()
    (corrupt / "records.sqlite").write_bytes(b"SQLite format 3\x00" + b"\xff" * 200)
    conn = sqlite3.connect(foreign / "records.sqlite")
    conn.execute("CREATE TABLE invocations (id INTEGER, name TEXT)")
    conn.commit()
    conn.close()
    sqlite3.connect(empty / "records.sqlite").close()  # a zero-byte file: no table at all
    for folder in (corrupt, foreign, empty):
        result = lambench("report", str(folder))
        assert result.returncode == 2, (folder.name, result.stderr)
        assert result.stderr.count("\n") == 1 and "not a lambench record store" in result.stderr, result.stderr
