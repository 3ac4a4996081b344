"""A short Markdown table of a run, for CI job summaries and pull-request comments.

Figures carry their 95% interval in brackets ("123.4 [118.0–130.2]"), or "no interval"
when n is too small for one; the checks (can the data separate the cheapest variant from
the next; which variants look unstable) follow the table.
"""

from __future__ import annotations

from bench.analysis import RunSummary, VariantSummary
from bench.report.formatting import (
    fmt_int,
    fmt_interval,
    fmt_mb,
    fmt_pct,
    fmt_usd,
    fmt_with_interval,
)

_HEADER = (
    "| Variant | Memory MB | Path | Invocations | Errors | Cold starts | Cold rate "
    "| Client p50 ms | Client p95 ms | Client p99 ms | n | Billed mean ms | Cost per 1M USD |\n"
    "|---|--:|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|"
)


def _cell(text: str) -> str:
    # A pipe in a variant name would split the cell.
    return text.replace("|", "\\|")


def _cold_rate(v: VariantSummary) -> str:
    rate = v.cold_rate
    if rate is None or rate.value is None:
        return fmt_pct(None)
    return fmt_with_interval(rate.value, rate.ci, fmt_pct)


def _row(v: VariantSummary, cheapest: bool) -> str:
    name = f"**{_cell(v.variant)}** (cheapest)" if cheapest else _cell(v.variant)
    c = v.client_ms
    cells = (
        name,
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
    )
    return "| " + " | ".join(cells) + " |"


def headline(summary: RunSummary) -> str:
    """One sentence naming the cheapest variant (its cost with interval), or saying why there is none."""
    if summary.cheapest is None:
        return "No variant completed an invocation with billed data, so none is the cheapest."
    best = next(v for v in summary.variants if v.variant == summary.cheapest)
    memory = f"{best.memory_mb} MB, " if best.memory_mb is not None else ""
    ci = best.cost_per_million_ci
    interval = f" {fmt_interval(ci, fmt_usd)}" if ci is not None and ci.known else ""
    text = (
        f"Cheapest: {best.variant} ({memory}{summary.architecture}), "
        f"{fmt_usd(best.cost_per_million_usd)}{interval} USD per million invocations ({best.path})."
    )
    check = summary.cheapest_check
    if check is not None and not check.separated:
        text += f" The data cannot tell it from {check.runner_up}; see the checks."
    return text


def check_lines(summary: RunSummary) -> list[str]:
    """The checks as sentences, warnings first marked "Warning:"."""
    lines = []
    check = summary.cheapest_check
    if check is not None:
        lines.append(check.message if check.separated else f"Warning: {check.message}")
    lines += [f"Warning: {v.variant} ({v.path}), {w}" for v in summary.variants for w in v.warnings]
    return lines


def render_markdown(summary: RunSummary) -> str:
    """The headline, one table row per variant and path (cheapest in bold), then the checks."""
    rows = [_row(v, v.variant == summary.cheapest) for v in summary.variants]
    checks = [f"- {_cell(line)}" for line in check_lines(summary)]
    intervals = (
        f"Brackets: {summary.confidence:.0%} intervals (percentiles: order statistics; "
        "means and cost: Student t; cold rate: Wilson)."
    )
    parts = [f"**{headline(summary)}**", "", _HEADER, *rows, "", intervals]
    if checks:
        parts += ["", *checks]
    return "\n".join(parts) + "\n"
