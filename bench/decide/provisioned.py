"""How much provisioned concurrency (PC) the user's traffic needs, simulated and priced.

``plan_provisioned`` simulates the traffic profile (bench/decide/simulate.py) against the
chosen memory size's measured warm, cold and init durations with N = 0, 1, 2, 4, ... provisioned
environments until the simulated cold share is within ``cold_start_budget``, then bisects
between the last N over it and the first within it: the smallest N that meets the budget (0
when on demand already does). That search assumes the cold share does not rise with N, which
holds for the pool's rules (more warm capacity never makes a request find less); the runs share
arrivals and duration draws, so sampling noise does not break it either.

Each option is priced for the user's month with bench.analysis.monthly, from the simulation's
own counts: the share of requests PC serves (billed at the lower PC duration rate, no INIT),
the on-demand calls' mean billed ms with the simulated cold starts' INIT in it (billed since
2025-08-01), requests, and API Gateway's request price on gateway paths; PC itself per GB-s
provisioned, its enabled time rounded up to 5 minutes per period it is on (once a month always
on, once a day when scheduled for the peak hours).

The break-even utilisation is where an environment costs the same either way: provisioned it
costs p + u x d_pc per GB-s, on demand u x d_od, so u* = p / (d_od - d_pc), from bench.awsfacts
in the run's region (60.0 % for x86_64 in us-east-1, 79.7 % in eu-west-1). Where p + d_pc is
above d_od (x86_64 in ap-southeast-1: 115 %) no utilisation makes PC the cheaper, and the
sensitivity says so. It leaves out INIT, which only makes PC look better.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from bench.analysis.cost import arch_prices, check_path
from bench.analysis.monthly import InvocationProfile, TrafficProfile, monthly_cost
from bench.analysis.sample import Sample
from bench.awsfacts import BASE_PRICE_REGION, PROVISIONED_BILLING_INCREMENT_S
from bench.decide.model import ProvisionedOption, ProvisionedPick
from bench.decide.settings import DAYS_PER_MONTH, DecisionSettings
from bench.decide.simulate import Replay, SimResult, replay_of
from bench.decide.traffic import ArrivalProfile

# Fewer arrivals than this per idle timeout on average and most gaps outlast it: sparse traffic.
SPARSE_ARRIVALS_PER_TIMEOUT = 3.0
# The search stops at this many times the on-demand run's peak concurrency: beyond the peak
# every request finds a provisioned environment.
SEARCH_CAP_FACTOR = 2

_CASES = {
    "steady": "steady traffic keeps environments warm between requests",
    "sparse": "sparse traffic: most requests come more than the idle timeout apart",
    "bursty": "bursty traffic: each burst needs new environments at once",
    "trace": "the trace's own shape",
}


def break_even_utilisation(architecture: str, region: str | None = BASE_PRICE_REGION) -> float:
    """The busy share above which a provisioned environment costs less than on demand:
    p / (d_od - d_pc), with the first on-demand duration tier (see the module)."""
    prices = arch_prices(architecture, region)
    saving = prices.duration_tiers[0].usd_per_gb_s - prices.provisioned_duration_usd_per_gb_s
    return prices.provisioned_usd_per_gb_s / saving


def break_even_rps(
    count: int, mean_duration_ms: float, architecture: str, region: str | None = BASE_PRICE_REGION
) -> float:
    """The request rate that keeps ``count`` environments busy at the break-even utilisation."""
    return count * break_even_utilisation(architecture, region) * 1000.0 / mean_duration_ms


def traffic_case(profile: ArrivalProfile, idle_timeout_s: float) -> str:
    """steady, sparse, bursty or trace: the kind of traffic the report names."""
    if profile.kind in ("trace", "bursty"):
        return profile.kind
    return "sparse" if profile.mean_rps * idle_timeout_s < SPARSE_ARRIVALS_PER_TIMEOUT else "steady"


def search_provisioned(
    run: Callable[[int], SimResult], budget: float, *, cap: int | None = None
) -> tuple[int, dict[int, SimResult]]:
    """The smallest N whose ``run(N)`` cold share is within ``budget`` (doubling, then
    bisecting), and every run made, by N. Up to ``cap`` (default SEARCH_CAP_FACTOR x the peak
    concurrency of run(0)); when even the cap misses the budget, the cap is returned."""
    runs = {0: run(0)}
    if runs[0].cold_share <= budget:
        return 0, runs
    limit = cap if cap is not None else max(1, SEARCH_CAP_FACTOR * runs[0].peak_concurrency)
    over, n = 0, 1
    while True:
        runs[n] = run(n)
        if runs[n].cold_share <= budget:
            break
        if n >= limit:
            return n, runs
        over, n = n, min(2 * n, limit)
    within = n
    while within - over > 1:
        middle = (over + within) // 2
        runs[middle] = run(middle)
        if runs[middle].cold_share <= budget:
            within = middle
        else:
            over = middle
    return within, runs


def provisioned_hours(hours_per_day: float) -> float:
    """Hours a month PC is billed: always on (24) is one period a month; fewer hours are one
    period a day, each rounded up to the 5-minute increment."""
    if hours_per_day >= 24:
        return 24 * DAYS_PER_MONTH
    increment = PROVISIONED_BILLING_INCREMENT_S
    per_day = math.ceil(hours_per_day * 3600 / increment) * increment / 3600
    return per_day * DAYS_PER_MONTH


def monthly_usd(
    result: SimResult,
    requests_per_month: float,
    *,
    hours_per_day: float,
    memory_mb: int,
    architecture: str,
    path: str,
    billed_ms: tuple[float, float] | None = None,
    region: str | None = BASE_PRICE_REGION,
) -> float:
    """The month's bill of one simulated option (see the module), in USD, in ``region``'s prices.

    ``billed_ms``: the measured (warm, cold) mean Billed Duration, the REPORT lines' own figures;
    the simulation then gives only who was cold and who was served by PC, and the price of a call
    is the very figure the other sizes are priced by. Without it, the simulation's drawn durations.
    """
    on_demand = result.on_demand
    cold_share = result.cold / on_demand if on_demand else 0.0
    if billed_ms is None:
        billed, billed_pc = result.mean_billed_ms_on_demand or 0.0, result.mean_billed_ms_provisioned
    else:
        warm_ms, cold_ms = billed_ms
        billed, billed_pc = (1 - cold_share) * warm_ms + cold_share * cold_ms, warm_ms  # PC calls bill no INIT
    invocation = InvocationProfile(memory_mb, architecture, billed, billed_pc, cold_share=cold_share, region=region)
    count = result.provisioned
    traffic = TrafficProfile(
        requests_per_month,
        path,
        provisioned_concurrency=count,
        provisioned_hours=provisioned_hours(hours_per_day) if count else 0.0,
        provisioned_served_share=result.provisioned_share if count else None,
    )
    return monthly_cost(invocation, traffic).total_usd


def plan_provisioned(
    profile: ArrivalProfile,
    warm: Sample,
    cold: Sample,
    init: Sample,
    *,
    memory_mb: int,
    architecture: str,
    path: str,
    decision: DecisionSettings,
    seed: int = 0,
    overhead_ms: float = 0.0,
    billed_ms: tuple[float, float] | None = None,
    replay: Replay | None = None,
    on_demand_result: SimResult | None = None,
    region: str | None = BASE_PRICE_REGION,
) -> ProvisionedPick:
    """The PC pick for ``profile`` at one memory size, from its measured warm Duration, cold
    Duration and Init Duration samples (ms): the smallest N whose simulated cold share (the
    point value) is within ``decision.cold_start_budget``, priced beside on demand.
    ``overhead_ms`` is added to the simulated p99 of service time (Init + Duration) to make it a
    client latency (0: service time alone). ``billed_ms``: the measured (warm, cold) mean Billed
    Duration to price calls by (see monthly_usd). ``replay`` and ``on_demand_result``: the
    profile's arrivals and their simulation at N = 0 with these samples and seed, when the caller
    has made them already (recommend.py has, for every size); they are not made again. Prices
    are ``region``'s. ValueError when warm or init is empty (bench/decide/simulate.py)."""
    check_path(path)
    idle = decision.idle_timeout_s
    budget = decision.cold_start_budget
    if replay is None or replay.idle_timeout_s != idle:
        replay = replay_of(profile, idle, seed)

    def run(count: int, window: tuple[float, float] | None = None) -> SimResult:
        if count == 0 and window is None and on_demand_result is not None:
            return on_demand_result
        return replay.simulate(warm, cold, init, provisioned=count, seed=seed, pc_window_s=window)

    count, runs = search_provisioned(run, budget)
    # The chart of cold share against N shows the pick's neighbours too, even when the pick is 0.
    for n in (count + 1, count + 2):
        if n not in runs:
            runs[n] = run(n)
    month = profile.requests_per_month

    def option(label: str, result: SimResult, hours: float) -> ProvisionedOption:
        usd = monthly_usd(
            result, month, hours_per_day=hours, memory_mb=memory_mb, architecture=architecture, path=path,
            billed_ms=billed_ms, region=region,
        )  # fmt: skip
        p99 = None if result.p99_service_ms is None else result.p99_service_ms + overhead_ms
        return ProvisionedOption(label, result.provisioned, hours, usd, result.cold_share, p99)

    on_demand = option("on demand", runs[0], 0.0)
    options = [on_demand]
    if count:
        options.append(option("always on", runs[count], 24.0))
        if profile.peak_window_s is not None:
            low, high = profile.peak_window_s
            options.append(option("peak hours", run(count, profile.peak_window_s), (high - low) / 3600))
    chosen = options[1] if count else on_demand
    case = traffic_case(profile, idle)
    u = break_even_utilisation(architecture, region)
    return ProvisionedPick(
        count=count,
        monthly_usd=chosen.monthly_usd,
        on_demand_monthly_usd=on_demand.monthly_usd,
        break_even_utilisation=u,
        predicted_cold_share=chosen.predicted_cold_share,
        reason=_reason(count, runs, options, budget, case),
        case=case,
        options=tuple(options),
        curve=tuple((n, runs[n].cold_share) for n in sorted(runs)),
        sensitivity=_sensitivity(count, runs, warm, architecture, profile, budget, region),
    )


