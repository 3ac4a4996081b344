"""Wires lambench into a plain ``locust -f`` run: our options, our settings, our record store.

A locustfile calls ``register(events)`` once; ``lambench run`` does the same wiring itself in
bench/load/headless.py, so the two doors record identically. Each Locust role does its part:

- a single process records into ``<reports>/<run-id>/records.sqlite`` and writes summary.json;
- a worker records into ``records-<worker>.sqlite`` under the master's run id and reports its
  statistics to the master (bench/collect/distributed.py);
- the master merges the reports, and at quit writes summary.json and, from the worker files
  in the run folder, the merged records.sqlite.
"""

from __future__ import annotations

import dataclasses
import functools
import sys
from pathlib import Path

from ..collect.distributed import MasterAggregator, WorkerReporter
from ..collect.listener import RecordCollector
from ..collect.runfolder import merge_records, worker_stores, write_summary
from ..collect.store import RecordStore
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


def join_gateway_calls(settings: LoadSettings, records_path: Path) -> None:
    """Fill API Gateway records' Lambda fields from the logs (bench/collect/correlate.py)."""
    from .. import awsclient
    from ..collect.correlate import join_run_records

    logs = awsclient.client("logs", settings.endpoint_url, settings.region)
    # On AWS, logs arrive seconds late: keep asking for a while; the emulator has them at once.
    wait_s = 0.0 if awsclient.is_local(settings.endpoint_url) else 60.0
    result = join_run_records(records_path, logs, settings.function_name, settings.access_log_group, wait_s)
    if result.gateway_records:
        print(f"lambench: {result.matched} of {result.gateway_records} API Gateway calls joined to their "
              f"REPORT lines; {result.unmatched} unmatched (cold unknown)", file=sys.stderr)


def _finish_local(collector: RecordCollector, settings: LoadSettings) -> None:
    collector.close()
    folder = collector.store.path.parent
    print(f"lambench: records in {collector.store.path}", file=sys.stderr)
    join_gateway_calls(settings, collector.store.path)
    summary = {"run_id": folder.name, **collector.stats.summary()}
    print(f"lambench: summary in {write_summary(summary, folder)}", file=sys.stderr)


def _finish_master(master: MasterAggregator) -> None:
    folder = master.environment.lambench.records_path.parent
    summary_path = write_summary(master.summary(), folder)
    print(f"lambench: summary in {summary_path}", file=sys.stderr)
    if worker_stores(folder):
        merged = merge_records(folder)
        print(f"lambench: records merged into {merged}", file=sys.stderr)
        join_gateway_calls(master.environment.lambench, merged)
    else:
        print(f"lambench: no worker record files in {folder} (workers on other machines: copy their "
              "records-*.sqlite here, then bench.collect.merge_records)", file=sys.stderr)


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
