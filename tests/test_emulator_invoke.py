"""The emulator through boto3: cold then warm, REPORT lines, errors, concurrency, headers."""

from __future__ import annotations

import base64
import json
import math
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from botocore.exceptions import ClientError
from conftest import invoke

from bench.collect import find_report, parse_report_line


def _tail(response) -> str:
    return base64.b64decode(response["LogResult"]).decode()


def test_first_invoke_of_a_new_alias_is_cold_and_later_ones_are_warm(lambda_client, deploy):
    spec, (variant,) = deploy("hello", (512,))
    reports = []
    for _ in range(3):
        response, _ = invoke(lambda_client, spec.name, Qualifier=variant.name, LogType="Tail")
        reports.append(find_report(_tail(response)))
    assert reports[0].init_ms is not None and reports[0].init_ms > 0
    assert [r.init_ms for r in reports[1:]] == [None, None]
    assert {r.memory_mb for r in reports} == {512}


def test_report_line_is_in_awss_exact_format_and_bills_init(lambda_client, deploy):
    spec, (variant,) = deploy("hello", (256,))
    response, _ = invoke(lambda_client, spec.name, Qualifier=variant.name, LogType="Tail")
    lines = _tail(response).split("\n")
    report_line = next(line for line in lines if line.startswith("REPORT"))
    fields = report_line.split("\t")
    assert [f.split(":")[0] for f in fields] == [
        "REPORT RequestId",
        "Duration",
        "Billed Duration",
        "Memory Size",
        "Max Memory Used",
        "Init Duration",
    ]
    report = parse_report_line(report_line)
    assert report.request_id == response["ResponseMetadata"]["RequestId"]
    # Since 2025-08-01 a cold start bills ceil(Duration + Init Duration).
    assert report.billed_ms == math.ceil(round(report.duration_ms + report.init_ms, 2))
    assert report.max_memory_used_mb > 0
    assert lines[lines.index(report_line) - 1] == f"END RequestId: {report.request_id}"
    assert any(line.startswith(f"START RequestId: {report.request_id} Version: {variant.version}") for line in lines)
    assert any("handling" in line for line in lines), "the handler's own output is in the tail"

    warm, _ = invoke(lambda_client, spec.name, Qualifier=variant.name, LogType="Tail")
    warm_report = find_report(_tail(warm))
    assert warm_report.billed_ms == math.ceil(round(warm_report.duration_ms, 2))
    assert "INIT_START" not in _tail(warm)


def test_a_raising_handler_gives_unhandled_and_the_environment_stays_usable(lambda_client, deploy):
    spec, (variant,) = deploy("hello")
    ok, body = invoke(lambda_client, spec.name, Qualifier=variant.name)
    pid = json.loads(body)["pid"]
    failed, body = invoke(lambda_client, spec.name, {"raise": True}, Qualifier=variant.name, LogType="Tail")
    assert failed["StatusCode"] == 200
    assert failed["FunctionError"] == "Unhandled"
    error = json.loads(body)
    assert error["errorType"] == "ValueError" and error["errorMessage"] == "raised on request"
    assert error["requestId"] == failed["ResponseMetadata"]["RequestId"]
    assert find_report(_tail(failed)) is not None
    after, body = invoke(lambda_client, spec.name, Qualifier=variant.name)
    assert "FunctionError" not in after
    assert json.loads(body)["pid"] == pid, "the same warm environment served the next invoke"


def test_two_concurrent_invokes_run_in_two_environments(lambda_client, deploy):
    spec, (variant,) = deploy("sleepy")

    def call(_):
        response, body = invoke(lambda_client, spec.name, {"sleep_s": 1.0}, Qualifier=variant.name, LogType="Tail")
        return json.loads(body)["pid"], find_report(_tail(response))

    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(call, range(2)))
    pids = {pid for pid, _ in results}
    assert len(pids) == 2
    assert all(report.cold for _, report in results)


def test_executed_version_names_the_version_an_alias_resolved_to(lambda_client, deploy):
    spec, variants = deploy("hello", (128, 1024))
    for variant in variants:
        response, body = invoke(lambda_client, spec.name, Qualifier=variant.name)
        assert response["ExecutedVersion"] == variant.version
        assert json.loads(body)["memory"] == str(variant.memory_mb)
    response, _ = invoke(lambda_client, spec.name)
    assert response["ExecutedVersion"] == "$LATEST"
    response, _ = invoke(lambda_client, f"{spec.name}:{variants[0].name}")
    assert response["ExecutedVersion"] == variants[0].version


