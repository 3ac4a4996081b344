"""A function sees only what Lambda gives it, and cannot reach into another environment.

Each test deploys a hostile or third-party-style function (tests/functions/hostile, vendored)
on the real emulator process and asks it, through boto3, what it can see or do.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from conftest import invoke

# What Lambda puts in a Python function's environment (docs: configuration-envvars.html), plus
# TMPDIR, which points at the environment's own temporary folder here, and LC_CTYPE, which Python
# itself adds (PEP 538 locale coercion) on a host without the en_US.UTF-8 locale that LANG names.
LAMBDA_VARIABLES = {
    "_HANDLER",
    "_X_AMZN_TRACE_ID",
    "AWS_ACCESS_KEY_ID",
    "AWS_DEFAULT_REGION",
    "AWS_EXECUTION_ENV",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
    "AWS_LAMBDA_FUNCTION_NAME",
    "AWS_LAMBDA_FUNCTION_VERSION",
    "AWS_LAMBDA_INITIALIZATION_TYPE",
    "AWS_LAMBDA_LOG_GROUP_NAME",
    "AWS_LAMBDA_LOG_STREAM_NAME",
    "AWS_LAMBDA_RUNTIME_API",
    "AWS_REGION",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "LAMBDA_RUNTIME_DIR",
    "LAMBDA_TASK_ROOT",
    "LANG",
    "LC_CTYPE",
    "LD_LIBRARY_PATH",
    "PATH",
    "PYTHONPATH",
    "TMPDIR",
    "TZ",
}
HOST_SECRETS = {
    "LAMBENCH_TEST_HOST_SECRET": "the-host-password",
    "AWS_ACCESS_KEY_ID": "AKIAHOSTREALKEY00000",
    "AWS_SECRET_ACCESS_KEY": "the-users-real-secret-key",
    "GITHUB_TOKEN": "ghp_the-users-token",
}


def _answer(client, name: str, payload: dict) -> dict:
    response, body = invoke(client, name, payload)
    assert "FunctionError" not in response, body
    return json.loads(body)


@pytest.mark.parametrize("module", ["jinja2", "numpy", "locust", "aiohttp", "pytest", "bench"])
def test_a_package_only_the_emulator_has_fails_to_import_as_on_aws(lambda_client, deploy, module):
    spec, _ = deploy("hostile", handler="imports.handler", environment={"IMPORT": module})
    response, body = invoke(lambda_client, spec.name)
    error = json.loads(body)
    assert response["FunctionError"] == "Unhandled"
    assert error["errorType"] == "Runtime.ImportModuleError"
    assert error["errorMessage"] == f"Unable to import module 'imports': No module named '{module}'"


@pytest.mark.parametrize("module", ["boto3", "botocore", "awslambdaric", "dateutil", "aws_lambda_powertools"])
def test_the_runtimes_own_packages_and_the_modelled_powertools_layer_import(lambda_client, deploy, module):
    spec, _ = deploy("hostile", handler="imports.handler", environment={"IMPORT": module})
    assert _answer(lambda_client, spec.name, {}) == {"imported": module}


def test_sys_path_is_the_code_then_the_runtime_view_then_the_standard_library(lambda_client, deploy):
    spec, _ = deploy("hostile")
    seen = _answer(lambda_client, spec.name, {"look": True})
    path = [entry for entry in seen["sys_path"] if entry]
    environ = seen["environ"]
    code, runtime = environ["LAMBDA_TASK_ROOT"], environ["LAMBDA_RUNTIME_DIR"]
    assert path[0] == code
    assert runtime in path and seen["boto3_file"].startswith(runtime + "/")
    stdlib = [entry for entry in path if entry.startswith(sys.base_prefix)]
    assert stdlib and all("site-packages" not in entry for entry in stdlib)
    assert not [entry for entry in path if "site-packages" in entry or entry.startswith(sys.prefix + "/")]
    assert seen["executable_is_site_free"]
    distributions = set(seen["distributions"])
    assert {"awslambdaric", "boto3", "botocore", "s3transfer", "jmespath"} <= distributions
    assert not distributions & {"lambench", "locust", "jinja2", "numpy", "scipy", "aiohttp", "pytest", "moto"}


def test_a_vendored_package_wins_and_does_not_leak_to_other_functions(lambda_client, deploy):
    vendored, _ = deploy("vendored")
    other, _ = deploy("hostile")
    answer = _answer(lambda_client, vendored.name, {})
    runtime = _answer(lambda_client, other.name, {"look": True})["environ"]["LAMBDA_RUNTIME_DIR"]
    assert answer["boto3"][0] == answer["jinja2"][0] == "0.0.0-vendored"
    assert Path(answer["boto3"][1]).parts[-2:] == ("boto3", "__init__.py")
    # Its own copy, not the runtime's. (Every function's code sits at one path where the emulator
    # sandboxes environments, as at /var/task on Lambda: the path cannot tell two functions apart.)
    assert not answer["boto3"][1].startswith(runtime + "/")
    # The other function still gets the runtime's boto3, and still has no jinja2.
    seen = _answer(lambda_client, other.name, {"look": True})
    assert seen["boto3_file"].startswith(seen["environ"]["LAMBDA_RUNTIME_DIR"] + "/")
    spec, _ = deploy("hostile", handler="imports.handler", environment={"IMPORT": "jinja2"}, name="no-jinja2-after")
    _, body = invoke(lambda_client, spec.name)
    assert json.loads(body)["errorType"] == "Runtime.ImportModuleError"


def test_a_function_sees_lambdas_variables_and_its_own_never_the_hosts(own_emulator, monkeypatch):
    for name, value in HOST_SECRETS.items():
        monkeypatch.setenv(name, value)
    _, client, deploy = own_emulator()
    spec, _ = deploy("hostile", environment={"MY_SETTING": "on"})
    environ = _answer(client, spec.name, {"look": True})["environ"]
    assert environ["MY_SETTING"] == "on"
    assert set(environ) - {"MY_SETTING"} <= LAMBDA_VARIABLES
    assert "LAMBENCH_TEST_HOST_SECRET" not in environ and "GITHUB_TOKEN" not in environ
    assert not set(environ.values()) & set(HOST_SECRETS.values())
    assert environ["AWS_LAMBDA_FUNCTION_NAME"] == spec.name
    assert ".venv" not in environ["PATH"]


def test_one_environment_cannot_take_or_answer_another_ones_events(lambda_client, deploy):
    victim, _ = deploy("hostile", name="victim-runtime-api")
    attacker, _ = deploy("hostile", name="attacker-runtime-api")
    address = _answer(lambda_client, victim.name, {"look": True})["environ"]["AWS_LAMBDA_RUNTIME_API"]
    host_port, token = address.split("/", 1)
    assert len(token) >= 32
    # The victim's environment now waits on /next at that port; ports are no secret on a host.
    statuses = _answer(lambda_client, attacker.name, {"steal": host_port})
    assert statuses == {"no_token": 404, "own_token": 403, "made_up_token": 403, "forged_answer": 403}
    # The victim's next event still reaches the victim, and its answer is its own.
    again = _answer(lambda_client, victim.name, {"look": True})
    assert again["environ"]["AWS_LAMBDA_RUNTIME_API"] == address


def test_the_dilation_shim_sees_the_same_view_and_reports_import_errors(own_emulator):
    _, client, deploy = own_emulator("--cpu-mode", "dilation")
    spec, _ = deploy("hostile")
    seen = _answer(client, spec.name, {"look": True})
    path = [entry for entry in seen["sys_path"] if entry]
    assert path[0] == seen["environ"]["LAMBDA_TASK_ROOT"]
    assert not [entry for entry in path if "bench" in Path(entry).parts or "site-packages" in entry]
    broken, _ = deploy("hostile", handler="imports.handler", environment={"IMPORT": "jinja2"})
    _, body = invoke(client, broken.name)
    assert json.loads(body)["errorType"] == "Runtime.ImportModuleError"
