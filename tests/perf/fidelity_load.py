"""What else runs on this host while the fidelity benchmark measures (tests/perf/fidelity.py).

Other processes perturb every figure (CPU share most: a quota caps a slow environment but not the
1769 MB baseline's competition). ``watched`` wraps each section: it first waits, at most
QUIET_WAIT_S (a third of it with --quick), until the rest of the machine uses under QUIET_CORES,
then samples once a second in a thread, for as long as the section runs, the cores used by
processes outside this benchmark: the whole machine's busy CPU time (psutil, steal and guest left
out) minus that of this process and its descendants. ``load_note`` puts the result in one phrase
for the tables.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import psutil
from fidelity_common import fmt, progress

QUIET_CORES = 0.3  # what other processes may use before a section starts (others share this host)
QUIET_WAIT_S = 90  # how long a section waits for that, at most


def quiet_limit(quick: bool) -> float:
    return QUIET_WAIT_S / 3 if quick else QUIET_WAIT_S


def machine_busy_s() -> float:
    """CPU seconds the whole machine has been busy (steal and guest left out)."""
    t = psutil.cpu_times()
    return t.user + t.nice + t.system + getattr(t, "irq", 0.0) + getattr(t, "softirq", 0.0)


def tree_cpu_s() -> float:
    """CPU seconds of this process and its descendants, reaped children included (no gaps on exit)."""
    total = 0.0
    for process in [psutil.Process(), *psutil.Process().children(recursive=True)]:
        with contextlib.suppress(psutil.Error):
            t = process.cpu_times()
            total += t.user + t.system + t.children_user + t.children_system
    return total


def other_cores(seconds: float) -> float:
    """Cores the rest of the machine (not this benchmark's processes) used over the next ``seconds``."""
    busy0, ours0, t0 = machine_busy_s(), tree_cpu_s(), time.perf_counter()
    time.sleep(seconds)
    busy1, ours1 = machine_busy_s(), tree_cpu_s()
    return max(0.0, (busy1 - busy0) - (ours1 - ours0)) / (time.perf_counter() - t0)


def wait_for_quiet(limit_s: float) -> dict[str, Any]:
    """Wait (bounded) until other processes use under QUIET_CORES; say how long and how loud."""
    t0 = time.monotonic()
    level = other_cores(2.0)
    while level >= QUIET_CORES and time.monotonic() - t0 < limit_s:
        progress(f"  waiting for a quieter machine: others use {level:.2f} cores")
        level = other_cores(2.0)
    return {"waited_s": round(time.monotonic() - t0, 1), "other_cores": round(level, 2), "quiet": level < QUIET_CORES}


class OtherLoad:
    """Samples, once a second in a thread, the cores used by processes outside this benchmark."""

    def __init__(self) -> None:
        self.samples: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append(other_cores(1.0))

    def __enter__(self) -> OtherLoad:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def summary(self) -> dict[str, Any]:
        if not self.samples:
            return {"mean": None, "max": None, "samples": []}
        return {
            "mean": round(float(np.mean(self.samples)), 2),
            "max": round(max(self.samples), 2),
            "samples": [round(x, 2) for x in self.samples],
        }


def watched(measure: Callable[[], Any], quiet_limit_s: float) -> tuple[Any, dict[str, Any]]:
    """Wait for a quiet machine (bounded), run ``measure`` and say what else ran meanwhile."""
    before = wait_for_quiet(quiet_limit_s)
    with OtherLoad() as other:
        result = measure()
    return result, {"before": before, "during": other.summary()}


def load_note(load: dict[str, Any] | None) -> str:
    """What other processes on this host did around a measurement, in one phrase."""
    if not load:
        return ""
    during, before = load["during"], load["before"]
    text = f"other processes: mean {fmt(during['mean'], 2)}, max {fmt(during['max'], 2)} cores"
    if not before["quiet"]:
        text += f" (never quiet: {before['other_cores']} cores after {before['waited_s']} s)"
    return text
