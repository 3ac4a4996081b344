"""Helpers for the AWS tests: moto's server on 127.0.0.1, `lambench` against it, the account listed.

Moto runs as a server (ThreadedMotoServer, 127.0.0.1 only) in the test process, and lambench
reaches it as it would reach AWS: ``kind = "aws"`` with no endpoint in bench.toml, and boto3's
standard ``AWS_ENDPOINT_URL`` in the environment. Moto invokes without Docker ("use_docker":
false, its documented mode): the answers carry no log tail, so records have no REPORT figures.
AWS's managed policies are loaded (MOTO_IAM_LOAD_MANAGED_POLICIES), as they exist on AWS.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import requests
from moto.server import ThreadedMotoServer

from bench import awsclient

REPO = Path(__file__).resolve().parent.parent
REGION = "us-east-1"
ACCOUNT = "123456789012"  # moto's
TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}
CREDENTIAL_NAMES = (
    "AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_LAMBDA", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN", "AWS_DEFAULT_PROFILE",
)  # fmt: skip


@contextmanager
def moto_server() -> Iterator[str]:
    """A fresh moto server's URL, for one module's tests."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        server.start()
        url = f"http://127.0.0.1:{port}"
        try:
            config = {"lambda": {"use_docker": False}}
            requests.post(f"{url}/moto-api/config", json=config, timeout=10).raise_for_status()
            # Moto's backends live in this process, shared by every server it starts: begin empty.
            requests.post(f"{url}/moto-api/reset", timeout=10).raise_for_status()
            yield url
        finally:
            server.stop()


def clients(url: str) -> dict[str, Any]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AWS_ACCESS_KEY_ID", "testing")
        patch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        return {s: awsclient.client(s, url, REGION) for s in ("lambda", "logs", "iam")}


def account(url: str) -> dict[str, Any]:
    """What the tests compare before and after: functions with their versions and aliases, log groups,
    roles with their attached policies."""
    c = clients(url)
    functions = {}
    for function in c["lambda"].list_functions()["Functions"]:
        name = function["FunctionName"]
        versions = c["lambda"].list_versions_by_function(FunctionName=name)["Versions"]
        aliases = c["lambda"].list_aliases(FunctionName=name)["Aliases"]
        functions[name] = {
            "versions": sorted((v["Version"], v.get("Description", "")) for v in versions),
            "aliases": sorted((a["Name"], a["FunctionVersion"]) for a in aliases),
        }
    groups = sorted(g["logGroupName"] for g in c["logs"].describe_log_groups()["logGroups"])
    roles = {}
    for role in c["iam"].list_roles()["Roles"]:
        attached = c["iam"].list_attached_role_policies(RoleName=role["RoleName"])["AttachedPolicies"]
        roles[role["RoleName"]] = sorted(p["PolicyArn"] for p in attached)
    return {"functions": functions, "log_groups": groups, "roles": roles}


def create_role(url: str, name: str) -> str:
    return clients(url)["iam"].create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(TRUST))["Role"]["Arn"]


def config_text(
    reports: Path, *, run_time_s: float = 3, client: str = "boto3", function: str = "",
    paths: tuple[str, ...] = ("direct",), target: str = "",
) -> str:  # fmt: skip
    """bench.toml for kind = "aws" with no endpoint: where it goes is AWS_ENDPOINT_URL's business."""
    function = function or (
        f'name = "lambench-moto"\nsource = "{REPO / "targets" / "cpu_bound"}"\nhandler = "app.lambda_handler"'
    )
    return (
        f'[target]\nkind = "aws"\nregion = "{REGION}"\n{target}\n[function]\n{function}\n[variants]\n'
        f"memory_mb = [128, 512]\n[load]\nusers = {max(2, len(paths))}\nspawn_rate = 2\nrun_time_s = {run_time_s}\n"
        f'client = "{client}"\npaths = {json.dumps(list(paths))}\n[report]\ndir = "{reports}"\n'
    )


