"""The API Gateway log join says what it did not find, and where, against moto's CloudWatch Logs.

Real parts: a record store on disk (bench/collect/store.py) and moto's Logs service on 127.0.0.1,
holding the JSON access-log lines API Gateway would write (requestId beside integrationRequestId)
and the REPORT lines Lambda would. moto's endpoint is local, so the join does not wait: the wait
for late lines on AWS (LOG_WAIT_S) is not exercised here, nor its Ctrl-C, and no test asserts a time.
"""

from __future__ import annotations

import contextlib
import json
import time

import pytest
from aws_moto import clients, moto_server

from bench.collect import join_run
from bench.collect.store import RecordStore, read_records
from bench.records import InvocationRecord

FUNCTION = "joined-fn"
ACCESS = f"/aws/apigateway/{FUNCTION}"
LAMBDA = f"/aws/lambda/{FUNCTION}"


@pytest.fixture(scope="module")
def moto_url():
    with moto_server() as url:
        yield url


@pytest.fixture(autouse=True)
def credentials(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")


def store_with_calls(tmp_path, count: int):
    path = tmp_path / "records.sqlite"
    now = time.time_ns()
    with RecordStore(path) as store:
        for i in range(count):
            store.add(InvocationRecord(run_id="r", variant="mem-128", path="apigw-http", t_start_ns=now + i,
                                       client_ms=10.0, status="ok", gateway_request_id=f"gw-{i}"))  # fmt: skip
    return path


def put(url: str, group: str, messages: list[str]) -> None:
    logs = clients(url)["logs"]
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName="s")
    now_ms = int(time.time() * 1000)
    logs.put_log_events(logGroupName=group, logStreamName="s",
                        logEvents=[{"timestamp": now_ms, "message": m} for m in messages])  # fmt: skip


def delete_groups(url: str) -> None:
    logs = clients(url)["logs"]
    for group in (ACCESS, LAMBDA):
        with contextlib.suppress(logs.exceptions.ResourceNotFoundException):
            logs.delete_log_group(logGroupName=group)


def report(request_id: str, init: bool) -> str:
    line = f"REPORT RequestId: {request_id}\tDuration: 5.00 ms\tBilled Duration: 6 ms\tMemory Size: 128 MB\t"
    return line + "Max Memory Used: 40 MB\t" + ("Init Duration: 80.00 ms\t" if init else "")


def test_an_absent_access_log_group_is_named_and_nothing_is_guessed(moto_url, tmp_path):
    delete_groups(moto_url)
    path = store_with_calls(tmp_path, 2)
    result = join_run(path, moto_url, "us-east-1", FUNCTION)
    assert (result.gateway_records, result.matched) == (2, 0)
    assert f"log group {ACCESS} does not exist" in result.missing
    assert "log group" in result.describe() and "2 unmatched" in result.describe()
    assert all(r.cold is None for r in read_records(path))


def test_each_call_without_its_lines_is_counted_by_the_log_that_lacked_it(moto_url, tmp_path):
    """Call 0 is complete; call 1 has an access-log line but no REPORT line; call 2 has neither."""
    delete_groups(moto_url)
    access = [json.dumps({"requestId": f"gw-{i}", "integrationRequestId": f"lambda-{i}"}) for i in (0, 1)]
    put(moto_url, ACCESS, access)
    put(moto_url, LAMBDA, [report("lambda-0", init=True)])
    path = store_with_calls(tmp_path, 3)
    result = join_run(path, moto_url, "us-east-1", FUNCTION)
    assert (result.gateway_records, result.matched) == (3, 1)
    assert result.missing == (f"1 had no access-log line in {ACCESS}", f"1 had no REPORT line in {LAMBDA}")
    joined = {r.gateway_request_id: r for r in read_records(path)}
    assert joined["gw-0"].cold is True and joined["gw-0"].request_id == "lambda-0"
    assert joined["gw-1"].cold is None and joined["gw-2"].cold is None


def test_a_group_given_by_name_is_the_one_read(moto_url, tmp_path):
    """The user's own API logs where the user says ([target] apigw_access_log_group)."""
    delete_groups(moto_url)
    put(moto_url, "/users/api-access", [json.dumps({"requestId": "gw-0", "integrationRequestId": "lambda-0"})])
    put(moto_url, LAMBDA, [report("lambda-0", init=False)])
    path = store_with_calls(tmp_path, 1)
    result = join_run(path, moto_url, "us-east-1", FUNCTION, access_log_group="/users/api-access")
    assert (result.matched, result.missing) == (1, ())
    assert read_records(path)[0].cold is False
    clients(moto_url)["logs"].delete_log_group(logGroupName="/users/api-access")
