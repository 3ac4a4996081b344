"""Gate verdicts: pass, fail or inconclusive, decided on intervals and tests, never on a bare point.

**Absolute gates** (``p95_ms = 300``) take one-sided bounds at 1 - alpha
(bench/analysis/bounds.py): *pass* when the upper bound is within the threshold, *fail* when
the lower bound is beyond it, and *inconclusive* when the bounds straddle it or the run is too
small to have them; then the verdict says about how many invocations would decide. A rate
gate of 0 (``error_rate = 0``: no errors at all) is a count: no sample can show a rate of 0.
``max_memory_used_ratio`` is the observed maximum, exact.

**Regression gates** (``p95_regression = 0.10``), after pyperf's compare_to: *fail* when the
change from the baseline is beyond the tolerance *and* the worsening is statistically
significant at alpha (two-sided): Mann-Whitney U for latency percentiles (bench/analysis/
compare.py; it uses every value, so it is far less noisy than two p95s), the Welch t interval
of the difference for cost (cost is affine in the mean billed duration), Newcombe's interval
for error rates. *Pass* otherwise: a change within the tolerance, or one the test cannot tell
from noise (pyperf's "not significant"). *Inconclusive* when the samples are too small for
the test at alpha. The interval shown with a percentile's change is that of latency's shift
as a whole (Hodges-Lehmann with Moses' interval), the interval that goes with Mann-Whitney.

Cost is priced in each run's own architecture and region, as each was billed; a cost verdict
names whose prices (bench/analysis/pricing.py), and a regression names both when they differ.

alpha is shared by the run's regression comparisons (Bonferroni), so a run drawn from the
baseline's own distribution fails only when a test is wrong at alpha / m *and* the noise alone
exceeds the tolerance; the rate is measured in tests/test_gate_noise.py.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bench.analysis.bounds import (
    Bounds,
    mean_bounds,
    proportion_bounds,
    proportion_diff_interval,
    quantile_bounds,
    shift_ratio_interval,
)
from bench.analysis.compare import mann_whitney_p, min_p_value
from bench.analysis.cost import cost_per_million
from bench.analysis.stats import cliffs_delta, welch_diff_ci
from bench.errors import UserError
from bench.gate.evidence import RunEvidence, VariantEvidence
from bench.gate.settings import EVERY, RECOMMENDED, Gate, GateSettings

PASS, FAIL, INCONCLUSIVE, SKIPPED = "pass", "fail", "inconclusive", "skipped"


@dataclass(frozen=True)
class GateResult:
    """One gate on one (variant, path). ``value`` and its bounds are the figure the verdict is
    about: the measured figure (absolute gates) or the change from the baseline (regressions)."""

    gate: Gate
    variant: str | None
    path: str | None
    verdict: str
    unit: str  # ms | share | usd | ratio | change (relative) | points (rate points)
    message: str  # the sentence a reviewer reads
    value: float | None = None
    lower: float | None = None
    upper: float | None = None
    shift: float | None = None  # percentile regressions: latency's shift as a whole (lower/upper are its interval)
    current: float | None = None  # regressions: the figure now ...
    baseline: float | None = None  # ... and in the baseline
    n: int = 0
    needed_n: int | None = None  # inconclusive: about how many invocations would decide

    @property
    def where(self) -> str:
        if self.variant is None:
            return self.gate.target
        return self.variant if self.path in (None, "direct") else f"{self.variant} ({self.path})"

    def as_dict(self) -> dict[str, Any]:
        out = {k: v for k, v in self.__dict__.items() if k != "gate"}
        return {"gate": self.gate.name, "target": self.gate.target, "threshold": self.gate.threshold, **out}


@dataclass(frozen=True)
class GateReport:
    results: tuple[GateResult, ...]
    settings: GateSettings
    run_id: str
    baseline_id: str | None
    comparisons: int = 0  # regression comparisons made; each was tested at alpha / comparisons

    def count(self, verdict: str) -> int:
        return sum(r.verdict == verdict for r in self.results)

    @property
    def failed(self) -> bool:
        """Whether the gate run fails: a gate failed, or one was inconclusive under ``inconclusive = fail``."""
        return self.count(FAIL) > 0 or (self.settings.inconclusive == FAIL and self.count(INCONCLUSIVE) > 0)

    @property
    def exit_code(self) -> int:
        return 1 if self.failed else 0


# ---- formatting of values in messages ----


def fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "?"
    if unit == "ms":
        return f"{value:,.1f} ms" if value < 10_000 else f"{value / 1000:,.2f} s"
    if unit == "share":
        return f"{100 * value:.3g}%"
    if unit == "usd":
        return f"${value:.4f}"
    if unit == "ratio":
        return f"{value:.3f}"
    if unit == "change":
        return f"{100 * value:+.1f}%"
    if unit == "points":
        return f"{100 * value:+.2f} pts"
    return f"{value:g}"


def _needed(n: int, spread: float | None, gap: float) -> int | None:
    """Invocations for a bound ``spread`` away from the estimate to move inside ``gap``: spread ~ 1/sqrt(n)."""
    if spread is None or gap <= 0 or n <= 0:
        return None
    return max(n + 1, math.ceil(n * (spread / gap) ** 2))


def _would_decide(needed: int | None, n: int) -> str:
    if needed is None:
        return "the figure sits on the threshold: no run length will tell"
    return f"about {needed:,} invocations would decide (this run has {n:,})"


# ---- absolute gates ----


def _absolute(gate: Gate, row: VariantEvidence, level: float) -> tuple[Bounds | None, str, str]:
    """(bounds, unit, what is measured) of an absolute gate on one variant."""
    s = row.summary
    if gate.name in ("p95_ms", "p99_ms"):
        q = 0.95 if gate.name == "p95_ms" else 0.99
        return quantile_bounds(row.client_ms, q, level), "ms", f"p{q * 100:g}"
    if gate.name == "error_rate":
        return proportion_bounds(s.errors, s.invocations, level), "share", "error rate"
    if gate.name == "throttle_rate":
        return proportion_bounds(row.throttled, s.invocations, level), "share", "throttle rate"
    if gate.name == "cold_start_rate":
        return proportion_bounds(s.cold_starts or 0, s.cold_known, level), "share", "cold-start rate"
    if gate.name == "usd_per_million":
        if s.memory_mb is None:
            return None, "usd", "cost per million"
        bounds = mean_bounds(row.billed_ms, level, floor=0.0)
        cost = _pricer(s.memory_mb, row)
        priced = Bounds(cost(bounds.estimate), cost(bounds.lower), cost(bounds.upper), level, bounds.method,
                        bounds.n, bounds.need_n_lower, bounds.need_n_upper)  # fmt: skip
        return priced, "usd", f"cost per million ({row.prices_statement})"
    raise AssertionError(gate.name)


def _pricer(memory_mb: int, row: VariantEvidence) -> Callable[[float | None], float | None]:
    """Cost per million of a mean billed ms, in the row's own architecture and region."""
    architecture, region, path = row.architecture, row.region, row.summary.path
    return lambda ms: (
        None if ms is None else cost_per_million(max(ms, 0.0), memory_mb, architecture, path, region=region)
    )


