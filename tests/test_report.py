"""Tests of bench.report: results.json, the HTML page (parsed), Markdown, CSV, charts and cost parts.

The page in a real browser is tests/test_report_browser.py; the terminal table is
tests/test_terminal_table.py. The run and recommendation built here are theirs too.
"""

from __future__ import annotations

import csv
import html
import json
import random
import re
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path

import pytest

from bench.analysis import RunSummary, summarize
from bench.analysis.cost import cost_per_million
from bench.decide.model import (
    Candidate,
    Infeasible,
    MemoryPick,
    ProvisionedOption,
    ProvisionedPick,
    Recommendation,
)
from bench.records import PATHS, InvocationRecord
from bench.report import (
    SCHEMA_VERSION,
    read_results_json,
    render_html,
    render_html_text,
    render_markdown,
    write_results_json,
    write_variants_csv,
)
from bench.report.charts import Component, Stack, nice_top, stacked_bars
from bench.report.components import provisioned_usd_per_million, split_at_cold_share, split_measured
from bench.report.formatting import fmt_money, fmt_ms_short, fmt_share

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


# ---- a run of four sizes through three paths (12 rows), and a recommendation for it ----

T0 = 1_795_000_000 * 1_000_000_000
# A cpu-bound function: duration falls with memory until one vCPU (1769 MB).
BODY_MS = {128: 300.0, 512: 66.0, 1024: 40.0, 1769: 37.0}
GATEWAY_MS = {"direct": 3.0, "apigw-http": 9.0, "apigw-rest": 14.0}
CALLS = 400  # per row: enough for every percentile's interval (p99 needs 368)
RUN_INFO_12 = {
    "run_id": "20261201-101500",
    "target": "local emulator (bundled)",
    "cpu_mode": "quota",
    "function": "lambench-cpu-bound",
    "runtime_note": "python3.12 ran on the local interpreter, CPython 3.11.7",
    "architecture": "x86_64",
    "started": "2026-12-01T10:15:00+00:00",
    "finished": "2026-12-01T10:16:05+00:00",
    "load": {"users": 6, "spawn_rate": 6, "run_time_s": 60, "paths": list(PATHS)},
    "host": {"machine": "x86_64", "python": "3.11.7"},
}


def twelve_rows(*, slow: float = 1.0) -> RunSummary:
    """Four sizes through three paths, 400 calls a row over 60 s, cold starts 2%; 128 MB runs out
    of memory on 5% of its calls. ``slow`` scales every duration (10: a function taking seconds)."""
    rng = random.Random(8)
    records = []
    for memory, body in BODY_MS.items():
        for path in PATHS:
            for i in range(CALLS):
                cold = i % 50 == 7
                duration = body * slow * rng.lognormvariate(0, 0.18)
                init = 240.0 * rng.lognormvariate(0, 0.1) if cold else None
                start = T0 + int(i * 60e9 / CALLS) + rng.randrange(0, 100_000_000)
                common = {"run_id": "run-12", "variant": f"mem-{memory}", "path": path, "t_start_ns": start,
                          "duration_ms": duration, "memory_mb": memory}  # fmt: skip
                if memory == 128 and i % 20 == 3:
                    records.append(InvocationRecord(
                        **common, client_ms=duration, status="function_error", error_type="Runtime.OutOfMemory",
                        cold=False, billed_ms=int(duration) + 1, max_memory_mb=128,
                    ))  # fmt: skip
                    continue
                records.append(InvocationRecord(
                    **common, client_ms=duration + (init or 0.0) + GATEWAY_MS[path] * rng.lognormvariate(0, 0.3),
                    status="ok", cold=cold, init_ms=init, billed_ms=int(duration + (init or 0.0)) + 1,
                    max_memory_mb=min(memory, 61 + i % 5),
                ))  # fmt: skip
    return summarize(records, architecture="x86_64")


