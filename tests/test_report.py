"""Tests of bench.report: results.json, the HTML page (parsed and in headless Chromium), Markdown."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from datetime import UTC, datetime
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
from bench.report.terminal import summary_table

V1_FIXTURE = Path(__file__).parent / "fixtures" / "results" / "results-v1.json"
# Written by the version-2 code (commit a466339) from four_variants()'s records.
V2_FIXTURE = Path(__file__).parent / "fixtures" / "results" / "results-v2.json"

# billed ms per variant: GB-s per call 128x400=0.05, 512x60=0.03, 1024x40=0.04, 2048x25=0.05
BILLED = {128: 400, 512: 60, 1024: 40, 2048: 25}
RUN_INFO = {
    "run_id": "run-1",
    "target": "emulator",
    "endpoint": "http://127.0.0.1:9001",
    "function": "cpu-bound",
    "runtime_note": "python3.12 through awslambdaric",
    "cpu_mode": "cgroup v2 cpu.max",
    "started": datetime(2026, 11, 26, 20, 0, tzinfo=UTC),
    "finished": "2026-11-26T20:05:00+00:00",
    "load": {"users": 10, "spawn_rate": 5, "duration_s": 60},
}


def four_variants() -> RunSummary:
    records = []
    for memory, billed in BILLED.items():
        for i in range(30):
            cold = i < 2
            records.append(
                InvocationRecord(
                    run_id="run-1",
                    variant=f"mem-{memory}",
                    path="direct",
                    t_start_ns=i,
                    client_ms=billed + 5.0 + i % 7,
                    status="ok",
                    cold=cold,
                    init_ms=100.0 if cold else None,
                    duration_ms=billed - 0.5,
                    billed_ms=billed,
                    max_memory_mb=40 + i % 3,
                    memory_mb=memory,
                )
            )
    # mem-2048 never joined its REPORT lines for these: they add no billed data.
    records.append(
        InvocationRecord(
            run_id="run-1",
            variant="mem-2048",
            path="direct",
            t_start_ns=99,
            client_ms=3.0,
            status="throttled",
            error_type="ReservedFunctionConcurrentInvocationLimitExceeded",
        )
    )
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
    assert data["schema_version"] == SCHEMA_VERSION == 3
    assert data["confidence"] == 0.95
    assert data["cheapest_check"]["runner_up"] == "mem-1024"
    assert data["cheapest_check"]["separated"] is True
    v512 = data["variants"][1]
    assert v512["client_ms"]["p50_ci"]["method"] == "order statistics (binomial, distribution-free)"
    assert v512["client_ms"]["p95_ci"]["lo"] is None  # 30 samples: p95 needs 72
    assert v512["client_ms"]["p95_ci"]["reason"] == "a 95% interval of p95 needs n >= 72; n = 30"
    assert v512["cold_rate"]["value"] == pytest.approx(2 / 30)
    assert v512["cold_rate"]["ci"]["method"] == "Wilson score"
    assert v512["client_ms_cold"]["n"] == 2 and v512["client_ms_warm"]["n"] == 28
    assert len(data["variants"]) == 4
    assert [v["variant"] for v in data["variants"]] == ["mem-128", "mem-512", "mem-1024", "mem-2048"]
    assert data["cheapest"] == "mem-512"
    assert data["run"]["started"] == "2026-11-26T20:00:00+00:00"
    assert data["run"]["load"] == RUN_INFO["load"]
    assert data["variants"][3]["errors_by_status"]["throttled"] == 1
    assert not list(tmp_path.glob("out/*.tmp"))

    assert [c["variant"] for c in data["concurrency"]] == ["mem-1024", "mem-128", "mem-2048", "mem-512"]
    results = read_results_json(path)
    assert results.schema_version == 3
    assert results.summary == summary
    assert results.run["function"] == "cpu-bound"


def test_results_json_writes_null_for_missing_figures(tmp_path):
    summary = summarize(
        [InvocationRecord(run_id="r", variant="mem-128", path="direct", t_start_ns=0, client_ms=1.0, status="ok")],
        architecture="arm64",
    )
    path = write_results_json(summary, {}, tmp_path / "results.json")
    variant = json.loads(path.read_text())["variants"][0]
    assert variant["cost_per_million_usd"] is None
    assert variant["duration_ms"] == {
        "n": 0,
        "p50": None,
        "p95": None,
        "p99": None,
        "p50_ci": None,
        "p95_ci": None,
        "p99_ci": None,
    }
    assert variant["billed_ms_mean"] == {"n": 0, "value": None, "ci": None}
    assert variant["cold_rate"] == {"n": 0, "value": None, "ci": None}
    assert variant["cost_per_million_ci"] is None
    assert "NaN" not in path.read_text()


def test_read_refuses_an_unknown_schema_version(tmp_path):
    path = tmp_path / "results.json"
    path.write_text(json.dumps({"schema_version": 4, "run": {}, "variants": []}))
    with pytest.raises(ValueError, match="schema_version 4: this lambench reads 1, 2, 3"):
        read_results_json(path)
    path.write_text(json.dumps({"schema_version": 2, "run": {}, "variants": []}))
    with pytest.raises(ValueError, match="not a readable results.json"):
        read_results_json(path)


def test_reads_a_version_1_file():
    # Written by lambench before intervals (a real run: 4 variants, 890 calls each).
    results = read_results_json(V1_FIXTURE)
    assert results.schema_version == 1
    summary = results.summary
    assert summary.cheapest == "mem-128" and summary.cheapest_check is None
    v = summary.variants[0]
    assert (v.variant, v.invocations, v.cold_starts, v.cold_known) == ("mem-128", 890, 8, 890)
    assert v.client_ms.p95 == pytest.approx(356.101879300013)
    assert v.cost_per_million_usd == pytest.approx(0.8373959377106741)
    # What version 1 did not record reads as None, never as zero.
    assert v.client_ms.p95_ci is None and v.billed_ms_mean.ci is None
    assert v.cold_rate is None and v.client_ms_warm is None and v.provisioned_served is None
    assert v.warnings == ()
    # ... and every output still renders it.
    rows = [line for line in render_markdown(summary).splitlines() if line.startswith("| ") and "mem-" in line]
    assert len(rows) == 4
    assert len(Dom(render_html_text(summary, results.run)).rows) == 4
    assert "no interval recorded" in render_html_text(summary, results.run)


def test_reads_a_version_2_file():
    results = read_results_json(V2_FIXTURE)
    assert results.schema_version == 2
    summary = results.summary
    assert summary.cheapest == "mem-512" and summary.cheapest_check.separated
    assert summary.concurrency == (), "version 2 recorded no concurrency"
    # Version 2's percentiles were numpy's linear interpolation; they read back as written.
    v = summary.variants[1]
    assert v.client_ms.n == 30 and v.client_ms.p50_ci.known
    assert len(Dom(render_html_text(summary, results.run)).rows) == 4


# ---- HTML, parsed ----


def test_html_table_rows_and_cheapest(tmp_path):
    path = render_html(four_variants(), RUN_INFO, tmp_path / "report.html")
    dom = Dom(path.read_text())
    assert [r["attrs"]["data-variant"] for r in dom.rows] == [
        "mem-128",
        "mem-512",
        "mem-1024",
        "mem-2048",
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
    summary = summarize(
        [InvocationRecord(run_id="r", variant="mem-128", path="direct", t_start_ns=0, client_ms=1.0, status="ok")],
        architecture="x86_64",
    )
    (row,) = Dom(render_html_text(summary, RUN_INFO)).rows
    assert row["text"].count("\u2014") >= 8


# ---- charts and Markdown ----


@pytest.mark.parametrize("largest, top", [(0, 1.0), (3.7, 4.0), (292, 400), (0.66, 0.8), (1.42, 2.0)])
def test_nice_top(largest, top):
    assert nice_top(largest) == pytest.approx(top)


def test_bar_chart_marks_missing_values():
    svg = bar_chart(
        title="t", labels=["a", "b"], series=[Series("cost", [1.0, None])], axis_label="USD", fmt=str, highlight=0
    )
    assert svg.count("<rect") == 1 and "no data" in svg and 'class="highlight"' in svg


def test_markdown_table():
    text = render_markdown(four_variants())
    lines = text.strip().splitlines()
    table = [line for line in lines if line.startswith("|")]
    assert len(table) == 2 + 4
    assert "**mem-512** (cheapest)" in table[3]
    assert "Cheapest: mem-512 (512 MB, x86_64)" in lines[0]
    # 512 MB x 60 ms = 0.03 GB-s: 0.5000 + 0.20 requests; billed ms is constant, so the
    # cost's interval has no width.
    assert "0.7000 [0.7000\u20130.7000] USD per million" in lines[0]
    assert "| 6.7% [1.8%\u201321%] |" in table[3]  # 2 cold of 30, Wilson
    assert "no interval" in table[3]  # p95 and p99 of 30 samples
    assert "| 71.0 (no interval) |" in table[3]
    assert lines[-1].startswith("- mem-512 is cheaper than the next cheapest, mem-1024")


def test_markdown_warns_when_the_cheapest_is_not_separated():
    text = render_markdown(overlapping_costs())
    assert "The data cannot tell it from mem-1024; see the checks." in text.splitlines()[0]
    assert "- Warning: the data cannot separate mem-512 (cheapest) from mem-1024" in text


# ---- HTML in a real browser ----

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
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
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
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
        InvocationRecord(
            run_id="r", variant=name, path=path, t_start_ns=0, client_ms=5.0, status="ok", billed_ms=5, memory_mb=memory
        )
        for name, memory in (("mem-256", 256), ("blue", None))
        for path in ("direct", "apigw-http")
    ]
    summary = summarize(records, architecture="x86_64")
    dom = Dom(render_html_text(summary, RUN_INFO))
    assert [(r["attrs"]["data-variant"], r["attrs"]["data-path"]) for r in dom.rows] == [
        ("mem-256", "direct"),
        ("mem-256", "apigw-http"),
        ("blue", "direct"),
        ("blue", "apigw-http"),
    ]
    assert [len(r["badges"]) for r in dom.rows] == [1, 1, 0, 0]  # both paths of the cheapest
    assert "apigw-http" in dom.rows[1]["text"]


# ---- intervals, checks and the terminal table ----


def overlapping_costs() -> RunSummary:
    """Two variants with the same per-call GB-s (0.020..0.040 at either size): a tie."""
    records = [
        InvocationRecord(
            run_id="r",
            variant=f"mem-{memory}",
            path="direct",
            t_start_ns=i,
            client_ms=50.0 + i,
            status="ok",
            cold=i == 0,
            init_ms=100.0 if i == 0 else None,
            duration_ms=float(billed),
            billed_ms=billed,
            memory_mb=memory,
        )
        for memory, scale in ((512, 2), (1024, 1))
        for i, billed in enumerate(scale * (20 + j) for j in range(21))
    ]
    return summarize(records, architecture="x86_64")


def many_calls() -> RunSummary:
    """400 calls, enough for every percentile's interval, with cold starts among them."""
    records = [
        InvocationRecord(
            run_id="r",
            variant="mem-512",
            path="direct",
            t_start_ns=i,
            client_ms=100.0 + (i * 37) % 50 + (300.0 if i % 50 == 0 else 0.0),
            status="ok",
            cold=i % 50 == 0,
            init_ms=250.0 if i % 50 == 0 else None,
            duration_ms=90.0 + i % 7,
            billed_ms=91 + i % 7 + (250 if i % 50 == 0 else 0),
            memory_mb=512,
        )
        for i in range(400)
    ]
    return summarize(records, architecture="x86_64")