def _memory_ratio(gate: Gate, row: VariantEvidence) -> GateResult:
    s = row.summary
    used, n = s.max_memory_used_mb.value, s.max_memory_used_mb.n
    if used is None or not n or not s.memory_mb:
        return _row(gate, row, INCONCLUSIVE, "ratio", "no REPORT line gave Max Memory Used")
    ratio = used / s.memory_mb
    verdict = PASS if ratio <= gate.threshold else FAIL
    sign = "<=" if verdict == PASS else ">"
    text = f"Max Memory Used {used:g} of {s.memory_mb} MB = {ratio:.3f} (largest of {n:,}) {sign} {gate.threshold:g}"
    return _row(gate, row, verdict, "ratio", text, value=ratio, n=n)


def absolute_result(gate: Gate, row: VariantEvidence, alpha: float) -> GateResult:
    if gate.name == "max_memory_used_ratio":
        return _memory_ratio(gate, row)
    level = 1 - alpha
    bounds, unit, what = _absolute(gate, row, level)
    thr = gate.threshold
    if bounds is None or bounds.estimate is None:
        return _row(gate, row, INCONCLUSIVE, unit, f"no {what}: nothing measured it", needed_n=None)
    estimate, lower, upper, n = bounds.estimate, bounds.lower, bounds.upper, bounds.n

    def shown(value: float | None) -> str:
        return fmt(value, unit)

    common: dict[str, Any] = dict(value=estimate, lower=lower, upper=upper, n=n)
    if unit == "share" and thr == 0:  # a count: no sample shows a rate of exactly 0
        k = round(estimate * n)
        verdict = PASS if k == 0 else FAIL
        return _row(gate, row, verdict, unit, f"{what}: {k:,} of {n:,} (the limit is none)", **common)
    level_text = f"{100 * level:g}% {{}} bound"
    if upper is not None and upper <= thr:
        text = f"{what} {shown(estimate)}, at most {shown(upper)} ({level_text.format('upper')}) <= {shown(thr)}"
        return _row(gate, row, PASS, unit, text, **common)
    if lower is not None and lower > thr:
        text = f"{what} {shown(estimate)}, at least {shown(lower)} ({level_text.format('lower')}) > {shown(thr)}"
        return _row(gate, row, FAIL, unit, text, **common)
    if estimate <= thr:
        bound, need_n = upper, bounds.need_n_upper
    else:
        bound, need_n = lower, bounds.need_n_lower
    if bound is None:
        text = f"{what} {shown(estimate)}: a {level_text.format('')} needs n >= {need_n or 2:,}; n = {n:,}"
        return _row(gate, row, INCONCLUSIVE, unit, text, needed_n=need_n, **common)
    needed = _needed(n, abs(bound - estimate), abs(thr - estimate))
    text = f"{what} {shown(estimate)}, bounds {shown(lower)}..{shown(upper)} straddle {shown(thr)}: " + _would_decide(
        needed, n
    )
    return _row(gate, row, INCONCLUSIVE, unit, text, needed_n=needed, **common)


