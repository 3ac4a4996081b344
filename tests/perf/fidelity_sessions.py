"""The fidelity benchmark's two halves (tests/perf/fidelity.py), each on its own emulator process.

- ``measure_mode``: one emulator started with ``--cpu-mode MODE``, for each mode that
  ``python -m bench.emulator --help`` lists (``offered_cpu_modes``: explicit modes first, auto
  last). It measures CPU share (fidelity_cpu), Init Duration at each size (fidelity_init) and the
  warm REPORT Duration (fidelity_warm), each inside ``watched`` (fidelity_load). A mode whose
  start fails is skipped and said so; ``auto`` is skipped when it resolves to a mode measured
  already.
- ``measure_warm_path``: one emulator started as ``lambench run`` starts it (no options), the
  no-op deployed at 1769 and 128 MB, and the bare server answering the emulator's captured answer:
  the overhead by paired differences (fidelity_warm), then throughput (fidelity_throughput).

--quick shrinks each count here as it always did: cold starts and CPU-share rounds halved, warm
Duration rounds a third, overhead rounds a quarter, 5 s load windows, quiet waits a third.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from fidelity_common import REPO, deployed, emulator_info, halve, launch, machine, noop_spec, progress
from fidelity_cpu import measure_cpu_share
from fidelity_init import INIT_COLD_STARTS, INIT_MEMORY, measure_init
from fidelity_load import quiet_limit, watched
from fidelity_throughput import THROUGHPUT_SECONDS, measure_throughput
from fidelity_warm import (
    OVERHEAD_MEMORY,
    OVERHEAD_ROUNDS,
    WARM_DURATION_ROUNDS,
    bare_server,
    capture_answer,
    measure_overhead,
    measure_warm_duration,
)


def offered_cpu_modes() -> list[str]:
    """The --cpu-mode choices the emulator's own --help lists, explicit modes first, auto last."""
    out = subprocess.run(
        [sys.executable, "-m", "bench.emulator", "--help"], cwd=REPO, capture_output=True, text=True, timeout=60
    ).stdout
    match = re.search(r"--cpu-mode \{([^}]+)\}", out)
    if match is None:
        raise SystemExit(f"fidelity: cannot find the --cpu-mode choices in:\n{out}")
    modes = [m.strip() for m in match.group(1).split(",")]
    return [m for m in modes if m != "auto"] + [m for m in modes if m == "auto"]


def measure_mode(log_dir: Path, mode: str, measured: set[str], quick: bool) -> dict[str, Any]:
    """CPU share, Init Duration and warm Duration under one --cpu-mode; a skip record when it cannot run."""
    try:
        emulator = launch(log_dir, f"cpu-mode-{mode}", ("--cpu-mode", mode))
    except RuntimeError as error:
        return {"skipped": f"the emulator did not start with --cpu-mode {mode}: " + str(error).strip().splitlines()[-1]}
    with emulator:
        if mode == "auto" and emulator.cpu_mode in measured:
            return {
                "skipped": f"auto resolves to {emulator.cpu_mode} on this host, measured above",
                "resolved": emulator.cpu_mode,
            }
        limit = quiet_limit(quick)
        result = {"resolved": emulator.cpu_mode, "machine_at_start": machine(), "init": {}}
        result["cpu_share"], result["cpu_share_load"] = watched(lambda: measure_cpu_share(emulator.url, quick), limit)
        for mb in INIT_MEMORY:
            count = halve(INIT_COLD_STARTS, quick)
            progress(f"Init Duration: {count} cold starts at {mb} MB (cpu_mode={emulator.cpu_mode})")
            result["init"][mb], load = watched(lambda mb=mb, count=count: measure_init(emulator.url, mb, count), limit)
            result["init"][mb]["load"] = load
        progress(f"Warm Duration: REPORT lines of sequential no-op invokes (cpu_mode={emulator.cpu_mode})")
        result["warm_duration"], result["warm_duration_load"] = watched(
            lambda: measure_warm_duration(emulator.url, WARM_DURATION_ROUNDS // (3 if quick else 1)), limit
        )
        result["info"] = emulator_info(emulator)
        return result


def measure_modes(log_dir: Path, quick: bool, modes: dict[str, dict[str, Any]]) -> None:
    """``measure_mode`` for every offered --cpu-mode, in order, into ``modes`` as each ends (so an
    interrupted run keeps the modes measured so far)."""
    for mode in offered_cpu_modes():
        measured = {r["resolved"] for r in modes.values() if "skipped" not in r}
        modes[mode] = measure_mode(log_dir, mode, measured, quick)
        if "skipped" in modes[mode]:
            progress(f"cpu mode {mode}: skipped ({modes[mode]['skipped']})")


def measure_warm_path(log_dir: Path, quick: bool) -> dict[str, Any]:
    """Overhead and throughput on one emulator started as `lambench run` starts it (no options)."""
    emulator = launch(log_dir, "default")
    with emulator:
        spec = noop_spec()
        with deployed(emulator.url, spec, OVERHEAD_MEMORY):
            answer = capture_answer(emulator.url, spec.name, f"mem-{OVERHEAD_MEMORY[0]}")
            with bare_server(answer) as (bare_url, bare_pid):
                rounds = OVERHEAD_ROUNDS // 4 if quick else OVERHEAD_ROUNDS
                progress(f"Overhead: {rounds} interleaved rounds (bare, emulator {OVERHEAD_MEMORY})")
                overhead, load = watched(
                    lambda: measure_overhead(emulator.url, bare_url, spec.name, rounds), quiet_limit(quick)
                )
                overhead["load"] = load
                seconds = 5 if quick else THROUGHPUT_SECONDS
                throughput = measure_throughput(emulator, bare_url, bare_pid, spec.name, seconds, quiet_limit(quick))
        return {
            "cpu_mode": emulator.cpu_mode,
            "machine_at_start": machine(),
            "answer": answer,
            "overhead": overhead,
            "throughput": throughput,
            "info": emulator_info(emulator),
        }
