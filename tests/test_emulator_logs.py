"""The emulator's CloudWatch Logs subset, driven through boto3's own ``logs`` client.

Every test talks to the real emulator process over 127.0.0.1, on the same endpoint as the
Lambda API: FilterLogEvents (patterns, pagination, time bounds), DescribeLogStreams (one
stream per execution environment), GetLogEvents, DescribeLogGroups and the error shapes.
"""

from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from botocore.config import Config
from conftest import invoke

from bench import awsclient
from bench.collect import parse_report_line
from bench.targets import FunctionSpec, VariantDeployer

REPO = Path(__file__).resolve().parents[1]
# Lambda's own stream names: the environment's start date, [version], then a hex id.
STREAM_NAME = re.compile(r"^(\d{4}/\d{2}/\d{2})/\[([^\]]+)\]([0-9a-f]+)$")
INVOKES = 3


@pytest.fixture(scope="session")
def logs(emulator):
    # One attempt: a test must see exactly what the emulator answered, never a retry.
    return awsclient.client("logs", emulator.url, "us-east-1", Config(retries={"total_max_attempts": 1}))


@pytest.fixture
def hello(lambda_client, deploy):
    """hello deployed and invoked INVOKES times; returns (log group, the invokes' request ids)."""
    spec, (variant,) = deploy("hello")
    request_ids = []
    for i in range(INVOKES):
        response, _ = invoke(lambda_client, spec.name, {"i": i}, Qualifier=variant.name)
        request_ids.append(response["ResponseMetadata"]["RequestId"])
    return f"/aws/lambda/{spec.name}", request_ids


def events(logs, group: str, **kwargs) -> list[dict]:
    """Every matching event, following nextToken to the end."""
    found, token = [], None
    while True:
        page = logs.filter_log_events(logGroupName=group, **kwargs, **({"nextToken": token} if token else {}))
        found += page["events"]
        token = page.get("nextToken")
        if token is None:
            return found


def messages(found: list[dict]) -> list[str]:
    return [event["message"] for event in found]


def test_one_report_line_per_invocation_with_the_invokes_request_ids(logs, hello):
    group, request_ids = hello
    reports = logs.filter_log_events(logGroupName=group, filterPattern='"REPORT RequestId"')["events"]
    assert [parse_report_line(e["message"]).request_id for e in reports] == request_ids
    assert all(e["logStreamName"] and e["eventId"] and e["ingestionTime"] >= e["timestamp"] for e in reports)


def test_the_handlers_output_and_the_start_and_end_lines_are_kept(logs, hello):
    group, request_ids = hello
    lines = messages(events(logs, group))
    assert "hello module initialised" in lines, "init output lands in the stream too"
    assert [line for line in lines if line.startswith("handling")] == [f"handling {{'i': {i}}}" for i in range(INVOKES)]
    assert [line for line in lines if line.startswith("START")] == [
        f"START RequestId: {rid} Version: 1" for rid in request_ids
    ]
    assert [line for line in lines if line.startswith("END")] == [f"END RequestId: {rid}" for rid in request_ids]


def test_a_request_id_phrase_finds_that_invocations_start_end_and_report(logs, hello):
    group, request_ids = hello
    rid = request_ids[1]
    found = messages(logs.filter_log_events(logGroupName=group, filterPattern=f'"RequestId: {rid}"')["events"])
    assert [line.split(" ")[0] for line in found] == ["START", "END", "REPORT"]
    assert all(rid in line for line in found)


