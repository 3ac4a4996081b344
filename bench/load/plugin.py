"""Wires lambench into a plain ``locust -f`` run: our options, our settings, our record store.

A locustfile calls ``register(events)`` once; ``lambench run`` does the same wiring itself in
bench/load/headless.py, so the two doors record identically. Each Locust role does its part:

- a single process or a master holds a Session (bench/load/session.py): each test start makes
  the target ready (bench/load/target.py: with no endpoint, the bundled emulator and the
  variants of bench.toml) and opens a run of its own; each stop writes that run's outputs the
  one way every door does (bench/outputs.py). Headless, the target is made ready at init, so
  a target that cannot be ends the process with one message before any user starts; in the
  web UI the start form refuses the start with that message (bench/load/webui.py, which also
  adds the Lambda tab);
- a single process records into ``<reports>/<run-id>/records.sqlite``;
- a worker records into ``records-<worker>.sqlite`` under the master's run id and reports its
  statistics to the master (bench/collect/distributed.py); the master merges the reports and,
  from the worker files in the run folder, the records. A master whose workers kept their
  records elsewhere reports from the merged aggregates instead, and says that the join is still to do.

When Locust quits, the bundled emulator stops, and Locust's --html report gets the last run's
Lambda table.

With ``--lambda-rps`` the load is open loop (bench/load/openloop.py). The single process or the
master sizes the users for the rate from the function's timeout (``-u`` is the floor) and spawns
them within about a second; each process that runs users draws its arrivals; the open-loop facts (late and
missed arrivals, a worker's added up on the master) go into the run's facts with the outputs.
"""

from __future__ import annotations

import dataclasses
import functools
import html
import random
import sys
from pathlib import Path

from ..collect import RecordStore

# The gevent half of collect, kept out of its package namespace (bench/collect/__init__.py).
from ..collect.distributed import MasterAggregator, WorkerReporter
from ..collect.listener import RecordCollector
from ..errors import UserError
from .lambdatable import html_table, recommendation_sentence
from .openloop import (
    LATENCY_MARGIN_S,
    WORKERS_OPTION,
    OpenLoop,
    UserPlan,
    merge_facts,
    plan_users,
)
from .session import Session
from .settings import LoadSettings, add_locust_arguments, settings_from_options
from .target import Targets

OPEN_LOOP_REPORT_KEY = "lambench_open_loop"


def register(events) -> None:
    state: dict = {}

    @events.init_command_line_parser.add_listener
    def _arguments(parser, **_kwargs):
        add_locust_arguments(parser)
        # Nothing of ours listens beyond loopback unless asked: Locust's defaults are every interface.
        parser.set_defaults(web_host="127.0.0.1", master_bind_host="127.0.0.1")

    @events.init.add_listener
    def _init(environment, **_kwargs):
        environment.lambench = _settings_or_exit(environment.parsed_options, _worker_name(environment))
        role = _role(environment.runner)
        if role == "worker":
            state["worker"] = WorkerReporter(environment, functools.partial(_worker_collector, environment)).attach()
            # After the worker's reporter: on a worker, test_start first puts the master's settings in place.
            _open_loop(environment, role)
            return
        state["session"] = session = Session(environment, role, Targets())
        if role == "master":
            # Attached first: its test_stop waits for the workers' last records before the run is reported.
            session.master = MasterAggregator(environment, environment.lambench.run_id).attach()
        options = environment.parsed_options
        if options.headless or getattr(options, "autostart", False):
            # No start form to refuse a start: make the target ready now, or stop with its message.
            _prepare_or_exit(session)
        # The session's test_start first: the open loop reads the run's settings it puts in place.
        events.test_start.add_listener(session.on_test_start)
        session.open_loop = _open_loop(environment, role)
        events.test_stop.add_listener(session.on_test_stop)
        if environment.web_ui is not None:
            from .webui import attach

            attach(environment, session)
            session.live.start()

    @events.quit.add_listener
    def _quit(**_kwargs):
        if "worker" in state:
            collector = state.pop("worker").close()
            if collector is not None:
                print(f"lambench: records in {collector.store.path}", file=sys.stderr)
        if "session" in state:
            session = state.pop("session")
            session.close()
            html_file = getattr(session.environment.parsed_options, "html_file", None)
            if html_file:
                add_to_locust_html(Path(html_file), session)


def _prepare_or_exit(session: Session) -> None:
    message = session.prepare(log=False)
    if message is not None:
        session.close()
        print(f"lambench: error: {message}", file=sys.stderr)
        sys.exit(2)
    environment = session.environment
    _key, target = session._prepared  # type: ignore[misc]
    environment.lambench = settings_from_options(environment.parsed_options, session.role, target.resolved)


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
        records = settings.records_path.parent.parent / run_id / settings.records_path.name
        settings = dataclasses.replace(settings, run_id=run_id, records_path=records)
    environment.lambench = settings
    environment.lambench_client = None  # the users' shared client: made anew for this run's endpoint
    return collector_for(settings, environment.events)


def add_to_locust_html(path: Path, session: Session) -> None:
    """Put the last run's Lambda table into Locust's --html report, which has no hook for one.

    Locust writes that file before it fires ``quit``; the table goes in as a static section
    after Locust's own page, escaped, with the run id and the path of lambench's report.
    """
    run = next((r for r in reversed(session.runs) if r.rows), None)
    if run is None or not path.is_file():
        return
    report = f"<p>lambench report: {html.escape(str(run.report.resolve()))}</p>" if run.report else ""
    section = (
        '<section id="lambench" style="max-width:1200px;margin:32px auto;padding:0 24px;font-family:sans-serif">'
        f"<h2>Lambda (lambench run {html.escape(run.run_id)})</h2>{html_table(run.rows)}"
        f"<p>Recommendation: {html.escape(recommendation_sentence(run.recommendation))}</p>{report}</section>"
    )
    page = path.read_text(encoding="utf-8")
    at = page.rfind("</body>")
    if at < 0:
        return
    path.write_text(page[:at] + section + page[at:], encoding="utf-8")
    print(f"lambench: Lambda table added to {path}", file=sys.stderr)


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
