"""``lambench run``: deploy the variants, drive them with Locust, then analyse and report.

deploy (bench/targets) -> load (bench/load, records into SQLite) -> analysis -> report.
An interrupted run keeps what it measured and still writes its report; what it deployed on
AWS is removed on the way out.
"""

from __future__ import annotations

import datetime as dt
import platform
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console

from .config import BenchConfig
from .load.headless import run_load
from .load.plugin import join_gateway_calls
from .load.settings import LoadSettings, new_run_id
from .targets import FunctionSpec, VariantDeployer, make_lambda_client
from .targets.local import start_emulator


@dataclass
class RunOutput:
    run_dir: Path
    report_html: Path
    results_json: Path
    records_sqlite: Path
    summary: object
    interrupted: bool


def function_spec(config: BenchConfig) -> FunctionSpec:
    f = config.function
    return FunctionSpec(name=f.name, source=f.source, handler=f.handler, runtime=f.runtime,
                        architecture=f.architecture, timeout_s=f.timeout_s, environment=dict(f.environment))


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def run_benchmark(config: BenchConfig, console: Console) -> RunOutput:
    run_id = new_run_id()
    run_dir = config.reports_dir / run_id
    run_dir.mkdir(parents=True, exist_ok=True)
    info = {"run_id": run_id, "started": _now(), "config": str(config.path),
            "function": config.function.name, "architecture": config.function.architecture,
            "load": {"users": config.load.users, "spawn_rate": config.load.spawn_rate,
                     "run_time_s": config.load.run_time_s, "payload": config.load.payload,
                     "paths": list(config.load.paths), "route": config.load.route,
                     "client": config.load.client}}
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
            info["runtime_note"] = (f"{config.function.runtime} ran on the local interpreter, "
                                    f"CPython {emulator_info['python']}")
        else:
            info["target"] = "aws" if config.target.kind == "aws" else f"endpoint {endpoint}"
            info["cpu_mode"] = "aws" if config.target.kind == "aws" else "unknown"
            info["runtime_note"] = config.function.runtime
        info["endpoint"] = endpoint or f"AWS {config.target.region}"
        client = make_lambda_client(endpoint, config.target.region)
        deployer = VariantDeployer(client)
        spec = function_spec(config)
        stack.callback(_teardown, deployer, spec.name, console, config.target.kind == "aws")
        console.print(f"[bold]deploy[/] {spec.name} at {', '.join(f'{m} MB' for m in config.memory_mb)} ...")
        variants = deployer.deploy_variants(spec, config.memory_mb)
        settings = LoadSettings(
            function_name=spec.name, variants=tuple(v.name for v in variants), endpoint_url=endpoint,
            region=config.target.region, payload=config.payload_bytes, run_id=run_id,
            records_path=run_dir / "records.sqlite", apigw_route=config.load.route, client=config.load.client,
        )
        load = run_load(settings, config.load.users, config.load.spawn_rate, config.load.run_time_s,
                        stop_timeout_s=config.function.timeout_s + 5, console=console, paths=config.load.paths)
        if set(config.load.paths) != {"direct"}:
            join_gateway_calls(settings, settings.records_path)
        info["finished"] = _now()
        info["interrupted"] = load.interrupted
        info["memory_by_variant"] = {v.name: v.memory_mb for v in variants}
    return _analyse_and_report(config, run_dir, info, load.interrupted)


def _teardown(deployer: VariantDeployer, name: str, console: Console, on_aws: bool) -> None:
    # The emulator's state dies with it; on AWS, remove exactly what this run created.
    if on_aws:
        console.print(f"[bold]teardown[/] {name} ...")
        deployer.teardown(name)


def _analyse_and_report(config: BenchConfig, run_dir: Path, info: dict, interrupted: bool) -> RunOutput:
    from .analysis import summarize
    from .collect import read_records
    from .report import render_html, write_results_json

    records_path = run_dir / "records.sqlite"
    records = read_records(records_path)
    info["records"] = len(records)
    info["host"] = {"machine": platform.machine(), "python": platform.python_version()}
    summary = summarize(records, architecture=config.function.architecture,
                        memory_by_variant=info["memory_by_variant"])
    results_path, html_path = run_dir / "results.json", run_dir / "report.html"
    write_results_json(summary, info, results_path)
    render_html(summary, info, html_path)
    return RunOutput(run_dir, html_path, results_path, records_path, summary, interrupted)
