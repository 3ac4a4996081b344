"""[target] apigw_* keys, the --apigw-* run flags, and the plan of which APIs a run calls.

Bad input is one line naming the file and field (or the flag) and what is allowed, exit 2, before
anything starts: no emulator, no AWS call (the flag tests run with no credentials at all).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.config import load_config
from bench.errors import UserError
from bench.targets.apiplan import ApiPlan, Apis, plan_apis

REPO = Path(__file__).resolve().parent.parent

AWS = """
[target]
kind = "aws"
{target}
[function]
name = "f"
source = "src"
handler = "app.handler"
[variants]
memory_mb = [128, 512]
[load]
users = 3
paths = ["direct", "apigw-http", "apigw-rest"]
"""


def write(tmp_path: Path, target: str, kind: str = "aws") -> Path:
    (tmp_path / "src").mkdir(exist_ok=True)
    path = tmp_path / "bench.toml"
    path.write_text(AWS.format(target=target).replace('kind = "aws"', f'kind = "{kind}"'))
    return path


def test_the_keys_load(tmp_path):
    target = (
        'apigw_http_url = "https://abc123.execute-api.eu-west-1.amazonaws.com"\n'
        'apigw_rest_url = "https://api.example.com/v1"\napigw_access_log_group = "/my/api-access#1"'
    )
    config = load_config(write(tmp_path, target))
    assert config.target.apigw_http_url == "https://abc123.execute-api.eu-west-1.amazonaws.com"
    assert config.target.apigw_rest_url == "https://api.example.com/v1"  # a custom domain's base path
    assert config.target.apigw_access_log_group == "/my/api-access#1"


@pytest.mark.parametrize(
    "target, kind, expected",
    [
        ('apigw_http_url = "abc123"', "aws", 'target.apigw_http_url = "abc123": must be the API\'s invoke URL'),
        ('apigw_rest_url = "https://x.example.com/?a=1"', "aws", "target.apigw_rest_url"),
        ("apigw_http_url = 3", "aws", "target.apigw_http_url = 3: must be a string"),
        ('apigw_access_log_group = "has space"', "aws", "must be a CloudWatch Logs log group name"),
        ('apigw_http_url = "https://x.example.com"', "local", 'needs target.kind = "aws"'),
        ('apigw_rest_urls = "https://x.example.com"', "aws", "target.apigw_rest_urls: unknown field"),
    ],
)
def test_bad_keys_name_the_field_and_what_is_allowed(tmp_path, target, kind, expected):
    with pytest.raises(UserError) as raised:
        load_config(write(tmp_path, target, kind))
    assert str(raised.value).startswith("bench.toml: ") or str(raised.value).startswith(str(tmp_path))
    assert expected in str(raised.value)


def test_the_sample_with_no_api_named_gets_apis_created():
    plan = plan_apis(("direct", "apigw-rest"), False, Apis(), "bench.toml")
    assert plan == ApiPlan(create=("rest",)) and plan.kinds == ("rest",)


def test_direct_only_needs_no_api_whatever_is_named():
    assert plan_apis(("direct",), True, Apis(http_url="https://x.example.com"), "bench.toml") == ApiPlan()


def test_a_users_function_needs_a_url_for_each_gateway_path():
    with pytest.raises(UserError) as raised:
        plan_apis(("apigw-http", "apigw-rest"), True, Apis(http_url="https://x.example.com"), "bench.toml")
    message = str(raised.value)
    assert message.startswith("bench.toml: target.apigw_rest_url is missing")
    assert "--apigw-rest-url" in message and "never changes" in message
    given = Apis("https://x.example.com", "https://y.example.com")
    assert plan_apis(("apigw-http", "apigw-rest"), True, given, "bench.toml") == ApiPlan(given=given)


def test_the_sample_through_named_apis_needs_them_all():
    """Naming one API means using the user's own: lambench does not mix its own with the user's."""
    with pytest.raises(UserError, match="target.apigw_http_url is missing.*since target.apigw_rest_url names one"):
        plan_apis(("apigw-http", "apigw-rest"), False, Apis(rest_url="https://y.example.com"), "bench.toml")


def test_a_log_group_alone_is_refused_for_apis_lambench_creates():
    with pytest.raises(UserError, match="only with your own API's URLs"):
        plan_apis(("apigw-http",), False, Apis(access_log_group="/mine"), "bench.toml")


def lambench_run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    # No AWS variables at all: a refusal that asked AWS anything would fail differently.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "LAMBENCH_"))}
    env.update(AWS_CONFIG_FILE="/nonexistent", AWS_SHARED_CREDENTIALS_FILE="/nonexistent")
    return subprocess.run([sys.executable, "-m", "bench", "run", "--yes", *args], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)  # fmt: skip


@pytest.mark.parametrize(
    "kind, args, expected",
    [
        ("aws", ["--apigw-http-url", "not-a-url"], "--apigw-http-url 'not-a-url' (or $LAMBENCH_APIGW_HTTP_URL): must"),
        ("aws", ["--apigw-access-log-group", "a b"], "--apigw-access-log-group 'a b' (or "),
        ("local", ["--apigw-rest-url", "https://x.example.com"], 'needs target.kind = "aws"'),
        (
            "aws",
            ["--function", "arn:aws:lambda:us-east-1:123456789012:function:mine"],
            "target.apigw_http_url is missing",
        ),
    ],
)
def test_bad_flags_are_one_line_and_exit_2_before_anything_starts(tmp_path, kind, args, expected):
    write(tmp_path, "", kind)
    result = lambench_run(tmp_path, *args)
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("lambench: error: ")
    assert expected in result.stderr
    assert result.stdout == ""  # no emulator started, no account asked for
    assert not (tmp_path / "reports").exists() or not any((tmp_path / "reports").iterdir())
