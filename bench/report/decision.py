"""The top of the report in words: which memory size, how much provisioned concurrency, how sure.

One sentence each for the memory pick and the PC pick, each with its monthly cost for the user's
traffic and what it saves. The memory pick is compared with the baseline a user would start from:
Lambda's default size (128 MB) on demand when it was run and is feasible, else the smallest
feasible size run. The PC pick is compared with no PC (on demand). Then whether the data separate
the pick from the runner-up, and what would have to move to change it. HTML, Markdown and the
terminal print these same sentences. Without a recommendation (an old results.json), the
headline names the cheapest variant as measured, as reports did before the decision stage.
"""

from __future__ import annotations

from dataclasses import dataclass

from bench.analysis import RunSummary
from bench.awsfacts import MEMORY_DEFAULT_MB
from bench.decide import Candidate, ProvisionedOption, ProvisionedPick, Recommendation

from .formatting import fmt_count, fmt_interval, fmt_money, fmt_pct, fmt_share, fmt_usd
from .rows import PATH_NAMES, traffic_path

CASES = {
    "steady": "steady traffic, which keeps its environments warm",
    "sparse": "sparse traffic: most requests find no warm environment",
    "bursty": "bursty traffic: bursts outrun the warm environments",
    "trace": "the replayed trace of your traffic",
}


@dataclass(frozen=True)
class Baseline:
    candidate: Candidate
    why: str


@dataclass(frozen=True)
class DecisionText:
    memory: str
    memory_why: tuple[str, ...]
    provisioned: str | None
    provisioned_why: tuple[str, ...]
    sure: str | None
    sensitivity: tuple[str, ...]
    decided_for: str
    infeasible: tuple[str, ...]


def cheapest_headline(summary: RunSummary) -> str:
    """One sentence naming the cheapest variant (its cost with interval), or saying why there is none."""
    if summary.cheapest is None:
        return "No variant completed an invocation with billed data, so none is the cheapest."
    best = next(v for v in summary.variants if v.variant == summary.cheapest)
    memory = f"{best.memory_mb} MB, " if best.memory_mb is not None else ""
    ci = best.cost_per_million_ci
    interval = f" {fmt_interval(ci, fmt_usd)}" if ci is not None and ci.known else ""
    text = (
        f"Cheapest: {best.variant} ({memory}{summary.architecture}), "
        f"{fmt_usd(best.cost_per_million_usd)}{interval} USD per million invocations ({best.path})."
    )
    check = summary.cheapest_check
    if check is not None and not check.separated:
        text += f" The data cannot tell it from {check.runner_up}; see the checks."
    return text


def baseline(recommendation: Recommendation) -> Baseline | None:
    """What the memory pick's saving is measured against (see the module)."""
    candidates = sorted(recommendation.candidates, key=lambda c: c.memory_mb)
    default = [c for c in candidates if c.memory_mb == MEMORY_DEFAULT_MB]
    if default:
        return Baseline(default[0], "Lambda's default size")
    return Baseline(candidates[0], "the smallest feasible size run") if candidates else None


def _size(recommendation: Recommendation, variant: str | None) -> str:
    for c in recommendation.candidates:
        if c.variant == variant:
            return f"{c.memory_mb} MB"
    for i in recommendation.infeasible:
        if i.variant == variant and i.memory_mb is not None:
            return f"{i.memory_mb} MB"
    return variant or "none"


def _saving(pick: Candidate, base: Baseline | None) -> str:
    if base is None:
        return ""
    if base.candidate.variant == pick.variant:
        return f"; it is {base.why}, so there is no saving to claim against that"
    diff = base.candidate.monthly_usd - pick.monthly_usd
    share = abs(diff) / base.candidate.monthly_usd if base.candidate.monthly_usd else 0.0
    word = "less" if diff >= 0 else "more"
    return (
        f": {fmt_money(abs(diff))} ({fmt_pct(share)}) {word} than {base.candidate.memory_mb} MB on demand, {base.why}"
    )


def _memory(recommendation: Recommendation) -> tuple[str, tuple[str, ...]]:
    pick = recommendation.memory
    if pick.variant is None:
        return f"No memory size can be recommended: {pick.reason.rstrip('.')}.", ()
    candidate = next((c for c in recommendation.candidates if c.variant == pick.variant), None)
    traffic = recommendation.traffic
    path = traffic_path(recommendation) or "direct"
    size = f"{pick.memory_mb} MB" if pick.memory_mb is not None else pick.variant
    why = [pick.reason]
    if pick.power_tuning_pick is not None:
        same = pick.power_tuning_pick == pick.variant
        pt = "picks the same size" if same else f"would pick {_size(recommendation, pick.power_tuning_pick)}"
        why.append(f"aws-lambda-power-tuning's own formula {pt}.")
    if candidate is None:
        return f"Memory: {size} ({pick.strategy} strategy).", tuple(why)
    requests = fmt_count(traffic.get("requests_per_month"))
    sentence = (
        f"Memory: {size} ({pick.strategy} strategy), {fmt_money(candidate.monthly_usd)} a month for "
        f"{requests} requests a month ({PATH_NAMES.get(path, path)}){_saving(candidate, baseline(recommendation))}."
    )
    return sentence, tuple(why)


def pc_option(pc: ProvisionedPick) -> ProvisionedOption | None:
    """The priced option of the recommended N: of the options with that N, the one whose monthly
    cost is the pick's (always on and peak hours can share an N)."""
    same = [o for o in pc.options if o.count == pc.count]
    return min(same, key=lambda o: abs(o.monthly_usd - pc.monthly_usd)) if same else None


