"""`lambench gate` and `lambench baseline save` on run folders made by the real pipeline.

Each run folder is what `lambench run` leaves: synthetic records of known distributions in
records.sqlite, then results.json, summary.json and the report from bench/outputs.py. The
checks: exit codes (0 pass, 1 fail, 2 bad input with one line), JUnit XML parsed back by
junitparser, the Markdown summary and $GITHUB_STEP_SUMMARY, and baselines.
"""

from __future__ import annotations

import json

import pytest
from gate_synthetic import synthetic_records, write_run
from junitparser import Failure, JUnitXml, Skipped

from bench.cli import main


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    base, same, slower, other = (root / name for name in ("base", "same", "slower", "other"))
    write_run(base, synthetic_records(1, run_id="base"))
    write_run(same, synthetic_records(2, run_id="same"))
    write_run(slower, synthetic_records(3, run_id="slower", scale={512: 1.5}))
    write_run(other, synthetic_records(4, run_id="other"), function="another-function")
    return {"base": base, "same": same, "slower": slower, "other": other}


@pytest.fixture(autouse=True)
def _elsewhere(tmp_path, monkeypatch):
    # Without -c, `lambench gate` reads ./bench.toml's gates: run where there is none.
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("LAMBENCH_CONFIG", raising=False)


def _gate(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(["gate", *map(str, argv)])
    out, err = capsys.readouterr()
    return code, out, err


def test_a_passing_gate_run_exits_0_and_writes_junit_and_markdown(runs, tmp_path, capsys, monkeypatch):
    summary = tmp_path / "step-summary.md"
    summary.write_text("earlier step\n")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    junit, md = tmp_path / "gates.xml", tmp_path / "gates.md"
    code, out, _ = _gate(capsys, runs["same"], "--baseline", runs["base"], "--gate", "p95_ms=5000",
                         "--gate", "p95_regression=0.1", "--junit", junit, "--markdown", md)  # fmt: skip
    assert code == 0, out
    assert "gates passed: 8 pass" in out
    suite = next(iter(JUnitXml.fromfile(str(junit))))
    cases = list(suite)
    assert len(cases) == 8 and suite.failures == 0
    assert {case.name for case in cases} >= {"p95_ms mem-128", "p95_regression mem-1769"}
    text = md.read_text()
    assert text.startswith("### lambench gates: gates passed") and "| ✅ | `p95_regression` | mem-512 |" in text
    assert summary.read_text() == "earlier step\n" + text + "\n"


def test_a_failing_gate_exits_1_with_the_reason_in_junit(runs, tmp_path, capsys):
    junit = tmp_path / "gates.xml"
    code, out, _ = _gate(capsys, runs["slower"], "--baseline", runs["base"], "--gate", "p95_regression=0.1",
                         "--junit", junit)  # fmt: skip
    assert code == 1
    assert "FAIL: p95_regression on mem-512: p95" in out and "latency as a whole is higher by" in out
    suite = next(iter(JUnitXml.fromfile(str(junit))))
    failed = [case for case in suite if any(isinstance(r, Failure) for r in case.result)]
    assert [case.name for case in failed] == ["p95_regression mem-512"]
    assert "beyond +10.0%" in failed[0].result[0].message


def test_inconclusive_fails_by_default_and_passes_when_told(runs, tmp_path, capsys):
    junit = tmp_path / "gates.xml"
    code, out, _ = _gate(capsys, runs["same"], "--gate", "cold_start_rate=0.01", "--junit", junit)
    assert code == 1 and "inconclusive gates fail" in out and "invocations would decide" in out
    code, out, _ = _gate(capsys, runs["same"], "--gate", "cold_start_rate=0.01", "--inconclusive", "pass",
                         "--junit", junit)  # fmt: skip
    assert code == 0
    suite = next(iter(JUnitXml.fromfile(str(junit))))
    assert all(isinstance(case.result[0], Skipped) for case in suite)


def test_without_c_the_gates_of_the_bench_toml_here(runs, tmp_path, capsys):
    (tmp_path / "bench.toml").write_text("[gates]\nerror_rate = 0.2\n")
    code, out, _ = _gate(capsys, runs["same"])
    assert code == 0 and "4 pass" in out


def test_gates_from_a_file_that_holds_only_gates(runs, tmp_path, capsys):
    gates = tmp_path / "gates.toml"
    gates.write_text("[gates]\nerror_rate = 0.2\n\n[gates.mem-512]\np95_ms = 5000\n")
    code, out, _ = _gate(capsys, runs["same"], "-c", gates)
    assert code == 0 and "5 pass" in out


def test_a_baseline_file_holds_what_the_gate_needs_and_not_the_records(runs, tmp_path, capsys):
    path = tmp_path / "baseline.json"
    assert main(["baseline", "save", str(runs["base"]), str(path)]) == 0
    document = json.loads(path.read_text())
    assert document["format"] == "lambench-baseline" and document["function"] == "synthetic"
    assert path.stat().st_size < (runs["base"] / "records.sqlite").stat().st_size
    capsys.readouterr()
    argv = ("--gate", "p95_regression=0.1", "--gate", "usd_per_million_regression=0.05")
    from_dir = _gate(capsys, runs["slower"], "--baseline", runs["base"], *argv)
    from_file = _gate(capsys, runs["slower"], "--baseline", path, *argv)
    from_results = _gate(capsys, runs["slower"], "--baseline", runs["base"] / "results.json", *argv)
    assert from_dir[0] == from_file[0] == from_results[0] == 1
    assert from_dir[1].replace(str(runs["base"]), "B") == from_file[1].replace(str(path), "B")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("{missing}", "--gate", "p95_ms=1"), "not a run folder"),
        (("{same}", "--gate", "p96_ms=1"), "--gate: p96_ms: unknown gate; known: p95_ms"),
        (("{same}", "--gate", "p95_ms=fast"), "'fast': must be a number"),
        (("{same}", "--gate", "mem-64.p95_ms=1"), "no variant mem-64 in run"),
        (("{same}", "--gate", "p95_regression=0.1", "--baseline", "{other}"), "a run of function another-function"),
        (("{same}", "--gate", "p95_regression=0.1", "--baseline", "{missing}"), "no such file or folder"),
        (("{same}", "-c", "{bad_toml}"), "bad.toml: gates.p95_ms = 0: must be > 0"),
        (("{same}", "-c", "{no_gates}"), "no gates to check"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(runs, tmp_path, capsys, argv, message):
    (tmp_path / "bad.toml").write_text("[gates]\np95_ms = 0\n")
    (tmp_path / "empty.toml").write_text("[traffic]\nmean_rps = 3\n")
    paths = {
        **runs,
        "missing": tmp_path / "nope",
        "bad_toml": tmp_path / "bad.toml",
        "no_gates": tmp_path / "empty.toml",
    }
    code, out, err = _gate(capsys, *(a.format(**paths) for a in argv))
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("lambench: error: ") and message in err, err
    assert "Traceback" not in out + err


def test_run_gate_without_any_gate_is_refused_before_the_run(tmp_path):
    # In a process of its own: `lambench run` imports Locust, whose gevent patching must not
    # reach this test process.
    import subprocess
    import sys
    from pathlib import Path

    source = Path(__file__).resolve().parent.parent / "targets" / "cpu_bound"
    (tmp_path / "bench.toml").write_text(
        f'[function]\nname = "g"\nsource = "{source}"\nhandler = "app.lambda_handler"\n[variants]\nmemory_mb = [128]\n'
    )
    done = subprocess.run([sys.executable, "-m", "bench", "run", "-c", "bench.toml", "--gate"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 2 and "has no [gates] table" in done.stderr
    assert not (tmp_path / "reports").exists()
