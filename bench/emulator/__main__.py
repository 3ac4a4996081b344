"""``python -m bench.emulator``: run the emulator in the foreground (same as ``lambench emulator``)."""

import argparse
import sys

from ..errors import UserError
from .server import EmulatorSettings, run


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="lambench emulator", description="Run the bundled local Lambda emulator on 127.0.0.1.")
    add_arguments(parser)
    try:
        run(settings_from(parser.parse_args(argv)))
    except UserError as err:
        print(f"lambench: error: {err}", file=sys.stderr)
        sys.exit(2)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=int, default=9001, help="port on 127.0.0.1 (0 picks a free one; default 9001)")
    parser.add_argument("--idle-timeout", type=float, default=380.0, metavar="S",
                        help="seconds before an idle environment is reclaimed (default 380, as SeBS measured on AWS)")
    parser.add_argument("--account-concurrency", type=int, default=1000, metavar="N",
                        help="concurrent executions allowed (default 1000, AWS's default per region)")
    parser.add_argument("--cpu-mode", choices=("auto", "quota", "none"), default="auto",
                        help="how CPU share follows memory: quota (cgroups), none, or auto (quota where allowed)")


def settings_from(args: argparse.Namespace) -> EmulatorSettings:
    return EmulatorSettings(port=args.port, idle_timeout_s=args.idle_timeout,
                            account_concurrency=args.account_concurrency, cpu_mode=args.cpu_mode)


if __name__ == "__main__":
    main()
