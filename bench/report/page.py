"""The HTML report: one self-contained page (inline CSS and SVG, no scripts or network).

``render_html`` builds a small view of the run (facts, chart markup, checks) and hands it,
with the RunSummary itself, to templates/report.html.j2. Every figure is shown with its n
and its 95% interval, or says why it has none; the Checks section carries pyperf-style
warnings (unstable samples, a cheapest variant the data cannot separate from the next).
Jinja autoescapes everything the caller gave, so a function name or endpoint cannot inject
markup.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from bench.analysis import CONFIDENCE, RunSummary, VariantSummary, compare_paths, min_n_for_quantile_ci
from bench.awsfacts import PRICES_SOURCE
from bench.report.charts import Series, bar_chart
from bench.report.formatting import (
    cold_share_of_billed,
    fmt_fact,
    fmt_int,
    fmt_interval,
    fmt_mb,
    fmt_ms,
    fmt_pct,
    fmt_usd,
    interval_title,
)
from bench.report.markdown import headline

TEMPLATE = "report.html.j2"
# Run facts every report shows, "not recorded" when the caller lacks them, then the rest.
_SHOWN_ALWAYS = {"target", "function", "cpu_mode", "load"}
_FACT_ORDER = (
    ("run_id", "Run"),
    ("target", "Target"),
    ("endpoint", "Endpoint"),
    ("function", "Function"),
    ("runtime", "Runtime"),
    ("runtime_note", "Runtime note"),
    ("architecture", "Architecture"),
    ("cpu_mode", "CPU mode"),
    ("load", "Load"),
    ("started", "Started"),
    ("finished", "Finished"),
)
# The n each percentile needs for a 95% order-statistic interval (6, 72 and 368); a
# percentile without an interval is shown faint.
MIN_N_FOR = {q: min_n_for_quantile_ci(p, CONFIDENCE) for q, p in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99))}


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("bench.report", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        ms=fmt_ms, usd=fmt_usd, int=fmt_int, mb=fmt_mb, pct=fmt_pct, ci=fmt_interval, ci_title=interval_title
    )
    env.globals.update(
        fmt_ms=fmt_ms, fmt_usd=fmt_usd, fmt_pct=fmt_pct, fmt_interval=fmt_interval, cold_share=cold_share_of_billed
    )
    return env


def run_facts(run_info: Mapping[str, Any], summary: RunSummary) -> list[tuple[str, str]]:
    """(label, text) pairs: the known facts in a fixed order, then any others the caller gave."""
    info = {"architecture": summary.architecture, **run_info}
    known = dict(_FACT_ORDER)
    facts = [(label, fmt_fact(info.get(key))) for key, label in _FACT_ORDER if key in info or key in _SHOWN_ALWAYS]
    extra = [(key.replace("_", " ").capitalize(), fmt_fact(value)) for key, value in info.items() if key not in known]
    return facts + extra


def _label(v: VariantSummary, paths_vary: bool) -> str:
    name = f"{v.memory_mb} MB" if v.memory_mb is not None else v.variant
    return f"{name} {v.path}" if paths_vary else name


def _bounds(interval) -> tuple[float, float] | None:
    return (interval.lo, interval.hi) if interval is not None and interval.known else None


def charts(summary: RunSummary) -> dict[str, Markup]:
    """The latency chart (client p50 and p95) and the cost chart, cheapest bar highlighted,
    each bar with its 95% interval as a whisker where it has one."""
    variants = summary.variants
    paths_vary = len({v.path for v in variants}) > 1
    labels = [_label(v, paths_vary) for v in variants]
    cheapest = next((i for i, v in enumerate(variants) if v.variant == summary.cheapest), None)
    latency = bar_chart(
        title="Client latency p50 and p95 by memory size",
        labels=labels,
        axis_label="ms",
        series=[
            Series("p50", [v.client_ms.p50 for v in variants], [_bounds(v.client_ms.p50_ci) for v in variants]),
            Series("p95", [v.client_ms.p95 for v in variants], [_bounds(v.client_ms.p95_ci) for v in variants]),
        ],
        fmt=lambda x: f"{x:,.0f}" if x >= 100 else f"{x:,.1f}",
    )
    cost = bar_chart(
        title="Cost per million invocations by memory size",
        labels=labels,
        axis_label="USD",
        series=[
            Series(
                "cost", [v.cost_per_million_usd for v in variants], [_bounds(v.cost_per_million_ci) for v in variants]
            )
        ],
        fmt=lambda x: f"{x:,.2f}",
        highlight=cheapest,
    )
    return {"latency": latency, "cost": cost}


def render_html_text(summary: RunSummary, run_info: Mapping[str, Any]) -> str:
    """The report page as a string."""
    return (
        _environment()
        .get_template(TEMPLATE)
        .render(
            summary=summary,
            run=run_info,
            title=f"lambench: {run_info.get('function') or 'function'} on {run_info.get('target') or 'unknown target'}",
            headline=headline(summary),
            facts=run_facts(run_info, summary),
            paths_vary=len({v.path for v in summary.variants}) > 1,
            charts=charts(summary),
            with_errors=[v for v in summary.variants if v.errors],
            with_warnings=[v for v in summary.variants if v.warnings],
            split_known=any(v.client_ms_warm is not None for v in summary.variants),
            gateway_rows=compare_paths(summary),
            min_n=MIN_N_FOR,
            prices_source=PRICES_SOURCE,
        )
    )


def render_html(summary: RunSummary, run_info: Mapping[str, Any], path: str | os.PathLike) -> Path:
    """Write the report page to ``path`` (creating its folder) and return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html_text(summary, run_info), encoding="utf-8")
    return path