REQUESTS = 50_000_000
TRAFFIC = {"requests_per_month": REQUESTS, "peak_rps": 60.0, "peak_hours_per_day": 8.0, "path": "apigw-http",
           "bursts_per_day": 4, "burst_rps": 200.0, "burst_s": 120.0, "trace": None}  # fmt: skip
DECISION = {"strategy": "slo", "balanced_weight": 0.5, "slo_percentile": 95, "slo_ms": 80.0,
            "cold_start_budget": 0.01, "max_error_rate": 0.01, "idle_timeout_s": 380.0}  # fmt: skip
COLD_SHARE = {512: 0.031, 1024: 0.029, 1769: 0.028}
PC_CURVE = ((0, 0.029), (1, 0.02), (2, 0.012), (3, 0.004), (4, 0.0011), (5, 0.0002), (6, 0.0), (8, 0.0))


def full_recommendation(summary: RunSummary) -> Recommendation:
    """What the decision stage would say for twelve_rows(), made by hand: 1024 MB (slo), PC 3 always
    on, 128 MB infeasible. Candidates are priced from the summary as the decision prices them (warm
    and cold billed means mixed at the predicted cold share), so the tables can be checked."""
    rows = {v.variant: v for v in summary.variants if v.path == TRAFFIC["path"]}
    candidates = []
    for memory, share in COLD_SHARE.items():
        v = rows[f"mem-{memory}"]
        billed = (1 - share) * v.billed_ms_warm.value + share * v.billed_ms_cold.value
        per_call = cost_per_million(billed, memory, "x86_64", TRAFFIC["path"]) / 1e6
        candidates.append(Candidate(
            variant=v.variant, memory_mb=memory, usd_per_invocation=per_call, monthly_usd=per_call * REQUESTS,
            predicted_cold_share=share, duration_ms=v.duration_ms.p50, latency_ms=v.client_ms.p95,
            latency_upper_ms=v.client_ms.p95_ci.hi,
        ))  # fmt: skip
    on_demand = candidates[1].monthly_usd
    always_on = on_demand + 32.85 - 4.10
    memory = MemoryPick(
        variant="mem-1024", memory_mb=1024, strategy="slo", separated=True,
        reason="1024 MB is the cheapest size whose p95 upper bound meets the 80 ms SLO.", runner_up="mem-1769",
        sensitivity="1024 MB stays the pick unless 512 MB's p95 upper bound falls below 80 ms.",
        power_tuning_pick="mem-512",
    )  # fmt: skip
    options = (
        ProvisionedOption("on demand", 0, 24.0, on_demand, 0.029, 610.0),
        ProvisionedOption("always on", 3, 24.0, always_on, 0.004, 71.0),
        ProvisionedOption("peak hours", 3, 8.0, on_demand + 10.95 - 2.0, 0.012, 300.0),
    )
    pc = ProvisionedPick(
        count=3, monthly_usd=always_on, on_demand_monthly_usd=on_demand, break_even_utilisation=0.6,
        predicted_cold_share=0.004, reason="3 environments keep bursts of 200/s within the 1% cold-start budget.",
        case="bursty", options=options, curve=PC_CURVE, sensitivity="PC stops paying below 41 rps.",
    )  # fmt: skip
    return Recommendation(
        memory=memory, provisioned_concurrency=pc,
        infeasible=(Infeasible("mem-128", 128, "5.0% of calls failed (Runtime.OutOfMemory), above the 1% allowed"),),
        candidates=tuple(candidates), traffic=dict(TRAFFIC), decision=dict(DECISION),
        notes=("Priced for 50,000,000 requests a month on apigw-http, not for the benchmark's own load.",),
    )  # fmt: skip


