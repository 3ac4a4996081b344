"""ApiGatewayUser's reading of an answer: the function's own status is "ok", API Gateway's own answers are not.

Through the proxy integration a function picks its HTTP status, so a 404, 418 or 429 it returned
is an invocation that ran and answered. API Gateway's own answers (no such stage or route, its
throttle, a function error it stands in for, its integration timeout) are what the record must
not count as "ok". Each case is one call by the real user (Locust's FastHttpUser), driven by
tests/apigw_user_driver.py in a process of its own, against:

- the real emulator's fronts, with tests/functions/apigw_status answering whatever status it is
  asked for;
- for the gateway answers the emulator does not model (API Gateway's own throttle and quota), a
  server on 127.0.0.1 that replays AWS's answers as captured in public reports: a REST API's
  429 with ``x-amzn-ErrorType: TooManyRequestsException`` and ``{"message":"Too Many Requests"}``;
  its 504 with ``InternalServerErrorException`` and ``{"message": "Endpoint request timed out"}``;
  an HTTP API's 503 ``{"message":"Service Unavailable"}`` with only ``apigw-requestid`` and
  ``content-length`` (cortexlabs/cortex#1225); an HTTP API's 429 ``{"message":"Too Many Requests"}``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from conftest import run_locust

from bench.collect import read_records

REPO = Path(__file__).resolve().parent.parent
DRIVER = Path(__file__).resolve().parent / "apigw_user_driver.py"
STAGE_404 = {
    "http": ("client_error", "ApiGateway.NotFound"),
    "rest": ("client_error", "ApiGateway.MissingAuthenticationToken"),
}


def drive(cases: list[dict]) -> dict:
    result = subprocess.run(
        [sys.executable, str(DRIVER), json.dumps({"cases": cases})],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=REPO,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout)


def outcome(result: dict) -> tuple[str, str | None]:
    return result["record"]["status"], result["record"]["error_type"]


@pytest.fixture
def status_function(emulator, deploy):
    spec, (variant,) = deploy("apigw_status")
    return lambda kind, route, **over: {
        "kind": kind,
        "endpoint": emulator.url,
        "function": spec.name,
        "variant": variant.name,
        "route": route,
        **over,
    }


@pytest.mark.parametrize("kind", ["http", "rest"])
def test_a_status_the_function_returned_itself_is_an_invocation_that_answered(status_function, kind):
    cases = [{"name": str(status), **status_function(kind, f"/x?status={status}")} for status in (404, 418, 429, 500)]
    results = drive(cases)
    for status in (404, 418, 429, 500):
        result = results[str(status)]
        assert outcome(result) == ("ok", None), (kind, status, result)
        assert result["locust_exception"] is None, "Locust counts it as a success too"
        assert result["record"]["gateway_request_id"], "the join still has its key"
        assert result["record"]["path"] == f"apigw-{kind}"


@pytest.mark.parametrize("kind", ["http", "rest"])
def test_the_gateways_own_answers_are_not_ok(emulator, status_function, kind):
    results = drive(
        [
            {"name": "mistyped stage", **status_function(kind, "/x?status=200", variant="mem-129")},
            {"name": "no such api", **status_function(kind, "/x?status=200", function="no-such-api")},
            {"name": "no stage at all", **status_function(kind, "", variant="")},
            {"name": "function failed", **status_function(kind, "/x?raise=1")},
        ]
    )
    for name in ("mistyped stage", "no such api", "no stage at all"):
        assert outcome(results[name]) == STAGE_404[kind], (kind, name, results[name])
    assert outcome(results["function failed"]) == ("function_error", "ApiGateway.InternalServerError")
    for name, result in results.items():
        status, error_type = outcome(result)
        assert result["locust_exception"] == f"{status}: {error_type}", (name, "a Locust failure, named")


def test_a_function_answering_the_gateways_exact_body_is_told_apart_on_rest_only(status_function):
    # A REST API marks its own answers with x-amzn-ErrorType; an HTTP API has only its body, so a
    # function that answers HTTP API's very 404 cannot be told from it by the client.
    route = "/x?status=404&message=Not%20Found"
    results = drive([{"name": kind, **status_function(kind, route)} for kind in ("http", "rest")])
    assert outcome(results["rest"]) == ("ok", None)
    assert outcome(results["http"]) == ("client_error", "ApiGateway.NotFound")


def test_past_the_integration_timeout_the_call_is_a_timeout(own_emulator):
    emulator, _, deploy = own_emulator("--apigw-timeout", "1")
    spec, (variant,) = deploy("apigw_status")
    base = {"endpoint": emulator.url, "function": spec.name, "variant": variant.name, "route": "/x?sleep=3"}
    results = drive([{"name": kind, "kind": kind, **base} for kind in ("http", "rest")])
    for kind in ("http", "rest"):
        assert outcome(results[kind]) == ("timeout", "ApiGateway.IntegrationTimeout"), results[kind]


# ---------------------------------------------------------------- AWS's own answers, replayed

JSON = ("Content-Type", "application/json")
AWS_ANSWERS = {
    "rest-throttled": (
        429,
        [
            JSON,
            ("x-amzn-RequestId", "9de12c5c-0b50-415c-8319-9d8c1e104c76"),
            ("x-amzn-ErrorType", "TooManyRequestsException"),
            ("x-amz-apigw-id", "f-ZvmEb3PHcEeNg="),
        ],
        b'{"message":"Too Many Requests"}',
    ),
    # A usage plan's quota: "Limit Exceeded" is the body AWS's 429 troubleshooting article names;
    # its error type is assumed by the same naming, not seen in a capture.
    "rest-quota": (
        429,
        [
            JSON,
            ("x-amzn-RequestId", "6b0c5b43-2222-4c1e-9a53-1e2f5d1b0a01"),
            ("x-amzn-ErrorType", "LimitExceededException"),
        ],
        b'{"message":"Limit Exceeded"}',
    ),
    "rest-timeout": (
        504,
        [
            JSON,
            ("x-amzn-RequestId", "fbcaf9e5-d535-40a1-891c-7b70118cf7e8"),
            ("x-amzn-ErrorType", "InternalServerErrorException"),
        ],
        b'{"message": "Endpoint request timed out"}',
    ),
    "http-throttled": (429, [JSON, ("apigw-requestid", "RL2XYiwjPHcEMEQ=")], b'{"message":"Too Many Requests"}'),
    "http-timeout": (503, [("apigw-requestid", "RL2XYiwjPHcEMEQ=")], b'{"message":"Service Unavailable"}'),
    # An HTTP API authorizer's deny: the body AWS's HTTP API authorizer troubleshooting names (no capture).
    "http-forbidden": (403, [JSON, ("apigw-requestid", "RL2XYiwjPHcEMEQ=")], b'{"message":"Forbidden"}'),
}


class _Replay(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        status, headers, body = AWS_ANSWERS[self.path.split("/")[1]]
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args) -> None:
        pass


@pytest.fixture
def aws_replay():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Replay)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize(
    "answer, kind, expected",
    [
        ("rest-throttled", "rest", ("throttled", "ApiGateway.TooManyRequests")),
        ("rest-quota", "rest", ("throttled", "ApiGateway.LimitExceeded")),
        ("rest-timeout", "rest", ("timeout", "ApiGateway.IntegrationTimeout")),
        ("http-throttled", "http", ("throttled", "ApiGateway.TooManyRequests")),
        ("http-timeout", "http", ("timeout", "ApiGateway.IntegrationTimeout")),
        ("http-forbidden", "http", ("client_error", "ApiGateway.Forbidden")),
    ],
)
def test_aws_gateway_answers_are_read_as_what_happened(aws_replay, answer, kind, expected):
    case = {
        "name": answer,
        "kind": kind,
        "base_url": f"{aws_replay}/{answer}",
        "function": "unused",
        "variant": "prod",
        "route": "/x",
    }
    (result,) = drive([case]).values()
    assert outcome(result) == expected
    assert result["record"]["gateway_request_id"] == dict(AWS_ANSWERS[answer][1]).get(
        "x-amzn-RequestId" if kind == "rest" else "apigw-requestid"
    )


# ---------------------------------------------------------------- under plain Locust


def test_under_locust_a_functions_4xx_is_a_success_and_a_mistyped_stage_is_refused_at_start(emulator, deploy, tmp_path):
    spec, (variant,) = deploy("apigw_status")
    result = run_locust(
        "apigw.py", emulator.url, spec.name, variant.name, tmp_path,
        "--apigw-route", "/x?status=418", "--json-file", str(tmp_path / "locust"),
    )  # fmt: skip
    assert result.returncode == 0, "a function's 418 is no Locust failure: " + result.stderr[-2000:]
    (records_path,) = tmp_path.glob("*/records.sqlite")
    by_call = Counter((r.path, r.variant, r.status, r.error_type) for r in read_records(records_path))
    totals = {
        e["name"]: (e["num_requests"], e["num_failures"]) for e in json.loads((tmp_path / "locust.json").read_text())
    }
    assert set(by_call) == {(path, variant.name, "ok", None) for path in ("apigw-http", "apigw-rest")}, by_call
    for kind, path in (("http", "apigw-http"), ("rest", "apigw-rest")):
        assert totals[f"{kind} {variant.name}"] == (by_call[(path, variant.name, "ok", None)], 0)
    # A stage that does not exist is a typo: the test does not start (bench/load/target.py), in one
    # line, rather than fail every call (what AWS answers such calls is read in the tests above).
    (tmp_path / "typo").mkdir()
    typo = run_locust("apigw.py", emulator.url, spec.name, f"{variant.name},mem-129", tmp_path / "typo")
    assert typo.returncode == 2 and "has no" in typo.stderr and ":mem-129" in typo.stderr, typo.stderr[-2000:]
