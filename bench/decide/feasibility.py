"""Feasibility: which variants may never be recommended, and why, in one sentence each.

Issue 8, "What it decides" 1. Before any strategy ranks anything, a variant is set aside when,
on the path the user's traffic takes:

- it has no calls there at all (nothing measured it for this traffic);
- its error rate exceeds ``[decision] max_error_rate``. Every status but ``ok`` counts: function
  errors, timeouts, out-of-memory kills, throttles, client and transport errors. A variant that
  mostly runs out of memory can be "cheapest" from the calls that did succeed, and one answered
  by fast 429s can look fast; both are failures here, whatever their latency or price;
- its memory size is unknown, so it cannot be priced;
- its successful sample is too small for the figure asked of it: with strategy ``slo``, the
  order-statistic upper bound of the chosen percentile (n >= min_n_for_quantile_ci(q): 72 for
  p95); with any strategy, a few successful and billed calls for a price and an average.

The rule is the point estimate of the error rate against the threshold (what the settings
promise); its Wilson interval goes into the reason to say how sure that verdict is.
"""

from __future__ import annotations

from collections.abc import Mapping

from bench.analysis.model import RunSummary, VariantSummary
from bench.analysis.stats import CONFIDENCE, min_n_for_quantile_ci, proportion_ci
from bench.decide.model import Infeasible
from bench.decide.settings import DecisionSettings
from bench.records import PATHS

# aws-lambda-power-tuning refuses fewer than 5 invocations per size (lambda/initializer.js:85-86),
# below which its trimmed mean discards nothing (lambda/utils.js:587-592); and 4 against 4 is the
# least Mann-Whitney can separate at alpha 0.05 (2 / C(8, 4) = 0.029). Below 5, a price or an
# average is one or two calls' word.
MIN_OK_CALLS = 5
# Error kinds named in a reason, most frequent first; the rest are counted.
NAMED_KINDS = 3


def infeasible_variants(summary: RunSummary, decision: DecisionSettings, path: str) -> list[Infeasible]:
    """The variants of ``summary`` that cannot be recommended for traffic on ``path``, each with
    its reason, in the summary's order (by memory). ValueError for an unknown path."""
    if path not in PATHS:
        raise ValueError(f"path {path!r}: must be one of {', '.join(PATHS)}")
    by_variant: dict[str, list[VariantSummary]] = {}
    for v in summary.variants:
        by_variant.setdefault(v.variant, []).append(v)
    out = []
    for name, rows in by_variant.items():
        on_path = next((v for v in rows if v.path == path), None)
        if on_path is None:
            memory = next((v.memory_mb for v in rows if v.memory_mb is not None), None)
            others = ", ".join(v.path for v in rows)
            out.append(
                Infeasible(
                    name,
                    memory,
                    f"it has no calls on the {path} path (only {others}), so nothing measured it for this traffic",
                )
            )
            continue
        reason = infeasibility(on_path, decision)
        if reason is not None:
            out.append(Infeasible(name, on_path.memory_mb, reason))
    return out


def infeasibility(v: VariantSummary, decision: DecisionSettings) -> str | None:
    """Why this (variant, path) cannot be recommended, in one sentence; None when it can."""
    rate = v.errors / v.invocations if v.invocations else 0.0
    if rate > decision.max_error_rate:
        return _error_reason(v, rate, decision.max_error_rate)
    if v.memory_mb is None:
        return "its memory size is unknown (no REPORT line or alias named it), so it cannot be priced"
    if v.ok < MIN_OK_CALLS:
        return (
            f"only {v.ok} of its {v.invocations} calls succeeded; a price and an average need at least "
            f"{MIN_OK_CALLS} successful calls"
        )
    if v.billed_ms_mean.n < MIN_OK_CALLS:
        return (
            f"only {v.billed_ms_mean.n} of its calls have a billed duration (a REPORT line); a price needs at least "
            f"{MIN_OK_CALLS}"
        )
    if decision.strategy == "slo":
        q = decision.slo_percentile / 100
        need = min_n_for_quantile_ci(q)
        # Client latency counts ok calls only (bench/analysis/summary.py): that is the n that matters.
        if v.client_ms.n < need:
            return (
                f"only {v.client_ms.n} successful calls: a {CONFIDENCE:.0%} upper bound of its "
                f"p{decision.slo_percentile} (strategy slo) needs at least {need}"
            )
    return None


def _error_reason(v: VariantSummary, rate: float, threshold: float) -> str:
    ci = proportion_ci(v.errors, v.invocations)
    head = f"{pct(rate)} of its {v.invocations} calls failed ({what_failed(v)}), above max_error_rate {pct(threshold)}"
    assert ci.lo is not None and ci.hi is not None  # invocations > 0: Wilson's interval exists
    if ci.lo > threshold:
        return f"{head} ({CONFIDENCE:.0%} interval {pct(ci.lo)} to {pct(ci.hi)})"
    return f"{head}, though its {CONFIDENCE:.0%} interval ({pct(ci.lo)} to {pct(ci.hi)}) reaches it"


def what_failed(v: VariantSummary) -> str:
    """The errors by kind, most frequent first: "Runtime.OutOfMemory x 120", or by status
    ("throttled x 3") when some errors carry no error type."""
    by_type: Mapping[str, int] = v.errors_by_type
    kinds = by_type if by_type and sum(by_type.values()) >= v.errors else v.errors_by_status
    ranked = sorted(((n, kind) for kind, n in kinds.items() if n), key=lambda item: (-item[0], item[1]))
    parts = [f"{kind} x {n}" for n, kind in ranked[:NAMED_KINDS]]
    rest = sum(n for n, _ in ranked[NAMED_KINDS:])
    if rest:
        parts.append(f"{rest} other")
    return ", ".join(parts) or f"{v.errors} errors"


def pct(share: float) -> str:
    """A share as a percentage to 3 significant digits: 0.3 -> "30%", 0.005 -> "0.5%"."""
    return f"{share * 100:.3g}%"
