"""`lambench run` on AWS through API Gateway, against moto's server: the APIs it creates, and the user's.

With ``[load] paths`` through API Gateway, a run of the sample creates an HTTP API and a REST API
in front of its variants (as `lambench deploy --target aws` does), lists them in the confirmation,
journals them, drives them and removes them with the rest; a run of the user's own function calls
the user's API, by the URL given, and never changes it. The account is listed before and after
(functions, versions, aliases, log groups, roles, every API with its stages, integrations and
routes, API Gateway's CloudWatch Logs role, every function's and alias's permissions) and must
match, after a finished run and after a SIGKILL followed by `lambench teardown`.

What moto cannot show:
- a call through an API: moto's server does not serve execute-api (nothing of moto's answers at
  https://ID.execute-api.REGION.amazonaws.com; its maintainers say HTTP calls to a mocked API work
  only in its in-process decorator mode, getmoto/moto#5069 and #6030). So every gateway call here
  goes to a proxy at a closed port on 127.0.0.1 (HTTPS_PROXY, which the gateway users honour) and
  fails to connect: the tests check that each is recorded as a transport_error naming the failure,
  and that the run says no call of those paths reached the function, rather than report figures.
  The calls themselves, their access-log lines and the log join are covered on the emulator's
  fronts (tests/test_apigw_join.py);
- the join on AWS (FilterLogEvents on the access-log group, the wait for late lines): with no
  call answered there is nothing to join; bench/collect/correlate.py's wait is bounded and says
  which log lacked what.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from aws_moto import (
    ACCOUNT,
    REGION,
    clients,
    config_text,
    create_role,
    everything,
    gateway_clients,
    journal_lines,
    lambench,
    moto_server,
    no_execute_api_env,
    run_dirs,
    run_interrupted_mid_load,
    run_killed_mid_load,
)

from bench.collect.store import read_records

GATEWAYS = ("direct", "apigw-http", "apigw-rest")
USERS = "users-own"


@pytest.fixture(scope="module")
def moto_url():
    """moto, with someone else's function behind someone else's HTTP API and REST API: both must survive."""
    with moto_server() as url:
        users_function_and_api(url, "someone-elses")
        rest = gateway_clients(url)["apigateway"]
        api = rest.create_rest_api(name="someone-elses-rest")
        root = rest.get_resources(restApiId=api["id"])["items"][0]
        rest.put_method(restApiId=api["id"], resourceId=root["id"], httpMethod="GET", authorizationType="NONE")
        rest.put_integration(restApiId=api["id"], resourceId=root["id"], httpMethod="GET", type="MOCK")
        deployment = rest.create_deployment(restApiId=api["id"])
        rest.create_stage(restApiId=api["id"], stageName="prod", deploymentId=deployment["id"])
        yield url


def users_function_and_api(url: str, name: str) -> tuple[str, str]:
    """A function of the user's own with aliases mem-128 and mem-512, behind the user's own HTTP API
    (one stage per alias, Lambda proxy through a stage variable, a JSON access log): what docs/aws.md
    asks of the user's API. Returns the function's ARN and the API's invoke URL."""
    from bench.targets import zip_folder

    c, gw = clients(url), gateway_clients(url)
    role = create_role(url, f"{name}-role")
    arn = c["lambda"].create_function(
        FunctionName=name, Runtime="python3.12", Role=role, Handler="app.lambda_handler",
        Code={"ZipFile": zip_folder(Path(__file__).parent.parent / "targets" / "cpu_bound")},
    )["FunctionArn"]  # fmt: skip
    c["logs"].create_log_group(logGroupName=f"/aws/apigateway/{name}")
    api = gw["apigatewayv2"].create_api(Name=f"{name}-http", ProtocolType="HTTP")
    integration = gw["apigatewayv2"].create_integration(
        ApiId=api["ApiId"], IntegrationType="AWS_PROXY", PayloadFormatVersion="2.0",
        IntegrationUri=f"{arn}:${{stageVariables.alias}}",
    )  # fmt: skip
    gw["apigatewayv2"].create_route(ApiId=api["ApiId"], RouteKey="ANY /{proxy+}",
                                    Target=f"integrations/{integration['IntegrationId']}")  # fmt: skip
    group_arn = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/apigateway/{name}"
    log_format = json.dumps(
        {"requestId": "$context.requestId", "integrationRequestId": "$context.integration.requestId"}
    )
    for stage in ("mem-128", "mem-512"):
        gw["apigatewayv2"].create_stage(
            ApiId=api["ApiId"], StageName=stage, AutoDeploy=True, StageVariables={"alias": stage},
            AccessLogSettings={"DestinationArn": group_arn, "Format": log_format},
        )  # fmt: skip
    return arn, f"https://{api['ApiId']}.execute-api.{REGION}.amazonaws.com"