def test_publishing_after_the_newest_version_was_deleted_makes_a_new_number(lambda_client, deploy):
    # As on Lambda, numbers are never reused; before, this PublishVersion failed with a 500.
    spec, (variant,) = deploy("hello", (128,))
    lambda_client.delete_alias(FunctionName=spec.name, Name=variant.name)
    lambda_client.delete_function(FunctionName=spec.name, Qualifier=variant.version)
    lambda_client.update_function_configuration(FunctionName=spec.name, MemorySize=256)
    lambda_client.get_waiter("function_updated_v2").wait(FunctionName=spec.name)
    published = lambda_client.publish_version(FunctionName=spec.name)
    assert int(published["Version"]) == int(variant.version) + 1 and published["MemorySize"] == 256


def test_updating_the_configuration_retires_latests_warm_environments(lambda_client, deploy):
    spec, _ = deploy("hello")
    first, _ = invoke(lambda_client, spec.name, LogType="Tail")
    warm, _ = invoke(lambda_client, spec.name, LogType="Tail")
    assert find_report(_tail(first)).cold and not find_report(_tail(warm)).cold
    lambda_client.update_function_configuration(FunctionName=spec.name, Timeout=10)
    lambda_client.get_waiter("function_updated_v2").wait(FunctionName=spec.name)
    again, _ = invoke(lambda_client, spec.name, LogType="Tail")
    assert find_report(_tail(again)).cold


def test_a_timeout_kills_the_environment_and_still_writes_report(lambda_client, deploy):
    spec, (variant,) = deploy("sleepy", timeout_s=1)
    response, body = invoke(lambda_client, spec.name, {"sleep_s": 5}, Qualifier=variant.name, LogType="Tail")
    assert response["FunctionError"] == "Unhandled"
    error = json.loads(body)
    assert error["errorType"] == "Sandbox.Timedout"
    assert "Task timed out after 1.00 seconds" in error["errorMessage"]
    tail = _tail(response)
    assert "Task timed out after 1.00 seconds" in tail
    report = find_report(tail)
    assert report is not None and report.duration_ms == pytest.approx(1000.0)
    after, _ = invoke(lambda_client, spec.name, {"sleep_s": 0}, Qualifier=variant.name, LogType="Tail")
    assert "FunctionError" not in after
    assert find_report(_tail(after)).cold, "a timed-out environment is discarded"


def test_an_import_error_is_runtime_import_module_error(lambda_client, deploy):
    spec, (variant,) = deploy("broken_import")
    response, body = invoke(lambda_client, spec.name, Qualifier=variant.name, LogType="Tail")
    assert response["FunctionError"] == "Unhandled"
    assert json.loads(body)["errorType"] == "Runtime.ImportModuleError"
    assert "a_module_that_does_not_exist" in json.loads(body)["errorMessage"]


def test_a_runtime_that_dies_mid_invoke_gives_exit_error_and_is_replaced(lambda_client, deploy):
    spec, (variant,) = deploy("crash")
    _, body = invoke(lambda_client, spec.name, Qualifier=variant.name)
    pid = json.loads(body)["pid"]
    response, body = invoke(lambda_client, spec.name, {"crash": True}, Qualifier=variant.name, LogType="Tail")
    assert response["FunctionError"] == "Unhandled"
    error = json.loads(body)
    assert error["errorType"] == "Runtime.ExitError"
    assert "signal: killed" in error["errorMessage"]
    _, body = invoke(lambda_client, spec.name, Qualifier=variant.name)
    assert json.loads(body)["pid"] != pid


def test_dry_run_and_event_invocations(lambda_client, deploy):
    spec, (variant,) = deploy("hello")
    assert (
        lambda_client.invoke(FunctionName=spec.name, Qualifier=variant.name, InvocationType="DryRun")["StatusCode"]
        == 204
    )
    assert (
        lambda_client.invoke(FunctionName=spec.name, Qualifier=variant.name, InvocationType="Event", Payload=b"{}")[
            "StatusCode"
        ]
        == 202
    )


def test_an_oversized_payload_is_request_entity_too_large(lambda_client, deploy):
    spec, (variant,) = deploy("hello")
    payload = json.dumps({"x": "a" * (6 * 1024 * 1024)})
    # AWS answers with a code botocore's model does not name (it models RequestTooLargeException),
    # so boto3 raises a plain ClientError, exactly as against AWS.
    with pytest.raises(ClientError) as raised:
        lambda_client.invoke(FunctionName=spec.name, Qualifier=variant.name, Payload=payload)
    assert raised.value.response["Error"]["Code"] == "RequestEntityTooLargeException"
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 413


