"""Fidelity benchmark: how closely the bundled emulator models AWS Lambda, measured, not asserted.

    .venv/bin/python tests/perf/fidelity.py [--quick] [--json PATH]

It starts the real emulator process(es) with ``start_emulator`` and measures, side by side in one
run, four things, each beside AWS's documented or published figure (shared/fixtures/aws/FACTS.md):

1. CPU share. targets/cpu_bound at 128, 512, 1024, 1769 and 3008 MB: the median REPORT Duration of
   warm, sequential invokes for a ~20 ms job (n=200000) and a ~200 ms job (n=2000000), as a ratio
   to 1769 MB's, beside the memory ratio (1769/MB, and 1.0 from 1769 MB up). Memory sizes are
   interleaved round by round. Done once per ``--cpu-mode`` that ``python -m bench.emulator
   --help`` lists; a mode whose start fails is skipped and said so, and ``auto`` is only measured
   when it resolves to a mode not measured already.
2. Init Duration of a hello-world handler (tests/perf/functions/hello) at 128 and 1024 MB: forced
   cold starts, each on a freshly published version (an environment variable changes), beside
   lambda-perf's python3.12 medians (83.7 and 81.8 ms), with Max Memory Used (~37 MB on AWS) and
   the cold invoke's client time that neither Init Duration nor Duration accounts for. Done in
   every measured cpu mode.
3. Emulator overhead per warm invoke: boto3 invokes of a warm no-op, interleaved round by round
   with the same boto3 client config invoking a bare aiohttp server (tests/perf/bare_server.py,
   its own process on 127.0.0.1) that gives the emulator's exact answer: same body bytes, same
   X-Amz-Executed-Version, x-amzn-RequestId and Content-Type. The overhead is the median of the
   paired differences. Both at 1769 MB and at 128 MB, where the runtime's own per-invoke work
   runs under the CPU quota too. (The warm REPORT Duration of the same no-op, beside lambda-perf's
   ~2 ms, is measured under every cpu mode, with 2.)
4. Throughput: warm no-op invokes per second with 50 concurrent clients (threads, one boto3 client
   each; then an aiohttp generator posting the same request bytes), against the emulator and,
   as the generator's own ceiling, against the bare server; with errors by type and the CPU each
   process used. The generator shares this machine's cores with the emulator.

Other processes on this host perturb every figure (CPU share most: a quota caps a slow
environment but not the 1769 MB baseline's competition). So each section first waits, at most
90 s, for the rest of the machine to use under 0.3 cores, and every figure is printed with what
the rest of the machine used meanwhile.

Progress goes to stderr. Detail tables with the raw per-invoke numbers of 1 and 2, then one
Markdown table (measure | lambench emulator | reference | note) go to stdout; every raw sample goes
to the --json file. Nothing listens anywhere but 127.0.0.1; every load loop is bounded in count
and in time. No figure here is asserted: this prints, the README records.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import collections
import contextlib
import http.client
import json
import math
import os
import platform
import re
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path
from typing import Any, Callable, Iterator

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import aiohttp  # noqa: E402
import numpy as np  # noqa: E402
import psutil  # noqa: E402
from botocore.config import Config  # noqa: E402
from botocore.exceptions import ClientError  # noqa: E402

from bench import awsclient  # noqa: E402
from bench.collect import find_report  # noqa: E402
from bench.targets import FunctionSpec, VariantDeployer, make_lambda_client  # noqa: E402
from bench.targets.local import LocalEmulator, start_emulator  # noqa: E402

HERE = Path(__file__).resolve().parent
HELLO = HERE / "functions" / "hello"
CPU_BOUND = REPO / "targets" / "cpu_bound"
BARE_SERVER = HERE / "bare_server.py"

FULL_CPU_MB = 1769
CPU_MEMORY = (128, 512, 1024, 1769, 3008)
# label -> (n, warm invokes per memory size in a full run); --quick halves the counts.
CPU_JOBS = {"n=200000 (~20 ms)": (200_000, 15), "n=2000000 (~200 ms)": (2_000_000, 5)}
INIT_MEMORY = (128, 1024)
INIT_COLD_STARTS = 20
OVERHEAD_ROUNDS = 2000
OVERHEAD_WARMUP = 50
OVERHEAD_MEMORY = (1769, 128)
WARM_DURATION_ROUNDS = 300
THROUGHPUT_CONCURRENCY = 50
THROUGHPUT_SECONDS = 15
THROUGHPUT_WARMUP_S = 3
QUIET_CORES = 0.3  # what other processes may use before a section starts (others share this host)
QUIET_WAIT_S = 90  # how long a section waits for that, at most
MAX_CALLS_PER_WORKER = 200_000  # the count bound of every load loop, beside its time bound
INVOKE_PATH = "/2015-03-31/functions/{name}/invocations"

LAMBDA_PERF_INIT_MS = {128: 83.7, 1024: 81.8}  # python3.12 zip x86_64, lambda-perf 2026-08-22
WANG_WARM_MS = 25.0  # Wang et al., USENIX ATC 2018: median client-observed warm latency

_T0 = time.monotonic()


# ----------------------------------------------------------------------------- small helpers


def progress(message: str) -> None:
    print(f"[{time.monotonic() - _T0:6.1f}s] {message}", file=sys.stderr, flush=True)


def quiet_limit(quick: bool) -> float:
    return QUIET_WAIT_S / 3 if quick else QUIET_WAIT_S


def halve(count: int, quick: bool) -> int:
    return max(2, math.ceil(count / 2)) if quick else count


def stats(values: list[float]) -> dict[str, Any]:
    """n, median, p90, p99, min, max, mean and cv of a sample (None when it is empty)."""
    if not values:
        return {"n": 0}
    a = np.asarray(values, dtype=float)
    mean = float(a.mean())
    return {
        "n": len(values), "median": float(np.median(a)), "p90": float(np.percentile(a, 90)),
        "p99": float(np.percentile(a, 99)), "min": float(a.min()), "max": float(a.max()),
        "mean": mean, "cv": float(a.std() / mean) if mean else None,
    }


def median_ci(values: list[float], resamples: int = 1000) -> tuple[float, float]:
    """A 95% bootstrap confidence interval of the median."""
    a = np.asarray(values, dtype=float)
    rng = np.random.default_rng(0)
    medians = np.median(a[rng.integers(0, len(a), (resamples, len(a)))], axis=1)
    low, high = np.percentile(medians, [2.5, 97.5])
    return float(low), float(high)


def fmt(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def table(header: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def load_note(load: dict[str, Any] | None) -> str:
    """What other processes on this host did around a measurement, in one phrase."""
    if not load:
        return ""
    during, before = load["during"], load["before"]
    text = f"other processes: mean {fmt(during['mean'], 2)}, max {fmt(during['max'], 2)} cores"
    if not before["quiet"]:
        text += f" (never quiet: {before['other_cores']} cores after {before['waited_s']} s)"
    return text


def expected_ratio(memory_mb: int) -> float:
    """Duration relative to 1769 MB for single-threaded CPU work, as Lambda's CPU share implies."""
    return max(FULL_CPU_MB / memory_mb, 1.0)


