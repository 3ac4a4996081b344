"""Locust distributed mode: workers stream their statistics to the master, which merges them.

**One run, one folder.** The master puts its run id in its parsed options
(``lambench_run_id``); Locust forwards custom options to every worker inside each spawn
message, and a worker applies them before it fires ``test_start``. So a worker opens its
record store (``<reports>/<run-id>/records-<worker>.sqlite``) in ``test_start``, before its
first user exists, under the master's run id, on one machine or many.

A web UI's next start is a run of its own: the master gives it a new run id (``new_run``),
which reaches the workers with the spawn messages, and merges from zero again.

**Deltas, each record once.** On every report (``report_to_master``: every 3 s, and once more
when the worker quits) a worker hands over the statistics gathered since its previous report
and starts afresh (``RecordCollector.take_stats``). The master adds each delta (``worker_report``)
into one RunStats. Nothing is sent twice, so nothing is counted twice.

**The last records.** A headless master with ``-t`` never tells its workers to stop: its
``quit()`` sends them ``quit``, waits 0.5 s for their final report and stops listening. A worker
first lets its users finish (``--stop-timeout``, so that every invoke the target ran is
recorded) and only then sends that final report, which therefore arrives too late for Locust's
own statistics and for ours. So at ``test_stop`` the master sends ``lambench_stop`` (with the
test's round number) and waits, still listening, until every worker has reported that it
stopped that round, i.e. its users are done, its store flushed, and its last delta sent in
the same Locust report as its last request statistics. A worker that never answers (it died)
is named in the summary, which is then marked incomplete instead of silently short.

Nothing here imports Locust: the environment and runner come from the caller, and the
master/worker role is decided there.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import gevent

from .listener import RecordCollector
from .stats import RunStats

logger = logging.getLogger(__name__)

REPORT_KEY = "lambench"
STOP_MESSAGE = "lambench_stop"
RUN_ID_OPTION = "lambench_run_id"
ROUND_OPTION = "lambench_round"
# A worker reports every WORKER_REPORT_INTERVAL (3 s in Locust); allow two, plus margin.
REPORT_WAIT_S = 2 * 3.0 + 5.0


class WorkerReporter:
    """The worker's side: open the store under the master's run id, report deltas, stop on request."""

    def __init__(self, environment, open_collector: Callable[[str | None], RecordCollector]) -> None:
        self.environment = environment
        self._open_collector = open_collector
        self.collector: RecordCollector | None = None
        self.run_id: str | None = None
        self.round = 0
        self.stopped_round = 0

    def attach(self) -> WorkerReporter:
        events = self.environment.events
        events.test_start.add_listener(self.on_test_start)
        events.test_stop.add_listener(self.on_test_stop)
        events.report_to_master.add_listener(self.on_report_to_master)
        # Concurrent: stopping waits for users to finish, and must not block the message loop.
        self.environment.runner.register_message(STOP_MESSAGE, self.on_stop_message, concurrent=True)
        return self

    def on_test_start(self, environment, **_kwargs) -> None:
        options = environment.parsed_options
        run_id = getattr(options, RUN_ID_OPTION, None)
        self.round = int(getattr(options, ROUND_OPTION, 0) or 0)
        if self.collector is None or run_id != self.run_id:
            if self.collector is not None:
                self.collector.close()
            self.collector = self._open_collector(run_id)
            self.run_id = run_id

    def on_test_stop(self, **_kwargs) -> None:
        # Fired once every user has stopped: all of this round's records have been seen.
        if self.collector is not None:
            self.collector.flush()
        self.stopped_round = max(self.stopped_round, self.round)

    def on_stop_message(self, environment, msg, **_kwargs) -> None:
        requested = int((msg.data or {}).get("round", 0))
        if requested < self.round:
            return  # a late request for an earlier round must not stop this one
        environment.runner.stop()
        self.on_test_stop()
        self.stopped_round = max(self.stopped_round, requested)

    def on_report_to_master(self, client_id, data, **_kwargs) -> None:
        report: dict[str, Any] = {"round": self.round, "stopped_round": self.stopped_round}
        if self.collector is not None:
            report["stats"] = self.collector.take_stats().to_wire()
        data[REPORT_KEY] = report

    def close(self) -> RecordCollector | None:
        collector, self.collector = self.collector, None
        if collector is not None:
            collector.close()
        return collector


class MasterAggregator:
    """The master's side: hand out the run id, merge worker deltas, wait for the last ones."""

    def __init__(self, environment, run_id: str) -> None:
        self.environment = environment
        self.run_id = run_id
        self.stats = RunStats()
        self.round = 0
        self.workers: dict[str, dict] = {}
        self._expected: set[str] = set()

    def attach(self) -> MasterAggregator:
        setattr(self.environment.parsed_options, RUN_ID_OPTION, self.run_id)
        setattr(self.environment.parsed_options, ROUND_OPTION, self.round)
        events = self.environment.events
        events.test_start.add_listener(self.on_test_start)
        events.test_stop.add_listener(self.on_test_stop)
        events.worker_report.add_listener(self.on_worker_report)
        return self

    def on_test_start(self, **_kwargs) -> None:
        # Fired before the spawn messages are built, so they carry the new round number.
        self.round += 1
        setattr(self.environment.parsed_options, ROUND_OPTION, self.round)

    def new_run(self, run_id: str) -> None:
        """Start a run of its own (a web UI's next start): its id goes to the workers, its stats from zero."""
        self.run_id = run_id
        setattr(self.environment.parsed_options, RUN_ID_OPTION, run_id)
        self.stats = RunStats()
        for info in self.workers.values():
            info["records"] = 0

    def on_test_stop(self, **_kwargs) -> None:
        runner = self.environment.runner
        # Only connected workers can answer. (When the last worker has quit, this runs in the
        # master's message loop, and waiting for anyone would only block it.)
        self._expected = {c.id for c in runner.clients.all if c.state != "missing"}
        # Locust forgets a worker once it says it stopped (the web UI's Stop), yet its final report
        # is still to come: wait for those of this round that reported lately, i.e. are alive.
        recent = time.monotonic() - REPORT_WAIT_S
        self._expected |= {
            w for w, info in self.workers.items() if info["round"] == self.round and info["seen"] > recent
        }
        runner.send_message(STOP_MESSAGE, {"round": self.round})
        timeout = (self.environment.stop_timeout or 0) + REPORT_WAIT_S
        deadline = time.monotonic() + timeout
        while self._waiting_for() & self._expected and time.monotonic() < deadline:
            gevent.sleep(0.1)
        missing = self._waiting_for() & self._expected
        if missing:
            logger.warning(
                "lambench: no final report after %.0f s from worker(s) %s; the summary lacks their last records",
                timeout,
                ", ".join(sorted(missing)),
            )

    def _waiting_for(self) -> set[str]:
        """Workers of this round (connected at its stop, or reporting in it) not yet reported stopped."""
        taking_part = self._expected | {w for w, info in self.workers.items() if info["round"] == self.round}
        return {w for w in taking_part if self.workers.get(w, {}).get("stopped_round", 0) < self.round}

    def on_worker_report(self, client_id, data, **_kwargs) -> None:
        report = data.get(REPORT_KEY)
        if report is None:
            return
        info = self.workers.setdefault(client_id, {"records": 0, "round": 0, "stopped_round": 0})
        info["seen"] = time.monotonic()
        if "stats" in report:
            delta = RunStats.from_wire(report["stats"])
            info["records"] += delta.records
            self.stats.merge(delta)
        info["round"] = report["round"]
        info["stopped_round"] = max(info["stopped_round"], report["stopped_round"])

    def collection(self) -> dict:
        """Each worker's record count and whether all reported in (summary.json carries it).

        A worker is missing when it has not reported the end of the last round (a late report
        still counts: its delta carries the records, so it makes the summary complete again).
        """
        missing = sorted(self._waiting_for())
        return {
            "workers": {w: {"records": info["records"]} for w, info in sorted(self.workers.items())},
            "complete": not missing,
            "missing_workers": missing,
        }
