"""Warm no-op invokes, for the fidelity benchmark (tests/perf/fidelity.py): the REPORT Duration of a
warm no-op, and the emulator's overhead per warm invoke measured against a bare server.

- Warm Duration: sequential invokes (LogType=Tail) of the hello-world no-op at 1769 and 128 MB,
  the sizes interleaved round by round after one uncounted invoke each; the REPORT Duration
  beside lambda-perf's ~2 ms, and the client round trip. Run under every measured --cpu-mode.
- Overhead: boto3 invokes of the warm no-op, interleaved round by round (the order rotating
  every round) with the same boto3 client config invoking a bare aiohttp server
  (tests/perf/bare_server.py, its own process on 127.0.0.1) that gives the emulator's exact
  answer: same body bytes, same X-Amz-Executed-Version, x-amzn-RequestId and Content-Type. Only
  complete rounds count; the overhead is the median of the paired differences to the bare
  server, with a 95% bootstrap interval. Both at 1769 MB and at 128 MB, where the runtime's own
  per-invoke work runs under the CPU quota too.
"""

from __future__ import annotations

import base64
import collections
import contextlib
import http.client
import json
import re
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Iterator
from typing import Any

import numpy as np
from fidelity_common import (
    BARE_SERVER,
    INVOKE_PATH,
    deployed,
    fmt,
    interleaved_tail_invokes,
    lambda_client,
    median_ci,
    noop_spec,
    progress,
    stats,
    table,
)
from fidelity_load import load_note

OVERHEAD_ROUNDS = 2000
OVERHEAD_WARMUP = 50
OVERHEAD_MEMORY = (1769, 128)
WARM_DURATION_ROUNDS = 300
WANG_WARM_MS = 25.0  # Wang et al., USENIX ATC 2018: median client-observed warm latency


# ----------------------------------------------------------------------------- warm Duration


def measure_warm_duration(url: str, rounds: int) -> dict[int, dict[str, Any]]:
    """REPORT Duration of warm no-op invokes (LogType=Tail), the sizes interleaved round by round."""
    with deployed(url, noop_spec(), OVERHEAD_MEMORY):
        return warm_durations(lambda_client(url), noop_spec().name, rounds)


def warm_durations(client: Any, name: str, rounds: int) -> dict[int, dict[str, Any]]:
    _, taken = interleaved_tail_invokes(client, name, OVERHEAD_MEMORY, {}, rounds)
    result = {}
    for mb in OVERHEAD_MEMORY:
        durations = [report.duration_ms for report, _ in taken[mb]]
        result[mb] = {
            "duration_ms": stats(durations),
            "client_ms": stats([ms for _, ms in taken[mb]]),
            "samples_ms": durations,
        }
    return result


# ----------------------------------------------------------------------------- bare server


def capture_answer(url: str, name: str, qualifier: str) -> dict[str, Any]:
    """The emulator's raw answer to a warm invoke: body bytes and the headers the bare server copies."""
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        connection.request(
            "POST",
            INVOKE_PATH.format(name=name) + f"?Qualifier={qualifier}",
            body=b"{}",
            headers={"Content-Type": "application/json"},
        )
        response = connection.getresponse()
        body = response.read()
        headers = dict(response.getheaders())
    finally:
        connection.close()
    wanted = ("x-amz-executed-version", "x-amzn-requestid", "content-type")
    kept = {k: v for k, v in headers.items() if k.lower() in wanted}
    return {
        "status": response.status,
        "body_b64": base64.b64encode(body).decode(),
        "headers": kept,
        "all_headers": headers,
    }