PROXY_NAMES = ("HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "ALL_PROXY")


def aws_env(url: str, call_log: Path | None = None, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in CREDENTIAL_NAMES and k.upper() not in PROXY_NAMES}
    env.update(AWS_ENDPOINT_URL=url, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", COLUMNS="160")
    if call_log is not None:
        env["LAMBENCH_AWS_CALL_LOG"] = str(call_log)
    env.update(extra)
    return env


def lambench(args: list[str], env: dict[str, str], cwd: Path, timeout: float = 180, **kwargs: Any):
    command = [sys.executable, "-m", "bench", *args]
    return subprocess.run(
        command, capture_output=True, text=True, timeout=timeout, cwd=cwd, env=env, stdin=subprocess.DEVNULL, **kwargs
    )


def run_dirs(reports: Path) -> list[Path]:
    return sorted(p for p in reports.iterdir() if p.is_dir() and not p.is_symlink()) if reports.is_dir() else []


def run_killed_mid_load(folder: Path, env: dict[str, str], within_s: float) -> Path:
    """Start `lambench run --yes` in folder, SIGKILL it once its load has begun (the record store
    exists: every resource is made by then), and return its run folder. A SIGKILL runs no cleanup."""
    from proc_helpers import eventually

    quiet = subprocess.DEVNULL
    command = [sys.executable, "-m", "bench", "run", "--yes"]
    process = subprocess.Popen(command, cwd=folder, env=env, stdin=quiet, stdout=quiet, stderr=quiet)
    try:
        assert eventually(lambda: any((d / "records.sqlite").exists() for d in run_dirs(folder / "reports")), within_s)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    (run_dir,) = run_dirs(folder / "reports")
    return run_dir


def run_interrupted_mid_load(folder: Path, env: dict[str, str], within_s: float) -> tuple[int, str, str]:
    """Start `lambench run --yes` in folder, Ctrl-C it once its users are invoking (a record is
    stored), and return its exit code, stdout and stderr."""
    from proc_helpers import eventually

    command = [sys.executable, "-m", "bench", "run", "--yes"]
    process = subprocess.Popen(command, cwd=folder, env=env, stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        assert eventually(lambda: recorded(folder / "reports"), within_s)
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=120)
    finally:
        process.kill()
    return process.returncode, out, err


def journal_lines(run_dir: Path) -> list[dict[str, Any]]:
    path = run_dir / "journal.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.is_file() else []


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def no_execute_api_env(url: str, call_log: Path | None = None) -> dict[str, str]:
    """aws_env, with every https call outside the control plane sent to a proxy that is not there.

    Moto's server serves no execute-api (https://ID.execute-api.REGION.amazonaws.com answers
    nothing it made), so a run's calls through API Gateway cannot succeed against it. Through a
    proxy at a closed port on 127.0.0.1 (lambench's gateway users honour HTTPS_PROXY, as boto3
    does) each of them fails to connect, here and on a machine with a network alike: no test
    call ever leaves this host. The control plane is moto's http URL, which HTTPS_PROXY leaves alone.
    """
    return aws_env(url, call_log, HTTPS_PROXY=f"http://127.0.0.1:{closed_port()}", NO_PROXY="127.0.0.1,localhost")


def gateway_clients(url: str) -> dict[str, Any]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AWS_ACCESS_KEY_ID", "testing")
        patch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        return {s: awsclient.client(s, url, REGION) for s in ("apigateway", "apigatewayv2", "lambda")}


def policies(url: str) -> dict[str, Any]:
    """Each function's and alias's resource policy (GetPolicy), or None where there is none."""
    lambda_ = gateway_clients(url)["lambda"]
    found: dict[str, Any] = {}
    for function in lambda_.list_functions()["Functions"]:
        name = function["FunctionName"]
        qualifiers = [None] + [a["Name"] for a in lambda_.list_aliases(FunctionName=name)["Aliases"]]
        for qualifier in qualifiers:
            kwargs = {"Qualifier": qualifier} if qualifier else {}
            try:
                policy = json.loads(lambda_.get_policy(FunctionName=name, **kwargs)["Policy"])
            except lambda_.exceptions.ResourceNotFoundException:
                policy = None
            found[f"{name}:{qualifier or '$LATEST'}"] = policy
    return found


def _http_apis(v2: Any) -> dict[str, Any]:
    apis = {}
    for api in v2.get_apis()["Items"]:
        api_id = api["ApiId"]
        stages = {s["StageName"]: (s.get("StageVariables"), s.get("AccessLogSettings"))
                  for s in v2.get_stages(ApiId=api_id)["Items"]}  # fmt: skip
        integrations = sorted(
            (i["IntegrationType"], i.get("IntegrationUri"), i.get("PayloadFormatVersion"))
            for i in v2.get_integrations(ApiId=api_id)["Items"]
        )
        routes = sorted(r["RouteKey"] for r in v2.get_routes(ApiId=api_id)["Items"])
        apis[f"{api['Name']} ({api_id})"] = {"stages": stages, "integrations": integrations, "routes": routes}
    return apis


def _rest_apis(gw: Any) -> dict[str, Any]:
    apis = {}
    for api in gw.get_rest_apis()["items"]:
        api_id = api["id"]
        stages = {s["stageName"]: (s.get("variables"), s.get("accessLogSettings"))
                  for s in gw.get_stages(restApiId=api_id)["item"]}  # fmt: skip
        integrations = []
        for resource in gw.get_resources(restApiId=api_id)["items"]:
            for method in resource.get("resourceMethods") or {}:
                try:
                    found = gw.get_integration(restApiId=api_id, resourceId=resource["id"], httpMethod=method)
                except gw.exceptions.NotFoundException:
                    continue
                integrations.append((resource["path"], method, found.get("type"), found.get("uri")))
        apis[f"{api['name']} ({api_id})"] = {"stages": stages, "integrations": sorted(integrations)}
    return apis


def everything(url: str) -> dict[str, Any]:
    """The account as the issue lists it: account() plus each HTTP and REST API with its stages (their
    variables and access-log settings), integrations and routes, API Gateway's account-wide
    CloudWatch Logs role, and the resource policy (the permissions) of every function and alias."""
    c = gateway_clients(url)
    listed = account(url)
    listed["http_apis"] = _http_apis(c["apigatewayv2"])
    listed["rest_apis"] = _rest_apis(c["apigateway"])
    # No role reads as an absent key before any is set and as "" once one is put back: both are none.
    listed["apigw_logs_role"] = c["apigateway"].get_account().get("cloudwatchRoleArn") or None
    listed["policies"] = policies(url)
    return listed


def recorded(reports: Path) -> bool:
    """True once the load has flushed a record: the users are invoking."""
    for run_dir in run_dirs(reports):
        try:
            with sqlite3.connect(f"file:{run_dir / 'records.sqlite'}?mode=ro", uri=True) as conn:
                if conn.execute("SELECT COUNT(*) FROM invocations").fetchone()[0] > 0:
                    return True
        except sqlite3.Error:
            pass
    return False
