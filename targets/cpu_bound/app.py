"""A CPU-bound Lambda target: pure-Python integer work that scales linearly with ``n``.

Its duration falls with memory up to 1,769 MB (one full vCPU) and then stays flat,
because the loop is single-threaded; that curve is what a power-tuning run should find.
The default ``n`` takes about 20 ms of CPU on one full core.

Invoked directly, it reads ``n`` from the event and returns ``{"n", "checksum"}``.
Behind API Gateway (payload 1.0 or 2.0) it reads ``?n=`` and answers in the proxy shape,
because REST APIs turn any other response into a 502.
"""

from __future__ import annotations

import json
import os
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

SERVICE = "cpu_bound"
# About 20 ms of CPU at ~100 ns per iteration on one full core (CPython 3.11, x86_64).
DEFAULT_N = 200_000
# A generous cap so that a typo in a load test cannot pin an environment until its timeout.
MAX_N = 100_000_000

# Explicit namespace beats the environment variable in Powertools, so resolve it here.
logger = Logger(service=SERVICE)
metrics = Metrics(namespace=os.getenv("POWERTOOLS_METRICS_NAMESPACE", "lambench"), service=SERVICE)


def spin(n: int) -> int:
    """Run ``n`` rounds of a 32-bit linear congruential generator; return an XOR checksum.

    Deterministic and allocation-free, so the time is CPU alone and grows linearly in n.
    """
    x = 0x9E3779B9
    checksum = 0
    for _ in range(n):
        x = (x * 1103515245 + 12345) & 0xFFFFFFFF
        checksum ^= x
    return checksum


def parse_n(raw: Any) -> int:
    """Accept a whole number from 0 to MAX_N (an int, or a numeric string from a query string)."""
    if isinstance(raw, bool):
        raise ValueError(f"n must be a whole number, got {raw!r}")
    try:
        n = int(raw)
    except (TypeError, ValueError):
        raise ValueError(f"n must be a whole number, got {raw!r}") from None
    if n != raw and not isinstance(raw, str):
        raise ValueError(f"n must be a whole number, got {raw!r}")
    if not 0 <= n <= MAX_N:
        raise ValueError(f"n must be between 0 and {MAX_N}, got {n}")
    return n


def _is_api_gateway(event: Any) -> bool:
    # Both payload formats carry requestContext; a direct invoke's event has no reason to.
    return isinstance(event, dict) and "requestContext" in event


def _requested_n(event: Any) -> Any:
    if _is_api_gateway(event):
        return (event.get("queryStringParameters") or {}).get("n", DEFAULT_N)
    return event.get("n", DEFAULT_N) if isinstance(event, dict) else DEFAULT_N


def _api_gateway_response(body: dict[str, Any]) -> dict[str, Any]:
    return {
        "statusCode": 200,
        "headers": {"content-type": "application/json"},
        "multiValueHeaders": {},
        "body": json.dumps(body),
        "isBase64Encoded": False,
    }


@logger.inject_lambda_context
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: Any, context: Any) -> dict[str, Any]:
    n = parse_n(_requested_n(event))
    result = {"n": n, "checksum": spin(n)}
    metrics.add_metric(name="Iterations", unit=MetricUnit.Count, value=n)
    logger.debug("spun", extra=result)
    return _api_gateway_response(result) if _is_api_gateway(event) else result
