"""The decision stage's entry: a run's figures and aggregates + the user's settings -> a Recommendation.

    decide(summary, stats, traffic, decision, architecture) -> Recommendation

1. Feasibility first (bench/decide/feasibility.py): a variant that fails too often on the traffic's
   path, or has too little data for the figure asked of it, is listed with its reason and never
   recommended.
2. Each feasible variant is priced for the user's traffic, not the benchmark's: the traffic's
   arrivals (bench/decide/traffic.py) are simulated against that size's measured warm, cold and
   init durations (bench/decide/simulate.py) to predict the share of requests that start cold,
   and a request costs the warm and cold billed means mixed in that share (requests and API
   Gateway included; the month adds the tiers, bench/analysis/monthly.py).
3. The memory size is picked by the strategy (bench/decide/strategies.py), and the provisioned
   concurrency for it by simulation (bench/decide/provisioned.py).

Durations are the function's own, the same whatever path called it, so they are pooled over
paths; client latency and error rates are the traffic's path's only. Prices are those of the
run's region (``summary.region``, bench/analysis/pricing.py), and the notes say whose.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, replace

from bench.analysis import RunSummary, Sample, VariantSummary
from bench.analysis.cost import cost_per_million, gateway_usd_per_million
from bench.analysis.monthly import InvocationProfile, TrafficProfile, monthly_cost
from bench.analysis.ranking import cost_sample
from bench.analysis.stats import quantile_ci
from bench.collect import Metric, RunStats
from bench.decide.feasibility import infeasible_variants
from bench.decide.model import Candidate, Infeasible, MemoryPick, Recommendation
from bench.decide.powertuning import power_tuning_pick, trimmed_mean
from bench.decide.provisioned import plan_provisioned
from bench.decide.settings import DecisionSettings, TrafficSettings
from bench.decide.simulate import Replay, SimResult, replay_of
from bench.decide.strategies import pick_memory
from bench.decide.traffic import arrival_profile

SEED = 20261201  # the simulations are seeded: the same run decides the same way every time


def _metrics(stats: RunStats, variant: str, name: str, colds: Iterable[str], path: str | None = None) -> list[Metric]:
    """One metric of a variant's keys of the given coldness, on one path (None: every path)."""
    wanted = set(colds)
    return [
        key_stats.metrics[name]
        for key, key_stats in stats.keys.items()
        if key.variant == variant and key.cold in wanted and (path is None or key.path == path)
        and name in key_stats.metrics
    ]  # fmt: skip


def _sample(stats: RunStats, variant: str, name: str, *colds: str, path: str | None = None) -> Sample:
    return Sample.from_metrics(_metrics(stats, variant, name, colds or ("cold", "warm", "unknown"), path))


def _billed_pair(v: VariantSummary) -> tuple[float, float] | None:
    """The measured (warm, cold) mean Billed Duration; one lends itself to the other when missing."""
    warm = v.billed_ms_warm.value if v.billed_ms_warm is not None else None
    cold = v.billed_ms_cold.value if v.billed_ms_cold is not None else None
    if warm is None and cold is None:
        mean = v.billed_ms_mean.value
        return None if mean is None else (mean, mean)
    # A size never seen cold has no cold start to price (and one never seen warm, no warm call).
    return (warm if warm is not None else cold, cold if cold is not None else warm)  # type: ignore[return-value]


def _overhead_ms(v: VariantSummary) -> float:
    """What a call waits beyond the function's own Duration (network, gateway, runtime), as measured:
    warm client p50 minus warm Duration p50. It turns the simulator's service times into client
    latencies for the predicted p99."""
    client, duration = v.client_ms_warm, v.duration_ms_warm
    if client is None or duration is None or client.p50 is None or duration.p50 is None:
        return 0.0
    return max(0.0, client.p50 - duration.p50)


def _billed_mix(v: VariantSummary, cold_share: float) -> float | None:
    """Mean billed ms of a request of the user's traffic: warm and cold means in its cold share."""
    pair = _billed_pair(v)
    return None if pair is None else (1 - cold_share) * pair[0] + cold_share * pair[1]


def _durations(stats: RunStats, variant: str) -> tuple[Sample, Sample, Sample] | None:
    """Warm duration, cold duration and init duration of a variant, for the simulator.

    A variant seen only warm or only cold lends the one it has to the other; one that never
    showed an Init Duration (a benchmark always starts some environments, so this is rare) is
    simulated with an INIT of 0 ms, which makes its cold starts look cheap: the caller notes it.
    """
    warm = _sample(stats, variant, "duration_ms", "warm")
    cold = _sample(stats, variant, "duration_ms", "cold")
    if not warm.n and not cold.n:
        return None
    init = _sample(stats, variant, "init_ms", "cold")
    return (warm if warm.n else cold), (cold if cold.n else warm), (init if init.n else Sample.of([0.0]))


