"""targets/template.yaml (SAM) parses and describes what `lambench deploy --target aws` creates.

Two checks. cfn-lint, where it is installed, validates the template against CloudFormation's
resource specification, SAM transform included. The structural check always runs: it reads the
template with PyYAML (a loader that accepts CloudFormation's short tags, !Ref, !GetAtt, !Sub, ...)
and holds its resources to bench/targets/gateways.py and bench.toml: the access-log formats are
the deploy's own, one stage and two permissions per alias of bench.toml's memory sizes, the
integrations are proxies selected by stage variable. What neither can check is that the stack
deploys: that needs CloudFormation itself.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from bench.config import load_config
from bench.targets.gateways import HTTP_ACCESS_LOG, REST_ACCESS_LOG, STAGE_VARIABLE
from bench.targets.variants import alias_name

REPO = Path(__file__).resolve().parent.parent
TEMPLATE = REPO / "targets" / "template.yaml"


class Tag:
    """One CloudFormation short-form function (!Sub "..." is Tag("Sub", "..."))."""

    def __init__(self, name: str, value: Any) -> None:
        self.name, self.value = name, value

    def __repr__(self) -> str:
        return f"!{self.name} {self.value!r}"


class CloudFormationLoader(yaml.SafeLoader):
    """SafeLoader that keeps any !Tag as a Tag instead of refusing it."""


def _construct_tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Tag:
    if isinstance(node, yaml.ScalarNode):
        return Tag(suffix, loader.construct_scalar(node))
    if isinstance(node, yaml.SequenceNode):
        return Tag(suffix, loader.construct_sequence(node, deep=True))
    return Tag(suffix, loader.construct_mapping(node, deep=True))  # type: ignore[arg-type]


CloudFormationLoader.add_multi_constructor("!", _construct_tag)


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return yaml.load(TEMPLATE.read_text(), Loader=CloudFormationLoader)  # noqa: S506 (a SafeLoader)


def of_type(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {name: r["Properties"] for name, r in template["Resources"].items() if r["Type"] == kind}


def test_cfn_lint_finds_no_error_or_warning():
    """Skipped where cfn-lint is not installed (it is not a dependency of the test suite yet)."""
    pytest.importorskip("cfnlint")
    from cfnlint.api import lint_all

    # Errors and warnings, as cfn-lint's command line reports by default; its informational
    # advice (DeletionPolicy on log groups and the like) is not a fault of the template.
    found = [str(m) for m in lint_all(TEMPLATE.read_text()) if m.rule.severity in ("error", "warning")]
    assert found == []


def test_every_reference_names_a_resource_parameter_or_pseudo_parameter(template):
    known = set(template["Resources"]) | set(template["Parameters"])

    def walk(node: Any) -> None:
        if isinstance(node, Tag):
            if node.name == "Ref":
                assert node.value in known or node.value.startswith("AWS::"), node
            elif node.name == "GetAtt":
                assert str(node.value).split(".")[0] in template["Resources"], node
            walk(node.value)
        elif isinstance(node, dict):
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(template["Resources"])
    walk(template["Outputs"])


def test_the_template_describes_the_deploy(template):
    aliases = {alias_name(m) for m in load_config(REPO / "bench.toml").memory_mb}

    (function,) = of_type(template, "AWS::Serverless::Function").values()
    (role,) = [r for r in of_type(template, "AWS::IAM::Role").values() if "lambda.amazonaws.com" in json.dumps(
        r["AssumeRolePolicyDocument"])]  # fmt: skip
    assert [p.value.rsplit("/", 1)[1] for p in role["ManagedPolicyArns"]] == ["AWSLambdaBasicExecutionRole"]
    assert function["Role"].name == "GetAtt"
    assert {a["Name"] for a in of_type(template, "AWS::Lambda::Alias").values()} == aliases

    groups = {p["LogGroupName"].value for p in of_type(template, "AWS::Logs::LogGroup").values()}
    assert groups == {"/aws/lambda/${CpuBoundFunction}", "/aws/apigateway/${CpuBoundFunction}"}

    # HTTP API: payload 2.0 proxy, routed by stage variable, one stage per alias with the deploy's log format.
    (api,) = of_type(template, "AWS::ApiGatewayV2::Api").values()
    assert api["ProtocolType"] == "HTTP"
    (integration,) = of_type(template, "AWS::ApiGatewayV2::Integration").values()
    assert (integration["IntegrationType"], integration["PayloadFormatVersion"]) == ("AWS_PROXY", "2.0")
    assert integration["IntegrationUri"].value.endswith(f":${{!stageVariables.{STAGE_VARIABLE}}}")
    assert {r["RouteKey"] for r in of_type(template, "AWS::ApiGatewayV2::Route").values()} == {"ANY /", "ANY /{proxy+}"}
    http_stages = of_type(template, "AWS::ApiGatewayV2::Stage").values()
    assert {s["StageName"] for s in http_stages} == aliases
    for stage in http_stages:
        assert stage["StageVariables"] == {STAGE_VARIABLE: stage["StageName"]}
        assert json.loads(stage["AccessLogSettings"]["Format"]) == HTTP_ACCESS_LOG

    # REST API: payload 1.0 proxy on / and /{proxy+}, one stage per alias with the deploy's log format.
    methods = of_type(template, "AWS::ApiGateway::Method").values()
    assert len(methods) == 2
    for method in methods:
        assert (method["HttpMethod"], method["Integration"]["Type"]) == ("ANY", "AWS_PROXY")
        assert f":${{!stageVariables.{STAGE_VARIABLE}}}/invocations" in method["Integration"]["Uri"].value
    assert [r["PathPart"] for r in of_type(template, "AWS::ApiGateway::Resource").values()] == ["{proxy+}"]
    rest_stages = of_type(template, "AWS::ApiGateway::Stage").values()
    assert {s["StageName"] for s in rest_stages} == aliases
    for stage in rest_stages:
        assert stage["Variables"] == {STAGE_VARIABLE: stage["StageName"]}
        assert json.loads(stage["AccessLogSetting"]["Format"]) == REST_ACCESS_LOG

    # A permission per alias and API, from that API only.
    permissions = of_type(template, "AWS::Lambda::Permission").values()
    assert len(permissions) == 2 * len(aliases)
    granted = {(p["FunctionName"].value, p["SourceArn"].value.rsplit(":", 1)[1]) for p in permissions}
    alias_resources = {n for n, r in template["Resources"].items() if r["Type"] == "AWS::Lambda::Alias"}
    assert granted == {(a, api) for a in alias_resources for api in ("${HttpApi}/*", "${RestApi}/*")}
    assert {p["Principal"] for p in permissions} == {"apigateway.amazonaws.com"}

    # API Gateway's account-wide logs role, only where asked for.
    (account,) = [r for r in template["Resources"].values() if r["Type"] == "AWS::ApiGateway::Account"]
    assert account["Condition"] == "CreateApiGatewayLogsRole"
