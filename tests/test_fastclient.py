"""The fast Lambda client against boto3: the same request on the wire, the same record from every answer.

bench.load imports Locust, which monkey-patches with gevent, so both clients run in a process of
their own (tests/fastclient_driver.py, or the real ``locust`` command). What they talk to runs
here: the real emulator, or a small HTTP server on 127.0.0.1 that keeps each raw request and gives
canned answers, so that both clients can meet byte-identical answers. botocore itself is the
judge: it re-computes each signature, and a plain boto3 client reads each canned answer.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import ssl
import subprocess
import sys
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError
from conftest import run_locust

from bench import awsclient
from bench.errors import UserError
from bench.load.settings import LoadSettings

REPO = Path(__file__).resolve().parent.parent
DRIVER = Path(__file__).resolve().parent / "fastclient_driver.py"
CLIENTS = ["fast", "boto3"]
# Timing differs by nature between two calls; request ids differ between two live invokes.
TIMING = {"client_ms", "t_start_ns"}
# What the platform measured: two live invokes each have their own, so only their presence must agree.
MEASURED = {"request_id", "init_ms", "duration_ms", "billed_ms", "max_memory_mb"}


# ---------------------------------------------------------------- helpers


def driver_env(**aws) -> dict:
    """The environment for the driver: no AWS configuration of this machine, only what a test gives."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_SHARED_CREDENTIALS_FILE="/nonexistent",
        AWS_CONFIG_FILE="/nonexistent",
        AWS_EC2_METADATA_DISABLED="true",
        **aws,
    )
    return env


def run_driver(spec: dict, **aws) -> dict:
    result = subprocess.run(
        [sys.executable, str(DRIVER), json.dumps(spec)],
        capture_output=True,
        text=True,
        timeout=180,
        env=driver_env(**aws),
        cwd=REPO,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout)


def comparable(record: dict, live: bool) -> dict:
    """A record without its timing; for live invokes, the measured figures reduced to present/absent."""
    out = {k: v for k, v in record.items() if k not in TIMING}
    if live:
        out.update({k: record[k] is not None for k in MEASURED})
    return out


@dataclass
class Canned:
    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""


@dataclass
class Captured:
    method: str
    target: str
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        values = [v for k, v in self.headers if k.lower() == name.lower()]
        return ",".join(values) if values else None


