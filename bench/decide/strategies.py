"""Choosing a memory size: aws-lambda-power-tuning's cost, speed and balanced, and an SLO.

``pick_memory`` takes the feasible candidates (bench/decide/feasibility.py has set the rest
aside) and the user's [decision], and returns a MemoryPick: the size, whether the data can tell
it from the runner-up, one sentence why, and how far the figure it rests on would have to move
to change it.

cost, speed and balanced are aws-lambda-power-tuning's (APLT) definitions, read from its source
(alexcasalboni/aws-lambda-power-tuning 4.4.0, commit 262ecc2, lambda/analyzer.js and
lambda/utils.js), with its tie-breaks, so a user can set our pick beside theirs. The figures
differ in one respect only: the price is ours (Candidate.usd_per_invocation: requests, INIT at
the traffic's cold share, API Gateway). ``power_tuning_pick`` is what APLT itself would pick,
with its own price formula. slo is ours: the cheapest candidate whose 95% upper bound of the
chosen percentile meets slo_ms.

Where the data cannot separate the pick from the runner-up, the cheaper of the two is picked and
the pick says so. The test is separation.py's: the Welch interval of the pick's mean minus the
runner-up's (APLT's figures are averages, a month's bill a sum) lies wholly below zero, with
samples large enough for Mann-Whitney to reject at all. Cost samples are per-call cost in USD per million
invocations (bench.analysis.ranking.cost_sample), latency samples client ms of ok calls.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence

from bench.analysis.compare import NOT_ENOUGH_DATA, Comparison, compare_samples
from bench.analysis.sample import Sample
from bench.analysis.separation import check_cheapest
from bench.decide.model import Candidate, MemoryPick
from bench.decide.powertuning import APLT, TuningStat, balanced_score, power_tuning_order
from bench.decide.settings import DecisionSettings

# How far one figure of the pick is pushed, at most, looking for where the pick would change.
MAX_FACTOR = 1000.0
_BISECTIONS = 60


def pick_memory(
    candidates: Sequence[Candidate],
    decision: DecisionSettings,
    cost_samples: Mapping[str, Sample],
    latency_samples: Mapping[str, Sample],
) -> MemoryPick:
    """The memory size for ``decision.strategy`` among feasible ``candidates`` (see the module).

    ``cost_samples``: each variant's per-call cost, USD per million; ``latency_samples``: its
    client latency of ok calls, ms; both keyed by variant. power_tuning_pick is left None here:
    it needs APLT's own figures (``power_tuning_pick``).
    """
    strategy = decision.strategy
    if not candidates:
        return MemoryPick(None, None, strategy, None, "No memory size is feasible, so none is recommended.")
    ordered = sorted(candidates, key=lambda c: (c.memory_mb, c.variant))  # APLT's input order: ascending memory
    if strategy == "slo":
        return _pick_slo(ordered, decision, cost_samples)
    return _pick_power_tuning(ordered, decision, cost_samples, latency_samples)


def _pick_power_tuning(
    ordered: list[Candidate],
    decision: DecisionSettings,
    cost_samples: Mapping[str, Sample],
    latency_samples: Mapping[str, Sample],
) -> MemoryPick:
    strategy, w = decision.strategy, decision.balanced_weight
    by_name = {c.variant: c for c in ordered}
    stats = [TuningStat(c.variant, c.memory_mb, c.usd_per_invocation, c.duration_ms or 0.0) for c in ordered]
    ranking = power_tuning_order(stats, strategy, w)
    ranked = {s.variant for s in ranking}
    left_out = [c for c in ordered if c.variant not in ranked]
    note = (
        f" ({', '.join(map(_label, left_out))} left out: no average duration, as {APLT} leaves such sizes out)"
        if left_out
        else ""
    )
    if not ranking:
        return MemoryPick(None, None, strategy, None, f"No feasible size has an average duration to rank{note}.")
    best = by_name[ranking[0].variant]
    if len(ranking) == 1:
        only = f"{_label(best)} is the only candidate: no figure can change the pick."
        return _picked(best, strategy, None, f"{_label(best)} is the only size that can be ranked{note}.", None, only)
    second = by_name[ranking[1].variant]
    if strategy == "cost":
        check = check_cheapest(best.variant, second.variant, *_pair(cost_samples, best, second))
        separated, why_not = check.separated, _why_not(check.comparison, "cost per million")
    elif strategy == "speed":
        separated, why_not = _mean_separated(*_pair(latency_samples, best, second), "latency")
    else:
        separated, why_not = _balanced_separated(ranking, best, second, w, cost_samples, latency_samples)
    figure = {"cost": "price", "speed": "average duration", "balanced": "balanced score"}[strategy]
    if separated:
        reason = (
            f"{_label(best)} has the lowest {figure} ({_figure(best, ranking, strategy, w)}; {APLT}'s {strategy} "
            f"strategy), and the data separates it from the runner-up, {_label(second)}{note}."
        )
        return _picked(best, strategy, True, reason, second, _sensitivity(stats, best, strategy, w))
    pick, other = sorted((best, second), key=_cost_key)
    found = f"{_label(best)} has the lowest {figure} ({_figure(best, ranking, strategy, w)})"
    doubt = f"the data cannot separate it from {_label(second)} ({why_not})"
    prices = f"{_usd(pick.usd_per_invocation)} per million against {_usd(other.usd_per_invocation)}"
    if pick is best:
        reason = f"{found}, but {doubt}; it is also the cheaper of the two ({prices}), so it stays the pick{note}."
    else:
        reason = f"{_label(pick)} is picked: {found}, but {doubt}, and {_label(pick)} is the cheaper ({prices}){note}."
    sensitivity = (
        f"{_label(pick)} stays the pick while the data cannot tell it from {_label(other)}, unless "
        f"{_rise('cost', pick.usd_per_invocation, other.usd_per_invocation)}."
    )
    return _picked(pick, strategy, False, reason, other, sensitivity)


def _pick_slo(ordered: list[Candidate], decision: DecisionSettings, cost_samples: Mapping[str, Sample]) -> MemoryPick:
    slo = decision.slo_ms
    if slo is None:
        raise ValueError('strategy "slo" needs slo_ms')
    p = f"p{decision.slo_percentile}"
    by_cost = sorted(ordered, key=_cost_key)
    meets = [c for c in by_cost if c.latency_upper_ms is not None and c.latency_upper_ms <= slo]
    if not meets:
        known = [c for c in by_cost if c.latency_upper_ms is not None]
        if not known:
            reason = f"No memory size can be shown to meet {p} <= {slo:g} ms: none has an upper bound of its {p}."
            return MemoryPick(None, None, "slo", None, reason)
        closest = min(known, key=lambda c: c.latency_upper_ms or 0.0)
        upper = closest.latency_upper_ms or 0.0
        reason = (
            f"No memory size meets the {slo:g} ms SLO on the 95% upper bound of its {p}; the closest, "
            f"{_label(closest)}, reaches {upper:.4g} ms."
        )
        sensitivity = (
            f"{_label(closest)} would be the pick if its {p} upper bound fell by {upper - slo:.3g} ms "
            f"({(1 - slo / upper) * 100:.3g}%) to {slo:g} ms."
        )
        return MemoryPick(None, None, "slo", None, reason, None, sensitivity)
    pick, runner = meets[0], (meets[1] if len(meets) > 1 else None)
    upper = pick.latency_upper_ms or 0.0
    reason = (
        f"{_label(pick)} is the cheapest size whose {p} upper bound ({upper:.4g} ms, 95%) meets the "
        f"{slo:g} ms SLO, at {_usd(pick.usd_per_invocation)} per million"
    )
    separated: bool | None = None
    if runner is not None:
        check = check_cheapest(pick.variant, runner.variant, *_pair(cost_samples, pick, runner))
        separated = check.separated
        if not separated:
            why_not = _why_not(check.comparison, "cost per million")
            reason += f"; the data cannot tell its cost from {_label(runner)}'s ({why_not}), so the cheaper is picked"
    clauses = []
    cheaper = [c for c in by_cost[: by_cost.index(pick)] if c.latency_upper_ms is not None]
    if cheaper:
        near = min(cheaper, key=lambda c: c.latency_upper_ms or 0.0)
        clauses.append(f"{_label(near)}'s {p} upper bound ({near.latency_upper_ms:.4g} ms) falls to {slo:g} ms or less")
    clauses.append(f"its own {p} upper bound ({upper:.4g} ms) rises above {slo:g} ms")
    if runner is not None:
        rise = _rise("cost", pick.usd_per_invocation, runner.usd_per_invocation)
        clauses.append(f"{rise}, {_label(runner)}'s")
    sensitivity = f"{_label(pick)} stays the pick unless " + ", or ".join(clauses) + "."
    return _picked(pick, "slo", separated, reason + ".", runner, sensitivity)


def _picked(
    c: Candidate, strategy: str, separated: bool | None, reason: str, runner_up: Candidate | None, sensitivity: str
) -> MemoryPick:
    runner = None if runner_up is None else runner_up.variant
    return MemoryPick(c.variant, c.memory_mb, strategy, separated, reason, runner, sensitivity)


# ---- separation ----


def _pair(samples: Mapping[str, Sample], x: Candidate, y: Candidate) -> tuple[Sample, Sample]:
    # A missing sample is an empty one: compare says "not enough data", never a verdict.
    return samples.get(x.variant, Sample.empty()), samples.get(y.variant, Sample.empty())


def _why_not(c: Comparison, what: str) -> str:
    """Why a comparison does not separate two samples, in a clause."""
    if c.verdict == NOT_ENOUGH_DATA:
        return f"not enough data: {c.reason}"
    ci = c.mean_diff_ci
    if ci is None or ci.lo is None or ci.hi is None:
        return f"no interval of the difference in mean {what}"
    return f"the {ci.confidence:.0%} interval of the difference in mean {what}, {ci.lo:+.4g} to {ci.hi:+.4g}, reaches 0"


def _mean_separated(x: Sample, y: Sample, what: str) -> tuple[bool, str]:
    """separation.py's rule for any figure: x is separated from y when the Welch interval of
    mean(x) - mean(y) lies wholly below zero and Mann-Whitney could reject at these sizes."""
    c = compare_samples(x, y, p95=False)
    ci = c.mean_diff_ci
    separated = c.verdict != NOT_ENOUGH_DATA and ci is not None and ci.hi is not None and ci.hi < 0
    return separated, "" if separated else _why_not(c, what)


def _balanced_separated(
    ranking: list[TuningStat],
    best: Candidate,
    second: Candidate,
    w: float,
    cost_samples: Mapping[str, Sample],
    latency_samples: Mapping[str, Sample],
) -> tuple[bool, str]:
    """Separated when the balanced score's difference stays below zero across its uncertainty.

    The score is linear in cost and duration, so its difference moves by w / maxCost times the
    cost difference plus (1 - w) / maxDuration times the duration difference. Adding the two
    Welch half-widths so weighted bounds the combined one whatever the correlation of cost and
    latency (the standard deviation of a sum is at most the sum of theirs): a conservative test.
    """
    w = min(max(w, 0.0), 1.0)
    max_cost, max_duration = max(s.cost for s in ranking), max(s.duration for s in ranking)
    half = 0.0
    for scale, samples, what in (
        (w / max_cost / 1e6, cost_samples, "cost per million"),  # samples are per million
        ((1 - w) / max_duration, latency_samples, "latency"),
    ):
        c = compare_samples(*_pair(samples, best, second), p95=False)
        ci = c.mean_diff_ci
        if c.verdict == NOT_ENOUGH_DATA or ci is None or ci.lo is None or ci.hi is None:
            return False, _why_not(c, what)
        half += scale * (ci.hi - ci.lo) / 2
    diff = balanced_score(ranking[0], ranking, w) - balanced_score(ranking[1], ranking, w)
    if diff + half < 0:
        return True, ""
    return (
        False,
        f"their balanced scores differ by {diff:+.3f}, within +-{half:.3f} from the intervals of cost and latency",
    )


# ---- sensitivity ----


def _sensitivity(stats: list[TuningStat], pick: Candidate, strategy: str, w: float) -> str:
    """How far the pick's own figures would have to rise, one at a time, for APLT's rule to pick
    another size; found by bisection on the rule itself, so tie-breaks and maxima count."""
    fields = {"cost": ("cost",), "speed": ("duration",), "balanced": ("cost", "duration")}[strategy]
    base = next(s for s in stats if s.variant == pick.variant)
    clauses = []
    for field in fields:
        limit = _breaking_point(stats, base, field, strategy, w)
        if limit is not None:
            clauses.append(_rise(field, getattr(base, field), limit))
    if not clauses:
        return (
            f"{_label(pick)} stays the pick however much its {' or '.join(fields)} alone rose (up to {MAX_FACTOR:g}x)."
        )
    return f"{_label(pick)} stays the pick unless " + ", or ".join(clauses) + "."


def _breaking_point(stats: list[TuningStat], base: TuningStat, field: str, strategy: str, w: float) -> float | None:
    """The highest value of ``base``'s field at which APLT still picks it; None if it does up to MAX_FACTOR x."""

    def holds(value: float) -> bool:
        moved_base = (
            dataclasses.replace(base, cost=value) if field == "cost" else dataclasses.replace(base, duration=value)
        )
        moved = [moved_base if s is base else s for s in stats]
        order = power_tuning_order(moved, strategy, w)
        return bool(order) and order[0].variant == base.variant

    lo = float(getattr(base, field))
    hi = lo * MAX_FACTOR
    if lo <= 0 or holds(hi):
        return None
    for _ in range(_BISECTIONS):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if holds(mid) else (lo, mid)
    return lo