def test_html_shows_intervals_beside_figures():
    summary = many_calls()
    v = summary.variants[0]
    dom = Dom(render_html_text(summary, RUN_INFO))
    (row,) = dom.rows
    p95 = v.client_ms.p95_ci
    assert f"{v.client_ms.p95:,.1f}[{p95.lo:,.1f}\u2013{p95.hi:,.1f}]" in row["text"]
    assert "82.0%" in row["text"]  # 8 cold starts of 400: 2.0% (its interval is in the cold/warm table)
    assert "no interval" not in row["text"]


def test_html_explains_missing_intervals():
    text = render_html_text(four_variants(), RUN_INFO)
    assert 'title="no interval: a 95% interval of p95 needs n &gt;= 72; n = 30"' in text
    assert "needs n &ge; 6 (p50), 72 (p95) or 368 (p99)" in text


def test_html_warm_and_cold_table():
    text = render_html_text(many_calls(), RUN_INFO)
    assert '<table id="coldwarm">' in text
    start = text.index('<table id="coldwarm">')
    section = text[start : text.index("</table>", start)]
    assert '2.0%<span class="ci">[1.0%\u20133.9%]</span>' in section  # 8 cold of 400, Wilson
    assert '<td class="n">392</td>' in section and '<td class="n">8</td>' in section


