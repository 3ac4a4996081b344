"""CPU share by memory size, for the fidelity benchmark (tests/perf/fidelity.py).

targets/cpu_bound at 128, 512, 1024, 1769 and 3008 MB (one alias mem-<MB> each): the median
REPORT Duration of warm, sequential invokes for a ~20 ms job (n=200000) and a ~200 ms job
(n=2000000), as a ratio to 1769 MB's median, beside the memory ratio Lambda's CPU share implies
(1769/MB, and 1.0 from 1769 MB up). After one uncounted invoke per size, the sizes are interleaved
round by round (``interleaved_tail_invokes``). The caller runs this once per --cpu-mode.
"""

from __future__ import annotations

from typing import Any

from fidelity_common import (
    CPU_BOUND,
    FULL_CPU_MB,
    deployed,
    expected_ratio,
    fmt,
    halve,
    interleaved_tail_invokes,
    lambda_client,
    progress,
    stats,
    table,
)
from fidelity_load import load_note

from bench.targets import FunctionSpec

CPU_MEMORY = (128, 512, 1024, 1769, 3008)
# label -> (n, warm invokes per memory size in a full run); --quick halves the counts.
CPU_JOBS = {"n=200000 (~20 ms)": (200_000, 15), "n=2000000 (~200 ms)": (2_000_000, 5)}


def cpu_spec() -> FunctionSpec:
    return FunctionSpec(
        name="fidelity-cpu-bound",
        source=CPU_BOUND,
        handler="app.lambda_handler",
        timeout_s=120,
        environment={"POWERTOOLS_METRICS_NAMESPACE": "lambench"},
    )


def measure_cpu_job(client: Any, name: str, n: int, count: int) -> dict[int, dict[str, Any]]:
    """One warm-up invoke per memory size, then ``count`` rounds of one invoke per size."""
    first, taken = interleaved_tail_invokes(
        client, name, CPU_MEMORY, {"n": n}, count, lambda round_no: progress(f"  n={n}: round {round_no + 1}/{count}")
    )
    cells = {}
    for mb in CPU_MEMORY:
        warmup, client_ms = first[mb]
        cells[mb] = {
            "durations_ms": [report.duration_ms for report, _ in taken[mb]],
            "cold_in_sample": sum(report.cold for report, _ in taken[mb]),
            "warmup": {"duration_ms": warmup.duration_ms, "init_ms": warmup.init_ms, "client_ms": client_ms},
        }
    return cells


def add_ratios(cells: dict[int, dict[str, Any]]) -> None:
    base = stats(cells[FULL_CPU_MB]["durations_ms"])["median"]
    for mb, cell in cells.items():
        cell["stats"] = stats(cell["durations_ms"])
        cell["ratio"] = cell["stats"]["median"] / base
        cell["expected_ratio"] = expected_ratio(mb)


def measure_cpu_share(url: str, quick: bool) -> dict[str, Any]:
    client = lambda_client(url)
    spec = cpu_spec()
    jobs: dict[str, Any] = {}
    with deployed(url, spec, CPU_MEMORY):
        for label, (n, count) in CPU_JOBS.items():
            count = halve(count, quick)
            progress(f"CPU share: {label}, {count} warm invokes per memory size")
            cells = measure_cpu_job(client, spec.name, n, count)
            add_ratios(cells)
            jobs[label] = {"n": n, "count": count, "cells": cells}
    return jobs


# ----------------------------------------------------------------------------- printing


def print_cpu_share(mode: str, result: dict[str, Any]) -> None:
    print(f"\n### CPU share, --cpu-mode {mode} (resolved: {result['resolved']})\n")
    jobs = result["cpu_share"]
    header = ["MB", "expected ratio"]
    for label in jobs:
        header += [f"{label} median ms", "ratio", "cv"]
    rows = []
    for mb in CPU_MEMORY:
        row = [mb, fmt(expected_ratio(mb), 2)]
        for job in jobs.values():
            cell = job["cells"][mb]
            row += [fmt(cell["stats"]["median"]), fmt(cell["ratio"], 2), fmt(cell["stats"]["cv"], 3)]
        rows.append(row)
    print(table(header, rows))
    print(f"\nDuring this measurement, {load_note(result.get('cpu_share_load'))}.")
    print("\nRaw REPORT Durations (ms), warm, in invoke order; warm-up invoke first in brackets:")
    for label, job in jobs.items():
        for mb in CPU_MEMORY:
            cell = job["cells"][mb]
            durations = ", ".join(f"{d:.1f}" for d in cell["durations_ms"])
            cold = f"  (cold in sample: {cell['cold_in_sample']})" if cell["cold_in_sample"] else ""
            print(f"- {label}, {mb} MB: [{cell['warmup']['duration_ms']:.1f}] {durations}{cold}")


def ratios_text(cells: dict[int, dict[str, Any]], key: str) -> str:
    return " · ".join(f"{mb}: {fmt(cells[mb][key], 2)}" for mb in CPU_MEMORY if mb != FULL_CPU_MB)


def cpu_rows(modes: dict[str, dict[str, Any]]) -> list[list[str]]:
    """Summary rows: one per job and measured mode, one per skipped mode."""
    rows = []
    for mode, result in modes.items():
        if "skipped" in result:
            rows.append([f"CPU share, --cpu-mode {mode}", "skipped", "—", result["skipped"]])
            continue
        for label, job in result["cpu_share"].items():
            cells = job["cells"]
            base = cells[FULL_CPU_MB]["stats"]
            rows.append(
                [
                    f"CPU share [{result['resolved']}]: duration ÷ 1769 MB's, {label}",
                    ratios_text(cells, "ratio"),
                    ratios_text(cells, "expected_ratio") + " (1769/MB)",
                    f"medians of {job['count']} warm invokes; 1769 MB median {base['median']:.1f} ms; "
                    + load_note(result.get("cpu_share_load")),
                ]
            )
    return rows
