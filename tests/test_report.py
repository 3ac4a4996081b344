"""Tests of bench.report: results.json, the HTML page (parsed and in headless Chromium), Markdown."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from datetime import datetime, timezone
from html.parser import HTMLParser
from pathlib import Path

import pytest

from bench.analysis import RunSummary, summarize
from bench.records import InvocationRecord
from bench.report import (
    SCHEMA_VERSION,
    read_results_json,
    render_html,
    render_html_text,
    render_markdown,
    write_results_json,
)
from bench.report.charts import Series, bar_chart, nice_top

# billed ms per variant: GB-s per call 128x400=0.05, 512x60=0.03, 1024x40=0.04, 2048x25=0.05
BILLED = {128: 400, 512: 60, 1024: 40, 2048: 25}
RUN_INFO = {
    "run_id": "run-1",
    "target": "emulator",
    "endpoint": "http://127.0.0.1:9001",
    "function": "cpu-bound",
    "runtime_note": "python3.12 through awslambdaric",
    "cpu_mode": "cgroup v2 cpu.max",
    "started": datetime(2026, 11, 26, 20, 0, tzinfo=timezone.utc),
    "finished": "2026-11-26T20:05:00+00:00",
    "load": {"users": 10, "spawn_rate": 5, "duration_s": 60},
}


def four_variants() -> RunSummary:
    records = []
    for memory, billed in BILLED.items():
        for i in range(30):
            cold = i < 2
            records.append(InvocationRecord(
                run_id="run-1", variant=f"mem-{memory}", path="direct", t_start_ns=i,
                client_ms=billed + 5.0 + i % 7, status="ok", cold=cold,
                init_ms=100.0 if cold else None, duration_ms=billed - 0.5, billed_ms=billed,
                max_memory_mb=40 + i % 3, memory_mb=memory,
            ))
    # mem-2048 never joined its REPORT lines for these: they add no billed data.
    records.append(InvocationRecord(run_id="run-1", variant="mem-2048", path="direct",
                                    t_start_ns=99, client_ms=3.0, status="throttled",
                                    error_type="ReservedFunctionConcurrentInvocationLimitExceeded"))
    return summarize(records, architecture="x86_64")


class Dom(HTMLParser):
    """Just enough of a DOM: every start tag with its attributes, in order, and text by tag."""

    def __init__(self, text: str):
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.stack: list[tuple[str, dict]] = []
        self.rows: list[dict] = []  # rows of table#variants' tbody, with their badge texts
        self._in_table = self._in_body = False
        self._badge = False
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append((tag, attrs))
        if tag == "table" and attrs.get("id") == "variants":
            self._in_table = True
        elif self._in_table and tag == "tbody":
            self._in_body = True
        elif self._in_body and tag == "tr":
            self.rows.append({"attrs": attrs, "badges": [], "text": ""})
        elif self.rows and self._in_body and tag == "span" and "badge" in (attrs.get("class") or ""):
            self._badge = True

    def handle_endtag(self, tag):
        if tag == "table":
            self._in_table = self._in_body = False
        elif tag == "span":
            self._badge = False

    def handle_data(self, data):
        if self._in_body and self.rows:
            self.rows[-1]["text"] += data
            if self._badge:
                self.rows[-1]["badges"].append(data.strip())


# ---- results.json ----

def test_results_json_round_trip(tmp_path):
    summary = four_variants()
    path = write_results_json(summary, RUN_INFO, tmp_path / "out" / "results.json")
    data = json.loads(path.read_text())
    assert data["schema_version"] == SCHEMA_VERSION == 1
    assert len(data["variants"]) == 4
    assert [v["variant"] for v in data["variants"]] == ["mem-128", "mem-512", "mem-1024", "mem-2048"]
    assert data["cheapest"] == "mem-512"
    assert data["run"]["started"] == "2026-11-26T20:00:00+00:00"
    assert data["run"]["load"] == RUN_INFO["load"]
    assert data["variants"][3]["errors_by_status"]["throttled"] == 1
    assert not list(tmp_path.glob("out/*.tmp"))

    results = read_results_json(path)
    assert results.schema_version == 1
    assert results.summary == summary
    assert results.run["function"] == "cpu-bound"


def test_results_json_writes_null_for_missing_figures(tmp_path):
    summary = summarize([InvocationRecord(run_id="r", variant="mem-128", path="direct",
                                          t_start_ns=0, client_ms=1.0, status="ok")],
                        architecture="arm64")
    path = write_results_json(summary, {}, tmp_path / "results.json")
    variant = json.loads(path.read_text())["variants"][0]
    assert variant["cost_per_million_usd"] is None
    assert variant["duration_ms"] == {"n": 0, "p50": None, "p95": None, "p99": None}
    assert "NaN" not in path.read_text()


def test_read_refuses_an_unknown_schema_version(tmp_path):
    path = tmp_path / "results.json"
    path.write_text(json.dumps({"schema_version": 2, "run": {}, "variants": []}))
    with pytest.raises(ValueError, match="schema_version 2"):
        read_results_json(path)


# ---- HTML, parsed ----

def test_html_table_rows_and_cheapest(tmp_path):
    path = render_html(four_variants(), RUN_INFO, tmp_path / "report.html")
    dom = Dom(path.read_text())
    assert [r["attrs"]["data-variant"] for r in dom.rows] == [
        "mem-128", "mem-512", "mem-1024", "mem-2048",
    ]
    marked = [r for r in dom.rows if "cheapest" in (r["attrs"].get("class") or "")]
    assert [r["attrs"]["data-variant"] for r in marked] == ["mem-512"]
    assert marked[0]["badges"] == ["cheapest"]
    assert sum(len(r["badges"]) for r in dom.rows) == 1


def test_html_shows_run_facts_and_escapes_them():
    info = {**RUN_INFO, "function": "<script>alert(1)</script>"}
    text = render_html_text(four_variants(), info)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    for fact in ("emulator", "cgroup v2 cpu.max", "users=10, spawn_rate=5, duration_s=60"):
        assert fact in text


def test_html_says_not_recorded_for_missing_required_facts():
    text = render_html_text(four_variants(), {})
    assert text.count("not recorded") == 4  # target, function, cpu mode, load


def test_html_is_self_contained():
    text = render_html_text(four_variants(), RUN_INFO)
    dom = Dom(text)
    tags = {tag for tag, _ in dom.tags}
    assert not tags & {"script", "link", "img", "iframe", "object", "embed"}
    assert not [a for _, attrs in dom.tags for a in ("src", "href") if a in attrs]
    assert "@import" not in text and "url(" not in text
    assert sum(tag == "svg" for tag, _ in dom.tags) == 2


def test_html_shows_no_data_as_a_dash_not_zero():
    dom = Dom(render_html_text(four_variants(), RUN_INFO))
    # mem-2048's throttled call has no REPORT line, but its other 30 calls do.
    assert "\u2014" not in dom.rows[3]["text"]
    summary = summarize([InvocationRecord(run_id="r", variant="mem-128", path="direct",
                                          t_start_ns=0, client_ms=1.0, status="ok")],
                        architecture="x86_64")
    (row,) = Dom(render_html_text(summary, RUN_INFO)).rows
    assert row["text"].count("\u2014") >= 8


# ---- charts and Markdown ----

@pytest.mark.parametrize("largest, top", [(0, 1.0), (3.7, 4.0), (292, 400), (0.66, 0.8), (1.42, 2.0)])
def test_nice_top(largest, top):
    assert nice_top(largest) == pytest.approx(top)


def test_bar_chart_marks_missing_values():
    svg = bar_chart(title="t", labels=["a", "b"], series=[Series("cost", [1.0, None])],
                    axis_label="USD", fmt=str, highlight=0)
    assert svg.count("<rect") == 1 and "no data" in svg and 'class="highlight"' in svg


def test_markdown_table():
    text = render_markdown(four_variants())
    lines = text.strip().splitlines()
    table = [line for line in lines if line.startswith("|")]
    assert len(table) == 2 + 4
    assert "**mem-512** (cheapest)" in table[3]
    assert "Cheapest: mem-512 (512 MB, x86_64)" in lines[0]


# ---- HTML in a real browser ----

CHROMIUM_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--window-size=1280,1000",
)
# Injected into a copy of the report (the report itself has no scripts): the browser's own
# layout decides whether the badge is visible, and --dump-dom carries the verdict out.
VISIBILITY_PROBE = """<script>
const b = document.querySelector('#variants tbody tr.cheapest .badge');
let ok = false;
if (b) {
  const r = b.getBoundingClientRect(), s = getComputedStyle(b);
  ok = r.width > 0 && r.height > 0 && r.top < innerHeight && r.left < innerWidth
       && s.display !== 'none' && s.visibility === 'visible' && parseFloat(s.opacity) > 0
       && b.checkVisibility({opacityProperty: true, visibilityProperty: true});
}
document.body.setAttribute('data-badge-visible', String(ok));
</script>"""


@pytest.fixture
def chromium() -> str:
    path = shutil.which("chromium") or shutil.which("/usr/bin/chromium")
    if path:
        return path
    reason = "chromium is not installed (Debian: apt-get install -y chromium)"
    if os.environ.get("CI"):
        pytest.fail(f"{reason}; CI must install it")
    pytest.skip(reason)


def run_chromium(chromium: str, tmp_path: Path, *args: str) -> str:
    # The timeout only stops a hung browser; nothing here measures time.
    done = subprocess.run(
        [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}", *args],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_report_in_headless_chromium(chromium, tmp_path):
    report = render_html(four_variants(), RUN_INFO, tmp_path / "report.html")
    probe = tmp_path / "probe.html"
    probe.write_text(report.read_text().replace("</body>", VISIBILITY_PROBE + "</body>"))

    dom = Dom(run_chromium(chromium, tmp_path, "--dump-dom", probe.as_uri()))
    assert len(dom.rows) == 4
    cheapest = [r for r in dom.rows if "cheapest" in (r["attrs"].get("class") or "")]
    assert [r["attrs"]["data-variant"] for r in cheapest] == ["mem-512"]
    assert cheapest[0]["badges"] == ["cheapest"]
    body = next(attrs for tag, attrs in dom.tags if tag == "body")
    assert body.get("data-badge-visible") == "true"

    png = tmp_path / "report.png"
    run_chromium(chromium, tmp_path, f"--screenshot={png}", report.as_uri())
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_html_with_two_paths_and_unknown_memory():
    records = [
        InvocationRecord(run_id="r", variant=name, path=path, t_start_ns=0, client_ms=5.0,
                         status="ok", billed_ms=5, memory_mb=memory)
        for name, memory in (("mem-256", 256), ("blue", None))
        for path in ("direct", "apigw-http")
    ]
    summary = summarize(records, architecture="x86_64")
    dom = Dom(render_html_text(summary, RUN_INFO))
    assert [(r["attrs"]["data-variant"], r["attrs"]["data-path"]) for r in dom.rows] == [
        ("mem-256", "direct"), ("mem-256", "apigw-http"), ("blue", "direct"), ("blue", "apigw-http"),
    ]
    assert [len(r["badges"]) for r in dom.rows] == [1, 1, 0, 0]  # both paths of the cheapest
    assert "apigw-http" in dom.rows[1]["text"]
