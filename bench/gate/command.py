"""The gate's doors on the command line: `lambench gate`, `lambench baseline save`, and `lambench run --gate`.

bench/cli.py adds these options and commands; the work is bench/gate/run.py's.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import TYPE_CHECKING

from bench.errors import UserError
from bench.gate.settings import GateOptions, GateSettings, parse_gate_option

if TYPE_CHECKING:
    from bench.config import BenchConfig


def cmd_gate(args: argparse.Namespace) -> int:
    from bench.config import load_gates_config

    config = Path(args.config) if args.config else default_config()
    settings = load_gates_config(config) if config is not None else GateSettings()
    return run_gate(args, Path(args.run_dir), gate_settings(args, settings))


def default_config() -> Path | None:
    # Without -c, the gates of ./bench.toml (or $LAMBENCH_CONFIG) when there is one.
    path = Path(os.environ.get("LAMBENCH_CONFIG", "bench.toml"))
    return path if path.is_file() else None


def gate_settings(args: argparse.Namespace, settings: GateSettings) -> GateSettings:

    options = GateOptions(
        gates=tuple(parse_gate_option(spec) for spec in args.gate or () if spec is not None),
        alpha=args.alpha,
        inconclusive=args.inconclusive,
    )
    return options.applied_to(settings)


def check_gate_targets(settings: GateSettings, config: BenchConfig) -> None:
    # Before the run, not after it: a gate on a size the run will not measure is a typo.
    from bench.gate.settings import EVERY, RECOMMENDED

    variants = [f"mem-{mb}" for mb in config.memory_mb]
    for gate in settings.gates:
        if gate.target not in (EVERY, RECOMMENDED, *variants):
            raise UserError(f"{settings.source or '--gate'}: gates.{gate.target}: not a variant of this run "
                            f"({', '.join(variants)}) nor recommended")  # fmt: skip


def run_gate(args: argparse.Namespace, run_dir: Path, settings: GateSettings) -> int:
    from bench.gate.run import GateRequest, log_console, run_gates

    baseline = Path(args.baseline) if args.baseline else None
    junit = Path(args.junit) if args.junit else None
    markdown = Path(args.markdown) if args.markdown else None
    return run_gates(GateRequest(run_dir, settings, baseline, junit, markdown), log_console()).exit_code


def cmd_baseline_save(args: argparse.Namespace) -> int:
    from bench.gate import save_baseline

    path = save_baseline(Path(args.run_dir), Path(args.path))
    print(f"baseline: {path.resolve()} ({path.stat().st_size:,} bytes)")
    return 0


def add_gate_arguments(parser: argparse.ArgumentParser, *, on_run: bool) -> None:
    spec = "[TARGET.]NAME=VALUE"
    parser.add_argument(
        "--gate", nargs="?", action="append", metavar=spec,
        help=("check the run's gates ([gates] of the config) when it ends; " if on_run else "")
        + "with a value, add or replace one gate, e.g. recommended.p95_ms=300 or p95_regression=0.1 (repeatable)",
    )  # fmt: skip
    parser.add_argument(
        "--baseline", metavar="RUN_DIR_OR_FILE", help="the run (or baseline file) regressions compare to"
    )
    parser.add_argument("--alpha", type=_alpha, help="significance level of every gate (default: [gates].alpha, 0.01)")
    parser.add_argument(
        "--inconclusive", choices=("fail", "pass"),
        help="what a gate the data cannot decide does (default: [gates].inconclusive, fail)",
    )  # fmt: skip
    parser.add_argument("--junit", metavar="FILE", help="write JUnit XML: one testcase per gate")
    parser.add_argument("--markdown", metavar="FILE", help="write a Markdown summary (also appended to "
                        "$GITHUB_STEP_SUMMARY when set)")  # fmt: skip


def _alpha(text: str) -> float:
    from bench.gate.settings import alpha_problem

    try:
        value: float | None = float(text)
    except ValueError:
        value = None
    if value is None or alpha_problem(value):
        raise argparse.ArgumentTypeError(f"{text!r}: must be a number between 0 and 0.5 (exclusive), e.g. 0.01")
    return value
