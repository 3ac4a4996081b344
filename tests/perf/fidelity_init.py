"""Init Duration and Max Memory Used of a cold start, for the fidelity benchmark (tests/perf/fidelity.py).

A hello-world handler (tests/perf/functions/hello) at 128 and 1024 MB: forced cold starts, each
on a freshly published version (an environment variable changes, the version is invoked once
with LogType=Tail and deleted again, which retires its environment). From each REPORT: Init
Duration (beside lambda-perf's python3.12 medians, 83.7 and 81.8 ms), Max Memory Used (about
37 MB on AWS), and the cold invoke's client time that neither Init Duration nor Duration accounts
for. The caller runs this in every measured --cpu-mode.
"""

from __future__ import annotations

import contextlib
import platform
from collections.abc import Iterator
from typing import Any

from botocore.exceptions import ClientError
from fidelity_common import HELLO, deployer_for, fmt, invoke_tail, lambda_client, stats, table
from fidelity_load import load_note

from bench.targets import FunctionSpec

INIT_MEMORY = (128, 1024)
INIT_COLD_STARTS = 20
LAMBDA_PERF_INIT_MS = {128: 83.7, 1024: 81.8}  # python3.12 zip x86_64, lambda-perf 2026-08-22


def wait_updated(client: Any, name: str) -> None:
    client.get_waiter("function_updated_v2").wait(FunctionName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 60})


def one_cold_start(client: Any, name: str, memory_mb: int, index: int) -> dict[str, Any]:
    """Publish a fresh version (an environment variable changes), invoke it once, delete it."""
    client.update_function_configuration(
        FunctionName=name, MemorySize=memory_mb, Environment={"Variables": {"FIDELITY_COLD_START": str(index)}}
    )
    wait_updated(client, name)
    version = client.publish_version(FunctionName=name, Description=f"cold start {index}")["Version"]
    _, report, client_ms = invoke_tail(client, name, version, {})
    # Deleting the version retires its environment, so idle processes do not pile up.
    with contextlib.suppress(ClientError):
        client.delete_function(FunctionName=name, Qualifier=version)
    return {
        "version": version,
        "init_ms": report.init_ms,
        "duration_ms": report.duration_ms,
        "max_memory_used_mb": report.max_memory_used_mb,
        "client_ms": client_ms,
    }


def measure_init(url: str, memory_mb: int, count: int) -> dict[str, Any]:
    client = lambda_client(url)
    spec = FunctionSpec(name=f"fidelity-hello-cold-{memory_mb}", source=HELLO, handler="app.handler", timeout_s=10)
    deployer = deployer_for(url)
    deployer.ensure_function(spec)
    try:
        samples = [one_cold_start(client, spec.name, memory_mb, i) for i in range(count)]
    finally:
        with contextlib.suppress(Exception):
            deployer.teardown(spec.name)
    inits = [s["init_ms"] for s in samples if s["init_ms"] is not None]
    # Client time of a cold invoke that neither Init Duration nor Duration accounts for.
    gaps = [s["client_ms"] - s["init_ms"] - s["duration_ms"] for s in samples if s["init_ms"] is not None]
    return {
        "memory_mb": memory_mb,
        "samples": samples,
        "stats": stats(inits),
        "unreported_ms": stats(gaps),
        "max_memory_used_mb": stats([s["max_memory_used_mb"] for s in samples]),
        "not_cold": sum(s["init_ms"] is None for s in samples),
        "client_ms": stats([s["client_ms"] for s in samples]),
        "reference_ms": LAMBDA_PERF_INIT_MS[memory_mb],
    }


# ----------------------------------------------------------------------------- printing


def each_init(modes: dict[str, dict[str, Any]]) -> Iterator[tuple[dict[str, Any], int, dict[str, Any]]]:
    """(mode result, MB, its Init measurement), in run order."""
    for result in modes.values():
        for mb, init in result.get("init", {}).items():
            yield result, mb, init


def print_init(modes: dict[str, dict[str, Any]]) -> None:
    print("\n### Init Duration, hello world, forced cold starts (fresh version each)\n")
    header = [
        "cpu mode",
        "MB",
        "cold starts",
        "median ms",
        "p90 ms",
        "min",
        "max",
        "client − Init − Duration ms (median)",
        "Max Memory Used MB",
        "lambda-perf median ms",
        "meanwhile",
    ]
    rows = []
    for result, mb, init in each_init(modes):
        s = init["stats"]
        rows.append(
            [
                result["resolved"],
                mb,
                f"{s['n']}" + (f" (+{init['not_cold']} not cold)" if init["not_cold"] else ""),
                fmt(s.get("median")),
                fmt(s.get("p90")),
                fmt(s.get("min")),
                fmt(s.get("max")),
                fmt(init["unreported_ms"].get("median")),
                fmt(init["max_memory_used_mb"].get("median"), 0),
                init["reference_ms"],
                load_note(init.get("load")),
            ]
        )
    print(table(header, rows))
    print("\nRaw Init Durations (ms), in order:")
    for result, mb, init in each_init(modes):
        values = ", ".join(fmt(s["init_ms"]) for s in init["samples"])
        print(f"- {result['resolved']}, {mb} MB: {values}")


def init_rows(modes: dict[str, dict[str, Any]]) -> list[list[str]]:
    rows = []
    for result, mb, init in each_init(modes):
        s = init["stats"]
        rows.append(
            [
                f"Init Duration [{result['resolved']}], hello world, {mb} MB",
                f"median {fmt(s.get('median'))} ms, p90 {fmt(s.get('p90'))} ms (n={s['n']})",
                f"median {init['reference_ms']} ms (lambda-perf, python3.12 x86_64)",
                (
                    f"{s['median'] / init['reference_ms']:.2f}× AWS; host Python "
                    f"{platform.python_version()}, no microVM; the cold invoke's client time beyond "
                    f"Init + Duration: {init['unreported_ms']['median']:.1f} ms; " + load_note(init.get("load"))
                )
                if s["n"]
                else "no cold start measured",
            ]
        )
    return rows


def memory_rows(modes: dict[str, dict[str, Any]]) -> list[list[str]]:
    """One row: Max Memory Used of the first Init measurement (first mode, first size)."""
    for result, mb, init in each_init(modes):
        used = init["max_memory_used_mb"]
        return [
            [
                f"Max Memory Used, hello world, cold invoke, {mb} MB [{result['resolved']}]",
                f"median {used['median']:.0f} MB (n={used['n']})",
                "about 37 MB (lambda-perf)",
                "peak RSS of the awslambdaric process (VmHWM)",
            ]
        ]
    return []
