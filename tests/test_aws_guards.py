"""The guards of an AWS run that need no moto: no credentials, and the budget's arithmetic on a real store."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading

from aws_moto import CREDENTIAL_NAMES, config_text

from bench.awsclient import METADATA_ATTEMPTS, METADATA_TIMEOUT_S
from bench.collect.store import RecordStore
from bench.load.budget import Budget, spend_of
from bench.records import InvocationRecord


def test_no_credentials_fail_in_one_line_within_5_s_even_if_instance_metadata_hangs(tmp_path):
    """The instance metadata endpoint is a socket that accepts and never answers (a black hole, as on a
    network that drops 169.254.169.254): the run must still fail within the documented 5 s.

    Not by a clock (this machine is shared; a loaded run would flake): the chain's only wait is on
    that endpoint, so the bound is how many connections it opened there times the timeout it gives
    each, counted exactly. The subprocess timeout is a guard against a hang, not the assertion."""
    hole = socket.socket()
    hole.bind(("127.0.0.1", 0))
    hole.listen(64)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        hole.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(hole.accept()[0])
            except OSError:
                continue

    acceptor = threading.Thread(target=accept, daemon=True)
    acceptor.start()
    (tmp_path / "bench.toml").write_text(config_text(tmp_path / "reports"))
    env = {k: v for k, v in os.environ.items() if k not in CREDENTIAL_NAMES and not k.startswith("AWS_")}
    env.update(
        HOME=str(tmp_path), AWS_CONFIG_FILE=str(tmp_path / "none"), AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"),
        AWS_EC2_METADATA_SERVICE_ENDPOINT=f"http://127.0.0.1:{hole.getsockname()[1]}",
    )  # fmt: skip
    try:
        result = subprocess.run([sys.executable, "-m", "bench", "run", "--yes"], cwd=tmp_path, env=env,
                                capture_output=True, text=True, timeout=120)  # fmt: skip
        stop.set()
        acceptor.join()
        hole.setblocking(False)
        while True:  # connections the run opened that the thread had not yet taken
            try:
                held.append(hole.accept()[0])
            except BlockingIOError:
                break
    finally:
        stop.set()
        hole.close()
        for conn in held:
            conn.close()
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert "no AWS credentials found" in result.stderr and "AWS_ACCESS_KEY_ID" in result.stderr
    assert held, "the chain did ask the metadata endpoint (so the bound below is the one that matters)"
    assert len(held) <= METADATA_ATTEMPTS * 2, "one token request (and no IMDSv1 retry) per attempt"
    assert len(held) * METADATA_TIMEOUT_S < 5


def record(variant: str, status: str = "ok", billed_ms: int | None = None, client_ms: float = 10.4,
           path: str = "direct"):  # fmt: skip
    return InvocationRecord(run_id="r", variant=variant, path=path, t_start_ns=1, client_ms=client_ms,
                            status=status, billed_ms=billed_ms)  # fmt: skip


def test_spend_prices_billed_records_their_latency_when_unbilled_and_throttles_at_nothing(tmp_path):
    path = tmp_path / "records.sqlite"
    with RecordStore(path) as store:
        store.add(record("mem-1024", billed_ms=1000))
        store.add(record("mem-1024"))  # no REPORT line yet: 10.4 ms at the client, priced as 11 ms
        store.add(record("mem-1024", status="throttled"))
        store.flush()
    spend = spend_of(path, {"mem-1024": 1024}, "x86_64")
    assert spend.invocations == 3
    expected = 2 * 0.20 / 1e6 + (1000 + 11) / 1000 * 0.0000166667
    assert abs(spend.usd - expected) < 1e-12
    assert Budget(max_invocations=3).reached(spend) == "3 invocations reached --max-invocations 3"
    assert Budget(max_invocations=4).reached(spend) is None
    assert Budget(max_usd=expected * 1.01).reached(spend) is None
    assert "reached --max-usd" in str(Budget(max_usd=expected * 0.99).reached(spend))


def test_spend_adds_api_gateways_price_for_each_request_that_reached_it(tmp_path):
    path = tmp_path / "records.sqlite"
    with RecordStore(path) as store:
        store.add(record("mem-1024", billed_ms=100, path="apigw-http"))
        store.add(record("mem-1024", status="transport_error", path="apigw-http"))  # never reached it
        store.add(record("mem-1024", status="throttled", path="apigw-rest"))  # the gateway received it
        store.flush()
    spend = spend_of(path, {"mem-1024": 1024}, "x86_64", "eu-west-1")
    lambda_usd = 2 * 0.20 / 1e6 + (100 + 11) / 1000 * 0.0000166667
    gateway_usd = 1.11 / 1e6 + 3.50 / 1e6  # eu-west-1: HTTP API $1.11, REST API $3.50 per million
    assert abs(spend.usd - (lambda_usd + gateway_usd)) < 1e-12
    assert spend.prices == "eu-west-1 prices"
