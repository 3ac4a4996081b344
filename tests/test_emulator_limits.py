"""Lambda's limits, enforced by the real emulator process and attacked through boto3 (issue 13, item 4).

Code size and zip bombs, uploads that fail half-way, names and environment variables Lambda
refuses, bodies that are not JSON or too large, responses over 6 MB, and a function that prints
megabytes: each is refused, or handled, as Lambda does, and leaves the emulator as it was.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import struct
import tempfile
import time
import urllib.error
import urllib.request
import uuid
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from botocore.exceptions import ClientError
from conftest import FUNCTIONS, invoke

from bench import awsclient

APP = (FUNCTIONS / "limits" / "app.py").read_bytes()
ROLE = "arn:aws:iam::123456789012:role/lambench-test"
MB = 1024 * 1024
UNZIPPED_LIMIT = 262_144_000
RESPONSE_LIMIT = 6_291_556
EVENT_LIMIT = 262_144  # one CloudWatch event: message bytes plus 26


def _zip(files: dict[str, bytes | int]) -> bytes:
    """A zip of these files (an int is that many zero bytes), unique to this call (a nonce file)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("nonce.txt", uuid.uuid4().hex)
        for name, content in files.items():
            if isinstance(content, bytes):
                archive.writestr(name, content)
                continue
            with archive.open(name, "w") as sink:
                for _ in range(content // MB):
                    sink.write(bytes(MB))
    return buffer.getvalue()


def _unpacked(package: bytes) -> list[str]:
    """What any emulator on this host holds on disk for this zip: its folder or a partial one."""
    key = hashlib.sha256(package).hexdigest()[:16]
    found = []
    for state in Path(tempfile.gettempdir()).glob("lambench-emulator-*"):
        code = state / "code"
        if code.is_dir():
            found += [str(code / name) for name in os.listdir(code) if key in name]
    return found


def _create(client, name: str, package: bytes, **extra):
    return client.create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=ROLE,
        Handler="app.handler",
        Code={"ZipFile": package},
        **extra,
    )


def _error(raised: pytest.ExceptionInfo) -> tuple[str, str, int]:
    response = raised.value.response
    return response["Error"]["Code"], response["Error"]["Message"], response["ResponseMetadata"]["HTTPStatusCode"]


def _post(url: str, body: bytes, method: str = "POST") -> tuple[int, dict, dict]:
    """A raw request, for bodies boto3 would never send: status, headers and the parsed JSON body."""
    request = urllib.request.Request(url, data=body, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, dict(response.headers), json.load(response)
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), json.load(err)


# ---- code size and bad uploads --------------------------------------------------------------


def test_code_over_250_mb_unzipped_is_refused_before_a_byte_is_written(lambda_client):
    # 300 MB of zeros: a 300 KB zip, the shape of the 1 GB bomb in issue 13.
    bomb = _zip({"app.py": APP, **{f"zeros/{i}": 100 * MB for i in range(3)}})
    assert len(bomb) < MB
    with pytest.raises(lambda_client.exceptions.InvalidParameterValueException) as raised:
        _create(lambda_client, f"bomb-{uuid.uuid4().hex[:8]}", bomb)
    assert _error(raised)[1] == f"Unzipped size must be smaller than {UNZIPPED_LIMIT} bytes"
    assert _unpacked(bomb) == []


def _lying(declared: int, actual: int) -> bytes:
    """A zip whose one big entry declares ``declared`` bytes unzipped and holds ``actual``."""
    package = bytearray(_zip({"app.py": APP, "big": actual}))
    # The unzipped size is at offset 22 of the entry's local header and 24 of its directory record.
    for signature, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        start = 0
        while (start := package.find(signature, start)) >= 0:
            if struct.unpack_from("<I", package, start + offset)[0] == actual:
                struct.pack_into("<I", package, start + offset, declared)
            start += 4
    return bytes(package)


def test_an_entry_that_lies_about_its_size_is_refused_every_time_and_leaves_nothing(lambda_client):
    liar = _lying(declared=1024, actual=50 * MB)
    assert sum(i.file_size for i in zipfile.ZipFile(io.BytesIO(liar)).infolist()) < MB
    name = f"liar-{uuid.uuid4().hex[:8]}"
    for _ in range(2):
        with pytest.raises(lambda_client.exceptions.InvalidParameterValueException, match="Could not unzip"):
            _create(lambda_client, name, liar)
        assert _unpacked(liar) == []
    assert name not in {f["FunctionName"] for f in lambda_client.list_functions()["Functions"]}