def _reason(count: int, runs: dict[int, SimResult], options: list[ProvisionedOption], budget: float, case: str) -> str:
    share0 = runs[0].cold_share
    if not count:
        return (
            f"On demand already keeps cold starts to {share0:.3%} of requests, within the {budget:.2%} "
            f"budget, so no provisioned concurrency ({_CASES[case]})."
        )
    chosen = runs[count]
    plural, verb = ("environment", "brings") if count == 1 else ("environments", "bring")
    extra = options[1].monthly_usd - options[0].monthly_usd
    change = f"${abs(extra):,.2f} a month {'more' if extra >= 0 else 'less'} than on demand"
    if chosen.cold_share > budget:
        return (
            f"No N up to {count} keeps cold starts within the {budget:.2%} budget ({share0:.3%} on demand, "
            f"{chosen.cold_share:.3%} with {count} provisioned {plural}, {change}; {_CASES[case]})."
        )
    scheduled = ""
    if (
        len(options) > 2
        and options[2].predicted_cold_share <= budget
        and options[2].monthly_usd < options[1].monthly_usd
    ):
        scheduled = f"; scheduled for the peak hours only it meets the budget for ${options[2].monthly_usd:,.2f}"
    return (
        f"{count} provisioned {plural} {verb} the predicted cold share from {share0:.3%} to "
        f"{chosen.cold_share:.3%}, within the {budget:.2%} budget, for {change} ({_CASES[case]}){scheduled}."
    )


