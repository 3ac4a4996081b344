"""``lambench tune``: from an APLT input (or bench.toml) to one JSON object on stdout.

Three doors, one path:
- ``lambench tune INPUT.json [--endpoint URL|aws]``: APLT's execution input; lambdaARN names a
  function that exists at --endpoint (the emulator, say) or, by default and with ``aws``, on AWS.
- ``lambench tune -c bench.toml``: the [function] of the file, deployed on its [target], tuned at
  its [variants] sizes with its [load] payload and [decision] strategy.
- ``lambench tune``: the same with ./bench.toml (or $LAMBENCH_CONFIG), always on the bundled emulator.

Then: snapshot the function, sample (exhaustive or adaptive), put the function back (versions
deleted, $LATEST restored, also on failure and Ctrl-C), apply autoOptimize if asked, and write the
run folder (records.sqlite, then results.json and report.html through bench/outputs.py). Progress
goes to stderr; stdout gets the JSON object only.
"""

from __future__ import annotations

import json
import os
import sys
import time
from contextlib import ExitStack
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from bench.collect.runfolder import reserve_run_dir
from bench.errors import UserError
from bench.tune.input import TuneInput, parse_input

MODES = ("adaptive", "exhaustive")
DEFAULT_CONFIG_NUM = 50


@dataclass(frozen=True)
class TuneRequest:
    """What to tune and where; built from the command line by ``request_from_args``."""

    tune: TuneInput
    endpoint: str | None  # None: AWS's own endpoint, unless ``emulator``
    region: str
    mode: str = "adaptive"
    emulator: bool = False  # start the bundled emulator and use it
    deploy: Any = None  # a FunctionSpec to create or update first (the bench.toml doors)
    reports_dir: Path = Path("reports")
    max_invocations: int | None = None
    max_usd: float | None = None
    confidence: float = 0.95
    tolerance: float = 0.05
    write_outputs: bool = True  # results.json and report.html (a benchmark of the tuner itself skips them)


def log(line: str) -> None:
    print(f"tune: {line}", file=sys.stderr, flush=True)


def request_from_args(args: Any) -> TuneRequest:
    """The command line's TuneRequest; UserError for anything wrong with it."""
    mode = args.mode
    if args.input and args.config:
        raise UserError("give INPUT.json or -c FILE, not both")
    common = {
        "mode": mode,
        "max_invocations": args.max_invocations,
        "max_usd": args.max_usd,
        "confidence": args.confidence,
        "tolerance": args.tolerance,
    }
    if args.input:
        path = Path(args.input)
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except OSError as err:
            raise UserError(f"{path}: cannot read ({err.strerror})") from None
        except ValueError as err:
            raise UserError(f"{path}: not valid JSON ({err})") from None
        tune = parse_input(raw, str(path))
        if args.num is not None:
            tune = replace(tune, num=args.num)
        endpoint = None if args.endpoint in (None, "aws") else args.endpoint
        region = tune.region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
        reports = Path(args.reports or "reports")
        return TuneRequest(tune, endpoint, region, reports_dir=reports, **common)
    from bench.config import load_config

    explicit = args.config is not None
    path = Path(args.config or os.environ.get("LAMBENCH_CONFIG", "bench.toml"))
    if not path.is_file():
        raise UserError(f"{path}: no such file (give INPUT.json, or -c FILE with a [function] to tune)")
    config = load_config(path)
    strategy = config.decision.strategy
    if strategy == "slo":
        raise UserError(f'{path}: decision.strategy = "slo": tune knows APLT\'s cost, speed and balanced')
    raw = {
        "lambdaARN": config.function.name,
        "num": args.num or DEFAULT_CONFIG_NUM,
        "powerValues": list(config.memory_mb),
        "payload": config.load.payload,
        "strategy": strategy,
        "balancedWeight": config.decision.balanced_weight,
    }
    tune = parse_input(raw, str(path))
    target = config.target
    endpoint = args.endpoint if args.endpoint not in (None, "aws") else None
    if not explicit:
        emulator = endpoint is None  # no argument: the bundled emulator, always
    else:
        if endpoint is None and args.endpoint is None:
            endpoint = target.endpoint
        emulator = endpoint is None and target.kind == "local" and args.endpoint != "aws"
    return TuneRequest(
        tune,
        endpoint,
        target.region,
        emulator=emulator,
        deploy=config.function_spec(),
        reports_dir=Path(args.reports) if args.reports else config.reports_dir,
        **common,
    )


def _new_run_dir(reports: Path) -> Path:
    return reserve_run_dir(reports, "tune-")