def test_html_checks_separated_and_not():
    separated = render_html_text(four_variants(), RUN_INFO)
    assert 'class="ok" id="cheapest-check">mem-512 is cheaper than the next cheapest, mem-1024' in separated
    tie = render_html_text(overlapping_costs(), RUN_INFO)
    assert (
        'class="warn" id="cheapest-check"><strong>WARNING:</strong> the data cannot separate '
        "mem-512 (cheapest) from mem-1024"
    ) in tie


def test_html_lists_unstable_variants():
    text = render_html_text(overlapping_costs(), RUN_INFO)
    assert "<strong>WARNING:</strong> mem-512, warm duration: the result may be unstable" in text


def render_terminal(summary: RunSummary) -> list[str]:
    from rich.console import Console

    with open(os.devnull, "w") as devnull:
        console = Console(width=80, record=True, file=devnull)
        console.print(summary_table(summary))
        return console.export_text().splitlines()


@pytest.mark.parametrize(
    "make", [four_variants, overlapping_costs, many_calls, lambda: read_results_json(V1_FIXTURE).summary]
)
def test_terminal_table_fits_80_columns(make):
    lines = render_terminal(make())
    assert max(len(line.rstrip()) for line in lines) <= 80
    assert any("USD/1M" in line for line in lines)


def test_terminal_table_marks_thin_percentiles_and_warnings():
    lines = render_terminal(overlapping_costs())
    row = next(line for line in lines if line.lstrip().startswith("512"))
    assert "~" in row  # p95 of 21 calls has no interval
    assert "*" in row
    assert any("WARNING: the data cannot tell mem-512 from mem-1024" in line for line in lines)
