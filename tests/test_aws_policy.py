"""docs/aws.md's IAM policy holds exactly the actions lambench calls.

The operations are recorded by botocore's before-call event on every client bench/awsclient.py
makes (LAMBENCH_AWS_CALL_LOG) while lambench runs against moto's server: a run of the sample, a
run of the sample through both APIs (which it creates and removes), a run of a user's own
function, `lambench teardown`, `lambench deploy --target aws` (both APIs) with its teardown, and
`lambench deploy` twice (the second updates the aliases). The actions
that cannot be seen that way are named below, each with its reason. IAM names API Gateway's
actions by HTTP method (apigateway:POST, ...) for both of its APIs; botocore's models give each
operation's method.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import botocore.session
from aws_moto import (
    ACCOUNT,
    aws_env,
    clients,
    config_text,
    create_role,
    lambench,
    moto_server,
    no_execute_api_env,
    run_dirs,
)

POLICY_DOC = Path(__file__).resolve().parent.parent / "docs" / "aws.md"
# botocore's operation name where IAM's action differs from it.
ACTION_OF = {"lambda:Invoke": "lambda:InvokeFunction"}
# In the policy but never a boto3 call of ours here, each for its reason:
UNSEEN = {
    "iam:PassRole": "authorization only: checked by CreateFunction when it hands the role to Lambda",
    "lambda:UpdateFunctionCode": "a deploy over an existing function whose code changed; same code here",
    # The API Gateway log join reads the access log and the REPORT lines of calls that reached the
    # function; moto serves no execute-api, so no gateway call does here (tests/test_aws_gateway_runs.py).
    "logs:FilterLogEvents": "the log join after a run through API Gateway; no gateway call is answered on moto",
    # What API Gateway checks of the caller when a stage of an HTTP API gets access logging
    # (docs: apigateway/latest/developerguide/http-api-logging.html); no call of ours.
    **{
        f"logs:{action}": "authorization only: an HTTP API stage's access logging delivers through these"
        for action in (
            "CreateLogDelivery",
            "DeleteLogDelivery",
            "DescribeResourcePolicies",
            "GetLogDelivery",
            "ListLogDeliveries",
            "PutResourcePolicy",
            "UpdateLogDelivery",
        )
    },  # fmt: skip
}


def iam_action(call: str) -> str:
    """The IAM action a logged ``signing_name:Operation`` needs."""
    if call in ACTION_OF:
        return ACTION_OF[call]
    service, operation = call.split(":", 1)
    if service != "apigateway":
        return call
    session = botocore.session.get_session()
    for model in ("apigateway", "apigatewayv2"):  # both sign as "apigateway"
        operations = session.get_service_model(model)
        if operation in operations.operation_names:
            return f"apigateway:{operations.operation_model(operation).http['method']}"
    raise AssertionError(f"{call}: in neither API Gateway model")


def policy_actions() -> set[str]:
    (block,) = re.findall(r"```json\n(.*?)```", POLICY_DOC.read_text(), re.S)
    policy = json.loads(block)
    return {action for statement in policy["Statement"] for action in statement["Action"]}


def test_the_policy_allows_every_call_and_nothing_more(tmp_path):
    log = tmp_path / "calls.log"
    with moto_server() as url:
        env = aws_env(url, log)
        (tmp_path / "bench.toml").write_text(config_text(tmp_path / "reports", run_time_s=1))
        assert lambench(["run", "--yes"], env, tmp_path).returncode == 0
        (run_dir,) = [d for d in run_dirs(tmp_path / "reports") if not d.name.startswith("deploy-")]
        assert lambench(["teardown", str(run_dir)], env, tmp_path).returncode == 0
        gateway_run = tmp_path / "through-apis"
        gateway_run.mkdir()
        paths = ("direct", "apigw-http", "apigw-rest")
        (gateway_run / "bench.toml").write_text(config_text(gateway_run / "reports", run_time_s=1, paths=paths))
        through = lambench(["run", "--yes"], no_execute_api_env(url, log), gateway_run)
        assert through.returncode == 0, through.stderr
        gateways = lambench(["deploy", "--target", "aws", "--yes"], env, tmp_path)
        assert gateways.returncode == 0, gateways.stderr
        (deploy_dir,) = [d for d in run_dirs(tmp_path / "reports") if d.name.startswith("deploy-")]
        assert lambench(["teardown", str(deploy_dir)], env, tmp_path).returncode == 0

        from bench.targets import DEFAULT_ROLE, zip_folder

        create_role(url, DEFAULT_ROLE.rsplit("/", 1)[1])
        for _ in range(2):
            deployed = lambench(["deploy"], env, tmp_path)
            assert deployed.returncode == 0, deployed.stderr
        arn = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:users"
        clients(url)["lambda"].create_function(
            FunctionName="users", Runtime="python3.12", Role=DEFAULT_ROLE, Handler="app.lambda_handler",
            Code={"ZipFile": zip_folder(Path(__file__).parent.parent / "targets" / "cpu_bound")},
        )  # fmt: skip
        used = lambench(["run", "--yes", "--function", arn], env, tmp_path)
        assert used.returncode == 0, used.stderr
    called = {iam_action(line) for line in log.read_text().split()}
    allowed = policy_actions()
    assert called - allowed == set(), "called but not in docs/aws.md's policy"
    assert allowed - called - set(UNSEEN) == set(), "in the policy but never called"
    assert {"lambda:InvokeFunction", "lambda:UpdateAlias", "iam:CreateRole", "logs:DeleteLogGroup"} <= called
    assert {"apigateway:POST", "apigateway:PATCH", "lambda:AddPermission", "lambda:RemovePermission"} <= called
