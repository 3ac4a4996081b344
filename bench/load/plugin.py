"""Wires lambench into a plain ``locust -f`` run: our options, our settings, our record store.

A locustfile calls ``register(events)`` once; ``lambench run`` does the same wiring itself in
bench/load/headless.py, so the two doors record identically. Each Locust role does its part:

- a single process records into ``<reports>/<run-id>/records.sqlite``;
- a worker records into ``records-<worker>.sqlite`` under the master's run id and reports its
  statistics to the master (bench/collect/distributed.py);
- the master merges the reports and, from the worker files in the run folder, the records.

At quit, the single process and the master join API Gateway calls to their REPORT lines and
write the run's outputs (results.json, summary.json, report.html) the one way every door does
(bench/outputs.py). A master whose workers kept their records elsewhere reports from the merged
aggregates instead, and says that the join is still to do.
"""

from __future__ import annotations

import dataclasses
import functools
import sys
from pathlib import Path

from ..collect import RecordStore, join_run, merge_records, worker_stores

# The gevent half of collect, kept out of its package namespace (bench/collect/__init__.py).
from ..collect.distributed import MasterAggregator, WorkerReporter
from ..collect.listener import RecordCollector
from ..errors import UserError
from .settings import LoadSettings, add_locust_arguments, settings_from_options


def register(events) -> None:
    state: dict = {}

    @events.init_command_line_parser.add_listener
    def _arguments(parser, **_kwargs):
        add_locust_arguments(parser)

    @events.init.add_listener
    def _init(environment, **_kwargs):
        environment.lambench = _settings_or_exit(environment.parsed_options, _worker_name(environment))
        role = _role(environment.runner)
        if role == "master":
            state["master"] = MasterAggregator(environment, environment.lambench.run_id).attach()
        elif role == "worker":
            state["worker"] = WorkerReporter(environment, functools.partial(_worker_collector, environment)).attach()
        else:
            state["collector"] = collector_for(environment.lambench, environment.events)
            state["settings"] = environment.lambench

    @events.quit.add_listener
    def _quit(**_kwargs):
        if "master" in state:
            _finish_master(state.pop("master"))
        if "worker" in state:
            collector = state.pop("worker").close()
            if collector is not None:
                print(f"lambench: records in {collector.store.path}", file=sys.stderr)
        if "collector" in state:
            _finish_local(state.pop("collector"), state.pop("settings"))


def collector_for(settings: LoadSettings, events) -> RecordCollector:
    """The record collector of one Locust process (lambench run's too), attached to its events."""
    return RecordCollector(RecordStore(settings.records_path)).attach(events)


def _worker_collector(environment, run_id: str | None) -> RecordCollector:
    """Open this worker's store under the master's run id, with the options the master forwarded."""
    settings = environment.lambench
    try:
        settings = settings_from_options(environment.parsed_options, settings.worker)
    except UserError as err:
        print(f"lambench: error: {err} (keeping this worker's own options)", file=sys.stderr)
    if run_id:
        records = Path(environment.parsed_options.lambench_reports) / run_id / settings.records_path.name
        settings = dataclasses.replace(settings, run_id=run_id, records_path=records)
    environment.lambench = settings
    return collector_for(settings, environment.events)


def _join(settings: LoadSettings, records_path: Path) -> None:
    result = join_run(
        records_path, settings.endpoint_url, settings.region, settings.function_name, settings.access_log_group
    )
    if result.gateway_records:
        print(f"lambench: {result.describe()}", file=sys.stderr)


def _run_info(settings: LoadSettings) -> dict:
    return {
        "run_id": settings.run_id,
        "function": settings.function_name,
        "target": f"endpoint {settings.endpoint_url}" if settings.endpoint_url else f"aws {settings.region}",
        "endpoint": settings.endpoint_url or f"AWS {settings.region}",
        "variants": list(settings.variants),
        "load": "locust -f (see Locust's own options)",
        "architecture_note": "x86_64 prices assumed: a locustfile does not know the function's architecture",
    }


def _print_outputs(outputs) -> None:
    print(f"lambench: summary in {outputs.summary_json}", file=sys.stderr)
    print(f"lambench: report: {outputs.report_html.resolve()}", file=sys.stderr)


def _finish_local(collector: RecordCollector, settings: LoadSettings) -> None:
    from ..outputs import outputs_from_store

    collector.close()
    folder = collector.store.path.parent
    print(f"lambench: records in {collector.store.path}", file=sys.stderr)
    _join(settings, collector.store.path)
    _print_outputs(outputs_from_store(folder, _run_info(settings)))


def _finish_master(master: MasterAggregator) -> None:
    from ..outputs import outputs_from_stats, outputs_from_store

    settings = master.environment.lambench
    folder = settings.records_path.parent
    info = {**_run_info(settings), "run_id": master.run_id}
    if worker_stores(folder):
        merged = merge_records(folder)
        print(f"lambench: records merged into {merged}", file=sys.stderr)
        _join(settings, merged)
        outputs = outputs_from_store(folder, info, collection=master.collection())
    else:
        print(
            f"lambench: no worker record files in {folder} (workers on other machines: copy their "
            "records-*.sqlite here, then `lambench report` this folder); reporting from the workers' "
            "aggregates, without the API Gateway join",
            file=sys.stderr,
        )
        outputs = outputs_from_stats(
            folder, master.stats, {**info, "join": "not done: records not here"}, collection=master.collection()
        )
    _print_outputs(outputs)


def _settings_or_exit(options, worker: str) -> LoadSettings:
    try:
        return settings_from_options(options, worker)
    except UserError as err:
        print(f"lambench: error: {err}", file=sys.stderr)
        sys.exit(2)


def _role(runner) -> str:
    from locust.runners import MasterRunner, WorkerRunner

    if isinstance(runner, MasterRunner):
        return "master"
    return "worker" if isinstance(runner, WorkerRunner) else "local"


def _worker_name(environment) -> str:
    from locust.runners import WorkerRunner

    runner = environment.runner
    return runner.client_id if isinstance(runner, WorkerRunner) else "local"
