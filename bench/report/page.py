"""The HTML report: one self-contained page (inline CSS and SVG, no scripts or network).

The page is built around the decision. Its top says which memory size and how much provisioned
concurrency, each with its monthly cost for the user's traffic and its saving, how sure, and
where, when and how the run was measured; then the charts; then the evidence (what the decision
weighed, every variant's figures with their n and 95% intervals, folded checks, warm and cold,
the API Gateway paths, errors, the run's facts and how each figure is made). Without a
recommendation the top names the cheapest variant as measured, as before the decision stage.

``render_html`` gathers a view of the run (bench/report/rows.py, decision.py, figures.py,
runinfo.py) and hands it to templates/report.html.j2 and its parts. Jinja autoescapes
everything, so a function name or endpoint cannot inject markup.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import asdict
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined

from bench.analysis import CONFIDENCE, RunSummary, compare_paths, min_n_for_quantile_ci
from bench.decide import Candidate, Recommendation

from .components import split_measured
from .decision import CASES, baseline, cheapest_headline, decision_text, pc_option
from .figures import report_charts
from .formatting import (
    cold_share_of_billed,
    fmt_int,
    fmt_interval,
    fmt_mb,
    fmt_money,
    fmt_ms,
    fmt_pct,
    fmt_share,
    fmt_usd,
    interval_title,
)
from .rows import PATH_NAMES, by_path, fold_warnings, paths_vary, table_rows, traffic_path
from .runinfo import context_facts, run_facts

TEMPLATE = "report.html.j2"
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
        ms=fmt_ms, usd=fmt_usd, int=fmt_int, mb=fmt_mb, pct=fmt_pct, ci=fmt_interval, ci_title=interval_title,
        money=fmt_money, share=fmt_share,
    )  # fmt: skip
    env.globals.update(
        fmt_ms=fmt_ms, fmt_usd=fmt_usd, fmt_pct=fmt_pct, fmt_interval=fmt_interval, cold_share=cold_share_of_billed
    )
    return env


def _candidate_rows(rec: Recommendation) -> list[tuple[Candidate, list[str]]]:
    """The decision's candidates by memory, each with its roles (pick, runner-up, baseline...)."""
    base = baseline(rec)
    out = []
    for c in sorted(rec.candidates, key=lambda c: c.memory_mb):
        roles = []
        if c.variant == rec.memory.variant:
            roles.append("pick")
        if c.variant == rec.memory.runner_up:
            roles.append("runner-up")
        if c.variant == rec.memory.power_tuning_pick:
            roles.append("power-tuning's pick")
        if base is not None and c.variant == base.candidate.variant:
            roles.append(f"baseline ({base.why})")
        out.append((c, roles))
    return out


def _decision_view(rec: Recommendation | None) -> dict[str, Any]:
    if rec is None:
        return {"rec": None, "decision": None}
    text = decision_text(rec)
    pc = rec.provisioned_concurrency
    return {
        "rec": rec,
        "decision": text,
        "decided_for": text.decided_for,
        "traffic_path": traffic_path(rec),
        "slo_percentile": rec.decision.get("slo_percentile", 95),
        "candidate_rows": _candidate_rows(rec),
        "pc_chosen": pc_option(pc) if pc is not None else None,
        "pc_case": CASES.get(pc.case, pc.case) if pc is not None else None,
        "infeasible_lines": text.infeasible,
    }


def render_html_text(
    summary: RunSummary, run_info: Mapping[str, Any], recommendation: Recommendation | None = None
) -> str:
    """The report page as a string."""
    rows = table_rows(summary, recommendation)
    charts = report_charts(summary, recommendation)
    chart_notes = [f"No concurrency timeline for {c.variant} ({c.path}): {c.error}" for c in summary.concurrency
                   if c.error]  # fmt: skip
    if summary.variants and not summary.cdfs:
        chart_notes.append("No latency CDFs: a results.json before version 3 did not record them.")
    if summary.variants and not summary.concurrency:
        chart_notes.append("No concurrency timeline: a results.json before version 3 did not record it.")
    splits = {(v.variant, v.path): split_measured(v, summary.architecture, summary.region) for v in summary.variants}
    return (
        _environment()
        .get_template(TEMPLATE)
        .render(
            summary=summary,
            title=f"lambench: {run_info.get('function') or 'function'} on {run_info.get('target') or 'unknown target'}",
            headline=cheapest_headline(summary),
            context=context_facts(run_info, summary),
            facts=run_facts(run_info, summary),
            charts=charts,
            chart_notes=chart_notes,
            groups=by_path(rows),
            paths_vary=paths_vary(summary),
            path_names=PATH_NAMES,
            splits={key: (asdict(split) if split else None) for key, split in splits.items()},
            folded_warnings=fold_warnings(summary),
            with_errors=[v for v in summary.variants if v.errors],
            split_known=any(v.client_ms_warm is not None for v in summary.variants),
            gateway_rows=compare_paths(summary),
            min_n=MIN_N_FOR,
            prices_statement=summary.prices_statement,
            prices_source=summary.prices.source,
            **_decision_view(recommendation),
        )
    )


def render_html(
    summary: RunSummary,
    run_info: Mapping[str, Any],
    path: str | os.PathLike[str],
    recommendation: Recommendation | None = None,
) -> Path:
    """Write the report page to ``path`` (creating its folder) and return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html_text(summary, run_info, recommendation), encoding="utf-8")
    return path
