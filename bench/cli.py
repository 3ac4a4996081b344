"""The ``lambench`` command: thin entry points that validate, delegate and print.

Bad input is one line, ``lambench: error: ...``, and exit code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import traceback
from pathlib import Path
from typing import NoReturn

from .errors import UserError
from .gate.command import (
    add_gate_arguments,
    check_gate_targets,
    cmd_baseline_save,
    cmd_gate,
    gate_settings,
    run_gate,
)

EXIT_USAGE = 2
# Exit 1 means a gate failed, and nothing else (CI reads it so): a run that could not be made
# (AWS refused a call, or lambench itself broke) exits 3.
EXIT_RUN_FAILED = 3


def _config_path(args) -> Path:
    return Path(args.config)


def cmd_run(args) -> int:
    import locust  # noqa: F401  (gevent must patch sockets before boto3 loads)
    from rich.console import Console

    from .config import load_config
    from .run import run_benchmark

    config = load_config(_config_path(args))
    options = _run_options(args)
    gates = gate_settings(args, config.gates) if args.gate is not None else None
    if gates is not None:
        if not gates.gates:
            raise UserError(f"--gate: {config.path.name} has no [gates] table; add one, or give --gate NAME=VALUE")
        check_gate_targets(gates, config)
    console = Console(stderr=False)
    # A CI timeout sends SIGTERM first: stop as Ctrl-C does (load, then emulator), and report.
    signal.signal(signal.SIGTERM, _interrupt)
    output = run_benchmark(config, console, options)
    _print_outputs(console, output.outputs)
    for line in output.unreached:  # under the table, whose rows for such a path hold errors only
        console.print(f"[bold yellow]unreached[/] {line}", highlight=False, soft_wrap=True)
    if output.interrupted:
        console.print("[yellow]interrupted: the report covers what was measured before the stop[/]")
    if output.capacity_line:
        print(output.capacity_line)  # what the figures above may owe to this host
    print(f"report: {output.outputs.report_html.resolve()}")  # last, always: the README says so
    if output.interrupted:
        return 130
    return 0 if gates is None else run_gate(args, output.outputs.run_dir, gates)


def _run_options(args):
    from .load.budget import Budget
    from .run import RunOptions
    from .targets.apiplan import Apis
    from .targets.awsrun import AwsRunOptions

    apis = Apis(args.apigw_http_url or None, args.apigw_rest_url or None, args.apigw_access_log_group or None)
    return RunOptions(
        aws=AwsRunOptions(yes=args.yes, function_arn=args.function, given_apis=apis),
        budget=Budget(max_invocations=args.max_invocations, max_usd=args.max_usd),
    )


def cmd_teardown(args) -> int:
    from .targets.awsrun import teardown_run_dir

    run_dir = Path(args.run_dir)
    if not run_dir.is_dir():
        raise UserError(f"{run_dir}: not a run folder (give reports/<run-id>)")
    return teardown_run_dir(run_dir)


def _interrupt(signum, _frame) -> None:
    raise KeyboardInterrupt(signal.Signals(signum).name)


def cmd_report(args) -> int:
    from rich.console import Console

    from .config import load_decision_config
    from .outputs import outputs_from_store

    run_dir = Path(args.run_dir)
    if not run_dir.is_dir():
        raise UserError(f"{run_dir}: not a run folder (give reports/<run-id>)")
    traffic, decision = load_decision_config(Path(args.config)) if args.config else (None, None)
    console = Console(stderr=False)
    outputs = outputs_from_store(run_dir, traffic=traffic, decision=decision)
    _print_outputs(console, outputs)
    print(f"report: {outputs.report_html.resolve()}")
    return 0


def _print_outputs(console, outputs) -> None:
    from .report import summary_table

    console.print(summary_table(outputs.summary, outputs.recommendation))
    if outputs.records_sqlite is not None:
        console.print(f"records: {outputs.records_sqlite}")
    console.print(f"results: {outputs.results_json}")
    console.print(f"summary: {outputs.summary_json}, {outputs.markdown.name}, {outputs.csv.name}")


def cmd_tune(args) -> int:
    from .tune import main as tune_main

    return tune_main(args)


def cmd_emulator(args) -> int:
    # The emulator is its own process (DESIGN.md): nothing outside bench/emulator imports it.
    os.execv(sys.executable, [sys.executable, "-m", "bench.emulator", *args.emulator_args])


def cmd_deploy(args) -> int:
    from . import awsclient
    from .config import load_config
    from .targets import VariantDeployer

    config = load_config(_config_path(args))
    if args.target == "aws":
        return _deploy_aws(args, config)
    endpoint = args.endpoint or config.target.endpoint
    if config.target.kind == "local" and not endpoint:
        raise UserError("--endpoint: give the running emulator's URL, e.g. http://127.0.0.1:9001")
    deployer = VariantDeployer(
        awsclient.client("lambda", endpoint, config.target.region, awsclient.control_plane_config())
    )
    for variant in deployer.deploy_variants(config.function_spec(), config.memory_mb):
        print(f"{variant.name}\tversion {variant.version}\t{variant.alias_arn}")
    return 0


def _deploy_aws(args, config) -> int:
    """The sample with both APIs in front, journaled and kept until `lambench teardown`."""
    import dataclasses
    import time

    from rich.console import Console

    from .targets.awsrun import AwsRunOptions
    from .targets.gateways import deploy_with_gateways

    deploy_id = time.strftime("deploy-%Y%m%d-%H%M%S")  # a run id's shape, marked as a deploy's
    run_dir = config.reports_dir / deploy_id
    # --endpoint names the emulator for a local deploy; on AWS it is the config's or boto3's own.
    target = dataclasses.replace(config.target, endpoint=args.endpoint or config.target.endpoint)
    options = AwsRunOptions(yes=args.yes)
    result = deploy_with_gateways(config.function_spec(), config.memory_mb, target, run_dir, deploy_id,
                                  Console(stderr=True), options, role_arn=args.role_arn)  # fmt: skip
    for variant in result.variants:
        print(f"{variant.name}\tversion {variant.version}\t{variant.alias_arn}")
    gateways = result.gateways
    print(f"LAMBENCH_APIGW_HTTP_URL={gateways.http_url}")
    print(f"LAMBENCH_APIGW_REST_URL={gateways.rest_url}")
    print(f"LAMBENCH_APIGW_ACCESS_LOG_GROUP={gateways.access_log_group}")
    print(f"journal: {result.run_dir / 'journal.jsonl'} (remove it all: lambench teardown {result.run_dir})")
    return 0


class _Parser(argparse.ArgumentParser):
    """argparse, with its errors as lambench's one line (no usage block), exit 2."""

    def error(self, message: str) -> NoReturn:
        command = self.prog.removeprefix("lambench").strip()
        where = f"{command}: " if command else ""
        self.exit(EXIT_USAGE, f"lambench: error: {where}{message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="lambench", description="Load-test and benchmark AWS Lambda functions across memory sizes.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    config_help = "the benchmark file (default ./bench.toml, or $LAMBENCH_CONFIG)"
    default_config = os.environ.get("LAMBENCH_CONFIG", "bench.toml")

    run = commands.add_parser("run", help="benchmark the function across its memory sizes and write a report")
    run.add_argument("-c", "--config", default=default_config, help=config_help)
    add_gate_arguments(run, on_run=True)
    _aws_arguments(run)
    run.set_defaults(func=cmd_run)

    teardown = commands.add_parser(
        "teardown", help="remove what an AWS run created, as its journal lists (after a crash; safe to repeat)"
    )
    teardown.add_argument("run_dir", metavar="RUN_DIR", help="the run's folder, reports/<run-id>, with journal.jsonl")
    teardown.set_defaults(func=cmd_teardown)

    gate = commands.add_parser(
        "gate", help="check a run against its gates (and a baseline): exit 0 pass, 1 fail, 2 bad input"
    )
    gate.add_argument("run_dir", metavar="RUN_DIR", help="the run's folder, reports/<run-id>")
    gate.add_argument(
        "-c", "--config", metavar="FILE",
        help="the gates of FILE's [gates] (FILE may hold only that table); default: ./bench.toml's, if any",
    )  # fmt: skip
    add_gate_arguments(gate, on_run=False)
    gate.set_defaults(func=cmd_gate)

    baseline = commands.add_parser("baseline", help="keep what a later `lambench gate --baseline` needs")
    baseline_commands = baseline.add_subparsers(dest="baseline_command", required=True, metavar="ACTION")
    save = baseline_commands.add_parser(
        "save", help="write RUN_DIR's results and histograms (not its records) to PATH, e.g. baseline.json"
    )
    save.add_argument("run_dir", metavar="RUN_DIR", help="the run's folder, reports/<run-id>")
    save.add_argument("path", metavar="PATH", help="the baseline file to write")
    save.set_defaults(func=cmd_baseline_save)

    report = commands.add_parser(
        "report", help="decide again from a run folder's records: results.json, summary.json, report.html, "
        "summary.md, variants.csv",
    )  # fmt: skip
    report.add_argument("run_dir", metavar="RUN_DIR", help="the run's folder, reports/<run-id>")
    report.add_argument(
        "-c", "--config", metavar="FILE",
        help="decide with FILE's [traffic] and [decision] (FILE may hold only those); default: their defaults",
    )  # fmt: skip
    report.set_defaults(func=cmd_report)

    tune = commands.add_parser(
        "tune", help="power tuning, a drop-in for aws-lambda-power-tuning: one JSON object on stdout"
    )
    tune.add_argument("input", nargs="?", metavar="INPUT.json", help="aws-lambda-power-tuning's execution input")
    tune.add_argument("-c", "--config", metavar="FILE", help="tune FILE's [function] at its [variants] sizes instead")
    tune.add_argument("--endpoint", help="where lambdaARN lives: a Lambda endpoint URL (the emulator) or aws "
                      "(the default for INPUT.json)")  # fmt: skip
    tune.add_argument("--mode", choices=("adaptive", "exhaustive"), default="adaptive",
                      help="adaptive: stop when the pick is sure (default); exhaustive: APLT's protocol")  # fmt: skip
    tune.add_argument("--num", type=int, help="calls per size (overrides the input's num; default 50 with -c)")
    tune.add_argument("--max-invocations", type=int, help="adaptive budget (default: num x sizes, APLT's own)")
    tune.add_argument("--max-usd", type=float, help="adaptive budget in USD at list prices, checked per batch")
    tune.add_argument("--confidence", type=float, default=0.95, help="of the separation test (default 0.95)")
    tune.add_argument("--tolerance", type=float, default=0.05,
                      help="adaptive also stops when the two best are within this share (default 0.05)")  # fmt: skip
    tune.add_argument("--reports", metavar="DIR", help="where the run folder goes (default reports/)")
    tune.set_defaults(func=cmd_tune)

    emulator = commands.add_parser(
        "emulator", add_help=False, help="run the bundled local Lambda emulator on 127.0.0.1 (--help for its options)"
    )
    emulator.set_defaults(func=cmd_emulator)

    deploy = commands.add_parser("deploy", help="create the function and its mem-<MB> aliases, then exit")
    deploy.add_argument("-c", "--config", default=default_config, help=config_help)
    deploy.add_argument(
        "--endpoint",
        default=os.environ.get("LAMBENCH_ENDPOINT"),
        help="Lambda endpoint URL (default: the config's target.endpoint, or $LAMBENCH_ENDPOINT)",
    )
    deploy.add_argument(
        "--target", choices=("aws",), default=None,
        help="aws: also an execution role, an HTTP API and a REST API (a stage per alias) with access "
        "logs, all journaled in reports/deploy-<id>/ and kept until `lambench teardown`",
    )  # fmt: skip
    deploy.add_argument(
        "--role-arn", default=None, help="with --target aws: the execution role to use (none is created)"
    )
    deploy.add_argument("--yes", action="store_true", default=_env_flag("LAMBENCH_YES"),
                        help="with --target aws: do not ask before creating resources (CI)")  # fmt: skip
    deploy.set_defaults(func=cmd_deploy)
    return parser


def _aws_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--yes", action="store_true", default=_env_flag("LAMBENCH_YES"),
                        help="run against AWS without asking for confirmation (CI; or $LAMBENCH_YES=1)")  # fmt: skip
    parser.add_argument(
        "--function", metavar="ARN", default=os.environ.get("LAMBENCH_FUNCTION_ARN"),
        help="benchmark your own function, arn:aws:lambda:REGION:ACCOUNT:function:NAME (or [function] arn; "
        "$LAMBENCH_FUNCTION_ARN): a version and temporary alias per size, $LATEST put back, all removed at the end",
    )  # fmt: skip
    for kind, name in (("http", "HTTP API"), ("rest", "REST API")):
        parser.add_argument(
            f"--apigw-{kind}-url", metavar="URL",
            default=os.environ.get(f"LAMBENCH_APIGW_{kind.upper()}_URL", ""),
            help=f"your own {name}'s invoke URL, for [load] paths \"apigw-{kind}\" with --function (or [target] "
            f"apigw_{kind}_url; $LAMBENCH_APIGW_{kind.upper()}_URL); never changed. Without one, a run of the sample "
            "creates its APIs",
        )  # fmt: skip
    parser.add_argument(
        "--apigw-access-log-group", metavar="GROUP",
        default=os.environ.get("LAMBENCH_APIGW_ACCESS_LOG_GROUP", ""),
        help="the log group of your APIs' JSON access log, read by the log join (or [target] apigw_access_log_group; "
        "$LAMBENCH_APIGW_ACCESS_LOG_GROUP; default /aws/apigateway/<function>)",
    )  # fmt: skip
    parser.add_argument("--max-invocations", type=_positive(int), metavar="N",
                        help="stop the load after N invocations")  # fmt: skip
    parser.add_argument("--max-usd", type=_positive(float), metavar="USD",
                        help="stop the load when the estimated cost of its invocations reaches USD")  # fmt: skip


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes")


