"""The emulator process removes every environment (processes and CPU groups) when it stops."""

from __future__ import annotations

import json
from pathlib import Path

from proc_helpers import cgroups_of, children

from bench import awsclient
from bench.targets import FunctionSpec, VariantDeployer
from bench.targets.local import start_emulator

FUNCTIONS = Path(__file__).parent / "functions"


def test_sigterm_stops_every_environment_process(tmp_path):
    emulator = start_emulator(tmp_path / "emulator.log")
    try:
        client = awsclient.client("lambda", emulator.url, "us-east-1", awsclient.control_plane_config())
        spec = FunctionSpec(name="hello", source=FUNCTIONS / "hello", handler="app.handler")
        variants = VariantDeployer(client).deploy_variants(spec, (128, 512))
        pids = {
            json.loads(client.invoke(FunctionName="hello", Qualifier=v.name)["Payload"].read())["pid"] for v in variants
        }
        assert pids <= children(emulator.process.pid)
        info = emulator.info()
        assert info["environments"] == 2
        uses_cgroups = info["cpu_mode"] == "quota" or info["memory_mode"] == "cgroup"
        assert bool(cgroups_of(emulator.process.pid)) == uses_cgroups
    finally:
        emulator.stop()
    assert emulator.process.returncode == 0
    for pid in pids:
        assert not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text().split()[2]
    assert cgroups_of(emulator.process.pid) == []


def _cold(client, name: str, qualifier: str, payload: dict | None = None) -> bool:
    import base64

    from bench.collect import find_report

    response = client.invoke(FunctionName=name, Qualifier=qualifier, LogType="Tail", Payload=json.dumps(payload or {}))
    return find_report(base64.b64decode(response["LogResult"]).decode()).cold


def test_idle_environments_are_reclaimed_and_the_next_invoke_is_cold(own_emulator):
    import time

    _, client, deploy = own_emulator("--idle-timeout", "1")
    spec, (variant,) = deploy("hello")
    assert _cold(client, spec.name, variant.name)
    assert not _cold(client, spec.name, variant.name)
    time.sleep(3.0)  # the reaper looks once a second
    assert _cold(client, spec.name, variant.name)


def test_environments_have_a_maximum_lifetime(own_emulator):
    import time

    _, client, deploy = own_emulator("--max-lifetime", "1")
    spec, (variant,) = deploy("hello")
    assert _cold(client, spec.name, variant.name)
    time.sleep(3.0)
    assert _cold(client, spec.name, variant.name)


def _error(client, name: str, qualifier: str, payload: dict | None = None) -> dict:
    response = client.invoke(FunctionName=name, Qualifier=qualifier, Payload=json.dumps(payload or {}))
    assert response["FunctionError"] == "Unhandled"
    return json.loads(response["Payload"].read())


def test_failures_are_contained_to_their_environment_with_lambdas_error_types(own_emulator):
    _, client, deploy = own_emulator("--init-timeout", "1")
    spec, (probe,) = deploy("probe")
    hello, (hello_variant,) = deploy("hello")
    assert _error(client, spec.name, probe.name, {"exit": 3})["errorMessage"].endswith(
        "Runtime exited with error: exit status 3"
    )

    slow, (slow_variant,) = deploy("slow_init")
    error = _error(client, slow.name, slow_variant.name)
    assert error["errorType"] == "Sandbox.Timedout" and "INIT phase timed out" in error["errorMessage"]

    missing, (missing_variant,) = deploy("no_handler")
    error = _error(client, missing.name, missing_variant.name)
    assert error["errorType"] == "Runtime.HandlerNotFound"

    # Everyone else is still served, warm where they were warm.
    response = client.invoke(FunctionName=hello.name, Qualifier=hello_variant.name, Payload=b"{}")
    assert "FunctionError" not in response


def test_a_custom_runtime_bootstrap_speaks_the_runtime_api(own_emulator):
    _, client, deploy = own_emulator()
    spec, (variant,) = deploy("custom_runtime", runtime="provided.al2023", handler="unused")
    response = client.invoke(FunctionName=spec.name, Qualifier=variant.name, Payload=b'{"x": 1}', LogType="Tail")
    assert json.loads(response["Payload"].read()) == {"runtime": "custom", "echo": {"x": 1}}
    import base64

    tail = base64.b64decode(response["LogResult"]).decode()
    assert "custom runtime handling" in tail and "Init Duration" in tail
    error = _error(client, spec.name, variant.name, {"fail": True})
    assert error["errorType"] == "CustomError"
