"""The emulator's own appetite: CPU per warm invoke of the emulator's process and of the environment.

    .venv/bin/python tests/perf/fidelity_appetite.py [--invokes 2000] [--cpu-mode MODE] [--profile PATH]

Over N sequential warm invokes of a no-op (tests/perf/functions/hello at 1769 MB), the CPU time
(user + system, from /proc/<pid>/stat) that the emulator's process and the environment's process
used, divided by N, printed beside the figures measured before issue 15 (965 µs and 510 µs). The
client is a plain keep-alive http.client posting the exact Invoke request (no SigV4: the emulator
does not check it), so that its own CPU stays out of both figures and the host stays quiet. The
same loop runs twice (rounds A and B) so their spread is visible; the figure is the lower round,
since other processes on the host can only add to CPU time (cache misses, frequency), never take.

``--profile PATH`` instead runs the emulator under cProfile for the same loop and writes the stats
there (``python -m pstats PATH``), for finding what to cut. Nothing is asserted; this prints.
"""

from __future__ import annotations

import argparse
import http.client
import os
import sys
import time
from pathlib import Path
from typing import Any

from fidelity_common import HELLO, deployed, launch, progress, table

from bench.targets import FunctionSpec

BEFORE_EMULATOR_US = 965.0  # issue 15: the emulator's process, 2,000 sequential warm no-op invokes
BEFORE_ENVIRONMENT_US = 510.0  # the environment's runtime client, same loop
GOAL_EMULATOR_US = 300.0  # issue 15's goal for the emulator's process
CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_s(pid: int) -> float:
    """utime + stime of one process, in seconds (fields 14 and 15 of /proc/<pid>/stat)."""
    user, system = cpu_split_s(pid)
    return user + system


def cpu_split_s(pid: int) -> tuple[float, float]:
    """(utime, stime) of one process, in seconds."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return int(fields[11]) / CLK_TCK, int(fields[12]) / CLK_TCK


def children(pid: int) -> list[int]:
    found = []
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            found += [int(c) for c in Path(f"/proc/{pid}/task/{task}/children").read_text().split()]
        except OSError:
            continue
    return found


def invoke_loop(port: int, name: str, count: int) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", port)
    path = f"/2015-03-31/functions/{name}/invocations?Qualifier=mem-1769"
    headers = {"Content-Type": "application/json", "X-Amz-Invocation-Type": "RequestResponse"}
    for _ in range(count):
        connection.request("POST", path, b"{}", headers)
        response = connection.getresponse()
        body = response.read()
        if response.status != 200 or b"ok" not in body:
            raise SystemExit(f"invoke failed: {response.status} {body[:300]!r}")
    connection.close()


def measure(count: int, cpu_mode: str, profile: Path | None, log_dir: Path) -> dict[str, Any]:
    extra = ("--cpu-mode", cpu_mode)
    if profile is not None:
        # cProfile of the whole emulator process, written when it stops (SIGTERM -> clean exit).
        extra = (*extra, "--profile", str(profile))
    emulator = launch(log_dir, f"appetite-{cpu_mode}", extra)
    spec = FunctionSpec(name="appetite-noop", source=HELLO, handler="app.handler", timeout_s=10)
    rounds = []
    try:
        with deployed(emulator.url, spec, (1769,)):
            port = int(emulator.url.rsplit(":", 1)[1])
            invoke_loop(port, spec.name, 50)  # the cold start and the first warm invokes
            env_pids = children(emulator.process.pid)
            if len(env_pids) != 1:
                raise SystemExit(f"expected one environment process, found {env_pids}")
            env = env_pids[0]
            for label in ("A", "B"):
                (eu0, es0), (ru0, rs0) = cpu_split_s(emulator.process.pid), cpu_split_s(env)
                t0 = time.perf_counter()
                invoke_loop(port, spec.name, count)
                (eu1, es1), (ru1, rs1) = cpu_split_s(emulator.process.pid), cpu_split_s(env)
                t1 = time.perf_counter()
                rounds.append(
                    {
                        "round": label,
                        "emulator_us": (eu1 - eu0 + es1 - es0) / count * 1e6,
                        "emulator_system_us": (es1 - es0) / count * 1e6,
                        "environment_us": (ru1 - ru0 + rs1 - rs0) / count * 1e6,
                        "environment_system_us": (rs1 - rs0) / count * 1e6,
                        "invokes_per_s": count / (t1 - t0),
                    }
                )
                progress(f"round {label}: {rounds[-1]}")
    finally:
        emulator.stop()
    return {"cpu_mode": emulator.cpu_mode, "count": count, "rounds": rounds}


def print_appetite(result: dict[str, Any]) -> None:
    rounds = result["rounds"]
    best_emulator = min(r["emulator_us"] for r in rounds)
    best_environment = min(r["environment_us"] for r in rounds)
    print(f"\n### CPU per warm invoke, {result['count']} sequential no-op invokes (cpu_mode={result['cpu_mode']})\n")
    rows = [
        [
            r["round"],
            f"{r['emulator_us']:.0f} ({r['emulator_system_us']:.0f})",
            f"{r['environment_us']:.0f} ({r['environment_system_us']:.0f})",
            f"{r['invokes_per_s']:.0f}",
        ]
        for r in rounds
    ]
    print(table(["round", "emulator µs (of it kernel)", "environment µs (of it kernel)", "invokes/s"], rows))
    print()
    print(
        table(
            ["process", "now (lower round)", "before (issue 15)", "now ÷ before", "goal"],
            [
                [
                    "emulator",
                    f"{best_emulator:.0f} µs",
                    f"{BEFORE_EMULATOR_US:.0f} µs",
                    f"{best_emulator / BEFORE_EMULATOR_US:.2f}",
                    f"≤ {GOAL_EMULATOR_US:.0f} µs: {'met' if best_emulator <= GOAL_EMULATOR_US else 'not met'}",
                ],
                [
                    "environment",
                    f"{best_environment:.0f} µs",
                    f"{BEFORE_ENVIRONMENT_US:.0f} µs",
                    f"{best_environment / BEFORE_ENVIRONMENT_US:.2f}",
                    "—",
                ],
            ],
        )
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--invokes", type=int, default=2000)
    parser.add_argument("--cpu-mode", default="dilation")
    parser.add_argument("--profile", type=Path, metavar="PATH", help="run the emulator under cProfile, stats here")
    args = parser.parse_args(argv)
    import tempfile

    log_dir = Path(tempfile.mkdtemp(prefix="lambench-appetite-"))
    result = measure(args.invokes, args.cpu_mode, args.profile, log_dir)
    print_appetite(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