class Dom(HTMLParser):
    """Just enough of a DOM: every start tag with its attributes, the rows of one table (those
    with a data-variant), each with its text, its cells' text by data-col and its badges."""

    def __init__(self, text: str, table: str = "variants"):
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.rows: list[dict] = []
        self._table, self._in_table, self._cell, self._badge = table, False, None, False
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append((tag, attrs))
        if tag == "table":
            self._in_table = attrs.get("id") == self._table
        elif self._in_table and tag == "tr" and "data-variant" in attrs:
            self.rows.append({"attrs": attrs, "badges": [], "text": "", "cells": {}})
        elif self._in_table and self.rows and tag == "td":
            self._cell = attrs.get("data-col")
            self.rows[-1]["cells"][self._cell] = ""
        elif self._in_table and self.rows and tag == "span" and "badge" in (attrs.get("class") or "").split():
            self._badge = True

    def handle_endtag(self, tag):
        if tag == "table":
            self._in_table = False
        elif tag == "span":
            self._badge = False
        elif tag == "td":
            self._cell = None

    def handle_data(self, data):
        if self._in_table and self.rows:
            row = self.rows[-1]
            row["text"] += data
            if self._cell is not None:
                row["cells"][self._cell] += data
            if self._badge:
                row["badges"].append(data.strip())


def element_text(page: str, element_id: str) -> str:
    """The text of the element with ``id``, tags stripped (the page's own markup only)."""
    match = re.search(rf'<(\w+)[^>]* id="{element_id}"[^>]*>(.*?)</\1>', page, re.S)
    assert match, f"no element #{element_id}"
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", match.group(2))).strip())


# ---- HTML, parsed ----


def test_html_table_rows_and_cheapest(tmp_path):
    path = render_html(four_variants(), RUN_INFO, tmp_path / "report.html")
    dom = Dom(path.read_text())
    assert [r["attrs"]["data-variant"] for r in dom.rows] == ["mem-128", "mem-512", "mem-1024", "mem-2048"]
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
    facts = element_text(render_html_text(four_variants(), {}), "facts")
    assert facts.count("not recorded") == 4  # target, function, cpu mode, load


def test_html_top_names_target_date_load_and_versions():
    context = element_text(render_html_text(twelve_rows(), RUN_INFO_12), "context")
    assert "Target local emulator (bundled), CPU mode quota" in context
    assert "20261201-101500, started 2026-12-01 10:15 UTC" in context
    assert "6 users, 60 s, paths direct, apigw-http, apigw-rest, 4,800 calls" in context
    assert "lambench 0.1.0" in context and "CPython 3.11.7" in context
    aws = element_text(render_html_text(twelve_rows(), {"target": "aws", "endpoint": "AWS eu-west-1"}), "context")
    assert "Target AWS, region eu-west-1" in aws


def test_html_is_self_contained():
    summary = twelve_rows()
    for text in (render_html_text(four_variants(), RUN_INFO),
                 render_html_text(summary, RUN_INFO_12, full_recommendation(summary))):  # fmt: skip
        dom = Dom(text)
        tags = {tag for tag, _ in dom.tags}
        assert not tags & {"script", "link", "img", "iframe", "object", "embed", "image", "use", "a"}
        assert not [a for _, attrs in dom.tags for a in ("src", "href", "xlink:href") if a in attrs]
        assert "@import" not in text and "url(" not in text
        # The page also forbids the browser to load anything, should an edit add a resource.
        assert '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; style-src' in text
        assert "@media print" in text and "prefers-color-scheme: dark" in text


def test_html_shows_no_data_as_a_dash_not_zero():
    dom = Dom(render_html_text(four_variants(), RUN_INFO))
    # mem-2048's throttled call has no REPORT line, but its other 30 calls do.
    assert "\u2014" not in dom.rows[3]["text"]
    summary = summarize(
        [InvocationRecord(run_id="r", variant="mem-128", path="direct", t_start_ns=0, client_ms=1.0, status="ok")],
        architecture="x86_64",
    )
    text = render_html_text(summary, RUN_INFO)
    (row,) = Dom(text).rows
    assert [row["cells"][c] for c in ("cold", "billed-mean", "cost")] == ["\u2014"] * 3
    (lines,) = Dom(text, "report-lines").rows
    assert [lines["cells"][c].strip() for c in ("duration-p50", "init-mean", "max-memory", "usd-duration")] == [
        "\u2014"
    ] * 4