# ---- regression gates ----


def regression_result(gate: Gate, row: VariantEvidence, base: VariantEvidence, alpha: float) -> GateResult:
    if gate.name in ("p95_regression", "p99_regression"):
        return _percentile_regression(gate, row, base, alpha, 95.0 if gate.name == "p95_regression" else 99.0)
    if gate.name == "usd_per_million_regression":
        return _cost_regression(gate, row, base, alpha)
    return _error_rate_regression(gate, row, base, alpha)


def _min_n_for_test(alpha: float) -> int:
    """The smallest equal n for which Mann-Whitney can reach alpha at all (min_p_value)."""
    n = 1
    while min_p_value(n, n) > alpha:
        n += 1
    return n


def _percentile_regression(
    gate: Gate, row: VariantEvidence, base: VariantEvidence, alpha: float, p: float
) -> GateResult:
    cur, old = row.client_ms, base.client_ms
    what = f"p{p:g}"
    if not cur.n or not old.n:
        return _row(gate, row, INCONCLUSIVE, "change", f"no successful calls to compare (n = {cur.n} and {old.n})")
    now, then = cur.percentile(p), old.percentile(p)
    assert now is not None and then is not None
    floor = min_p_value(cur.n, old.n)
    if then <= 0 or floor > alpha:
        need = _min_n_for_test(alpha)
        text = f"samples of {cur.n} and {old.n} are too small for a test at alpha {alpha:.2g}: {need} in each would do"
        return _row(gate, row, INCONCLUSIVE, "change", text, current=now, baseline=then, n=cur.n, needed_n=need)
    change = now / then - 1
    shift = shift_ratio_interval(cur, old, 1 - alpha)
    lo, hi = (None, None) if shift is None else shift[1:]
    common = dict(value=change, lower=lo, upper=hi, shift=None if shift is None else shift[0], current=now,
                  baseline=then, n=cur.n)  # fmt: skip
    moved = f"{what} {fmt(then, 'ms')} -> {fmt(now, 'ms')} ({fmt(change, 'change')})"
    tolerance = fmt(gate.threshold, "change")
    if change <= gate.threshold:
        return _row(gate, row, PASS, "change", f"{moved}, within {tolerance}", **common)
    p_value = mann_whitney_p(cur, old)
    whole = "" if shift is None else f" by {fmt(shift[0], 'change')} [{fmt(lo, 'change')}, {fmt(hi, 'change')}]"
    if p_value < alpha and cliffs_delta(cur, old) > 0:
        test = f"Mann-Whitney p = {p_value:.2g} < {alpha:.2g}"
        text = f"{moved}, beyond {tolerance}; latency as a whole is higher{whole} ({test})"
        return _row(gate, row, FAIL, "change", text, **common)
    text = (
        f"{moved}, beyond {tolerance} but latency is not significantly higher (Mann-Whitney p = {p_value:.2g}): noise"
    )
    return _row(gate, row, PASS, "change", text, **common)


