"""A gate run, written for its three readers: the CI log (a table), the CI system (JUnit XML) and the
pull request (Markdown, appended to $GITHUB_STEP_SUMMARY when GitHub Actions sets it).

Every gate is one row, one testcase and one table line: where it ran, what was measured with its
interval, the threshold, the baseline, and the verdict with the sentence that explains it.
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from pathlib import Path

from rich.table import Table

from bench.errors import UserError
from bench.gate.verdicts import FAIL, INCONCLUSIVE, PASS, SKIPPED, GateReport, GateResult, fmt

_MARK = {PASS: "pass", FAIL: "FAIL", INCONCLUSIVE: "inconclusive", SKIPPED: "skipped"}
_STYLE = {PASS: "green", FAIL: "bold red", INCONCLUSIVE: "yellow", SKIPPED: "dim"}
_EMOJI = {PASS: "✅", FAIL: "❌", INCONCLUSIVE: "⚠️", SKIPPED: "⏭️"}


def _threshold(result: GateResult) -> str:
    gate = result.gate
    if gate.regression:
        unit = "points" if gate.name == "error_rate_regression" else "change"
        return f"<= {fmt(gate.threshold, unit)}"
    units = {"p95_ms": "ms", "p99_ms": "ms", "usd_per_million": "usd", "max_memory_used_ratio": "ratio"}
    return f"<= {fmt(gate.threshold, units.get(gate.name, 'share'))}"


def _measured(result: GateResult) -> str:
    if result.value is None:
        return "-"
    value = fmt(result.value, result.unit)
    if result.lower is None and result.upper is None:
        return value
    interval = f"[{fmt(result.lower, result.unit)}, {fmt(result.upper, result.unit)}]"
    if result.shift is not None:
        return f"{value}; all {fmt(result.shift, result.unit)} {interval}"
    return f"{value} {interval}"


def _baseline(result: GateResult) -> str:
    if result.baseline is None:
        return "-"
    unit = {"p95_regression": "ms", "p99_regression": "ms", "usd_per_million_regression": "usd"}
    shown = unit.get(result.gate.name, "share")
    return f"{fmt(result.baseline, shown)} -> {fmt(result.current, shown)}"


def verdict_line(report: GateReport) -> str:
    """One line: how many gates passed, failed, were inconclusive, and what the run's verdict is."""
    counts = ", ".join(f"{report.count(v)} {v}" for v in (PASS, FAIL, INCONCLUSIVE, SKIPPED) if report.count(v))
    if report.count(FAIL):
        outcome = "FAILED"
    elif report.failed:
        outcome = "FAILED (inconclusive gates fail: run longer, or --inconclusive pass)"
    else:
        outcome = "passed"
    split = f", split over {report.comparisons} regression comparisons" if report.comparisons > 1 else ""
    return f"gates {outcome}: {counts} (alpha {report.settings.alpha:g}{split})"


def gate_table(report: GateReport) -> Table:
    base = f" against {report.baseline_id}" if report.baseline_id else ""
    table = Table(title=f"lambench gates: run {report.run_id}{base}", title_justify="left", expand=False)
    for name in ("gate", "variant", "measured \\[interval]", "threshold", "baseline -> now", "verdict"):
        table.add_column(name, overflow="fold")
    for r in report.results:
        table.add_row(
            r.gate.label, r.where, _measured(r), _threshold(r), _baseline(r),
            f"[{_STYLE[r.verdict]}]{_MARK[r.verdict]}[/]",
        )  # fmt: skip
    return table


def explanations(report: GateReport) -> list[str]:
    """The sentence of every gate that did not simply pass, for the log under the table."""
    return [
        f"{_MARK[r.verdict]}: {r.gate.label} on {r.where}: {r.message}" for r in report.results if r.verdict != PASS
    ]


def junit_xml(report: GateReport) -> str:
    """JUnit XML: one testsuite, one testcase per gate and variant; failures and inconclusive
    gates (when they fail the run) are <failure>, skipped gates <skipped>."""
    suite = ET.Element("testsuite", name="lambench gates", tests=str(len(report.results)))
    failures = skipped = 0
    for r in report.results:
        case = ET.SubElement(
            suite, "testcase", classname=f"lambench.gate.{r.gate.target}", name=f"{r.gate.name} {r.where}"
        )
        case.set("time", "0")
        failing = r.verdict == FAIL or (r.verdict == INCONCLUSIVE and report.settings.inconclusive == FAIL)
        if failing:
            failures += 1
            kind = "regression" if r.gate.regression else "threshold"
            node = ET.SubElement(case, "failure", message=f"{r.verdict}: {r.message}", type=f"{kind} {r.verdict}")
            node.text = f"{r.gate.label} on {r.where}: {r.message}"
        elif r.verdict in (SKIPPED, INCONCLUSIVE):
            skipped += 1
            ET.SubElement(case, "skipped", message=r.message)
        out = ET.SubElement(case, "system-out")
        out.text = f"measured {_measured(r)}; threshold {_threshold(r)}; baseline {_baseline(r)}"
    suite.set("failures", str(failures))
    suite.set("errors", "0")
    suite.set("skipped", str(skipped))
    ET.indent(suite)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suite, encoding="unicode") + "\n"


def markdown(report: GateReport) -> str:
    """The Markdown summary a pull request shows: the verdict first, then every gate."""
    base = f" against baseline `{report.baseline_id}`" if report.baseline_id else ""
    lines = [
        f"### lambench gates: {verdict_line(report)}",
        "",
        f"Run `{report.run_id}`{base}. Intervals: one-sided {100 * (1 - report.settings.alpha):g}% bounds "
        "(absolute gates); for regressions, the change's interval (cost, error rate) or latency's shift as a "
        "whole with its Mann-Whitney interval (percentiles), at alpha split over the comparisons.",
        "",
        "| | gate | variant | measured [interval] | threshold | baseline -> now | why |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in report.results:
        cells = (_EMOJI[r.verdict], f"`{r.gate.label}`", r.where, _measured(r), _threshold(r), _baseline(r), r.message)
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines) + "\n"


def write_text(path: Path, text: str, what: str) -> Path:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as err:
        raise UserError(f"{what} {path}: cannot write ({err.strerror})") from None
    return path


def append_step_summary(text: str) -> Path | None:
    """Append to $GITHUB_STEP_SUMMARY when GitHub Actions gives one; None otherwise."""
    target = os.environ.get("GITHUB_STEP_SUMMARY")
    if not target:
        return None
    with open(target, "a", encoding="utf-8") as handle:
        handle.write(text + "\n")
    return Path(target)
