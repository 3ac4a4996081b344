"""The emulator's front door (bench/emulator/front.py): Invoke on its own fast path, everything else,
and every later request on the same connection, by the aiohttp app.

The aiohttp app is the reference here: an Invoke answered on the fast path must carry the same
status, Lambda headers and body shape as the same Invoke answered by aiohttp once the connection
has been handed over (aiohttp names itself in a Server header; the fast path sends none, which
tells the two apart). Raw sockets show the wire: pipelined requests answered in order, a chunked
body, a malformed request.
"""

from __future__ import annotations

import http.client
import json
import socket

import pytest
from conftest import invoke

LAMBDA_HEADERS = {"x-amz-executed-version", "x-amzn-requestid", "x-lambench-initialization-type", "x-amz-log-result"}


@pytest.fixture
def hello(deploy, lambda_client):
    spec, (variant,) = deploy("hello")
    invoke(lambda_client, spec.name, Qualifier=variant.name)  # the cold start, out of the way
    return spec.name, variant.name


def _address(url: str) -> tuple[str, int]:
    host, port = url.removeprefix("http://").rsplit(":", 1)
    return host, int(port)


def _invoke(connection: http.client.HTTPConnection, name: str, qualifier: str, event: dict, tail: bool = False):
    headers = {"Content-Type": "application/json", "X-Amz-Invocation-Type": "RequestResponse"}
    if tail:
        headers["X-Amz-Log-Type"] = "Tail"
    path = f"/2015-03-31/functions/{name}/invocations?Qualifier={qualifier}"
    connection.request("POST", path, json.dumps(event), headers)
    response = connection.getresponse()
    return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()


def _shape(status: int, headers: dict, body: bytes) -> tuple:
    return status, sorted(LAMBDA_HEADERS & headers.keys()), headers.get("x-amzn-errortype"), sorted(json.loads(body))


def test_an_invoke_is_answered_alike_on_the_fast_path_and_by_aiohttp(emulator, hello):
    name, qualifier = hello
    connection = http.client.HTTPConnection(*_address(emulator.url), timeout=30)
    fast = _invoke(connection, name, qualifier, {"n": 1}, tail=True)
    missing_fast = _invoke(connection, "no-such-function", qualifier, {})
    assert "server" not in fast[1]
    # Any other request hands the connection to aiohttp for good; the next invoke is aiohttp's.
    connection.request("GET", f"/2015-03-31/functions/{name}")
    control = connection.getresponse()
    assert control.status == 200 and json.loads(control.read())["Configuration"]["FunctionName"] == name
    by_aiohttp = _invoke(connection, name, qualifier, {"n": 2}, tail=True)
    missing_by_aiohttp = _invoke(connection, "no-such-function", qualifier, {})
    assert "aiohttp" in by_aiohttp[1]["server"]
    assert _shape(*fast) == _shape(*by_aiohttp)
    assert fast[1]["x-lambench-initialization-type"] == "on-demand"
    assert json.loads(fast[2])["echo"] == {"n": 1} and json.loads(by_aiohttp[2])["echo"] == {"n": 2}
    assert missing_fast[0] == missing_by_aiohttp[0] == 404
    assert missing_fast[2] == missing_by_aiohttp[2]
    assert _shape(*missing_fast) == _shape(*missing_by_aiohttp)
    assert missing_fast[1]["x-amzn-errortype"] == "ResourceNotFoundException"


