"""bench.toml's [target] and [function] tables: where a run goes and what it benchmarks.

Split from bench/config.py, which reads the file and the other tables; the errors name the file
and field the same way (``bench.toml: target.apigw_http_url = "x": must be ...``), through the
section reader config.py passes in. Lambda's own rules live in bench/targets/spec.py.

[target]'s ``apigw_*`` keys name the user's own API Gateway in front of the user's own function
(``[function] arn`` or ``--function``): lambench never changes that API, so it needs its invoke
URLs and the log group of its access log (docs/aws.md says what the API must look like). The
``lambench run`` flags of the same names win over them (bench/run.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from .errors import UserError
from .targets import architecture_problem, name_problem, region_problem, timeout_problem

if TYPE_CHECKING:
    from .config import _Section

TARGET_KINDS = ("local", "aws")
PYTHON_RUNTIMES = ("python3.10", "python3.11", "python3.12", "python3.13", "python3.14")
# CloudWatch Logs' rule for a log group name (CreateLogGroup): 1 to 512 of these characters.
LOG_GROUP_NAME = re.compile(r"^[A-Za-z0-9_\-/.#]{1,512}$")
APIGW_KEYS = ("apigw_http_url", "apigw_rest_url", "apigw_access_log_group")


@dataclass(frozen=True)
class TargetConfig:
    kind: str = "local"
    region: str = "us-east-1"
    endpoint: str | None = None  # None: start the bundled emulator (local) or AWS's own endpoint (aws)
    # The user's own API Gateway (AWS only): the invoke URLs, before the /<stage>, and the log group
    # of its JSON access log. None: none given (the sample's run creates its own APIs).
    apigw_http_url: str | None = None
    apigw_rest_url: str | None = None
    apigw_access_log_group: str | None = None


@dataclass(frozen=True)
class FunctionConfig:
    name: str
    source: Path
    handler: str
    runtime: str = "python3.12"
    architecture: str = "x86_64"
    timeout_s: int = 30
    environment: dict[str, str] = field(default_factory=dict)
    arn: str | None = None  # the user's own function (AWS): benchmarked as it is, its code untouched
    role: str | None = None  # the sample's execution role on AWS; None: the run creates one


def api_url_problem(value: Any) -> str | None:
    """What an API's invoke URL must be, or None if ``value`` is one."""
    allowed = "must be the API's invoke URL, https://ID.execute-api.REGION.amazonaws.com (no stage, no query)"
    if not isinstance(value, str):
        return allowed
    parts = urlsplit(value)
    if parts.scheme not in ("https", "http") or not parts.hostname or parts.query or parts.fragment:
        return allowed
    return None


def log_group_problem(value: Any) -> str | None:
    if isinstance(value, str) and LOG_GROUP_NAME.match(value):
        return None
    return "must be a CloudWatch Logs log group name: 1 to 512 of A-Z a-z 0-9 _ - / . #"


def parse_target(s: _Section) -> TargetConfig:
    s.unknown({"kind", "region", "endpoint", *APIGW_KEYS})
    endpoint = s.get("endpoint", str, "") or None
    if endpoint and not endpoint.startswith(("http://", "https://")):
        raise s.error(s.name("endpoint"), endpoint, "must be an http:// or https:// URL, or empty")
    kind = s.choice("kind", TARGET_KINDS, "local")
    apis: dict[str, str | None] = {}
    for key, rule in zip(APIGW_KEYS, (api_url_problem, api_url_problem, log_group_problem), strict=True):
        value = s.get(key, str, None)
        if value is not None and kind != "aws":
            raise s.error(s.name(key), value, 'needs target.kind = "aws" (a local run uses the emulator\'s fronts)')
        apis[key] = None if value is None else s.checked(key, rule)
    return TargetConfig(kind=kind, region=s.checked("region", region_problem, "us-east-1"), endpoint=endpoint, **apis)


def parse_function(s: _Section, base: Path) -> FunctionConfig:
    s.unknown({"name", "source", "handler", "runtime", "architecture", "timeout_s", "environment", "arn", "role"})
    if "arn" in s.data:
        return _user_function(s, base)
    source = base / s.get("source", str)
    if not source.is_dir():
        raise s.error(s.name("source"), s.data["source"], f"must be a folder (no folder at {source})")
    handler = s.get("handler", str)
    if "." not in handler:
        raise s.error(s.name("handler"), handler, "must be module.function, e.g. app.handler")
    environment = s.get("environment", dict, {})
    for key, value in environment.items():
        if not isinstance(value, str):
            raise s.error(s.name(f"environment.{key}"), value, "must be a string")
    return FunctionConfig(
        name=s.checked("name", name_problem),
        source=source,
        handler=handler,
        runtime=s.choice("runtime", PYTHON_RUNTIMES, "python3.12"),
        architecture=s.checked("architecture", architecture_problem, "x86_64"),
        timeout_s=s.checked("timeout_s", timeout_problem, 30),
        environment=dict(environment),
        role=_role(s),
    )


def _user_function(s: _Section, base: Path) -> FunctionConfig:
    """[function] arn = ...: the user's own function; name, source and handler are its own, not ours."""
    from .targets.existing import parse_function_arn

    arn = s.get("arn", str)
    try:
        parsed = parse_function_arn(arn, where=f"{s.where}: {s.name('arn')}")
    except UserError:
        allowed = "must be a function ARN, arn:aws:lambda:REGION:ACCOUNT:function:NAME"
        raise s.error(s.name("arn"), arn, allowed) from None
    for key in ("source", "handler", "role", "environment"):
        if key in s.data:
            allowed = "must be left out with function.arn (lambench uses the function as it is)"
            raise s.error(s.name(key), s.data[key], allowed)
    return FunctionConfig(
        name=parsed.name,
        source=base,
        handler="",
        architecture=s.checked("architecture", architecture_problem, "x86_64"),
        timeout_s=s.checked("timeout_s", timeout_problem, 30),
        arn=arn,
    )


def _role(s: _Section) -> str | None:
    role = s.get("role", str, None)
    if role is not None and not role.startswith("arn:") or role == "":
        raise s.error(s.name("role"), role, "must be an IAM role ARN, arn:aws:iam::ACCOUNT:role/NAME")
    return role