def _corrupt_second_entry() -> bytes:
    """app.py intact, then an entry whose compressed data is garbage: extraction fails half-way."""
    package = bytearray(_zip({"app.py": APP, "data.bin": os.urandom(256 * 1024)}))
    header = package.find(b"PK\x03\x04", package.find(b"data.bin") - 40)
    name_length, extra_length = struct.unpack_from("<HH", package, header + 26)
    data = header + 30 + name_length + extra_length
    package[data + 1000 : data + 2000] = bytes(1000)
    return bytes(package)


def test_an_upload_that_fails_half_way_leaves_nothing_and_fails_again(lambda_client, deploy):
    broken = _corrupt_second_entry()
    name = f"broken-{uuid.uuid4().hex[:8]}"
    for _ in range(2):  # issue 13: refused once, then accepted from the partial extraction
        with pytest.raises(lambda_client.exceptions.InvalidParameterValueException, match="Could not unzip"):
            _create(lambda_client, name, broken)
        assert _unpacked(broken) == []
    # UpdateFunctionCode refuses it too, and the function keeps its working code.
    spec, (variant,) = deploy("limits")
    with pytest.raises(lambda_client.exceptions.InvalidParameterValueException, match="Could not unzip"):
        lambda_client.update_function_code(FunctionName=spec.name, ZipFile=broken)
    assert _unpacked(broken) == []
    response, body = invoke(lambda_client, spec.name, Qualifier=variant.name)
    assert "FunctionError" not in response and json.loads(body) == {"ok": True}


def _partial_folder(package: bytes, creating) -> Path | None:
    """The folder the emulator is unzipping this package into, once it appears (None: it finished first)."""
    while not creating.done():
        partial = [path for path in _unpacked(package) if ".partial-" in path]
        if partial:
            return Path(partial[0])
        time.sleep(0.002)
    return None


def test_a_big_extraction_does_not_hold_up_other_functions(own_emulator):
    _, client, deploy = own_emulator()
    spec, (variant,) = deploy("limits")
    invoke(client, spec.name, Qualifier=variant.name)
    served_while_unzipping = False
    for attempt in range(5):
        # 240 MB of zeros: under the limit, and seconds of writing for the emulator.
        package = _zip({"app.py": APP, **{f"zeros/{i}": 40 * MB for i in range(6)}})
        with ThreadPoolExecutor(1) as background:
            creating = background.submit(_create, client, f"big-{attempt}", package)
            partial = _partial_folder(package, creating)
            if partial is not None:
                response, body = invoke(client, spec.name, Qualifier=variant.name)
                assert json.loads(body) == {"ok": True}
                # The invoke came back while the unzip was still under way: the loop was not blocked.
                served_while_unzipping = partial.exists()
            creating.result()
        if served_while_unzipping:
            break
    assert served_while_unzipping, "no invoke was answered while a package was being unzipped"
    response, body = invoke(client, f"big-{attempt}")
    assert json.loads(body) == {"ok": True}


# ---- names and environment variables ----------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "code", "message"),
    [
        ("has space", "ValidationException", "Member must satisfy regular expression pattern"),
        ("dots.in.name", "ValidationException", "Member must satisfy regular expression pattern"),
        ("x" * 65, "InvalidParameterValueException", "Member must have length less than or equal to 64"),
        ("[bold]rich[/bold]", "ValidationException", "Member must satisfy regular expression pattern"),
        ("n" * 141, "ValidationException", "Member must have length less than or equal to 140"),
    ],
)
def test_function_names_lambda_refuses_are_refused(lambda_client, name, code, message):
    with pytest.raises(ClientError) as raised:
        _create(lambda_client, name, _zip({"app.py": APP}))
    error_code, error_message, status = _error(raised)
    assert (error_code, status) == (code, 400) and message in error_message
    assert name not in {f["FunctionName"] for f in lambda_client.list_functions()["Functions"]}


