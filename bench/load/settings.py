"""What the load users need to know (function, variants, endpoint, payload), from either door.

``lambench run`` builds LoadSettings itself; a plain ``locust -f locustfiles/direct.py`` gets them
from Locust command-line options, each with its LAMBENCH_* environment variable (Locust's own
precedence: flag, then environment, then default). An option left empty takes its value from
bench.toml (or ``--lambench-config``) when the run's target is made ready (bench/load/target.py),
and without an endpoint that target is the bundled emulator. Those resolved values reach Locust
workers inside the master's options (``TARGET_OPTION``), so a worker invokes what the master
deployed whatever its own command line said.

``client`` picks what carries each invoke: ``fast`` (bench/load/fastclient.py: botocore's SigV4
over geventhttpclient, the default) or ``boto3`` (the reference, at several times the CPU per call).

``rps`` switches to open loop (bench/load/openloop.py): that many invocations per second in total,
Poisson arrivals drawn from ``seed``, carried by as many users as the rate needs; without it, each
user invokes back to back (closed loop).
"""

from __future__ import annotations

import dataclasses
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
# Used when an option is empty and no bench.toml says otherwise.
DEFAULT_FUNCTION = "lambench-cpu-bound"
DEFAULT_VARIANTS = "mem-128,mem-512,mem-1024,mem-1769"
DEFAULT_CONFIG = "bench.toml"
DEFAULT_REPORTS = "reports"
# The master's resolved target (function, variants, endpoint, payload, reports), forwarded to workers.
TARGET_OPTION = "lambench_target"


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
    # API Gateway: the APIs' base URLs (None: the emulator's fronts; on AWS, lambench run gives
    # those it created or the user's, bench/targets/apiplan.py), the route after /<stage>, and the
    # access-log group that holds both request ids (None: /aws/apigateway/<function>).
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
        default="",
        help=f"function name to invoke (empty: bench.toml's [function] name, else {DEFAULT_FUNCTION})",
        include_in_web_ui=True,
    )
    group.add_argument(
        "--lambda-variants",
        env_var="LAMBENCH_VARIANTS",
        default="",
        help="comma-separated aliases to interleave; mem-<MB> sets the memory the bundled emulator deploys "
        "(empty: mem-<MB> for bench.toml's [variants] memory_mb)",
        include_in_web_ui=True,
    )
    group.add_argument(
        "--lambda-endpoint",
        env_var="LAMBENCH_ENDPOINT",
        default="",
        help="Lambda endpoint URL, 'aws' for AWS's own (empty: bench.toml's [target]; the bundled emulator, "
        "started and deployed at test start, when that is local)",
        include_in_web_ui=True,
    )
    group.add_argument(
        "--lambench-config",
        env_var="LAMBENCH_CONFIG",
        default=DEFAULT_CONFIG,
        help="the bench.toml that empty options come from",
        include_in_web_ui=False,
    )
    group.add_argument("--lambda-region", env_var="LAMBENCH_REGION", default="us-east-1", include_in_web_ui=False)
    group.add_argument(
        "--lambda-payload",
        env_var="LAMBENCH_PAYLOAD",
        default="",
        help="JSON event sent with every invoke (empty: bench.toml's [load] payload, else {})",
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
        include_in_web_ui=False,
    )
    group.add_argument(
        "--lambda-seed",
        env_var="LAMBENCH_SEED",
        type=int,
        default=None,
        help="seed of the open-loop arrivals, to replay them (default: drawn, and recorded in the results)",
        include_in_web_ui=False,
    )
    group.add_argument(
        "--lambench-reports",
        env_var="LAMBENCH_REPORTS",
        default="",
        help=f"folder for <run-id>/records.sqlite (empty: bench.toml's [report] dir, else {DEFAULT_REPORTS})",
        include_in_web_ui=False,
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
        include_in_web_ui=False,
    )
    group.add_argument(
        "--apigw-rest-url",
        env_var="LAMBENCH_APIGW_REST_URL",
        default="",
        help="REST API invoke URL (default: the emulator's front for the function)",
        include_in_web_ui=False,
    )
    group.add_argument(
        "--apigw-access-log-group",
        env_var="LAMBENCH_APIGW_ACCESS_LOG_GROUP",
        default="",
        help="log group of the API's JSON access log with requestId and integrationRequestId",
        include_in_web_ui=False,
    )


def _records_name(worker: str) -> str:
    # Each Locust worker writes its own file, so that no two processes share one SQLite writer.
    return "records.sqlite" if worker == "local" else f"records-{worker}.sqlite"


@dataclass(frozen=True)
class Resolved:
    """What an empty option became: from bench.toml and the started emulator, or the defaults."""

    function_name: str
    variants: tuple[str, ...]
    endpoint_url: str | None  # None: AWS's own
    payload: str
    reports: str

    def to_option(self) -> dict:
        # Plain JSON types: Locust sends the options to workers with msgpack.
        return {**dataclasses.asdict(self), "variants": list(self.variants)}

    @classmethod
    def from_option(cls, data: dict) -> Resolved:
        return cls(**{**data, "variants": tuple(data["variants"])})


def split_variants(text: str) -> tuple[str, ...]:
    return tuple(v.strip() for v in text.split(",") if v.strip())


def resolved_from_options(options) -> Resolved:
    """The options as given, empty ones at the built-in defaults; or what the master forwarded."""
    forwarded = getattr(options, TARGET_OPTION, None)
    if forwarded:
        return Resolved.from_option(forwarded)
    endpoint = (options.lambda_endpoint or "").strip()
    return Resolved(
        function_name=options.lambda_function or DEFAULT_FUNCTION,
        variants=split_variants(options.lambda_variants or DEFAULT_VARIANTS),
        endpoint_url=None if endpoint in ("", "aws") else endpoint,
        payload=options.lambda_payload or "{}",
        reports=options.lambench_reports or DEFAULT_REPORTS,
    )


def check_payload(payload: str) -> None:
    try:
        json.loads(payload)
    except ValueError as err:
        raise UserError(f"--lambda-payload: not valid JSON ({err})") from None


def _optional(kind, value, flag: str):
    # The web UI's start form sends every field as text, an empty one as "".
    if value is None or value == "":
        return None
    try:
        return kind(value)
    except (TypeError, ValueError):
        raise UserError(f"{flag} {value!r}: must be a number") from None


def settings_from_options(options, worker: str = "local", resolved: Resolved | None = None) -> LoadSettings:
    """A new run's settings (a new run id) from the options and, where given, their resolution."""
    target = resolved if resolved is not None else resolved_from_options(options)
    check_payload(target.payload)
    run_id = new_run_id()
    return LoadSettings(
        function_name=target.function_name,
        variants=target.variants,
        endpoint_url=target.endpoint_url,
        region=options.lambda_region,
        payload=target.payload.encode(),
        run_id=run_id,
        records_path=Path(target.reports) / run_id / _records_name(worker),
        worker=worker,
        client=options.lambda_client,
        apigw_http_url=options.apigw_http_url or None,
        apigw_rest_url=options.apigw_rest_url or None,
        apigw_route=options.apigw_route,
        access_log_group=options.apigw_access_log_group or None,
        rps=_optional(float, options.lambda_rps, "--lambda-rps"),
        seed=_optional(int, options.lambda_seed, "--lambda-seed"),
    )