def lambda_client(url: str, pool: int = 10, read_timeout: int = 120) -> Any:
    """A measuring client: one attempt (a retry would hide what the server did)."""
    config = Config(retries={"total_max_attempts": 1}, max_pool_connections=pool,
                    read_timeout=read_timeout, connect_timeout=10)
    return awsclient.client("lambda", url, "us-east-1", config)


def invoke_tail(client: Any, name: str, qualifier: str, payload: dict) -> tuple[dict, Any, float]:
    """Invoke with LogType=Tail; return the response, its REPORT and the client round trip in ms."""
    t0 = time.perf_counter()
    response = client.invoke(FunctionName=name, Qualifier=qualifier, Payload=json.dumps(payload),
                             LogType="Tail")
    body = response["Payload"].read()
    client_ms = (time.perf_counter() - t0) * 1000.0
    if "FunctionError" in response:
        raise RuntimeError(f"{name}:{qualifier} failed: {body[:500]!r}")
    log = base64.b64decode(response.get("LogResult", "")).decode("utf-8", "replace")
    request_id = response["ResponseMetadata"]["HTTPHeaders"].get("x-amzn-requestid")
    report = find_report(log, request_id) or find_report(log)
    if report is None:
        raise RuntimeError(f"{name}:{qualifier}: no REPORT line in the log tail: {log[-500:]!r}")
    return response, report, client_ms


def machine() -> dict[str, Any]:
    return {"cpus": os.cpu_count(), "loadavg": [round(x, 2) for x in os.getloadavg()],
            "python": platform.python_version(), "platform": platform.platform()}


# ----------------------------------------------------------------------------- other load

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
    return {"waited_s": round(time.monotonic() - t0, 1), "other_cores": round(level, 2),
            "quiet": level < QUIET_CORES}


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
        return {"mean": round(float(np.mean(self.samples)), 2), "max": round(max(self.samples), 2),
                "samples": [round(x, 2) for x in self.samples]}


def watched(measure: Callable[[], Any], quiet_limit_s: float) -> tuple[Any, dict[str, Any]]:
    """Wait for a quiet machine (bounded), run ``measure`` and say what else ran meanwhile."""
    before = wait_for_quiet(quiet_limit_s)
    with OtherLoad() as other:
        result = measure()
    return result, {"before": before, "during": other.summary()}


# ----------------------------------------------------------------------------- emulators


def offered_cpu_modes() -> list[str]:
    """The --cpu-mode choices the emulator's own --help lists, explicit modes first, auto last."""
    out = subprocess.run([sys.executable, "-m", "bench.emulator", "--help"], cwd=REPO,
                         capture_output=True, text=True, timeout=60).stdout
    match = re.search(r"--cpu-mode \{([^}]+)\}", out)
    if match is None:
        raise SystemExit(f"fidelity: cannot find the --cpu-mode choices in:\n{out}")
    modes = [m.strip() for m in match.group(1).split(",")]
    return [m for m in modes if m != "auto"] + [m for m in modes if m == "auto"]


def launch(log_dir: Path, label: str, extra_args: tuple[str, ...] = ()) -> LocalEmulator:
    progress(f"starting the emulator ({label})")
    return start_emulator(log_dir / f"emulator-{label}.log", extra_args=extra_args)


def emulator_info(emulator: LocalEmulator) -> dict[str, Any]:
    try:
        return emulator.info()
    except Exception as error:  # an info endpoint that changed must not lose the run's figures
        return {"error": repr(error)}


@contextlib.contextmanager
def deployed(url: str, spec: FunctionSpec, memory_sizes: tuple[int, ...]) -> Iterator[VariantDeployer]:
    """The function with one mem-<MB> alias per size; removed again afterwards."""
    deployer = VariantDeployer(make_lambda_client(url, "us-east-1"))
    deployer.deploy_variants(spec, memory_sizes)
    try:
        yield deployer
    finally:
        with contextlib.suppress(Exception):
            deployer.teardown(spec.name)


def noop_spec() -> FunctionSpec:
    return FunctionSpec(name="fidelity-noop", source=HELLO, handler="app.handler", timeout_s=10)


# ----------------------------------------------------------------------------- 1. CPU share


