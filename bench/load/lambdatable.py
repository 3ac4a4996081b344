"""The Lambda table of Locust's web UI and of its --html report: one row per variant and path.

Every figure comes from bench.analysis's RunSummary (HDR histograms through Sample, its one
percentile rule) and the decision stage's Recommendation; this module only words and rounds
them. Beside the cost, each row says whose prices it is in (the run's region's, or us-east-1's
and why: bench/analysis/pricing.py), as the report does. It imports neither Locust nor Flask,
so what the tab shows can be checked on plain data.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any

from ..analysis import Percentiles, RunSummary, VariantSummary
from ..analysis.pricing import PER_CALL
from ..decide import Recommendation

# (key, title). Locust's UI turns snake_case keys into camelCase in both the table's structure
# and its rows, so the two match whatever the spelling.
VARIANT_COLUMNS: tuple[tuple[str, str], ...] = (
    ("variant", "Variant"),
    ("path", "Path"),
    ("invocations", "Invocations"),
    ("errors", "Errors by type"),
    ("throttles", "Throttles"),
    ("cold_starts", "Cold starts"),
    ("cold_rate", "Cold rate"),
    ("client_p50", "Client p50 ms"),
    ("client_p95", "Client p95"),
    ("client_p99", "Client p99"),
    ("duration_p50", "Duration p50 ms"),
    ("duration_p95", "Duration p95"),
    ("duration_p99", "Duration p99"),
    ("billed_mean", "Billed mean ms"),
    ("memory_used", "Max Memory Used / MB"),
    ("cost", "$ per million"),
    ("prices", "Prices"),
    ("recommendation", "Decision"),
)
RUN_COLUMNS: tuple[tuple[str, str], ...] = (
    ("run", "Run"),
    ("state", "State"),
    ("invocations", "Invocations"),
    ("recommendation", "Recommendation"),
    ("report", "Report"),
)
NO_DATA = "–"


def number(value: float | None) -> str:
    """A figure at a precision its reader can use: 3 significant digits, no exponent."""
    if value is None:
        return NO_DATA
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def _percentiles(prefix: str, p: Percentiles) -> dict[str, str]:
    return {f"{prefix}_p50": number(p.p50), f"{prefix}_p95": number(p.p95), f"{prefix}_p99": number(p.p99)}


def _errors(v: VariantSummary) -> str:
    if not v.errors:
        return "0"
    by_type = ", ".join(f"{name} {count}" for name, count in v.errors_by_type.items())
    return f"{v.errors} ({by_type})" if by_type else str(v.errors)


def _memory(v: VariantSummary) -> str:
    used = v.max_memory_used_mb.value
    configured = str(v.memory_mb) if v.memory_mb is not None else "?"
    return f"{NO_DATA if used is None else f'{used:.0f}'} / {configured}"


def _cold(v: VariantSummary) -> tuple[str, str]:
    if v.cold_starts is None:
        return NO_DATA, NO_DATA
    rate = v.cold_rate.value if v.cold_rate is not None else None
    return str(v.cold_starts), NO_DATA if rate is None else f"{rate:.1%}"


def _verdicts(recommendation: Recommendation | None, traffic_path: str) -> dict[tuple[str, str], str]:
    """Each (variant, path)'s word from the decision: recommended, runner-up, or why not feasible."""
    if recommendation is None:
        return {}
    words: dict[tuple[str, str], str] = {}
    for infeasible in recommendation.infeasible:
        # The reason is a sentence: the report and the run's line above the table carry it.
        words[(infeasible.variant, traffic_path)] = "not feasible"
    pick = recommendation.memory
    if pick.runner_up:
        words[(pick.runner_up, traffic_path)] = "runner-up"
    if pick.variant:
        words[(pick.variant, traffic_path)] = "recommended"
    return words


def variant_rows(
    summary: RunSummary, recommendation: Recommendation | None = None, traffic_path: str = "direct"
) -> list[dict[str, Any]]:
    """The tab's rows: one per variant and path, every value a display string (keys: VARIANT_COLUMNS)."""
    verdicts = _verdicts(recommendation, traffic_path)
    rows = []
    for v in summary.variants:
        cold_starts, cold_rate = _cold(v)
        rows.append(
            {
                "variant": v.variant,
                "path": v.path,
                "invocations": v.invocations,
                "errors": _errors(v),
                "throttles": v.errors_by_status.get("throttled", 0),
                "cold_starts": cold_starts,
                "cold_rate": cold_rate,
                **_percentiles("client", v.client_ms),
                **_percentiles("duration", v.duration_ms),
                "billed_mean": number(v.billed_ms_mean.value),
                "memory_used": _memory(v),
                "cost": NO_DATA if v.cost_per_million_usd is None else f"{v.cost_per_million_usd:.4f}",
                "prices": summary.prices.statement(summary.architecture, [v.path], PER_CALL),
                "recommendation": verdicts.get((v.variant, v.path), ""),
            }
        )
    return rows


def recommendation_sentence(recommendation: Recommendation | None) -> str:
    if recommendation is None:
        return "not yet decided"
    pick = recommendation.memory
    if pick.variant is None:
        return f"none: {pick.reason}"
    return f"{pick.memory_mb} MB ({pick.strategy}): {pick.reason}"


def html_table(rows: Sequence[Mapping[str, Any]], columns: Sequence[tuple[str, str]] = VARIANT_COLUMNS) -> str:
    """A plain, escaped HTML table of the rows (for Locust's --html report, which has no hook for one)."""
    head = "".join(f"<th>{html.escape(title)}</th>" for _, title in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(row.get(key, '')))}</td>" for key, _ in columns) + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
