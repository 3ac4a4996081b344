"""The one-screen summary table printed at the end of ``lambench run`` (rich).

Narrow on purpose: it must stay readable in an 80-column CI log.
"""

from __future__ import annotations

from rich import box
from rich.table import Table

from .formatting import fmt_int, fmt_ms, fmt_usd

COLUMNS = ("MB", "invokes", "errors", "cold", "p50", "p95", "p99", "duration\np50", "billed\nmean", "USD/1M")


def summary_table(summary) -> Table:
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, padding=(0, 1), collapse_padding=True,
                  title=f"lambench: {summary.architecture}, us-east-1 prices",
                  caption="p50/p95/p99: client latency; all times in ms; * cheapest")
    for heading in COLUMNS:
        table.add_column(heading, justify="right", no_wrap=True)
    for v in summary.variants:
        memory = str(v.memory_mb) if v.memory_mb is not None else v.variant
        cost = fmt_usd(v.cost_per_million_usd) + (" *" if v.variant == summary.cheapest else "  ")
        table.add_row(
            memory, fmt_int(v.invocations), fmt_int(v.errors), fmt_int(v.cold_starts),
            fmt_ms(v.client_ms.p50), fmt_ms(v.client_ms.p95), fmt_ms(v.client_ms.p99),
            fmt_ms(v.duration_ms.p50), fmt_ms(v.billed_ms_mean.value), cost,
        )
    return table