def test_html_with_two_paths_and_unknown_memory():
    records = [
        InvocationRecord(
            run_id="r", variant=name, path=path, t_start_ns=0, client_ms=5.0, status="ok", billed_ms=5, memory_mb=memory
        )
        for name, memory in (("mem-256", 256), ("blue", None))
        for path in ("direct", "apigw-http")
    ]
    summary = summarize(records, architecture="x86_64")
    text = render_html_text(summary, RUN_INFO)
    dom = Dom(text)
    # Grouped by path, then by memory: one cheapest per path.
    assert [(r["attrs"]["data-variant"], r["attrs"]["data-path"]) for r in dom.rows] == [
        ("mem-256", "direct"),
        ("blue", "direct"),
        ("mem-256", "apigw-http"),
        ("blue", "apigw-http"),
    ]
    assert [r["badges"] for r in dom.rows] == [["cheapest"], [], ["cheapest"], []]
    assert "API Gateway HTTP API" in text and dom.rows[1]["cells"]["memory"] == "\u2014blue"


def test_cheapest_is_one_row_per_path_and_the_cost_chart_marks_the_same():
    summary = twelve_rows()
    text = render_html_text(summary, RUN_INFO_12)
    dom = Dom(text)
    assert len(dom.rows) == 12
    for path in PATHS:
        rows = [r for r in dom.rows if r["attrs"]["data-path"] == path]
        costs = {r["attrs"]["data-variant"]: float(r["cells"]["cost"].split("[")[0]) for r in rows}
        tagged = [r["attrs"]["data-variant"] for r in rows if "cheapest" in r["badges"]]
        assert tagged == [min(costs, key=costs.get)], path
    chart = text[text.index('id="chart-cost"') :]
    chart = chart[: chart.index("</svg>")]
    assert chart.count(">cheapest</text>") == 3


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


def test_html_shows_intervals_beside_figures():
    summary = many_calls()
    v = summary.variants[0]
    (row,) = Dom(render_html_text(summary, RUN_INFO)).rows
    p95 = v.client_ms.p95_ci
    assert row["cells"]["client-p95"] == f"{v.client_ms.p95:,.1f}[{p95.lo:,.1f}\u2013{p95.hi:,.1f}]"
    assert row["cells"]["cold"].strip() == "82.0%"  # 8 cold starts of 400: 2.0%
    assert "no interval" not in row["text"]


def test_html_explains_missing_intervals():
    text = render_html_text(four_variants(), RUN_INFO)
    assert 'title="no interval: a 95% interval of p95 needs n &gt;= 72; n = 30"' in text
    assert "needs n &ge; 6 (p50), 72 (p95) or 368 (p99)" in text


def test_html_warm_and_cold_table():
    (row,) = Dom(render_html_text(many_calls(), RUN_INFO), "coldwarm").rows
    assert row["cells"]["cold-rate"] == "2.0%[1.0%\u20133.9%]"  # 8 cold of 400, Wilson
    assert (row["cells"]["warm-n"], row["cells"]["cold-n"]) == ("392", "8")


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
    assert (
        "<strong>WARNING:</strong> warm duration: the result may be unstable: the standard deviation is N% of "
        "the mean, in 2 rows: 512 MB (19%), 1024 MB (19%)</li>" in text
    )


def test_checks_fold_repeated_warnings_into_one_line_per_kind():
    summary = twelve_rows()
    warnings = [w for v in summary.variants for w in v.warnings]
    assert len(warnings) >= 12  # every row is unstable: the case that buried the check that mattered
    text = render_html_text(summary, RUN_INFO_12)
    checks = text[text.index('<ul class="checks"') : text.index("</ul>", text.index('<ul class="checks"'))]
    folded = re.findall(r'<li class="warn folded"', checks)
    kinds = {re.sub(r"\d[\d,.]*%", "", re.sub(r" \([^)]*\)", "", w)) for w in warnings}
    assert len(folded) == len(kinds) < len(warnings)
    assert "in 12 rows: 128 MB direct (" in checks and "1769 MB REST (" in checks