def test_limit_2_pages_walk_every_event_once_in_time_order(logs, hello):
    group, _ = hello
    everything = logs.filter_log_events(logGroupName=group)
    assert "nextToken" not in everything, "one page holds them all"
    walked, pages, token = [], 0, None
    while True:
        page = logs.filter_log_events(logGroupName=group, limit=2, **({"nextToken": token} if token else {}))
        assert len(page["events"]) <= 2
        walked += page["events"]
        pages += 1
        token = page.get("nextToken")
        if token is None:
            break
    ids = [e["eventId"] for e in walked]
    assert ids == [e["eventId"] for e in everything["events"]]
    assert len(set(ids)) == len(ids), "no event twice"
    assert pages == -(-len(ids) // 2), "no empty trailing page"
    assert [e["timestamp"] for e in walked] == sorted(e["timestamp"] for e in walked)


def test_boto3s_paginator_follows_the_tokens_with_a_pattern(logs, hello):
    group, request_ids = hello
    pages = logs.get_paginator("filter_log_events").paginate(
        logGroupName=group, filterPattern="REPORT", PaginationConfig={"PageSize": 1}
    )
    found = [e for page in pages for e in page["events"]]
    assert [parse_report_line(e["message"]).request_id for e in found] == request_ids


def test_start_and_end_time_are_inclusive_bounds(logs, hello):
    group, _ = hello
    everything = events(logs, group)
    middle = everything[len(everything) // 2]["timestamp"]

    def ids(found):
        return [e["eventId"] for e in found]

    assert ids(events(logs, group, startTime=middle)) == ids(e for e in everything if e["timestamp"] >= middle)
    assert ids(events(logs, group, endTime=middle)) == ids(e for e in everything if e["timestamp"] <= middle)
    both = events(logs, group, startTime=middle, endTime=middle)
    assert both and ids(both) == ids(e for e in everything if e["timestamp"] == middle)
    assert events(logs, group, startTime=everything[-1]["timestamp"] + 1) == []


def test_or_terms_and_excluded_terms(logs, hello):
    group, request_ids = hello
    lines = messages(events(logs, group))
    either = messages(events(logs, group, filterPattern="?END ?handling"))
    assert either == [line for line in lines if "END" in line or "handling" in line]
    warm_reports = messages(events(logs, group, filterPattern='REPORT -"Init Duration"'))
    assert [parse_report_line(line).request_id for line in warm_reports] == request_ids[1:]


@pytest.mark.parametrize("pattern", ['{ $.level = "ERROR" }', "[ip, user]", "%REPORT.*%", '"unterminated'])
def test_patterns_the_emulator_does_not_implement_are_rejected(logs, hello, pattern):
    group, _ = hello
    with pytest.raises(logs.exceptions.InvalidParameterException):
        logs.filter_log_events(logGroupName=group, filterPattern=pattern)


def test_one_log_stream_per_execution_environment(logs, lambda_client, deploy):
    spec, (variant,) = deploy("sleepy")
    with ThreadPoolExecutor(2) as pool:
        responses = list(
            pool.map(lambda _: invoke(lambda_client, spec.name, {"sleep_s": 1}, Qualifier=variant.name)[0], range(2))
        )
    group = f"/aws/lambda/{spec.name}"
    streams = logs.describe_log_streams(logGroupName=group)["logStreams"]
    assert len(streams) == 2
    for stream in streams:
        date, version, _ = STREAM_NAME.match(stream["logStreamName"]).groups()
        assert version == variant.version
        assert date == time.strftime("%Y/%m/%d", time.gmtime(stream["creationTime"] / 1000))
        assert stream["firstEventTimestamp"] <= stream["lastEventTimestamp"] <= stream["lastIngestionTime"]
        assert stream["arn"].endswith(f":log-group:{group}:log-stream:{stream['logStreamName']}")
        assert stream["storedBytes"] == 0
        # Each environment served one of the two invokes: its stream holds exactly one REPORT.
        reports = events(logs, group, logStreamNames=[stream["logStreamName"]], filterPattern="REPORT")
        assert len(reports) == 1
    served = {parse_report_line(m).request_id for m in messages(events(logs, group, filterPattern="REPORT"))}
    assert served == {r["ResponseMetadata"]["RequestId"] for r in responses}


def test_describe_log_streams_orders_and_pages(logs, lambda_client, deploy):
    spec, (variant,) = deploy("sleepy")
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(lambda _: invoke(lambda_client, spec.name, {"sleep_s": 1}, Qualifier=variant.name), range(2)))
    group = f"/aws/lambda/{spec.name}"
    by_name = [s["logStreamName"] for s in logs.describe_log_streams(logGroupName=group)["logStreams"]]
    assert by_name == sorted(by_name)
    first = logs.describe_log_streams(logGroupName=group, orderBy="LastEventTime", descending=True, limit=1)
    second = logs.describe_log_streams(
        logGroupName=group, orderBy="LastEventTime", descending=True, limit=1, nextToken=first["nextToken"]
    )
    assert "nextToken" not in second
    newest, older = first["logStreams"][0], second["logStreams"][0]
    assert newest["lastEventTimestamp"] >= older["lastEventTimestamp"]
    assert {newest["logStreamName"], older["logStreamName"]} == set(by_name)
    with pytest.raises(logs.exceptions.InvalidParameterException):
        logs.describe_log_streams(logGroupName=group, orderBy="LastEventTime", logStreamNamePrefix="2")


def test_get_log_events_reads_one_stream_forward_with_tokens(logs, hello):
    group, _ = hello
    (stream,) = logs.describe_log_streams(logGroupName=group)["logStreams"]
    name = stream["logStreamName"]
    expected = messages(events(logs, group, logStreamNames=[name]))
    assert (
        messages(logs.get_log_events(logGroupName=group, logStreamName=name, startFromHead=True)["events"]) == expected
    )
    walked, token = [], None
    while True:
        page = logs.get_log_events(
            logGroupName=group,
            logStreamName=name,
            startFromHead=True,
            limit=2,
            **({"nextToken": token} if token else {}),
        )
        if page["nextForwardToken"] == token:
            break  # AWS's end-of-stream signal: the same token comes back
        walked += messages(page["events"])
        token = page["nextForwardToken"]
    assert walked == expected
    newest = logs.get_log_events(logGroupName=group, logStreamName=name, limit=1)["events"]
    assert messages(newest) == expected[-1:], "without startFromHead the newest events come back"


def test_describe_log_groups_by_prefix(logs, hello):
    group, _ = hello
    found = logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"]
    assert [g["logGroupName"] for g in found] == [group]
    assert found[0]["arn"].endswith(f":log-group:{group}:*")


@pytest.mark.parametrize(
    "call",
    [
        lambda logs: logs.filter_log_events(logGroupName="/aws/lambda/lambench-no-such-function"),
        lambda logs: logs.describe_log_streams(logGroupName="/aws/lambda/lambench-no-such-function"),
        lambda logs: logs.get_log_events(logGroupName="/aws/lambda/lambench-no-such-function", logStreamName="x"),
    ],
)
def test_an_unknown_log_group_raises_resource_not_found(logs, call):
    with pytest.raises(logs.exceptions.ResourceNotFoundException) as raised:
        call(logs)
    assert raised.value.response["Error"]["Message"] == "The specified log group does not exist."


def _post(url: str, target: str) -> tuple[int, dict]:
    request = urllib.request.Request(
        url + "/",
        data=b"{}",
        method="POST",
        headers={"X-Amz-Target": target, "Content-Type": "application/x-amz-json-1.1"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as err:
        return err.code, json.load(err)


def test_unknown_targets_get_aws_shaped_errors(emulator):
    assert _post(emulator.url, "Logs_20140328.PutLogEvents") == (
        400,
        {
            "__type": "UnknownOperationException",
            "message": "The lambench emulator does not implement Logs operation 'PutLogEvents'; it serves "
            "FilterLogEvents, GetLogEvents, DescribeLogStreams, DescribeLogGroups",
        },
    )
    status, body = _post(emulator.url, "DynamoDB_20120810.ListTables")
    assert status == 404 and body["__type"] == "UnknownOperationException"


def test_a_powertools_emf_line_is_found_by_its_metric_name(logs, lambda_client, emulator, request):
    deployer = VariantDeployer(awsclient.client("lambda", emulator.url, "us-east-1", awsclient.control_plane_config()))
    spec = FunctionSpec(
        name=f"cpu-bound-{request.node.name}".replace("_", "-")[:64],
        source=REPO / "targets" / "cpu_bound",
        handler="app.lambda_handler",
        environment={"POWERTOOLS_METRICS_NAMESPACE": "lambench"},
    )
    try:
        (variant,) = deployer.deploy_variants(spec, (512,))
        for _ in range(2):
            invoke(lambda_client, spec.name, {"n": 1000}, Qualifier=variant.name)
        found = events(logs, f"/aws/lambda/{spec.name}", filterPattern="ColdStart")
    finally:
        deployer.teardown(spec.name)
    (emf,) = [json.loads(line) for line in messages(found)]  # one cold start, one ColdStart metric
    assert emf["ColdStart"] == [1.0]
    assert emf["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "lambench"
