"""A short Markdown table of a run, for CI job summaries and pull-request comments."""

from __future__ import annotations

from bench.analysis.summary import RunSummary, VariantSummary
from bench.report.formatting import fmt_int, fmt_mb, fmt_ms, fmt_usd

_HEADER = (
    "| Variant | Memory MB | Path | Invocations | Errors | Cold starts "
    "| Client p50 ms | Client p95 ms | Client p99 ms | Billed mean ms | Cost per 1M USD |\n"
    "|---|--:|---|--:|--:|--:|--:|--:|--:|--:|--:|"
)


def _cell(text: str) -> str:
    # A pipe in a variant name would split the cell.
    return text.replace("|", "\\|")


def _row(v: VariantSummary, cheapest: bool) -> str:
    name = f"**{_cell(v.variant)}** (cheapest)" if cheapest else _cell(v.variant)
    cells = (
        name, fmt_mb(v.memory_mb), v.path, fmt_int(v.invocations), fmt_int(v.errors),
        fmt_int(v.cold_starts), fmt_ms(v.client_ms.p50), fmt_ms(v.client_ms.p95),
        fmt_ms(v.client_ms.p99), fmt_ms(v.billed_ms_mean.value), fmt_usd(v.cost_per_million_usd),
    )
    return "| " + " | ".join(cells) + " |"


def headline(summary: RunSummary) -> str:
    """One sentence naming the cheapest variant, or saying why there is none."""
    if summary.cheapest is None:
        return "No variant completed an invocation with billed data, so none is the cheapest."
    best = next(v for v in summary.variants if v.variant == summary.cheapest)
    memory = f"{best.memory_mb} MB, " if best.memory_mb is not None else ""
    return (
        f"Cheapest: {best.variant} ({memory}{summary.architecture}), "
        f"{fmt_usd(best.cost_per_million_usd)} USD per million invocations ({best.path})."
    )


def render_markdown(summary: RunSummary) -> str:
    """The headline and one table row per variant and path, cheapest in bold."""
    rows = [_row(v, v.variant == summary.cheapest) for v in summary.variants]
    return "\n".join([f"**{headline(summary)}**", "", _HEADER, *rows]) + "\n"
