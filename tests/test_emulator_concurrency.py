"""Reserved concurrency, the scaling rate and provisioned concurrency, through boto3."""

from __future__ import annotations

import base64
import json
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from botocore.exceptions import ClientError
from conftest import invoke

from bench.collect import find_report


def _concurrently(client, name: str, qualifier: str, count: int, sleep_s: float = 1.0) -> list:
    """Fire ``count`` overlapping invokes; each result is ("ok", response) or ("throttled", Reason)."""

    def call(_):
        try:
            response, body = invoke(client, name, {"sleep_s": sleep_s}, Qualifier=qualifier, LogType="Tail")
            return "ok", response
        except ClientError as err:
            assert err.response["Error"]["Code"] == "TooManyRequestsException"
            assert err.response["ResponseMetadata"]["HTTPStatusCode"] == 429
            return "throttled", err.response["Reason"]

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(call, range(count)))


def test_reserved_concurrency_caps_a_function_and_throttles_the_excess(lambda_client, deploy):
    spec, (variant,) = deploy("sleepy")
    lambda_client.put_function_concurrency(FunctionName=spec.name, ReservedConcurrentExecutions=2)
    assert lambda_client.get_function_concurrency(FunctionName=spec.name)["ReservedConcurrentExecutions"] == 2
    results = _concurrently(lambda_client, spec.name, variant.name, 4)
    assert Counter(kind for kind, _ in results) == {"ok": 2, "throttled": 2}
    assert {reason for kind, reason in results if kind == "throttled"} == {
        "ReservedFunctionConcurrentInvocationLimitExceeded"
    }
    lambda_client.delete_function_concurrency(FunctionName=spec.name)
    assert Counter(kind for kind, _ in _concurrently(lambda_client, spec.name, variant.name, 4)) == {"ok": 4}


def test_zero_reserved_concurrency_stops_a_function(lambda_client, deploy):
    spec, (variant,) = deploy("hello")
    lambda_client.put_function_concurrency(FunctionName=spec.name, ReservedConcurrentExecutions=0)
    with pytest.raises(lambda_client.exceptions.TooManyRequestsException):
        invoke(lambda_client, spec.name, Qualifier=variant.name)


def test_reserving_leaves_at_least_100_unreserved(lambda_client, deploy):
    spec, _ = deploy("hello")
    with pytest.raises(lambda_client.exceptions.InvalidParameterValueException, match="minimum value of \\[100\\]"):
        lambda_client.put_function_concurrency(FunctionName=spec.name, ReservedConcurrentExecutions=901)
    settings = lambda_client.get_account_settings()["AccountLimit"]
    assert settings["ConcurrentExecutions"] == 1000


def test_account_concurrency_throttles_with_the_concurrency_reason(own_emulator):
    _, client, deploy = own_emulator("--account-concurrency", "2")
    spec, (variant,) = deploy("sleepy")
    results = _concurrently(client, spec.name, variant.name, 4)
    assert Counter(results[i][0] for i in range(4)) == {"ok": 2, "throttled": 2}
    assert {r for k, r in results if k == "throttled"} == {"ConcurrentInvocationLimitExceeded"}


def test_the_scaling_rate_limits_new_environments_and_can_be_turned_off(own_emulator):
    _, client, deploy = own_emulator("--scaling-burst", "2")
    spec, (variant,) = deploy("sleepy")
    results = _concurrently(client, spec.name, variant.name, 4)
    assert Counter(kind for kind, _ in results) == {"ok": 2, "throttled": 2}
    # Warm environments need no new scaling: reusing the two costs nothing.
    assert Counter(kind for kind, _ in _concurrently(client, spec.name, variant.name, 2)) == {"ok": 2}

    _, client, deploy = own_emulator("--scaling-burst", "2", "--no-scaling-limit")
    spec, (variant,) = deploy("sleepy")
    assert Counter(kind for kind, _ in _concurrently(client, spec.name, variant.name, 4)) == {"ok": 4}


def _wait_ready(client, name: str, qualifier: str) -> dict:
    statuses = []
    for _ in range(200):
        config = client.get_provisioned_concurrency_config(FunctionName=name, Qualifier=qualifier)
        statuses.append(config["Status"])
        if config["Status"] != "IN_PROGRESS":
            return config | {"seen": statuses}
        time.sleep(0.05)
    raise AssertionError(f"still {statuses[-1]}")


def test_provisioned_concurrency_serves_warm_and_spills_over_to_on_demand(lambda_client, deploy):
    spec, (variant,) = deploy("sleepy")
    put = lambda_client.put_provisioned_concurrency_config(
        FunctionName=spec.name, Qualifier=variant.name, ProvisionedConcurrentExecutions=2
    )
    assert put["Status"] == "IN_PROGRESS" and put["RequestedProvisionedConcurrentExecutions"] == 2
    config = _wait_ready(lambda_client, spec.name, variant.name)
    assert config["Status"] == "READY" and config["AllocatedProvisionedConcurrentExecutions"] == 2

    results = _concurrently(lambda_client, spec.name, variant.name, 3, sleep_s=1.0)
    kinds, cold = Counter(), Counter()
    for _, response in results:
        kind = response["ResponseMetadata"]["HTTPHeaders"]["x-lambench-initialization-type"]
        report = find_report(base64.b64decode(response["LogResult"]).decode())
        kinds[kind] += 1
        cold[(kind, report.cold)] += 1
    assert kinds == {"provisioned-concurrency": 2, "on-demand": 1}
    assert cold == {("provisioned-concurrency", False): 2, ("on-demand", True): 1}

    listed = lambda_client.list_provisioned_concurrency_configs(FunctionName=spec.name)
    assert [c["FunctionArn"].rsplit(":", 1)[1] for c in listed["ProvisionedConcurrencyConfigs"]] == [variant.name]
    lambda_client.delete_provisioned_concurrency_config(FunctionName=spec.name, Qualifier=variant.name)
    with pytest.raises(lambda_client.exceptions.ProvisionedConcurrencyConfigNotFoundException):
        lambda_client.get_provisioned_concurrency_config(FunctionName=spec.name, Qualifier=variant.name)


def test_provisioned_environments_report_their_initialization_type(lambda_client, deploy):
    spec, (variant,) = deploy("probe")
    lambda_client.put_provisioned_concurrency_config(
        FunctionName=spec.name, Qualifier=variant.name, ProvisionedConcurrentExecutions=1
    )
    _wait_ready(lambda_client, spec.name, variant.name)
    _, body = invoke(lambda_client, spec.name, Qualifier=variant.name)
    assert json.loads(body)["init_type"] == "provisioned-concurrency"


def test_provisioned_concurrency_needs_a_published_version(lambda_client, deploy):
    spec, _ = deploy("hello")
    with pytest.raises(lambda_client.exceptions.InvalidParameterValueException, match="unpublished"):
        lambda_client.put_provisioned_concurrency_config(
            FunctionName=spec.name, Qualifier="$LATEST", ProvisionedConcurrentExecutions=1
        )
