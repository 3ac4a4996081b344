"""bench/targets/variants.py (the deployer) against moto's in-process Lambda (no Docker: nothing is invoked).

Moto needs Docker only to Invoke; CreateFunction, versions and aliases are pure bookkeeping.
It does check that the execution role exists in its IAM, so each test creates it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from bench import awsclient
from bench.errors import UserError
from bench.targets import DEFAULT_ROLE, Created, FunctionSpec, VariantDeployer, alias_name, code_sha256, zip_folder

REGION = "us-east-1"
SIZES = [128, 512, 1024, 1769]
SOURCE = Path(__file__).resolve().parents[1] / "targets" / "cpu_bound"
TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}


@pytest.fixture
def aws(monkeypatch):
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_LAMBDA"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    with mock_aws():
        import boto3

        iam = boto3.client("iam", region_name=REGION)
        iam.create_role(RoleName=DEFAULT_ROLE.rsplit("/", 1)[1], AssumeRolePolicyDocument=json.dumps(TRUST))
        yield awsclient.client("lambda", None, REGION, awsclient.control_plane_config())


@pytest.fixture
def spec():
    return FunctionSpec(name="cpu-bound", source=SOURCE, environment={"POWERTOOLS_METRICS_NAMESPACE": "lambench"})


def memory_of(client, name: str, qualifier: str) -> int:
    return client.get_function_configuration(FunctionName=name, Qualifier=qualifier)["MemorySize"]


def alias_names(client, name: str) -> set[str]:
    return {a["Name"] for a in client.list_aliases(FunctionName=name)["Aliases"]}


def function_exists(client, name: str) -> bool:
    try:
        client.get_function(FunctionName=name)
    except ClientError as error:
        assert error.response["Error"]["Code"] == "ResourceNotFoundException"
        return False
    return True


def test_four_variants_get_aliases_on_distinct_versions(aws, spec):
    deployer = VariantDeployer(aws)
    arn = deployer.ensure_function(spec)
    assert arn.endswith(":function:cpu-bound")

    variants = deployer.deploy_variants(spec, SIZES)

    assert [v.name for v in variants] == ["mem-128", "mem-512", "mem-1024", "mem-1769"]
    assert [v.memory_mb for v in variants] == SIZES
    assert len({v.version for v in variants}) == len(SIZES)
    for variant in variants:
        assert variant.alias_arn.endswith(f":function:cpu-bound:{variant.name}")
        assert memory_of(aws, spec.name, variant.name) == variant.memory_mb
        assert aws.get_alias(FunctionName=spec.name, Name=variant.name)["FunctionVersion"] == variant.version
    config = aws.get_function_configuration(FunctionName=spec.name, Qualifier="mem-512")
    assert config["Timeout"] == 30 and config["Runtime"] == "python3.12"
    assert config["Environment"]["Variables"] == {"POWERTOOLS_METRICS_NAMESPACE": "lambench"}


@pytest.mark.parametrize("fresh_deployer", [False, True], ids=["same-deployer", "new-deployer"])
def test_redeploy_updates_aliases_instead_of_failing(aws, spec, fresh_deployer):
    first = VariantDeployer(aws)
    first.ensure_function(spec)
    before = first.deploy_variants(spec, SIZES)

    second = VariantDeployer(aws) if fresh_deployer else first
    second.ensure_function(spec)
    after = second.deploy_variants(spec, list(reversed(SIZES)))

    assert alias_names(aws, spec.name) == {alias_name(m) for m in SIZES}
    for variant in after:
        assert aws.get_alias(FunctionName=spec.name, Name=variant.name)["FunctionVersion"] == variant.version
        assert memory_of(aws, spec.name, variant.name) == variant.memory_mb
    # Reversed order changes $LATEST's memory each time, so each alias moved to a new version.
    assert {v.version for v in after}.isdisjoint({v.version for v in before})


def test_teardown_removes_aliases_and_function_and_is_idempotent(aws, spec):
    deployer = VariantDeployer(aws)
    deployer.ensure_function(spec)
    deployer.deploy_variants(spec, SIZES)
    assert deployer.created(spec.name) == Created(function=True, aliases=[alias_name(m) for m in SIZES])

    deployer.teardown(spec.name)

    assert not function_exists(aws, spec.name)
    deployer.teardown(spec.name)  # a second call finds nothing to do and does not fail
    deployer.teardown(spec.name, Created(function=True, aliases=["mem-128"]))  # everything already gone


def test_teardown_leaves_a_preexisting_function(aws, spec):
    aws.create_function(
        FunctionName=spec.name,
        Runtime="python3.12",
        Role=DEFAULT_ROLE,
        Handler="app.lambda_handler",
        Code={"ZipFile": zip_folder(SOURCE)},
    )
    deployer = VariantDeployer(aws)
    deployer.ensure_function(spec)
    deployer.deploy_variants(spec, SIZES)
    assert deployer.created(spec.name).function is False

    deployer.teardown(spec.name)

    assert function_exists(aws, spec.name)
    assert alias_names(aws, spec.name) == set()


def test_teardown_spares_aliases_it_did_not_create(aws, spec):
    VariantDeployer(aws).ensure_function(spec)
    VariantDeployer(aws).deploy_variant(spec, 256)  # someone else's alias, on a function that now exists
    deployer = VariantDeployer(aws)
    deployer.deploy_variants(spec, [256, 512])

    deployer.teardown(spec.name)

    assert alias_names(aws, spec.name) == {"mem-256"}


def test_teardown_from_a_saved_record(aws, spec):
    deployer = VariantDeployer(aws)
    deployer.ensure_function(spec)
    deployer.deploy_variants(spec, [128, 512])
    record = deployer.created(spec.name)

    VariantDeployer(aws).teardown(spec.name, record)  # e.g. a later process after an interrupted run

    assert not function_exists(aws, spec.name)


def test_ensure_function_twice_keeps_code_and_updates_config(aws, spec):
    deployer = VariantDeployer(aws)
    arn = deployer.ensure_function(spec)
    changed = FunctionSpec(name=spec.name, source=SOURCE, timeout_s=60, environment={"A": "1"})

    assert deployer.ensure_function(changed) == arn

    config = aws.get_function_configuration(FunctionName=spec.name)
    assert config["CodeSha256"] == code_sha256(zip_folder(SOURCE))
    assert config["Timeout"] == 60 and config["Environment"]["Variables"] == {"A": "1"}
    assert deployer.created(spec.name).function is True


@pytest.mark.parametrize("bad", [64, 127, 10241, 0, -128, 512.0, "512", True, None])
def test_memory_outside_lambda_limits_is_a_user_error(aws, spec, bad):
    deployer = VariantDeployer(aws)
    deployer.ensure_function(spec)
    with pytest.raises(UserError, match=r"^memory_mb\[1\] = .*: must be 128\.\.10240$"):
        deployer.deploy_variants(spec, [128, bad])
    # Checked before any change: nothing was published for the valid size either.
    versions = aws.list_versions_by_function(FunctionName=spec.name)["Versions"]
    assert [v["Version"] for v in versions] == ["$LATEST"]


class NoCallsClient:
    """Stands in for a Lambda client where validation must fail before any AWS call."""

    def __getattr__(self, name):
        raise AssertionError(f"no AWS call expected, got {name}")


@pytest.mark.parametrize("sizes, message", [([512, 512], "must not repeat"), ([], "at least one")])
def test_size_lists_are_checked_before_any_call(sizes, message):
    with pytest.raises(UserError, match=message):
        VariantDeployer(NoCallsClient()).deploy_variants(FunctionSpec(name="f", source=SOURCE), sizes)