def cpu_spec() -> FunctionSpec:
    return FunctionSpec(name="fidelity-cpu-bound", source=CPU_BOUND, handler="app.lambda_handler",
                        timeout_s=120, environment={"POWERTOOLS_METRICS_NAMESPACE": "lambench"})


def measure_cpu_job(client: Any, name: str, n: int, count: int) -> dict[int, dict[str, Any]]:
    """One warm-up invoke per memory size, then ``count`` rounds of one invoke per size."""
    cells = {mb: {"durations_ms": [], "cold_in_sample": 0, "warmup": None} for mb in CPU_MEMORY}
    for mb in CPU_MEMORY:
        _, report, client_ms = invoke_tail(client, name, f"mem-{mb}", {"n": n})
        cells[mb]["warmup"] = {"duration_ms": report.duration_ms, "init_ms": report.init_ms,
                               "client_ms": client_ms}
    for round_no in range(count):
        for mb in CPU_MEMORY:
            _, report, _ = invoke_tail(client, name, f"mem-{mb}", {"n": n})
            cells[mb]["durations_ms"].append(report.duration_ms)
            cells[mb]["cold_in_sample"] += report.cold
        progress(f"  n={n}: round {round_no + 1}/{count}")
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


# ----------------------------------------------------------------------------- 2. Init Duration


def wait_updated(client: Any, name: str) -> None:
    client.get_waiter("function_updated_v2").wait(
        FunctionName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 60})


def one_cold_start(client: Any, name: str, memory_mb: int, index: int) -> dict[str, Any]:
    """Publish a fresh version (an environment variable changes), invoke it once, delete it."""
    client.update_function_configuration(
        FunctionName=name, MemorySize=memory_mb,
        Environment={"Variables": {"FIDELITY_COLD_START": str(index)}})
    wait_updated(client, name)
    version = client.publish_version(FunctionName=name, Description=f"cold start {index}")["Version"]
    _, report, client_ms = invoke_tail(client, name, version, {})
    # Deleting the version retires its environment, so idle processes do not pile up.
    with contextlib.suppress(ClientError):
        client.delete_function(FunctionName=name, Qualifier=version)
    return {"version": version, "init_ms": report.init_ms, "duration_ms": report.duration_ms,
            "max_memory_used_mb": report.max_memory_used_mb, "client_ms": client_ms}


def measure_init(url: str, memory_mb: int, count: int) -> dict[str, Any]:
    client = lambda_client(url)
    spec = FunctionSpec(name=f"fidelity-hello-cold-{memory_mb}", source=HELLO, handler="app.handler",
                        timeout_s=10)
    deployer = VariantDeployer(make_lambda_client(url, "us-east-1"))
    deployer.ensure_function(spec)
    try:
        samples = [one_cold_start(client, spec.name, memory_mb, i) for i in range(count)]
    finally:
        with contextlib.suppress(Exception):
            deployer.teardown(spec.name)
    inits = [s["init_ms"] for s in samples if s["init_ms"] is not None]
    # Client time of a cold invoke that neither Init Duration nor Duration accounts for.
    gaps = [s["client_ms"] - s["init_ms"] - s["duration_ms"] for s in samples if s["init_ms"] is not None]
    return {"memory_mb": memory_mb, "samples": samples, "stats": stats(inits), "unreported_ms": stats(gaps),
            "max_memory_used_mb": stats([s["max_memory_used_mb"] for s in samples]),
            "not_cold": sum(s["init_ms"] is None for s in samples),
            "client_ms": stats([s["client_ms"] for s in samples]),
            "reference_ms": LAMBDA_PERF_INIT_MS[memory_mb]}


