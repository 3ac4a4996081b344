"""``lambench deploy --target aws``: the sample function on AWS with an HTTP API and a REST API in front.

What the emulator's fronts (bench/emulator/apigw.py) give a local run, this builds on AWS, so that
``[load] paths = ["apigw-http", "apigw-rest"]`` and the access-log join (bench/collect/correlate.py)
work there with no manual step:
- the function, its versions and ``mem-<MB>`` aliases (VariantDeployer), with an execution role
  of its own (only AWSLambdaBasicExecutionRole) unless ``--role-arn`` names one;
- an HTTP API (payload 2.0) and a REST API (payload 1.0, Lambda proxy), each with one stage per
  alias. One integration serves every stage: its URI ends in ``:${stageVariables.alias}`` and each
  stage sets ``alias``, so stage ``mem-512`` invokes alias ``mem-512``, as on the emulator;
- per alias and API, the Lambda permission that lets API Gateway invoke it (scoped to that API);
- the log group ``/aws/apigateway/<function>`` (the join's default) and, on every stage, a JSON
  access log with ``requestId`` beside ``integrationRequestId``, the two ids the join needs.
  REST APIs log only through an account-wide CloudWatch Logs role (API Gateway's account
  setting): if the region has none, a role is created and set, and put back to none at teardown.

Everything goes to ``RUN_DIR/journal.jsonl`` before it is created (bench/targets/journal.py);
``lambench teardown RUN_DIR`` removes it all. Nothing is removed at the end of the deploy: the
APIs are for later runs. ``lambench run`` creates the same APIs for the run alone when its
paths need them (bench/targets/awsrun.py), and removes them with the rest when it ends.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TextIO

from botocore.exceptions import ClientError

from bench import awsclient
from bench.awsfacts import apigw_access_log_group, lambda_log_group
from bench.targets.awsrun import (
    GATEWAY_SERVICES,
    SERVICES,
    AwsRunOptions,
    _confirm,
    _existing_config,
    _role_plan,
    _teardown,
    clients_for,
    deploy_sample,
    endpoints_for,
)
from bench.targets.journal import Clients, Journal
from bench.targets.spec import FunctionSpec
from bench.targets.variants import Variant, alias_name

STAGE_VARIABLE = "alias"
# The keys bench/collect/correlate.py reads (requestId, integrationRequestId) and the rest of
# what the emulator's fronts write, so that one access log reads the same from either.
# HTTP API names the Lambda request id $context.integration.requestId; REST API,
# $context.awsEndpointRequestId. Values are quoted: a JSON format must stay JSON when one is "-".
HTTP_ACCESS_LOG = {
    "requestId": "$context.requestId",
    "integrationRequestId": "$context.integration.requestId",
    "apiKind": "http",
    "stage": "$context.stage",
    "routeKey": "$context.routeKey",
    "httpMethod": "$context.httpMethod",
    "status": "$context.status",
    "responseLatency": "$context.responseLatency",
    "integrationLatency": "$context.integrationLatency",
    "requestTimeEpoch": "$context.requestTimeEpoch",
}
REST_ACCESS_LOG = {
    "requestId": "$context.requestId",
    "integrationRequestId": "$context.awsEndpointRequestId",
    "apiKind": "rest",
    "stage": "$context.stage",
    "routeKey": "$context.resourcePath",
    "httpMethod": "$context.httpMethod",
    "status": "$context.status",
    "responseLatency": "$context.responseLatency",
    "integrationLatency": "$context.integrationLatency",
    "requestTimeEpoch": "$context.requestTimeEpoch",
}
APIGW_TRUST_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "apigateway.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ],
}
PUSH_TO_LOGS_POLICY = "policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs"
# A role set a moment ago is not yet usable by API Gateway (IAM is eventually consistent):
# UpdateAccount answers BadRequestException for some seconds. AWS says "a few seconds"; 60 s here.
ROLE_READY_ATTEMPTS = 30
ROLE_READY_DELAY_S = 2.0


@dataclass(frozen=True)
class Gateways:
    """What the load needs to call the APIs: their base URLs (a stage per alias after them).

    An API not created (a run whose paths need only the other) has None for its URL and id."""

    http_url: str | None
    rest_url: str | None
    http_api_id: str | None
    rest_api_id: str | None
    access_log_group: str


def plan_lines(kinds: tuple[str, ...], function_name: str) -> list[str]:
    """What creating the APIs of ``kinds`` adds to the confirmation's list."""
    if not kinds:
        return []
    apis = " and ".join({"http": "an HTTP API", "rest": "a REST API"}[k] for k in kinds)
    lines = [f"{apis}, a stage per alias, and their permissions on each alias"]
    logs_role = " (and, if this region has none, API Gateway's CloudWatch Logs role)" if "rest" in kinds else ""
    return lines + [f"log group {apigw_access_log_group(function_name)} for their access logs{logs_role}"]


