"""Wires lambench into a plain ``locust -f`` run: our options, our settings, our record store.

A locustfile calls ``register(events)`` once; ``lambench run`` does the same wiring itself in
bench/load/headless.py, so the two doors record identically.
"""

from __future__ import annotations

import sys

from ..collect.listener import RecordCollector
from ..collect.store import RecordStore
from ..errors import UserError
from .settings import add_locust_arguments, settings_from_options


def register(events) -> None:
    state: dict = {}

    @events.init_command_line_parser.add_listener
    def _arguments(parser, **_kwargs):
        add_locust_arguments(parser)

    @events.init.add_listener
    def _init(environment, **_kwargs):
        try:
            environment.lambench = settings_from_options(environment.parsed_options, _worker_name(environment))
        except UserError as err:
            print(f"lambench: error: {err}", file=sys.stderr)
            sys.exit(2)
        if not _is_master(environment):
            store = RecordStore(environment.lambench.records_path)
            state["collector"] = RecordCollector(store).attach(environment.events)

    @events.quit.add_listener
    def _quit(**_kwargs):
        collector = state.pop("collector", None)
        if collector is not None:
            collector.close()
            print(f"lambench: records in {collector.store.path}", file=sys.stderr)


def _is_master(environment) -> bool:
    from locust.runners import MasterRunner

    return isinstance(environment.runner, MasterRunner)


def _worker_name(environment) -> str:
    from locust.runners import WorkerRunner

    runner = environment.runner
    return runner.client_id if isinstance(runner, WorkerRunner) else "local"
