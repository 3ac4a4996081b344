"""`lambench run` end to end on the bundled emulator: four variants, and outputs that agree."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

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


def run_folders(reports: Path) -> list[Path]:
    """The run folders under reports/, without the reports/latest link to the last one."""
    return [p for p in reports.iterdir() if p.is_dir() and not p.is_symlink()]


def lambench_run(folder: Path, config_text: str) -> subprocess.CompletedProcess:
    """`lambench run -c bench.toml` in ``folder``, as a user runs it (a wide terminal for the table)."""
    config = folder / "bench.toml"
    config.write_text(config_text)
    command = [sys.executable, "-m", "bench", "run", "-c", str(config)]
    env = {**os.environ, "COLUMNS": "160"}
    return subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=folder, env=env)


def test_run_writes_report_results_and_records_for_four_variants(tmp_path):
    result = lambench_run(tmp_path, CONFIG.format(source=REPO / "targets" / "cpu_bound", reports=tmp_path / "reports"))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    last = result.stdout.strip().splitlines()[-1]
    assert last.startswith("report: ")
    report = Path(last.removeprefix("report: "))
    assert report.is_file() and report.name == "report.html"
    run_dir = report.parent
    assert (run_dir / "records.sqlite").is_file()
    assert (tmp_path / "reports" / "latest").resolve() == run_dir.resolve()
    # No terminal (captured, as in CI): progress is plain lines, the last at the end, no redraws.
    assert "\r" not in result.stdout and "\x1b[" not in result.stdout
    (last_progress,) = [line for line in result.stdout.splitlines() if line.startswith("load 8s/8s: ")]
    assert "cold starts; p95 mem-128 " in last_progress
    results = json.loads((run_dir / "results.json").read_text())
    assert results["schema_version"] == 3
    # auto picks quota (root with a cgroup cpu controller) or dilation: a run always says which.
    assert results["run"]["cpu_mode"] in ("quota", "dilation")
    assert results["run"]["cpu_mode"] in report.read_text()
    assert "ran on the local interpreter" in results["run"]["runtime_note"]
    variants = {v["variant"]: v for v in results["variants"]}
    assert set(variants) == {"mem-128", "mem-512", "mem-1024", "mem-1769"}
    for v in variants.values():
        assert v["cold_starts"] >= 1
        assert v["cost_per_million_usd"] > 0
        assert v["errors"] == 0
    assert results["cheapest"] in variants
    # The decision, for bench.toml's (default) traffic: a feasible size, and a PC count with its reason.
    recommendation = results["recommendation"]
    assert recommendation["memory"]["variant"] in variants and recommendation["infeasible"] == []
    assert (
        recommendation["provisioned_concurrency"]["count"] >= 0 and recommendation["provisioned_concurrency"]["reason"]
    )
    assert (run_dir / "summary.md").is_file() and (run_dir / "variants.csv").is_file()
    # The terminal table stars the cheapest variant's row, and only that row.
    rows = [line.split() for line in result.stdout.splitlines() if line.split() and line.split()[0].isdigit()]
    # A row's marks follow its memory size: * cheapest on its path, R recommended, x infeasible.
    starred = [row[0] for row in rows if not row[1].isdigit() and "*" in row[1]]
    assert starred == [str(variants[results["cheapest"]]["memory_mb"])], result.stdout


@pytest.mark.parametrize("stop", ["SIGINT", "SIGTERM"])  # Ctrl-C, and what a CI timeout sends first
def test_an_interrupted_run_keeps_what_it_measured_and_still_reports(tmp_path, stop):
    import signal
    import sqlite3
    import time

    config = tmp_path / "bench.toml"
    config.write_text(
        CONFIG.format(source=REPO / "targets" / "cpu_bound", reports=tmp_path / "reports")
        .replace("run_time_s = 8", "run_time_s = 600")
        .replace("n = 20000", "n = 2000")
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "bench", "run", "-c", str(config)],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
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
        process.send_signal(getattr(signal, stop))
        output, _ = process.communicate(timeout=120)
    finally:
        process.kill()
    assert process.returncode == 130, output[-3000:]
    assert "interrupted: the report covers what was measured before the stop" in output
    (run_dir,) = run_folders(tmp_path / "reports")
    results = json.loads((run_dir / "results.json").read_text())
    assert results["run"]["interrupted"] is True
    assert sum(v["invocations"] for v in results["variants"]) >= rows
    assert (run_dir / "report.html").is_file()


AGREEMENT_CONFIG = """
[function]
name = "lambench-agree"
source = "{source}"
handler = "app.handler"
[variants]
memory_mb = [128, 512]
[load]
users = 6
spawn_rate = 6
run_time_s = 6
paths = ["direct", "apigw-http", "apigw-rest"]
route = "/x?mode=echo"
[report]
dir = "{reports}"
"""


class VariantCells(HTMLParser):
    """The text of each cell of table#variants and table#report-lines, by (data-variant, data-path)
    and the cell's data-col (the figure it holds)."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.rows: dict[tuple[str, str], dict[str, str]] = {}
        self._row: dict[str, str] | None = None
        self._col: str | None = None
        self._in_table = False
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table":
            self._in_table = attrs.get("id") in ("variants", "report-lines")
        elif self._in_table and tag == "tr" and "data-variant" in attrs:
            self._row = self.rows.setdefault((attrs["data-variant"], attrs["data-path"]), {})
        elif self._row is not None and tag == "td":
            self._col = attrs.get("data-col")
            self._row[self._col] = ""

    def handle_endtag(self, tag):
        if tag in ("tr", "table"):
            self._row = None
        elif tag == "td":
            self._col = None

    def handle_data(self, data):
        if self._row is not None and self._col is not None:
            self._row[self._col] += data


