"""`lambench run` end to end on the bundled emulator: four variants, a report that exists."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

CONFIG = """
[function]
name = "lambench-cpu-bound"
source = "{source}"
handler = "app.lambda_handler"
environment = {{ POWERTOOLS_METRICS_NAMESPACE = "lambench" }}
[variants]
memory_mb = [128, 512, 1024, 1769]
[load]
users = 4
spawn_rate = 4
run_time_s = 8
payload = {{ n = 20000 }}
[report]
dir = "{reports}"
"""


def test_run_writes_report_results_and_records_for_four_variants(tmp_path):
    config = tmp_path / "bench.toml"
    config.write_text(CONFIG.format(source=REPO / "targets" / "cpu_bound", reports=tmp_path / "reports"))
    result = subprocess.run([sys.executable, "-m", "bench", "run", "-c", str(config)], capture_output=True,
                            text=True, timeout=300, cwd=tmp_path, env={**os.environ, "COLUMNS": "160"})
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    last = result.stdout.strip().splitlines()[-1]
    assert last.startswith("report: ")
    report = Path(last.removeprefix("report: "))
    assert report.is_file() and report.name == "report.html"
    run_dir = report.parent
    assert (run_dir / "records.sqlite").is_file()
    results = json.loads((run_dir / "results.json").read_text())
    assert results["schema_version"] == 2
    assert results["run"]["cpu_mode"] in ("quota", "none")
    assert "ran on the local interpreter" in results["run"]["runtime_note"]
    variants = {v["variant"]: v for v in results["variants"]}
    assert set(variants) == {"mem-128", "mem-512", "mem-1024", "mem-1769"}
    for v in variants.values():
        assert v["cold_starts"] >= 1
        assert v["cost_per_million_usd"] > 0
        assert v["errors"] == 0
    assert results["cheapest"] in variants
    assert "cheapest" in result.stdout


def test_an_interrupted_run_keeps_what_it_measured_and_still_reports(tmp_path):
    import signal
    import sqlite3
    import time

    config = tmp_path / "bench.toml"
    config.write_text(CONFIG.format(source=REPO / "targets" / "cpu_bound", reports=tmp_path / "reports")
                      .replace("run_time_s = 8", "run_time_s = 600").replace("n = 20000", "n = 2000"))
    process = subprocess.Popen([sys.executable, "-m", "bench", "run", "-c", str(config)], cwd=tmp_path,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 120
        rows = 0
        while rows < 50 and time.monotonic() < deadline:
            time.sleep(0.5)
            for path in (tmp_path / "reports").glob("*/records.sqlite"):
                try:
                    rows = sqlite3.connect(path).execute("SELECT count(*) FROM invocations").fetchone()[0]
                except sqlite3.Error:
                    rows = 0
        assert rows >= 50, "the run never got going"
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=120)
    finally:
        process.kill()
    assert process.returncode == 130, output[-3000:]
    assert "interrupted: the report covers what was measured before the stop" in output
    (run_dir,) = (tmp_path / "reports").iterdir()
    results = json.loads((run_dir / "results.json").read_text())
    assert results["run"]["interrupted"] is True
    assert sum(v["invocations"] for v in results["variants"]) >= rows
    assert (run_dir / "report.html").is_file()