def run_tune(request: TuneRequest, on_call: Any = None) -> tuple[dict[str, Any], Path]:
    """Tune as ``request`` says; return the output object and the run folder.

    ``on_call`` is called with each call's InvocationRecord (progress; a test interrupts there).
    KeyboardInterrupt propagates after the function is put back and the records are saved.
    """
    from bench import awsclient
    from bench.collect import RecordStore
    from bench.outputs import write_run_info
    from bench.targets import VariantDeployer
    from bench.tune.invoke import Invoker, invoke_client
    from bench.tune.lifecycle import TuneSession
    from bench.tune.sampler import Sampler, SizeData

    tune = request.tune
    run_dir = _new_run_dir(request.reports_dir)
    info: dict[str, Any] = {
        "run_id": run_dir.name,
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "function": tune.function_name,
        "tune": {"mode": request.mode, "input": _input_dict(tune)},
        "memory_by_variant": {f"mem-{m}": m for m in tune.power_values},
    }
    sizes = [SizeData(m) for m in tune.power_values]
    with ExitStack() as stack:
        endpoint = request.endpoint
        if request.emulator:
            from bench.targets.local import start_emulator

            log("starting the bundled emulator on 127.0.0.1 ...")
            emulator = stack.enter_context(start_emulator(run_dir / "emulator.log"))
            endpoint = emulator.url
            info["target"], info["cpu_mode"] = "local emulator (bundled)", emulator.cpu_mode
        else:
            info["target"] = f"endpoint {endpoint}" if endpoint else f"aws {request.region}"
        info["endpoint"] = endpoint or f"AWS {request.region}"
        control = awsclient.client("lambda", endpoint, request.region, awsclient.control_plane_config())
        function = tune.function_name if endpoint else tune.lambda_arn
        if request.deploy is not None:
            deployer = VariantDeployer(control)
            log(f"deploying {request.deploy.name} ...")
            deployer.ensure_function(request.deploy)
            if not request.emulator:  # the emulator's state dies with it
                stack.callback(deployer.teardown, request.deploy.name)
        session = stack.enter_context(TuneSession(control, function))
        assert session.snapshot is not None
        info["architecture"] = session.snapshot.architecture
        # Whose prices: the function's own ARN names its region (the ARN given, AWS's or moto's, or
        # the bundled emulator's); the request's region when the backend gives no ARN.
        region = session.snapshot.region or request.region
        info["region"] = region
        write_run_info(run_dir, info)
        store = stack.enter_context(RecordStore(run_dir / "records.sqlite"))
        from bench.tune.input import generate_payloads

        invoker = Invoker(
            invoke_client(endpoint, request.region, pool=16 if tune.parallel else 4),
            function,
            run_dir.name,
            tune.allowed_exceptions,
            tune.pre_processor_arn,
            tune.post_processor_arn,
        )
        sampler = Sampler(
            invoker,
            session,
            store,
            generate_payloads(tune.num, tune.payload),
            architecture=session.snapshot.architecture,
            region=region,
            cold=tune.only_cold_starts,
            parallel=tune.parallel,
            sleep_ms=tune.sleep_between_runs_ms,
            on_call=on_call,
            retire_early=endpoint is not None and _is_lambench_emulator(endpoint),
        )
        log(f"{request.mode} tuning of {function} at {', '.join(f'{m} MB' for m in tune.power_values)}")
        details = _sample(request, sampler, sizes, session.snapshot.architecture)
        store.close()
        session.restore()
        auto = None
        if tune.auto_optimize and not tune.dry_run and details["order"]:
            best = details["order"][0].value
            version = session.auto_optimize(best, tune.auto_optimize_alias)
            auto = {"power": best, "alias": tune.auto_optimize_alias, "version": version}
            log(f"autoOptimize: $LATEST now has {best} MB" + (f", alias {tune.auto_optimize_alias}" if version else ""))
    info["finished"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    write_run_info(run_dir, info)
    return _finish(request, run_dir, info, sizes, sampler, details, auto), run_dir


def _sample(request: TuneRequest, sampler: Any, sizes: list[Any], architecture: str) -> dict[str, Any]:
    from bench.tune.adaptive import Adaptive, AdaptiveSettings
    from bench.tune.exhaustive import aplt_base_cost, aplt_pick, run_exhaustive, stats_of

    tune = request.tune
    base = aplt_base_cost(architecture)
    details: dict[str, Any] = {"base_cost": base, "adaptive": None}
    if tune.dry_run:
        run_exhaustive(sampler, sizes, 1)  # APLT's dryRun: one call per size, no analysis
        details["stop"] = "dryRun: one call per size"
    elif request.mode == "exhaustive":
        details["stop"] = run_exhaustive(sampler, sizes, tune.num)
    else:
        budget = request.max_invocations or tune.num * len(sizes)
        settings = AdaptiveSettings(budget, request.max_usd, request.confidence, request.tolerance)
        adaptive = Adaptive(
            sampler,
            sizes,
            tune.strategy,
            tune.balanced_weight,
            tune.discard,
            base,
            settings,
            tune.only_cold_starts,
            log,
        )
        result = adaptive.run()
        details["adaptive"], details["stop"] = result, result.stop
    stats = [s for s in (stats_of(size, tune.discard, base) for size in sizes if size.infeasible is None) if s]
    details["stats"] = stats
    details["order"] = [] if tune.dry_run else aplt_pick(stats, tune.strategy, tune.balanced_weight)
    return details


def _finish(
    request: TuneRequest,
    run_dir: Path,
    info: dict[str, Any],
    sizes: list[Any],
    sampler: Any,
    details: dict[str, Any],
    auto: dict[str, Any] | None,
) -> dict[str, Any]:
    from bench.analysis.pricing import PER_CALL, prices_for
    from bench.decide import DecisionSettings
    from bench.outputs import outputs_from_store
    from bench.tune.output import aplt_output, cold_figures, infeasible_list, pick_intervals, spent_dict

    tune = request.tune
    report = None
    files: dict[str, Any] = {"run_dir": str(run_dir.resolve()), "records": str((run_dir / "records.sqlite").resolve())}
    if sampler.spent.invocations and request.write_outputs:
        decision = DecisionSettings(strategy=tune.strategy, balanced_weight=tune.balanced_weight)
        outputs = outputs_from_store(run_dir, info, decision=decision)
        report = outputs.report_html
        files |= {"results": str(outputs.results_json.resolve()), "report": str(report.resolve())}
    order = details["order"]
    adaptive = details["adaptive"]
    by_memory = {s.memory_mb: s for s in sizes}
    lambench: dict[str, Any] = {
        "mode": "dryRun" if tune.dry_run else request.mode,
        "stop": details["stop"],
        "spent": spent_dict(sampler.spent),
        "invocations": sampler.spent.invocations,
        "usd": sampler.spent.usd,
        "prices": prices_for(info.get("region")).statement(info.get("architecture"), ["direct"], PER_CALL),
        "strategy": tune.strategy,
        "pick": None,
        "runner_up": order[1].value if len(order) > 1 else None,
        "infeasible": infeasible_list(sizes, adaptive.presumed_infeasible if adaptive else {}),
        "cold_starts": cold_figures(sizes),
        "auto_optimize": auto,
        **files,
    }
    if order:
        pick = by_memory[order[0].value]
        lambench["pick"] = {"power": pick.memory_mb, "invocations": len(pick.calls)} | pick_intervals(
            pick, details["base_cost"], request.confidence, tune.only_cold_starts
        )
    if adaptive is not None:
        lambench["adaptive"] = adaptive.as_dict()
        if adaptive.verdict is not None and adaptive.verdict.difference is not None:
            lambench["adaptive"]["difference"] = {
                "lo": adaptive.verdict.difference.lo,
                "hi": adaptive.verdict.difference.hi,
                "confidence": adaptive.verdict.difference.confidence,
                "reason": adaptive.verdict.reason,
            }
    if tune.dry_run:
        return {"dryRun": True, "stats": [s.as_aplt() for s in details["stats"]], "lambench": lambench}
    return aplt_output(details["stats"], order, report, lambench)


def _is_lambench_emulator(endpoint: str) -> bool:
    """Whether the endpoint is lambench's emulator (it answers /lambench/info; AWS and moto do not)."""
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(f"{endpoint.rstrip('/')}/lambench/info", timeout=5) as response:
            return bool(json.loads(response.read() or b"{}").get("emulator") == "lambench")
    except (OSError, ValueError, urllib.error.URLError):
        return False


def _input_dict(tune: TuneInput) -> dict[str, Any]:
    out = {k: v for k, v in tune.__dict__.items() if k != "payload"}
    out["power_values"] = list(tune.power_values)
    out["allowed_exceptions"] = list(tune.allowed_exceptions)
    return out


def main(args: Any) -> int:
    """The ``lambench tune`` command (bench/cli.py's cmd_tune)."""
    request = request_from_args(args)
    try:
        output, run_dir = run_tune(request, on_call=_progress())
    except KeyboardInterrupt:
        log("interrupted: the function was put back; the records so far are in the run folder")
        raise
    print(json.dumps(output, indent=2))
    log(f"report: {output['lambench'].get('report', run_dir)}")
    return 0


def _progress() -> Any:
    calls = [0]

    def on_call(record: Any) -> None:
        calls[0] += 1
        if calls[0] % 25 == 0:
            log(f"{calls[0]} calls")

    return on_call