def test_unknown_functions_and_qualifiers_are_not_found(lambda_client, deploy):
    spec, _ = deploy("hello")
    with pytest.raises(lambda_client.exceptions.ResourceNotFoundException):
        invoke(lambda_client, "no-such-function")
    with pytest.raises(lambda_client.exceptions.ResourceNotFoundException):
        invoke(lambda_client, spec.name, Qualifier="mem-9999")


def test_event_invokes_are_retried_twice_on_error_and_the_retries_are_in_the_logs(own_emulator):
    import time

    from bench import awsclient

    emulator, client, deploy = own_emulator("--event-retry-delays", "0.2,0.2")
    spec, (variant,) = deploy("hello")
    response = client.invoke(
        FunctionName=spec.name, Qualifier=variant.name, InvocationType="Event", Payload=json.dumps({"raise": True})
    )
    assert response["StatusCode"] == 202
    request_id = response["ResponseMetadata"]["RequestId"]
    logs = awsclient.client("logs", emulator.url, "us-east-1")

    def lines(kind: str) -> list:
        return logs.filter_log_events(
            logGroupName=f"/aws/lambda/{spec.name}", filterPattern=f'"{kind} RequestId: {request_id}"'
        )["events"]

    for _ in range(300):
        if len(lines("REPORT")) >= 3:
            break
        time.sleep(0.1)
    assert len(lines("REPORT")) == 3, "one attempt and two retries, each with its own REPORT line"
    assert len(lines("START")) == 3
    retries = logs.filter_log_events(
        logGroupName=f"/aws/lambda/{spec.name}", filterPattern=f'"RETRY RequestId: {request_id}"'
    )["events"]
    assert len(retries) == 2


def test_event_payloads_have_their_own_limit(own_emulator):
    _, client, deploy = own_emulator("--async-payload-limit", "262144")
    spec, (variant,) = deploy("hello")
    small = json.dumps({"x": "a" * 200_000})
    assert (
        client.invoke(FunctionName=spec.name, Qualifier=variant.name, InvocationType="Event", Payload=small)[
            "StatusCode"
        ]
        == 202
    )
    with pytest.raises(ClientError) as raised:
        client.invoke(
            FunctionName=spec.name,
            Qualifier=variant.name,
            InvocationType="Event",
            Payload=json.dumps({"x": "a" * 300_000}),
        )
    assert raised.value.response["Error"]["Code"] == "RequestEntityTooLargeException"
    # The same payload is fine synchronously (6 MB).
    assert (
        client.invoke(FunctionName=spec.name, Qualifier=variant.name, Payload=json.dumps({"x": "a" * 300_000}))[
            "StatusCode"
        ]
        == 200
    )


def test_a_weighted_alias_splits_traffic_and_names_the_version_that_ran(own_emulator):
    from collections import Counter

    _, client, deploy = own_emulator("--seed", "7")
    spec, (v1, v2) = deploy("hello", (128, 256))
    client.create_alias(
        FunctionName=spec.name,
        Name="canary",
        FunctionVersion=v1.version,
        RoutingConfig={"AdditionalVersionWeights": {v2.version: 0.3}},
    )
    alias = client.get_alias(FunctionName=spec.name, Name="canary")
    assert alias["RoutingConfig"]["AdditionalVersionWeights"] == {v2.version: 0.3}
    ran = Counter()
    for _ in range(300):
        response, body = invoke(client, spec.name, Qualifier="canary")
        ran[response["ExecutedVersion"]] += 1
        assert json.loads(body)["memory"] == ("128" if response["ExecutedVersion"] == v1.version else "256")
    share = ran[v2.version] / 300
    # Binomial(300, 0.3): sd 0.026; 0.18..0.42 is more than 4 sd either side.
    assert 0.18 < share < 0.42 and set(ran) == {v1.version, v2.version}


def test_request_ids_are_distinct_version_4_uuids(lambda_client, deploy):
    """As str(uuid.uuid4()) makes them (the emulator formats them itself, from os.urandom)."""
    spec, (variant,) = deploy("hello")
    ids = [
        invoke(lambda_client, spec.name, Qualifier=variant.name)[0]["ResponseMetadata"]["RequestId"] for _ in range(5)
    ]
    queued = lambda_client.invoke(FunctionName=spec.name, Qualifier=variant.name, InvocationType="Event", Payload=b"{}")
    ids.append(queued["ResponseMetadata"]["RequestId"])
    for request_id in ids:
        parsed = uuid.UUID(request_id)
        assert str(parsed) == request_id and parsed.version == 4 and parsed.variant == uuid.RFC_4122
    assert len(set(ids)) == len(ids)