def test_results_summary_and_report_agree_on_every_shared_figure(tmp_path):
    from bench.report.formatting import fmt_int, fmt_ms, fmt_usd

    source = REPO / "tests" / "functions" / "apigw_echo"
    result = lambench_run(tmp_path, AGREEMENT_CONFIG.format(source=source, reports=tmp_path / "reports"))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    (run_dir,) = run_folders(tmp_path / "reports")
    results = json.loads((run_dir / "results.json").read_text())
    summary = json.loads((run_dir / "summary.json").read_text())
    cells = VariantCells((run_dir / "report.html").read_text()).rows
    keys = {(k["variant"], k["path"], k["cold"]): k for k in summary["keys"]}
    assert {v["path"] for v in results["variants"]} == {"direct", "apigw-http", "apigw-rest"}
    assert summary["records"] == sum(v["invocations"] for v in results["variants"]) > 0
    for v in results["variants"]:
        name, path = v["variant"], v["path"]
        mine = {cold: keys.get((name, path, cold)) for cold in ("cold", "warm", "unknown")}
        # Counts: one source, whatever file says them.
        assert v["invocations"] == sum(k["records"] for k in mine.values() if k)
        assert v["cold_starts"] == (mine["cold"] or {}).get("records", 0), (name, path)
        assert v["ok"] == sum(k["statuses"]["ok"] for k in mine.values() if k)
        # The log join filled in the gateway paths before any figure was made: nothing unknown.
        assert mine["unknown"] is None, f"{name} {path}: {mine['unknown']}"
        # Warm and cold percentiles: the same numbers in results.json and summary.json.
        for cold in ("warm", "cold"):
            key = mine[cold]
            for metric in ("client_ms", "duration_ms"):
                figures = v[f"{metric}_{cold}"]
                if key is None or metric not in key["metrics"]:
                    assert figures["n"] == 0
                    continue
                assert figures["n"] == key["metrics"][metric]["count"]
                assert (figures["p50"], figures["p95"], figures["p99"]) == tuple(
                    key["metrics"][metric][p] for p in ("p50", "p95", "p99")
                ), (name, path, cold, metric)
        # The report shows results.json's figures, as formatted.
        row = cells[(name, path)]
        assert row["invocations"].strip() == fmt_int(v["invocations"])
        assert row["client-p50"].startswith(fmt_ms(v["client_ms"]["p50"]))
        assert row["client-p95"].startswith(fmt_ms(v["client_ms"]["p95"]))
        assert row["duration-p50"].startswith(fmt_ms(v["duration_ms"]["p50"]))
        assert row["billed-mean"].startswith(fmt_ms(v["billed_ms_mean"]["value"]))
        assert row["cost"].startswith(fmt_usd(v["cost_per_million_usd"]))
    concurrency = {(c["variant"], c["path"]) for c in results["concurrency"]}
    assert concurrency == {(v["variant"], v["path"]) for v in results["variants"]}
    assert results["concurrency"] == summary["concurrency"]
