"""`lambench deploy --target aws` against moto's server: the sample, both APIs, and a clean teardown.

The deploy goes through boto3's standard AWS_ENDPOINT_URL, as a user would point it at moto. The
account is listed before the deploy and after `lambench teardown` (functions with their versions,
aliases and the policies of each, log groups, roles with their policies, HTTP and REST APIs, and
API Gateway's account-wide CloudWatch Logs role) and must match.

What moto cannot show, and is therefore not checked here:
- that the APIs answer: moto's API Gateway does not invoke Lambda through a stage variable, so a
  call through a stage, its access-log line and the join are covered on the emulator's fronts
  (tests/test_apigw_join.py), and the access-log format is checked here by its keys only;
- IAM's propagation delay before API Gateway accepts a new CloudWatch Logs role (the retry of
  UpdateAccount), and API Gateway's check that the role may write to CloudWatch Logs;
- moto's RemovePermission ignores the qualifier, so the removal of an alias's statement is seen
  here through the alias's deletion; the order and the journal lines are checked instead.
"""

from __future__ import annotations

import json

import pytest
from aws_moto import (
    REGION,
    account,
    aws_env,
    clients,
    config_text,
    create_role,
    everything,
    gateway_clients,
    journal_lines,
    lambench,
    moto_server,
)

FUNCTION = "lambench-moto"


@pytest.fixture(scope="module")
def moto_url():
    with moto_server() as url:
        yield url


def deploy(url: str, folder, *extra: str):
    (folder / "bench.toml").write_text(config_text(folder / "reports"))
    result = lambench(["deploy", "--target", "aws", "--yes", *extra], aws_env(url), folder)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    lines = dict(line.split("=", 1) for line in result.stdout.splitlines() if line.startswith("LAMBENCH_APIGW_"))
    (run_dir,) = [p for p in (folder / "reports").iterdir() if p.name.startswith("deploy-")]
    return result, lines, run_dir


def test_deploy_creates_function_apis_logging_permissions_and_role_and_teardown_removes_them(moto_url, tmp_path):
    before = everything(moto_url)
    result, urls, run_dir = deploy(moto_url, tmp_path)
    c = gateway_clients(moto_url)

    # The function, a version and alias per memory size.
    aliases = {a["Name"]: a["FunctionVersion"] for a in c["lambda"].list_aliases(FunctionName=FUNCTION)["Aliases"]}
    assert set(aliases) == {"mem-128", "mem-512"}
    configs = {v: c["lambda"].get_function_configuration(FunctionName=FUNCTION, Qualifier=v) for v in aliases.values()}
    assert sorted(conf["MemorySize"] for conf in configs.values()) == [128, 512]

    # Its execution role: created for the deploy, with the basic logging policy only.
    role_name = c["lambda"].get_function_configuration(FunctionName=FUNCTION)["Role"].rsplit("/", 1)[1]
    iam = clients(moto_url)["iam"]
    attached = iam.list_attached_role_policies(RoleName=role_name)["AttachedPolicies"]
    assert [p["PolicyName"] for p in attached] == ["AWSLambdaBasicExecutionRole"]

    # The HTTP API: payload 2.0 proxy integration selected by stage variable, a stage per alias.
    (http,) = [a for a in c["apigatewayv2"].get_apis()["Items"] if a["Name"].startswith("lambench-")]
    (integration,) = c["apigatewayv2"].get_integrations(ApiId=http["ApiId"])["Items"]
    assert integration["IntegrationType"] == "AWS_PROXY" and integration["PayloadFormatVersion"] == "2.0"
    assert integration["IntegrationUri"].endswith(f"function:{FUNCTION}:${{stageVariables.alias}}")
    routes = {r["RouteKey"] for r in c["apigatewayv2"].get_routes(ApiId=http["ApiId"])["Items"]}
    assert routes == {"ANY /", "ANY /{proxy+}"}
    http_stages = {s["StageName"]: s for s in c["apigatewayv2"].get_stages(ApiId=http["ApiId"])["Items"]}
    assert set(http_stages) == set(aliases)
    for name, stage in http_stages.items():
        assert stage["StageVariables"] == {"alias": name}
        assert_access_log(stage["AccessLogSettings"]["DestinationArn"], stage["AccessLogSettings"]["Format"])

    # The REST API: payload 1.0 proxy on / and /{proxy+}, a stage per alias with access logging.
    (rest,) = [a for a in c["apigateway"].get_rest_apis()["items"] if a["name"].startswith("lambench-")]
    resources = {r["path"]: r for r in c["apigateway"].get_resources(restApiId=rest["id"])["items"]}
    assert set(resources) == {"/", "/{proxy+}"}
    for resource in resources.values():
        method = c["apigateway"].get_integration(restApiId=rest["id"], resourceId=resource["id"], httpMethod="ANY")
        assert method["type"] == "AWS_PROXY" and method["httpMethod"] == "POST"
        assert f"function:{FUNCTION}:${{stageVariables.alias}}/invocations" in method["uri"]
    rest_stages = {s["stageName"]: s for s in c["apigateway"].get_stages(restApiId=rest["id"])["item"]}
    assert set(rest_stages) == set(aliases)
    for name, stage in rest_stages.items():
        assert stage["variables"] == {"alias": name}
        assert_access_log(stage["accessLogSettings"]["destinationArn"], stage["accessLogSettings"]["format"])
    # REST access logs need API Gateway's account-wide CloudWatch Logs role; there was none.
    assert before["apigw_logs_role"] is None
    logs_role = c["apigateway"].get_account()["cloudwatchRoleArn"]
    attached = iam.list_attached_role_policies(RoleName=logs_role.rsplit("/", 1)[1])["AttachedPolicies"]
    assert [p["PolicyName"] for p in attached] == ["AmazonAPIGatewayPushToCloudWatchLogs"]

    # The log group both access logs go to: the one bench/collect/correlate.py reads by default.
    groups = {g["logGroupName"] for g in clients(moto_url)["logs"].describe_log_groups()["logGroups"]}
    assert f"/aws/apigateway/{FUNCTION}" in groups

    # The permissions: API Gateway may invoke each alias, from that API only.
    journal = journal_lines(run_dir)
    permissions = [line for line in journal if line.get("kind") == "permission" and line["op"] == "create"]
    assert {(p["qualifier"], p["statement_id"].rsplit("-", 1)[1]) for p in permissions} == {
        (alias, kind) for alias in aliases for kind in ("http", "rest")
    }
    for alias in aliases:
        statements = json.loads(c["lambda"].get_policy(FunctionName=FUNCTION, Qualifier=alias)["Policy"])["Statement"]
        sources = {s["Condition"]["ArnLike"]["AWS:SourceArn"] for s in statements}
        assert {s["Principal"]["Service"] for s in statements} == {"apigateway.amazonaws.com"}
        assert {f":{http['ApiId']}/*", f":{rest['id']}/*"} <= {":" + src.rsplit(":", 1)[1] for src in sources}

    # What the load needs on AWS, printed.
    assert urls["LAMBENCH_APIGW_REST_URL"] == f"https://{rest['id']}.execute-api.{REGION}.amazonaws.com"
    assert http["ApiId"] in urls["LAMBENCH_APIGW_HTTP_URL"]
    assert urls["LAMBENCH_APIGW_ACCESS_LOG_GROUP"] == f"/aws/apigateway/{FUNCTION}"
    assert f"lambench teardown {run_dir}" in result.stdout

    # Every resource was journaled before it was made: the journal names all of the above.
    kinds = {line["kind"] for line in journal if line["op"] == "create"}
    assert kinds == {"role", "role_policy", "function", "log_group", "version", "alias", "permission", "http_api",
                     "rest_api"}  # fmt: skip

    torn = lambench(["teardown", str(run_dir)], aws_env("http://127.0.0.1:1"), tmp_path)
    # AWS_ENDPOINT_URL above points nowhere: teardown goes where the journal says the deploy went.
    assert torn.returncode == 0, torn.stdout + torn.stderr
    assert "removed: REST API" in torn.stdout and "restored: API Gateway's CloudWatch Logs role" in torn.stdout
    assert everything(moto_url) == before
    again = lambench(["teardown", str(run_dir)], aws_env(moto_url), tmp_path)
    assert again.returncode == 0 and "nothing left to remove" in again.stdout


