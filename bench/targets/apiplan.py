"""Which API Gateway APIs a run on AWS calls through, and whose they are.

``[load] paths`` "apigw-http" and "apigw-rest" need an API in front of the variants, one stage
per alias (``mem-<MB>``):
- the sample (bench.toml's ``[function] source``): the run creates the APIs the paths need, as
  ``lambench deploy --target aws`` does (bench/targets/gateways.py), journaled and removed with
  the rest; unless the user names APIs of their own (e.g. those a ``lambench deploy --target
  aws`` printed), which are then used and never changed;
- the user's own function (``--function`` or ``[function] arn``): lambench never changes the
  user's API, so every gateway path needs its URL. The access log is read from the group given,
  else from ``/aws/apigateway/<function>``, the group lambench's own APIs write to. A resource
  policy applies to one function, version or alias, so the user's API may invoke lambench's
  temporary aliases only through a permission on each: the run adds one (journaled, scoped to the
  API's id when its URL is on execute-api's own domain) and removes it with the aliases.

This is decided before anything is created: a missing URL is one line and exit 2.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from bench.errors import UserError

# [load] path -> API kind.
GATEWAY_KINDS = {"apigw-http": "http", "apigw-rest": "rest"}
API_NAMES = {"http": "HTTP API", "rest": "REST API"}


# API Gateway's default invoke host: https://{api-id}.execute-api.{region}.amazonaws.com(.cn)
EXECUTE_API_HOST = re.compile(r"^([a-z0-9]+)\.execute-api\.[a-z0-9-]+\.amazonaws\.com(?:\.cn)?$")


def execute_api_id(url: str) -> str | None:
    """The API id in an invoke URL on API Gateway's own domain; None for a custom domain."""
    match = EXECUTE_API_HOST.match(urlsplit(url).hostname or "")
    return match.group(1) if match else None


@dataclass(frozen=True)
class Apis:
    """APIs by their invoke URLs (None: none of that kind), and the log group of their access log."""

    http_url: str | None = None
    rest_url: str | None = None
    access_log_group: str | None = None

    def url(self, kind: str) -> str | None:
        return self.http_url if kind == "http" else self.rest_url


@dataclass(frozen=True)
class ApiPlan:
    """What a run's gateway paths call: APIs to create, or the user's own (their URLs)."""

    create: tuple[str, ...] = ()  # "http", "rest": created for the run in front of the sample's variants
    given: Apis = Apis()

    @property
    def kinds(self) -> tuple[str, ...]:
        return self.create or tuple(k for k in ("http", "rest") if self.given.url(k))


def plan_apis(paths: Sequence[str], user_function: bool, given: Apis, where: str) -> ApiPlan:
    """The plan for ``paths``; a UserError naming the key and flag when a gateway path has no API."""
    kinds = tuple(GATEWAY_KINDS[p] for p in paths if p in GATEWAY_KINDS)
    if not kinds:
        return ApiPlan()  # direct invokes only: any API named is not called
    named = [k for k in ("http", "rest") if given.url(k)]
    if not user_function and not named:
        if given.access_log_group:
            raise UserError(
                f"{where}: target.apigw_access_log_group = {given.access_log_group!r}: only with your own API's "
                "URLs (target.apigw_http_url, apigw_rest_url); the APIs a run creates log to "
                "/aws/apigateway/<function>"
            )
        return ApiPlan(create=kinds)
    for kind in kinds:
        if given.url(kind):
            continue
        why = (
            "your function's API, which lambench never changes"
            if user_function
            else f"your own APIs, since target.apigw_{named[0]}_url names one"
        )
        raise UserError(
            f'{where}: target.apigw_{kind}_url is missing: load.paths has "apigw-{kind}", called through {why}; '
            f"set it to the {API_NAMES[kind]}'s invoke URL, or pass --apigw-{kind}-url (docs/aws.md: what the "
            "API must look like)"
        )
    return ApiPlan(given=given)