@contextlib.contextmanager
def bare_server(answer: dict[str, Any]) -> Iterator[tuple[str, int]]:
    """tests/perf/bare_server.py as its own process; yields its URL and pid."""
    spec = json.dumps({"body_b64": answer["body_b64"], "headers": answer["headers"]})
    process = subprocess.Popen(
        [sys.executable, str(BARE_SERVER), spec], stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True
    )
    try:
        line = process.stdout.readline()
        match = re.search(r"listening on (http://127\.0\.0\.1:\d+)", line)
        if match is None:
            raise RuntimeError(f"the bare server did not start: {line!r}")
        yield match.group(1), process.pid
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# ----------------------------------------------------------------------------- overhead


def timed_invoke(client: Any, name: str, qualifier: str) -> float:
    """One warm no-op invoke as boto3 users make it; the round trip in ms (raises on any error)."""
    t0 = time.perf_counter_ns()
    response = client.invoke(FunctionName=name, Qualifier=qualifier, Payload=b"{}")
    response["Payload"].read()
    elapsed = (time.perf_counter_ns() - t0) / 1e6
    if "FunctionError" in response:
        raise RuntimeError(f"{name}:{qualifier}: function error")
    return elapsed


def overhead_targets(emulator_url: str, bare_url: str) -> list[tuple[str, Any, str]]:
    """(label, client, qualifier): every client has the same config; only endpoint_url differs."""
    targets = [("bare", lambda_client(bare_url), f"mem-{OVERHEAD_MEMORY[0]}")]
    emulator = lambda_client(emulator_url)
    targets += [(f"emulator {mb} MB", emulator, f"mem-{mb}") for mb in OVERHEAD_MEMORY]
    return targets


def measure_overhead(emulator_url: str, bare_url: str, name: str, rounds: int) -> dict[str, Any]:
    """Round by round, one invoke per target in a rotating order; paired differences to bare."""
    targets = overhead_targets(emulator_url, bare_url)
    for _label, client, qualifier in targets:
        for _ in range(OVERHEAD_WARMUP):
            timed_invoke(client, name, qualifier)
    samples: dict[str, list[float]] = {label: [] for label, _, _ in targets}
    errors: collections.Counter = collections.Counter()
    for i in range(rounds):
        shift = i % len(targets)
        row = {}
        for label, client, qualifier in targets[shift:] + targets[:shift]:
            try:
                row[label] = timed_invoke(client, name, qualifier)
            except Exception as error:
                errors[f"{label}: {type(error).__name__}"] += 1
        if len(row) == len(targets):  # only complete rounds pair up
            for label, ms in row.items():
                samples[label].append(ms)
        if (i + 1) % 500 == 0:
            progress(f"  overhead: {i + 1}/{rounds} rounds")
    return summarise_overhead(samples, errors)


def summarise_overhead(samples: dict[str, list[float]], errors: collections.Counter) -> dict[str, Any]:
    result: dict[str, Any] = {
        "round_trip": {k: stats(v) for k, v in samples.items()},
        "errors": dict(errors),
        "samples_ms": samples,
        "differences": {},
    }
    bare = np.asarray(samples["bare"])
    for label, values in samples.items():
        if label == "bare":
            continue
        diffs = (np.asarray(values) - bare).tolist()
        result["differences"][label] = {**stats(diffs), "median_ci95": median_ci(diffs)}
    return result


# ----------------------------------------------------------------------------- printing


def each_warm_duration(modes: dict[str, dict[str, Any]]) -> Iterator[tuple[dict[str, Any], int, dict[str, Any]]]:
    """(mode result, MB, its warm Duration measurement), in run order."""
    for result in modes.values():
        for mb, d in result["warm_duration"].items():
            yield result, mb, d


def print_warm_duration(modes: dict[str, dict[str, Any]]) -> None:
    print("\n### Warm REPORT Duration of the no-op (LogType=Tail, sequential, sizes interleaved)\n")
    rows = []
    for result, mb, d in each_warm_duration(modes):
        duration, client = d["duration_ms"], d["client_ms"]
        rows.append(
            [
                result["resolved"],
                mb,
                duration["n"],
                fmt(duration["median"], 2),
                fmt(duration["p90"], 2),
                fmt(duration["p99"], 2),
                fmt(duration["max"], 2),
                fmt(client["median"], 2),
                fmt(client["p99"], 2),
                load_note(result.get("warm_duration_load")),
            ]
        )
    print(
        table(
            [
                "cpu mode",
                "MB",
                "invokes",
                "Duration median ms",
                "p90",
                "p99",
                "max",
                "client median ms",
                "client p99",
                "meanwhile",
            ],
            rows,
        )
    )