def _cost_regression(gate: Gate, row: VariantEvidence, base: VariantEvidence, alpha: float) -> GateResult:
    memory = row.summary.memory_mb
    if memory is None or base.summary.memory_mb is None or row.billed_ms.n < 2 or base.billed_ms.n < 2:
        return _row(gate, row, INCONCLUSIVE, "change", "too few billed durations to compare (need 2 in each run)")
    now_cost, then_cost = _pricer(memory, row), _pricer(base.summary.memory_mb, base)
    now, then = now_cost(row.billed_ms.mean), then_cost(base.billed_ms.mean)
    assert now is not None and then is not None
    # Cost is affine in billed ms: the interval of the difference in means maps onto dollars.
    slope_now = now_cost(1.0) - now_cost(0.0)  # type: ignore[operator]
    slope_then = then_cost(1.0) - then_cost(0.0)  # type: ignore[operator]
    ci = welch_diff_ci(row.billed_ms.affine(slope_now, 0.0), base.billed_ms.affine(slope_then, 0.0), 1 - alpha)
    fixed = (now_cost(0.0) or 0.0) - (then_cost(0.0) or 0.0)
    lo = None if ci.lo is None else (ci.lo + fixed) / then
    hi = None if ci.hi is None else (ci.hi + fixed) / then
    change = now / then - 1
    common = dict(value=change, lower=lo, upper=hi, current=now, baseline=then, n=row.billed_ms.n)
    moved = f"cost per million {fmt(then, 'usd')} -> {fmt(now, 'usd')} ({fmt(change, 'change')})"
    if row.prices_statement != base.prices_statement:  # each run is priced as it was billed: say when they differ
        moved += f" (baseline: {base.prices_statement}; this run: {row.prices_statement})"
    tolerance = fmt(gate.threshold, "change")
    if change <= gate.threshold:
        return _row(gate, row, PASS, "change", f"{moved}, within {tolerance}", **common)
    if lo is not None and lo > 0:
        text = f"{moved}, beyond {tolerance}; dearer at alpha {alpha:.2g} (Welch interval {fmt(lo, 'change')}..)"
        return _row(gate, row, FAIL, "change", text, **common)
    text = f"{moved}, beyond {tolerance} but not significantly dearer at alpha {alpha:.2g}: noise"
    return _row(gate, row, PASS, "change", text, **common)


