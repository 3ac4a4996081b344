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
from .config import BenchConfig
from .load import capacity
from .load.budget import Budget, BudgetWatch
from .load.headless import run_load
from .load.settings import LoadSettings, new_run_id
from .outputs import Outputs, outputs_from_store, remote_target_facts, write_run_info
from .targets import VariantDeployer, journal
from .targets.awsrun import AwsRunOptions
from .targets.local import DEFAULT_CPU_MODE, start_emulator


@dataclass(frozen=True)
class RunOutput:
    outputs: Outputs
    interrupted: bool
    capacity_line: str | None = None  # printed at the end of the run, and in the report


@dataclass(frozen=True)
class RunOptions:
    """The run's flags beyond bench.toml: AWS's (--yes, --function) and the budget."""

    aws: AwsRunOptions = AwsRunOptions()
    budget: Budget = Budget()


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def run_benchmark(config: BenchConfig, console: Console, options: RunOptions | None = None) -> RunOutput:
    run_id = new_run_id()
    run_dir = config.reports_dir / run_id
    run_dir.mkdir(parents=True, exist_ok=True)
    try:
        return _run(config, console, run_id, run_dir, options or RunOptions())
    except BaseException:
        # Failed before measuring anything (the emulator did not start, a deploy was refused):
        # leave no half-written run folder behind, unless its journal lists what is still to remove.
        if not (run_dir / "records.sqlite").exists() and not journal.pending(run_dir):
            shutil.rmtree(run_dir, ignore_errors=True)
        raise


def _run(config: BenchConfig, console: Console, run_id: str, run_dir: Path, options: RunOptions) -> RunOutput:
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
        aws_options = _aws_options(config, options.aws)
        if config.target.kind == "aws":
            # Confirmed, journaled, and torn down through the journal however the run ends.
            from .targets.awsrun import deploy_for_run

            deployed = deploy_for_run(spec, config.memory_mb, config.target, run_dir, run_id, console, stack,
                                      aws_options)  # fmt: skip
            variants, region, endpoint = deployed.variants, deployed.region, deployed.load_endpoint
            spec = dataclasses.replace(spec, name=deployed.function_name)
            info.update(function=spec.name, aws=deployed.facts, endpoint=endpoint)
        else:
            deployer = VariantDeployer(awsclient.client("lambda", endpoint, region, awsclient.control_plane_config()))
            console.print(f"[bold]deploy[/] {spec.name} at {', '.join(f'{m} MB' for m in config.memory_mb)} ...")
            variants = deployer.deploy_variants(spec, config.memory_mb)
        info["memory_by_variant"] = {v.name: v.memory_mb for v in variants}
        write_run_info(run_dir, info)
        _point_latest(config.reports_dir, run_id)
        settings = LoadSettings(
            function_name=spec.name,
            variants=tuple(v.name for v in variants),
            endpoint_url=endpoint,
            region=region,
            payload=config.payload_bytes,
            run_id=run_id,
            records_path=run_dir / "records.sqlite",
            apigw_route=config.load.route,
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
        joined = join_run(settings.records_path, endpoint, region, spec.name)
        if joined.gateway_records:
            console.print(f"[bold]join[/] {joined.describe()}")
        info["finished"] = _now()
        info["interrupted"] = load.interrupted
        if load.open_loop is not None:
            info["open_loop"] = load.open_loop
        info["host"] = {"machine": platform.machine(), "python": platform.python_version()}
        write_run_info(run_dir, info)
    outputs = outputs_from_store(run_dir, info, traffic=config.traffic, decision=config.decision)
    return RunOutput(outputs, load.interrupted, capacity_line)  # the CLI prints capacity_line last


LATEST = "latest"


def _point_latest(reports_dir: Path, run_id: str) -> None:
    """reports/latest -> this run's folder, replaced atomically: what a CI script names without parsing."""
    link = reports_dir / LATEST
    tmp = reports_dir / f".{LATEST}-{run_id}"
    try:
        tmp.unlink(missing_ok=True)
        tmp.symlink_to(run_id, target_is_directory=True)
        os.replace(tmp, link)
    except OSError:
        pass  # a file system without symlinks: the printed report path still names the run


def _aws_options(config: BenchConfig, options: AwsRunOptions) -> AwsRunOptions:
    """--function wins over [function] arn; either needs kind = "aws" (a local emulator starts empty)."""
    arn = options.function_arn or config.function.arn
    if arn and config.target.kind != "aws":
        from .errors import UserError

        raise UserError(f'--function {arn}: needs target.kind = "aws" (the emulator holds only what lambench deploys)')
    return dataclasses.replace(options, function_arn=arn)
