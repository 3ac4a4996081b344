"""``lambench run``: deploy the variants, drive them with Locust, then analyse and report.

deploy (bench/targets) -> load (bench/load, records into SQLite) -> API Gateway log join
(bench/collect) -> outputs (bench/outputs.py: aggregates, analysis, report files).
The run's facts are written to run.json before the load starts. An interrupted run keeps what
it measured and still writes its report; what it deployed on AWS is removed on the way out.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import platform
import shutil
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console

from .collect import join_run
from .collect.runfolder import point_latest, reserve_run_dir
from .collect.store import paths_that_reached_nothing
from .config import BenchConfig
from .errors import UserError
from .load import capacity
from .load.budget import Budget, BudgetWatch
from .load.headless import run_load
from .load.settings import LoadSettings
from .outputs import Outputs, outputs_from_store, remote_target_facts, write_run_info
from .targetconfig import api_url_problem, log_group_problem
from .targets import VariantDeployer, journal
from .targets.apiplan import Apis, plan_apis
from .targets.awsrun import AwsRunOptions
from .targets.local import DEFAULT_CPU_MODE, start_emulator


@dataclass(frozen=True)
class RunOutput:
    outputs: Outputs
    interrupted: bool
    capacity_line: str | None = None  # printed at the end of the run, and in the report
    # Printed under the summary table: paths none of whose calls reached the function.
    unreached: tuple[str, ...] = ()


@dataclass(frozen=True)
class RunOptions:
    """The run's flags beyond bench.toml: AWS's (--yes, --function) and the budget."""

    aws: AwsRunOptions = AwsRunOptions()
    budget: Budget = Budget()


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def run_benchmark(config: BenchConfig, console: Console, options: RunOptions | None = None) -> RunOutput:
    run_dir = reserve_run_dir(config.reports_dir)
    run_id = run_dir.name
    try:
        return _run(config, console, run_id, run_dir, options or RunOptions())
    except BaseException:
        # Failed before measuring anything (the emulator did not start, a deploy was refused):
        # leave no half-written run folder behind, unless its journal lists what is still to remove.
        if not (run_dir / "records.sqlite").exists() and not journal.pending(run_dir):
            shutil.rmtree(run_dir, ignore_errors=True)
        raise


def _run(config: BenchConfig, console: Console, run_id: str, run_dir: Path, options: RunOptions) -> RunOutput:
    aws_options = _aws_options(config, options.aws)  # bad flags are refused before anything starts
    info: dict[str, Any] = {
        "run_id": run_id,
        "started": _now(),
        "config": str(config.path),
        "function": config.function.name,
        "architecture": config.function.architecture,
        "region": config.target.region,  # whose prices the cost model uses (bench/awsfacts.py)
        "load": {
            "users": config.load.users,
            "spawn_rate": config.load.spawn_rate,
            "run_time_s": config.load.run_time_s,
            "payload": config.load.payload,
            "paths": list(config.load.paths),
            "route": config.load.route,
            "client": config.load.client,
            "rps": config.load.rps,
        },
    }
    emulator = None
    pinning = None
    with ExitStack() as stack:
        endpoint = config.target.endpoint
        if config.target.kind == "local" and endpoint is None:
            console.print("[bold]emulator[/] starting on 127.0.0.1 ...")
            # Environments apart from the load generator and the emulator, where the host has cores to spare.
            pinning = capacity.plan_pinning(config.load.users, config.memory_mb)
            pin = (pinning.generator, pinning.environments) if pinning else None
            emulator = stack.enter_context(start_emulator(run_dir / "emulator.log", cpu_mode=DEFAULT_CPU_MODE, pin=pin))
            endpoint = emulator.url
            emulator_info = emulator.info()
            info["target"] = "local emulator (bundled)"
            info["cpu_mode"] = emulator.cpu_mode
            info["memory_mode"] = emulator_info["memory_mode"]
            info["runtime_note"] = (
                f"{config.function.runtime} ran on the local interpreter, CPython {emulator_info['python']}"
            )
        else:
            info.update(remote_target_facts(config.target.kind, endpoint, config.function.runtime))
        info["endpoint"] = endpoint or f"AWS {config.target.region}"
        from . import awsclient  # here, not at the top: boto3 must load after .load's gevent patching

        spec = config.function_spec()
        region = config.target.region
        apis = Apis()  # the emulator's fronts
        if config.target.kind == "aws":
            # Confirmed, journaled, and torn down through the journal however the run ends.
            from .targets.awsrun import deploy_for_run

            deployed = deploy_for_run(spec, config.memory_mb, config.target, run_dir, run_id, console, stack,
                                      aws_options)  # fmt: skip
            variants, region, endpoint, apis = deployed.variants, deployed.region, deployed.load_endpoint, deployed.apis
            spec = dataclasses.replace(spec, name=deployed.function_name)
            # region: an existing function's ARN names it, and that is where it is billed.
            info.update(function=spec.name, aws=deployed.facts, endpoint=endpoint, region=region)
        else:
            deployer = VariantDeployer(awsclient.client("lambda", endpoint, region, awsclient.control_plane_config()))
            console.print(f"[bold]deploy[/] {spec.name} at {', '.join(f'{m} MB' for m in config.memory_mb)} ...")
            variants = deployer.deploy_variants(spec, config.memory_mb)
        info["memory_by_variant"] = {v.name: v.memory_mb for v in variants}
        write_run_info(run_dir, info)
        point_latest(run_dir)
        settings = LoadSettings(
            function_name=spec.name,
            variants=tuple(v.name for v in variants),
            endpoint_url=endpoint,
            region=region,
            payload=config.payload_bytes,
            run_id=run_id,
            records_path=run_dir / "records.sqlite",
            apigw_http_url=apis.http_url,
            apigw_rest_url=apis.rest_url,
            apigw_route=config.load.route,
            access_log_group=apis.access_log_group,
            client=config.load.client,
            rps=config.load.rps,
            seed=config.load.seed,
        )
        if pinning is not None:
            info["pinning"] = pinning.describe()
            stack.callback(os.sched_setaffinity, 0, os.sched_getaffinity(0))
            os.sched_setaffinity(0, pinning.generator)
        before = capacity.HostSample.now(emulator.info()["served"] if emulator else None)
        watch = stack.enter_context(BudgetWatch(options.budget, settings.records_path, info["memory_by_variant"],
                                                config.function.architecture))  # fmt: skip
        load = run_load(
            settings,
            config.load.users,
            config.load.spawn_rate,
            config.load.run_time_s,
            stop_timeout_s=config.function.timeout_s + 5,
            console=console,
            paths=config.load.paths,
        )
        watch.stop()
        if watch.reached:  # the budget stopped the load, not the user: a finished run, and said so
            load = dataclasses.replace(load, interrupted=False)
            spent = watch.spend.describe() if watch.spend else ""
            info["budget_stop"] = f"{watch.reached}; the load stopped there ({spent})"
            console.print(f"[bold yellow]budget[/] {info['budget_stop']}", highlight=False, soft_wrap=True)
        after = capacity.HostSample.now(emulator.info()["served"] if emulator else None)
        host = capacity.measure(before, after, config.load.users, pinning)
        capacity_line = host.line()
        info["host_capacity"] = capacity_line or f"enough: {host.busy_cores:.2f} of {host.cores} cores busy"

        def say(line: str) -> None:
            console.print(f"[bold]join[/] {line}", highlight=False, soft_wrap=True)

        try:
            joined = join_run(settings.records_path, endpoint, region, spec.name, settings.access_log_group, say)
        except Exception as error:  # AWS refused a log query: the records stand, unjoined, and the report is made
            info["join"] = f"not done: {type(error).__name__}: {error}"
            say(info["join"])
        else:
            if joined.gateway_records:
                info["join"] = joined.describe()
                say(info["join"])
        unreached = unreached_paths(settings)
        if unreached:
            info["unreached"] = unreached
        info["finished"] = _now()
        info["interrupted"] = load.interrupted
        if load.open_loop is not None:
            info["open_loop"] = load.open_loop
        info["host"] = {"machine": platform.machine(), "python": platform.python_version()}
        write_run_info(run_dir, info)
    outputs = outputs_from_store(run_dir, info, traffic=config.traffic, decision=config.decision)
    lines = tuple(f"{path}: {text}" for path, text in unreached.items())
    return RunOutput(outputs, load.interrupted, capacity_line, lines)  # the CLI prints capacity_line last


def _aws_options(config: BenchConfig, options: AwsRunOptions) -> AwsRunOptions:
    """--function wins over [function] arn, each --apigw-* flag over its [target] key; all need
    kind = "aws" (a local emulator starts empty, and has its own fronts). The gateway paths' APIs
    are settled here, before anything is created (bench/targets/apiplan.py)."""
    arn = options.function_arn or config.function.arn
    if arn and config.target.kind != "aws":
        raise UserError(f'--function {arn}: needs target.kind = "aws" (the emulator holds only what lambench deploys)')
    flags, target = options.given_apis, config.target
    # Checked here, not by argparse in cli.py: the rules' module loads boto3, which must come after Locust.
    rules = (api_url_problem, api_url_problem, log_group_problem)
    for (flag, variable), value, rule in zip(APIGW_FLAGS.items(), dataclasses.astuple(flags), rules, strict=True):
        problem = rule(value) if value else None
        if problem or (value and target.kind != "aws"):
            allowed = problem or 'needs target.kind = "aws" (a local run calls the emulator\'s fronts)'
            raise UserError(f"{flag} {value!r} (or ${variable}): {allowed}")
    if target.kind != "aws":
        return dataclasses.replace(options, function_arn=arn)
    given = Apis(
        flags.http_url or target.apigw_http_url,
        flags.rest_url or target.apigw_rest_url,
        flags.access_log_group or target.apigw_access_log_group,
    )
    apis = plan_apis(config.load.paths, arn is not None, given, config.path.name)
    return dataclasses.replace(options, function_arn=arn, apis=apis)


# The run's --apigw-* flags, in Apis's field order, with the environment variable each reads.
APIGW_FLAGS = {
    "--apigw-http-url": "LAMBENCH_APIGW_HTTP_URL",
    "--apigw-rest-url": "LAMBENCH_APIGW_REST_URL",
    "--apigw-access-log-group": "LAMBENCH_APIGW_ACCESS_LOG_GROUP",
}


def unreached_paths(settings: LoadSettings) -> dict[str, str]:
    """Path -> what its calls met, for each path none of whose calls reached the function."""
    if not settings.records_path.exists():
        return {}
    front = "the emulator's front"
    where = {
        "direct": settings.endpoint_url or f"AWS Lambda in {settings.region}",
        "apigw-http": settings.apigw_http_url or front,
        "apigw-rest": settings.apigw_rest_url or front,
    }
    found = {}
    for path, counts in paths_that_reached_nothing(settings.records_path).items():
        total = sum(counts.values())
        met = ", ".join(
            f"{n:,} {status}" + (f" ({error_type})" if error_type else "")
            for (status, error_type), n in sorted(counts.items(), key=lambda item: -item[1])
        )
        found[path] = (
            f"none of {total:,} calls reached the function: {met}, calling {where.get(path, path)}; "
            "no latency, cost or cold-start figure for this path"
        )
    return found
