"""`lambench run` with kind = "aws" against moto's server: the account is left exactly as found.

Every run here goes through boto3's standard AWS_ENDPOINT_URL (bench.toml names no endpoint),
as a user would point it at moto or LocalStack. The account is listed before and after (functions
with their versions and aliases, log groups, roles with their attached policies) and must match,
after a finished run, a failed one, Ctrl-C, and a SIGKILL followed by `lambench teardown`.
Someone else's function, alias, role and log group are there throughout, and must survive.

What moto cannot show: it creates no log group when it invokes without Docker, so the journaled
/aws/lambda/<name> group is checked as listed and removed if present, not as created by invokes;
and IAM's propagation delay (the retry of CreateFunction) does not happen in moto.
"""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest
from aws_moto import (
    ACCOUNT,
    REGION,
    account,
    aws_env,
    clients,
    config_text,
    create_role,
    journal_lines,
    lambench,
    moto_server,
    run_dirs,
    run_interrupted_mid_load,
    run_killed_mid_load,
)

OTHERS = "someone-elses"


@pytest.fixture(scope="module")
def moto_url():
    with moto_server() as url:
        c = clients(url)
        role = create_role(url, "someone-elses-role")
        from bench.targets import zip_folder

        c["lambda"].create_function(
            FunctionName=OTHERS, Runtime="python3.12", Role=role, Handler="app.lambda_handler",
            Code={"ZipFile": zip_folder(Path(__file__).parent.parent / "targets" / "cpu_bound")},
        )  # fmt: skip
        version = c["lambda"].publish_version(FunctionName=OTHERS)["Version"]
        c["lambda"].create_alias(FunctionName=OTHERS, Name="mem-128", FunctionVersion=version)
        c["logs"].create_log_group(logGroupName=f"/aws/lambda/{OTHERS}")
        yield url


@pytest.fixture
def folder(tmp_path):
    (tmp_path / "bench.toml").write_text(config_text(tmp_path / "reports"))
    return tmp_path


def test_a_run_deploys_measures_and_leaves_the_account_as_found(moto_url, folder):
    before = account(moto_url)
    result = lambench(["run", "--yes"], aws_env(moto_url), folder)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert f"account {ACCOUNT}" in result.stdout and f"region {REGION}" in result.stdout
    assert account(moto_url) == before
    (run_dir,) = run_dirs(folder / "reports")
    lines = journal_lines(run_dir)
    created = {(line["kind"], line.get("name") or line.get("description")) for line in lines if line["op"] == "create"}
    assert ("function", "lambench-moto") in created and ("alias", "mem-512") in created
    assert any(kind == "role" for kind, _ in created)  # an execution role of its own, removed with the rest
    assert lines[-1] == {"op": "teardown"}
    info = json.loads((run_dir / "run.json").read_text())
    assert info["aws"]["account"] == ACCOUNT and info["endpoint"] == moto_url


def test_sigkill_mid_run_then_teardown_leaves_the_account_as_found(moto_url, tmp_path):
    """A SIGKILL runs no cleanup at all: `lambench teardown` finishes the job from the journal, even
    when someone has already deleted part of what it lists, and a second teardown has nothing to do."""
    before = account(moto_url)
    (tmp_path / "bench.toml").write_text(config_text(tmp_path / "reports", run_time_s=600))
    run_dir = run_killed_mid_load(tmp_path, aws_env(moto_url), 60)
    during = account(moto_url)
    assert set(during["functions"]) - set(before["functions"]) == {"lambench-moto"}
    assert len(during["roles"]) == len(before["roles"]) + 1
    clients(moto_url)["lambda"].delete_function(FunctionName="lambench-moto")  # someone tidied up, in part

    first = lambench(["teardown", str(run_dir)], aws_env("http://127.0.0.1:1"), tmp_path)
    # AWS_ENDPOINT_URL above points nowhere: teardown goes where the journal says the run went.
    assert first.returncode == 0, first.stdout + first.stderr
    assert "already gone: function lambench-moto" in first.stdout and "removed: role lambench-" in first.stdout
    assert account(moto_url) == before
    again = lambench(["teardown", str(run_dir)], aws_env(moto_url), tmp_path)
    assert again.returncode == 0 and "nothing left to remove" in again.stdout


def test_ctrl_c_mid_run_tears_down_on_the_way_out(moto_url, tmp_path):
    """Ctrl-C once the users are invoking (a signal in the instant between the store's creation and
    the load's try block is another matter: see the report of this change)."""
    before = account(moto_url)
    (tmp_path / "bench.toml").write_text(config_text(tmp_path / "reports", run_time_s=600))
    code, out, err = run_interrupted_mid_load(tmp_path, aws_env(moto_url), 60)
    assert code == 130, out[-2000:] + err[-2000:]
    assert "removed: function lambench-moto" in out
    assert account(moto_url) == before


def test_a_failed_deploy_removes_what_it_had_created(moto_url, tmp_path):
    """The role is created, then CreateFunction is refused (the config names a role that does not exist
    for the function: moto checks it): teardown removes the role, and no run folder is left."""
    before = account(moto_url)
    function = (
        f'name = "lambench-fails"\nsource = "{Path(__file__).parent.parent / "targets" / "cpu_bound"}"\n'
        f'handler = "app.lambda_handler"\nrole = "arn:aws:iam::{ACCOUNT}:role/no-such-role"'
    )
    (tmp_path / "bench.toml").write_text(config_text(tmp_path / "reports", function=function))
    result = lambench(["run", "--yes"], aws_env(moto_url), tmp_path)
    assert result.returncode == 3, result.stdout + result.stderr
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("lambench: error: ")
    assert "already gone: function lambench-fails" in result.stdout
    assert account(moto_url) == before
    assert run_dirs(tmp_path / "reports") == []