# ---- the decision at the top ----


def test_top_says_the_memory_and_pc_picks_with_cost_saving_and_how_sure():
    summary = twelve_rows()
    rec = full_recommendation(summary)
    text = render_html_text(summary, RUN_INFO_12, rec)
    by_size = {c.memory_mb: c for c in rec.candidates}
    more = by_size[1024].monthly_usd - by_size[512].monthly_usd
    share = more / by_size[512].monthly_usd
    # 128 MB (Lambda's default) is infeasible, so the baseline is the smallest feasible size run.
    assert element_text(text, "memory-pick") == (
        f"Memory: 1024 MB (slo strategy), {fmt_money(by_size[1024].monthly_usd)} a month for 50 million requests "
        f"a month (API Gateway HTTP API): {fmt_money(more)} ({share:.0%}) more than 512 MB on demand, the smallest "
        "feasible size run."
    )
    pc = rec.provisioned_concurrency
    assert element_text(text, "pc-pick") == (
        f"Provisioned concurrency: 3 environments, always on, {fmt_money(pc.monthly_usd)} a month: "
        f"{fmt_money(pc.monthly_usd - pc.on_demand_monthly_usd)} more than on demand "
        f"({fmt_money(pc.on_demand_monthly_usd)}), cutting the requests that start cold from 2.9% to 0.4% "
        "(budget 1%), for bursty traffic: bursts outrun the warm environments."
    )
    assert element_text(text, "how-sure") == "How sure: separated. The data tell 1024 MB from the runner-up, 1769 MB."
    assert element_text(text, "sensitivity") == (
        "Sensitivity: 1024 MB stays the pick unless 512 MB's p95 upper bound falls below 80 ms. "
        "Sensitivity: PC stops paying below 41 rps."
    )
    assert "aws-lambda-power-tuning&#39;s own formula would pick 512 MB." in text  # autoescaped
    assert 'id="headline"' not in text


def test_top_compares_with_the_default_size_and_says_when_on_demand_is_enough():
    summary = twelve_rows()
    rec = full_recommendation(summary)
    cheap = Candidate("mem-128", 128, 1e-6, 50.0, 0.5, 300.0, 400.0, 420.0)
    pc = ProvisionedPick(0, 60.0, 60.0, 0.6, 0.0005, "on demand meets the budget", "steady", curve=PC_CURVE)
    steady = Recommendation(rec.memory, pc, (), (cheap, *rec.candidates), rec.traffic, rec.decision)
    text = render_html_text(summary, RUN_INFO_12, steady)
    pick = next(c for c in rec.candidates if c.variant == "mem-1024")
    assert element_text(text, "memory-pick").endswith(
        f": {fmt_money(pick.monthly_usd - 50.0)} ({(pick.monthly_usd - 50) / 50:.0%}) more than 128 MB on demand, "
        "Lambda's default size."
    )
    assert element_text(text, "pc-pick") == (
        "Provisioned concurrency: none. On demand ($60.00 a month), 0.05% of requests start cold, within the 1% "
        "budget, for steady traffic, which keeps its environments warm."
    )


def test_top_without_a_recommendation_or_without_a_feasible_variant():
    summary = twelve_rows()
    old = render_html_text(summary, RUN_INFO_12)
    assert element_text(old, "headline").startswith("Cheapest: mem-512 (512 MB, x86_64), 0.80")
    assert 'id="decision"' not in old and 'data-col="monthly"' not in old
    nothing = Recommendation(
        MemoryPick(None, None, "slo", None, "every variant failed more than 1% of its calls"),
        None,
        infeasible=tuple(Infeasible(f"mem-{m}", m, "too many errors") for m in BODY_MS),
        traffic=dict(TRAFFIC),
        decision=dict(DECISION),
    )
    text = render_html_text(summary, RUN_INFO_12, nothing)
    assert element_text(text, "memory-pick") == (
        "No memory size can be recommended: every variant failed more than 1% of its calls."
    )
    assert 'id="pc-pick"' not in text and 'id="how-sure"' not in text
    assert element_text(text, "infeasible").startswith("128 MB: too many errors 512 MB: too many errors")
    assert not [r for r in Dom(text).rows if "recommended" in r["badges"]]


