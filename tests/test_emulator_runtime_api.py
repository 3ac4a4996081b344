"""The Runtime API's HTTP, from the side of a runtime: a custom runtime (tests/functions/raw_runtime)
speaks it over raw sockets inside a real environment, and reports what the emulator answered.

awslambdaric's own client (curl) sends Content-Length bodies on one kept-alive connection; other
runtimes may send chunked bodies, pipeline, or wait for "100 Continue", and a stranger on the host
may send anything. Each of those is answered here as an HTTP/1.1 server must, and refused requests
touch no invocation.
"""

from __future__ import annotations

import json

import pytest
from conftest import invoke

from bench.awsfacts import RESPONSE_LIMIT_BYTES


@pytest.fixture
def raw_runtime(deploy):
    spec, (variant,) = deploy("raw_runtime", runtime="provided.al2023", handler="unused")
    return spec.name, variant.name


def _answer(lambda_client, name: str, qualifier: str, event: dict) -> dict:
    response, body = invoke(lambda_client, name, event, Qualifier=qualifier)
    assert "FunctionError" not in response, body
    return json.loads(body)


def test_every_event_and_answer_go_over_one_kept_alive_connection(lambda_client, raw_runtime):
    answers = [_answer(lambda_client, *raw_runtime, {"n": n}) for n in range(3)]
    assert [a["event"] for a in answers] == [{"n": 0}, {"n": 1}, {"n": 2}]
    assert len({a["port"] for a in answers}) == 1  # the runtime's one connection was never closed
    assert answers[1]["previous"] == {"status": 202, "body": {"status": "OK"}}


def test_a_chunked_answer_reaches_the_caller_whole(lambda_client, raw_runtime):
    first = _answer(lambda_client, *raw_runtime, {"chunked": True, "text": "é" * 100})
    assert first["event"] == {"chunked": True, "text": "é" * 100}
    second = _answer(lambda_client, *raw_runtime, {})
    assert second["previous"]["status"] == 202 and second["port"] == first["port"]


def test_requests_without_the_token_or_out_of_protocol_are_refused(lambda_client, raw_runtime):
    answer = _answer(lambda_client, *raw_runtime, {"probe": True})
    assert answer["probes"] == {
        "no_token": 404,
        "made_up_token": 403,
        "wrong_method": 405,
        "malformed": 400,
        "closed_after_malformed": True,
        # Answers for request ids the environment is not running change nothing, as before.
        "pipelined": [202, 202],
        "continue": 100,
        "after_continue": 202,
    }
    # None of it took or answered the runtime's own next event.
    assert _answer(lambda_client, *raw_runtime, {"after": "probe"})["event"] == {"after": "probe"}


def test_an_answer_over_the_limit_gets_413_and_the_caller_response_size_too_large(lambda_client, raw_runtime):
    name, qualifier = raw_runtime
    response, body = invoke(lambda_client, name, {"oversize": True}, Qualifier=qualifier)
    assert response["FunctionError"] == "Unhandled"
    assert json.loads(body) == {
        "errorMessage": f"Response payload size exceeded maximum allowed payload size ({RESPONSE_LIMIT_BYTES} bytes).",
        "errorType": "Function.ResponseSizeTooLarge",
    }
    after = _answer(lambda_client, name, qualifier, {})
    assert after["previous"]["status"] == 413
    assert after["previous"]["body"]["errorType"] == "RequestEntityTooLarge"
