"""Tuning on AWS leaves the function as it found it: moto's server on 127.0.0.1, a tune interrupted mid-way.

Moto runs as a server (ThreadedMotoServer, 127.0.0.1 only) and lambench reaches it through its
endpoint URL, the one code path it uses for AWS. Moto invokes without Docker here ("use_docker":
false, its own documented mode), answering with no log tail: tuning records each size as
infeasible (no REPORT line), which is what it should do with such answers, and goes on.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from aws_moto import REGION, TRUST, moto_server

from bench import awsclient
from bench.targets import DEFAULT_ROLE, FunctionSpec, VariantDeployer
from bench.tune import TuneRequest, parse_input, run_tune

SOURCE = Path(__file__).resolve().parent / "functions" / "tune_workloads"


@pytest.fixture
def moto_url(monkeypatch):
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_LAMBDA"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with moto_server() as url:
        iam = awsclient.client("iam", url, REGION)
        iam.create_role(RoleName=DEFAULT_ROLE.rsplit("/", 1)[1], AssumeRolePolicyDocument=json.dumps(TRUST))
        yield url


@pytest.fixture
def function(moto_url):
    client = awsclient.client("lambda", moto_url, REGION, awsclient.control_plane_config())
    spec = FunctionSpec(name="tuned", source=SOURCE, handler="app.sleep", environment={"KEEP": "me"})
    VariantDeployer(client).deploy_variants(spec, [256])  # a version and an alias of the user's own
    return client, spec.name


def snapshot(client, name):
    versions = client.list_versions_by_function(FunctionName=name)["Versions"]
    aliases = client.list_aliases(FunctionName=name)["Aliases"]
    config = client.get_function_configuration(FunctionName=name)
    kept = ("MemorySize", "Environment", "Timeout", "Handler", "Description")
    return (
        sorted((v["Version"], v["MemorySize"]) for v in versions),
        sorted((a["Name"], a["FunctionVersion"]) for a in aliases),
        {k: config.get(k) for k in kept},
    )


class Stop(KeyboardInterrupt):
    """Ctrl-C, raised from the progress hook at the Nth call."""


def request(url, tmp_path, name, **fields):
    raw = {"lambdaARN": f"arn:aws:lambda:{REGION}:123456789012:function:{name}", "num": 5} | fields
    return TuneRequest(parse_input(raw), url, REGION, reports_dir=tmp_path)


@pytest.mark.parametrize("cold", [False, True])
def test_ctrl_c_mid_tune_leaves_versions_aliases_and_configuration_as_before(moto_url, function, tmp_path, cold):
    client, name = function
    before = snapshot(client, name)
    calls = []

    def interrupt(record):
        calls.append(record)
        if len(calls) == 3:
            during = snapshot(client, name)
            assert during[0] != before[0]  # tuning had published versions of its own by now
            raise Stop

    with pytest.raises(Stop):
        run_tune(request(moto_url, tmp_path, name, powerValues=[128, 512, 1024], onlyColdStarts=cold), interrupt)
    assert len(calls) == 3
    assert snapshot(client, name) == before


def test_a_finished_tune_leaves_the_function_as_before(moto_url, function, tmp_path):
    client, name = function
    before = snapshot(client, name)
    out, _ = run_tune(request(moto_url, tmp_path, name, powerValues=[128, 512], strategy="speed"))
    assert {i["power"] for i in out["lambench"]["infeasible"]} == {128, 512}
    assert all("no REPORT line" in i["error"] for i in out["lambench"]["infeasible"])
    assert out["power"] is None and out["lambench"]["invocations"] == 2
    assert snapshot(client, name) == before


def test_auto_optimize_alias_is_the_one_change_that_stays(moto_url, function, tmp_path):
    client, name = function
    before = snapshot(client, name)
    from bench.tune.lifecycle import TuneSession

    with TuneSession(client, name) as session:
        session.publish(512)
        session.restore()
        version = session.auto_optimize(512, "live")
    after = snapshot(client, name)
    assert ("live", version) in after[1] and after[2]["MemorySize"] == 512
    assert set(after[0]) - set(before[0]) == {(version, 512), ("$LATEST", 512)}  # the alias's version, $LATEST at 512
