"""Drives the real ApiGatewayUser, for tests/test_apigw_classify.py, in a process of its own.

Importing Locust monkey-patches the process with gevent, so the tests run this script with
sys.executable instead of importing bench.load: ``python apigw_user_driver.py SPEC_JSON``. For each
case of SPEC it builds a Locust Environment holding that case's LoadSettings, makes one HTTP API
or REST API user (Locust's FastHttpUser underneath, as in a run), lets it make exactly one call,
and keeps what the user handed Locust's request event: the record in the context, and the
failure, if any. It prints ``{case name: {"record": {...}, "locust_exception": str | None}}``.

A case names ``kind`` ("http" or "rest"), ``function``, ``variant`` (the stage) and ``route``, and
either ``endpoint`` (the emulator's fronts) or ``base_url`` (an API's invoke URL, as against AWS).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import locust  # noqa: F401  (gevent patches sockets before anything else loads)
from locust.env import Environment

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.load.apigw_user import ApiGatewayUser  # noqa: E402
from bench.load.settings import LoadSettings  # noqa: E402
from bench.records import CONTEXT_KEY  # noqa: E402


class HttpApi(ApiGatewayUser):
    kind = "http"


class RestApi(ApiGatewayUser):
    kind = "rest"


USERS = {"http": HttpApi, "rest": RestApi}


def call_once(case: dict) -> dict:
    user_class = USERS[case["kind"]]
    base_url = case.get("base_url")
    settings = LoadSettings(
        function_name=case["function"],
        variants=(case["variant"],),
        endpoint_url=case.get("endpoint"),
        region="us-east-1",
        payload=b"{}",
        run_id="classify",
        records_path=Path("unused.sqlite"),
        apigw_route=case["route"],
        apigw_http_url=base_url if case["kind"] == "http" else None,
        apigw_rest_url=base_url if case["kind"] == "rest" else None,
    )
    environment = Environment(user_classes=[user_class])
    environment.lambench = settings
    fired: list[dict] = []
    environment.events.request.add_listener(lambda **kwargs: fired.append(kwargs))
    user_class(environment).call_next_variant()
    (event,) = fired
    record = event["context"][CONTEXT_KEY]
    return {"record": record.as_dict(), "locust_exception": str(event["exception"]) if event["exception"] else None}


if __name__ == "__main__":
    spec = json.loads(sys.argv[1])
    json.dump({case["name"]: call_once(case) for case in spec["cases"]}, sys.stdout)
