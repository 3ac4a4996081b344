"""aws-lambda-power-tuning's own definitions, so our picks can be set beside theirs.

What APLT (alexcasalboni/aws-lambda-power-tuning 4.4.0, commit 262ecc2) computes per memory
size and how it orders them, read from its source (lambda/analyzer.js, lambda/utils.js,
lambda/executor.js): the trimmed mean of durations, its price formula, and the cost, speed and
balanced orders with their tie-breaks. bench/decide/strategies.py picks with these orders on
our own prices; ``power_tuning_pick`` is what APLT itself would pick.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from bench.analysis.cost import POWER_TUNING_DISCARD, power_tuning_cost
from bench.analysis.sample import Sample
from bench.awsfacts import POWER_TUNING_USD_PER_MS_128MB

APLT = "aws-lambda-power-tuning"


@dataclass(frozen=True)
class TuningStat:
    """One memory size as APLT's analyzer sees it, {power, cost, duration} (analyzer.js:87-92)."""

    variant: str
    memory_mb: int
    cost: float  # averagePrice, USD per invocation
    duration: float  # averageDuration, ms


def trimmed_mean(sample: Sample, discard: float = POWER_TUNING_DISCARD) -> float:
    """APLT's average (utils.js:579-605): the mean after cutting int(n x discard) values from each
    end of the sorted sample; exactly scipy.stats.trim_mean of the expanded values, from counts.

    APLT truncates with parseInt(n * discard) (utils.js:585) and scipy with int(discard * n): the
    same cut. ValueError for an empty sample or discard outside [0, 0.5).
    """
    if not 0 <= discard < 0.5:
        raise ValueError(f"discard {discard}: must be in [0, 0.5)")
    if not sample.n:
        raise ValueError("the trimmed mean of an empty sample")
    cut = int(discard * sample.n)
    upper = np.cumsum(sample.counts)
    lower = upper - sample.counts
    # How many copies of each distinct value fall within ranks cut+1 .. n-cut.
    kept = np.clip(np.minimum(upper, sample.n - cut) - np.maximum(lower, cut), 0, None)
    return float(np.dot(sample.values, kept) / (sample.n - 2 * cut))


def power_tuning_order(stats: Sequence[TuningStat], strategy: str, balanced_weight: float = 0.5) -> list[TuningStat]:
    """APLT's ranking of ``stats``, best first; ``stats`` in the order APLT was given them
    (its powerValues), which decides what no key does: JavaScript's sort is stable (ES2019).

    - Sizes without an average duration are left out: analyzer.js:86 keeps only stats whose
      averageDuration is truthy (not 0, not NaN).
    - cost (analyzer.js:95-111): lowest averagePrice; at equal price, the lower averageDuration.
    - speed (analyzer.js:113-129): lowest averageDuration; at equal duration, the lower price.
    - balanced (analyzer.js:131-151): lowest w * cost / maxCost + (1 - w) * duration / maxDuration,
      w clamped to [0, 1] (analyzer.js:55): the weight multiplies cost, so 1 is cost and 0 speed;
      both maxima over the sizes ranked. Equal scores keep the given order.
    """
    kept = [s for s in stats if s.duration and not math.isnan(s.duration)]
    key: Callable[[TuningStat], tuple[float, ...]]
    if strategy == "cost":
        key = lambda s: (s.cost, s.duration)  # noqa: E731
    elif strategy == "speed":
        key = lambda s: (s.duration, s.cost)  # noqa: E731
    elif strategy == "balanced":
        w = min(max(balanced_weight, 0.0), 1.0)
        key = lambda s: (balanced_score(s, kept, w),)  # noqa: E731
    else:
        raise ValueError(f"strategy {strategy!r}: {APLT} knows cost, speed and balanced")
    return sorted(kept, key=key)


def power_tuning_pick(
    memory_mb: Mapping[str, int],
    billed_ms: Mapping[str, Sample],
    durations_ms: Mapping[str, Sample],
    strategy: str,
    balanced_weight: float = 0.5,
    *,
    discard: float = POWER_TUNING_DISCARD,
    usd_per_ms_128mb: float = POWER_TUNING_USD_PER_MS_128MB,
) -> str | None:
    """The variant APLT itself would pick from these samples; None when it could rank none.

    Its figures (executor.js:214-238): averageDuration, the trimmed mean of each call's
    Duration + Init Duration (+ Restore Duration; utils.js:537-547), which ``durations_ms`` should
    hold; averagePrice, power_tuning_cost of the trimmed mean of Billed Duration, i.e.
    ceil(ms) x 2.1e-9 x MB / 128 (utils.js:532-535). APLT has no slo strategy: for ``slo`` this
    is its default, cost (analyzer.js:7, 45). Variants are given to it by ascending memory. Its
    base price scales every size alike, so it never changes the pick, only the figures.
    """
    stats = []
    for variant in sorted(memory_mb, key=lambda name: (memory_mb[name], name)):
        billed, durations = billed_ms.get(variant), durations_ms.get(variant)
        if billed is None or durations is None or not billed.n or not durations.n:
            continue  # APLT's average of no durations is 0 (utils.js:580-582), which the analyzer drops
        price = power_tuning_cost(trimmed_mean(billed, discard), memory_mb[variant], usd_per_ms_128mb)
        stats.append(TuningStat(variant, memory_mb[variant], price, trimmed_mean(durations, discard)))
    order = power_tuning_order(stats, "cost" if strategy == "slo" else strategy, balanced_weight)
    return order[0].variant if order else None


def balanced_score(s: TuningStat, ranked: Sequence[TuningStat], w: float) -> float:
    """APLT's balanced value, in the same operations and order as analyzer.js:138-142, so equal
    scores there are equal here; a zero maximum (NaN in JavaScript) can only come of free calls."""
    max_cost, max_duration = max(r.cost for r in ranked), max(r.duration for r in ranked)
    return (w * s.cost / max_cost if max_cost else 0.0) + ((1 - w) * s.duration / max_duration if max_duration else 0.0)
