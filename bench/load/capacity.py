"""The host's capacity, in the open: does the run ask more CPU of this machine than it has?

On Lambda every environment has its own share of a vCPU. Here the load generator, the emulator and
every environment share the host's cores, and a run that asks for more than the host has measures
the host, not the function. This module:

- before a run, plans: the environments' worst-case need (users x the largest CPU share among the
  variants, each at most one core per user) against the cores, and, where the environments fit in
  all cores but one, pins them apart from the load generator and the emulator (CPU affinity; the
  environments inherit theirs from the emulator's spawn, see bench/emulator/pool.py);
- after it, judges from what was measured: the emulator's per-invocation run-queue delay of the
  environments (the time they were runnable but waited for a CPU, summed in its ``served``
  counters), and the host's busy cores over the run (/proc/stat);
- and says it in one line, with the figure and what to do: fewer users, an open-loop
  ``[load] rps``, or distributed Locust on another machine. Not another "unstable" warning.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..awsfacts import vcpus_for

# The environments waited for a CPU this share of their run time or more: the host was short.
CONTENDED_SHARE = 0.05
# Or the host's cores were this busy over the run (for targets that report no run-queue delay).
BUSY_SHARE = 0.95
# A core is left to the load generator and the emulator when the environments get the others.
GENERATOR_CORES = 1


@dataclass(frozen=True)
class Pinning:
    """Which CPUs the environments and the load generator (with the emulator) may use."""

    environments: tuple[int, ...]
    generator: tuple[int, ...]

    def describe(self) -> str:
        return (
            f"environments pinned to CPU {_cpus(self.environments)}, "
            f"load generator and emulator to CPU {_cpus(self.generator)}"
        )


def _cpus(cpus: tuple[int, ...]) -> str:
    return ",".join(str(c) for c in cpus)


def usable_cpus() -> tuple[int, ...]:
    return tuple(sorted(os.sched_getaffinity(0)))


def environments_need(users: int, memory_mb: tuple[int, ...]) -> float:
    """Cores the environments could use at once: every user on the largest share, one core each at most."""
    largest = max((min(vcpus_for(mb), 1.0) for mb in memory_mb), default=1.0)
    return users * largest


def plan_pinning(users: int, memory_mb: tuple[int, ...], cpus: tuple[int, ...] | None = None) -> Pinning | None:
    """Environments on all cores but the generator's, when they fit there; else None (no pinning)."""
    cpus = cpus if cpus is not None else usable_cpus()
    spare = len(cpus) - GENERATOR_CORES
    if spare < 1 or environments_need(users, memory_mb) > spare:
        return None
    return Pinning(environments=cpus[GENERATOR_CORES:], generator=cpus[:GENERATOR_CORES])


def host_busy_s() -> float:
    """CPU seconds the whole host has been busy (user, nice, system, irq, softirq; /proc/stat)."""
    with open("/proc/stat") as stat:
        fields = stat.readline().split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq = (int(f) for f in fields[:7])
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class HostSample:
    at: float
    busy_s: float
    served: Mapping[str, Any]  # the emulator's counters (empty for other targets)

    @classmethod
    def now(cls, served: Mapping[str, Any] | None = None) -> HostSample:
        return cls(time.monotonic(), host_busy_s(), dict(served or {}))


@dataclass(frozen=True)
class Capacity:
    """What the run asked of the host, measured between two samples."""

    cores: int
    busy_cores: float
    waited_share: float | None  # the environments' run-queue delay over their run time (None: unknown)
    quota_kept_share: float | None  # the invocations whose Duration kept their delay (quota mode)
    users: int
    pinning: Pinning | None

    @property
    def oversubscribed(self) -> bool:
        if self.waited_share is not None and self.waited_share >= CONTENDED_SHARE:
            return True
        return self.busy_cores >= BUSY_SHARE * self.cores

    def line(self) -> str | None:
        """The one line a run prints and its report shows; None when the host kept up."""
        pinned = f"; {self.pinning.describe()}" if self.pinning else ""
        if not self.oversubscribed:
            return (
                f"host capacity: enough ({self.busy_cores:.2f} of {self.cores} cores busy{pinned})" if pinned else None
            )
        if self.waited_share is not None:
            figure = f"the functions waited for a CPU {self.waited_share:.0%} of their run time"
            if self.quota_kept_share:
                figure += f" (quota mode: {self.quota_kept_share:.0%} of invocations keep that wait in Duration)"
            else:
                figure += " (Duration leaves it out; client latency keeps it)"
            figure += f", {self.busy_cores:.2f} of {self.cores} cores busy"
        else:
            figure = f"{self.busy_cores:.2f} of {self.cores} cores busy"
        return (
            f"host capacity: oversubscribed: {figure}{pinned}. For figures this host can give: fewer users "
            f"(now {self.users}), an open-loop [load] rps, or distributed Locust on another machine."
        )


def measure(
    before: HostSample, after: HostSample, users: int, pinning: Pinning | None, cores: int | None = None
) -> Capacity:
    elapsed = max(after.at - before.at, 1e-9)
    cores = cores or len(usable_cpus())

    def delta(key: str) -> float:
        return float(after.served.get(key, 0)) - float(before.served.get(key, 0))

    wall = delta("wall_us")
    waited = kept = None
    if wall > 0:
        waited = delta("contention_us") / wall
        contention = delta("contention_us")
        # Invocations whose Duration kept their contention (quota mode, where no correction is sound).
        kept = (delta("contended") / max(delta("metered"), 1.0)) if contention > 0 else 0.0
    return Capacity(
        cores=cores,
        busy_cores=max(0.0, after.busy_s - before.busy_s) / elapsed,
        waited_share=waited,
        quota_kept_share=kept,
        users=users,
        pinning=pinning,
    )