def _sensitivity(
    count: int, runs: dict[int, SimResult], warm: Sample, architecture: str, profile: ArrivalProfile, budget: float,
    region: str | None,
) -> str | None:  # fmt: skip
    if warm.mean is None or warm.mean <= 0:
        return None
    u = break_even_utilisation(architecture, region)
    if u >= 1:  # even a fully busy environment costs more provisioned than on demand
        return (
            f"Provisioned concurrency never costs less than on demand at these prices: its break-even utilisation "
            f"is {u:.0%}, above a fully busy environment, so it buys fewer cold starts, never a lower bill."
        )
    if not count:
        return (
            f"On demand stays enough while its cold share ({runs[0].cold_share:.3%}) is within the budget "
            f"({budget:.2%}); one provisioned environment pays for itself only above "
            f"{break_even_rps(1, warm.mean, architecture, region):.3g} rps ({u:.0%} busy at {warm.mean:.3g} ms a call)."
        )
    rps = break_even_rps(count, warm.mean, architecture, region)
    busy = runs[count].pc_utilisation or 0.0
    return (
        f"PC stops paying below {rps:.3g} rps ({count} x {u:.0%} busy at {warm.mean:.3g} ms a call; the "
        f"traffic averages {profile.mean_rps:.3g} rps and keeps them {busy:.0%} busy): below that it buys "
        "fewer cold starts, not a lower bill."
    )
