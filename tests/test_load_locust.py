"""LambdaUser under plain Locust (a real `locust` process) against the real emulator.

Locust is run as its own process, as users run it: importing it here would monkey-patch this
test process with gevent.
"""

from __future__ import annotations

import json
import subprocess
from collections import Counter
from pathlib import Path

import conftest
import pytest

from bench.collect import read_records
from bench.targets.local import start_emulator

REPO = Path(__file__).resolve().parent.parent


def run_locust(
    endpoint: str, function: str, variants: str, reports: Path, payload: str = "{}", users: int = 4, seconds: int = 4
) -> subprocess.CompletedProcess:
    return conftest.run_locust(
        "direct.py", endpoint, function, variants, reports, "--lambda-payload", payload,
        "--json-file", str(reports / "locust"), users=users, seconds=seconds,
    )  # fmt: skip


def locust_totals(reports: Path) -> dict[str, tuple[int, int]]:
    # Locust's final figures (--json-file); its CSV files are written on a timer and lag the end.
    entries = json.loads((reports / "locust.json").read_text())
    return {e["name"]: (e["num_requests"], e["num_failures"]) for e in entries}


def records_of(reports: Path):
    (path,) = reports.glob("*/records.sqlite")
    return read_records(path)


def test_direct_locustfile_interleaves_variants_and_records_every_invoke(emulator, deploy, tmp_path):
    spec, variants = deploy("hello", (128, 512))
    result = run_locust(emulator.url, spec.name, ",".join(v.name for v in variants), tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    records = records_of(tmp_path)
    by_variant = Counter(r.variant for r in records)
    totals = locust_totals(tmp_path)
    assert set(by_variant) == {"mem-128", "mem-512"}
    for variant, count in by_variant.items():
        assert totals[f"invoke {variant}"] == (count, 0), "one Locust request per record, no failures"
    assert all(r.status == "ok" and r.path == "direct" for r in records)
    assert all(r.duration_ms is not None and r.billed_ms >= 1 and r.request_id for r in records)
    assert {r.memory_mb for r in records} == {128, 512}
    cold = [r for r in records if r.cold]
    assert cold and all(r.init_ms > 0 for r in cold)
    assert all(r.init_ms is None for r in records if r.cold is False)


def test_function_errors_are_failures_with_their_error_type(emulator, deploy, tmp_path):
    spec, (variant,) = deploy("hello")
    result = run_locust(emulator.url, spec.name, variant.name, tmp_path, payload='{"raise": true}', users=2, seconds=3)
    assert result.returncode == 1, "Locust exits 1 when requests failed"
    records = records_of(tmp_path)
    assert records and {(r.status, r.error_type) for r in records} == {("function_error", "ValueError")}
    assert all(r.billed_ms is not None for r in records), "a failed invoke is still billed and reported"
    assert locust_totals(tmp_path)[f"invoke {variant.name}"] == (len(records), len(records))


@pytest.fixture
def narrow_emulator(tmp_path_factory):
    with start_emulator(
        tmp_path_factory.mktemp("narrow") / "emulator.log", extra_args=("--account-concurrency", "1")
    ) as running:
        yield running


def test_throttles_are_failures_with_the_reason_and_never_retried(narrow_emulator, tmp_path):
    from bench import awsclient
    from bench.targets import FunctionSpec, VariantDeployer

    client = awsclient.client("lambda", narrow_emulator.url, "us-east-1", awsclient.control_plane_config())
    deployer = VariantDeployer(client)
    spec = FunctionSpec(name="sleepy", source=REPO / "tests" / "functions" / "sleepy", handler="app.handler")
    (variant,) = deployer.deploy_variants(spec, (128,))
    result = run_locust(
        narrow_emulator.url, spec.name, variant.name, tmp_path, payload='{"sleep_s": 0.2}', users=4, seconds=3
    )
    records = records_of(tmp_path)
    statuses = Counter((r.status, r.error_type) for r in records)
    assert statuses[("throttled", "ConcurrentInvocationLimitExceeded")] > 0
    assert statuses[("ok", None)] > 0
    served = narrow_emulator.info()["served"]["invocations"]
    assert served == statuses[("ok", None)], "a throttled invoke never ran, and nothing was retried"
    assert result.returncode == 1