def test_role_arn_and_an_existing_logs_role_are_used_and_kept(moto_url, tmp_path):
    """With --role-arn and an account that has its CloudWatch Logs role, no role is created and
    the account's setting is left alone; a teardown after someone deleted an API still finishes."""
    role = create_role(moto_url, "users-execution-role")
    logs_role = create_role(moto_url, "users-apigw-logs-role")
    c = gateway_clients(moto_url)
    c["apigateway"].update_account(
        patchOperations=[{"op": "replace", "path": "/cloudwatchRoleArn", "value": logs_role}]
    )
    before = everything(moto_url)
    _result, _urls, run_dir = deploy(moto_url, tmp_path, "--role-arn", role)
    assert c["lambda"].get_function_configuration(FunctionName=FUNCTION)["Role"] == role
    assert set(account(moto_url)["roles"]) == set(before["roles"])
    assert c["apigateway"].get_account()["cloudwatchRoleArn"] == logs_role
    (http,) = [a for a in c["apigatewayv2"].get_apis()["Items"] if a["Name"].startswith("lambench-")]
    c["apigatewayv2"].delete_api(ApiId=http["ApiId"])  # someone tidied up, in part

    torn = lambench(["teardown", str(run_dir)], aws_env(moto_url), tmp_path)
    assert torn.returncode == 0, torn.stdout + torn.stderr
    assert everything(moto_url) == before


def test_deploy_refuses_without_yes_and_a_terminal(moto_url, tmp_path):
    before = everything(moto_url)
    (tmp_path / "bench.toml").write_text(config_text(tmp_path / "reports"))
    result = lambench(["deploy", "--target", "aws"], aws_env(moto_url), tmp_path)
    assert result.returncode == 2 and "pass --yes" in result.stderr
    assert everything(moto_url) == before


def assert_access_log(destination: str, log_format: str) -> None:
    assert destination.endswith(f":log-group:/aws/apigateway/{FUNCTION}")
    fields = json.loads(log_format)
    # The two ids the join reads (bench/collect/correlate.py access_log_ids).
    assert fields["requestId"] == "$context.requestId"
    assert fields["integrationRequestId"] in ("$context.integration.requestId", "$context.awsEndpointRequestId")