def measure_mode(log_dir: Path, mode: str, measured: dict[str, Any], quick: bool) -> dict[str, Any]:
    """CPU share and Init Duration under one --cpu-mode; a skip record when it cannot run."""
    try:
        emulator = launch(log_dir, f"cpu-mode-{mode}", ("--cpu-mode", mode))
    except RuntimeError as error:
        return {"skipped": f"the emulator did not start with --cpu-mode {mode}: "
                           + str(error).strip().splitlines()[-1]}
    with emulator:
        if mode == "auto" and emulator.cpu_mode in measured:
            return {"skipped": f"auto resolves to {emulator.cpu_mode} on this host, measured above",
                    "resolved": emulator.cpu_mode}
        limit = quiet_limit(quick)
        result = {"resolved": emulator.cpu_mode, "machine_at_start": machine(), "init": {}}
        result["cpu_share"], result["cpu_share_load"] = watched(
            lambda: measure_cpu_share(emulator.url, quick), limit)
        for mb in INIT_MEMORY:
            count = halve(INIT_COLD_STARTS, quick)
            progress(f"Init Duration: {count} cold starts at {mb} MB (cpu_mode={emulator.cpu_mode})")
            result["init"][mb], load = watched(lambda mb=mb: measure_init(emulator.url, mb, count), limit)
            result["init"][mb]["load"] = load
        progress(f"Warm Duration: REPORT lines of sequential no-op invokes (cpu_mode={emulator.cpu_mode})")
        result["warm_duration"], result["warm_duration_load"] = watched(
            lambda: measure_warm_duration(emulator.url, WARM_DURATION_ROUNDS // (3 if quick else 1)), limit)
        result["info"] = emulator_info(emulator)
        return result


# ----------------------------------------------------------------------------- bare server


def capture_answer(url: str, name: str, qualifier: str) -> dict[str, Any]:
    """The emulator's raw answer to a warm invoke: body bytes and the headers the bare server copies."""
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        connection.request("POST", INVOKE_PATH.format(name=name) + f"?Qualifier={qualifier}",
                           body=b"{}", headers={"Content-Type": "application/json"})
        response = connection.getresponse()
        body = response.read()
        headers = dict(response.getheaders())
    finally:
        connection.close()
    wanted = ("x-amz-executed-version", "x-amzn-requestid", "content-type")
    kept = {k: v for k, v in headers.items() if k.lower() in wanted}
    return {"status": response.status, "body_b64": base64.b64encode(body).decode(),
            "headers": kept, "all_headers": headers}


@contextlib.contextmanager
def bare_server(answer: dict[str, Any]) -> Iterator[tuple[str, int]]:
    """tests/perf/bare_server.py as its own process; yields its URL and pid."""
    spec = json.dumps({"body_b64": answer["body_b64"], "headers": answer["headers"]})
    process = subprocess.Popen([sys.executable, str(BARE_SERVER), spec], stdout=subprocess.PIPE,
                               stdin=subprocess.DEVNULL, text=True)
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


# ----------------------------------------------------------------------------- 3. overhead


def timed_invoke(client: Any, name: str, qualifier: str) -> float:
    """One warm no-op invoke as boto3 users make it; the round trip in ms (raises on any error)."""
    t0 = time.perf_counter_ns()
    response = client.invoke(FunctionName=name, Qualifier=qualifier, Payload=b"{}")
    response["Payload"].read()
    elapsed = (time.perf_counter_ns() - t0) / 1e6
    if "FunctionError" in response:
        raise RuntimeError(f"{name}:{qualifier}: function error")
    return elapsed


def overhead_targets(emulator_url: str, bare_url: str, name: str) -> list[tuple[str, Any, str]]:
    """(label, client, qualifier): every client has the same config; only endpoint_url differs."""
    targets = [("bare", lambda_client(bare_url), f"mem-{OVERHEAD_MEMORY[0]}")]
    emulator = lambda_client(emulator_url)
    targets += [(f"emulator {mb} MB", emulator, f"mem-{mb}") for mb in OVERHEAD_MEMORY]
    return targets


def measure_overhead(emulator_url: str, bare_url: str, name: str, rounds: int) -> dict[str, Any]:
    """Round by round, one invoke per target in a rotating order; paired differences to bare."""
    targets = overhead_targets(emulator_url, bare_url, name)
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


def measure_warm_duration(url: str, rounds: int) -> dict[int, dict[str, Any]]:
    """REPORT Duration of warm no-op invokes (LogType=Tail), the sizes interleaved round by round."""
    with deployed(url, noop_spec(), OVERHEAD_MEMORY):
        return warm_durations(lambda_client(url), noop_spec().name, rounds)


def warm_durations(client: Any, name: str, rounds: int) -> dict[int, dict[str, Any]]:
    durations: dict[int, list[float]] = {mb: [] for mb in OVERHEAD_MEMORY}
    client_ms: dict[int, list[float]] = {mb: [] for mb in OVERHEAD_MEMORY}
    for mb in OVERHEAD_MEMORY:  # the cold start, not counted
        invoke_tail(client, name, f"mem-{mb}", {})
    for _ in range(rounds):
        for mb in OVERHEAD_MEMORY:
            _, report, ms = invoke_tail(client, name, f"mem-{mb}", {})
            durations[mb].append(report.duration_ms)
            client_ms[mb].append(ms)
    return {mb: {"duration_ms": stats(durations[mb]), "client_ms": stats(client_ms[mb]),
                 "samples_ms": durations[mb]} for mb in OVERHEAD_MEMORY}


def summarise_overhead(samples: dict[str, list[float]], errors: collections.Counter) -> dict[str, Any]:
    result: dict[str, Any] = {"round_trip": {k: stats(v) for k, v in samples.items()},
                              "errors": dict(errors), "samples_ms": samples, "differences": {}}
    bare = np.asarray(samples["bare"])
    for label, values in samples.items():
        if label == "bare":
            continue
        diffs = (np.asarray(values) - bare).tolist()
        result["differences"][label] = {**stats(diffs), "median_ci95": median_ci(diffs)}
    return result


# ----------------------------------------------------------------------------- 4. throughput


def cpu_seconds(process: psutil.Process) -> float:
    try:
        t = process.cpu_times()
        return t.user + t.system
    except psutil.Error:
        return 0.0


def cpu_snapshot(server_pid: int) -> dict[str, Any]:
    """CPU seconds so far of: this process (the load generator), the server, its children, all."""
    server = psutil.Process(server_pid)
    return {
        "loadgen": cpu_seconds(psutil.Process()),
        "server": cpu_seconds(server),
        "runtimes": {c.pid: cpu_seconds(c) for c in server.children(recursive=True)},
        "machine_busy": machine_busy_s(),
    }


def cpu_cores(before: dict[str, Any], after: dict[str, Any], seconds: float) -> dict[str, float]:
    """Cores each part used over a window; ``other`` is what the rest of the machine used."""
    runtimes = sum(v - before["runtimes"].get(pid, 0.0) for pid, v in after["runtimes"].items())
    used = {"loadgen": after["loadgen"] - before["loadgen"], "server": after["server"] - before["server"],
            "runtimes": runtimes}
    used["other"] = max(0.0, after["machine_busy"] - before["machine_busy"] - sum(used.values()))
    return {k: round(v / seconds, 2) for k, v in used.items()}


def new_tally() -> dict[str, Any]:
    return {"ok": 0, "latencies_ms": [], "errors": collections.Counter()}


def boto3_call(client: Any, name: str, qualifier: str) -> str | None:
    """One invoke; the error type, or None when it succeeded."""
    try:
        response = client.invoke(FunctionName=name, Qualifier=qualifier, Payload=b"{}")
        response["Payload"].read()
    except ClientError as error:
        return error.response.get("Error", {}).get("Code") or "ClientError"
    except Exception as error:
        return type(error).__name__
    return f"FunctionError:{response['FunctionError']}" if "FunctionError" in response else None


def run_worker(call: Callable[[], str | None], t_start: float, t_end: float, tally: dict) -> None:
    """Call until the window ends (or the count bound); count only calls that finish inside it."""
    time.sleep(max(0.0, t_start - time.perf_counter()))
    for _ in range(MAX_CALLS_PER_WORKER):
        t0 = time.perf_counter()
        if t0 >= t_end:
            return
        error = call()
        if not tally_call(tally, t0, error, t_end):
            return


def tally_call(tally: dict, t0: float, error: str | None, t_end: float) -> bool:
    """Count one call that started at t0; False once the window is over (the call is not counted)."""
    t1 = time.perf_counter()
    if t1 > t_end:
        return False
    if error:
        tally["errors"][error] += 1
    else:
        tally["ok"] += 1
        tally["latencies_ms"].append((t1 - t0) * 1000.0)
    return True


def boto3_load(clients: list, name: str, qualifier: str, seconds: float, snapshot: Callable) -> dict:
    """One thread per boto3 client for ``seconds``; CPU snapshots at the window's start and end."""
    tallies = [new_tally() for _ in clients]
    t_start = time.perf_counter() + 0.5
    threads = [threading.Thread(target=run_worker, daemon=True,
                                args=(lambda c=c: boto3_call(c, name, qualifier), t_start, t_start + seconds, t))
               for c, t in zip(clients, tallies)]
    for thread in threads:
        thread.start()
    time.sleep(max(0.0, t_start - time.perf_counter()))
    before = snapshot()
    for thread in threads:
        thread.join(timeout=max(0.0, t_start + seconds + 60 - time.perf_counter()))
    after, wall = snapshot(), time.perf_counter() - t_start
    stuck = sum(thread.is_alive() for thread in threads)
    if stuck:
        tallies[0]["errors"]["worker still running after the window"] += stuck
    return {"tallies": tallies, "cpu_before": before, "cpu_after": after, "wall_s": wall}


async def aiohttp_worker(session: aiohttp.ClientSession, request: dict, t_start: float, t_end: float,
                         tally: dict) -> None:
    await asyncio.sleep(max(0.0, t_start - time.perf_counter()))
    for _ in range(MAX_CALLS_PER_WORKER):
        t0 = time.perf_counter()
        if t0 >= t_end:
            return
        error = None
        try:
            async with session.post(request["url"], data=request["body"], headers=request["headers"]) as r:
                await r.read()
                if r.status != 200:
                    error = f"HTTP {r.status}"
                elif "X-Amz-Function-Error" in r.headers:
                    error = f"FunctionError:{r.headers['X-Amz-Function-Error']}"
        except Exception as exc:
            error = type(exc).__name__
        if not tally_call(tally, t0, error, t_end):
            return


async def _aiohttp_load(request: dict, concurrency: int, seconds: float, snapshot: Callable) -> dict:
    tallies = [new_tally() for _ in range(concurrency)]
    connector = aiohttp.TCPConnector(limit=concurrency)
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        t_start = time.perf_counter() + 0.5
        workers = [aiohttp_worker(session, request, t_start, t_start + seconds, t) for t in tallies]
        gathered = asyncio.ensure_future(asyncio.gather(*workers))
        await asyncio.sleep(max(0.0, t_start - time.perf_counter()))
        before = snapshot()
        await asyncio.wait_for(gathered, timeout=seconds + 60)
        after, wall = snapshot(), time.perf_counter() - t_start
    return {"tallies": tallies, "cpu_before": before, "cpu_after": after, "wall_s": wall}


def aiohttp_load(request: dict, concurrency: int, seconds: float, snapshot: Callable) -> dict:
    """``concurrency`` aiohttp tasks on one session, posting boto3's own request bytes."""
    return asyncio.run(_aiohttp_load(request, concurrency, seconds, snapshot))


def boto3_request(url: str, name: str, qualifier: str) -> dict[str, Any]:
    """The exact request boto3 sends for this invoke (URL, headers, body), captured before sending."""
    client = lambda_client(url)
    captured: dict[str, Any] = {}

    def grab(request: Any, **_: Any) -> None:
        captured.update(url=request.url, body=request.body, headers={
            k: (v.decode() if isinstance(v, bytes) else v) for k, v in request.headers.items()
            if k.lower() not in ("host", "content-length")})

    client.meta.events.register("before-send.lambda.Invoke", grab)
    client.invoke(FunctionName=name, Qualifier=qualifier, Payload=b"{}")["Payload"].read()
    body = captured["body"]
    captured["body"] = body.encode() if isinstance(body, str) else bytes(body or b"")
    return captured


def merge(tallies: list[dict], seconds: float) -> dict[str, Any]:
    errors = collections.Counter()
    latencies: list[float] = []
    for tally in tallies:
        errors.update(tally["errors"])
        latencies += tally["latencies_ms"]
    ok = sum(t["ok"] for t in tallies)
    return {"ok": ok, "errors": dict(errors), "error_count": sum(errors.values()),
            "per_second": ok / seconds, "latency_ms": stats(latencies)}


def served(emulator: LocalEmulator | None) -> dict[str, Any]:
    if emulator is None:
        return {}
    info = emulator_info(emulator)
    return {"environments": info.get("environments"), **(info.get("served") or {})}


def load_window(run: Callable[[float, Callable], dict], server_pid: int, seconds: float,
                emulator: LocalEmulator | None) -> dict[str, Any]:
    """A warm-up window, then the measured one with CPU accounting and the emulator's counters."""
    snapshot = lambda: cpu_snapshot(server_pid)  # noqa: E731
    run(THROUGHPUT_WARMUP_S, snapshot)
    served_before = served(emulator)
    window = run(seconds, snapshot)
    served_after = served(emulator)
    result = merge(window["tallies"], seconds)
    result["cores"] = cpu_cores(window["cpu_before"], window["cpu_after"], window["wall_s"])
    if served_after:
        result["environments"] = served_after.get("environments")
        result["cold_starts_in_window"] = (served_after.get("cold_starts", 0)
                                           - served_before.get("cold_starts", 0))
    return result


def measure_throughput(emulator: LocalEmulator, bare_url: str, bare_pid: int, name: str,
                       seconds: float, limit_s: float) -> list[dict[str, Any]]:
    n = THROUGHPUT_CONCURRENCY
    mb = OVERHEAD_MEMORY[0]
    runs = [
        ("boto3 threads", "emulator", mb, emulator.url, emulator.process.pid, emulator),
        ("boto3 threads", "bare server", mb, bare_url, bare_pid, None),
        ("aiohttp tasks", "emulator", mb, emulator.url, emulator.process.pid, emulator),
        ("aiohttp tasks", "emulator", 128, emulator.url, emulator.process.pid, emulator),
        ("aiohttp tasks", "bare server", mb, bare_url, bare_pid, None),
    ]
    results = []
    for generator, target, memory, url, pid, emu in runs:
        qualifier = f"mem-{memory}"
        progress(f"Throughput: {generator} x{n} -> {target} ({memory} MB), {seconds:g} s after a warm-up")
        if generator == "boto3 threads":
            clients = [lambda_client(url, pool=2, read_timeout=30) for _ in range(n)]
            run = lambda s, snap, c=clients, q=qualifier: boto3_load(c, name, q, s, snap)  # noqa: E731
        else:
            request = boto3_request(url, name, qualifier)
            run = lambda s, snap, r=request: aiohttp_load(r, n, s, snap)  # noqa: E731
        result, load = watched(lambda: load_window(run, pid, seconds, emu), limit_s)
        results.append({"generator": generator, "target": target, "memory_mb": memory,
                        "concurrency": n, "seconds": seconds, **result, "load": load})
    return results


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
                    lambda: measure_overhead(emulator.url, bare_url, spec.name, rounds), quiet_limit(quick))
                overhead["load"] = load
                seconds = 5 if quick else THROUGHPUT_SECONDS
                throughput = measure_throughput(emulator, bare_url, bare_pid, spec.name, seconds,
                                                quiet_limit(quick))
        return {"cpu_mode": emulator.cpu_mode, "machine_at_start": machine(), "answer": answer,
                "overhead": overhead, "throughput": throughput, "info": emulator_info(emulator)}


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


def print_init(results: dict[str, dict[str, Any]]) -> None:
    print("\n### Init Duration, hello world, forced cold starts (fresh version each)\n")
    header = ["cpu mode", "MB", "cold starts", "median ms", "p90 ms", "min", "max",
              "client − Init − Duration ms (median)", "Max Memory Used MB", "lambda-perf median ms", "meanwhile"]
    rows = []
    for mode, result in results.items():
        for mb, init in result.get("init", {}).items():
            s = init["stats"]
            rows.append([result["resolved"], mb, f"{s['n']}" + (f" (+{init['not_cold']} not cold)" if init["not_cold"] else ""),
                         fmt(s.get("median")), fmt(s.get("p90")), fmt(s.get("min")), fmt(s.get("max")),
                         fmt(init["unreported_ms"].get("median")), fmt(init["max_memory_used_mb"].get("median"), 0),
                         init["reference_ms"], load_note(init.get("load"))])
    print(table(header, rows))
    print("\nRaw Init Durations (ms), in order:")
    for result in results.values():
        for mb, init in result.get("init", {}).items():
            values = ", ".join(fmt(s["init_ms"]) for s in init["samples"])
            print(f"- {result['resolved']}, {mb} MB: {values}")


def print_overhead(warm: dict[str, Any]) -> None:
    overhead = warm["overhead"]
    print(f"\n### Warm invoke round trip and emulator overhead (boto3, no-op, cpu_mode={warm['cpu_mode']})\n")
    rows = [[label, s["n"], fmt(s["median"], 3), fmt(s["p90"], 3), fmt(s["p99"], 3), fmt(s["max"], 1)]
            for label, s in overhead["round_trip"].items()]
    print(table(["target", "rounds", "median ms", "p90 ms", "p99 ms", "max ms"], rows))
    print()
    rows = [[label + " − bare", fmt(d["median"], 3), f"{d['median_ci95'][0]:.3f}…{d['median_ci95'][1]:.3f}",
             fmt(d["p90"], 3), fmt(d["p99"], 3)] for label, d in overhead["differences"].items()]
    print(table(["paired difference", "median ms", "95% CI of median", "p90 ms", "p99 ms"], rows))
    print(f"\nDuring this measurement, {load_note(overhead.get('load'))}.")
    if overhead["errors"]:
        print(f"\nErrors (rounds dropped): {overhead['errors']}")
    print(f"\nBare server answer copied from the emulator: headers {warm['answer']['headers']}, "
          f"body {base64.b64decode(warm['answer']['body_b64'])!r}")


def print_warm_duration(modes: dict[str, dict[str, Any]]) -> None:
    print("\n### Warm REPORT Duration of the no-op (LogType=Tail, sequential, sizes interleaved)\n")
    rows = []
    for result in modes.values():
        for mb, d in result["warm_duration"].items():
            duration, client = d["duration_ms"], d["client_ms"]
            rows.append([result["resolved"], mb, duration["n"], fmt(duration["median"], 2), fmt(duration["p90"], 2),
                         fmt(duration["p99"], 2), fmt(duration["max"], 2), fmt(client["median"], 2),
                         fmt(client["p99"], 2), load_note(result.get("warm_duration_load"))])
    print(table(["cpu mode", "MB", "invokes", "Duration median ms", "p90", "p99", "max", "client median ms",
                 "client p99", "meanwhile"], rows))


def print_throughput(warm: dict[str, Any]) -> None:
    cpus = os.cpu_count()
    print(f"\n### Throughput, warm no-op, {THROUGHPUT_CONCURRENCY} concurrent clients "
          f"(the load generator shares this {cpus}-core machine with the server)\n")
    header = ["generator", "target", "MB", "s", "ok", "errors", "invokes/s", "p50 ms", "p99 ms",
              "cores: loadgen", "server", "runtimes", "other", "envs alive", "cold in window"]
    rows = []
    for r in warm["throughput"]:
        lat = r["latency_ms"]
        rows.append([r["generator"], r["target"], r["memory_mb"], r["seconds"], r["ok"], r["error_count"],
                     fmt(r["per_second"], 0), fmt(lat.get("median")), fmt(lat.get("p99")),
                     r["cores"]["loadgen"], r["cores"]["server"], r["cores"]["runtimes"], r["cores"]["other"],
                     r.get("environments", "—"), r.get("cold_starts_in_window", "—")])
    print(table(header, rows))
    print("\n`other` = the rest of the machine: other processes plus kernel network work not charged "
          "to a process. `envs alive` counts every environment of the emulator, all versions.")
    for r in warm["throughput"]:
        if r.get("load") and not r["load"]["before"]["quiet"]:
            print(f"- {r['generator']} -> {r['target']} {r['memory_mb']} MB: {load_note(r['load'])}")
    for r in warm["throughput"]:
        if r["errors"]:
            print(f"- errors, {r['generator']} -> {r['target']}: {r['errors']}")


def ratios_text(cells: dict[int, dict[str, Any]], key: str) -> str:
    return " · ".join(f"{mb}: {fmt(cells[mb][key], 2)}" for mb in CPU_MEMORY if mb != FULL_CPU_MB)


def cpu_rows(modes: dict[str, dict[str, Any]]) -> list[list[str]]:
    rows = []
    for mode, result in modes.items():
        if "skipped" in result:
            rows.append([f"CPU share, --cpu-mode {mode}", "skipped", "—", result["skipped"]])
            continue
        for label, job in result["cpu_share"].items():
            cells = job["cells"]
            base = cells[FULL_CPU_MB]["stats"]
            rows.append([f"CPU share [{result['resolved']}]: duration ÷ 1769 MB's, {label}",
                         ratios_text(cells, "ratio"), ratios_text(cells, "expected_ratio") + " (1769/MB)",
                         f"medians of {job['count']} warm invokes; 1769 MB median {base['median']:.1f} ms; "
                         + load_note(result.get("cpu_share_load"))])
    return rows


def init_rows(modes: dict[str, dict[str, Any]]) -> list[list[str]]:
    rows = []
    for result in modes.values():
        for mb, init in result.get("init", {}).items():
            s = init["stats"]
            rows.append([f"Init Duration [{result['resolved']}], hello world, {mb} MB",
                         f"median {fmt(s.get('median'))} ms, p90 {fmt(s.get('p90'))} ms (n={s['n']})",
                         f"median {init['reference_ms']} ms (lambda-perf, python3.12 x86_64)",
                         (f"{s['median'] / init['reference_ms']:.2f}× AWS; host Python "
                          f"{platform.python_version()}, no microVM; the cold invoke's client time beyond "
                          f"Init + Duration: {init['unreported_ms']['median']:.1f} ms; " + load_note(init.get("load")))
                         if s["n"] else "no cold start measured"])
    return rows


def memory_rows(modes: dict[str, dict[str, Any]]) -> list[list[str]]:
    for result in modes.values():
        for mb, init in result.get("init", {}).items():
            used = init["max_memory_used_mb"]
            return [[f"Max Memory Used, hello world, cold invoke, {mb} MB [{result['resolved']}]",
                     f"median {used['median']:.0f} MB (n={used['n']})", "about 37 MB (lambda-perf)",
                     "peak RSS of the awslambdaric process (VmHWM)"]]
    return []


def warm_rows(warm: dict[str, Any]) -> list[list[str]]:
    overhead, rows = warm["overhead"], []
    bare = overhead["round_trip"]["bare"]
    for label, diff in overhead["differences"].items():
        rt = overhead["round_trip"][label]
        rows.append([f"Warm invoke round trip, boto3, no-op, {label.split(' ', 1)[1]}",
                     f"median {rt['median']:.2f} ms, p90 {rt['p90']:.2f} ms",
                     f"~{WANG_WARM_MS:.0f} ms median client-observed (Wang et al. 2018)",
                     f"loopback; bare server with the same answer: median {bare['median']:.2f} ms"])
        rows.append([f"Emulator overhead per warm invoke, {label.split(' ', 1)[1]}",
                     f"median {diff['median']:.2f} ms (95% CI {diff['median_ci95'][0]:.2f}…"
                     f"{diff['median_ci95'][1]:.2f}), p90 {diff['p90']:.2f} ms",
                     "— (no public figure for Lambda's front end alone)",
                     f"median of {diff['n']} paired differences to the bare server; "
                     + load_note(overhead.get("load"))])
    return rows


def warm_duration_rows(modes: dict[str, dict[str, Any]]) -> list[list[str]]:
    rows = []
    for result in modes.values():
        for mb, d in result["warm_duration"].items():
            rows.append(warm_duration_row(result["resolved"], mb, d))
    return rows


def warm_duration_row(mode: str, mb: int, d: dict[str, Any]) -> list[str]:
    duration, client = d["duration_ms"], d["client_ms"]
    return [f"Warm REPORT Duration [{mode}], hello world, {mb} MB",
            f"median {duration['median']:.2f} ms, p90 {duration['p90']:.2f} ms, p99 {duration['p99']:.2f} ms",
            "about 2 ms (lambda-perf, python3.12)",
            f"{duration['n']} sequential invokes; client round trip median {client['median']:.2f} ms, "
            f"p99 {client['p99']:.2f} ms"]


def throughput_rows(warm: dict[str, Any]) -> list[list[str]]:
    rows = []
    bare = {r["generator"]: r for r in warm["throughput"] if r["target"] == "bare server"}
    for r in warm["throughput"]:
        if r["target"] != "emulator":
            continue
        ceiling = bare.get(r["generator"])
        note = (f"generator's ceiling (bare server): {ceiling['per_second']:.0f}/s; " if ceiling else "")
        note += (f"cores used: loadgen {r['cores']['loadgen']}, emulator {r['cores']['server']}, "
                 f"runtimes {r['cores']['runtimes']}, other {r['cores']['other']} of {os.cpu_count()}")
        errors = f"{r['error_count']} errors" + (f" {r['errors']}" if r["errors"] else "")
        rows.append([f"Throughput, {r['concurrency']} {r['generator']}, {r['memory_mb']} MB, {r['seconds']:g} s",
                     f"{r['per_second']:.0f} invokes/s, {errors}",
                     "AWS: up to 10 × concurrency limit requests/s (10,000/s at 1,000)",
                     note])
    return rows


def busy_sections(results: dict[str, Any]) -> list[str]:
    """Labels of the measurements during which other processes used QUIET_CORES or more on average."""
    loads = []
    for mode, r in results.get("modes", {}).items():
        loads += [(f"CPU share [{mode}]", r.get("cpu_share_load")), (f"warm Duration [{mode}]", r.get("warm_duration_load"))]
        loads += [(f"Init [{mode}, {mb} MB]", init.get("load")) for mb, init in r.get("init", {}).items()]
    warm = results.get("warm", {})
    loads.append(("overhead", warm.get("overhead", {}).get("load")))
    loads += [(f"throughput [{t['generator']} -> {t['target']} {t['memory_mb']} MB]", t.get("load"))
              for t in warm.get("throughput", [])]
    return [label for label, load in loads
            if load and (load["during"]["mean"] or 0) >= QUIET_CORES]


def print_summary(results: dict[str, Any]) -> None:
    measured = {m: r for m, r in results.get("modes", {}).items() if "skipped" not in r}
    rows = cpu_rows(results.get("modes", {})) + init_rows(measured) + memory_rows(measured)
    rows += warm_duration_rows(measured)
    if "warm" in results:
        rows += warm_rows(results["warm"]) + throughput_rows(results["warm"])
    print("\n## Fidelity summary\n")
    print(table(["measure", "lambench emulator", "reference (AWS / published)", "note"], rows))
    busy = busy_sections(results)
    if busy:
        print(f"\nMeasured while other processes used ≥ {QUIET_CORES} cores on average (treat as perturbed): "
              + "; ".join(busy) + ".")


def print_results(results: dict[str, Any]) -> None:
    m = results["machine"]
    print(f"# lambench emulator fidelity ({'quick' if results['quick'] else 'full'} run)\n")
    print(f"Host: {m['cpus']} CPUs, load average {m['loadavg']} at start, Python {m['python']}, "
          f"{m['platform']}. The load generator (this process) shares these cores with the emulator.")
    modes = results.get("modes", {})
    for mode, result in modes.items():
        if "skipped" in result:
            print(f"\n### CPU share, --cpu-mode {mode}: skipped ({result['skipped']})")
        else:
            print_cpu_share(mode, result)
    measured = {m: r for m, r in modes.items() if "skipped" not in r}
    if measured:
        print_init(measured)
        print_warm_duration(measured)
    if "warm" in results:
        print_overhead(results["warm"])
        print_throughput(results["warm"])
    print_summary(results)


# ----------------------------------------------------------------------------- main


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="about half the samples and 5 s load windows")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write every raw number here")
    parser.add_argument("--only", choices=("modes", "warm"), help="run one half only (for development)")
    return parser.parse_args(argv)


