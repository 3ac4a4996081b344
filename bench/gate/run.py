"""One gate run, as ``lambench gate`` and ``lambench run --gate`` do it: read, judge, write, say.

The table and the explanations go to the console; JUnit XML and Markdown to the files asked
for, and the Markdown also to $GITHUB_STEP_SUMMARY when GitHub Actions sets it. The exit code
is the report's: 0 when every gate passes, 1 when one fails (or is inconclusive under
``inconclusive = "fail"``); bad input never gets this far (UserError: exit 2).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console

from bench.gate.evidence import load_baseline, load_run
from bench.gate.output import (
    append_step_summary,
    explanations,
    gate_table,
    junit_xml,
    markdown,
    verdict_line,
    write_text,
)
from bench.gate.settings import GateSettings
from bench.gate.verdicts import GateReport, evaluate

LOG_WIDTH = 160


@dataclass(frozen=True)
class GateRequest:
    run_dir: Path
    settings: GateSettings
    baseline: Path | None = None
    junit: Path | None = None
    markdown: Path | None = None


def log_console() -> Console:
    """The console gates print to: a terminal's width, or 160 columns in a CI log (rich's 80 folds the table)."""
    return Console(stderr=False, width=None if sys.stdout.isatty() else LOG_WIDTH)


def run_gates(request: GateRequest, console: Console) -> GateReport:
    """Judge ``request.run_dir`` by its gates; print and write the verdicts; return the report."""
    run = load_run(request.run_dir)
    baseline = None if request.baseline is None else load_baseline(request.baseline)
    report = evaluate(request.settings, run, baseline)
    console.print(gate_table(report))
    for line in explanations(report):
        console.print(line, markup=False, highlight=False, soft_wrap=True)
    console.print(verdict_line(report), markup=False, highlight=False, soft_wrap=True)
    if request.junit is not None:
        console.print(f"junit: {write_text(request.junit, junit_xml(report), '--junit')}")
    summary = markdown(report)
    if request.markdown is not None:
        console.print(f"markdown: {write_text(request.markdown, summary, '--markdown')}")
    if (step := append_step_summary(summary)) is not None:
        console.print(f"step summary: {step}")
    return report
