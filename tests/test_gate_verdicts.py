"""Gate verdicts on runs of known distributions: pass, fail, inconclusive, skipped, and bad input."""

from __future__ import annotations

import pytest
from gate_synthetic import synthetic_run

from bench.errors import UserError
from bench.gate import FAIL, INCONCLUSIVE, PASS, SKIPPED, GateSettings, evaluate, parse_gate_option, parse_gates_table
from bench.gate.evidence import RunEvidence


def _gates(table: dict) -> GateSettings:
    return parse_gates_table(table, "test.toml")


def _only(report, name: str, variant: str = "mem-512"):
    return next(r for r in report.results if r.gate.name == name and r.variant == variant)


def test_absolute_gates_pass_fail_and_straddle():
    run = synthetic_run(1)
    p95 = _only(evaluate(_gates({"mem-512": {"p95_ms": 1000}}), run), "p95_ms")
    assert p95.verdict == PASS and p95.upper <= 1000 and "upper bound" in p95.message
    p95 = _only(evaluate(_gates({"mem-512": {"p95_ms": 50}}), run), "p95_ms")
    assert p95.verdict == FAIL and p95.lower > 50 and "lower bound" in p95.message
    # A threshold at the measured p95 itself: the bounds straddle it, and no run length can tell.
    measured = p95.value
    at = _only(evaluate(_gates({"mem-512": {"p95_ms": measured}}), run), "p95_ms")
    assert at.verdict == INCONCLUSIVE and at.needed_n is None
    # Just above it: more invocations would tell, and the verdict says about how many.
    near = _only(evaluate(_gates({"mem-512": {"p95_ms": measured * 1.05}}), run), "p95_ms")
    assert near.verdict == INCONCLUSIVE and near.needed_n > 480 and f"{near.needed_n:,}" in near.message


def test_a_percentile_the_run_is_too_small_for_is_inconclusive_with_the_n_it_needs():
    report = evaluate(_gates({"p99_ms": 10_000}), synthetic_run(1, n=100))
    assert {r.verdict for r in report.results} == {INCONCLUSIVE}
    assert {r.needed_n for r in report.results} == {459}
    assert report.failed  # inconclusive fails by default ...
    relaxed = evaluate(GateSettings(report.settings.gates, inconclusive="pass"), synthetic_run(1, n=100))
    assert not relaxed.failed and relaxed.exit_code == 0  # ... and passes when told to


def test_rate_gates_and_a_zero_limit_that_counts():
    clean = synthetic_run(1, error_rate=0.0)
    zero = evaluate(_gates({"error_rate": 0}), clean)
    assert {r.verdict for r in zero.results} == {PASS}
    failing = evaluate(_gates({"error_rate": 0}), synthetic_run(1, error_rate=0.05))
    assert {r.verdict for r in failing.results} == {FAIL}
    # 0 errors in 480 calls: the 99% upper bound is 0.95%, so "at most 1%" is shown, 0.5% is not.
    assert _only(evaluate(_gates({"error_rate": 0.01}), clean), "error_rate").verdict == PASS
    assert _only(evaluate(_gates({"error_rate": 0.005}), clean), "error_rate").verdict == INCONCLUSIVE
    cold = _only(evaluate(_gates({"cold_start_rate": 0.5}), clean), "cold_start_rate")
    assert cold.verdict == PASS and cold.value == pytest.approx(4 / 480)


def test_memory_and_cost_gates():
    run = synthetic_run(1)
    memory = evaluate(_gates({"max_memory_used_ratio": 0.4}), run)
    verdicts = {r.variant: r.verdict for r in memory.results}
    assert verdicts == {"mem-128": FAIL, "mem-512": PASS, "mem-1024": PASS, "mem-1769": PASS}  # 60 of 128 MB
    cost = _only(evaluate(_gates({"usd_per_million": 0.5}), run), "usd_per_million")
    assert cost.verdict == FAIL and cost.unit == "usd"


