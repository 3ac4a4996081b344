"""``python -m bench.emulator``: run the emulator in the foreground (same as ``lambench emulator``)."""

import argparse
import asyncio
import sys
import time
from pathlib import Path

from ..errors import UserError
from .apigw import GatewaySettings
from .invoke import InvokeSettings
from .pool import pinned_cpus
from .server import EmulatorSettings, run


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="lambench emulator", description="Run the bundled local Lambda emulator on 127.0.0.1."
    )
    add_arguments(parser)
    parser.add_argument("--profile", type=Path, metavar="PATH", help=argparse.SUPPRESS)
    try:
        args = parser.parse_args(argv)
        use_uvloop()
        if args.profile is None:
            run(settings_from(args))
        else:
            # For tests/perf/fidelity_appetite.py: where the emulator's CPU per invoke goes.
            import cProfile

            profiler = cProfile.Profile(time.process_time)  # CPU, not the loop's idle waits
            profiler.runctx("run(settings)", globals(), {"run": run, "settings": settings_from(args)})
            profiler.dump_stats(args.profile)
    except UserError as err:
        print(f"lambench: error: {err}", file=sys.stderr)
        sys.exit(2)


def use_uvloop() -> None:
    """uvloop's event loop where it is installed: the same asyncio API, and less of the emulator's
    CPU per invoke, which the environments and the load generator share (fidelity_appetite.py)."""
    try:
        import uvloop
    except ImportError:
        return
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=int, default=9001, help="port on 127.0.0.1 (0 picks a free one; default 9001)")
    parser.add_argument(
        "--idle-timeout",
        type=float,
        default=380.0,
        metavar="S",
        help="seconds before an idle environment is reclaimed (default 380, as SeBS measured on AWS)",
    )
    parser.add_argument(
        "--account-concurrency",
        type=int,
        default=1000,
        metavar="N",
        help="concurrent executions allowed (default 1000, AWS's default per region)",
    )
    parser.add_argument(
        "--max-lifetime",
        type=float,
        default=4 * 3600.0,
        metavar="S",
        help="seconds after which an idle environment is replaced anyway (default 14400)",
    )
    parser.add_argument(
        "--scaling-burst",
        type=int,
        default=1000,
        metavar="N",
        help="new environments a function may add per 10 s (default 1000, Lambda's rate since Nov 2023)",
    )
    parser.add_argument(
        "--no-scaling-limit",
        dest="scaling_limit",
        action="store_false",
        help="do not model Lambda's scaling rate at all",
    )
    parser.add_argument(
        "--init-timeout",
        type=float,
        default=10.0,
        metavar="S",
        help="seconds an environment may take to initialise (default 10, Lambda's INIT limit)",
    )
    parser.add_argument(
        "--cpu-mode",
        choices=("auto", "quota", "dilation", "none"),
        # dilation by default: it works from each environment's own CPU time, so its Duration holds
        # on a busy host (README, "Fidelity and speed, measured"); a quota does not.
        default="dilation",
        help="how CPU share follows memory: dilation (stretch measured CPU time; the default), "
        "quota (cgroups), none, or auto (quota where allowed, else dilation)",
    )
    parser.add_argument(
        "--memory-mode",
        choices=("auto", "cgroup", "watchdog", "none"),
        default="auto",
        help="how the memory limit is enforced: cgroup, watchdog (polls RSS), none, "
        "or auto (cgroup where allowed, else watchdog)",
    )
    parser.add_argument(
        "--async-payload-limit",
        type=int,
        default=1024 * 1024,
        metavar="BYTES",
        help="largest Event payload (default 1 MB, AWS since 2025; 262144 for the older limit)",
    )
    parser.add_argument(
        "--event-retry-delays",
        default="60,120",
        metavar="S,S",
        help="seconds before each retry of a failed Event invoke (default 60,120: two retries)",
    )
    parser.add_argument("--seed", type=int, default=None, help="seed for weighted-alias routing (default: random)")
    parser.add_argument(
        "--env-cpus", metavar="CPUS", default=None,
        help="pin the environments to these CPUs, e.g. 1 or 2,3 (lambench run: when the host has cores to spare)",
    )  # fmt: skip
    parser.add_argument(
        "--parent-pid",
        type=int,
        default=None,
        metavar="PID",
        help="stop, removing every environment, when process PID (the emulator's parent) exits, "
        "even by SIGKILL; lambench run passes its own pid (default: run until stopped)",
    )
    parser.add_argument(
        "--apigw-overhead-ms",
        type=float,
        default=0.0,
        metavar="MS",
        help="a fixed latency added by the API Gateway fronts (default 0: none modelled)",
    )
    parser.add_argument(
        "--apigw-timeout",
        type=float,
        default=None,
        metavar="S",
        help="API Gateway integration timeout (default 29 s REST, 30 s HTTP API)",
    )


def _delays(text: str) -> tuple[float, ...]:
    try:
        delays = tuple(float(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise UserError(f"--event-retry-delays {text!r}: must be comma-separated seconds, e.g. 60,120") from None
    if any(d < 0 for d in delays):
        raise UserError(f"--event-retry-delays {text!r}: seconds must be >= 0")
    return delays


def settings_from(args: argparse.Namespace) -> EmulatorSettings:
    invoke = InvokeSettings(
        async_payload_limit=args.async_payload_limit,
        event_retry_delays_s=_delays(args.event_retry_delays),
        seed=args.seed,
    )
    gateway = GatewaySettings(
        overhead_ms=args.apigw_overhead_ms,
        seed=args.seed,
        rest_timeout_s=args.apigw_timeout or 29.0,
        http_timeout_s=args.apigw_timeout or 30.0,
    )
    return EmulatorSettings(
        port=args.port,
        gateway=gateway,
        idle_timeout_s=args.idle_timeout,
        max_lifetime_s=args.max_lifetime,
        account_concurrency=args.account_concurrency,
        scaling_burst=args.scaling_burst if args.scaling_limit else None,
        init_timeout_s=args.init_timeout,
        cpu_mode=args.cpu_mode,
        memory_mode=args.memory_mode,
        invoke=invoke,
        parent_pid=args.parent_pid,
        env_cpus=pinned_cpus(args.env_cpus),
    )


if __name__ == "__main__":
    main()
