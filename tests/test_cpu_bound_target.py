"""The cpu_bound sample target, run in-process with a fake Lambda context.

Checks the result, the Powertools EMF output (ColdStart on the first call only) and the
API Gateway proxy shape. No wall-clock assertions: speed belongs to tests/perf/.
"""

from __future__ import annotations

import importlib.util
import json
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from aws_lambda_powertools.metrics.provider import cold_start

APP_PATH = Path(__file__).resolve().parents[1] / "targets" / "cpu_bound" / "app.py"
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "aws"
NAMESPACE = "lambench-test"


@dataclass
class FakeContext:
    """The LambdaContext attributes Powertools' Logger and Metrics read."""

    function_name: str = "cpu-bound"
    memory_limit_in_mb: str = "128"
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:cpu-bound:mem-128"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))


@pytest.fixture
def app(monkeypatch):
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", NAMESPACE)
    monkeypatch.delenv("POWERTOOLS_METRICS_DISABLED", raising=False)
    monkeypatch.delenv("POWERTOOLS_DEV", raising=False)
    # A fresh module per test: the namespace is read at import, as in a new environment.
    spec = importlib.util.spec_from_file_location(f"cpu_bound_app_{uuid.uuid4().hex}", APP_PATH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    # The flag is process-wide in Powertools; another test may already have spent it.
    cold_start.reset_cold_start_flag()
    return module


def emf_documents(stdout: str) -> list[dict]:
    docs = [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]
    return [doc for doc in docs if "_aws" in doc]


def metric_names(doc: dict) -> set[str]:
    return {m["Name"] for block in doc["_aws"]["CloudWatchMetrics"] for m in block["Metrics"]}


def namespaces(doc: dict) -> set[str]:
    return {block["Namespace"] for block in doc["_aws"]["CloudWatchMetrics"]}


def test_returns_n_and_checksum(app, capsys):
    result = app.lambda_handler({"n": 1000}, FakeContext())
    assert result == {"n": 1000, "checksum": app.spin(1000)}
    json.dumps(result)  # must be JSON-able


def test_first_call_emits_cold_start_then_not(app, capsys):
    app.lambda_handler({"n": 10}, FakeContext())
    first = emf_documents(capsys.readouterr().out)
    cold = [doc for doc in first if "ColdStart" in metric_names(doc)]
    assert len(cold) == 1
    assert cold[0]["ColdStart"] == [1.0]
    assert cold[0]["function_name"] == "cpu-bound"
    assert cold[0]["service"] == "cpu_bound"
    assert all(namespaces(doc) == {NAMESPACE} for doc in first)
    iterations = [doc for doc in first if "Iterations" in metric_names(doc)]
    assert len(iterations) == 1 and iterations[0]["Iterations"] == [10.0]

    app.lambda_handler({"n": 10}, FakeContext())
    second = emf_documents(capsys.readouterr().out)
    assert not any("ColdStart" in metric_names(doc) for doc in second)
    assert any("Iterations" in metric_names(doc) for doc in second)


def test_namespace_defaults_in_code(monkeypatch):
    monkeypatch.delenv("POWERTOOLS_METRICS_NAMESPACE", raising=False)
    spec = importlib.util.spec_from_file_location(f"cpu_bound_app_{uuid.uuid4().hex}", APP_PATH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.metrics.namespace == "lambench"


def test_default_n_is_used_when_absent(app, capsys):
    assert app.lambda_handler({}, FakeContext())["n"] == app.DEFAULT_N


def _lcg_checksum(n: int) -> int:
    """spin's answer computed another way: each state from the LCG's closed form, not the loop.

    x_k = a^k x_0 + c (a^k - 1)/(a - 1) mod 2^32; the division is exact when a^k is taken
    modulo (a - 1) 2^32, so no state depends on the one before it.
    """
    a, c, x0, m = 1103515245, 12345, 0x9E3779B9, 2**32
    checksum = 0
    for k in range(1, n + 1):
        a_k = pow(a, k, (a - 1) * m)
        checksum ^= (a_k * x0 + c * ((a_k - 1) // (a - 1))) % m
    return checksum


@pytest.mark.parametrize("n", [0, 1, 2, 3, 1000])
def test_spin_is_the_documented_lcg_checksum(app, n):
    assert app.spin(n) == _lcg_checksum(n)


def test_spin_of_the_default_n_is_pinned(app):
    # The load every benchmark runs: a change here changes what past reports measured.
    assert app.DEFAULT_N == 200_000
    assert app.spin(app.DEFAULT_N) == 0x909B8F00


def _bytecodes_run(function, *args) -> int:
    """How many bytecode instructions ``function`` itself executes: work counted, not timed."""
    count = 0

    def trace(frame, event, arg):
        nonlocal count
        if frame.f_code is not function.__code__:
            return None
        frame.f_trace_opcodes = True
        count += event == "opcode"
        return trace

    previous = sys.gettrace()
    sys.settrace(trace)
    try:
        function(*args)
    finally:
        sys.settrace(previous)
    return count


def test_spin_work_grows_linearly_in_n(app):
    counts = {n: _bytecodes_run(app.spin, n) for n in (0, 100, 200, 1000)}
    per_round = counts[100] - counts[0]
    assert per_round > 0
    assert counts[200] - counts[100] == per_round
    assert counts[1000] - counts[0] == 10 * per_round


# A failed call has no application metric to flush; Powertools warns, as it would on Lambda.
@pytest.mark.filterwarnings("ignore:No application metrics to publish")
@pytest.mark.parametrize("bad", [-1, "ten", 2.5, True, None, 10**12])
def test_bad_n_is_a_function_error(app, capsys, bad):
    with pytest.raises(ValueError, match="n must be"):
        app.lambda_handler({"n": bad}, FakeContext())


@pytest.mark.parametrize("fixture", ["apigw-rest-v1-event.json", "apigw-http-v2-event.json"])
def test_api_gateway_events_get_a_proxy_response(app, capsys, fixture):
    event = json.loads((FIXTURES / fixture).read_text())
    event["queryStringParameters"] = {"n": "500"}
    response = app.lambda_handler(event, FakeContext())
    assert response["statusCode"] == 200
    assert response["isBase64Encoded"] is False
    assert json.loads(response["body"]) == {"n": 500, "checksum": app.spin(500)}
