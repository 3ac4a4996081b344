"""Fidelity benchmark: how closely the bundled emulator models AWS Lambda, measured, not asserted.

    .venv/bin/python tests/perf/fidelity.py [--quick] [--json PATH] [--only modes|warm]

It starts the real emulator process(es) with ``start_emulator`` and measures, side by side in one
run, four things, each beside AWS's documented or published figure (tests/fixtures/aws/FACTS.md):

1. CPU share. targets/cpu_bound at 128, 512, 1024, 1769 and 3008 MB: the median REPORT Duration of
   warm, sequential invokes for a ~20 ms job (n=200000) and a ~200 ms job (n=2000000), as a ratio
   to 1769 MB's, beside the memory ratio (1769/MB, and 1.0 from 1769 MB up). Memory sizes are
   interleaved round by round. Done once per ``--cpu-mode`` that ``python -m bench.emulator
   --help`` lists; a mode whose start fails is skipped and said so, and ``auto`` is only measured
   when it resolves to a mode not measured already.
2. Init Duration of a hello-world handler (tests/perf/functions/hello) at 128 and 1024 MB: forced
   cold starts, each on a freshly published version (an environment variable changes), beside
   lambda-perf's python3.12 medians (83.7 and 81.8 ms), with Max Memory Used (~37 MB on AWS) and
   the cold invoke's client time that neither Init Duration nor Duration accounts for. Done in
   every measured cpu mode.
3. Emulator overhead per warm invoke: boto3 invokes of a warm no-op, interleaved round by round
   with the same boto3 client config invoking a bare aiohttp server (tests/perf/bare_server.py,
   its own process on 127.0.0.1) that gives the emulator's exact answer: same body bytes, same
   X-Amz-Executed-Version, x-amzn-RequestId and Content-Type. The overhead is the median of the
   paired differences. Both at 1769 MB and at 128 MB, where the runtime's own per-invoke work
   runs under the CPU quota too. (The warm REPORT Duration of the same no-op, beside lambda-perf's
   ~2 ms, is measured under every cpu mode, with 2.)
4. Throughput: warm no-op invokes per second with 50 concurrent clients (threads, one boto3 client
   each; then an aiohttp generator posting the same request bytes), against the emulator and,
   as the generator's own ceiling, against the bare server; with errors by type and the CPU each
   process used. The generator shares this machine's cores with the emulator.
5. Under load (issue 15): targets/cpu_bound at 128 and 1769 MB, a ~20 ms and a ~200 ms job, quiet,
   under ``lambench run``'s own load (4 users x 4 sizes, against the same emulator) and beside two
   busy-loop processes; each 128/1769 ratio beside 13.82 and beside the quiet one, per cpu mode.

Other processes on this host perturb every figure (CPU share most: a quota caps a slow
environment but not the 1769 MB baseline's competition). So each section first waits, at most
90 s, for the rest of the machine to use under 0.3 cores, and every figure is printed with what
the rest of the machine used meanwhile.

Progress goes to stderr. Detail tables with the raw per-invoke numbers of 1 and 2, then one
Markdown table (measure | lambench emulator | reference | note) go to stdout; every raw sample goes
to the --json file. Nothing listens anywhere but 127.0.0.1; every load loop is bounded in count
and in time. No figure here is asserted: this prints, the README records.

This file parses the options, runs the two halves and assembles the tables. The rest, one job a
module, beside it in tests/perf/: fidelity_sessions.py (the two halves, an emulator each: 1 and 2
and the warm Duration per cpu mode; 3 and 4 on a default one), fidelity_cpu.py (1),
fidelity_init.py (2), fidelity_warm.py (3 and the warm Duration), fidelity_throughput.py (4),
fidelity_underload.py (5, "under load": the 128/1769 ratio quiet, under lambench run's own load
and beside two busy loops, per cpu mode),
fidelity_load.py (what other processes use), fidelity_common.py (statistics, formatting, the
measuring client, emulator and deploy helpers). Each family module also prints its own detail
table and gives its rows of the summary table.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from fidelity_common import T0, machine, progress, table
from fidelity_cpu import cpu_rows, print_cpu_share
from fidelity_init import init_rows, memory_rows, print_init
from fidelity_load import QUIET_CORES
from fidelity_sessions import measure_modes, measure_warm_path
from fidelity_throughput import print_throughput, throughput_rows
from fidelity_underload import measure_underload, print_underload
from fidelity_warm import print_overhead, print_warm_duration, warm_duration_rows, warm_rows

# ----------------------------------------------------------------------------- the tables


def busy_sections(results: dict[str, Any]) -> list[str]:
    """Labels of the measurements during which other processes used QUIET_CORES or more on average."""
    loads = []
    for mode, r in results.get("modes", {}).items():
        loads += [
            (f"CPU share [{mode}]", r.get("cpu_share_load")),
            (f"warm Duration [{mode}]", r.get("warm_duration_load")),
        ]
        loads += [(f"Init [{mode}, {mb} MB]", init.get("load")) for mb, init in r.get("init", {}).items()]
    warm = results.get("warm", {})
    loads.append(("overhead", warm.get("overhead", {}).get("load")))
    loads += [
        (f"throughput [{t['generator']} -> {t['target']} {t['memory_mb']} MB]", t.get("load"))
        for t in warm.get("throughput", [])
    ]
    return [label for label, load in loads if load and (load["during"]["mean"] or 0) >= QUIET_CORES]


def print_summary(results: dict[str, Any]) -> None:
    measured = {m: r for m, r in results.get("modes", {}).items() if "skipped" not in r}
    rows = cpu_rows(results.get("modes", {})) + init_rows(measured) + memory_rows(measured)
    rows += warm_duration_rows(measured)
    if "warm" in results:
        rows += warm_rows(results["warm"]) + throughput_rows(results["warm"])
    print("\n## Fidelity summary\n")
    print(table(["measure", "lambench emulator", "reference (AWS / published)", "note"], rows))
    busy = busy_sections(results)
    if busy:
        print(
            f"\nMeasured while other processes used ≥ {QUIET_CORES} cores on average (treat as perturbed): "
            + "; ".join(busy)
            + "."
        )


def print_results(results: dict[str, Any]) -> None:
    m = results["machine"]
    print(f"# lambench emulator fidelity ({'quick' if results['quick'] else 'full'} run)\n")
    print(
        f"Host: {m['cpus']} CPUs, load average {m['loadavg']} at start, Python {m['python']}, "
        f"{m['platform']}. The load generator (this process) shares these cores with the emulator."
    )
    modes = results.get("modes", {})
    for mode, result in modes.items():
        if "skipped" in result:
            print(f"\n### CPU share, --cpu-mode {mode}: skipped ({result['skipped']})")
        else:
            print_cpu_share(mode, result)
    measured = {m: r for m, r in modes.items() if "skipped" not in r}
    if measured:
        print_init(measured)
        print_warm_duration(measured)
    if "warm" in results:
        print_overhead(results["warm"])
        print_throughput(results["warm"])
    if results.get("underload"):
        print_underload(results["underload"])
    print_summary(results)


# ----------------------------------------------------------------------------- main


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="about half the samples and 5 s load windows")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write every raw number here")
    parser.add_argument("--only", choices=("modes", "warm", "underload"), help="run one part only (for development)")
    return parser.parse_args(argv)


def run_all(args: argparse.Namespace, results: dict[str, Any], log_dir: Path) -> None:
    if args.only in (None, "modes"):
        results["modes"] = {}
        measure_modes(log_dir, args.quick, results["modes"])
    if args.only in (None, "warm"):
        results["warm"] = measure_warm_path(log_dir, args.quick)
    if args.only in (None, "underload"):
        results["underload"] = {}
        measure_underload(log_dir, args.quick, results["underload"])


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    log_dir = Path(tempfile.mkdtemp(prefix="lambench-fidelity-"))
    results: dict[str, Any] = {"quick": args.quick, "machine": machine(), "emulator_logs": str(log_dir)}
    interrupted = False
    try:
        run_all(args, results, log_dir)
    except KeyboardInterrupt:
        interrupted = True
        progress("interrupted: printing what was measured")
    results["elapsed_s"] = round(time.monotonic() - T0, 1)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=1, default=str))
    print_results(results)
    print(
        f"\nElapsed {results['elapsed_s']} s. Emulator logs: {log_dir}"
        + (f". Raw numbers: {args.json}" if args.json else "")
    )
    return 130 if interrupted else 0


if __name__ == "__main__":
    sys.exit(main())
