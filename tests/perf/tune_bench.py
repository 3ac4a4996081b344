"""Adaptive tuning against APLT's protocol on emulator workloads with known true cost curves.

    .venv/bin/python tests/perf/tune_bench.py [--repeats 20] [--truth-num 100] [--workloads cpu,sleep,...]

Workloads (tests/functions/tune_workloads): cpu, sleep, mixed, memory (out of memory at 128 MB),
noisy (heavy-tailed waits). Sizes are APLT's defaults, 128, 256, 512, 1024, 1536, 3008 MB.

Ground truth: one long exhaustive run per workload (``--truth-num`` calls per size), saved once in
tests/perf/tune_truth.json and reused (delete it to measure again); the tuner never sees it. A
size's true cost is the mean of its warm calls' APLT price (billed ms x 2.1e-9 x MB / 128).

Each repeat runs APLT's protocol (``--mode exhaustive``, num 50) and adaptive (default settings,
num 50: budget 300), each on a freshly created function. APLT at num 10 is read from the same
num-50 run's first 10 calls per size: APLT calls each size in series on a fresh version, so
those are exactly the calls a num-10 run makes. A pick is accurate when its true cost is within
5% of the cheapest feasible size's. Printed: accuracy, mean invocations and USD per run, and the
ratio of APLT num 50's invocations to adaptive's.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench import awsclient  # noqa: E402
from bench.collect import read_records  # noqa: E402
from bench.targets import FunctionSpec, VariantDeployer  # noqa: E402
from bench.targets.local import start_emulator  # noqa: E402
from bench.tune import TuneRequest, parse_input, run_tune  # noqa: E402
from bench.tune.exhaustive import aplt_pick, size_stats  # noqa: E402

HERE = Path(__file__).resolve().parent
SOURCE = HERE.parent / "functions" / "tune_workloads"
TRUTH = HERE / "tune_truth.json"
SIZES = [128, 256, 512, 1024, 1536, 3008]
WORKLOADS = {  # handler, payload
    "cpu": ("app.cpu", {"n": 30_000}),
    "sleep": ("app.sleep", {"ms": 8}),
    "mixed": ("app.mixed", {"n": 15_000, "ms": 6}),
    "memory": ("app.memory", {"mb": 200, "n": 10_000}),
    "noisy": ("app.noisy", {"n": 10_000, "ms": 2}),
}
BASE = 2.1e-9
counter = [0]


def fresh(deployer: VariantDeployer, workload: str) -> str:
    # A new function per run: the emulator cannot publish on one whose newest version was deleted.
    counter[0] += 1
    handler, _ = WORKLOADS[workload]
    name = f"tb-{workload}-{counter[0]}-{int(time.time())}"
    deployer.ensure_function(FunctionSpec(name=name, source=SOURCE, handler=handler, timeout_s=3))
    return name


def tune(url: str, name: str, workload: str, mode: str, num: int, reports: Path) -> tuple[dict, Path]:
    raw = {"lambdaARN": name, "num": num, "powerValues": SIZES, "payload": WORKLOADS[workload][1]}
    request = TuneRequest(parse_input(raw), url, "us-east-1", mode=mode, reports_dir=reports, write_outputs=False)
    return run_tune(request)


def true_costs(run_dir: Path) -> dict[int, float | None]:
    records = read_records(run_dir / "records.sqlite")
    out: dict[int, float | None] = {}
    for mb in SIZES:
        mine = [r for r in records if r.memory_mb == mb]
        failed = [r for r in records if r.variant == f"mem-{mb}" and r.status != "ok"]
        warm = [r for r in mine if not r.cold and r.billed_ms is not None]
        out[mb] = None if failed or not warm else statistics.fmean(r.billed_ms * BASE * mb / 128 for r in warm)
    return out


def first_ten_pick(run_dir: Path) -> tuple[int | None, int]:
    records = sorted(read_records(run_dir / "records.sqlite"), key=lambda r: r.t_start_ns)
    stats, calls = [], 0
    for mb in SIZES:
        mine = [r for r in records if r.variant == f"mem-{mb}"][:10]
        calls += len(mine)
        if any(r.status != "ok" for r in mine):
            continue
        s = size_stats(mb, [r.duration_ms + (r.init_ms or 0.0) for r in mine], [float(r.billed_ms) for r in mine],
                       0.2, BASE)  # fmt: skip
        if s:
            stats.append(s)
    order = aplt_pick(stats, "cost", 0.5)
    return (order[0].value if order else None), calls


def accurate(pick: int | None, truth: dict[int, float | None]) -> bool:
    feasible = [c for c in truth.values() if c is not None]
    cost = truth.get(pick) if pick is not None else None
    return cost is not None and cost <= 1.05 * min(feasible)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--truth-num", type=int, default=100)
    parser.add_argument("--workloads", default=",".join(WORKLOADS))
    parser.add_argument("--cpu-mode", default="dilation", help="of the emulator this starts")
    parser.add_argument("--endpoint", help="a running emulator to use instead of starting one")
    args = parser.parse_args()
    reports = Path("/tmp/lambench-tune-bench")
    workloads = args.workloads.split(",")
    truth = json.loads(TRUTH.read_text()) if TRUTH.is_file() else {}
    with ExitStack() as stack:
        if args.endpoint:
            url = args.endpoint
        else:
            started = start_emulator(reports / "emulator.log", extra_args=("--cpu-mode", args.cpu_mode))
            url = stack.enter_context(started).url
        deployer = VariantDeployer(awsclient.client("lambda", url, "us-east-1", awsclient.control_plane_config()))
        for w in workloads:
            if w not in truth:
                _, run_dir = tune(url, fresh(deployer, w), w, "exhaustive", args.truth_num, reports)
                truth[w] = {str(k): v for k, v in true_costs(run_dir).items()}
                TRUTH.write_text(json.dumps(truth, indent=2) + "\n")
        rows = []
        for w in workloads:
            t = {int(k): v for k, v in truth[w].items()}
            tally = {k: {"ok": 0, "calls": [], "usd": []} for k in ("aplt10", "aplt50", "adaptive")}
            for _ in range(args.repeats):
                out, run_dir = tune(url, fresh(deployer, w), w, "exhaustive", 50, reports)
                tally["aplt50"]["ok"] += accurate(out["power"], t)
                tally["aplt50"]["calls"].append(out["lambench"]["invocations"])
                tally["aplt50"]["usd"].append(out["lambench"]["usd"])
                pick10, calls10 = first_ten_pick(run_dir)
                tally["aplt10"]["ok"] += accurate(pick10, t)
                tally["aplt10"]["calls"].append(calls10)
                tally["aplt10"]["usd"].append(out["lambench"]["usd"] * calls10 / out["lambench"]["invocations"])
                out, _ = tune(url, fresh(deployer, w), w, "adaptive", 50, reports)
                tally["adaptive"]["ok"] += accurate(out["power"], t)
                tally["adaptive"]["calls"].append(out["lambench"]["invocations"])
                tally["adaptive"]["usd"].append(out["lambench"]["usd"])
            best = min((c, m) for m, c in t.items() if c is not None)[1]
            for k, v in tally.items():
                rows.append(
                    (w, best, k, v["ok"], args.repeats, statistics.fmean(v["calls"]), statistics.fmean(v["usd"]))
                )
            ratio = statistics.fmean(tally["aplt50"]["calls"]) / statistics.fmean(tally["adaptive"]["calls"])
            print(f"{w}: APLT num 50 / adaptive invocations = {ratio:.2f}x", file=sys.stderr, flush=True)
            for row in rows[-3:]:  # as each workload ends: a long run keeps what it measured
                print(_row(*row), file=sys.stderr, flush=True)
    print(f"cpu mode {args.cpu_mode}; {args.repeats} repeats per workload")
    print("| workload | true optimum | method | accurate picks | mean invocations | mean USD |")
    print("|---|---|---|---|---|---|")
    for row in rows:
        print(_row(*row))


def _row(w: str, best: int, k: str, ok: int, n: int, calls: float, usd: float) -> str:
    return f"| {w} | {best} MB | {k} | {ok}/{n} | {calls:.1f} | {usd:.3g} |"


if __name__ == "__main__":
    main()