def _positive(kind):
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            value = None
        if value is None or not value > 0 or value != value or value == float("inf"):
            raise argparse.ArgumentTypeError(f"{text!r}: must be a positive number")
        return value

    return parse


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if args.command == "emulator":
        args.emulator_args = extra  # the emulator's own parser reads (and checks) these
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    try:
        return args.func(args)
    except UserError as err:
        return _fail(str(err), EXIT_USAGE)
    except KeyboardInterrupt:
        # A run interrupted during its load phase reports what it measured (bench/run.py);
        # here nothing was measured yet.
        print("lambench: interrupted", file=sys.stderr)
        return 130
    except Exception as err:  # botocore's, named here lazily: importing botocore early breaks gevent
        message = _aws_failure(err)
        if message is None:
            traceback.print_exc()  # a bug of ours: its traceback is what a report of it needs
            return _fail(f"internal error ({type(err).__name__}): please report it", EXIT_RUN_FAILED)
        return _fail(*message)


def _fail(message: str, code: int) -> int:
    print(f"lambench: error: {message}", file=sys.stderr)
    return code


def _aws_failure(err: Exception) -> tuple[str, int] | None:
    """One line for the AWS client's failures: unreachable endpoints and missing credentials are
    the user's configuration (exit 2); anything AWS refused is a failed run (exit 3)."""
    from botocore.exceptions import (
        ClientError,
        EndpointConnectionError,
        MetadataRetrievalError,
        NoCredentialsError,
        NoRegionError,
    )

    if isinstance(err, EndpointConnectionError):
        return (
            f"endpoint {err.kwargs.get('endpoint_url')}: cannot connect (is `lambench emulator` running there?)",
            EXIT_USAGE,
        )
    if isinstance(err, (NoCredentialsError, MetadataRetrievalError)):
        # MetadataRetrievalError: the chain's last resort, the instance metadata endpoint, did not
        # answer (bench/awsclient.py gives it 1 s and no IMDSv1 fallback): nothing else had any.
        from .awsclient import CREDENTIALS_HELP

        return f'target.kind = "aws": {CREDENTIALS_HELP}', EXIT_USAGE
    if isinstance(err, NoRegionError):
        return f'target.kind = "aws": {err} (set target.region, or AWS_DEFAULT_REGION)', EXIT_USAGE
    if isinstance(err, ClientError):
        return str(err), EXIT_RUN_FAILED
    return None


if __name__ == "__main__":
    sys.exit(main())
