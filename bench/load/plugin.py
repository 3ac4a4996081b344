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

With ``--lambda-rps`` the load is open loop (bench/load/openloop.py). The single process or the
master sizes the users for the rate from the function's timeout (``-u`` is the floor) and spawns
them within about a second; each process that runs users draws its arrivals; the open-loop facts (late and
missed arrivals, a worker's added up on the master) go into the run's facts with the outputs.
"""

from __future__ import annotations

import dataclasses
import functools
import random
import sys
from pathlib import Path

from ..collect import RecordStore, join_run, merge_records, worker_stores

# The gevent half of collect, kept out of its package namespace (bench/collect/__init__.py).
from ..collect.distributed import MasterAggregator, WorkerReporter
from ..collect.listener import RecordCollector
from ..errors import UserError
from .openloop import (
    LATENCY_MARGIN_S,
    WORKERS_OPTION,
    OpenLoop,
    UserPlan,
    describe,
    merge_facts,
    plan_users,
)
from .settings import LoadSettings, add_locust_arguments, settings_from_options

OPEN_LOOP_REPORT_KEY = "lambench_open_loop"


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
        # After the worker's reporter: on a worker, test_start first puts the master's settings in place.
        state["open_loop"] = _open_loop(environment, role)

    @events.quit.add_listener
    def _quit(**_kwargs):
        open_loop = state.pop("open_loop", None)
        if "master" in state:
            _finish_master(state.pop("master"), open_loop)
        if "worker" in state:
            collector = state.pop("worker").close()
            if collector is not None:
                print(f"lambench: records in {collector.store.path}", file=sys.stderr)
        if "collector" in state:
            _finish_local(state.pop("collector"), state.pop("settings"), open_loop)


def _open_loop(environment, role: str):
    """Set up open loop for this process: an OpenLoop where users run (a worker's follows the
    master's options, so it is there even when this worker was started without --lambda-rps), and
    on the master, the workers' facts. Returns what the quit handler reports from, if anything."""
    settings: LoadSettings = environment.lambench
    if role == "worker":
        open_loop = OpenLoop(environment, worker=True).attach()

        @environment.events.report_to_master.add_listener
        def _report(client_id, data, **_kwargs):
            # Cumulative, once the stream is closed: the master keeps each worker's latest.
            facts = open_loop.facts()
            if facts is not None:
                data[OPEN_LOOP_REPORT_KEY] = facts

        return open_loop
    if settings.rps is None:
        return None
    plan = _plan(environment, settings, settings.rps)
    if role == "master":
        return _MasterOpenLoop(environment, settings, plan).attach()
    open_loop = OpenLoop(environment).attach()
    open_loop.plan = plan
    return open_loop


def _plan(environment, settings: LoadSettings, rps: float) -> UserPlan:
    """Size the users for the rate, with -u as the floor, and make Locust start them at once."""
    options = environment.parsed_options
    timeout = _function_timeout_s(settings)
    plan = plan_users(rps, None if timeout is None else timeout + LATENCY_MARGIN_S, options.num_users or 1)
    options.num_users = plan.users
    options.spawn_rate = plan.spawn_rate(options.spawn_rate)
    print(f"lambench: open loop at {rps:g}/s, Poisson: {plan.rule}", file=sys.stderr)
    return plan


def _function_timeout_s(settings: LoadSettings) -> float | None:
    """The longest timeout of the variants (GetFunctionConfiguration), or None if it cannot be read."""
    from botocore.exceptions import BotoCoreError, ClientError

    from .. import awsclient

    client = awsclient.client("lambda", settings.endpoint_url, settings.region, awsclient.control_plane_config())
    try:
        return float(
            max(
                client.get_function_configuration(FunctionName=settings.function_name, Qualifier=variant)["Timeout"]
                for variant in settings.variants
            )
        )
    except (BotoCoreError, ClientError) as err:
        print(
            f"lambench: warning: open loop: cannot read {settings.function_name}'s timeout ({err}); "
            "keeping -u users, and late arrivals will be counted",
            file=sys.stderr,
        )
        return None


class _MasterOpenLoop:
    """The master's part: tell workers how many they are (each draws its share of the rate), choose
    the seed they all derive their streams from, and add up the facts they report."""

    def __init__(self, environment, settings: LoadSettings, plan: UserPlan) -> None:
        self.environment = environment
        self.plan = plan
        self.rps = settings.rps
        # Chosen here when not given, so that every worker's stream comes from one recorded seed.
        self.seed = settings.seed if settings.seed is not None else random.SystemRandom().randrange(2**32)
        self.reports: dict[str, dict] = {}
        self.users = plan.users

    def attach(self) -> _MasterOpenLoop:
        self.environment.parsed_options.lambda_seed = self.seed
        events = self.environment.events
        events.test_start.add_listener(self.on_test_start)
        events.worker_report.add_listener(self.on_worker_report)
        return self

    def on_test_start(self, **_kwargs) -> None:
        # Fired after the runner set its target and before it builds the spawn messages.
        runner = self.environment.runner
        setattr(self.environment.parsed_options, WORKERS_OPTION, runner.worker_count)
        self.users = runner.target_user_count
        self.reports.clear()

    def on_worker_report(self, client_id, data, **_kwargs) -> None:
        if OPEN_LOOP_REPORT_KEY in data:
            self.reports[client_id] = data[OPEN_LOOP_REPORT_KEY]

    def facts(self) -> dict:
        return merge_facts(self.reports, rps=self.rps, seed=self.seed, users=self.users, users_rule=self.plan.rule)


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


def _with_open_loop(info: dict, open_loop) -> dict:
    facts = open_loop.facts() if open_loop is not None else None
    if facts is None:
        return info
    print(f"lambench: open loop: {describe(facts)}", file=sys.stderr)
    return {**info, "open_loop": facts}


def _finish_local(collector: RecordCollector, settings: LoadSettings, open_loop) -> None:
    from ..outputs import outputs_from_store

    collector.close()
    folder = collector.store.path.parent
    print(f"lambench: records in {collector.store.path}", file=sys.stderr)
    info = _with_open_loop(_run_info(settings), open_loop)
    _join(settings, collector.store.path)
    _print_outputs(outputs_from_store(folder, info))


def _finish_master(master: MasterAggregator, open_loop) -> None:
    from ..outputs import outputs_from_stats, outputs_from_store

    settings = master.environment.lambench
    folder = settings.records_path.parent
    info = _with_open_loop({**_run_info(settings), "run_id": master.run_id}, open_loop)
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
