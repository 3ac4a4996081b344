"""``lambench run``: deploy the variants, drive them with Locust, then analyse and report.

deploy (bench/targets) -> load (bench/load, records into SQLite) -> API Gateway log join
(bench/collect) -> outputs (bench/outputs.py: aggregates, analysis, report files).
The run's facts are written to run.json before the load starts. An interrupted run keeps what
it measured and still writes its report; what it deployed on AWS is removed on the way out.
"""

from __future__ import annotations

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
from .load.headless import run_load
from .load.settings import LoadSettings, new_run_id
from .outputs import Outputs, outputs_from_store, write_run_info
from .targets import VariantDeployer
from .targets.local import start_emulator


@dataclass(frozen=True)
class RunOutput:
    outputs: Outputs
    interrupted: bool


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def run_benchmark(config: BenchConfig, console: Console) -> RunOutput:
    run_id = new_run_id()
    run_dir = config.reports_dir / run_id
    run_dir.mkdir(parents=True, exist_ok=True)
    try:
        return _run(config, console, run_id, run_dir)
    except BaseException:
        # Failed before measuring anything (the emulator did not start, a deploy was refused):
        # leave no half-written run folder behind.
        if not (run_dir / "records.sqlite").exists():
            shutil.rmtree(run_dir, ignore_errors=True)
        raise


def _run(config: BenchConfig, console: Console, run_id: str, run_dir: Path) -> RunOutput:
    info: dict[str, Any] = {
        "run_id": run_id,
        "started": _now(),
        "config": str(config.path),
        "function": config.function.name,
        "architecture": config.function.architecture,
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
    with ExitStack() as stack:
        endpoint = config.target.endpoint
        if config.target.kind == "local" and endpoint is None:
            console.print("[bold]emulator[/] starting on 127.0.0.1 ...")
            emulator = stack.enter_context(start_emulator(run_dir / "emulator.log"))
            endpoint = emulator.url
            emulator_info = emulator.info()
            info["target"] = "local emulator (bundled)"
            info["cpu_mode"] = emulator.cpu_mode
            info["memory_mode"] = emulator_info["memory_mode"]
            info["runtime_note"] = (
                f"{config.function.runtime} ran on the local interpreter, CPython {emulator_info['python']}"
            )
        else:
            info["target"] = "aws" if config.target.kind == "aws" else f"endpoint {endpoint}"
            info["cpu_mode"] = "aws" if config.target.kind == "aws" else "unknown"
            info["runtime_note"] = config.function.runtime
        info["endpoint"] = endpoint or f"AWS {config.target.region}"
        from . import awsclient  # here, not at the top: boto3 must load after .load's gevent patching

        deployer = VariantDeployer(
            awsclient.client("lambda", endpoint, config.target.region, awsclient.control_plane_config())
        )
        spec = config.function_spec()
        stack.callback(_teardown, deployer, spec.name, console, config.target.kind == "aws")
        console.print(f"[bold]deploy[/] {spec.name} at {', '.join(f'{m} MB' for m in config.memory_mb)} ...")
        variants = deployer.deploy_variants(spec, config.memory_mb)
        info["memory_by_variant"] = {v.name: v.memory_mb for v in variants}
        write_run_info(run_dir, info)
        _point_latest(config.reports_dir, run_id)
        settings = LoadSettings(
            function_name=spec.name,
            variants=tuple(v.name for v in variants),
            endpoint_url=endpoint,
            region=config.target.region,
            payload=config.payload_bytes,
            run_id=run_id,
            records_path=run_dir / "records.sqlite",
            apigw_route=config.load.route,
            client=config.load.client,
            rps=config.load.rps,
            seed=config.load.seed,
        )
        load = run_load(
            settings,
            config.load.users,
            config.load.spawn_rate,
            config.load.run_time_s,
            stop_timeout_s=config.function.timeout_s + 5,
            console=console,
            paths=config.load.paths,
        )
        joined = join_run(settings.records_path, endpoint, config.target.region, spec.name)
        if joined.gateway_records:
            console.print(f"[bold]join[/] {joined.describe()}")
        info["finished"] = _now()
        info["interrupted"] = load.interrupted
        if load.open_loop is not None:
            info["open_loop"] = load.open_loop
        info["host"] = {"machine": platform.machine(), "python": platform.python_version()}
        write_run_info(run_dir, info)
    outputs = outputs_from_store(run_dir, info, traffic=config.traffic, decision=config.decision)
    return RunOutput(outputs, load.interrupted)


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


def _teardown(deployer: VariantDeployer, name: str, console: Console, on_aws: bool) -> None:
    # The emulator's state dies with it; on AWS, remove exactly what this run created.
    if on_aws:
        console.print(f"[bold]teardown[/] {name} ...")
        deployer.teardown(name)
