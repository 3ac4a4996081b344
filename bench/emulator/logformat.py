"""The platform log lines Lambda writes around each invocation, in AWS's exact text format.

Billing follows the rule in force since 2025-08-01: on a cold start of an on-demand ZIP
function, Billed Duration = ceil(Duration + Init Duration); otherwise ceil(Duration).
"""

from __future__ import annotations

import math
import time


def billed_ms(duration_ms: float, init_ms: float | None) -> int:
    billed = duration_ms + (init_ms or 0.0)
    return max(1, math.ceil(round(billed, 2)))


def init_start_line(runtime: str) -> str:
    return f"INIT_START Runtime Version: {runtime}.lambench\tRuntime Version ARN: local"


def start_line(request_id: str, version: str) -> str:
    return f"START RequestId: {request_id} Version: {version}"


def end_line(request_id: str) -> str:
    return f"END RequestId: {request_id}"


def report_line(
    request_id: str,
    duration_ms: float,
    memory_mb: int,
    max_memory_mb: int,
    init_ms: float | None,
    status: str | None = None,
    error_type: str | None = None,
) -> str:
    # One string, not a list of fields joined: this is made on every invoke.
    line = (
        f"REPORT RequestId: {request_id}\tDuration: {duration_ms:.2f} ms"
        f"\tBilled Duration: {billed_ms(duration_ms, init_ms)} ms\tMemory Size: {memory_mb} MB"
        f"\tMax Memory Used: {max_memory_mb} MB"
    )
    if init_ms is not None:
        line += f"\tInit Duration: {init_ms:.2f} ms"
    if status:
        # Lambda appends these after a timeout or a crashed runtime.
        line += f"\tStatus: {status}"
        if error_type:
            line += f"\tError Type: {error_type}"
    return line


def timeout_line(request_id: str, timeout_s: float) -> str:
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()) + f".{int(time.time() * 1000) % 1000:03d}Z"
    return f"{stamp} {request_id} Task timed out after {timeout_s:.2f} seconds"


def tail(lines: list[str], limit: int) -> bytes:
    """The last ``limit`` bytes of the log, as X-Amz-Log-Result carries them (before base64)."""
    data = ("\n".join(lines) + "\n").encode()
    return data[-limit:]