def confirmation(stdout: str) -> str:
    """The list under "lambench will create:", as printed before the question."""
    lines = stdout.split("lambench will create:\n", 1)[1].splitlines()
    return "\n".join(line for line in lines[: next(i for i, x in enumerate(lines) if not x.startswith("  "))])


def created(run_dir: Path) -> set[tuple[str, str]]:
    return {
        (line["kind"], line.get("name") or line.get("description") or line.get("qualifier"))
        for line in journal_lines(run_dir)
        if line["op"] == "create"
    }


def test_a_run_through_both_gateways_creates_the_apis_and_leaves_the_account_as_found(moto_url, tmp_path):
    before = everything(moto_url)
    (tmp_path / "bench.toml").write_text(config_text(tmp_path / "reports", paths=GATEWAYS))
    result = lambench(["run", "--yes"], no_execute_api_env(moto_url), tmp_path)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    (run_dir,) = run_dirs(tmp_path / "reports")
    run_id = run_dir.name

    # The confirmation listed the APIs among what the run would create.
    plan = confirmation(result.stdout)
    assert "an HTTP API and a REST API, a stage per alias" in plan
    assert "log group /aws/apigateway/lambench-moto for their access logs" in plan

    # Journaled before they were made, then removed with the rest.
    made = created(run_dir)
    assert {("http_api", f"lambench-{run_id}-http"), ("rest_api", f"lambench-{run_id}-rest")} <= made
    assert {("permission", alias) for alias in ("mem-128", "mem-512")} <= made
    assert ("log_group", "/aws/apigateway/lambench-moto") in made
    assert journal_lines(run_dir)[-1] == {"op": "teardown"}
    assert "removed: HTTP API" in result.stdout and "removed: REST API" in result.stdout
    assert everything(moto_url) == before

    # The load was given the APIs' URLs and their access-log group.
    info = json.loads((run_dir / "run.json").read_text())
    apis = info["aws"]["apis"]
    assert apis["created"] is True and apis["access_log_group"] == "/aws/apigateway/lambench-moto"
    for kind in ("http", "rest"):
        assert ".execute-api.us-east-1.amazonaws.com" in apis[f"{kind}_url"]

    # Every gateway call failed to connect, and is recorded so, with its cause named.
    records = read_records(run_dir / "records.sqlite")
    by_path: dict[str, set[tuple[str, str | None]]] = {}
    for record in records:
        by_path.setdefault(record.path, set()).add((record.status, record.error_type))
    assert by_path["apigw-http"] == by_path["apigw-rest"] == {("transport_error", "ConnectionRefusedError")}
    assert ("ok", None) in by_path["direct"]
    # The run says so, under the table and in run.json (the report lists it), rather than pretend.
    assert set(info["unreached"]) == {"apigw-http", "apigw-rest"}
    assert "none of" in info["unreached"]["apigw-rest"] and "ConnectionRefusedError" in info["unreached"]["apigw-rest"]
    unreached = [line for line in result.stdout.splitlines() if line.startswith("unreached ")]
    assert [line.split()[1] for line in unreached] == ["apigw-http:", "apigw-rest:"]
    page = (run_dir / "report.html").read_text()
    assert "Unreached" in page and page.index("Unreached") < page.index('id="facts"')  # at the top
    assert "join" not in info  # no call reached the function: nothing to join, nothing waited for


def test_sigkill_mid_run_then_teardown_removes_the_apis_too(moto_url, tmp_path):
    """A SIGKILL runs no cleanup: `lambench teardown` removes the APIs, their permissions, the log
    group and API Gateway's CloudWatch Logs role setting from the journal alone."""
    before = everything(moto_url)
    (tmp_path / "bench.toml").write_text(config_text(tmp_path / "reports", run_time_s=600, paths=GATEWAYS))
    run_dir = run_killed_mid_load(tmp_path, no_execute_api_env(moto_url), 90)
    during = everything(moto_url)
    assert len(during["http_apis"]) == len(before["http_apis"]) + 1
    assert len(during["rest_apis"]) == len(before["rest_apis"]) + 1
    assert during["apigw_logs_role"] is not None and before["apigw_logs_role"] is None

    torn = lambench(["teardown", str(run_dir)], no_execute_api_env("http://127.0.0.1:1"), tmp_path)
    # AWS_ENDPOINT_URL above points nowhere: teardown goes where the journal says the run went.
    assert torn.returncode == 0, torn.stdout + torn.stderr
    assert "removed: HTTP API" in torn.stdout and "restored: API Gateway's CloudWatch Logs role" in torn.stdout
    assert everything(moto_url) == before


