"""The one-screen summary table printed at the end of ``lambench run`` (rich).

Narrow on purpose: it must stay readable in an 80-column CI log, so it carries only the interval
that decides the run (cost, as "±" half-width of its 95% interval), marks tail percentiles too
thin for an interval with "~", writes a second and more as seconds ("1.05 s": a 1 s function's
"1,050.2~" would not fit its column), and puts the decision and the checks in its caption.
Marks follow the row's name: "*" the cheapest on its path, "R" the recommended size on the path
of the user's traffic, "x" a variant the decision excluded. Columns are two spaces apart, or
one where 80 columns would not hold two (a gateway path with marks, seconds and "~" everywhere).
"""

from __future__ import annotations

from rich import box
from rich.table import Table

from bench.analysis import Percentiles, RunSummary, VariantSummary
from bench.decide import Recommendation

from .decision import on_demand_share, pc_option
from .formatting import NO_DATA, fmt_int, fmt_money, fmt_ms_short, fmt_pct, fmt_share, fmt_usd
from .rows import Row, fold_warnings, table_rows, traffic_path

COLUMNS = ("MB", "calls", "errors", "cold", "p50", "p95", "p99", "billed\nmean", "USD/1M", "\u00b1")
THIN = "~"
WIDTH = 80  # a CI log's width
SHORT_PATHS = {"apigw-http": "http", "apigw-rest": "rest"}


def _q(stat: Percentiles, name: str) -> str:
    # "~": the figure stands, but n is too small for its interval (p95 needs 72, p99 368). In
    # front, so that the digits of a column stay aligned.
    interval = stat.interval(name)
    value = getattr(stat, name)
    thin = interval is not None and not interval.known and value is not None
    return (THIN if thin else "") + fmt_ms_short(value)


def _cold(v: VariantSummary) -> str:
    if v.cold_rate is None or v.cold_rate.value is None:
        return fmt_int(v.cold_starts)
    return fmt_pct(v.cold_rate.value)


def _usd(value: float | None) -> str:
    # Four decimals tell 0.8231 from 0.8018; above $10 a million, two are as telling and fit.
    return f"{value:,.2f}" if value is not None and value >= 10 else fmt_usd(value)


def _half_width(v: VariantSummary) -> str:
    ci = v.cost_per_million_ci
    if ci is None or ci.lo is None or ci.hi is None:
        return NO_DATA
    return f"{(ci.hi - ci.lo) / 2:.4f}"


def _name(row: Row) -> str:
    v = row.v
    name = str(v.memory_mb) if v.memory_mb is not None else v.variant
    if v.path != "direct":
        name += " " + SHORT_PATHS.get(v.path, v.path)
    marks = ("*" if row.cheapest else "") + ("R" if row.recommended else "") + ("x" if row.infeasible else "")
    return f"{name} {marks}" if marks else name


def _decision_lines(rec: Recommendation) -> list[str]:
    pick = rec.memory
    if pick.variant is None:
        return [f"no recommendation: {pick.reason}"]
    candidate = next((c for c in rec.candidates if c.variant == pick.variant), None)
    cost = f", {fmt_money(candidate.monthly_usd)}/month for your traffic" if candidate else ""
    size = f"{pick.memory_mb} MB" if pick.memory_mb is not None else pick.variant
    sure = None
    if pick.runner_up is not None and pick.separated is not None:
        sure = "separated from" if pick.separated else "NOT separated from"
    runner = next((f"{c.memory_mb} MB" for c in rec.candidates if c.variant == pick.runner_up), pick.runner_up)
    lines = [f"R pick: {size} ({pick.strategy}){cost}" + (f"; {sure} {runner}" if sure else "")]
    pc = rec.provisioned_concurrency
    if pc is not None:
        budget = fmt_share(rec.decision.get("cold_start_budget"))
        if pc.count == 0:
            lines.append(f"PC: none; {fmt_share(pc.predicted_cold_share)} of requests cold (budget {budget})")
        else:
            option = pc_option(pc)
            when = "always on" if option is None or option.hours_per_day >= 24 else f"{option.hours_per_day:g} h/day"
            before = on_demand_share(pc, rec)
            on_demand = fmt_money(pc.on_demand_monthly_usd)
            lines.append(f"PC: {pc.count} {when}, {fmt_money(pc.monthly_usd)}/month (on demand {on_demand})")
            # Its own line: the caption wraps at the table's width, which can be under 80.
            cut = f"{fmt_share(before)} -> {fmt_share(pc.predicted_cold_share)}"
            lines.append(f"    requests cold: {cut} (budget {budget})")
    return lines


def _caption(summary: RunSummary, rec: Recommendation | None) -> str:
    lines = [
        "p50/p95/p99: client latency, ms or s; ~ too few samples for an interval;",
        "cold: cold-start rate; \u00b1: 95% interval of USD/1M; * cheapest on its path",
    ]
    if rec is not None:
        lines.append(f"R recommended for your traffic ({traffic_path(rec)}); x infeasible (see the report)")
        lines += _decision_lines(rec)
    check = summary.cheapest_check
    if check is not None and not check.separated:
        lines.append(f"WARNING: the data cannot tell {check.cheapest} from {check.runner_up} (see the report)")
    warnings = []
    for folded in fold_warnings(summary):
        kind = folded.kind.split(":")[0]  # "warm duration": its two checks read as one line here
        every = len(folded.rows) == len(summary.variants) > 1
        names = f"all {len(folded.rows)} rows" if every else ", ".join(label for label, _ in folded.rows)
        warnings.append(f"WARNING: unstable {kind}: {names} (see the report)")
    return "\n".join(lines + list(dict.fromkeys(warnings)))


def _cells(row: Row) -> tuple[str, ...]:
    v = row.v
    return (
        _name(row),
        fmt_int(v.invocations),
        fmt_int(v.errors),
        _cold(v),
        _q(v.client_ms, "p50"),
        _q(v.client_ms, "p95"),
        _q(v.client_ms, "p99"),
        fmt_ms_short(v.billed_ms_mean.value),
        _usd(v.cost_per_million_usd),
        _half_width(v),
    )


def summary_table(summary: RunSummary, recommendation: Recommendation | None = None) -> Table:
    """The summary table (80 columns), with the decision in its caption when there is one."""
    rows = [_cells(row) for row in table_rows(summary, recommendation)]
    widths = [max(len(line) for line in heading.split("\n")) for heading in COLUMNS]
    for cells in rows:
        widths = [max(w, len(cell)) for w, cell in zip(widths, cells, strict=True)]
    # Two spaces between columns where 80 columns hold them, else one: never an ellipsis.
    gap = 1 if sum(widths) + 2 * (len(widths) - 1) <= WIDTH else 0
    table = Table(
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
        padding=(0, gap),
        collapse_padding=True,
        title=f"lambench: {summary.architecture}, {summary.prices_statement}",
        caption=_caption(summary, recommendation),
        caption_justify="left",
    )
    for heading in COLUMNS:
        table.add_column(heading, justify="left" if heading == "MB" else "right", no_wrap=True)
    for cells in rows:
        table.add_row(*cells)
    return table
