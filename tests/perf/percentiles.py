"""Percentile accuracy: lambench's HDR histograms against Locust's own statistics, on one sample.

    .venv/bin/python tests/perf/percentiles.py [--samples N] [--seed S]

1,000,000 latencies (ms) from a known heavy-tailed mix, fixed seed: warm calls lognormal around
40 ms (sigma 0.5), 3 % cold starts lognormal around 450 ms (sigma 0.3), and 0.1 % stragglers
lognormal around 3 s (sigma 0.6). Exact percentiles come from numpy over the raw samples (its
default linear interpolation; nearest-rank is shown too, it is the rule HDR uses). Then:

- ours: every sample through bench.collect.histograms (µs, 3 significant digits);
- Locust: every sample through ``locust.stats.StatsEntry.log`` and
  ``get_response_time_percentile``, which rounds response times to about 2 significant digits.

Prints, per percentile, each answer and its relative error, then the maximum relative error of
each and the size each keeps. Asserts nothing: the README records the figures. The goal for
ours is at most 0.1 %. (Ingest speed is tests/perf/collector.py's business.)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import locust  # noqa: F401  (first, as everywhere: gevent patches before anything else loads)
import numpy as np
from locust.stats import RequestStats, StatsEntry

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.analysis import Sample  # noqa: E402
from bench.collect import Metric  # noqa: E402
from bench.collect import histograms as hdr  # noqa: E402

PERCENTILES = (50.0, 90.0, 99.0, 99.9)


def samples_ms(count: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    mode = rng.choice(3, size=count, p=[0.969, 0.03, 0.001])
    medians, sigmas = np.array([40.0, 450.0, 3000.0]), np.array([0.5, 0.3, 0.6])
    return rng.lognormal(np.log(medians[mode]), sigmas[mode])


def nearest_rank(sorted_values: np.ndarray, percentile: float) -> float:
    rank = max(int(percentile * sorted_values.size / 100 + 0.5), 1)
    return float(sorted_values[rank - 1])


def ours(values: np.ndarray) -> tuple[dict[float, float], int]:
    # The collector's aggregate and analysis's one percentile rule: what every report shows.
    metric = Metric()
    metric.record(hdr.ms_to_us(values))
    sample = Sample.from_metric(metric)
    answers = {p: sample.percentile(p) for p in PERCENTILES}
    return answers, len(hdr.encode(metric.histogram))


def locusts(values: np.ndarray) -> tuple[dict[float, float], int]:
    entry = StatsEntry(RequestStats(), "invoke", "Invoke")
    for value in values.tolist():
        entry.log(value, 0)
    answers = {p: float(entry.get_response_time_percentile(p / 100)) for p in PERCENTILES}
    return answers, len(entry.response_times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--samples", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=20261126)
    args = parser.parse_args()

    values = samples_ms(args.samples, args.seed)
    ordered = np.sort(values)
    exact = dict(zip(PERCENTILES, np.percentile(values, PERCENTILES).tolist(), strict=True))
    ranked = {p: nearest_rank(ordered, p) for p in PERCENTILES}
    hdr_answers, hdr_bytes = ours(values)
    locust_answers, locust_keys = locusts(values)

    print(
        f"{args.samples:,} samples, seed {args.seed}: lognormal 40 ms (96.9 %) + cold 450 ms (3 %) "
        f"+ stragglers 3 s (0.1 %); max {values.max():.1f} ms"
    )
    print(
        f"{'pct':>6} {'exact (numpy)':>14} {'nearest rank':>13} {'ours (HDR)':>11} {'err':>8} {'Locust':>9} {'err':>8}"
    )
    errors: dict[str, list[float]] = {"ours": [], "locust": []}
    for p in PERCENTILES:
        ours_err = abs(hdr_answers[p] - exact[p]) / exact[p]
        locust_err = abs(locust_answers[p] - exact[p]) / exact[p]
        errors["ours"].append(ours_err)
        errors["locust"].append(locust_err)
        print(
            f"{p:>6g} {exact[p]:>14.3f} {ranked[p]:>13.3f} {hdr_answers[p]:>11.3f} {ours_err:>8.4%} "
            f"{locust_answers[p]:>9.0f} {locust_err:>8.3%}"
        )
    print(
        f"max relative error: ours {max(errors['ours']):.4%} (goal <= 0.1 %), "
        f"Locust {max(errors['locust']):.3%} (ratio {max(errors['locust']) / max(errors['ours']):.0f}x)"
    )
    print(f"kept: ours {hdr_bytes} bytes encoded (base64), Locust {locust_keys} response-time keys")


if __name__ == "__main__":
    main()