def users_function(url: str) -> str:
    """A function of the user's own, set up unlike lambench's defaults in every field lambench might touch."""
    c = clients(url)
    role = create_role(url, "users-role")
    from bench.targets import zip_folder

    arn = c["lambda"].create_function(
        FunctionName="users-own", Runtime="python3.11", Role=role, Handler="app.lambda_handler",
        Code={"ZipFile": zip_folder(Path(__file__).parent.parent / "targets" / "cpu_bound")},
        MemorySize=384, Timeout=17, Description="the user's", Environment={"Variables": {"KEEP": "me"}},
        Architectures=["arm64"], EphemeralStorage={"Size": 1024}, TracingConfig={"Mode": "Active"},
    )["FunctionArn"]  # fmt: skip
    version = c["lambda"].publish_version(FunctionName="users-own", Description="users v1")["Version"]
    c["lambda"].create_alias(FunctionName="users-own", Name="live", FunctionVersion=version)
    return arn


# Fields every UpdateFunctionConfiguration changes, whatever it sets: not configuration.
VOLATILE = {"LastModified", "RevisionId", "ResponseMetadata"}


def latest(url: str, name: str) -> dict:
    config = clients(url)["lambda"].get_function_configuration(FunctionName=name, Qualifier="$LATEST")
    return {k: v for k, v in config.items() if k not in VOLATILE}


def test_users_own_function_is_measured_and_its_latest_put_back_field_by_field(moto_url, folder):
    arn = users_function(moto_url)
    before, config_before = account(moto_url), latest(moto_url, "users-own")
    result = lambench(["run", "--yes", "--function", arn], aws_env(moto_url), folder)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    after = latest(moto_url, "users-own")
    for key in sorted(set(config_before) | set(after)):
        assert after.get(key) == config_before.get(key), key
    assert account(moto_url) == before
    (run_dir,) = run_dirs(folder / "reports")
    lines = journal_lines(run_dir)
    assert {"op": "change", "kind": "latest_config", "function": "users-own", "before": {"MemorySize": 384}} in lines
    memory = json.loads((run_dir / "run.json").read_text())["memory_by_variant"]
    assert memory == {"mem-128": 128, "mem-512": 512}
    assert not any(line.get("kind") in ("function", "role") for line in lines if line["op"] == "create")


def test_users_alias_with_lambench_s_name_is_refused_before_any_change(moto_url, folder):
    c = clients(moto_url)
    arn = users_function(moto_url) if "users-own" not in account(moto_url)["functions"] else None
    arn = arn or c["lambda"].get_function(FunctionName="users-own")["Configuration"]["FunctionArn"]
    c["lambda"].create_alias(FunctionName="users-own", Name="mem-512", FunctionVersion="1")
    try:
        before, config_before = account(moto_url), latest(moto_url, "users-own")
        result = lambench(["run", "--yes", "--function", arn], aws_env(moto_url), folder)
        assert result.returncode == 2, result.stdout + result.stderr
        assert "already has alias mem-512" in result.stderr
        assert account(moto_url) == before and latest(moto_url, "users-own") == config_before
    finally:
        c["lambda"].delete_alias(FunctionName="users-own", Name="mem-512")


def test_without_yes_and_without_a_terminal_it_refuses_in_one_line(moto_url, folder):
    before = account(moto_url)
    result = lambench(["run"], aws_env(moto_url), folder)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "--yes" in result.stderr and ACCOUNT in result.stderr
    assert account(moto_url) == before
    assert run_dirs(folder / "reports") == []


def test_at_a_terminal_no_is_no(moto_url, folder):
    """stdin is a real pseudo-terminal here; the answer is "n"."""
    before = account(moto_url)
    leader, follower = pty.openpty()
    try:
        os.write(leader, b"n\n")
        command = [sys.executable, "-m", "bench", "run"]
        result = subprocess.run(command, cwd=folder, env=aws_env(moto_url), stdin=follower, capture_output=True,
                                text=True, timeout=120)  # fmt: skip
    finally:
        os.close(leader)
        os.close(follower)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Proceed? [y/N]" in result.stdout and "not confirmed: nothing was created" in result.stderr
    assert account(moto_url) == before


def test_max_usd_stops_the_load_and_says_so(moto_url, tmp_path):
    """Moto's answers carry no REPORT line, so each record is priced at its client latency rounded up
    (the budget's documented upper bound) plus the request charge."""
    before = account(moto_url)
    (tmp_path / "bench.toml").write_text(config_text(tmp_path / "reports", run_time_s=600))
    result = lambench(["run", "--yes", "--max-usd", "0.00005"], aws_env(moto_url), tmp_path)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "reached --max-usd 5e-05" in result.stdout and "interrupted" not in result.stdout
    (run_dir,) = run_dirs(tmp_path / "reports")
    info = json.loads((run_dir / "run.json").read_text())
    assert "live cost of the records" in info["budget_stop"] and info["interrupted"] is False
    assert account(moto_url) == before
