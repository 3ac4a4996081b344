"""The Locust web UI as a new user meets it, in headless Chromium over the DevTools protocol.

`locust -f locustfiles/direct.py` in a folder with a bench.toml and no endpoint: the start form
starts the bundled emulator and deploys the variants, the Lambda tab fills with one row per
variant (cold starts and durations from the collector's histograms), Stop writes the run's
report and the tab links it, and a second start is a run of its own. With an endpoint where
nothing answers, the start is refused with one message, in the form and once in the console.

``LAMBENCH_WEBUI_SCREENSHOT=docs/webui.png`` makes the first test also save the tab's picture.
"""

from __future__ import annotations

import base64
import os
import re
import subprocess
import sys
from pathlib import Path

from test_report_browser import Browser, browser, chromium  # noqa: F401  (chromium: the fixture)
from webui_driver import LOCUSTFILE, LocustUI, free_port, wait_until, write_bench_toml

# The visible table (Locust draws one per tab) as {column title: cell text} per row.
TABLE = """(() => {
  const t = document.querySelector('table');
  if (!t) return null;
  const heads = [...t.querySelectorAll('thead th')].map(th => th.textContent);
  return [...t.querySelectorAll('tbody tr')].map(
    tr => Object.fromEntries([...tr.children].map((td, i) => [heads[i], td.textContent])));
})()"""
CLICK_TAB = """(title => {
  const tab = [...document.querySelectorAll('[role=tab]')].find(t => t.textContent.trim() === title);
  if (tab) tab.click();
  return !!tab;
})"""
CLICK_BUTTON = """(text => {
  const b = [...document.querySelectorAll('button')].find(b => b.textContent.trim() === text);
  if (b) b.click();
  return !!b;
})"""


def page_errors(b: Browser) -> list:
    """Uncaught exceptions on the page (ours would be the tab's script)."""
    return [e for e in b.events if e.get("method") == "Runtime.exceptionThrown"]


def filled(rows, variants: set[str]):
    """The rows once every variant has one with cold starts and a duration; else None."""
    if not rows or {r["Variant"] for r in rows} != variants:
        return None
    for row in rows:
        if not (row["Cold starts"].isdigit() and int(row["Cold starts"]) > 0):
            return None
        if not re.fullmatch(r"[\d,.]+", row["Duration p50 ms"]):
            return None
    return rows


def screenshot(b: Browser, path: Path) -> None:
    """The README's picture: once the first decision is in, the tab at a width that shows every column."""
    wait_until(lambda: "recommendation: not yet" not in b.evaluate("document.body.innerText"), "a decision")
    b.viewport(1720, 520)
    b.evaluate("document.documentElement.style.overflow = 'hidden'")
    data = b.call("Page.captureScreenshot", {"format": "png"}, session=True)["data"]
    path.write_bytes(base64.b64decode(data))


def finished(runs: list, count: int):
    return runs if len(runs) == count and all(r["state"] == "finished" for r in runs) else None


