"""Sample API target: a Powertools REST-style service behind API Gateway, HTTP API or REST API.

Routes: GET/POST /echo (echoes the JSON body and query), GET /cpu?n=N (CPU work scaling with n),
GET /boom (raises: a function error). One function serves both gateways: an event with
version "2.0" goes to APIGatewayHttpResolver, any other to APIGatewayRestResolver. HTTP API
keeps a named stage in the path (/mem-512/echo), so the stage prefix is stripped; lambench
names stages after its aliases (mem-<MB>).
"""

from __future__ import annotations

import os
import re

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, APIGatewayRestResolver
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit

SERVICE = "api"
STAGE_PREFIX = re.compile(r"^/mem-\d+")
DEFAULT_N = 200_000

logger = Logger(service=SERVICE)
metrics = Metrics(namespace=os.getenv("POWERTOOLS_METRICS_NAMESPACE", "lambench"), service=SERVICE)
http_api = APIGatewayHttpResolver(strip_prefixes=[STAGE_PREFIX])
rest_api = APIGatewayRestResolver()


def spin(n: int) -> int:
    total = 0
    for i in range(n):
        total = (total * 31 + i) & 0xFFFFFFFF
    return total


def echo(app) -> dict:
    event = app.current_event
    return {
        "method": event.http_method,
        "path": event.path,
        "query": event.query_string_parameters or {},
        "body": event.json_body if event.body else None,
    }


def cpu(app) -> dict:
    n = int((app.current_event.query_string_parameters or {}).get("n", DEFAULT_N))
    if not 0 <= n <= 100_000_000:
        raise ValueError(f"n = {n}: must be 0..100000000")
    metrics.add_metric(name="Iterations", unit=MetricUnit.Count, value=n)
    return {"n": n, "checksum": spin(n)}


def boom(app) -> dict:
    raise RuntimeError("the /boom route always fails")


for resolver in (http_api, rest_api):
    resolver.get("/echo")(lambda resolver=resolver: echo(resolver))
    resolver.post("/echo")(lambda resolver=resolver: echo(resolver))
    resolver.get("/cpu")(lambda resolver=resolver: cpu(resolver))
    resolver.get("/boom")(lambda resolver=resolver: boom(resolver))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict, context) -> dict:
    resolver = http_api if event.get("version") == "2.0" else rest_api
    return resolver.resolve(event, context)