@dataclass(frozen=True)
class Where:
    """The account, region and partition that ARNs are built from."""

    account: str
    region: str
    partition: str

    def arn(self, service: str, resource: str) -> str:
        return f"arn:{self.partition}:{service}:{self.region}:{self.account}:{resource}"


class GatewayDeployer:
    """Creates the two APIs, their permissions and access logging in front of deployed variants."""

    def __init__(self, clients: Clients, journal: Journal, where: Where, tag: str, console: Any) -> None:
        self._c = clients
        self._journal = journal
        self._where = where
        self._tag = tag  # unique per deploy: the APIs' names, the statement ids, the role's name
        self._console = console

    def deploy(
        self, function_name: str, function_arn: str, variants: list[Variant], kinds: tuple[str, ...] = ("http", "rest")
    ) -> Gateways:
        """The APIs of ``kinds`` ("http", "rest") in front of ``variants``, with their access logging."""
        group = self._ensure_log_group(apigw_access_log_group(function_name))
        group_arn = self._where.arn("logs", f"log-group:{group}")
        http_id: str | None = None
        http_url: str | None = None
        rest_id: str | None = None
        rest_url: str | None = None
        if "http" in kinds:
            http_id, http_url = self._http_api(function_arn, variants, group_arn)
            self.permit(function_name, variants, http_id, "http")
        if "rest" in kinds:
            self._ensure_rest_logging_role()
            rest_id, rest_url = self._rest_api(function_arn, variants, group_arn)
            self.permit(function_name, variants, rest_id, "rest")
        return Gateways(http_url, rest_url, http_id, rest_id, group)

    # -- log group

    def _ensure_log_group(self, name: str) -> str:
        groups = self._c.logs.describe_log_groups(logGroupNamePrefix=name)["logGroups"]
        if any(group["logGroupName"] == name for group in groups):
            return name  # someone's already, or a kept one: used, never removed
        self._journal.create("log_group", name=name)
        self._c.logs.create_log_group(logGroupName=name)
        return name

    # -- HTTP API

    def _http_api(self, function_arn: str, variants: list[Variant], group_arn: str) -> tuple[str, str]:
        v2 = self._c.apigatewayv2
        name = f"lambench-{self._tag}-http"
        self._console.print(f"[bold]HTTP API[/] {name}: stages {', '.join(v.name for v in variants)} ...")
        self._journal.create("http_api", name=name)
        api = v2.create_api(Name=name, ProtocolType="HTTP", Description="lambench: HTTP API (payload 2.0)")
        api_id = api["ApiId"]
        self._journal.write(op="created", kind="http_api", name=name, id=api_id)
        integration = v2.create_integration(
            ApiId=api_id, IntegrationType="AWS_PROXY", IntegrationMethod="POST", PayloadFormatVersion="2.0",
            IntegrationUri=f"{function_arn}:${{stageVariables.{STAGE_VARIABLE}}}",
        )  # fmt: skip
        for route in ("ANY /", "ANY /{proxy+}"):
            v2.create_route(ApiId=api_id, RouteKey=route, Target=f"integrations/{integration['IntegrationId']}")
        for variant in variants:
            v2.create_stage(
                ApiId=api_id, StageName=variant.name, AutoDeploy=True, StageVariables={STAGE_VARIABLE: variant.name},
                AccessLogSettings={"DestinationArn": group_arn, "Format": json.dumps(HTTP_ACCESS_LOG)},
            )  # fmt: skip
        url = api.get("ApiEndpoint") or f"https://{api_id}.execute-api.{self._where.region}.amazonaws.com"
        return api_id, str(url)

    # -- REST API

    def _ensure_rest_logging_role(self) -> None:
        """REST API access logs need API Gateway's account-wide CloudWatch Logs role: set one if there is none."""
        gw = self._c.apigateway
        before = gw.get_account().get("cloudwatchRoleArn") or ""
        if before:
            return  # the account's own: used as it is
        name = f"lambench-{self._tag}-apigw-logs"
        self._console.print(f"[bold]role[/] {name} (API Gateway's CloudWatch Logs role for this region) ...")
        self._journal.create("role", name=name)
        role = self._c.iam.create_role(
            RoleName=name, AssumeRolePolicyDocument=json.dumps(APIGW_TRUST_POLICY),
            Description="lambench: lets API Gateway write REST API access logs; removed at teardown",
        )  # fmt: skip
        policy = f"arn:{self._where.partition}:iam::aws:{PUSH_TO_LOGS_POLICY}"
        self._journal.create("role_policy", role=name, policy_arn=policy)
        self._c.iam.attach_role_policy(RoleName=name, PolicyArn=policy)
        arn = str(role["Role"]["Arn"])
        self._journal.write(op="change", kind="apigw_account", before=before, after=arn)
        patch = [{"op": "replace", "path": "/cloudwatchRoleArn", "value": arn}]
        for _attempt in range(ROLE_READY_ATTEMPTS - 1):
            try:
                gw.update_account(patchOperations=patch)
                return
            except ClientError as error:
                if error.response.get("Error", {}).get("Code") != "BadRequestException":
                    raise
            time.sleep(ROLE_READY_DELAY_S)
        gw.update_account(patchOperations=patch)

    def _rest_api(self, function_arn: str, variants: list[Variant], group_arn: str) -> tuple[str, str]:
        gw = self._c.apigateway
        name = f"lambench-{self._tag}-rest"
        self._console.print(f"[bold]REST API[/] {name}: stages {', '.join(v.name for v in variants)} ...")
        self._journal.create("rest_api", name=name)
        api = gw.create_rest_api(
            name=name, description="lambench: REST API (payload 1.0, Lambda proxy)",
            endpointConfiguration={"types": ["REGIONAL"]},
        )  # fmt: skip
        api_id = api["id"]
        self._journal.write(op="created", kind="rest_api", name=name, id=api_id)
        (root,) = [r for r in gw.get_resources(restApiId=api_id)["items"] if r["path"] == "/"]
        proxy = gw.create_resource(restApiId=api_id, parentId=root["id"], pathPart="{proxy+}")
        target = f"{function_arn}:${{stageVariables.{STAGE_VARIABLE}}}"
        where = self._where
        uri = f"arn:{where.partition}:apigateway:{where.region}:lambda:path/2015-03-31/functions/{target}/invocations"
        for resource in (root, proxy):
            gw.put_method(restApiId=api_id, resourceId=resource["id"], httpMethod="ANY", authorizationType="NONE")
            gw.put_integration(restApiId=api_id, resourceId=resource["id"], httpMethod="ANY", type="AWS_PROXY",
                               integrationHttpMethod="POST", uri=uri)  # fmt: skip
        deployment = gw.create_deployment(restApiId=api_id, description="lambench")
        log_settings = [
            {"op": "replace", "path": "/accessLogSettings/destinationArn", "value": group_arn},
            {"op": "replace", "path": "/accessLogSettings/format", "value": json.dumps(REST_ACCESS_LOG)},
        ]
        for variant in variants:
            gw.create_stage(restApiId=api_id, stageName=variant.name, deploymentId=deployment["id"],
                            variables={STAGE_VARIABLE: variant.name})  # fmt: skip
            # CreateStage takes no access-log settings on REST APIs: UpdateStage sets them.
            gw.update_stage(restApiId=api_id, stageName=variant.name, patchOperations=log_settings)
        return api_id, f"https://{api_id}.execute-api.{self._where.region}.amazonaws.com"

    # -- permissions

    def permit(self, function_name: str, variants: list[Variant], api_id: str, kind: str) -> None:
        """Let this API, and only it, invoke each alias: one statement on each alias's policy.

        ``api_id`` "*": any API of the account (a user's API known only by a custom domain)."""
        source = self._where.arn("execute-api", f"{api_id}/*")
        sid = f"lambench-{self._tag}-{kind}"
        for variant in variants:
            self._journal.create("permission", function=function_name, qualifier=variant.name, statement_id=sid)
            self._c.lambda_.add_permission(
                FunctionName=function_name, Qualifier=variant.name, StatementId=sid,
                Action="lambda:InvokeFunction", Principal="apigateway.amazonaws.com", SourceArn=source,
            )  # fmt: skip