def run_all(args: argparse.Namespace, results: dict[str, Any], log_dir: Path) -> None:
    if args.only in (None, "modes"):
        results["modes"] = {}
        for mode in offered_cpu_modes():
            measured = {r["resolved"] for r in results["modes"].values() if "skipped" not in r}
            results["modes"][mode] = measure_mode(log_dir, mode, measured, args.quick)
            if "skipped" in results["modes"][mode]:
                progress(f"cpu mode {mode}: skipped ({results['modes'][mode]['skipped']})")
    if args.only in (None, "warm"):
        results["warm"] = measure_warm_path(log_dir, args.quick)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    log_dir = Path(tempfile.mkdtemp(prefix="lambench-fidelity-"))
    results: dict[str, Any] = {"quick": args.quick, "machine": machine(), "emulator_logs": str(log_dir)}
    interrupted = False
    try:
        run_all(args, results, log_dir)
    except KeyboardInterrupt:
        interrupted = True
        progress("interrupted: printing what was measured")
    results["elapsed_s"] = round(time.monotonic() - _T0, 1)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=1, default=str))
    print_results(results)
    print(f"\nElapsed {results['elapsed_s']} s. Emulator logs: {log_dir}"
          + (f". Raw numbers: {args.json}" if args.json else ""))
    return 130 if interrupted else 0


if __name__ == "__main__":
    sys.exit(main())
