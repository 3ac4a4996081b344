"""Throughput of warm no-op invokes, for the fidelity benchmark (tests/perf/fidelity.py).

50 concurrent clients invoke the warm no-op back to back for a fixed window (15 s; 5 s with
--quick) after an unmeasured warm-up window (3 s): first 50 threads with one boto3 client each,
then 50 aiohttp tasks on one session posting the exact request bytes boto3 sends (captured from
a real boto3 invoke). Both run against the emulator and, as each generator's own ceiling, against
the bare server (tests/perf/bare_server.py) that gives the emulator's answer. Only calls that
finish inside the window count: invokes/s is those that succeeded over the window's length,
with the errors by type, the latency percentiles, and the cores each part used over the window
(this process as the load generator, the server, the emulator's runtime processes, and the rest
of the machine). Every worker is bounded in time and in count (MAX_CALLS_PER_WORKER). The
generator shares this machine's cores with the server.
"""

from __future__ import annotations

import asyncio
import collections
import os
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import aiohttp
import psutil
from botocore.exceptions import ClientError
from fidelity_common import emulator_info, fmt, lambda_client, progress, stats, table
from fidelity_load import load_note, machine_busy_s, watched
from fidelity_warm import OVERHEAD_MEMORY

from bench.targets.local import LocalEmulator

THROUGHPUT_CONCURRENCY = 50
THROUGHPUT_SECONDS = 15
THROUGHPUT_WARMUP_S = 3
MAX_CALLS_PER_WORKER = 200_000  # the count bound of every load loop, beside its time bound


# ----------------------------------------------------------------------------- CPU accounting


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
    used = {
        "loadgen": after["loadgen"] - before["loadgen"],
        "server": after["server"] - before["server"],
        "runtimes": runtimes,
    }
    used["other"] = max(0.0, after["machine_busy"] - before["machine_busy"] - sum(used.values()))
    return {k: round(v / seconds, 2) for k, v in used.items()}


# ----------------------------------------------------------------------------- one window of calls


def new_tally() -> dict[str, Any]:
    return {"ok": 0, "latencies_ms": [], "errors": collections.Counter()}


def window_calls(t_end: float) -> Iterator[float]:
    """The start time of each call a worker makes: until the window ends, or the count bound."""
    for _ in range(MAX_CALLS_PER_WORKER):
        t0 = time.perf_counter()
        if t0 >= t_end:
            return
        yield t0


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


def window_result(tallies: list[dict], before: dict, snapshot: Callable, t_start: float) -> dict[str, Any]:
    """A window just ended: its tallies, CPU snapshots at its start and end, and its wall time."""
    after, wall = snapshot(), time.perf_counter() - t_start
    return {"tallies": tallies, "cpu_before": before, "cpu_after": after, "wall_s": wall}


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
    for t0 in window_calls(t_end):
        if not tally_call(tally, t0, call(), t_end):
            return


def boto3_load(clients: list, name: str, qualifier: str, seconds: float, snapshot: Callable) -> dict:
    """One thread per boto3 client for ``seconds``; CPU snapshots at the window's start and end."""
    tallies = [new_tally() for _ in clients]
    t_start = time.perf_counter() + 0.5
    threads = [
        threading.Thread(
            target=run_worker,
            daemon=True,
            args=(lambda c=c: boto3_call(c, name, qualifier), t_start, t_start + seconds, t),
        )
        for c, t in zip(clients, tallies, strict=True)
    ]
    for thread in threads:
        thread.start()
    time.sleep(max(0.0, t_start - time.perf_counter()))
    before = snapshot()
    for thread in threads:
        thread.join(timeout=max(0.0, t_start + seconds + 60 - time.perf_counter()))
    result = window_result(tallies, before, snapshot, t_start)
    stuck = sum(thread.is_alive() for thread in threads)
    if stuck:
        tallies[0]["errors"]["worker still running after the window"] += stuck
    return result


async def aiohttp_call(session: aiohttp.ClientSession, request: dict) -> str | None:
    """One POST of boto3's request bytes; the error type, or None when it succeeded."""
    try:
        async with session.post(request["url"], data=request["body"], headers=request["headers"]) as r:
            await r.read()
            if r.status != 200:
                return f"HTTP {r.status}"
            if "X-Amz-Function-Error" in r.headers:
                return f"FunctionError:{r.headers['X-Amz-Function-Error']}"
    except Exception as exc:
        return type(exc).__name__
    return None


async def aiohttp_worker(
    session: aiohttp.ClientSession, request: dict, t_start: float, t_end: float, tally: dict
) -> None:
    await asyncio.sleep(max(0.0, t_start - time.perf_counter()))
    for t0 in window_calls(t_end):
        if not tally_call(tally, t0, await aiohttp_call(session, request), t_end):
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
        return window_result(tallies, before, snapshot, t_start)


def aiohttp_load(request: dict, concurrency: int, seconds: float, snapshot: Callable) -> dict:
    """``concurrency`` aiohttp tasks on one session, posting boto3's own request bytes."""
    return asyncio.run(_aiohttp_load(request, concurrency, seconds, snapshot))


