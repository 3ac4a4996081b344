"""The emulator's API Gateway fronts: event shapes, Powertools compatibility, response mapping."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from bench import awsclient

FIXTURES = Path(__file__).parent / "fixtures" / "aws"
REPO = Path(__file__).resolve().parent.parent
# Present in API Gateway's events only when configured (mTLS, a JWT authorizer, stage variables).
OPTIONAL_V2 = {"authentication", "authorizer", "stageVariables"}


def call(url: str, data: bytes | None = None, headers: dict | None = None, method: str | None = None):
    request = urllib.request.Request(url, data=data, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as err:
        return err.code, err.headers, err.read()


# Maps whose keys are the request's own data (header names, query keys), not the event's schema.
DATA_MAPS = {
    "headers",
    "multiValueHeaders",
    "queryStringParameters",
    "multiValueQueryStringParameters",
    "pathParameters",
    "stageVariables",
}


def shape(value, optional: set[str] = frozenset()):
    """Keys and types, recursively; None matches anything (a field API Gateway leaves null)."""
    if isinstance(value, dict):
        return {
            k: (
                {"*": shape(next(iter(v.values()), None))}
                if k in DATA_MAPS and isinstance(v, dict)
                else shape(v, optional)
            )
            for k, v in value.items()
            if k not in optional
        }
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    return None if value is None else type(value).__name__


def same_shape(ours, theirs) -> list[str]:
    problems = []
    if isinstance(theirs, dict) and isinstance(ours, dict):
        for key in theirs.keys() | ours.keys():
            if key not in ours:
                problems.append(f"missing {key}")
            elif key not in theirs:
                problems.append(f"extra {key}")
            else:
                problems += [f"{key}.{p}" for p in same_shape(ours[key], theirs[key])]
    elif None not in (ours, theirs) and ours != theirs:
        problems.append(f"{ours} != {theirs}")
    return problems


@pytest.fixture
def echo(emulator, deploy):
    spec, (variant,) = deploy("apigw_echo")
    return lambda kind: f"{emulator.url}/apigw/{kind}/{spec.name}/{variant.name}"


def test_http_api_events_have_payload_2_0s_fields_and_types(echo):
    status, headers, body = call(
        f"{echo('http')}/my/path?parameter1=value1&parameter1=value2&parameter2=value",
        data=b'{"message": "hello world", "username": "tom"}',
        headers={"Content-Type": "application/json", "Cookie": "cookie1; cookie2"},
    )
    assert status == 200
    event = json.loads(body)["event"]
    fixture = json.loads((FIXTURES / "apigw-http-v2-event.json").read_text())
    assert same_shape(shape(event, OPTIONAL_V2), shape(fixture, OPTIONAL_V2)) == []
    assert event["rawPath"] == "/mem-128/my/path" and event["requestContext"]["stage"] == "mem-128"
    assert event["queryStringParameters"] == {"parameter1": "value1,value2", "parameter2": "value"}
    assert event["cookies"] == ["cookie1", "cookie2"]
    assert event["body"] == '{"message": "hello world", "username": "tom"}' and not event["isBase64Encoded"]


def test_rest_api_events_have_payload_1_0s_fields_and_types(echo):
    status, _, body = call(
        f"{echo('rest')}/my/path?parameter1=value1&parameter1=value2&parameter2=value",
        headers={"Header1": "value1", "Origin": "https://aws.amazon.com"},
    )
    assert status == 200
    event = json.loads(body)["event"]
    fixture = json.loads((FIXTURES / "apigw-rest-v1-event.json").read_text())
    assert same_shape(shape(event), shape(fixture)) == []
    assert event["path"] == "/my/path" and event["requestContext"]["path"] == "/mem-128/my/path"
    assert event["multiValueQueryStringParameters"] == {"parameter1": ["value1", "value2"], "parameter2": ["value"]}
    assert event["queryStringParameters"] == {"parameter1": "value2", "parameter2": "value"}
    assert event["body"] is None and event["httpMethod"] == "GET"


def test_binary_request_bodies_arrive_base64_encoded(echo):
    _, _, body = call(
        echo("http") + "/upload", data=bytes(range(256)), headers={"Content-Type": "application/octet-stream"}
    )
    event = json.loads(body)["event"]
    assert event["isBase64Encoded"] is True
    import base64

    assert base64.b64decode(event["body"]) == bytes(range(256))


def test_powertools_resolvers_accept_the_events_unchanged(emulator, deploy):
    spec, (variant,) = deploy(
        "api",
        name="powertools-api",
        handler="app.lambda_handler",
        environment={"POWERTOOLS_METRICS_NAMESPACE": "lambench"},
        source=REPO / "targets" / "api",
    )
    for kind in ("http", "rest"):
        base = f"{emulator.url}/apigw/{kind}/{spec.name}/{variant.name}"
        status, _, body = call(f"{base}/echo?x=1", data=b'{"k": [1, 2]}', headers={"Content-Type": "application/json"})
        assert (status, json.loads(body)) == (
            200,
            {"method": "POST", "path": "/echo", "query": {"x": "1"}, "body": {"k": [1, 2]}},
        ), kind
        status, _, body = call(f"{base}/cpu?n=1000")
        assert status == 200 and json.loads(body)["n"] == 1000
        status, _, body = call(f"{base}/missing")
        assert status == 404, "Powertools' own 404 passes through"
        status, _, body = call(f"{base}/boom")
        assert (status, json.loads(body)) == (
            (500, {"message": "Internal Server Error"})
            if kind == "http"
            else (502, {"message": "Internal server error"})
        )


@pytest.mark.parametrize(
    "kind, mode, expected",
    [
        ("rest", "malformed", (502, {"message": "Internal server error"})),
        ("rest", "bad_status", (502, {"message": "Internal server error"})),
        ("rest", "plain", (502, {"message": "Internal server error"})),
        ("rest", "raise", (502, {"message": "Internal server error"})),
        ("http", "bad_status", (500, {"message": "Internal Server Error"})),
        ("http", "raise", (500, {"message": "Internal Server Error"})),
        ("http", "plain", (200, {"hello": "world"})),
    ],
)
def test_responses_are_mapped_as_api_gateway_maps_them(echo, kind, mode, expected):
    status, headers, body = call(f"{echo(kind)}/x?mode={mode}")
    assert (status, json.loads(body)) == expected
    if mode == "plain":
        assert headers["Content-Type"] == "application/json"


def test_proxy_responses_keep_status_headers_and_binary_bodies(echo):
    for kind in ("http", "rest"):
        status, headers, body = call(f"{echo(kind)}/x?mode=binary")
        assert (status, body) == (200, bytes(range(256)))
        assert headers["Content-Type"] == "application/octet-stream"
        _, headers, _ = call(f"{echo(kind)}/x")
        assert headers.get_all("X-Multi") == ["a", "b"]


def test_clients_get_the_gateways_request_id_and_the_access_log_joins_it_to_lambdas(emulator, echo):
    logs = awsclient.client("logs", emulator.url, "us-east-1")
    for kind, header in (("http", "apigw-requestid"), ("rest", "x-amzn-RequestId")):
        status, headers, body = call(f"{echo(kind)}/x")
        gateway_id, lambda_id = headers[header], json.loads(body)["request_id"]
        assert gateway_id and gateway_id != lambda_id
        function = echo(kind).split("/")[-2]
        events = logs.filter_log_events(logGroupName=f"/aws/apigateway/{function}", filterPattern=f'"{gateway_id}"')[
            "events"
        ]
        entry = json.loads(events[0]["message"])
        assert (entry["requestId"], entry["integrationRequestId"], entry["status"]) == (gateway_id, lambda_id, 200)


def test_unknown_apis_and_stages_get_api_gateways_own_answers(emulator, echo):
    # REST: 403 "Missing Authentication Token", named by x-amzn-ErrorType; HTTP API: 404 "Not Found",
    # with no such header. A URL with no stage at all is the same "no such stage".
    expected = {
        "http": (404, {"message": "Not Found"}, None),
        "rest": (403, {"message": "Missing Authentication Token"}, "MissingAuthenticationTokenException"),
    }
    for kind, (status, body, error_type) in expected.items():
        api = echo(kind).rsplit("/", 1)[0]
        for url in (
            f"{emulator.url}/apigw/{kind}/no-such-function/mem-128/x",
            f"{api}/no-such-stage/x",
            f"{api}/",
            api,
        ):
            got_status, headers, got_body = call(url)
            got = (got_status, json.loads(got_body), headers.get("x-amzn-ErrorType"))
            assert got == (status, body, error_type), url
            assert headers[{"http": "apigw-requestid", "rest": "x-amzn-RequestId"}[kind]], "the gateway's request id"


@pytest.mark.parametrize(
    "kind, mode, expected",
    [
        ("rest", "raise", "InternalServerErrorException"),
        ("rest", "malformed", "InternalServerErrorException"),
        ("rest", "echo", None),
        ("http", "raise", None),
        ("http", "echo", None),
    ],
)
def test_only_a_rest_apis_own_answers_carry_x_amzn_errortype(echo, kind, mode, expected):
    # What tells a REST client that the gateway answered, not the function (bench/load/apigw_user.py).
    _, headers, _ = call(f"{echo(kind)}/x?mode={mode}")
    assert headers.get("x-amzn-ErrorType") == expected


def test_past_the_integration_timeout_the_gateway_answers_504(own_emulator):
    emulator, _, deploy = own_emulator("--apigw-timeout", "1")
    spec, (variant,) = deploy("apigw_echo")
    for kind, message, error_type in (
        ("rest", "Endpoint request timed out", "InternalServerErrorException"),
        ("http", "Service Unavailable", None),
    ):
        status, headers, body = call(f"{emulator.url}/apigw/{kind}/{spec.name}/{variant.name}/x?mode=sleep&s=3")
        assert (status, json.loads(body), headers.get("x-amzn-ErrorType")) == (504, {"message": message}, error_type)