def on_demand_share(pc: ProvisionedPick, recommendation: Recommendation) -> float | None:
    """The predicted cold share with no PC: the curve at N = 0, else the on-demand option's."""
    for n, share in pc.curve:
        if n == 0:
            return share
    for option in pc.options:
        if option.count == 0:
            return option.predicted_cold_share
    pick = next((c for c in recommendation.candidates if c.variant == recommendation.memory.variant), None)
    return pick.predicted_cold_share if pick is not None else None


def _provisioned(recommendation: Recommendation) -> tuple[str | None, tuple[str, ...]]:
    pc = recommendation.provisioned_concurrency
    if pc is None:
        return None, ()
    budget = recommendation.decision.get("cold_start_budget")
    case = CASES.get(pc.case, f"{pc.case} traffic")
    u = pc.break_even_utilisation
    pays = (
        f"PC pays when its environments are busy more than {fmt_pct(u)} of the time (its break-even utilisation)."
        if u < 1  # at or above 1 no environment can be busy enough: say that, not "more than 115%"
        else f"PC never pays for itself at these prices: its break-even utilisation is {fmt_pct(u)}."
    )
    why = (pc.reason, pays)
    if pc.count == 0:
        within = budget is not None and pc.predicted_cold_share <= budget
        limit = f"within the {fmt_share(budget)} budget" if within else f"against a budget of {fmt_share(budget)}"
        sentence = (
            f"Provisioned concurrency: none. On demand ({fmt_money(pc.on_demand_monthly_usd)} a month), "
            f"{fmt_share(pc.predicted_cold_share)} of requests start cold, {limit}, for {case}."
        )
        return sentence, why
    option = pc_option(pc)
    hours = option.hours_per_day if option is not None else 24.0
    schedule = "always on" if hours >= 24 else f"{hours:g} hours a day"
    diff = pc.monthly_usd - pc.on_demand_monthly_usd
    before = on_demand_share(pc, recommendation)
    cut = f"from {fmt_share(before)} " if before is not None else ""
    sentence = (
        f"Provisioned concurrency: {pc.count} environment{'s' if pc.count > 1 else ''}, {schedule}, "
        f"{fmt_money(pc.monthly_usd)} a month: {fmt_money(abs(diff))} {'more' if diff >= 0 else 'less'} than on "
        f"demand ({fmt_money(pc.on_demand_monthly_usd)}), cutting the requests that start cold {cut}to "
        f"{fmt_share(pc.predicted_cold_share)} (budget {fmt_share(budget)}), for {case}."
    )
    return sentence, why


def _sure(recommendation: Recommendation) -> str | None:
    pick = recommendation.memory
    if pick.variant is None:
        return None
    size = _size(recommendation, pick.variant)
    if pick.separated is None or pick.runner_up is None:
        return "How sure: only one size could be chosen, so there is nothing to compare it with."
    runner = _size(recommendation, pick.runner_up)
    if pick.separated:
        return f"How sure: separated. The data tell {size} from the runner-up, {runner}."
    return f"How sure: not separated. The data cannot tell {size} from {runner}, so the cheaper of the two is picked."


def decided_for(recommendation: Recommendation) -> str:
    """The traffic and the rules the decision was made for, in one sentence."""
    t, d = recommendation.traffic, recommendation.decision
    path = traffic_path(recommendation) or "direct"
    if t.get("requests_per_month") is None:
        parts = ["Decided without traffic settings"]
    else:
        parts = [f"Decided for {fmt_count(t['requests_per_month'])} requests a month on {path}"]
    if t.get("peak_rps"):
        parts.append(f"peaks of {t['peak_rps']:g}/s for {t.get('peak_hours_per_day', 0):g} hours a day")
    if t.get("bursts_per_day"):
        parts.append(
            f"{t['bursts_per_day']} bursts a day to {t.get('burst_rps') or 0:g}/s for {t.get('burst_s') or 0:g} s"
        )
    if t.get("trace"):
        parts.append(f"replaying {t['trace']}")
    rules = [f"strategy {d.get('strategy', recommendation.memory.strategy)}"]
    if d.get("slo_ms") is not None:
        rules.append(f"SLO p{d.get('slo_percentile', 95)} \u2264 {d['slo_ms']:g} ms (client latency)")
    if d.get("cold_start_budget") is not None:
        rules.append(f"cold-start budget {fmt_share(d['cold_start_budget'])}")
    if d.get("max_error_rate") is not None:
        rules.append(f"errors at most {fmt_share(d['max_error_rate'])}")
    return ", ".join(parts) + "; " + ", ".join(rules) + "."


def decision_text(recommendation: Recommendation) -> DecisionText:
    """Every sentence of the top of the report, for one recommendation."""
    memory, memory_why = _memory(recommendation)
    provisioned, provisioned_why = _provisioned(recommendation)
    pc = recommendation.provisioned_concurrency
    sensitivity = tuple(s for s in (recommendation.memory.sensitivity, pc.sensitivity if pc else None) if s)
    infeasible = tuple(
        f"{f'{i.memory_mb} MB' if i.memory_mb is not None else i.variant}: {i.reason}"
        for i in recommendation.infeasible
    )
    return DecisionText(
        memory=memory,
        memory_why=memory_why,
        provisioned=provisioned,
        provisioned_why=provisioned_why if provisioned else (),
        sure=_sure(recommendation),
        sensitivity=sensitivity,
        decided_for=decided_for(recommendation),
        infeasible=infeasible,
    )