def print_overhead(warm: dict[str, Any]) -> None:
    overhead = warm["overhead"]
    print(f"\n### Warm invoke round trip and emulator overhead (boto3, no-op, cpu_mode={warm['cpu_mode']})\n")
    rows = [
        [label, s["n"], fmt(s["median"], 3), fmt(s["p90"], 3), fmt(s["p99"], 3), fmt(s["max"], 1)]
        for label, s in overhead["round_trip"].items()
    ]
    print(table(["target", "rounds", "median ms", "p90 ms", "p99 ms", "max ms"], rows))
    print()
    rows = [
        [
            label + " − bare",
            fmt(d["median"], 3),
            f"{d['median_ci95'][0]:.3f}…{d['median_ci95'][1]:.3f}",
            fmt(d["p90"], 3),
            fmt(d["p99"], 3),
        ]
        for label, d in overhead["differences"].items()
    ]
    print(table(["paired difference", "median ms", "95% CI of median", "p90 ms", "p99 ms"], rows))
    print(f"\nDuring this measurement, {load_note(overhead.get('load'))}.")
    if overhead["errors"]:
        print(f"\nErrors (rounds dropped): {overhead['errors']}")
    print(
        f"\nBare server answer copied from the emulator: headers {warm['answer']['headers']}, "
        f"body {base64.b64decode(warm['answer']['body_b64'])!r}"
    )


def warm_duration_rows(modes: dict[str, dict[str, Any]]) -> list[list[str]]:
    return [warm_duration_row(result["resolved"], mb, d) for result, mb, d in each_warm_duration(modes)]


def warm_duration_row(mode: str, mb: int, d: dict[str, Any]) -> list[str]:
    duration, client = d["duration_ms"], d["client_ms"]
    return [
        f"Warm REPORT Duration [{mode}], hello world, {mb} MB",
        f"median {duration['median']:.2f} ms, p90 {duration['p90']:.2f} ms, p99 {duration['p99']:.2f} ms",
        "about 2 ms (lambda-perf, python3.12)",
        f"{duration['n']} sequential invokes; client round trip median {client['median']:.2f} ms, "
        f"p99 {client['p99']:.2f} ms",
    ]


def warm_rows(warm: dict[str, Any]) -> list[list[str]]:
    """Summary rows: the round trip and the overhead, per emulator memory size."""
    overhead, rows = warm["overhead"], []
    bare = overhead["round_trip"]["bare"]
    for label, diff in overhead["differences"].items():
        rt = overhead["round_trip"][label]
        rows.append(
            [
                f"Warm invoke round trip, boto3, no-op, {label.split(' ', 1)[1]}",
                f"median {rt['median']:.2f} ms, p90 {rt['p90']:.2f} ms",
                f"~{WANG_WARM_MS:.0f} ms median client-observed (Wang et al. 2018)",
                f"loopback; bare server with the same answer: median {bare['median']:.2f} ms",
            ]
        )
        rows.append(
            [
                f"Emulator overhead per warm invoke, {label.split(' ', 1)[1]}",
                f"median {diff['median']:.2f} ms (95% CI {diff['median_ci95'][0]:.2f}…"
                f"{diff['median_ci95'][1]:.2f}), p90 {diff['p90']:.2f} ms",
                "— (no public figure for Lambda's front end alone)",
                f"median of {diff['n']} paired differences to the bare server; " + load_note(overhead.get("load")),
            ]
        )
    return rows
