"""Shared parts of the fidelity benchmark (tests/perf/fidelity.py): paths, statistics, formatting,
the measuring boto3 client, and the emulator and deployment helpers every measurement uses.

Nothing here measures on its own. ``invoke_tail`` is the one way a measurement reads a REPORT line
(Invoke with LogType=Tail, the client round trip timed around it), and ``interleaved_tail_invokes``
is the one loop that spreads invokes over memory sizes round by round, so that drift on the host
falls on every size alike. Importing this module puts the repository on sys.path for ``bench``.
"""

from __future__ import annotations

import base64
import contextlib
import json
import math
import os
import platform
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402
from botocore.config import Config  # noqa: E402

from bench import awsclient  # noqa: E402
from bench.collect import find_report  # noqa: E402
from bench.targets import FunctionSpec, VariantDeployer  # noqa: E402
from bench.targets.local import LocalEmulator, start_emulator  # noqa: E402

HERE = Path(__file__).resolve().parent
HELLO = HERE / "functions" / "hello"
CPU_BOUND = REPO / "targets" / "cpu_bound"
BARE_SERVER = HERE / "bare_server.py"

FULL_CPU_MB = 1769
INVOKE_PATH = "/2015-03-31/functions/{name}/invocations"

T0 = time.monotonic()  # progress lines and the run's elapsed time count from here


# ----------------------------------------------------------------------------- small helpers


def progress(message: str) -> None:
    print(f"[{time.monotonic() - T0:6.1f}s] {message}", file=sys.stderr, flush=True)


def halve(count: int, quick: bool) -> int:
    return max(2, math.ceil(count / 2)) if quick else count


def stats(values: list[float]) -> dict[str, Any]:
    """n, median, p90, p99, min, max, mean and cv of a sample (None when it is empty)."""
    if not values:
        return {"n": 0}
    a = np.asarray(values, dtype=float)
    mean = float(a.mean())
    return {
        "n": len(values),
        "median": float(np.median(a)),
        "p90": float(np.percentile(a, 90)),
        "p99": float(np.percentile(a, 99)),
        "min": float(a.min()),
        "max": float(a.max()),
        "mean": mean,
        "cv": float(a.std() / mean) if mean else None,
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


def expected_ratio(memory_mb: int) -> float:
    """Duration relative to 1769 MB for single-threaded CPU work, as Lambda's CPU share implies."""
    return max(FULL_CPU_MB / memory_mb, 1.0)


def machine() -> dict[str, Any]:
    return {
        "cpus": os.cpu_count(),
        "loadavg": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


# ----------------------------------------------------------------------------- invoking


def lambda_client(url: str, pool: int = 10, read_timeout: int = 120) -> Any:
    """A measuring client: one attempt (a retry would hide what the server did)."""
    config = Config(
        retries={"total_max_attempts": 1}, max_pool_connections=pool, read_timeout=read_timeout, connect_timeout=10
    )
    return awsclient.client("lambda", url, "us-east-1", config)


def invoke_tail(client: Any, name: str, qualifier: str, payload: dict) -> tuple[dict, Any, float]:
    """Invoke with LogType=Tail; return the response, its REPORT and the client round trip in ms."""
    t0 = time.perf_counter()
    response = client.invoke(FunctionName=name, Qualifier=qualifier, Payload=json.dumps(payload), LogType="Tail")
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


Taken = tuple[Any, float]  # one invoke's REPORT and its client round trip in ms


def interleaved_tail_invokes(
    client: Any,
    name: str,
    sizes: tuple[int, ...],
    payload: dict,
    rounds: int,
    after_round: Callable[[int], None] | None = None,
) -> tuple[dict[int, Taken], dict[int, list[Taken]]]:
    """One invoke per alias mem-<MB> first (it takes the cold start; not counted), then ``rounds``
    rounds of one invoke per size, in ``sizes`` order. Returns the first invoke of each size and
    the counted ones, by size; ``after_round`` hears each round's index."""
    first: dict[int, Taken] = {}
    for mb in sizes:
        _, report, client_ms = invoke_tail(client, name, f"mem-{mb}", payload)
        first[mb] = (report, client_ms)
    taken: dict[int, list[Taken]] = {mb: [] for mb in sizes}
    for round_no in range(rounds):
        for mb in sizes:
            _, report, client_ms = invoke_tail(client, name, f"mem-{mb}", payload)
            taken[mb].append((report, client_ms))
        if after_round is not None:
            after_round(round_no)
    return first, taken


# ----------------------------------------------------------------------------- emulators


def launch(log_dir: Path, label: str, extra_args: tuple[str, ...] = ()) -> LocalEmulator:
    progress(f"starting the emulator ({label})")
    return start_emulator(log_dir / f"emulator-{label}.log", extra_args=extra_args)


def emulator_info(emulator: LocalEmulator) -> dict[str, Any]:
    try:
        return emulator.info()
    except Exception as error:  # an info endpoint that changed must not lose the run's figures
        return {"error": repr(error)}


def deployer_for(url: str) -> VariantDeployer:
    """A deployer on its own control-plane client (retrying, unlike the measuring client)."""
    return VariantDeployer(awsclient.client("lambda", url, "us-east-1", awsclient.control_plane_config()))


@contextlib.contextmanager
def deployed(url: str, spec: FunctionSpec, memory_sizes: tuple[int, ...]) -> Iterator[VariantDeployer]:
    """The function with one mem-<MB> alias per size; removed again afterwards."""
    deployer = deployer_for(url)
    deployer.deploy_variants(spec, memory_sizes)
    try:
        yield deployer
    finally:
        with contextlib.suppress(Exception):
            deployer.teardown(spec.name)


def noop_spec() -> FunctionSpec:
    return FunctionSpec(name="fidelity-noop", source=HELLO, handler="app.handler", timeout_s=10)