class CaptureServer(ThreadingHTTPServer):
    """HTTP/1.1 keep-alive on 127.0.0.1: keeps every request, answers by the function named in the path."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.requests: list[Captured] = []
        self.answers: dict[str, Canned] = {}
        self.url = f"http://127.0.0.1:{self.server_port}"

    def answer_for(self, target: str) -> Canned:
        function = unquote(target.split("/functions/", 1)[-1].split("/", 1)[0])
        return self.answers.get(function, Canned(200, [("Content-Type", "application/json")], b"{}"))


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.server.requests.append(Captured(self.command, self.path, list(self.headers.items()), body))
        answer = self.server.answer_for(self.path)
        self.send_response(answer.status)
        for name, value in answer.headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(answer.body)))
        self.end_headers()
        self.wfile.write(answer.body)

    def log_message(self, *_args) -> None:
        pass


@contextmanager
def capture_server(tls: tuple[Path, Path] | None = None):
    """The capture server; with ``tls`` (certificate, key), on https."""
    server = CaptureServer()
    if tls is not None:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(*tls)
        server.socket = context.wrap_socket(server.socket, server_side=True)
        server.url = server.url.replace("http://", "https://")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 that is its own CA: (certificate, key) as PEM files."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


def expected_signature(captured: Captured, base_url: str, access_key: str, secret_key: str, token: str | None) -> str:
    """The Authorization header botocore computes for the captured request at its own X-Amz-Date."""
    signed_names = captured.header("Authorization").split("SignedHeaders=", 1)[1].split(",", 1)[0].split(";")
    headers = {name: captured.header(name) for name in signed_names}
    request = AWSRequest(method=captured.method, url=base_url + captured.target, headers=headers, data=captured.body)
    request.context["timestamp"] = captured.header("X-Amz-Date")
    auth = SigV4Auth(Credentials(access_key, secret_key, token), "lambda", "us-east-1")
    canonical = auth.canonical_request(request)
    signature = auth.signature(auth.string_to_sign(request, canonical), request)
    return (
        f"AWS4-HMAC-SHA256 Credential={auth.scope(request)}, "
        f"SignedHeaders={auth.signed_headers(auth.headers_to_sign(request))}, Signature={signature}"
    )


# ---------------------------------------------------------------- settings (no Locust needed)


def test_load_settings_default_to_the_fast_client_and_refuse_unknown_ones(tmp_path):
    base = dict(
        function_name="f",
        variants=("mem-128",),
        endpoint_url=None,
        region="us-east-1",
        payload=b"{}",
        run_id="r",
        records_path=tmp_path / "records.sqlite",
    )
    assert LoadSettings(**base).client == "fast"
    assert LoadSettings(**base, client="boto3").client == "boto3"
    with pytest.raises(UserError, match="--lambda-client 'curl': must be one of fast, boto3"):
        LoadSettings(**base, client="curl")


# ---------------------------------------------------------------- the request on the wire

REQUEST_CASES = [
    {
        "function": "hello",
        "qualifier": "mem-128",
        "payload_b64": base64.b64encode(b'{"n": 1}').decode(),
        "log_type": "Tail",
    },
    # Characters botocore percent-encodes in the path and the query (and SigV4 encodes once more).
    {
        "function": "arn:aws:lambda:us-east-1:123456789012:function:hello",
        "qualifier": "$LATEST",
        "payload_b64": base64.b64encode('{"name": "Zoë ✓"}'.encode()).decode(),
        "log_type": "Tail",
    },
    {
        "function": "hello",
        "payload_b64": "",
        "invocation_type": "Event",
        "client_context": base64.b64encode(b'{"custom": {"a": 1}}').decode(),
    },
    {
        "function": "hello",
        "qualifier": "2",
        "payload_b64": base64.b64encode(b"{}").decode(),
        "invocation_type": "DryRun",
        "log_type": "None",
    },
]
# Headers whose value must be byte-identical between the two clients (the date and signature differ by time).
SAME_VALUE_HEADERS = (
    "host",
    "content-length",
    "content-type",
    "accept-encoding",
    "x-amz-log-type",
    "x-amz-invocation-type",
    "x-amz-client-context",
    "x-amz-security-token",
)


def signed_headers(captured: Captured) -> str:
    return captured.header("Authorization").split("SignedHeaders=", 1)[1].split(",", 1)[0]


def amz_headers(captured: Captured) -> set[str]:
    return {name.lower() for name, _ in captured.headers if name.lower().startswith("x-amz-")}


@pytest.mark.parametrize(
    "credentials, scheme", [("placeholder", "http"), ("temporary", "http"), ("placeholder", "https")]
)
def test_fast_client_sends_what_boto3_sends_with_a_valid_signature(credentials, scheme, tmp_path):
    aws = {}
    keys = ("lambench", "lambench", None)
    if credentials == "temporary":
        keys = ("ASIAEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "FQoGZXIvYXdzEXAMPLE//token==")
        aws = {"AWS_ACCESS_KEY_ID": keys[0], "AWS_SECRET_ACCESS_KEY": keys[1], "AWS_SESSION_TOKEN": keys[2]}
    tls = None
    if scheme == "https":
        tls = self_signed_certificate(tmp_path)
        aws["AWS_CA_BUNDLE"] = str(tls[0])  # both clients verify the server against botocore's CA bundle setting
    with capture_server(tls) as server:
        run_driver(
            {
                "mode": "requests",
                "endpoint": server.url,
                "function": "hello",
                "clients": CLIENTS,
                "cases": REQUEST_CASES,
            },
            **aws,
        )
        requests = list(server.requests)
    assert len(requests) == 2 * len(REQUEST_CASES)
    for fast, boto in zip(requests[0::2], requests[1::2], strict=True):
        assert (fast.method, fast.target, fast.body) == (boto.method, boto.target, boto.body)
        assert amz_headers(fast) == amz_headers(boto)
        assert signed_headers(fast) == signed_headers(boto)
        for name in SAME_VALUE_HEADERS:
            assert fast.header(name) == boto.header(name), name
        for captured in (fast, boto):
            assert captured.header("Authorization") == expected_signature(captured, server.url, *keys)


def test_temporary_credentials_are_refreshed_and_each_call_signed_with_its_own():
    with capture_server() as server:
        issued = run_driver({"mode": "refreshing", "endpoint": server.url, "function": "hello", "calls": 3})["issued"]
        requests = list(server.requests)
    assert len(requests) == 3
    keys = [r.header("Authorization").split("Credential=", 1)[1].split("/", 1)[0] for r in requests]
    assert len(set(keys)) == 3 and set(keys) <= set(issued), "every call used freshly refreshed credentials"
    for captured, key in zip(requests, keys, strict=True):
        n = key.removeprefix("AKIDREFRESH")
        assert captured.header("X-Amz-Security-Token") == f"token-{n}"
        assert captured.header("Authorization") == expected_signature(
            captured, server.url, key, f"secret-{n}", f"token-{n}"
        )


# ---------------------------------------------------------------- the same answer, the same record


def log_result(*lines: str) -> str:
    return base64.b64encode(("\n".join(lines) + "\n").encode()).decode()


RID = "8f5c2e6a-1d2b-4c3d-9e8f-0a1b2c3d4e5f"
REPORT = (
    f"REPORT RequestId: {RID}\tDuration: 15.74 ms\tBilled Duration: 94 ms\tMemory Size: 128 MB\t"
    "Max Memory Used: 41 MB\tInit Duration: 77.51 ms\t"
)
JSON_REPORT = json.dumps(
    {
        "time": "2026-11-26T20:15:43.000Z",
        "type": "platform.report",
        "record": {
            "requestId": RID,
            "metrics": {"durationMs": 2.5, "billedDurationMs": 3, "memorySizeMB": 512, "maxMemoryUsedMB": 60},
        },
    }
)
JSON = ("Content-Type", "application/json")
CANNED = {
    "ok": Canned(
        200,
        [
            JSON,
            ("x-amzn-RequestId", RID),
            ("X-Amz-Executed-Version", "3"),
            ("X-Amz-Log-Result", log_result(f"START RequestId: {RID} Version: 3", f"END RequestId: {RID}", REPORT)),
            ("X-Lambench-Initialization-Type", "provisioned-concurrency"),
        ],
        b'{"ok": true}',
    ),
    "ok-json-log": Canned(
        200, [JSON, ("x-amzn-RequestId", RID), ("X-Amz-Log-Result", log_result(JSON_REPORT))], b'"done"'
    ),
    "ok-no-log": Canned(200, [JSON, ("X-Amz-Request-Id", RID)], b"null"),
    "event-accepted": Canned(202, [("x-amzn-RequestId", RID)]),
    "function-error": Canned(
        200,
        [
            JSON,
            ("x-amzn-RequestId", RID),
            ("X-Amz-Function-Error", "Unhandled"),
            ("X-Amz-Log-Result", log_result(REPORT)),
        ],
        b'{"errorMessage": "raised on request", "errorType": "ValueError"}',
    ),
    "function-error-not-json": Canned(
        200, [("x-amzn-RequestId", RID), ("X-Amz-Function-Error", "Unhandled")], b"Traceback (most recent call last)"
    ),
    "timeout": Canned(
        200,
        [JSON, ("x-amzn-RequestId", RID), ("X-Amz-Function-Error", "Unhandled")],
        b'{"errorMessage": "Task timed out after 1.00 seconds", "errorType": "Sandbox.Timedout"}',
    ),
    "throttled": Canned(
        429,
        [JSON, ("x-amzn-RequestId", RID), ("x-amzn-ErrorType", "TooManyRequestsException"), ("Retry-After", "1")],
        b'{"Reason": "ReservedFunctionConcurrentInvocationLimitExceeded", "Type": "User", "message": "Rate Exceeded."}',
    ),
    "throttled-no-reason": Canned(429, [("x-amzn-ErrorType", "TooManyRequestsException")], b"Rate exceeded"),
    "not-found": Canned(
        404,
        [
            JSON,
            ("x-amzn-RequestId", RID),
            (
                "x-amzn-ErrorType",
                "ResourceNotFoundException:http://internal.amazon.com/coral/com.amazon.coral.service/",
            ),
        ],
        b'{"Type": "User", "Message": "Function not found: arn:aws:lambda:us-east-1:123456789012:function:x"}',
    ),
    "type-in-body": Canned(
        400,
        [JSON, ("x-amzn-RequestId", RID)],
        b'{"__type": "aws.protocols#InvalidRequestContentException", "message": "bad"}',
    ),
    "code-in-body": Canned(400, [JSON], b'{"code": "UnsupportedMediaTypeException", "message": "bad"}'),
    "too-large": Canned(413, [JSON, ("x-amzn-ErrorType", "RequestEntityTooLargeException")], b'{"message": "big"}'),
    "service-error": Canned(
        503, [JSON, ("x-amzn-RequestId", RID), ("x-amzn-ErrorType", "ServiceException")], b'{"message": "try later"}'
    ),
    "html-gateway": Canned(
        502,
        [("Content-Type", "text/html"), ("x-amzn-RequestId", RID)],
        b"<html><body><b>Http/1.1 Bad Gateway</b></body></html>",
    ),
    "empty-5xx": Canned(500, [("x-amzn-ErrorType", "ServiceException")]),
    "not-json-4xx": Canned(403, [("x-amzn-RequestId", RID)], b"Forbidden"),
}


def botocore_reading(url: str, function: str) -> dict:
    """What a plain boto3 client makes of the canned answer, classified as lambench classifies it."""
    config = Config(retries={"total_max_attempts": 1})
    client = awsclient.client("lambda", url, "us-east-1", config)
    try:
        response = client.invoke(FunctionName=function, Qualifier="mem-128", LogType="Tail", Payload=b"{}")
        body = response["Payload"].read()
    except ClientError as err:
        code = err.response.get("Error", {}).get("Code", "ClientError")
        status = "throttled" if code == "TooManyRequestsException" else "client_error"
        error_type = (err.response.get("Reason") or code) if status == "throttled" else code
        return {
            "status": status,
            "error_type": error_type,
            "request_id": err.response.get("ResponseMetadata", {}).get("RequestId"),
        }
    if not response.get("FunctionError"):
        return {"status": "ok", "error_type": None, "response_bytes": len(body)}
    try:
        error_type = json.loads(body).get("errorType") or "Unhandled"
    except ValueError:
        error_type = "Unhandled"
    return {
        "status": "timeout" if error_type == "Sandbox.Timedout" else "function_error",
        "error_type": error_type,
        "response_bytes": len(body),
    }


def test_both_clients_make_the_same_record_of_the_same_answer_and_read_it_as_botocore_does():
    cases = [{"name": name, "function": name, "payload": "{}"} for name in CANNED]
    with capture_server() as server:
        server.answers.update(CANNED)
        records = run_driver(
            {
                "mode": "records",
                "endpoint": server.url,
                "function": "unused",
                "qualifier": "mem-128",
                "clients": CLIENTS,
                "cases": cases,
            }
        )
        readings = {name: botocore_reading(server.url, name) for name in CANNED}
    for name in CANNED:
        fast, boto = records[name]["fast"], records[name]["boto3"]
        assert comparable(fast, live=False) == comparable(boto, live=False), name
        assert {k: fast[k] for k in readings[name]} == readings[name], name
    ok = records["ok"]["fast"]
    assert (
        ok["request_id"],
        ok["cold"],
        ok["init_ms"],
        ok["duration_ms"],
        ok["billed_ms"],
        ok["max_memory_mb"],
        ok["memory_mb"],
        ok["init_type"],
    ) == (RID, True, 77.51, 15.74, 94, 41, 128, "provisioned-concurrency")
    assert records["ok-json-log"]["fast"]["memory_mb"] == 512
    assert records["ok-no-log"]["fast"]["request_id"] == RID
    assert records["not-found"]["fast"]["error_type"] == "ResourceNotFoundException"
    assert records["html-gateway"]["fast"]["request_id"] is None, "botocore keeps no request id of a generic error"
    assert records["throttled"]["fast"]["locust_exception"] == (
        "throttled: ReservedFunctionConcurrentInvocationLimitExceeded"
    )


def test_a_refused_connection_is_the_same_transport_error_from_both_clients():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    records = run_driver(
        {
            "mode": "records",
            "endpoint": f"http://127.0.0.1:{port}",
            "function": "f",
            "qualifier": "mem-128",
            "clients": CLIENTS,
            "cases": [{"name": "refused", "payload": "{}"}],
        }
    )
    fast, boto = records["refused"]["fast"], records["refused"]["boto3"]
    assert (fast["status"], fast["error_type"]) == ("transport_error", "EndpointConnectionError")
    assert comparable(fast, live=False) == comparable(boto, live=False)


def test_an_untrusted_certificate_is_the_same_transport_error_from_both_clients(tmp_path):
    with capture_server(self_signed_certificate(tmp_path)) as server:
        records = run_driver(
            {
                "mode": "records",
                "endpoint": server.url,
                "function": "f",
                "qualifier": "mem-128",
                "clients": CLIENTS,
                "cases": [{"name": "untrusted", "payload": "{}"}],
            }
        )
        assert not server.requests
    fast, boto = records["untrusted"]["fast"], records["untrusted"]["boto3"]
    assert (fast["status"], fast["error_type"]) == ("transport_error", "SSLError")
    assert comparable(fast, live=False) == comparable(boto, live=False)


# ---------------------------------------------------------------- live, against the real emulator


def assert_same_records(records: dict, case: str, status: str, error_type: str | None) -> None:
    fast, boto = records[case]["fast"], records[case]["boto3"]
    assert comparable(fast, live=True) == comparable(boto, live=True), case
    assert (fast["status"], fast["error_type"]) == (status, error_type), case
    assert fast["request_id"] and boto["request_id"], case


def test_records_match_boto3_on_the_emulator(emulator, deploy):
    hello, (hello_variant,) = deploy("hello")
    sleepy, (sleepy_variant,) = deploy("sleepy", timeout_s=1)
    cases = [
        {"name": "warm-up", "payload": "{}"},
        {"name": "ok", "payload": "{}"},
        {"name": "function_error", "payload": '{"raise": true}'},
        {"name": "timeout", "function": sleepy.name, "qualifier": sleepy_variant.name, "payload": '{"sleep_s": 3}'},
        {"name": "unknown", "function": "no-such-function", "payload": "{}"},
    ]
    records = run_driver(
        {
            "mode": "records",
            "endpoint": emulator.url,
            "function": hello.name,
            "qualifier": hello_variant.name,
            "clients": CLIENTS,
            "cases": cases,
        }
    )
    assert_same_records(records, "ok", "ok", None)
    assert records["ok"]["fast"]["cold"] is False and records["ok"]["fast"]["duration_ms"] > 0
    assert_same_records(records, "function_error", "function_error", "ValueError")
    assert_same_records(records, "timeout", "timeout", "Sandbox.Timedout")
    assert records["timeout"]["fast"]["billed_ms"] >= 1000
    unknown_fast, unknown_boto = records["unknown"]["fast"], records["unknown"]["boto3"]
    assert comparable(unknown_fast, live=True) == comparable(unknown_boto, live=True)
    assert (unknown_fast["status"], unknown_fast["error_type"]) == ("client_error", "ResourceNotFoundException")


def test_throttled_records_match_boto3_on_the_emulator(own_emulator):
    running, _client, deploy = own_emulator("--account-concurrency", "1")
    sleepy, (variant,) = deploy("sleepy")
    cases = [{"name": "throttled", "payload": "{}", "blocker": '{"sleep_s": 5}', "blocker_delay_s": 1.0}]
    records = run_driver(
        {
            "mode": "records",
            "endpoint": running.url,
            "function": sleepy.name,
            "qualifier": variant.name,
            "clients": CLIENTS,
            "cases": cases,
        }
    )
    fast, boto = records["throttled"]["fast"], records["throttled"]["boto3"]
    assert comparable(fast, live=True) == comparable(boto, live=True)
    assert (fast["status"], fast["error_type"]) == ("throttled", "ConcurrentInvocationLimitExceeded")
    assert records["throttled"]["blocker"]["status"] == "ok"
    assert running.info()["served"]["invocations"] == 1, "a throttled invoke never ran"


def test_locust_runs_with_either_client(emulator, deploy, tmp_path):
    spec, (variant,) = deploy("hello")
    for client in CLIENTS:
        reports = tmp_path / client
        reports.mkdir()
        env = {**driver_env(), "LAMBENCH_CLIENT": client}
        result = run_locust("direct.py", emulator.url, spec.name, variant.name, reports, seconds=2, env=env)
        assert result.returncode == 0, result.stderr[-2000:]
        from bench.collect import read_records

        (path,) = reports.glob("*/records.sqlite")
        records = read_records(path)
        assert records and all(r.status == "ok" and r.billed_ms >= 1 for r in records), client


def test_locust_refuses_an_unknown_client(tmp_path):
    command = [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(REPO / "locustfiles" / "direct.py"),
        "--headless",
        "--lambda-client",
        "curl",
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60, cwd=tmp_path, env=driver_env())
    assert result.returncode == 2 and "invalid choice: 'curl'" in result.stderr
