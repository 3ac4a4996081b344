"""Host contention, per invocation: what an environment waited for a CPU, which Lambda would not have.

Linux counts, per thread, the time a task was runnable but not running (its run-queue delay,
field 2 of /proc/<pid>/task/<tid>/schedstat, in ns). On a host shared by the load generator, the
emulator and every environment, that is the host's contention. Under a CFS quota the kernel counts
the time a throttled group waits for its next period as run-queue delay too (measured here: 86 ms
of delay against 86 ms of ``throttled_time`` for a 128 MB share), so the contention is the delay
minus the group's throttled time (cpu.stat).

A Python environment measures itself, from inside (runtime_entry.py's meter, which has its own
copy of these few lines: nothing of lambench is importable there) and sends one :class:`Reading`
per invocation down a pipe. This module parses those lines, reads the same counters from outside
for custom runtimes, which have no meter, and turns a reading into the REPORT Duration per cpu_mode
(:func:`duration_ms`).
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass


@dataclass(slots=True)  # not frozen: a frozen dataclass's __init__ costs 3x, and one is made per invoke
class Reading:
    """One invocation's counters, from its event's arrival to its answer (ns)."""

    wall_ns: int
    cpu_ns: int
    run_delay_ns: int
    throttled_ns: int

    @property
    def contention_ns(self) -> int:
        """Waiting for a CPU while the quota allowed running: the host's share, not the function's."""
        return max(0, self.run_delay_ns - self.throttled_ns)

    @classmethod
    def between(cls, start: tuple[int, int, int, int], end: tuple[int, int, int, int]) -> Reading:
        wall, cpu, delay, throttled = (max(0, b - a) for a, b in zip(start, end, strict=True))
        return cls(wall, cpu, delay, throttled)


def find_reading(lines: bytes, request_id: str) -> Reading | None:
    """The reading of ``request_id`` among the meter's lines (``REQUEST_ID WALL CPU DELAY THROTTLED``),
    the last one if several; None when it has none (a bad line is no reading)."""
    key = request_id.encode() + b" "
    at = lines.rfind(key)
    while at > 0 and lines[at - 1 : at] != b"\n":  # the id must start its line
        at = lines.rfind(key, 0, at)
    if at < 0:
        return None
    end = lines.find(b"\n", at)
    parts = lines[at : end if end >= 0 else len(lines)].split()
    if len(parts) != 5:
        return None
    try:
        return Reading(int(parts[1]), int(parts[2]), int(parts[3]), int(parts[4]))
    except ValueError:
        return None


def process_counters(pid: int) -> tuple[int, int]:
    """(CPU time, run-queue delay) in ns, summed over the live threads of ``pid``."""
    cpu = delay = 0
    with contextlib.suppress(OSError):
        for tid in os.listdir(f"/proc/{pid}/task"):
            try:
                with open(f"/proc/{pid}/task/{tid}/schedstat", "rb") as stat:
                    fields = stat.read().split()
                cpu += int(fields[0])
                delay += int(fields[1])
            except (OSError, IndexError, ValueError):
                continue
    return cpu, delay


def throttled_ns(cpu_stat: str | None) -> int:
    """The cgroup's total throttled time in ns (cgroup v1 ``throttled_time``, v2 ``throttled_usec``)."""
    if not cpu_stat:
        return 0
    try:
        with open(cpu_stat, "rb") as stat:
            for line in stat:
                key, _, value = line.partition(b" ")
                if key == b"throttled_time":
                    return int(value)
                if key == b"throttled_usec":
                    return int(value) * 1000
    except (OSError, ValueError):
        pass
    return 0


def duration_ms(reading: Reading, cpu_mode: str, share: float) -> tuple[float, bool]:
    """The REPORT Duration for ``reading`` and whether it is free of host contention.

    - dilation (and none): wall time minus the run-queue delay. The environment's wall time is its
      CPU time, its own off-CPU waiting (sleep, I/O), the dilation sleep that stretches the CPU
      time to the share, and the run-queue delay; without the last it is CPU time / share plus
      off-CPU waiting, what the environment would take with a CPU share of its own.
    - quota: the kernel's quota and the host's contention interleave (an environment delayed while
      it would have been throttled anyway lost nothing), so subtracting the delay is sound only
      where the quota never bound: a share of a whole CPU or more, and no throttled time in this
      invocation. Elsewhere the wall time stands, and the delay is reported beside it.
    """
    wall = reading.wall_ns / 1e6
    contention = reading.contention_ns / 1e6
    if cpu_mode != "quota" or (share >= 1.0 and reading.throttled_ns == 0):
        return max(0.0, wall - contention), True
    return wall, contention == 0.0