def test_an_arn_names_the_function_it_creates(lambda_client):
    name = f"by-arn-{uuid.uuid4().hex[:8]}"
    created = _create(lambda_client, f"arn:aws:lambda:us-east-1:123456789012:function:{name}", _zip({"app.py": APP}))
    try:
        assert created["FunctionName"] == name
        assert json.loads(invoke(lambda_client, name)[1]) == {"ok": True}
    finally:
        lambda_client.delete_function(FunctionName=name)


FOUR_KB_EXACTLY = {"BIG": "v" * (4096 - len('{"BIG":""}'))}


@pytest.mark.parametrize(
    ("variables", "code", "message"),
    [
        ({"1BAD": "x"}, "ValidationException", "Map keys must satisfy constraint"),
        ({"A": "x"}, "ValidationException", "[a-zA-Z]([a-zA-Z0-9_])+"),
        ({"A-B": "x"}, "ValidationException", "Map keys must satisfy constraint"),
        (
            {"AWS_REGION": "eu-west-1", "TZ": "CET"},
            "InvalidParameterValueException",
            "Reserved keys used in this request: AWS_REGION, TZ",
        ),
        ({"BIG": "v" * 4090, "MORE": "x"}, "InvalidParameterValueException", "exceeded the 4KB limit"),
        ({"ÉTÉ": "x"}, "ValidationException", "Map keys must satisfy constraint"),
        ({"HAS_NUL": "a\0b"}, "InvalidParameterValueException", "NUL"),
    ],
)
def test_environment_variables_lambda_refuses_are_refused_at_create_and_update(
    lambda_client, deploy, variables, code, message
):
    name = f"env-{uuid.uuid4().hex[:8]}"
    with pytest.raises(ClientError) as raised:
        _create(lambda_client, name, _zip({"app.py": APP}), Environment={"Variables": variables})
    error_code, error_message, status = _error(raised)
    assert (error_code, status) == (code, 400) and message in error_message
    # An update with them is refused too, and leaves the function as it was, still invokable.
    spec, _ = deploy("limits", environment={"KEPT": "yes"})
    with pytest.raises(ClientError) as raised:
        lambda_client.update_function_configuration(FunctionName=spec.name, Environment={"Variables": variables})
    assert _error(raised)[0] == code
    response, body = invoke(lambda_client, spec.name, {"env": "KEPT"})
    assert "FunctionError" not in response and json.loads(body) == {"value": "yes"}


def test_four_kb_of_variables_is_allowed_and_reaches_the_function(lambda_client, deploy):
    assert len(json.dumps(FOUR_KB_EXACTLY, separators=(",", ":"))) == 4096
    spec, (variant,) = deploy("limits", environment=FOUR_KB_EXACTLY)
    response, body = invoke(lambda_client, spec.name, {"env": "BIG"}, Qualifier=variant.name)
    assert json.loads(body) == {"value": FOUR_KB_EXACTLY["BIG"]}


def test_a_handler_with_a_nul_or_a_space_is_refused(lambda_client):
    for handler, code in (("app.handler\0", "InvalidParameterValueException"), ("app handler", "ValidationException")):
        with pytest.raises(ClientError) as raised:
            lambda_client.create_function(
                FunctionName=f"handler-{uuid.uuid4().hex[:8]}",
                Runtime="python3.12",
                Role=ROLE,
                Handler=handler,
                Code={"ZipFile": _zip({"app.py": APP})},
            )
        assert _error(raised)[0] == code


# ---- request bodies ---------------------------------------------------------------------------


@pytest.mark.parametrize("payload", [b"not json", b'{"a": 1', b"\xff\xfe{}", b"NaN", b'{"a": Infinity}'])
def test_a_payload_that_is_not_json_is_invalid_request_content(lambda_client, deploy, payload):
    spec, (variant,) = deploy("limits")
    with pytest.raises(lambda_client.exceptions.InvalidRequestContentException) as raised:
        lambda_client.invoke(FunctionName=spec.name, Qualifier=variant.name, Payload=payload)
    assert _error(raised)[2] == 400
    assert "Could not parse request body into json" in _error(raised)[1]
    # Async invokes are checked the same way, before they are queued.
    with pytest.raises(lambda_client.exceptions.InvalidRequestContentException):
        lambda_client.invoke(FunctionName=spec.name, Qualifier=variant.name, Payload=payload, InvocationType="Event")
    # An empty payload is fine: the handler gets {}.
    assert json.loads(lambda_client.invoke(FunctionName=spec.name, Payload=b"")["Payload"].read()) == {"ok": True}


