"""Noise control, measured: regression gates fail for a real 20% slowdown and (almost) never for noise.

Two runs drawn from one distribution (tests/gate_synthetic.py: lognormal latencies around the
default run's medians, sigma 0.3, a cold-start mode and 0.5% errors, 480 invocations per
variant as in the default run) go through the collector, analysis and every regression gate
(p95, p99, cost, error rate) on all four variants: 16 comparisons sharing alpha = 0.01. Over
500 seeds, fewer than 1% of gate runs may fail. Then one variant's latency is made 20% slower
(its p95 moves 20%): its p95_regression gate must fail in at least 95% of the seeds. Both rates
are printed, and recorded in the README's CI section.
"""

from __future__ import annotations

from gate_synthetic import SIGMA, synthetic_run

from bench.gate import FAIL, evaluate, parse_gates_table

SEEDS = 500
GATES = {"p95_regression": 0.10, "p99_regression": 0.10, "usd_per_million_regression": 0.05,
         "error_rate_regression": 0.01}  # fmt: skip


def test_false_failure_and_detection_rates(capsys):
    settings = parse_gates_table({"alpha": 0.01, **GATES}, "noise test")
    false_failures = detected = 0
    for seed in range(SEEDS):
        baseline = synthetic_run(3 * seed)
        same = evaluate(settings, synthetic_run(3 * seed + 1), baseline)
        assert same.comparisons == 16
        false_failures += same.failed
        slower = evaluate(settings, synthetic_run(3 * seed + 2, scale={512: 1.2}), baseline)
        p95 = next(r for r in slower.results if r.gate.name == "p95_regression" and r.variant == "mem-512")
        detected += p95.verdict == FAIL
    false_rate, detection_rate = false_failures / SEEDS, detected / SEEDS
    with capsys.disabled():
        print(
            f"\ngate noise ({SEEDS} seeds, 480 invocations per variant, sigma {SIGMA}): "
            f"false failures {false_rate:.1%} (goal < 1%), detection of a 20% p95 shift {detection_rate:.1%} "
            "(goal >= 95%)"
        )
    assert false_rate < 0.01
    assert detection_rate >= 0.95