@dataclass(frozen=True)
class DeployResult:
    run_dir: Path
    variants: list[Variant]
    gateways: Gateways


def deploy_with_gateways(
    spec: FunctionSpec,
    memory_mb: tuple[int, ...],
    target: Any,
    run_dir: Path,
    deploy_id: str,
    console: Any,
    options: AwsRunOptions,
    role_arn: str | None = None,
    stdin: TextIO | None = None,
) -> DeployResult:
    """Confirm, then create (journaled) the function, its variants and both APIs; nothing is removed."""
    region = target.region
    endpoints = endpoints_for(target.endpoint, region, SERVICES + GATEWAY_SERVICES)
    identity = awsclient.client("sts", endpoints["sts"], region).get_caller_identity()
    account = str(identity["Account"])
    partition = str(identity.get("Arn", "arn:aws:")).split(":")[1] or "aws"
    clients = clients_for(endpoints, region)
    spec = replace(spec, role=role_arn) if role_arn else spec
    existing = _existing_config(clients.lambda_, spec.name)
    role_plan = _role_plan(spec.name, spec, existing, False, deploy_id)
    _confirm(_plan_lines(spec, memory_mb, existing, role_plan, run_dir), identity, region, endpoints, options,
             console, stdin)  # fmt: skip
    run_dir.mkdir(parents=True, exist_ok=True)
    journal = Journal.start(run_dir, region, endpoints)
    journal.write(op="account", account=account)
    try:
        variants = deploy_sample(clients, journal, spec, memory_mb, role_plan, identity, deploy_id, console)
        function_arn = variants[0].alias_arn.rsplit(":", 1)[0]
        where = Where(account, region, partition)
        gateways = GatewayDeployer(clients, journal, where, deploy_id, console).deploy(
            spec.name, function_arn, variants
        )
    except BaseException:
        # Half a deploy is of no use to a run: remove it (Ctrl-C included), as a failed run does.
        _teardown(journal, clients, console)
        raise
    return DeployResult(run_dir, variants, gateways)


def _plan_lines(spec: FunctionSpec, memory_mb: tuple[int, ...], existing: Any, role: str | None,
                run_dir: Path) -> list[str]:  # fmt: skip
    aliases = ", ".join(alias_name(m) for m in memory_mb)
    lines = [f"role {role} (AWSLambdaBasicExecutionRole only)"] if role else []
    if existing is None:
        lines.append(f"function {spec.name} and its log group {lambda_log_group(spec.name)}")
    else:
        lines.append(f"(function {spec.name} exists: its code and settings are updated and it is kept)")
    return [
        *lines,
        f"{len(memory_mb)} versions and aliases {aliases}",
        *plan_lines(("http", "rest"), spec.name),
        f"kept until `lambench teardown {run_dir}` (journal: {run_dir / 'journal.jsonl'})",
    ]
