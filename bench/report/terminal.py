"""The one-screen summary table printed at the end of ``lambench run`` (rich).

Narrow on purpose: it must stay readable in an 80-column CI log, so it carries only the
interval that decides the run (cost, as "±" half-width of its 95% interval), marks tail
percentiles too thin for an interval with "~", and puts the checks in its caption.
"""

from __future__ import annotations

from rich import box
from rich.table import Table

from .formatting import NO_DATA, fmt_int, fmt_ms, fmt_pct, fmt_usd

COLUMNS = ("MB", "invokes", "errors", "cold", "p50", "p95", "p99", "billed\nmean", "USD/1M", "\u00b1")
THIN = "~"
SHORT_PATHS = {"apigw-http": "http", "apigw-rest": "rest"}


def _q(stat, name: str) -> str:
    # "~": the figure stands, but n is too small for its interval (p95 needs 72, p99 368).
    interval = stat.interval(name)
    thin = interval is not None and not interval.known and getattr(stat, name) is not None
    return fmt_ms(getattr(stat, name)) + (THIN if thin else " ")


def _cold(v) -> str:
    if v.cold_rate is None or v.cold_rate.value is None:
        return fmt_int(v.cold_starts)
    return fmt_pct(v.cold_rate.value)


def _half_width(v) -> str:
    ci = v.cost_per_million_ci
    if ci is None or not ci.known:
        return NO_DATA
    return f"{(ci.hi - ci.lo) / 2:.4f}"


def _caption(summary) -> str:
    lines = [
        "p50/p95/p99: client latency, ms; ~ too few samples for an interval;",
        "cold: cold-start rate; \u00b1: 95% interval of USD/1M; * cheapest",
    ]
    check = summary.cheapest_check
    if check is not None and not check.separated:
        lines.append(f"WARNING: the data cannot tell {check.cheapest} from {check.runner_up} (see the report)")
    unstable = list(dict.fromkeys(v.variant for v in summary.variants if v.warnings))
    if unstable:
        lines.append(f"WARNING: unstable: {', '.join(unstable)} (see the report)")
    return "\n".join(lines)


def summary_table(summary) -> Table:
    table = Table(
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        padding=(0, 1),
        collapse_padding=True,
        title=f"lambench: {summary.architecture}, us-east-1 prices",
        caption=_caption(summary),
    )
    for heading in COLUMNS:
        table.add_column(heading, justify="right", no_wrap=True)
    for v in summary.variants:
        memory = str(v.memory_mb) if v.memory_mb is not None else v.variant
        if v.path != "direct":
            memory += " " + SHORT_PATHS.get(v.path, v.path)
        cost = fmt_usd(v.cost_per_million_usd) + (" *" if v.variant == summary.cheapest else "  ")
        table.add_row(
            memory,
            fmt_int(v.invocations),
            fmt_int(v.errors),
            _cold(v),
            _q(v.client_ms, "p50"),
            _q(v.client_ms, "p95"),
            _q(v.client_ms, "p99"),
            fmt_ms(v.billed_ms_mean.value),
            cost,
            _half_width(v),
        )
    return table