def test_the_web_ui_runs_the_bundled_emulator_and_shows_a_live_lambda_tab(chromium, tmp_path):  # noqa: F811
    write_bench_toml(tmp_path, (128, 512))
    ui = LocustUI(tmp_path, "-u", "2", "-r", "2")
    try:
        with browser(chromium, tmp_path / "profile") as b:
            b.open(ui.url, height=1000)
            wait_until(lambda: b.evaluate(f"{CLICK_BUTTON}('Start')"), "the start form", ui)
            wait_until(lambda: ui.get("stats/requests")["state"] == "running", "the test to run", ui)
            wait_until(lambda: b.evaluate(f"{CLICK_TAB}('Lambda')"), "the Lambda tab", ui)
            rows = wait_until(lambda: filled(b.evaluate(TABLE), {"mem-128", "mem-512"}), "filled rows", ui)
            assert {r["Path"] for r in rows} == {"direct"}
            assert all(r["Max Memory Used / MB"].endswith(f" / {r['Variant'][4:]}") for r in rows)
            assert all(float(r["$ per million"]) > 0 for r in rows)
            status = wait_until(lambda: b.evaluate("document.getElementById('lambench-status')?.innerText"), "status")
            first = ui.get("lambench/status")["running"]
            assert first and f"Run {first} · running" in status
            if os.environ.get("LAMBENCH_WEBUI_SCREENSHOT"):
                screenshot(b, Path(os.environ["LAMBENCH_WEBUI_SCREENSHOT"]))

            # Stop: the report is written and linked from the tab.
            assert b.evaluate(f"{CLICK_BUTTON}('Stop')")
            href = wait_until(lambda: b.evaluate("document.querySelector('a.lambench-report')?.href"), "link", ui)
            assert href.endswith(f"/lambench/runs/{first}/report.html")
            assert page_errors(b) == []
            b.open(href)
            assert b.evaluate("document.querySelectorAll('#variants tr[data-variant]').length") == 2
            assert "mem-512" in b.evaluate("document.body.innerText")

        # A second start is a run of its own: its own id, records and report.
        assert ui.post("swarm", {"user_count": 2, "spawn_rate": 2})["success"]
        second = wait_until(lambda: ui.get("lambench/status")["running"], "the second run", ui)
        assert second != first
        wait_until(lambda: sum(r["invocations"] for r in ui.extended("lambda")) > 0, "the second run's rows", ui)
        ui.post("stop")
        runs = wait_until(lambda: finished(ui.get("lambench/status")["runs"], 2), "both runs finished", ui)
        assert [r["run"] for r in runs] == [second, first]
        for run in (first, second):
            folder = tmp_path / "reports" / run
            assert (folder / "records.sqlite").is_file() and (folder / "report.html").is_file()
    finally:
        code = ui.stop()
    assert code in (0, 1), ui.output()[-3000:]
    assert "lambench: emulator at http://127.0.0.1:" in ui.output()
    assert subprocess.run(["pgrep", "-f", f"parent-pid {ui.process.pid}"], capture_output=True).stdout == b"", (
        "the bundled emulator stops when Locust quits"
    )


def test_an_endpoint_that_does_not_answer_refuses_the_start_with_one_message(chromium, tmp_path):  # noqa: F811
    dead = f"http://127.0.0.1:{free_port()}"
    ui = LocustUI(tmp_path, "-u", "3", "-r", "3", "--lambda-endpoint", dead)
    try:
        with browser(chromium, tmp_path / "profile") as b:
            b.open(ui.url)
            wait_until(lambda: b.evaluate(f"{CLICK_BUTTON}('Start')"), "the start form", ui)
            wanted = f"lambench: nothing answers at --lambda-endpoint {dead}"
            text = wait_until(lambda: wanted in (t := b.evaluate("document.body.innerText")) and t, "the message", ui)
            assert "leave --lambda-endpoint empty" in text
            assert page_errors(b) == []
        stats = ui.get("stats/requests")
        assert stats["state"] == "ready" and stats["user_count"] == 0, "the test did not start"
        assert stats["stats"][-1]["num_requests"] == 0
    finally:
        ui.stop()
    log = ui.output()
    assert log.count("nothing answers at") == 1, log[-3000:]
    assert log.count("EndpointConnectionError") == 1, "one message, not one per invoke"
    assert not (tmp_path / "reports").exists(), "no run was opened"


def test_headless_with_an_endpoint_that_does_not_answer_exits_with_one_line(tmp_path):
    dead = f"http://127.0.0.1:{free_port()}"
    command = [sys.executable, "-m", "locust", "-f", LOCUSTFILE, "--headless", "-u", "2", "-t", "10s"]
    result = subprocess.run(
        [*command, "--lambda-endpoint", dead], capture_output=True, text=True, timeout=120, cwd=tmp_path
    )
    assert result.returncode == 2, result.stderr[-3000:]
    assert result.stderr.count(f"lambench: error: nothing answers at --lambda-endpoint {dead}") == 1
    assert "invoke mem-" not in result.stderr and not (tmp_path / "reports").exists()
