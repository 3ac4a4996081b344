"""The terminal table of ``lambench run``: readable in an 80-column CI log, whatever the latencies.

A 1 s function once printed "10…" and "17…" for 1024 and 1769 MB: its latencies, written as
"1,050.2" with a "~", did not fit their columns and rich cut them. Each test here renders the
table as a terminal of 80 columns would and reads every cell back.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from rich.console import Console

sys.path.insert(0, str(Path(__file__).parent))
from test_report import (  # noqa: E402
    V1_FIXTURE,
    four_variants,
    full_recommendation,
    many_calls,
    overlapping_costs,
    twelve_rows,
)

from bench.report import read_results_json, summary_table  # noqa: E402
from bench.report.formatting import fmt_ms_short  # noqa: E402


def render(summary, recommendation=None, width: int = 80) -> list[str]:
    with open(os.devnull, "w") as devnull:
        console = Console(width=width, record=True, file=devnull)
        console.print(summary_table(summary, recommendation))
        return console.export_text().splitlines()


def seconds_run():
    """A function that takes about a second at 1024 MB (and 7.5 s at 128 MB)."""
    return twelve_rows(slow=25)


CASES = {
    "four variants": lambda: (four_variants(), None),
    "a tie": lambda: (overlapping_costs(), None),
    "400 calls": lambda: (many_calls(), None),
    "version 1 file": lambda: (read_results_json(V1_FIXTURE).summary, None),
    "12 rows": lambda: (twelve_rows(), None),
    "12 rows, recommended": lambda: (lambda s: (s, full_recommendation(s)))(twelve_rows()),
    "seconds, recommended": lambda: (lambda s: (s, full_recommendation(s)))(seconds_run()),
}


@pytest.mark.parametrize("case", CASES)
def test_fits_80_columns_and_cuts_nothing(case):
    summary, rec = CASES[case]()
    lines = render(summary, rec)
    assert max(len(line.rstrip()) for line in lines) <= 80
    assert not [line for line in lines if "\u2026" in line], "rich cut a cell or the caption"
    assert any(line.split()[:2] == ["MB", "calls"] and line.rstrip().endswith("\u00b1") for line in lines)


def rows_by_name(lines: list[str]) -> dict[str, list[str]]:
    """Body rows by their first cells (memory and path), cells split on whitespace."""
    out = {}
    for line in lines:
        cells = line.split()
        if cells and cells[0].isdigit():
            path = cells[1] if cells[1] in ("http", "rest") else "direct"
            out[f"{cells[0]} {path}"] = cells
    return out


def test_latencies_of_seconds_read_back_whole():
    summary = seconds_run()
    rows = rows_by_name(render(summary, full_recommendation(summary)))
    short = {"direct": "direct", "apigw-http": "http", "apigw-rest": "rest"}
    assert len(rows) == 12
    for v in summary.variants:
        line = " ".join(rows[f"{v.memory_mb} {short[v.path]}"])
        # Each figure as the table writes it, in order: seconds where a second or more.
        figures = [fmt_ms_short(getattr(v.client_ms, q)) for q in ("p50", "p95", "p99")]
        figures += [fmt_ms_short(v.billed_ms_mean.value), f"{v.cost_per_million_usd:.2f}"]  # $10 and more: 2 decimals
        assert " ".join(figures) in line, (line, figures)
    assert rows["1024 direct"][4:6] == ["1.00", "s"]  # p50 of a 1 s function: 1.00 s, not "10…"
    assert rows["128 direct"][5] == "s" and float(rows["128 direct"][4]) > 7


def test_marks_cheapest_recommended_infeasible_and_thin():
    summary = twelve_rows()
    lines = render(summary, full_recommendation(summary))
    rows = rows_by_name(lines)
    assert len(rows) == 12
    starred = sorted(name for name, cells in rows.items() if "*" in cells)
    assert starred == ["512 direct", "512 http", "512 rest"]  # one cheapest per path
    assert [name for name, cells in rows.items() if "R" in cells] == ["1024 http"]
    assert [name for name, cells in rows.items() if "x" in cells] == ["128 http"]
    caption = "\n".join(lines[lines.index(next(x for x in lines if x.startswith("p50/p95/p99"))) :])
    assert "R pick: 1024 MB (slo), $" in caption and "separated from 1769 MB" in caption
    assert "PC: 3 always on, $" in caption and "requests cold: 2.9% -> 0.4% (budget 1%)" in caption
    assert "WARNING: unstable warm duration: all 12 rows (see the report)" in caption
    tie = render(overlapping_costs())
    row = next(line for line in tie if line.startswith("512"))
    assert "~" in row and "*" in row.split()  # p95 of 21 calls has no interval
    assert any("WARNING: the data cannot tell mem-512 from mem-1024" in line for line in tie)


def test_columns_are_two_spaces_apart_when_they_fit():
    header = next(line for line in render(four_variants()) if line.startswith("MB"))
    assert "  calls  errors  cold" in header
