"""Shared fixtures: the real emulator process on 127.0.0.1 and boto3 clients pointed at it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench.targets import FunctionSpec, VariantDeployer
from bench.targets.local import start_emulator

FUNCTIONS = Path(__file__).parent / "functions"


@pytest.fixture(scope="session")
def emulator(tmp_path_factory):
    with start_emulator(tmp_path_factory.mktemp("emulator") / "emulator.log") as running:
        yield running


@pytest.fixture(scope="session")
def lambda_client(emulator):
    from botocore.config import Config

    from bench import awsclient

    # One attempt: a test must see exactly what the emulator answered, never a retry.
    config = Config(retries={"total_max_attempts": 1}, max_pool_connections=20, read_timeout=120)
    return awsclient.client("lambda", emulator.url, "us-east-1", config)


def deployer_for(url: str, request):
    """A deploy(folder, memory sizes, ...) function for the emulator at ``url``: one test's functions."""
    from bench import awsclient

    deployer = VariantDeployer(awsclient.client("lambda", url, "us-east-1", awsclient.control_plane_config()))

    def _deploy(
        folder: str,
        memory_mb: tuple[int, ...] = (128,),
        handler: str = "app.handler",
        timeout_s: int = 30,
        name: str | None = None,
        runtime: str = "python3.12",
        environment: dict | None = None,
        source: Path | None = None,
    ):
        name = name or f"{folder}-{request.node.name}".replace("_", "-").replace("[", "-").replace("]", "")[:64]
        spec = FunctionSpec(
            name=name,
            source=source or FUNCTIONS / folder,
            handler=handler,
            timeout_s=timeout_s,
            runtime=runtime,
            environment=environment or {},
        )
        return spec, deployer.deploy_variants(spec, memory_mb)

    return _deploy, deployer


@pytest.fixture
def deploy(emulator, request):
    """Deploys tests/functions/<folder> on the shared emulator under a name unique to the test."""
    _deploy, deployer = deployer_for(emulator.url, request)
    yield _deploy
    for name in deployer.created_functions():
        deployer.teardown(name)


@pytest.fixture
def own_emulator(tmp_path, request):
    """Starts an emulator of this test's own with the given options: own_emulator("--idle-timeout", "1").

    Returns (emulator, lambda client, deploy function)."""
    from botocore.config import Config

    from bench import awsclient

    started = []

    def _start(*options: str):
        running = start_emulator(tmp_path / f"emulator-{len(started)}.log", extra_args=options)
        started.append(running)
        config = Config(retries={"total_max_attempts": 1}, max_pool_connections=20, read_timeout=120)
        client = awsclient.client("lambda", running.url, "us-east-1", config)
        return running, client, deployer_for(running.url, request)[0]

    yield _start
    for running in started:
        running.stop()


def invoke(client, name: str, payload: dict | None = None, **kwargs) -> tuple[dict, bytes]:
    response = client.invoke(FunctionName=name, Payload=json.dumps(payload or {}), **kwargs)
    return response, response["Payload"].read()


REPO = Path(__file__).resolve().parent.parent


def run_locust(
    locustfile: str,
    endpoint: str,
    function: str,
    variants: str,
    reports: Path,
    *extra: str,
    users: int = 2,
    seconds: int = 3,
    timeout: int = 120,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess:
    """Plain ``locust -f locustfiles/<locustfile>`` headless, as its own process (as users run it;
    importing Locust here would monkey-patch the test process with gevent), in ``reports``."""
    options = {
        "-u": users,
        "-r": users,
        "-t": f"{seconds}s",
        # Let in-flight invokes finish, so that every invoke the emulator served is recorded.
        "--stop-timeout": 30,
        "--lambda-endpoint": endpoint,
        "--lambda-function": function,
        "--lambda-variants": variants,
        "--lambench-reports": reports,
    }
    command = [sys.executable, "-m", "locust", "-f", str(REPO / "locustfiles" / locustfile), "--headless"]
    command += ["--only-summary", *(str(part) for pair in options.items() for part in pair), *extra]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd=reports, env=env)
