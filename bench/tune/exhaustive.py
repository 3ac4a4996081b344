"""``--mode exhaustive``: APLT's protocol, number for number.

Every size in powerValues gets ``num`` calls (executor.js); its figures are APLT's
computeStatistics (executor.js:214-238): averageDuration, the trimmed mean (discardTopBottom)
of Duration + Init Duration; averagePrice, ceil(trimmed mean of Billed Duration) x the per-ms
price at 128 MB x MB / 128, with no request charge; totalCost, the same price summed over every
call's billed duration. The pick is APLT's analyzer with its tie-breaks. The trimmed mean, the
price and the orders are bench/decide/powertuning.py's and bench/analysis/cost.py's, not copies.

Where APLT throws (an invocation error not in allowedExceptions), the size is infeasible and the
other sizes are still measured.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bench import awsfacts
from bench.analysis.cost import power_tuning_cost
from bench.analysis.sample import Sample
from bench.decide.powertuning import TuningStat, power_tuning_order, trimmed_mean
from bench.tune.sampler import Sampler, SizeData

# APLT's base cost per ms at 128 MB: x86_64 and arm64 (bench.awsfacts).
APLT_ARM64_USD_PER_MS_128MB = awsfacts.POWER_TUNING_ARM64_USD_PER_MS_128MB


def aplt_base_cost(architecture: str) -> float:
    from bench.awsfacts import POWER_TUNING_USD_PER_MS_128MB

    return APLT_ARM64_USD_PER_MS_128MB if architecture == "arm64" else POWER_TUNING_USD_PER_MS_128MB


@dataclass(frozen=True)
class SizeStats:
    """One entry of APLT's ``stats``: {value, averagePrice, averageDuration, totalCost}."""

    value: int
    average_price: float
    average_duration: float
    total_cost: float

    def as_aplt(self) -> dict[str, float | int]:
        return {
            "value": self.value,
            "averagePrice": self.average_price,
            "averageDuration": self.average_duration,
            "totalCost": self.total_cost,
        }


def size_stats(
    memory_mb: int, totals_ms: Sequence[float], billed_ms: Sequence[float], discard: float, base_cost: float
) -> SizeStats | None:
    """APLT's computeStatistics for one size; None with no call to average (APLT's 0, which it drops)."""
    if not totals_ms or not billed_ms:
        return None
    average_duration = trimmed_mean(Sample.of(totals_ms), discard)
    average_price = power_tuning_cost(trimmed_mean(Sample.of(billed_ms), discard), memory_mb, base_cost)
    total = 0.0
    for billed in billed_ms:  # left to right, as computeTotalCost's reduce adds them
        total += power_tuning_cost(billed, memory_mb, base_cost)
    return SizeStats(memory_mb, average_price, average_duration, total)


def stats_of(size: SizeData, discard: float, base_cost: float) -> SizeStats | None:
    return size_stats(size.memory_mb, size.totals_ms(), size.billed_ms(), discard, base_cost)


def aplt_pick(stats: Sequence[SizeStats], strategy: str, balanced_weight: float) -> list[SizeStats]:
    """APLT's analyzer order of ``stats`` (given in powerValues order), best first."""
    by_value = {s.value: s for s in stats}
    tuning = [TuningStat(f"mem-{s.value}", s.value, s.average_price, s.average_duration) for s in stats]
    return [by_value[t.memory_mb] for t in power_tuning_order(tuning, strategy, balanced_weight)]


def run_exhaustive(sampler: Sampler, sizes: Sequence[SizeData], num: int) -> str:
    """``num`` calls at every size, in powerValues order, as APLT's executor branches run them."""
    for size in sizes:
        sampler.sample(size, num)
    return "exhaustive: num calls at every size"
