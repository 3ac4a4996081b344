"""CPU share under load: does the 128/1769 ratio hold when the host is busy? (issue 15)

    .venv/bin/python tests/perf/fidelity_underload.py [--quick] [--modes dilation,quota] [--json PATH]

On Lambda each environment has its own share of a vCPU, so a function's Duration does not depend on
what else runs. Here the load generator, the emulator and every environment share the host. For each
cpu mode (the default first), one emulator, targets/cpu_bound at 128 and 1769 MB, and a ~20 ms and a
~200 ms job (at full speed), in three conditions measured one after the other in one run:

- quiet: one call at a time, nothing else of ours running;
- under load: ``lambench run`` against the same emulator (its [target] endpoint), 4 users on 4
  sizes of a second copy of cpu_bound, as a user's run loads it;
- busy host: two busy-loop processes (one per core of a 2-core host).

Each condition interleaves the sizes round by round (``interleaved_tail_invokes``) and prints the
ratio of the REPORT Durations' medians, 128 over 1769, beside Lambda's 13.82 (1769/128) and beside
the quiet ratio; and, as the uncorrected comparison, the same ratio of the client's round trips,
which keep every wait. Beside each condition: the environments' run-queue delay as a share of
their metered wall time (the emulator's ``served`` counters), and what the rest of the machine used.
Goal (issue 15): within ±15% of the quiet ratio and of 13.82 in the default mode. Nothing is
asserted; this prints.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from fidelity_common import (
    CPU_BOUND,
    REPO,
    deployed,
    emulator_info,
    fmt,
    halve,
    interleaved_tail_invokes,
    lambda_client,
    launch,
    progress,
    stats,
    table,
)
from fidelity_cpu import cpu_spec
from fidelity_load import OtherLoad, load_note

SIZES = (128, 1769)
LAMBDA_RATIO = 1769 / 128  # 13.82
GOAL = 0.15
# label -> (n, rounds in a full run)
JOBS = {"~20 ms": (200_000, 12), "~200 ms": (2_000_000, 4)}
LOAD_USERS = 4
LOAD_SIZES = (128, 512, 1024, 1769)
BUSY_LOOPS = 2


def load_config(url: str, folder: Path) -> Path:
    """A bench.toml for ``lambench run`` against the emulator at ``url``: 4 users on 4 sizes."""
    config = folder / "bench.toml"
    config.write_text(
        f"""[target]
kind = "local"
endpoint = "{url}"

[function]
name = "underload-cpu-bound"
source = "{CPU_BOUND}"
handler = "app.lambda_handler"
timeout_s = 60

[variants]
memory_mb = {list(LOAD_SIZES)}

[load]
users = {LOAD_USERS}
spawn_rate = {LOAD_USERS}
run_time_s = 3600
payload = {{}}

