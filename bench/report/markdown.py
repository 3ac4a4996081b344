"""summary.md: a run in Markdown, for CI job summaries and pull-request comments.

The decision first, in the same sentences as the HTML report (memory, provisioned concurrency,
how sure, sensitivity), then where and how the run was measured, one table row per variant and
path (cheapest on its path and recommended marked as in the report), the infeasible variants
with their reasons, and the checks folded by kind. Figures carry their 95% interval in brackets
("123.4 [118.0–130.2]"), or "no interval" when n is too small for one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bench.analysis import RunSummary, VariantSummary
from bench.decide import Recommendation

from .decision import cheapest_headline, decision_text
from .formatting import fmt_int, fmt_mb, fmt_money, fmt_pct, fmt_usd, fmt_with_interval
from .rows import Row, check_lines, table_rows
from .runinfo import context_facts

_COLUMNS = (
    ("Variant", "---"),
    ("Memory MB", "--:"),
    ("Path", "---"),
    ("Invocations", "--:"),
    ("Errors", "--:"),
    ("Cold starts", "--:"),
    ("Cold rate", "--:"),
    ("Client p50 ms", "--:"),
    ("Client p95 ms", "--:"),
    ("Client p99 ms", "--:"),
    ("n", "--:"),
    ("Billed mean ms", "--:"),
    ("Cost per 1M USD", "--:"),
)
_MONTHLY = ("USD a month, your traffic", "--:")


def _cell(text: str) -> str:
    # A pipe in a variant name would split the cell.
    return text.replace("|", "\\|")


def _cold_rate(v: VariantSummary) -> str:
    rate = v.cold_rate
    if rate is None or rate.value is None:
        return fmt_pct(None)
    return fmt_with_interval(rate.value, rate.ci, fmt_pct)


def _name(row: Row) -> str:
    tags = [t for t, on in (("cheapest", row.cheapest), ("recommended", row.recommended)) if on]
    if row.infeasible:
        return f"{_cell(row.v.variant)} (infeasible)"
    return f"**{_cell(row.v.variant)}** ({', '.join(tags)})" if tags else _cell(row.v.variant)


def _row(row: Row, with_monthly: bool) -> str:
    v, c = row.v, row.v.client_ms
    cells = [
        _name(row),
        fmt_mb(v.memory_mb),
        v.path,
        fmt_int(v.invocations),
        fmt_int(v.errors),
        fmt_int(v.cold_starts),
        _cold_rate(v),
        fmt_with_interval(c.p50, c.p50_ci),
        fmt_with_interval(c.p95, c.p95_ci),
        fmt_with_interval(c.p99, c.p99_ci),
        fmt_int(c.n),
        fmt_with_interval(v.billed_ms_mean.value, v.billed_ms_mean.ci),
        fmt_with_interval(v.cost_per_million_usd, v.cost_per_million_ci, fmt_usd),
    ]
    if with_monthly:
        cells.append(fmt_money(row.candidate.monthly_usd) if row.candidate is not None else fmt_money(None))
    return "| " + " | ".join(cells) + " |"


def _top(summary: RunSummary, recommendation: Recommendation | None) -> list[str]:
    if recommendation is None:
        return [f"**{_cell(cheapest_headline(summary))}**"]
    text = decision_text(recommendation)
    lines = [f"**{_cell(text.memory)}**", *[_cell(w) for w in text.memory_why]]
    if text.provisioned:
        lines += ["", f"**{_cell(text.provisioned)}**", *[_cell(w) for w in text.provisioned_why]]
    sure = [_cell(s) for s in (text.sure, *[f"Sensitivity: {s}" for s in text.sensitivity]) if s]
    if sure:
        lines += ["", *sure]
    lines += ["", f"_{_cell(text.decided_for)}_"]
    return lines


def render_markdown(
    summary: RunSummary, recommendation: Recommendation | None = None, *, run_info: Mapping[str, Any] | None = None
) -> str:
    """The decision (or the cheapest headline), the table, the infeasible variants and the checks;
    with ``run_info``, also the target, date, load and versions line of the report's top."""
    with_monthly = recommendation is not None
    columns = _COLUMNS + ((_MONTHLY,) if with_monthly else ())
    header = "| " + " | ".join(name for name, _ in columns) + " |\n|" + "|".join(a for _, a in columns) + "|"
    rows = [_row(row, with_monthly) for row in table_rows(summary, recommendation)]
    intervals = (
        f"Brackets: {summary.confidence:.0%} intervals (percentiles: order statistics; "
        "means and cost: Student t; cold rate: Wilson). Cheapest: the lowest cost per million as measured "
        "on its path" + ("; recommended: the decision's pick, on the path of your traffic." if with_monthly else ".")
    )
    parts = _top(summary, recommendation)
    if run_info is not None:
        parts += ["", " \u00b7 ".join(f"{label}: {_cell(text)}" for label, text in context_facts(run_info, summary))]
    parts += ["", header, *rows, "", intervals]
    if recommendation is not None and recommendation.infeasible:
        parts += [
            "",
            "Infeasible variants:",
            *[f"- {_cell(line)}" for line in decision_text(recommendation).infeasible],
        ]
    checks = [f"- {_cell(line)}" for line in check_lines(summary)]
    if checks:
        parts += ["", *checks]
    return "\n".join(parts) + "\n"
