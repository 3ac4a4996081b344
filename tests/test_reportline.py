"""REPORT-line parsing against the AWS fixtures, both log formats, and log tails."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.collect.reportline import (
    ColdStartMetric,
    Report,
    ReportLineError,
    find_report,
    parse_emf_cold_start,
    parse_log_line,
    parse_report_line,
)

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures" / "aws"
SHARED_FIXTURES = REPO.parent / "shared" / "fixtures" / "aws"


def _fixture_cases() -> list[tuple[str, dict]]:
    # split("\n") rather than splitlines(): the fixture's TABs must survive as-is.
    lines = (FIXTURES / "report-lines.txt").read_text().split("\n")
    expected = json.loads((FIXTURES / "report-lines.json").read_text())
    return [(lines[case["line"] - 1], case) for case in expected]


@pytest.mark.parametrize(("line", "expected"), _fixture_cases(), ids=lambda v: str(v)[:12])
def test_fixture_line_parses_to_expected_values(line: str, expected: dict) -> None:
    report = parse_report_line(line)
    assert report is not None
    for key, value in expected.items():
        if key in ("line", "source"):
            continue
        assert getattr(report, key) == value, key


def test_fixture_has_one_case_per_line() -> None:
    lines = [line for line in (FIXTURES / "report-lines.txt").read_text().split("\n") if line]
    assert [case["line"] for _, case in _fixture_cases()] == list(range(1, len(lines) + 1))


def test_fixture_copies_match_shared() -> None:
    if not SHARED_FIXTURES.is_dir():
        pytest.skip(f"{SHARED_FIXTURES} not present (a lone clone runs on its own copy)")
    shared = sorted(p.name for p in SHARED_FIXTURES.iterdir() if p.is_file())
    copied = sorted(p.name for p in FIXTURES.iterdir() if p.is_file())
    assert copied == shared
    for name in shared:
        assert (FIXTURES / name).read_bytes() == (SHARED_FIXTURES / name).read_bytes(), name


def _platform_report(**metrics: float) -> str:
    return json.dumps(
        {
            "time": "2024-05-01T12:00:00.000Z",
            "type": "platform.report",
            "record": {"requestId": "req-json-1", "metrics": metrics, "status": "success"},
        }
    )


def test_json_platform_report_parses_to_same_report_as_text() -> None:
    line = _platform_report(
        durationMs=15.74,
        billedDurationMs=147,
        memorySizeMB=128,
        maxMemoryUsedMB=56,
        initDurationMs=130.49,
    )
    assert parse_log_line(line) == Report(
        request_id="req-json-1",
        duration_ms=15.74,
        billed_ms=147,
        memory_mb=128,
        max_memory_used_mb=56,
        init_ms=130.49,
    )
    assert parse_log_line(line).cold is True


def test_json_platform_report_warm_and_restore() -> None:
    warm = parse_log_line(_platform_report(durationMs=3, billedDurationMs=3.0, memorySizeMB=512, maxMemoryUsedMB=40))
    assert warm.cold is False and warm.duration_ms == 3.0 and warm.billed_ms == 3
    restored = parse_log_line(
        _platform_report(
            durationMs=469.4, billedDurationMs=500, memorySizeMB=1024, maxMemoryUsedMB=21, restoreDurationMs=474.16
        )
    )
    assert restored.restore_ms == 474.16 and restored.init_ms is None and restored.cold


@pytest.mark.parametrize(
    "line",
    [
        "START RequestId: 8f507cfc-xmpl-4697-b07a-ac58fc914c95 Version: $LATEST",
        "END RequestId: 8f507cfc-xmpl-4697-b07a-ac58fc914c95",
        "hello from the handler",
        "{not json",
        '{"type": "platform.start", "record": {"requestId": "x"}}',
        '["platform.report"]',
        "",
    ],
)
def test_non_report_line_is_none(line: str) -> None:
    assert parse_log_line(line) is None


def test_text_line_with_trailing_tab_and_cr_through_parse_log_line() -> None:
    line = (
        "REPORT RequestId: r1\tDuration: 1.5 ms\tBilled Duration: 2 ms\tMemory Size: 128 MB\tMax Memory Used: 30 MB\t\r"
    )
    assert parse_log_line(line) == Report("r1", 1.5, 2, 128, 30)


def test_unknown_fields_are_ignored() -> None:
    line = (
        "REPORT RequestId: r2\tDuration: 3000.00 ms\tBilled Duration: 3000 ms\t"
        "Memory Size: 128 MB\tMax Memory Used: 39 MB\tStatus: timeout"
    )
    assert parse_report_line(line).duration_ms == 3000.0


def test_report_missing_required_field_raises() -> None:
    with pytest.raises(ReportLineError, match="billed_ms"):
        parse_report_line("REPORT RequestId: r3\tDuration: 1 ms\tMemory Size: 128 MB\tMax Memory Used: 1 MB")
    with pytest.raises(ReportLineError, match="metrics"):
        parse_log_line('{"type": "platform.report", "record": {"requestId": "r4"}}')


def test_record_fields_fit_an_invocation_record() -> None:
    report = parse_report_line(_fixture_cases()[0][0])
    assert report.record_fields() == {
        "request_id": "8f507cfc-xmpl-4697-b07a-ac58fc914c95",
        "cold": True,
        "init_ms": 130.49,
        "duration_ms": 15.74,
        "billed_ms": 147,
        "max_memory_mb": 56,
        "memory_mb": 128,
        "billed_restore_ms": None,
    }


def test_a_snapstart_restore_is_billed_in_full() -> None:
    """The fixture's SnapStart line bills 500 ms plus a Billed Restore Duration of 75 ms: pricing only
    the 500 would under-price that cold start by 13%."""
    from bench.analysis import summarize
    from bench.records import InvocationRecord

    line = next(line for line, case in _fixture_cases() if case.get("billed_restore_ms"))
    report = parse_report_line(line)
    record = InvocationRecord(
        run_id="r", variant="mem-1024", path="direct", t_start_ns=1, client_ms=480.0, status="ok",
        **report.record_fields(),
    )  # fmt: skip
    assert (record.cold, record.billed_ms, record.billed_restore_ms) == (True, 500, 75)
    (variant,) = summarize([record], architecture="x86_64").variants
    assert variant.billed_ms_mean.value == 575 and variant.billed_ms_cold.value == 575


TAIL = "\n".join(
    [
        "START RequestId: aaaa-1 Version: $LATEST",
        "progress 50%\rprogress 100%\rREPORT RequestId: fake\tDuration: 1 ms",
        "END RequestId: aaaa-1",
        "REPORT RequestId: aaaa-1\tDuration: 12.00 ms\tBilled Duration: 13 ms\tMemory Size: 256 MB\t"
        "Max Memory Used: 70 MB\tInit Duration: 200.00 ms\t",
        "START RequestId: bbbb-2 Version: $LATEST",
        "[INFO]\t2024-05-01T12:00:00Z\tbbbb-2\thandled",
        "END RequestId: bbbb-2",
        "REPORT RequestId: bbbb-2\tDuration: 4.20 ms\tBilled Duration: 5 ms\tMemory Size: 256 MB\t"
        "Max Memory Used: 71 MB\t",
        "",
    ]
)


def test_find_report_picks_the_request_id() -> None:
    first = find_report(TAIL, "aaaa-1")
    assert first.request_id == "aaaa-1" and first.cold and first.init_ms == 200.0
    second = find_report(TAIL, "bbbb-2")
    assert second.request_id == "bbbb-2" and not second.cold and second.billed_ms == 5


def test_find_report_without_id_takes_the_last_report() -> None:
    assert find_report(TAIL).request_id == "bbbb-2"


def test_find_report_absent() -> None:
    assert find_report(TAIL, "cccc-3") is None
    assert find_report("START RequestId: x\nEND RequestId: x\n") is None


# --- Powertools EMF ColdStart lines ----------------------------------------------------------

# Captured from targets/cpu_bound's first call (Powertools Metrics, capture_cold_start_metric=True).
EMF_COLD_START = (
    '{"_aws":{"Timestamp":1795725119153,"CloudWatchMetrics":[{"Namespace":"lambench","Dimensions":'
    '[["function_name","service"]],"Metrics":[{"Name":"ColdStart","Unit":"Count"}]}]},'
    '"function_name":"lambench-cpu-bound","service":"cpu_bound","ColdStart":[1.0]}'
)
EMF_ITERATIONS = (
    '{"_aws":{"Timestamp":1795725119153,"CloudWatchMetrics":[{"Namespace":"lambench","Dimensions":'
    '[["service"]],"Metrics":[{"Name":"Iterations","Unit":"Count"}]}]},"service":"cpu_bound","Iterations":[10.0]}'
)


def test_emf_cold_start_line_parses() -> None:
    assert parse_emf_cold_start(EMF_COLD_START + "\n") == ColdStartMetric(
        function_name="lambench-cpu-bound", service="cpu_bound", cold_start=1.0, timestamp_ms=1795725119153
    )


@pytest.mark.parametrize(
    "line",
    [
        EMF_ITERATIONS,
        "REPORT RequestId: r1\tDuration: 1.5 ms\tBilled Duration: 2 ms\tMemory Size: 128 MB\tMax Memory Used: 30 MB",
        '{"ColdStart": [1.0]}',  # no _aws block: function output, not a metric
        '{"_aws": "x", "ColdStart": [1.0]}',
        "{not json",
        "[1, 2]",
        "",
    ],
)
def test_lines_without_an_emf_cold_start_are_none(line: str) -> None:
    assert parse_emf_cold_start(line) is None


def test_emf_cold_start_as_a_bare_number_and_without_dimensions() -> None:
    metric = parse_emf_cold_start('{"_aws": {"Timestamp": 1700000000000}, "ColdStart": 1}')
    assert metric == ColdStartMetric(None, None, 1.0, 1700000000000)


@pytest.mark.parametrize(
    "line",
    [
        '{"_aws": {"Timestamp": 1}, "ColdStart": ["yes"]}',
        '{"_aws": {"Timestamp": 1}, "ColdStart": []}',
        '{"_aws": {"Timestamp": 1}, "ColdStart": true}',
        '{"_aws": {}, "ColdStart": [1.0]}',
    ],
)
def test_malformed_emf_cold_start_raises(line: str) -> None:
    with pytest.raises(ReportLineError):
        parse_emf_cold_start(line)


def test_cpu_bound_target_logs_one_emf_cold_start_then_none(monkeypatch, capsys) -> None:
    import importlib.util
    import uuid
    from types import SimpleNamespace

    from aws_lambda_powertools.metrics.provider import cold_start

    monkeypatch.delenv("POWERTOOLS_METRICS_DISABLED", raising=False)
    monkeypatch.delenv("POWERTOOLS_DEV", raising=False)
    app_path = REPO / "targets" / "cpu_bound" / "app.py"
    spec = importlib.util.spec_from_file_location(f"cpu_bound_{uuid.uuid4().hex}", app_path)
    app = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(app)
    cold_start.reset_cold_start_flag()  # process-wide in Powertools; another test may have spent it
    context = SimpleNamespace(
        function_name="lambench-cpu-bound",
        memory_limit_in_mb="128",
        invoked_function_arn="arn:aws:lambda:us-east-1:123456789012:function:lambench-cpu-bound",
        aws_request_id=str(uuid.uuid4()),
    )
    app.lambda_handler({"n": 10}, context)
    first = [parse_emf_cold_start(line) for line in capsys.readouterr().out.splitlines()]
    app.lambda_handler({"n": 10}, context)
    second = [parse_emf_cold_start(line) for line in capsys.readouterr().out.splitlines()]
    (metric,) = [m for m in first if m is not None]
    assert (metric.function_name, metric.service, metric.cold_start) == ("lambench-cpu-bound", "cpu_bound", 1.0)
    assert metric.timestamp_ms > 1_600_000_000_000
    assert not any(second)