def _request(name: str, qualifier: str, event: dict) -> bytes:
    body = json.dumps(event).encode()
    return (
        f"POST /2015-03-31/functions/{name}/invocations?Qualifier={qualifier} HTTP/1.1\r\n"
        f"Host: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body


def _read_responses(stream, count: int) -> list[tuple[int, dict, bytes]]:
    responses = []
    for _ in range(count):
        status = int(stream.readline().split()[1])
        headers = {}
        while (line := stream.readline()) not in (b"\r\n", b""):
            key, _, value = line.decode().partition(":")
            headers[key.strip().lower()] = value.strip()
        responses.append((status, headers, stream.read(int(headers.get("content-length", 0)))))
    return responses


def test_pipelined_requests_are_answered_in_order_across_the_hand_over(emulator, hello):
    name, qualifier = hello
    with socket.create_connection(_address(emulator.url), timeout=30) as sock:
        stream = sock.makefile("rb")
        control = f"GET /2015-03-31/functions/{name} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode()
        sock.sendall(_request(name, qualifier, {"n": 1}) + _request(name, qualifier, {"n": 2}) + control)
        sock.sendall(_request(name, qualifier, {"n": 3}))
        first, second, function, third = _read_responses(stream, 4)
    assert [json.loads(r[2])["echo"] for r in (first, second, third)] == [{"n": 1}, {"n": 2}, {"n": 3}]
    assert "server" not in first[1] and "server" not in second[1]
    assert json.loads(function[2])["Configuration"]["FunctionName"] == name
    assert "aiohttp" in third[1]["server"]


def test_a_chunked_invoke_is_served_by_aiohttp(emulator, hello):
    name, qualifier = hello
    body = json.dumps({"chunked": True}).encode()
    head = f"POST /2015-03-31/functions/{name}/invocations?Qualifier={qualifier} HTTP/1.1\r\nHost: x\r\n"
    chunks = b"%x\r\n%s\r\n%x\r\n%s\r\n0\r\n\r\n" % (4, body[:4], len(body) - 4, body[4:])
    with socket.create_connection(_address(emulator.url), timeout=30) as sock:
        sock.sendall(head.encode() + b"Transfer-Encoding: chunked\r\n\r\n" + chunks)
        ((status, headers, answer),) = _read_responses(sock.makefile("rb"), 1)
    assert status == 200 and json.loads(answer)["echo"] == {"chunked": True}
    assert "aiohttp" in headers["server"]


def test_a_malformed_request_gets_400(emulator):
    with socket.create_connection(_address(emulator.url), timeout=30) as sock:
        sock.sendall(b"POST /2015-03-31/functions/x/invocations HTTP/1.1\r\nBad Header Line\r\n\r\n")
        assert sock.makefile("rb").readline().split()[1] == b"400"


def test_the_fast_path_reads_its_headers_in_any_case_and_the_first_of_a_repeat(emulator, hello):
    """It keeps only the headers it needs, by lower-cased name: as aiohttp's case-blind get gives them."""
    name, qualifier = hello
    path = f"/2015-03-31/functions/{name}/invocations?Qualifier={qualifier}"
    connection = http.client.HTTPConnection(*_address(emulator.url), timeout=30)
    answers = []
    for headers in (
        [("x-amz-log-type", "Tail"), ("X-AMZ-INVOCATION-TYPE", "RequestResponse")],
        [("X-Amz-Invocation-Type", "DryRun"), ("x-amz-invocation-type", "RequestResponse")],
    ):
        connection.putrequest("POST", path, skip_accept_encoding=True)
        for key, value in [*headers, ("Content-Length", "2")]:
            connection.putheader(key, value)
        connection.endheaders(b"{}")
        response = connection.getresponse()
        answers.append((response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()))
    (tail_status, tail_headers, _), (dry_status, dry_headers, dry_body) = answers
    assert tail_status == 200 and "x-amz-log-result" in tail_headers and "server" not in tail_headers
    assert (dry_status, dry_body) == (204, b"") and "server" not in dry_headers


def test_a_payload_is_checked_again_after_the_same_payload_passed(emulator, hello):
    """Repeats of the last valid payload skip the parse; anything else is parsed, and refused if not JSON."""
    name, qualifier = hello
    with socket.create_connection(_address(emulator.url), timeout=30) as sock:
        stream = sock.makefile("rb")
        valid, broken = json.dumps({"n": 1}).encode(), b'{"n": 1'
        for body in (valid, valid, broken, valid):
            sock.sendall(
                f"POST /2015-03-31/functions/{name}/invocations?Qualifier={qualifier} HTTP/1.1\r\n"
                f"Host: 127.0.0.1\r\nContent-Length: {len(body)}\r\n\r\n".encode()
                + body
            )
        answers = _read_responses(stream, 4)
    assert [status for status, _, _ in answers] == [200, 200, 400, 200]
    assert answers[2][1]["x-amzn-errortype"] == "InvalidRequestContentException"
    assert json.loads(answers[3][2])["echo"] == {"n": 1}