def _rise(field: str, now: float, limit: float) -> str:
    name, value = (
        ("its cost per million", _usd(limit)) if field == "cost" else ("its average duration", f"{limit:.4g} ms")
    )
    change = (limit / now - 1) * 100
    if change < 0.01:
        return f"{name} rises at all (above {value})"
    return f"{name} rises {change:.3g}% (to {value})"


# ---- words ----


def _cost_key(c: Candidate) -> tuple[float, float]:
    # APLT's cost order (analyzer.js:99-105): price, then the faster; Python's sort keeps ties in order.
    return (c.usd_per_invocation, c.duration_ms if c.duration_ms is not None else math.inf)


def _figure(c: Candidate, ranking: list[TuningStat], strategy: str, w: float) -> str:
    if strategy == "cost":
        return f"{_usd(c.usd_per_invocation)} per million"
    if strategy == "speed":
        return f"{c.duration_ms:.4g} ms, trimmed mean"
    stat = next(s for s in ranking if s.variant == c.variant)
    return f"{balanced_score(stat, ranking, w):.3f} = {w:g} x cost / max cost + {1 - w:g} x duration / max duration"


def _label(c: Candidate) -> str:
    plain = f"mem-{c.memory_mb}"
    return f"{c.memory_mb} MB" if c.variant == plain else f"{c.variant} ({c.memory_mb} MB)"


def _usd(usd_per_invocation: float) -> str:
    per_million = usd_per_invocation * 1e6
    return f"${per_million:,.4f}" if per_million < 100 else f"${per_million:,.2f}"