@pytest.mark.parametrize("size_mb", [8, 40])
def test_a_body_past_aiohttps_own_limit_gets_the_typed_413(lambda_client, deploy, size_mb):
    spec, (variant,) = deploy("limits")
    payload = json.dumps({"x": "a" * (size_mb * MB)})
    with pytest.raises(ClientError) as raised:
        lambda_client.invoke(FunctionName=spec.name, Qualifier=variant.name, Payload=payload)
    code, message, status = _error(raised)
    assert (code, status) == ("RequestEntityTooLargeException", 413)
    assert message == "Request must be smaller than 6291456 bytes for the InvokeFunction operation"
    with pytest.raises(ClientError) as raised:
        lambda_client.invoke(FunctionName=spec.name, Qualifier=variant.name, Payload=payload, InvocationType="Event")
    code, message, status = _error(raised)
    assert (code, status) == ("RequestEntityTooLargeException", 413)
    assert message == f"{len(payload)} byte payload is too large for the Event invocation type (limit 1048576 bytes)"
    # The connection was drained, not reset: the next call on the same client works.
    assert json.loads(invoke(lambda_client, spec.name, Qualifier=variant.name)[1]) == {"ok": True}


def test_control_plane_bodies_past_their_limits_get_the_typed_413(lambda_client, emulator, deploy):
    spec, _ = deploy("limits")
    # UpdateFunctionConfiguration takes at most 5120 bytes, checked before the 4 KB of variables.
    with pytest.raises(ClientError) as raised:
        lambda_client.update_function_configuration(
            FunctionName=spec.name, Environment={"Variables": {"X": "v" * 6000}}
        )
    assert _error(raised)[:1] + _error(raised)[2:] == ("RequestEntityTooLargeException", 413)
    assert "5120 bytes for the UpdateFunctionConfiguration operation" in _error(raised)[1]
    # A handler that reads the whole body at once meets aiohttp's own limit: still AWS's 413.
    url = f"{emulator.url}/2017-10-31/functions/{spec.name}/concurrency"
    status, headers, body = _post(url, json.dumps({"pad": "p" * (8 * MB)}).encode(), method="PUT")
    assert (status, headers["x-amzn-ErrorType"]) == (413, "RequestEntityTooLargeException")
    assert body["message"].startswith("Request must be smaller than")


@pytest.mark.parametrize(
    ("code", "error_type"),
    [
        ({"ZipFile": "this is not base64!"}, "InvalidRequestContentException"),
        ({"ZipFile": "QUJ"}, "InvalidRequestContentException"),  # padding missing
        ({"ZipFile": 12345}, "InvalidRequestContentException"),
        ("a string, not an object", "InvalidRequestContentException"),
        ({"S3Bucket": "b", "S3Key": "k"}, "InvalidParameterValueException"),
        ({"ZipFile": "bm90IGEgemlw"}, "InvalidParameterValueException"),  # base64 of "not a zip"
    ],
)
def test_a_malformed_code_field_is_a_typed_400(emulator, code, error_type):
    body = {"FunctionName": f"malformed-{uuid.uuid4().hex[:8]}", "Runtime": "python3.12", "Role": ROLE}
    status, headers, answer = _post(f"{emulator.url}/2015-03-31/functions", json.dumps({**body, "Code": code}).encode())
    assert (status, headers["x-amzn-ErrorType"]) == (400, error_type)
    assert answer["message"]


def test_a_create_function_body_that_is_not_json_is_a_typed_400(emulator):
    status, headers, answer = _post(f"{emulator.url}/2015-03-31/functions", b"{not json")
    assert (status, headers["x-amzn-ErrorType"]) == (400, "InvalidRequestContentException")


# ---- response size ------------------------------------------------------------------------------