def test_users_function_is_called_through_the_users_api_which_is_never_changed(moto_url, tmp_path):
    """The URL by flag, the access-log group by [target] key; the run creates no API. A resource
    policy covers one alias, so the user's API may invoke the run's temporary aliases only through a
    permission on each, which the run adds and removes with them. moto's RemovePermission ignores
    the qualifier (tests/test_aws_gateways.py), so here the removal shows through the aliases' deletion."""
    arn, url = users_function_and_api(moto_url, USERS)
    before = everything(moto_url)
    target = 'apigw_access_log_group = "/aws/apigateway/users-own"'
    (tmp_path / "bench.toml").write_text(config_text(tmp_path / "reports", paths=("apigw-http",), target=target))
    result = lambench(["run", "--yes", "--function", arn, "--apigw-http-url", url], no_execute_api_env(moto_url),
                      tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    api_id = url.split("//", 1)[1].split(".", 1)[0]
    plan = confirmation(result.stdout)
    assert f"nothing on your APIs: calls through HTTP API {url}" in plan
    assert f"a permission on each alias for API {api_id} to invoke it" in plan
    (run_dir,) = run_dirs(tmp_path / "reports")
    # lambench's own temporary aliases, and on each a permission for the user's API: nothing else.
    assert {kind for kind, _ in created(run_dir)} == {"version", "alias", "permission"}
    assert everything(moto_url) == before
    info = json.loads((run_dir / "run.json").read_text())
    assert info["aws"]["apis"] == {"http_url": url, "access_log_group": "/aws/apigateway/users-own", "created": False}
    statuses = {(r.path, r.status, r.error_type) for r in read_records(run_dir / "records.sqlite")}
    assert statuses == {("apigw-http", "transport_error", "ConnectionRefusedError")}


def test_users_function_without_its_api_url_is_refused_before_anything(moto_url, tmp_path):
    arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:someone-elses"
    before = everything(moto_url)
    (tmp_path / "bench.toml").write_text(config_text(tmp_path / "reports", paths=("direct", "apigw-rest")))
    result = lambench(["run", "--yes", "--function", arn, "--apigw-http-url", "https://abc.example.com"],
                      no_execute_api_env(moto_url), tmp_path)  # fmt: skip
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("lambench: error: bench.toml: ")
    assert "target.apigw_rest_url is missing" in result.stderr and "--apigw-rest-url" in result.stderr
    assert "AWS" not in result.stdout  # refused before the account was even asked for
    assert everything(moto_url) == before
    assert run_dirs(tmp_path / "reports") == []


def test_ctrl_c_mid_run_removes_the_apis_on_the_way_out(moto_url, tmp_path):
    before = everything(moto_url)
    (tmp_path / "bench.toml").write_text(config_text(tmp_path / "reports", run_time_s=600, paths=GATEWAYS))
    code, out, err = run_interrupted_mid_load(tmp_path, no_execute_api_env(moto_url), 90)
    assert code == 130, out[-2000:] + err[-2000:]
    assert "removed: HTTP API" in out and "removed: REST API" in out
    assert "report:" in out  # what was measured before the stop is reported
    assert everything(moto_url) == before


def test_the_sample_through_a_deploys_apis_leaves_the_deploy_as_it_was(moto_url, tmp_path):
    """`lambench deploy --target aws`, then runs through the APIs it printed (their variables): the
    run creates no API, points the deploy's aliases at its own versions, and at the end points them
    back before deleting those versions. The deploy's teardown then leaves the account as at first."""
    first = everything(moto_url)
    (tmp_path / "bench.toml").write_text(config_text(tmp_path / "reports", paths=("apigw-http", "apigw-rest")))
    deployed = lambench(["deploy", "--target", "aws", "--yes"], no_execute_api_env(moto_url), tmp_path)
    assert deployed.returncode == 0, deployed.stdout[-3000:] + deployed.stderr[-3000:]
    variables = dict(line.split("=", 1) for line in deployed.stdout.splitlines() if line.startswith("LAMBENCH_APIGW"))
    (deploy_dir,) = run_dirs(tmp_path / "reports")
    before = everything(moto_url)

    env = {**no_execute_api_env(moto_url), **variables}
    result = lambench(["run", "--yes"], env, tmp_path)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    plan = confirmation(result.stdout)
    assert "a REST API" not in plan and f"calls through HTTP API {variables['LAMBENCH_APIGW_HTTP_URL']}" in plan
    (run_dir,) = [d for d in run_dirs(tmp_path / "reports") if d != deploy_dir]
    changed = [line for line in journal_lines(run_dir) if line.get("kind") == "alias" and line["op"] == "change"]
    assert {line["name"] for line in changed} == {"mem-128", "mem-512"}
    assert "restored: alias lambench-moto:mem-512 -> version" in result.stdout
    assert everything(moto_url) == before  # the deploy's aliases, versions, APIs and permissions as they were

    torn = lambench(["teardown", str(deploy_dir)], no_execute_api_env(moto_url), tmp_path)
    assert torn.returncode == 0, torn.stdout + torn.stderr
    assert everything(moto_url) == first
