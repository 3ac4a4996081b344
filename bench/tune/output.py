"""The one JSON object ``lambench tune`` prints: APLT's output, plus what lambench adds under ``lambench``.

APLT's fields (analyzer.js:58-80): ``power``, ``cost`` (averagePrice, USD per call) and
``duration`` (averageDuration, ms) of the pick; ``stateMachine`` with ``lambdaCost`` (the sum of
every size's totalCost) and ``visualization`` (here our own report.html, as a file URI), and
``executionCost``, which is Step Functions' and therefore 0 here; ``stats``, one entry per size
measured ({value, averagePrice, averageDuration, totalCost}, in powerValues order).

``lambench``: the mode and why it stopped, invocations and dollars spent tuning (list prices
in the function's region, named in ``prices``; requests and INIT included, unlike
lambdaCost), the pick's intervals, the runner-up and the test between them, infeasible sizes
with their errors, cold-start figures, the model and its predictions (adaptive), and the run
folder's files.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.analysis.stats import Interval, mean_ci
from bench.tune.exhaustive import SizeStats
from bench.tune.sampler import SizeData, Spent


def interval_dict(interval: Interval) -> dict[str, Any]:
    return {"lo": interval.lo, "hi": interval.hi, "confidence": interval.confidence, "method": interval.method}


def pick_intervals(size: SizeData, base_cost: float, confidence: float, cold: bool) -> dict[str, Any]:
    """Intervals of the pick's mean per-call price (APLT's formula) and duration; cold calls apart in warm mode."""
    from bench.analysis.cost import power_tuning_cost

    calls = [r for r in size.samples if cold or not r.cold]
    prices = [power_tuning_cost(float(r.billed_ms or 0), size.memory_mb, base_cost) for r in calls]
    durations = [(r.duration_ms or 0.0) + (r.init_ms or 0.0) for r in calls]
    return {
        "calls": len(calls),
        "cost": interval_dict(mean_ci(prices, confidence, floor=0.0)),
        "duration_ms": interval_dict(mean_ci(durations, confidence, floor=0.0)),
    }


def cold_figures(sizes: Sequence[SizeData]) -> dict[str, Any]:
    """Cold starts seen while tuning, per size: how many, and their mean Init Duration."""
    out = {}
    for size in sizes:
        inits = size.inits_ms()
        if inits:
            out[str(size.memory_mb)] = {"cold_calls": len(inits), "init_ms_mean": sum(inits) / len(inits)}
    return out


def infeasible_list(sizes: Sequence[SizeData], presumed: dict[int, str]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = [
        {"power": s.memory_mb, "error": s.infeasible, "invocations": len(s.calls)} for s in sizes if s.infeasible
    ]
    found += [{"power": m, "error": why, "invocations": 0} for m, why in sorted(presumed.items())]
    return found


def aplt_output(
    stats: Sequence[SizeStats], order: Sequence[SizeStats], report_html: Path | None, lambench: dict[str, Any]
) -> dict[str, Any]:
    """APLT's output object for ``stats`` (powerValues order) and ``order`` (the analyzer's, best first)."""
    pick = order[0] if order else None
    ranked = {s.value for s in order}  # APLT sums totalCost over the sizes it could rank
    return {
        "power": None if pick is None else pick.value,
        "cost": None if pick is None else pick.average_price,
        "duration": None if pick is None else pick.average_duration,
        "stateMachine": {
            "executionCost": 0.0,
            "lambdaCost": sum(s.total_cost for s in stats if s.value in ranked),
            "visualization": None if report_html is None else report_html.resolve().as_uri(),
        },
        "stats": [s.as_aplt() for s in stats],
        "lambench": lambench,
    }


def spent_dict(spent: Spent) -> dict[str, Any]:
    return {"invocations": spent.invocations, "usd": spent.usd}