def test_a_response_over_6_mb_is_response_size_too_large(lambda_client, deploy):
    spec, (variant,) = deploy("limits", (512,))
    # The handler's string is JSON-encoded with its two quotes: this one is exactly the limit.
    response, body = invoke(lambda_client, spec.name, {"return_bytes": RESPONSE_LIMIT - 2}, Qualifier=variant.name)
    assert "FunctionError" not in response and len(body) == RESPONSE_LIMIT
    response, body = invoke(lambda_client, spec.name, {"return_bytes": RESPONSE_LIMIT - 1}, Qualifier=variant.name)
    assert response["StatusCode"] == 200 and response["FunctionError"] == "Unhandled"
    assert json.loads(body) == {
        "errorMessage": f"Response payload size exceeded maximum allowed payload size ({RESPONSE_LIMIT} bytes).",
        "errorType": "Function.ResponseSizeTooLarge",
    }


def test_a_response_far_over_6_mb_is_response_size_too_large(lambda_client, deploy):
    spec, (variant,) = deploy("limits", (512,))
    response, body = invoke(lambda_client, spec.name, {"return_bytes": 10 * MB}, Qualifier=variant.name)
    assert json.loads(body)["errorType"] == "Function.ResponseSizeTooLarge"


# ---- log size --------------------------------------------------------------------------------


def _stream_events(logs, group: str, stream: str) -> list[dict]:
    events, token = [], None
    while True:
        page = logs.filter_log_events(
            logGroupName=group, logStreamNames=[stream], **({"nextToken": token} if token else {})
        )
        events += page["events"]
        token = page.get("nextToken")
        if not token:
            return events


def _invocation_lines(events: list[dict], request_id: str) -> list[str]:
    messages = [e["message"] for e in events]
    start = next(i for i, m in enumerate(messages) if m.startswith(f"START RequestId: {request_id}"))
    end = messages.index(f"END RequestId: {request_id}")
    return messages[start + 1 : end]


@pytest.mark.parametrize(("text", "count"), [("x", 10 * MB), ("é", 300_000)])
def test_a_long_print_is_split_into_events_of_at_most_256_kb(emulator, lambda_client, deploy, text, count):
    spec, (variant,) = deploy("limits", (512,))
    marker = f"marker-{uuid.uuid4().hex}:"
    # "é" is two bytes in UTF-8: no cut may fall inside one.
    response, _ = invoke(lambda_client, spec.name, {"print": [text, count], "marker": marker}, Qualifier=variant.name)
    group = f"/aws/lambda/{spec.name}"
    logs = awsclient.client("logs", emulator.url, "us-east-1")
    request_id = response["ResponseMetadata"]["RequestId"]
    # The stream that served this request (a function of the same name may have logged here before).
    (start,) = logs.filter_log_events(logGroupName=group, filterPattern=f'"START RequestId: {request_id}"')["events"]
    stream = start["logStreamName"]
    pieces = _invocation_lines(_stream_events(logs, group, stream), request_id)
    assert len(pieces) >= len((marker + text * count).encode()) // EVENT_LIMIT + 1 > 1
    assert all(len(piece.encode()) + 26 <= EVENT_LIMIT for piece in pieces)
    assert "".join(pieces) == marker + text * count


def _rss_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line for line in status.splitlines() if line.startswith("VmRSS:")).split()[1]) / 1024


def test_the_log_store_is_bounded_in_bytes(own_emulator):
    emulator, client, deploy = own_emulator()
    spec, (variant,) = deploy("limits", (512,))
    group = f"/aws/lambda/{spec.name}"
    logs = awsclient.client("logs", emulator.url, "us-east-1")
    markers = [f"print-{i}-{uuid.uuid4().hex}:" for i in range(14)]
    rss = []
    for marker in markers:
        invoke(client, spec.name, {"print": ["x", 10 * MB], "marker": marker}, Qualifier=variant.name)
        rss.append(_rss_mb(emulator.process.pid))
    # 140 MB printed; the store keeps 64 MiB (logstore.LOG_BYTES_KEPT), newest first.
    (described,) = logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"]
    assert 50 * MB < described["storedBytes"] <= 64 * MB

    def found(marker: str) -> bool:
        return bool(logs.filter_log_events(logGroupName=group, filterPattern=f'"{marker}"')["events"])

    assert not found(markers[0]) and found(markers[-1])
    # Memory levels off once the store is full: the last four prints (40 MB) add next to nothing.
    # Unbounded, as before issue 13, each print added its 10 MB.
    assert rss[-1] - rss[-5] < 20, f"emulator RSS after each print (MB): {rss}"