def test_recommended_and_infeasible_rows_are_on_the_traffic_path_only():
    summary = twelve_rows()
    rec = full_recommendation(summary)
    dom = Dom(render_html_text(summary, RUN_INFO_12, rec))
    tagged = {(r["attrs"]["data-variant"], r["attrs"]["data-path"]): r["badges"] for r in dom.rows if r["badges"]}
    assert tagged == {
        ("mem-512", "direct"): ["cheapest"],
        ("mem-128", "apigw-http"): ["infeasible"],
        ("mem-512", "apigw-http"): ["cheapest"],
        ("mem-1024", "apigw-http"): ["recommended"],
        ("mem-512", "apigw-rest"): ["cheapest"],
    }
    monthly = {r["attrs"]["data-variant"]: r["cells"]["monthly"] for r in dom.rows
               if r["attrs"]["data-path"] == "apigw-http"}  # fmt: skip
    assert monthly == {"mem-128": "infeasible", **{c.variant: fmt_money(c.monthly_usd) for c in rec.candidates}}


def test_decision_evidence_tables():
    summary = twelve_rows()
    rec = full_recommendation(summary)
    text = render_html_text(summary, RUN_INFO_12, rec)
    candidates = Dom(text, "candidates").rows
    assert [r["cells"]["role"] for r in candidates] == [
        "power-tuning's pick, baseline (the smallest feasible size run)",
        "pick",
        "runner-up",
    ]
    assert [r["cells"]["cold-share"] for r in candidates] == ["3.1%", "2.9%", "2.8%"]
    assert "always on" in element_text(text, "pc-options") and "Break-even utilisation 60%" in text
    assert (
        element_text(text, "infeasible") == "128 MB: 5.0% of calls failed (Runtime.OutOfMemory), above the 1% allowed"
    )


# ---- charts ----


def chart_svg(text: str, chart_id: str) -> str:
    start = text.index(f'id="{chart_id}"')
    return text[start : text.index("</svg>", start) + 6]


def test_every_chart_with_a_full_recommendation():
    summary = twelve_rows()
    text = render_html_text(summary, RUN_INFO_12, full_recommendation(summary))
    ids = re.findall(r'<figure class="chart-box[^"]*" id="([^"]+)"', text)
    assert ids == ["chart-tuning", "chart-coldshare", "chart-cost", "chart-cdf-direct", "chart-cdf-apigw-http",
                   "chart-cdf-apigw-rest", "chart-timeline"]  # fmt: skip
    tuning = chart_svg(text, "chart-tuning")
    assert "SLO 80 ms" in tuning and ">pick</text>" in tuning and tuning.count('class="whisker') >= 6
    assert "infeasible" in tuning  # 128 MB drawn hollow and labelled
    cold = chart_svg(text, "chart-coldshare")
    assert "budget 1%" in cold and 'class="ring"' in cold and ">N = 3</text>" in cold
    cost = chart_svg(text, "chart-cost")
    assert ">with PC</text>" in cost and 'class="k-provisioned"' in cost and ">pick</text>" in cost
    assert "SLO 80 ms" in chart_svg(text, "chart-cdf-apigw-http")
    assert "SLO" not in chart_svg(text, "chart-cdf-direct")
    timeline = chart_svg(text, "chart-timeline")
    assert timeline.count("cold</text>") == 4  # one lane per memory size, paths added up
    assert timeline.count(">24 cold</text>") == 4  # 8 a row x 3 paths, for each size


