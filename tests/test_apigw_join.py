"""A 30-second mixed run (direct, HTTP API, REST API) under plain Locust: the log join's coverage
and truth, checked against the emulator's own logs."""

from __future__ import annotations

from collections import Counter, defaultdict
from pathlib import Path

from conftest import run_locust

from bench import awsclient
from bench.collect import parse_report_line, read_records

REPO = Path(__file__).resolve().parent.parent


def test_gateway_records_are_joined_to_their_report_lines(own_emulator, tmp_path):
    emulator, _, deploy = own_emulator()
    spec, variants = deploy("apigw_echo", (128, 512), name="mixed-join")
    variant_names = ",".join(v.name for v in variants)
    result = run_locust(
        "mixed.py", emulator.url, spec.name, variant_names, tmp_path, "--apigw-route", "/x?mode=echo",
        users=6, seconds=30, timeout=180,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    (records_path,) = tmp_path.glob("*/records.sqlite")
    records = read_records(records_path)
    paths = Counter(r.path for r in records)
    assert set(paths) == {"direct", "apigw-http", "apigw-rest"}
    gateway = [r for r in records if r.path != "direct"]
    joined = [r for r in gateway if r.cold is not None]
    assert len(joined) >= 0.99 * len(gateway), f"{len(joined)} of {len(gateway)} joined"
    assert all(r.request_id and r.billed_ms and r.memory_mb in (128, 512) for r in joined)

    # The truth: each environment's first REPORT line (the only one with Init Duration).
    logs = awsclient.client("logs", emulator.url, "us-east-1")
    first_by_stream: dict[str, str] = {}
    reports_by_stream = defaultdict(list)
    for page in logs.get_paginator("filter_log_events").paginate(
        logGroupName=f"/aws/lambda/{spec.name}", filterPattern='"REPORT RequestId"'
    ):
        for event in page["events"]:
            report = parse_report_line(event["message"])
            reports_by_stream[event["logStreamName"]].append(report)
            first_by_stream.setdefault(event["logStreamName"], report.request_id)
    first_invocations = set(first_by_stream.values())
    assert all(reports[0].cold and not any(r.cold for r in reports[1:]) for reports in reports_by_stream.values())
    cold = {r.request_id for r in joined if r.cold}
    assert cold, "a fresh emulator gives the gateway paths cold starts too"
    assert cold <= first_invocations, "every cold gateway record is its environment's first invocation"
    warm_firsts = {r.request_id for r in joined if r.cold is False} & first_invocations
    assert not warm_firsts, "no environment's first invocation is marked warm"


def test_the_apigw_locustfile_runs_both_gateways_alone(emulator, deploy, tmp_path):
    spec, (variant,) = deploy("apigw_echo", (256,), name="apigw-only")
    result = run_locust("apigw.py", emulator.url, spec.name, variant.name, tmp_path, "--apigw-route", "/x")
    assert result.returncode == 0, result.stderr[-3000:]
    (records_path,) = tmp_path.glob("*/records.sqlite")
    records = read_records(records_path)
    assert {r.path for r in records} == {"apigw-http", "apigw-rest"}
    assert all(r.status == "ok" and r.gateway_request_id and r.cold is not None for r in records)
    assert "API Gateway calls joined to their REPORT lines; 0 unmatched" in result.stderr
