"""What the load users need to know (function, variants, endpoint, payload), from either door.

``lambench run`` builds LoadSettings itself; a plain ``locust -f locustfiles/direct.py`` gets them
from Locust command-line options, each with its LAMBENCH_* environment variable (Locust's own
precedence: flag, then environment, then default).

``client`` picks what carries each invoke: ``fast`` (bench/load/fastclient.py: botocore's SigV4
over geventhttpclient, the default) or ``boto3`` (the reference, at several times the CPU per call).

``rps`` switches to open loop (bench/load/openloop.py): that many invocations per second in total,
Poisson arrivals drawn from ``seed``, carried by as many users as the rate needs; without it, each
user invokes back to back (closed loop).
"""

from __future__ import annotations

import itertools
import json
import math
import random
import time
from dataclasses import dataclass
from pathlib import Path

from ..errors import UserError

CLIENTS = ("fast", "boto3")
DEFAULT_CLIENT = "fast"


@dataclass(frozen=True)
class LoadSettings:
    function_name: str
    variants: tuple[str, ...]
    endpoint_url: str | None
    region: str
    payload: bytes
    run_id: str
    records_path: Path
    worker: str = "local"
    client: str = DEFAULT_CLIENT
    # API Gateway: the APIs' base URLs (None: the emulator's fronts), the route after /<stage>,
    # and the access-log group that holds both request ids (None: the emulator's).
    apigw_http_url: str | None = None
    apigw_rest_url: str | None = None
    apigw_route: str = "/"
    access_log_group: str | None = None
    # Open loop: invocations per second in total (None: closed loop), and the arrivals' seed
    # (None: one is drawn and recorded).
    rps: float | None = None
    seed: int | None = None

    def __post_init__(self) -> None:
        if not self.variants:
            raise UserError("--lambda-variants: give at least one alias, e.g. mem-128,mem-512")
        if self.client not in CLIENTS:
            raise UserError(f"--lambda-client {self.client!r}: must be one of {', '.join(CLIENTS)}")
        if self.rps is not None and not (math.isfinite(self.rps) and self.rps > 0):
            raise UserError(f"--lambda-rps {self.rps:g}: must be a number of invocations per second above 0")


def variant_rotation(variants: tuple[str, ...]) -> itertools.cycle:
    """The variants round-robin from a random start: each user interleaves every memory size, and
    the users together spread over them evenly, under the same machine conditions."""
    start = random.randrange(len(variants))
    return itertools.cycle(variants[start:] + variants[:start])


def new_run_id() -> str:
    return time.strftime("%Y%m%d-%H%M%S", time.localtime())


def add_locust_arguments(parser) -> None:
    """Locust's init_command_line_parser hook: our options, shown in the web UI too."""
    # Locust's include_in_web_ui works on the parser itself, not on argument groups.
    group = parser
    group.add_argument(
        "--lambda-function",
        env_var="LAMBENCH_FUNCTION",
        default="lambench-cpu-bound",
        help="function name to invoke",
        include_in_web_ui=True,
    )
    group.add_argument(
        "--lambda-variants",
        env_var="LAMBENCH_VARIANTS",
        default="mem-128,mem-512,mem-1024,mem-1769",
        help="comma-separated aliases (or versions) to interleave",
        include_in_web_ui=True,
    )
    group.add_argument(
        "--lambda-endpoint",
        env_var="LAMBENCH_ENDPOINT",
        default="http://127.0.0.1:9001",
        help="Lambda endpoint URL; 'aws' for AWS's own",
        include_in_web_ui=True,
    )
    group.add_argument("--lambda-region", env_var="LAMBENCH_REGION", default="us-east-1")
    group.add_argument(
        "--lambda-payload",
        env_var="LAMBENCH_PAYLOAD",
        default="{}",
        help="JSON event sent with every invoke",
        include_in_web_ui=True,
    )
    group.add_argument(
        "--lambda-client",
        env_var="LAMBENCH_CLIENT",
        default=DEFAULT_CLIENT,
        choices=CLIENTS,
        help="what sends each invoke: fast (SigV4 over geventhttpclient) or boto3",
        include_in_web_ui=True,
    )
    group.add_argument(
        "--lambda-rps",
        env_var="LAMBENCH_RPS",
        type=float,
        default=None,
        help="open loop: invocations per second in total, Poisson arrivals, with -u as the least number of "
        "users (default: closed loop, each user invokes back to back)",
    )
    group.add_argument(
        "--lambda-seed",
        env_var="LAMBENCH_SEED",
        type=int,
        default=None,
        help="seed of the open-loop arrivals, to replay them (default: drawn, and recorded in the results)",
    )
    group.add_argument(
        "--lambench-reports", env_var="LAMBENCH_REPORTS", default="reports", help="folder for <run-id>/records.sqlite"
    )
    group.add_argument(
        "--apigw-route",
        env_var="LAMBENCH_APIGW_ROUTE",
        default="/",
        help="path (and query) after /<stage> for API Gateway calls",
        include_in_web_ui=True,
    )
    group.add_argument(
        "--apigw-http-url",
        env_var="LAMBENCH_APIGW_HTTP_URL",
        default="",
        help="HTTP API invoke URL (default: the emulator's front for the function)",
    )
    group.add_argument(
        "--apigw-rest-url",
        env_var="LAMBENCH_APIGW_REST_URL",
        default="",
        help="REST API invoke URL (default: the emulator's front for the function)",
    )
    group.add_argument(
        "--apigw-access-log-group",
        env_var="LAMBENCH_APIGW_ACCESS_LOG_GROUP",
        default="",
        help="log group of the API's JSON access log with requestId and integrationRequestId",
    )


def _records_name(worker: str) -> str:
    # Each Locust worker writes its own file, so that no two processes share one SQLite writer.
    return "records.sqlite" if worker == "local" else f"records-{worker}.sqlite"


def settings_from_options(options, worker: str = "local") -> LoadSettings:
    try:
        json.loads(options.lambda_payload)
    except ValueError as err:
        raise UserError(f"--lambda-payload: not valid JSON ({err})") from None
    endpoint = None if options.lambda_endpoint == "aws" else options.lambda_endpoint
    run_id = new_run_id()
    return LoadSettings(
        function_name=options.lambda_function,
        variants=tuple(v.strip() for v in options.lambda_variants.split(",") if v.strip()),
        endpoint_url=endpoint,
        region=options.lambda_region,
        payload=options.lambda_payload.encode(),
        run_id=run_id,
        records_path=Path(options.lambench_reports) / run_id / _records_name(worker),
        worker=worker,
        client=options.lambda_client,
        apigw_http_url=options.apigw_http_url or None,
        apigw_rest_url=options.apigw_rest_url or None,
        apigw_route=options.apigw_route,
        access_log_group=options.apigw_access_log_group or None,
        rps=options.lambda_rps,
        seed=options.lambda_seed,
    )
