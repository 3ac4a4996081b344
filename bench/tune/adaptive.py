"""``--mode adaptive`` (the default): stop invoking as soon as the pick is sure.

1. Probe a few sizes first: the smallest, the largest, and the one nearest 1,769 MB (where the
   CPU share stops growing), ``FIRST`` calls each.
2. Fit duration against memory (bench/tune/model.py) from the sampled sizes: warm Duration in
   warm mode; with onlyColdStarts, the cold calls' Duration plus a separate model of Init
   Duration (its trimmed mean over every size: INIT runs unthrottled, so it barely moves with
   memory). Warm and cold are never pooled.
3. Rank the sampled sizes by APLT's own figures and order (bench/tune/exhaustive.py). A size not
   yet sampled whose predicted figure, improved by the model's margin (twice its relative error,
   at least ``MIN_MARGIN``), would beat the best is a contender: it is sampled next, best first.
   A size below one that ran out of memory is presumed infeasible and never invoked.
4. Otherwise the best and the runner-up get calls until each has enough for the test, then,
   ``step`` calls at a time, whichever of the two shrinks the variance of the difference of
   their means most (s^2 / (n (n + 1)), the drop in s^2 / n from one more call).
5. Stop when the test separates the best from the runner-up: the decision stage's rule
   (bench/analysis/separation.py, check_cheapest), a Welch interval of the difference in mean
   per-call figure wholly below zero with samples Mann-Whitney could reject at, here at the
   requested confidence. Or when that interval lies within +-``tolerance`` of the best's figure
   (the two are equivalent: either pick is within the tolerance); or at the budget
   (max invocations, max USD, checked before each batch).

The per-call figure is the strategy's: APLT's price of the call's billed ms (cost), its
duration (speed), or w x price / max price + (1 - w) x duration / max duration (balanced,
APLT's maxima), so its mean is the figure being ranked. In warm mode the cold calls are left
out of it, as APLT's trimmed mean leaves them out of the ranking.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from bench.analysis.compare import NOT_ENOUGH_DATA, compare_samples, min_p_value
from bench.analysis.cost import power_tuning_cost
from bench.analysis.sample import Sample
from bench.analysis.stats import Interval, welch_diff_ci
from bench.awsfacts import MB_PER_VCPU
from bench.decide.powertuning import trimmed_mean
from bench.tune.exhaustive import SizeStats, aplt_pick, stats_of
from bench.tune.model import Fit, best_fit
from bench.tune.sampler import Sampler, SizeData

FIRST = 5  # calls at a size on its first visit (one of them cold, in warm mode)
MIN_MARGIN = 0.10  # the least a prediction is trusted to be off by
SEPARATED, EQUIVALENT, UNDECIDED = "separated", "equivalent", "undecided"


@dataclass(frozen=True)
class AdaptiveSettings:
    max_invocations: int
    max_usd: float | None = None
    confidence: float = 0.95
    tolerance: float = 0.05
    step: int = 3


@dataclass
class Verdict:
    """The test of the best against the runner-up, on per-call figures."""

    outcome: str  # SEPARATED, EQUIVALENT or UNDECIDED
    difference: Interval | None
    reason: str


@dataclass
class AdaptiveResult:
    stop: str
    fit: Fit | None = None
    init_ms: float | None = None
    predicted: dict[int, SizeStats] = field(default_factory=dict)
    presumed_infeasible: dict[int, str] = field(default_factory=dict)
    verdict: Verdict | None = None
    runner_up: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "stop": self.stop,
            "model": None if self.fit is None else self.fit.as_dict(),
            "init_model_ms": self.init_ms,
            "predicted": [s.as_aplt() | {"predicted": True} for s in self.predicted.values()],
            "verdict": None if self.verdict is None else self.verdict.outcome,
        }


@dataclass
class Adaptive:
    sampler: Sampler
    sizes: Sequence[SizeData]  # in powerValues order
    strategy: str
    balanced_weight: float
    discard: float
    base_cost: float
    settings: AdaptiveSettings
    cold: bool = False
    log: Callable[[str], None] = lambda _line: None
    result: AdaptiveResult = field(default_factory=lambda: AdaptiveResult("running"))

    def run(self) -> AdaptiveResult:
        min_n = _min_n(1 - self.settings.confidence)
        for size in self._probes():
            if not self._spend(size, FIRST, "probe"):
                return self._stopped("budget spent while probing")
        while True:
            self._presume()
            ranked = self._ranked()
            fit = self.result.fit = self._fit()
            unsampled = self._unsampled()
            if not ranked or fit is None:
                if not unsampled:
                    return self._stopped("no size left to sample" if ranked else "no feasible size")
                if not self._spend(unsampled[0], FIRST, "probe"):
                    return self._stopped("budget spent")
                continue
            best = ranked[0]
            contender = self._contender(best, unsampled, fit)
            if contender is not None:
                if not self._spend(contender, FIRST, "contender"):
                    return self._stopped("budget spent")
                continue
            if len(ranked) == 1:
                return self._stopped("only one feasible size")
            second = ranked[1]
            self.result.runner_up = second.memory_mb
            short = [s for s in (best, second) if len(self._figures(s)) < min_n]
            if short:
                if not self._spend(short[0], min_n - len(self._figures(short[0])), "refine"):
                    return self._stopped("budget spent")
                continue
            verdict = self.result.verdict = self._test(best, second)
            if verdict.outcome != UNDECIDED:
                return self._stopped(verdict.reason)
            if not self._spend(self._next(best, second), self.settings.step, "refine"):
                return self._stopped("budget spent before the test decided: " + verdict.reason)

    # -- what to sample

    def _probes(self) -> list[SizeData]:
        by_memory = sorted(self.sizes, key=lambda s: s.memory_mb)
        knee = min(by_memory, key=lambda s: abs(math.log(s.memory_mb / MB_PER_VCPU)))
        chosen = [by_memory[0], by_memory[-1], knee]
        return [s for i, s in enumerate(chosen) if s not in chosen[:i]]

    def _unsampled(self) -> list[SizeData]:
        return [
            s for s in self.sizes if not s.calls and s.memory_mb not in self.result.presumed_infeasible
        ]  # fmt: skip

    def _presume(self) -> None:
        """Sizes below one that ran out of memory would too: a function's memory need does not
        shrink with its limit. They are reported, never invoked."""
        for oom in (s for s in self.sizes if s.infeasible and s.infeasible.startswith("ran out of memory")):
            for s in self._unsampled():
                if s.memory_mb < oom.memory_mb:
                    self.result.presumed_infeasible[s.memory_mb] = (
                        f"not invoked: below {oom.memory_mb} MB, which ran out of memory"
                    )

    def _spend(self, size: SizeData, k: int, why: str) -> bool:
        spent, s = self.sampler.spent, self.settings
        if s.max_usd is not None and spent.usd >= s.max_usd:
            return False
        k = min(k, s.max_invocations - spent.invocations)
        if k <= 0:
            return False
        self.sampler.sample(size, k)
        state = f"infeasible: {size.infeasible}" if size.infeasible else f"n={len(size.samples)}"
        self.log(f"{why} {size.memory_mb} MB +{k} ({state}); spent {spent.invocations} calls, ${spent.usd:.6f}")
        return True

    def _next(self, best: SizeData, second: SizeData) -> SizeData:
        return max((best, second), key=lambda s: (_gain(self._figures(s)), -s.memory_mb))

    # -- figures

    def _feasible(self) -> list[SizeData]:
        return [s for s in self.sizes if s.infeasible is None and s.samples]

    def _stats(self) -> list[SizeStats]:
        found = (stats_of(s, self.discard, self.base_cost) for s in self._feasible())
        return [s for s in found if s is not None]

    def _ranked(self) -> list[SizeData]:
        by_memory = {s.memory_mb: s for s in self.sizes}
        return [by_memory[s.value] for s in aplt_pick(self._stats(), self.strategy, self.balanced_weight)]

    def _fit(self) -> Fit | None:
        points = [(s.memory_mb, s.durations_ms(self.cold)) for s in self._feasible()]
        points = [(m, d) for m, d in points if d]
        if not points:
            return None
        inits = [i for s in self._feasible() for i in s.inits_ms()]
        self.result.init_ms = trimmed_mean(Sample.of(inits), self.discard) if self.cold and inits else None
        return best_fit(
            [m for m, _ in points],
            [trimmed_mean(Sample.of(d), self.discard) for _, d in points],
            [len(d) for _, d in points],
        )

    def _predicted(self, size: SizeData, fit: Fit) -> SizeStats:
        duration = max(fit.predict(size.memory_mb), 0.0) + (self.result.init_ms or 0.0)
        # A warm call bills ceil(Duration); a cold one ceil(Duration + Init Duration) since 2025-08.
        return SizeStats(size.memory_mb, power_tuning_cost(duration, size.memory_mb, self.base_cost), duration, 0.0)

    def _maxima(self, extra: Sequence[SizeStats] = ()) -> tuple[float, float]:
        every = [*self._stats(), *extra]
        return max(s.average_price for s in every), max(s.average_duration for s in every)

    def _score(self, stat: SizeStats, maxima: tuple[float, float], scale: float = 1.0) -> float:
        if self.strategy == "cost":
            return stat.average_price * scale
        if self.strategy == "speed":
            return stat.average_duration * scale
        w = self.balanced_weight
        return scale * (w * stat.average_price / maxima[0] + (1 - w) * stat.average_duration / maxima[1])

    def _contender(self, best: SizeData, unsampled: list[SizeData], fit: Fit) -> SizeData | None:
        predicted = {s.memory_mb: self._predicted(s, fit) for s in unsampled}
        self.result.predicted = predicted
        maxima = self._maxima(list(predicted.values()))
        best_stats = stats_of(best, self.discard, self.base_cost)
        assert best_stats is not None
        target = self._score(best_stats, maxima)
        margin = max(MIN_MARGIN, 2 * fit.relative_error)
        hopeful = [s for s in unsampled if self._score(predicted[s.memory_mb], maxima, 1 - margin) < target]
        return min(hopeful, key=lambda s: self._score(predicted[s.memory_mb], maxima), default=None)

    def _figures(self, size: SizeData) -> list[float]:
        """The per-call figure whose mean is ranked (see the module); cold calls apart in warm mode."""
        calls = [r for r in size.samples if self.cold or not r.cold]
        maxima = self._maxima() if self.strategy == "balanced" else (1.0, 1.0)
        out = []
        for r in calls:
            billed = float((r.billed_ms or 0) + (r.billed_restore_ms or 0))
            stat = SizeStats(
                size.memory_mb,
                power_tuning_cost(billed, size.memory_mb, self.base_cost),
                (r.duration_ms or 0.0) + (r.init_ms or 0.0),
                0.0,
            )
            out.append(self._score(stat, maxima))
        return out

    # -- the test

    def _test(self, best: SizeData, second: SizeData) -> Verdict:
        return separation_test(
            self._figures(best),
            self._figures(second),
            self.settings.confidence,
            self.settings.tolerance,
            f"{best.memory_mb} MB",
            f"{second.memory_mb} MB",
        )

    def _stopped(self, why: str) -> AdaptiveResult:
        self.result.stop = why
        self.log(f"stop: {why}")
        return self.result


def separation_test(
    best: Sequence[float], second: Sequence[float], confidence: float, tolerance: float, name: str, other: str
) -> Verdict:
    """separation.py's rule (check_cheapest) at ``confidence``, plus equivalence within ``tolerance``.

    Separated: Mann-Whitney could reject at alpha = 1 - confidence with these sizes, and the Welch
    interval of mean(best) - mean(second) lies wholly below zero. Equivalent: that interval lies
    within +-tolerance x mean(best), so whichever is the cheaper, the other is within the tolerance.
    """
    comparison = compare_samples(best, second, alpha=1 - confidence, p95=False)
    interval = welch_diff_ci(best, second, confidence)
    if comparison.verdict == NOT_ENOUGH_DATA or interval.lo is None or interval.hi is None:
        return Verdict(UNDECIDED, interval, f"not enough data to tell {name} from {other}: {comparison.reason}")
    span = f"[{interval.lo:+.4g}, {interval.hi:+.4g}] at {confidence:.0%}"
    if interval.hi < 0:
        return Verdict(SEPARATED, interval, f"{name} is separated from the runner-up, {other}: difference {span}")
    reference = abs(float(Sample.of(best).mean or 0.0)) * tolerance
    if -reference <= interval.lo and interval.hi <= reference:
        return Verdict(
            EQUIVALENT,
            interval,
            f"{name} and the runner-up, {other}, are within {tolerance:.0%} of each other: difference {span}",
        )
    return Verdict(UNDECIDED, interval, f"{name} and {other} not yet told apart: difference {span}")


def _gain(figures: Sequence[float]) -> float:
    n = len(figures)
    if n < 2:
        return math.inf
    variance = Sample.of(figures).variance or 0.0
    return variance / (n * (n + 1))


def _min_n(alpha: float) -> int:
    """The fewest calls each for Mann-Whitney to be able to reject at ``alpha`` (4 at 0.05)."""
    n = 2
    while min_p_value(n, n) > alpha:
        n += 1
    return max(n, 4)
