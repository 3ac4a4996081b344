"""Spending invocations on memory sizes: the one place both modes call the function.

A ``Sampler`` runs k more calls at one size, in series (APLT's default, with its
sleepBetweenRunsMs) or in parallel (parallelInvocation), each on the size's version, or, with
onlyColdStarts, each on a version of its own, published before and deleted after, so every
sample is a cold start. Call i at a size sends APLT's payload i (mod num), so a weighted
payload keeps its mix. Every call is kept in the run's record store and counted, with what it
cost at AWS's list prices in the function's region (requests and INIT included), in ``spent``. The first call that times
out, runs out of memory, is throttled or fails marks its size infeasible; no more calls go there.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from bench.analysis.cost import invocation_cost
from bench.awsfacts import BASE_PRICE_REGION
from bench.collect import RecordStore
from bench.records import InvocationRecord
from bench.targets import alias_name
from bench.tune.invoke import Invoker, Outcome
from bench.tune.lifecycle import TuneSession

MAX_PARALLEL = 16  # threads for parallelInvocation; more only queue on the client's pool


@dataclass
class SizeData:
    """Everything measured at one memory size."""

    memory_mb: int
    calls: list[InvocationRecord] = field(default_factory=list)
    infeasible: str | None = None
    version: str | None = None  # the warm version, once published

    @property
    def variant(self) -> str:
        return alias_name(self.memory_mb)

    @property
    def samples(self) -> list[InvocationRecord]:
        """Calls that count: they ran, and their REPORT line was read."""
        return [r for r in self.calls if r.duration_ms is not None and r.billed_ms is not None]

    def totals_ms(self) -> list[float]:
        """APLT's duration of each call (utils.js:537-547): Duration + Init Duration (+ Restore)."""
        return [(r.duration_ms or 0.0) + (r.init_ms or 0.0) for r in self.samples]

    def billed_ms(self) -> list[float]:
        """APLT's billed duration of each call (utils.js:549-560): Billed Duration + Billed Restore Duration."""
        return [float((r.billed_ms or 0) + (r.billed_restore_ms or 0)) for r in self.samples]

    def durations_ms(self, cold: bool) -> list[float]:
        """The handler's Duration alone, of warm or of cold calls: the part that follows the CPU share."""
        return [r.duration_ms or 0.0 for r in self.samples if bool(r.cold) == cold]

    def inits_ms(self) -> list[float]:
        return [r.init_ms for r in self.samples if r.init_ms is not None]


@dataclass
class Spent:
    invocations: int = 0
    usd: float = 0.0


@dataclass
class Sampler:
    invoker: Invoker
    session: TuneSession
    store: RecordStore
    payloads: Sequence[bytes]
    architecture: str = "x86_64"
    region: str | None = BASE_PRICE_REGION  # whose prices ``spent`` is in
    cold: bool = False
    parallel: bool = False
    sleep_ms: int = 0
    on_call: Callable[[InvocationRecord], None] | None = None
    spent: Spent = field(default_factory=Spent)
    # Delete cold samples' versions as tuning goes (the bundled emulator: each idle environment is a
    # process on this host). Elsewhere they wait for the restore: Lambda reclaims idle environments
    # itself, and a backend that reuses version numbers after a delete (moto does) stays unambiguous.
    retire_early: bool = False
    _held: list[str] = field(default_factory=list)

    def sample(self, size: SizeData, k: int) -> None:
        """Run up to ``k`` more calls at ``size`` (fewer if it turns out infeasible)."""
        if size.infeasible is not None or k <= 0:
            return
        first = len(size.calls)
        payloads = [self.payloads[(first + i) % len(self.payloads)] for i in range(k)]
        if self.cold and not self.parallel:
            for i, payload in enumerate(payloads):
                version = self._fresh(size, first + i)
                self._keep(size, self.invoker.invoke(version, size.variant, payload))
                if size.infeasible is not None:
                    break
                self._pause()
            return
        if self.cold:  # in parallel: one version per call, all published before any call
            versions = [self.session.publish(size.memory_mb, marker=f"{size.memory_mb}-{first + i}") for i in range(k)]
            self._held.extend(versions)
        else:
            if size.version is None:
                size.version = self.session.publish(size.memory_mb)
            versions = [size.version] * k
        if self.parallel and k > 1:
            with ThreadPoolExecutor(min(k, MAX_PARALLEL)) as pool:
                outcomes = list(pool.map(self.invoker.invoke, versions, [size.variant] * k, payloads))
            for outcome in outcomes:
                self._keep(size, outcome)
            if self.cold and self.retire_early:
                for old in self._held[:-1]:  # the newest, versions[-1], is held back (see _fresh)
                    self.session.retire(old)
                self._held = [versions[-1]]
            return
        for version, payload in zip(versions, payloads, strict=True):
            self._keep(size, self.invoker.invoke(version, size.variant, payload))
            if size.infeasible is not None:
                break
            self._pause()

    def _fresh(self, size: SizeData, index: int) -> str:
        """A new version for one cold sample. The one before it is deleted now, its environment with
        it, so cold sampling holds one or two environments, never num. The newest stays until the
        session's restore: the emulator cannot publish once its newest version is gone."""
        version = self.session.publish(size.memory_mb, marker=f"{size.memory_mb}-{index}")
        if not self.retire_early:
            return version
        for old in self._held:
            self.session.retire(old)
        self._held = [version]
        return version

    def _pause(self) -> None:
        if self.sleep_ms:
            time.sleep(self.sleep_ms / 1000)

    def _keep(self, size: SizeData, outcome: Outcome) -> None:
        record = outcome.record
        size.calls.append(record)
        self.store.add(record)
        self.store.maybe_flush()
        self.spent.invocations += 1
        self.spent.usd += call_usd(record, size.memory_mb, self.architecture, self.region)
        if outcome.failure is not None and size.infeasible is None:
            size.infeasible = outcome.failure
        if self.on_call is not None:
            self.on_call(record)


def call_usd(
    record: InvocationRecord, memory_mb: int, architecture: str, region: str | None = BASE_PRICE_REGION
) -> float:
    """What one call cost at ``region``'s list prices: its billed GB-seconds and the request; a throttle is free."""
    if record.status == "throttled":
        return 0.0
    billed = (record.billed_ms or 0) + (record.billed_restore_ms or 0)
    if record.billed_ms is None and record.duration_ms is not None:
        billed = math.ceil(record.duration_ms)
    return invocation_cost(billed, memory_mb, architecture, region=region)
