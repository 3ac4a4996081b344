"""Shared fixtures: the real emulator process on 127.0.0.1 and boto3 clients pointed at it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.targets import FunctionSpec, VariantDeployer, make_lambda_client
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


@pytest.fixture
def deploy(emulator, request):
    """Deploys tests/functions/<folder> under a name unique to the test; returns a Deployed helper."""
    deployer = VariantDeployer(make_lambda_client(emulator.url, "us-east-1"))
    created = []

    def _deploy(folder: str, memory_mb: tuple[int, ...] = (128,), handler: str = "app.handler",
                timeout_s: int = 30, name: str | None = None):
        name = name or f"{folder}-{request.node.name}".replace("_", "-")[:64]
        spec = FunctionSpec(name=name, source=FUNCTIONS / folder, handler=handler, timeout_s=timeout_s)
        variants = deployer.deploy_variants(spec, memory_mb)
        created.append(name)
        return spec, variants

    yield _deploy
    for name in created:
        deployer.teardown(name)


def invoke(client, name: str, payload: dict | None = None, **kwargs) -> tuple[dict, bytes]:
    response = client.invoke(FunctionName=name, Payload=json.dumps(payload or {}), **kwargs)
    return response, response["Payload"].read()