def _error_rate_regression(gate: Gate, row: VariantEvidence, base: VariantEvidence, alpha: float) -> GateResult:
    s, b = row.summary, base.summary
    if not s.invocations or not b.invocations:
        return _row(gate, row, INCONCLUSIVE, "points", "no invocations to compare")
    diff, lo, hi = proportion_diff_interval(s.errors, s.invocations, b.errors, b.invocations, 1 - alpha)
    now, then = s.errors / s.invocations, b.errors / b.invocations
    common = dict(value=diff, lower=lo, upper=hi, current=now, baseline=then, n=s.invocations)
    moved = f"error rate {fmt(then, 'share')} -> {fmt(now, 'share')} ({fmt(diff, 'points')})"
    tolerance = fmt(gate.threshold, "points")
    if diff <= gate.threshold:
        return _row(gate, row, PASS, "points", f"{moved}, within {tolerance}", **common)
    if lo > 0:
        text = f"{moved}, beyond {tolerance}; higher at alpha {alpha:.2g} (Newcombe interval from {fmt(lo, 'points')})"
        return _row(gate, row, FAIL, "points", text, **common)
    text = f"{moved}, beyond {tolerance} but not significantly higher at alpha {alpha:.2g}: noise"
    return _row(gate, row, PASS, "points", text, **common)


# ---- the run ----


def _row(gate: Gate, row: VariantEvidence | None, verdict: str, unit: str, message: str, **figures: Any) -> GateResult:
    variant = None if row is None else row.summary.variant
    path = None if row is None else row.summary.path
    return GateResult(gate, variant, path, verdict, unit, message, **figures)


def _targets(
    gate: Gate, run: RunEvidence, rows: dict[tuple[str, str], VariantEvidence]
) -> list[VariantEvidence] | GateResult:
    if gate.target == EVERY:
        return list(rows.values())
    if gate.target == RECOMMENDED:
        variant, path, why = run.recommended()
        if variant is None:
            return _row(gate, None, FAIL, "", why)
        if (variant, path) not in rows:
            return _row(gate, None, INCONCLUSIVE, "", f"the recommended {variant} was not measured on {path}")
        return [rows[(variant, path)]]
    found = [row for (variant, _), row in rows.items() if variant == gate.target]
    if not found:
        names = ", ".join(dict.fromkeys(v for v, _ in rows)) or "none"
        raise UserError(f"{gate.label}: no variant {gate.target} in run {run.run_id} (it has: {names})")
    return found


def evaluate(settings: GateSettings, run: RunEvidence, baseline: RunEvidence | None = None) -> GateReport:
    """Every gate of ``settings`` on ``run`` (and against ``baseline``); UserError for a gate on a
    variant the run does not have, or a baseline of another function.

    The regression comparisons share alpha (Bonferroni: alpha / m each, for m comparisons), so
    the chance that noise alone fails any of them stays within alpha however many gates and
    variants there are.
    """
    if not settings.gates:
        raise UserError("no gates to check: add a [gates] table to the config (-c FILE) or give --gate NAME=VALUE")
    if baseline is not None and run.function and baseline.function and run.function != baseline.function:
        raise UserError(
            f"--baseline {baseline.source}: a run of function {baseline.function}, not {run.function}"
        )  # fmt: skip
    rows = run.variants()
    base_rows = baseline.variants() if baseline is not None else {}
    planned: list[GateResult | tuple[Gate, VariantEvidence]] = []
    for gate in settings.gates:
        targets = _targets(gate, run, rows)
        planned += [targets] if isinstance(targets, GateResult) else [(gate, row) for row in targets]
    comparisons = sum(
        1
        for item in planned
        if isinstance(item, tuple)
        and item[0].regression
        and (item[1].summary.variant, item[1].summary.path) in base_rows
    )
    each = settings.alpha / max(comparisons, 1)
    results: list[GateResult] = []
    for item in planned:
        if isinstance(item, GateResult):
            results.append(item)
            continue
        gate, row = item
        key = (row.summary.variant, row.summary.path)
        if not gate.regression:
            results.append(absolute_result(gate, row, settings.alpha))
        elif baseline is None:
            results.append(_row(gate, row, SKIPPED, "change", "no --baseline given"))
        elif key not in base_rows:
            text = f"the baseline {baseline.run_id} did not measure {key[0]} on {key[1]}"
            results.append(_row(gate, row, INCONCLUSIVE, "change", text))
        else:
            results.append(regression_result(gate, row, base_rows[key], each))
    baseline_id = None if baseline is None else baseline.run_id
    return GateReport(tuple(results), settings, run.run_id, baseline_id, comparisons)