def boto3_request(url: str, name: str, qualifier: str) -> dict[str, Any]:
    """The exact request boto3 sends for this invoke (URL, headers, body), captured before sending."""
    client = lambda_client(url)
    captured: dict[str, Any] = {}

    def grab(request: Any, **_: Any) -> None:
        captured.update(
            url=request.url,
            body=request.body,
            headers={
                k: (v.decode() if isinstance(v, bytes) else v)
                for k, v in request.headers.items()
                if k.lower() not in ("host", "content-length")
            },
        )

    client.meta.events.register("before-send.lambda.Invoke", grab)
    client.invoke(FunctionName=name, Qualifier=qualifier, Payload=b"{}")["Payload"].read()
    body = captured["body"]
    captured["body"] = body.encode() if isinstance(body, str) else bytes(body or b"")
    return captured


# ----------------------------------------------------------------------------- the measured runs


def merge(tallies: list[dict], seconds: float) -> dict[str, Any]:
    errors = collections.Counter()
    latencies: list[float] = []
    for tally in tallies:
        errors.update(tally["errors"])
        latencies += tally["latencies_ms"]
    ok = sum(t["ok"] for t in tallies)
    return {
        "ok": ok,
        "errors": dict(errors),
        "error_count": sum(errors.values()),
        "per_second": ok / seconds,
        "latency_ms": stats(latencies),
    }


def served(emulator: LocalEmulator | None) -> dict[str, Any]:
    if emulator is None:
        return {}
    info = emulator_info(emulator)
    return {"environments": info.get("environments"), **(info.get("served") or {})}


def load_window(
    run: Callable[[float, Callable], dict], server_pid: int, seconds: float, emulator: LocalEmulator | None
) -> dict[str, Any]:
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
        result["cold_starts_in_window"] = served_after.get("cold_starts", 0) - served_before.get("cold_starts", 0)
    return result


def measure_throughput(
    emulator: LocalEmulator, bare_url: str, bare_pid: int, name: str, seconds: float, limit_s: float
) -> list[dict[str, Any]]:
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
        result, load = watched(lambda run=run, pid=pid, emu=emu: load_window(run, pid, seconds, emu), limit_s)
        results.append(
            {
                "generator": generator,
                "target": target,
                "memory_mb": memory,
                "concurrency": n,
                "seconds": seconds,
                **result,
                "load": load,
            }
        )
    return results


# ----------------------------------------------------------------------------- printing


def print_throughput(warm: dict[str, Any]) -> None:
    cpus = os.cpu_count()
    print(
        f"\n### Throughput, warm no-op, {THROUGHPUT_CONCURRENCY} concurrent clients "
        f"(the load generator shares this {cpus}-core machine with the server)\n"
    )
    header = [
        "generator",
        "target",
        "MB",
        "s",
        "ok",
        "errors",
        "invokes/s",
        "p50 ms",
        "p99 ms",
        "cores: loadgen",
        "server",
        "runtimes",
        "other",
        "envs alive",
        "cold in window",
    ]
    rows = []
    for r in warm["throughput"]:
        lat = r["latency_ms"]
        rows.append(
            [
                r["generator"],
                r["target"],
                r["memory_mb"],
                r["seconds"],
                r["ok"],
                r["error_count"],
                fmt(r["per_second"], 0),
                fmt(lat.get("median")),
                fmt(lat.get("p99")),
                r["cores"]["loadgen"],
                r["cores"]["server"],
                r["cores"]["runtimes"],
                r["cores"]["other"],
                r.get("environments", "—"),
                r.get("cold_starts_in_window", "—"),
            ]
        )
    print(table(header, rows))
    print(
        "\n`other` = the rest of the machine: other processes plus kernel network work not charged "
        "to a process. `envs alive` counts every environment of the emulator, all versions."
    )
    for r in warm["throughput"]:
        if r.get("load") and not r["load"]["before"]["quiet"]:
            print(f"- {r['generator']} -> {r['target']} {r['memory_mb']} MB: {load_note(r['load'])}")
    for r in warm["throughput"]:
        if r["errors"]:
            print(f"- errors, {r['generator']} -> {r['target']}: {r['errors']}")


def throughput_rows(warm: dict[str, Any]) -> list[list[str]]:
    """Summary rows: one per emulator run, with the same generator's ceiling on the bare server."""
    rows = []
    bare = {r["generator"]: r for r in warm["throughput"] if r["target"] == "bare server"}
    for r in warm["throughput"]:
        if r["target"] != "emulator":
            continue
        ceiling = bare.get(r["generator"])
        note = f"generator's ceiling (bare server): {ceiling['per_second']:.0f}/s; " if ceiling else ""
        note += (
            f"cores used: loadgen {r['cores']['loadgen']}, emulator {r['cores']['server']}, "
            f"runtimes {r['cores']['runtimes']}, other {r['cores']['other']} of {os.cpu_count()}"
        )
        errors = f"{r['error_count']} errors" + (f" {r['errors']}" if r["errors"] else "")
        rows.append(
            [
                f"Throughput, {r['concurrency']} {r['generator']}, {r['memory_mb']} MB, {r['seconds']:g} s",
                f"{r['per_second']:.0f} invokes/s, {errors}",
                "AWS: up to 10 × concurrency limit requests/s (10,000/s at 1,000)",
                note,
            ]
        )
    return rows