def test_chart_labels_wrap_or_rotate_rather_than_overprint():
    cost = chart_svg(render_html_text(twelve_rows(), RUN_INFO_12), "chart-cost")
    labels = re.findall(r'<text class="label"[^>]*>(.*?)</text>', cost)
    # 12 bars widen the chart; each label fits its slot on two lines ("1769 MB" over "REST").
    assert len(labels) == 12 and 'dy="13">REST</tspan>' in labels[-1] and "rotate(-40" not in cost
    crowded = [Stack(f"mem-{i} with a long label", (1.0,)) for i in range(30)]
    svg = stacked_bars(title="t", stacks=crowded, components=[Component("x", "k-duration")], axis_label="USD", fmt=str)
    assert svg.count('class="label"') == svg.count("rotate(-40") == 30


def test_stacked_bars_mark_missing_values_and_show_totals():
    svg = stacked_bars(
        title="t",
        stacks=[Stack("a", (1.0, 0.5), mark="pick"), Stack("b", (None, None))],
        components=[Component("one", "k-duration"), Component("two", "k-init")],
        axis_label="USD",
        fmt=lambda x: f"{x:.2f}",
    )
    assert svg.count('class="k-duration"') == 2  # the bar's segment and its legend swatch
    assert "no data" in svg and ">1.50</text>" in svg and ">pick</text>" in svg and 'class="outline"' in svg


@pytest.mark.parametrize("largest, top", [(0, 1.0), (3.7, 4.0), (292, 400), (0.66, 0.8), (1.42, 2.0)])
def test_nice_top(largest, top):
    assert nice_top(largest) == pytest.approx(top)


# ---- cost by component ----


def test_cost_parts_add_up_to_the_cost_per_million():
    summary = twelve_rows()
    for v in summary.variants:
        split = split_measured(v, "x86_64")
        assert split.total == pytest.approx(v.cost_per_million_usd, rel=1e-12)
        assert split.gateway == {"direct": 0.0, "apigw-http": 1.0, "apigw-rest": 3.5}[v.path]
        assert split.requests == 0.20
        # INIT: 8 cold calls of 380 or 400 with a REPORT line, about 240 ms each.
        init_ms = v.init_ms_mean.value * 8 / v.billed_ms_mean.n
        assert split.init == pytest.approx(1e6 * init_ms / 1000 * v.memory_mb / 1024 * 0.0000166667)
    rec = full_recommendation(summary)
    rows = {v.variant: v for v in summary.variants if v.path == "apigw-http"}
    for c in rec.candidates:
        split = split_at_cold_share(rows[c.variant], "x86_64", c.predicted_cold_share)
        assert split.total == pytest.approx(c.usd_per_invocation * 1e6, rel=1e-12)


def test_provisioned_charge_per_million():
    # 3 x 1 GB x 730 h x 3600 s x 0.0000041667 USD = 32.85 USD a month, over 50 M requests.
    assert provisioned_usd_per_million(3, 1024, 24, 50e6, "x86_64") == pytest.approx(32.85 / 50, rel=1e-4)
    assert provisioned_usd_per_million(3, 1024, 8, 50e6, "x86_64") == pytest.approx(32.85 / 150, rel=1e-4)


# ---- Markdown and CSV ----


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