def _candidate(
    v: VariantSummary, stats: RunStats, replay: Replay, traffic: TrafficSettings, decision: DecisionSettings,
    architecture: str, region: str | None,
) -> tuple[Candidate, Sample, Sample, SimResult] | None:  # fmt: skip
    """The variant priced and simulated for the traffic, with its per-call cost and latency samples
    and its simulation on demand."""
    durations = _durations(stats, v.variant)
    if v.memory_mb is None or durations is None:
        return None
    on_demand = replay.simulate(*durations, provisioned=0, seed=SEED)
    cold_share = on_demand.cold_share
    billed = _billed_mix(v, cold_share)
    if billed is None:
        return None
    month = monthly_cost(
        InvocationProfile(v.memory_mb, architecture, billed, region=region),
        TrafficProfile(traffic.requests_per_month, traffic.path),
    )  # fmt: skip
    latency = _sample(stats, v.variant, "client_ms", path=traffic.path)
    q = decision.slo_percentile / 100
    upper = quantile_ci(latency, q).hi if latency.n else None
    candidate = Candidate(
        variant=v.variant, memory_mb=v.memory_mb,
        usd_per_invocation=cost_per_million(billed, v.memory_mb, architecture, traffic.path, region=region) / 1e6,
        monthly_usd=month.total_usd, predicted_cold_share=cold_share,
        duration_ms=trimmed_mean(_sample(stats, v.variant, "duration_ms")),
        latency_ms=latency.quantile(q) if latency.n else None, latency_upper_ms=upper,
    )  # fmt: skip
    per_call = cost_sample(_sample(stats, v.variant, "billed_ms"), v.memory_mb, architecture, region=region)
    per_call = per_call.affine(1.0, gateway_usd_per_million(traffic.path, region))
    return candidate, per_call, latency, on_demand


def decide(
    summary: RunSummary,
    stats: RunStats,
    traffic: TrafficSettings,
    decision: DecisionSettings,
    architecture: str,
) -> Recommendation:
    """The Recommendation for this run's figures and the user's traffic, in the prices of the
    summary's region (see the module)."""
    region = summary.region
    infeasible = infeasible_variants(summary, decision, traffic.path)
    excluded = {i.variant for i in infeasible}
    profile = arrival_profile(traffic)
    replay = replay_of(profile, decision.idle_timeout_s, SEED)  # every size replays the same arrivals
    candidates: list[Candidate] = []
    cost_samples: dict[str, Sample] = {}
    latency_samples: dict[str, Sample] = {}
    on_demand: dict[str, SimResult] = {}
    on_path = [v for v in summary.variants if v.path == traffic.path and v.variant not in excluded]
    for v in on_path:
        made = _candidate(v, stats, replay, traffic, decision, architecture, region)
        if made is None:
            infeasible.append(Infeasible(v.variant, v.memory_mb, "no billed duration to price it by"))
            continue
        candidate, cost_samples[v.variant], latency_samples[v.variant], on_demand[v.variant] = made
        candidates.append(candidate)
    memory = pick_memory(candidates, decision, cost_samples, latency_samples)
    memory = replace(memory, power_tuning_pick=_power_tuning_pick(candidates, stats, decision))
    provisioned = None
    durations = _durations(stats, memory.variant) if memory.variant is not None else None
    picked = next((v for v in on_path if v.variant == memory.variant), None)
    if durations is not None and memory.memory_mb is not None and picked is not None:
        provisioned = plan_provisioned(
            profile, *durations, memory_mb=memory.memory_mb, architecture=architecture, path=traffic.path,
            decision=decision, seed=SEED, billed_ms=_billed_pair(picked), overhead_ms=_overhead_ms(picked),
            replay=replay, on_demand_result=on_demand[picked.variant], region=region,
        )  # fmt: skip
    return Recommendation(
        memory=memory,
        provisioned_concurrency=provisioned,
        infeasible=tuple(infeasible),
        candidates=tuple(candidates),
        traffic=_plain(asdict(traffic)),
        decision=_plain(asdict(decision)),
        notes=_notes(traffic, decision, summary.prices.statement(architecture, [traffic.path])),
    )


def _power_tuning_pick(candidates: list[Candidate], stats: RunStats, decision: DecisionSettings) -> str | None:
    """What aws-lambda-power-tuning's own formula would pick from the same feasible sizes."""
    if not candidates:
        return None
    memory = {c.variant: c.memory_mb for c in candidates}
    billed = {c.variant: _sample(stats, c.variant, "billed_ms") for c in candidates}
    durations = {c.variant: _sample(stats, c.variant, "duration_ms") for c in candidates}
    return power_tuning_pick(memory, billed, durations, decision.strategy, decision.balanced_weight)


def no_decision(reason: str, decision: DecisionSettings) -> Recommendation:
    """A Recommendation that says why nothing could be decided (no records, say)."""
    return Recommendation(MemoryPick(None, None, decision.strategy, None, reason), None)


def _notes(traffic: TrafficSettings, decision: DecisionSettings, prices: str) -> tuple[str, ...]:
    return (
        f"Priced for {traffic.requests_per_month:,.0f} requests a month on {traffic.path}, not for the "
        f"benchmark's own load; {prices}, first duration tier as the month reaches it, no free tier.",
        f"Cold starts predicted by simulating that traffic against each size's measured durations, with "
        f"idle environments reclaimed after {decision.idle_timeout_s:g} s (assumed; Lambda does not publish it).",
    )


def _plain(values: Mapping[str, object]) -> dict[str, object]:
    return {key: str(value) if hasattr(value, "__fspath__") else value for key, value in values.items()}


__all__ = ["decide", "no_decision"]