def test_regressions_fail_a_real_slowdown_and_skip_without_a_baseline():
    settings = _gates({"p95_regression": 0.10, "usd_per_million_regression": 0.05})
    baseline, slower = synthetic_run(1), synthetic_run(2, scale={512: 1.5})
    report = evaluate(settings, slower, baseline)
    assert report.comparisons == 8
    assert _only(report, "p95_regression").verdict == FAIL
    assert _only(report, "usd_per_million_regression").verdict == FAIL
    assert "Mann-Whitney" in _only(report, "p95_regression").message
    assert _only(report, "p95_regression", "mem-128").verdict == PASS
    skipped = evaluate(settings, slower)
    assert {r.verdict for r in skipped.results} == {SKIPPED} and not skipped.failed


def test_regression_on_samples_too_small_for_the_test_is_inconclusive():
    report = evaluate(_gates({"mem-512": {"p95_regression": 0.1}}), synthetic_run(2, n=3), synthetic_run(1, n=3))
    (row,) = report.results
    assert row.verdict == INCONCLUSIVE and "too small" in row.message and row.needed_n > 3


def test_recommended_gates_follow_the_decision_and_fail_without_one():
    run = synthetic_run(1)
    decided = {**run.results, "recommendation": {"memory": {"variant": "mem-1024", "reason": "cheapest"},
                                                 "traffic": {"path": "direct"}}}  # fmt: skip
    picked = RunEvidence(run.source, decided, run.summary, run.stats)
    (row,) = evaluate(_gates({"recommended": {"p95_ms": 1000}}), picked).results
    assert row.variant == "mem-1024" and row.verdict == PASS
    infeasible = {**run.results, "recommendation": {"memory": {"variant": None, "reason": "every size timed out"},
                                                    "traffic": {"path": "direct"}}}  # fmt: skip
    (row,) = evaluate(
        _gates({"recommended": {"p95_ms": 1000}}), RunEvidence("x", infeasible, run.summary, run.stats)
    ).results
    assert row.verdict == FAIL and "every size timed out" in row.message


def test_bad_gates_are_refused_in_one_line():
    with pytest.raises(UserError, match=r"test.toml: gates.p96_ms: unknown gate; known: p95_ms"):
        _gates({"p96_ms": 1})
    with pytest.raises(UserError, match=r"gates.error_rate = 2: must be a share"):
        _gates({"error_rate": 2})
    with pytest.raises(UserError, match=r"gates.alpha = 0.7: must be a number between 0 and 0.5"):
        _gates({"alpha": 0.7})
    with pytest.raises(UserError, match=r"--gate p95_ms: must be \[TARGET.\]NAME=THRESHOLD"):
        parse_gate_option("p95_ms")
    with pytest.raises(UserError, match=r"mem-999.p95_ms: no variant mem-999 in run seed-1 \(it has: mem-128, mem-512"):
        evaluate(_gates({"mem-999": {"p95_ms": 1}}), synthetic_run(1))
    other = synthetic_run(2)
    other = RunEvidence(
        "other", {**other.results, "run": {"run_id": "x", "function": "another"}}, other.summary, other.stats
    )
    with pytest.raises(UserError, match="a run of function another, not synthetic"):
        evaluate(_gates({"p95_regression": 0.1}), synthetic_run(1), other)
    with pytest.raises(UserError, match="no gates to check"):
        evaluate(GateSettings(), synthetic_run(1))


def test_command_line_gates_replace_the_files():
    settings = _gates({"p95_ms": 100, "mem-512": {"p99_ms": 200}})
    merged = settings.with_gates((parse_gate_option("p95_ms=300"), parse_gate_option("recommended.p95_ms=250")))
    assert {(g.target, g.name, g.threshold) for g in merged.gates} == {
        ("*", "p95_ms", 300.0), ("mem-512", "p99_ms", 200.0), ("recommended", "p95_ms", 250.0)
    }  # fmt: skip