def test_markdown_with_a_recommendation():
    summary = twelve_rows()
    rec = full_recommendation(summary)
    text = render_markdown(summary, rec, run_info=RUN_INFO_12)
    lines = text.splitlines()
    assert lines[0].startswith("**Memory: 1024 MB (slo strategy), $") and lines[0].endswith("run.**")
    assert any(line.startswith("**Provisioned concurrency: 3 environments, always on, $") for line in lines)
    assert "How sure: separated. The data tell 1024 MB from the runner-up, 1769 MB." in lines
    assert any(line.startswith("Target: local emulator (bundled), CPU mode quota \u00b7 Run: ") for line in lines)
    table = [line for line in lines if line.startswith("| ")]
    assert len(table) == 1 + 12 and table[0].endswith("| USD a month, your traffic |")
    assert [line.split(" | ")[0] for line in table if "recommended" in line] == ["| **mem-1024** (recommended)"]
    assert "- 128 MB: 5.0% of calls failed (Runtime.OutOfMemory), above the 1% allowed" in lines
    assert len([line for line in lines if line.startswith("- Warning: warm duration")]) == 1


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_variants_csv_has_every_figure_and_the_traffic_cost(tmp_path):
    summary = twelve_rows()
    rec = full_recommendation(summary)
    rows = read_csv(write_variants_csv(summary, tmp_path / "out" / "variants.csv", rec))
    assert len(rows) == 12 and not list(tmp_path.glob("out/*.tmp"))
    by_key = {(r["variant"], r["path"]): r for r in rows}
    for v in summary.variants:
        row = by_key[(v.variant, v.path)]
        assert int(row["invocations"]) == v.invocations and int(row["errors_function_error"]) == v.errors
        assert float(row["client_ms_p95"]) == v.client_ms.p95
        assert float(row["client_ms_p95_hi"]) == v.client_ms.p95_ci.hi
        assert float(row["cost_per_million_usd"]) == v.cost_per_million_usd
        parts = sum(float(row[f"usd_per_million_{p}"]) for p in ("duration", "init", "requests", "gateway"))
        assert parts == pytest.approx(v.cost_per_million_usd)
        assert float(row["billed_ms_cold"]) == v.billed_ms_cold.value
        assert row["client_ms_cold_p99_lo"] == ""  # 8 cold calls: no interval, an empty cell, not 0
    monthly = {k: r["traffic_usd_per_month"] for k, r in by_key.items() if r["traffic_usd_per_month"]}
    assert monthly == {(c.variant, "apigw-http"): repr(c.monthly_usd) for c in rec.candidates}
    assert [k for k, r in by_key.items() if r["recommended"] == "true"] == [("mem-1024", "apigw-http")]
    assert by_key[("mem-128", "apigw-http")]["infeasible_reason"].startswith("5.0% of calls failed")
    assert sorted(k for k, r in by_key.items() if r["cheapest_on_path"] == "true") == [
        ("mem-512", p) for p in sorted(PATHS)
    ]


def test_variants_csv_keeps_its_columns_without_a_recommendation_or_rows(tmp_path):
    summary = twelve_rows()
    with_rec = write_variants_csv(summary, tmp_path / "a.csv", full_recommendation(summary)).read_text()
    without = write_variants_csv(summary, tmp_path / "b.csv").read_text()
    empty = write_variants_csv(RunSummary("x86_64", (), None), tmp_path / "c.csv").read_text()
    assert with_rec.splitlines()[0] == without.splitlines()[0] == empty.splitlines()[0]
    assert len(empty.splitlines()) == 1 and "traffic_usd_per_month" in empty
    assert {r["recommended"] for r in read_csv(tmp_path / "b.csv")} == {""}


# ---- formatting ----


@pytest.mark.parametrize(
    "ms, text",
    [(None, "\u2014"), (3.14, "3.1"), (999.94, "999.9"), (999.96, "1.00 s"), (1049.6, "1.05 s"),
     (17_520.0, "17.5 s"), (99_960.0, "100 s"), (905_000.0, "905 s")],
)  # fmt: skip
def test_fmt_ms_short(ms, text):
    assert fmt_ms_short(ms) == text
    assert len(text) <= 6


@pytest.mark.parametrize(
    "share, text", [(0.0, "0%"), (0.68, "68%"), (0.012, "1.2%"), (0.0005, "0.05%"), (0.00006, "0.006%")]
)
def test_fmt_share_keeps_small_shares_apart(share, text):
    assert fmt_share(share) == text


@pytest.mark.parametrize(
    "usd, text", [(1234.5, "$1,234"), (12.345, "$12.35"), (0.0542, "$0.0542"), (0.0001, "<$0.001"), (-3.5, "-$3.50")]
)
def test_fmt_money(usd, text):
    assert fmt_money(usd) == text