[report]
dir = "{folder / "reports"}"
"""
    )
    return config


@contextlib.contextmanager
def lambench_run_load(url: str, folder: Path) -> Iterator[None]:
    """``lambench run`` in the background until the block ends (then Ctrl-C, as a user stops it)."""
    log = open(folder / "lambench-run.log", "w")  # noqa: SIM115  (closed below, after the process)
    process = subprocess.Popen(
        [sys.executable, "-m", "bench", "run", "-c", str(load_config(url, folder))],
        cwd=REPO,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        # The load is on once Locust's users run: the run prints its progress line after deploying.
        while time.monotonic() < deadline and "deploy" not in (folder / "lambench-run.log").read_text():
            time.sleep(0.5)
        time.sleep(8)  # the users spawn and the environments start cold
        if process.poll() is not None:
            raise SystemExit("lambench run ended early:\n" + (folder / "lambench-run.log").read_text()[-2000:])
        yield
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=120)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


@contextlib.contextmanager
def busy_loops(count: int) -> Iterator[None]:
    loops = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(count)]
    try:
        time.sleep(1)
        yield
    finally:
        for loop in loops:
            loop.kill()
            loop.wait()


def measure_condition(client: Any, url: str, emulator: Any, name: str, quick: bool) -> dict[str, Any]:
    served0 = emulator_info(emulator).get("served", {})
    jobs = {}
    with OtherLoad() as other:
        for label, (n, rounds) in JOBS.items():
            rounds = halve(rounds, quick)
            _, taken = interleaved_tail_invokes(client, name, SIZES, {"n": n}, rounds)
            medians = {mb: stats([r.duration_ms for r, _ in taken[mb]])["median"] for mb in SIZES}
            client_medians = {mb: stats([c for _, c in taken[mb]])["median"] for mb in SIZES}
            jobs[label] = {
                "n": n,
                "rounds": rounds,
                "duration_ms": {mb: [r.duration_ms for r, _ in taken[mb]] for mb in SIZES},
                "client_ms": {mb: [c for _, c in taken[mb]] for mb in SIZES},
                "ratio": medians[128] / medians[1769],
                "client_ratio": client_medians[128] / client_medians[1769],
                "median_1769_ms": medians[1769],
            }
            progress(f"    {label}: ratio {jobs[label]['ratio']:.2f} (client {jobs[label]['client_ratio']:.2f})")
    served1 = emulator_info(emulator).get("served", {})

    def delta(key: str) -> float:
        return float(served1.get(key, 0)) - float(served0.get(key, 0))

    wall = delta("wall_us")
    return {
        "jobs": jobs,
        "waited_share": delta("contention_us") / wall if wall else None,
        "throttled_share": delta("throttled_us") / wall if wall else None,
        "other": {"during": other.summary(), "before": {"quiet": True}},
    }


def measure_mode(mode: str, log_dir: Path, quick: bool) -> dict[str, Any]:
    emulator = launch(log_dir, f"underload-{mode}", ("--cpu-mode", mode))
    result: dict[str, Any] = {"resolved": emulator.cpu_mode, "conditions": {}}
    try:
        client = lambda_client(emulator.url)
        spec = cpu_spec()
        with deployed(emulator.url, spec, SIZES):
            # The first invoke of each size takes its cold start; these warm both jobs' code paths.
            interleaved_tail_invokes(client, spec.name, SIZES, {"n": 200_000}, 2)
            conditions: list[tuple[str, Callable[[], contextlib.AbstractContextManager[None]]]] = [
                ("quiet", contextlib.nullcontext),
                (f"lambench run, {LOAD_USERS} users x {len(LOAD_SIZES)} sizes", lambda: lambench_run_load(
                    emulator.url, Path(tempfile.mkdtemp(prefix="underload-", dir=log_dir)))),
                (f"{BUSY_LOOPS} busy loops", lambda: busy_loops(BUSY_LOOPS)),
            ]  # fmt: skip
            for label, condition in conditions:
                progress(f"[{mode}] {label}")
                with condition():
                    result["conditions"][label] = measure_condition(client, emulator.url, emulator, spec.name, quick)
    finally:
        emulator.stop()
    return result


def measure_underload(log_dir: Path, quick: bool, into: dict[str, Any], modes: str = "dilation,quota") -> None:
    """``measure_mode`` for each mode, the default first, into ``into`` as each ends; a mode that
    cannot start (quota needs root with cgroups) is left out and said so."""
    for mode in modes.split(","):
        try:
            into[mode] = measure_mode(mode, log_dir, quick)
        except RuntimeError as error:  # the emulator did not start with this mode
            progress(f"[{mode}] skipped: {str(error).strip().splitlines()[-1]}")


def within(value: float, reference: float) -> str:
    off = value / reference - 1.0
    return f"{off:+.0%}" + ("" if abs(off) <= GOAL else " ✗")


def print_underload(results: dict[str, Any]) -> None:
    print("\n### CPU share under load: duration at 128 MB ÷ at 1769 MB (Lambda: 13.82)\n")
    rows = []
    for result in results.values():
        quiet = next(iter(result["conditions"].values()))
        for label, condition in result["conditions"].items():
            for job, figures in condition["jobs"].items():
                reference = quiet["jobs"][job]["ratio"]
                rows.append(
                    [
                        result["resolved"],
                        label,
                        job,
                        fmt(figures["ratio"], 2),
                        within(figures["ratio"], reference),
                        within(figures["ratio"], LAMBDA_RATIO),
                        fmt(figures["client_ratio"], 2),
                        fmt(figures["median_1769_ms"], 1),
                        "—" if condition["waited_share"] is None else f"{condition['waited_share']:.0%}",
                        load_note(condition["other"]),
                    ]
                )
    header = [
        "mode",
        "condition",
        "job",
        "ratio (REPORT)",
        "vs quiet",
        "vs 13.82",
        "ratio (client, uncorrected)",
        "1769 MB median ms",
        "run-queue wait",
        "note",
    ]
    print(table(header, rows))
    print(
        f"\n✗: more than {GOAL:.0%} off. Run-queue wait: the environments' time runnable but waiting for a CPU, "
        "as a share of their metered wall time (dilation leaves it out of Duration; quota keeps it where the "
        "quota bound)."
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--modes", default="dilation,quota", help="comma-separated, the default mode first")
    parser.add_argument("--json", type=Path, metavar="PATH")
    args = parser.parse_args(argv)
    log_dir = Path(tempfile.mkdtemp(prefix="lambench-underload-"))
    results: dict[str, Any] = {}
    try:
        measure_underload(log_dir, args.quick, results, args.modes)
    except KeyboardInterrupt:
        progress("interrupted: printing what was measured")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1, default=str))
    print_underload(results)
    print(f"\nEmulator and lambench run logs: {log_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
