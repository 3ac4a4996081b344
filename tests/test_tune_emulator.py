"""lambench tune against the real emulator process: drop-in output, APLT's figures, infeasible sizes, cold starts.

Every call here is a real invoke of tests/functions/tune_workloads on the emulator, through boto3.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench.collect import read_records
from bench.tune import TuneRequest, parse_input, run_tune
from bench.tune.exhaustive import aplt_pick, size_stats

REPO = Path(__file__).resolve().parent.parent
APLT_KEYS = {"power", "cost", "duration", "stateMachine", "stats", "lambench"}


def versions(client, name):
    return sorted(v["Version"] for v in client.list_versions_by_function(FunctionName=name)["Versions"])


def state(client, name):
    config = client.get_function_configuration(FunctionName=name)
    return versions(client, name), config["MemorySize"], config.get("Environment", {}).get("Variables", {})


def tune(emulator, tmp_path, raw, mode="adaptive", **options):
    request = TuneRequest(parse_input(raw), emulator.url, "us-east-1", mode=mode, reports_dir=tmp_path, **options)
    return run_tune(request)


def test_cli_prints_one_aplt_object_and_exhaustive_matches_aplts_figures(emulator, lambda_client, deploy, tmp_path):
    spec, _ = deploy("tune_workloads", (128,), handler="app.sleep", environment={"KEEP": "me"})
    before = state(lambda_client, spec.name)
    path = tmp_path / "input.json"
    raw = {"lambdaARN": spec.name, "num": 5, "powerValues": [256, 128], "payload": {"ms": 1}, "strategy": "cost"}
    path.write_text(json.dumps(raw))
    command = [sys.executable, "-m", "bench", "tune", str(path), "--endpoint", emulator.url, "--mode", "exhaustive"]
    done = subprocess.run([*command, "--reports", str(tmp_path)], capture_output=True, text=True, cwd=REPO, timeout=300)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)  # exactly one JSON object: json.loads refuses anything after it
    assert set(out) == APLT_KEYS and "tune:" in done.stderr and "tune:" not in done.stdout
    assert [s["value"] for s in out["stats"]] == [256, 128]  # powerValues order, as APLT's Map gives them
    assert all(set(s) == {"value", "averagePrice", "averageDuration", "totalCost"} for s in out["stats"])
    lb = out["lambench"]
    assert lb["mode"] == "exhaustive" and lb["invocations"] == 10 and lb["infeasible"] == []
    # The figures again, from the stored records, by APLT's formulas: the same numbers.
    records = read_records(Path(lb["records"]))
    assert len(records) == 10 and {r.variant for r in records} == {"mem-128", "mem-256"}
    expected = []
    for mb in (256, 128):
        mine = [r for r in records if r.memory_mb == mb]
        totals = [r.duration_ms + (r.init_ms or 0.0) for r in mine]
        expected.append(size_stats(mb, totals, [float(r.billed_ms) for r in mine], 0.2, 2.1e-9))
    assert out["stats"] == [s.as_aplt() for s in expected]
    best = aplt_pick(expected, "cost", 0.5)[0]
    assert (out["power"], out["cost"], out["duration"]) == (best.value, best.average_price, best.average_duration)
    assert out["stateMachine"]["lambdaCost"] == sum(s.total_cost for s in expected)
    assert out["stateMachine"]["visualization"] == Path(lb["report"]).as_uri()
    assert Path(lb["report"]).is_file() and Path(lb["results"]).is_file()
    results = json.loads(Path(lb["results"]).read_text())
    assert {v["variant"] for v in results["variants"]} == {"mem-128", "mem-256"}
    assert lb["pick"]["power"] == out["power"] and lb["pick"]["cost"]["lo"] <= lb["pick"]["cost"]["hi"]
    assert lb["usd"] > 0 and lb["spent"]["invocations"] == 10
    # Priced in the region the function's ARN names: the bundled emulator's, us-east-1.
    assert lb["prices"] == "us-east-1 prices" and results["region"] == "us-east-1"
    assert state(lambda_client, spec.name) == before  # versions, memory and environment as they were


def test_out_of_memory_and_timeout_sizes_are_infeasible_and_tuning_goes_on(emulator, lambda_client, deploy, tmp_path):
    spec, _ = deploy("tune_workloads", (128,), handler="app.memory", timeout_s=3)
    before = state(lambda_client, spec.name)
    out, _ = tune(emulator, tmp_path, {"lambdaARN": spec.name, "num": 5, "powerValues": [128, 256, 512],
                                       "payload": {"mb": 160, "n": 1000}})  # fmt: skip
    infeasible = {i["power"]: i["error"] for i in out["lambench"]["infeasible"]}
    assert 128 in infeasible and infeasible[128].startswith("ran out of memory")
    assert out["power"] in (256, 512) and 128 not in [s["value"] for s in out["stats"]]
    assert state(lambda_client, spec.name) == before

    slow, _ = deploy("tune_workloads", (128,), handler="app.cpu", timeout_s=1, name=f"{spec.name[:50]}-slow")
    out, _ = tune(emulator, tmp_path, {"lambdaARN": slow.name, "num": 5, "powerValues": [128, 1769],
                                       "payload": {"n": 1_000_000}}, mode="exhaustive")  # fmt: skip
    infeasible = {i["power"]: i for i in out["lambench"]["infeasible"]}
    assert infeasible[128]["error"].startswith("timed out") and infeasible[128]["invocations"] == 1
    assert out["power"] == 1769 and [s["value"] for s in out["stats"]] == [1769]


def test_allowed_exceptions_count_and_others_make_a_size_infeasible(emulator, deploy, tmp_path):
    spec, _ = deploy("tune_workloads", (128,), handler="app.fail")
    raw = {"lambdaARN": spec.name, "num": 5, "powerValues": [128, 256]}
    out, _ = tune(emulator, tmp_path, raw | {"allowedExceptions": ["HandledError"]}, mode="exhaustive")
    assert [s["value"] for s in out["stats"]] == [128, 256] and out["lambench"]["invocations"] == 10
    # A second function: the emulator cannot publish on one whose newest version was deleted (see the report).
    other, _ = deploy("tune_workloads", (128,), handler="app.fail", name=f"{spec.name[:50]}-2")
    out, _ = tune(emulator, tmp_path, raw | {"lambdaARN": other.name}, mode="exhaustive")
    assert {i["power"] for i in out["lambench"]["infeasible"]} == {128, 256} and out["power"] is None
    assert "HandledError" in out["lambench"]["infeasible"][0]["error"]


def test_only_cold_starts_makes_every_call_cold_and_leaves_no_version(emulator, lambda_client, deploy, tmp_path):
    spec, _ = deploy("tune_workloads", (128,), handler="app.sleep")
    before = state(lambda_client, spec.name)
    raw = {"lambdaARN": spec.name, "num": 5, "powerValues": [128, 256], "payload": {"ms": 1}, "onlyColdStarts": True}
    out, run_dir = tune(emulator, tmp_path, raw, mode="exhaustive")
    records = read_records(run_dir / "records.sqlite")
    assert len(records) == 10 and all(r.cold is True and r.init_ms is not None for r in records)
    # discardTopBottom is 0 with onlyColdStarts, as in APLT (to float rounding: the sums run in
    # another order there).
    assert {s["value"]: s["averageDuration"] for s in out["stats"]} == pytest.approx(
        {mb: sum(r.duration_ms + r.init_ms for r in records if r.memory_mb == mb) / 5 for mb in (128, 256)},
        rel=1e-12,
    )
    assert set(out["lambench"]["cold_starts"]) == {"128", "256"}
    assert state(lambda_client, spec.name) == before


def test_adaptive_stops_early_on_a_clear_case(emulator, lambda_client, deploy, tmp_path):
    # Waiting only: duration is flat, so cost grows with memory and 128 MB is far cheaper than the rest.
    spec, _ = deploy("tune_workloads", (128,), handler="app.sleep")
    raw = {"lambdaARN": spec.name, "num": 50, "powerValues": [128, 256, 512, 1024, 1536, 3008], "payload": {"ms": 5}}
    out, _ = tune(emulator, tmp_path, raw)
    lb = out["lambench"]
    assert out["power"] == 128 and lb["mode"] == "adaptive"
    assert lb["invocations"] < 300 / 3  # APLT's num 50 at six sizes is 300
    assert lb["adaptive"]["verdict"] == "separated" and lb["runner_up"] is not None
    assert lb["adaptive"]["model"]["name"] in ("cpu-share", "parrotfish")
