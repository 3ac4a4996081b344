"""One Locust session, many runs: each test start is a run with its own id, records and report.

In the web UI a user starts, stops and starts again; each start (Locust's ``test_start``) makes
the target ready (bench/load/target.py), takes the options the start form set, and opens a run:
a new run id, its own ``<reports>/<run-id>/records.sqlite`` (``records-<worker>.sqlite`` on
workers) and run.json. Each stop (``test_stop``, after every user has finished and, on a
master, every worker has sent its last records) writes that run's outputs the one way every
door does (bench/outputs.py); the web UI links its report. A headless run is one start and one stop.

The live figures come from the collector's RunStats (the master's merged one); they are
summarised and decided in a thread of their own (:class:`LiveView`), from a copy, because the
decision takes about a second of CPU and Locust's users share this process's one event loop:
holding the loop would add that second to the latency of every invoke in flight.
"""

from __future__ import annotations

import datetime as dt
import logging
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gevent
from gevent.threadpool import ThreadPool

from ..collect import RunStats, join_run, merge_records, worker_stores
from ..errors import UserError
from .lambdatable import recommendation_sentence, variant_rows
from .openloop import describe
from .settings import TARGET_OPTION, LoadSettings, settings_from_options
from .target import Target, Targets

logger = logging.getLogger(__name__)

# How often the tab's figures are recomputed, and the decision (about 1 s of CPU) at most.
LIVE_INTERVAL_S = 2.0
DECIDE_INTERVAL_S = 15.0


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


@dataclass
class Run:
    """One start-to-stop of the test, as the tab lists it."""

    settings: LoadSettings
    target: Target
    info: dict[str, Any]
    state: str = "running"  # running | finished | failed
    collector: Any = None  # the RecordCollector of a single process
    report: Path | None = None
    csv: Path | None = None
    error: str | None = None
    rows: list[dict[str, Any]] = field(default_factory=list)
    recommendation: Any = None
    summary: Any = None
    invocations: int = 0

    @property
    def run_id(self) -> str:
        return self.settings.run_id

    @property
    def folder(self) -> Path:
        return self.settings.records_path.parent

    def traffic_path(self) -> str:
        return getattr(self.target.traffic, "path", "direct")


class Session:
    """The runs of one single process or master, and the last message that kept a test from starting."""

    def __init__(self, environment, role: str, targets: Targets) -> None:
        self.environment = environment
        self.role = role  # "local" | "master"
        self.targets = targets
        self.master: Any = None  # bench.collect.distributed.MasterAggregator, on a master
        self.open_loop: Any = None  # what plugin.py's _open_loop returned, for the run's facts
        self.runs: list[Run] = []
        self.current: Run | None = None
        self.message: str | None = None  # why the last start failed, until a start succeeds
        self._prepared: tuple[tuple, Target] | None = None
        self.live = LiveView(self)

    # -- making the target ready

    def _key(self) -> tuple:
        o = self.environment.parsed_options
        return (o.lambda_endpoint, o.lambda_function, o.lambda_variants, o.lambda_payload, o.lambench_config)

    def prepare(self, log: bool = True) -> str | None:
        """Make the target ready for the current options; the message to show if it cannot be
        (logged once, unless the caller says it itself)."""
        try:
            target = self.targets.prepare(self.environment.parsed_options)
        except UserError as err:
            self.message = str(err)
            self._prepared = None
            if log:
                logger.error("lambench: error: %s", err)
            return self.message
        self._prepared = (self._key(), target)
        self.message = None
        return None

    def _take_prepared(self) -> Target | None:
        prepared, self._prepared = self._prepared, None
        if prepared is not None and prepared[0] == self._key():
            return prepared[1]
        if self.prepare() is not None:
            return None
        return self._take_prepared()

    # -- Locust's events

    def on_test_start(self, **_kwargs) -> None:
        if self.current is not None:  # a stop that never came (it cannot, but never lose a run)
            self.on_test_stop()
        target = self._take_prepared()
        if target is None:
            # Started some other way than the web UI's form (which refuses to start): stop at once.
            gevent.spawn(self.environment.runner.stop)
            return
        options = self.environment.parsed_options
        settings = settings_from_options(options, self.role, target.resolved)
        self.environment.lambench = settings
        self.environment.lambench_client = None  # the users' shared client: made anew for this run's endpoint
        info = {
            "run_id": settings.run_id,
            "started": _now(),
            "function": settings.function_name,
            "variants": list(settings.variants),
            "load": "locust -f (see Locust's own options)",
            **target.info,
        }
        if "architecture" not in info:
            info["architecture_note"] = "x86_64 prices assumed: a locustfile does not know the function's architecture"
        run = Run(settings, target, info)
        if self.role == "master":
            setattr(options, TARGET_OPTION, target.resolved.to_option())
            self.master.new_run(settings.run_id)
        else:
            from .plugin import collector_for

            run.collector = collector_for(settings, self.environment.events)
        from ..outputs import write_run_info

        settings.records_path.parent.mkdir(parents=True, exist_ok=True)
        write_run_info(run.folder, info)
        self.current = run
        self.runs.append(run)
        logger.info("lambench: run %s: %s, %s", settings.run_id, info.get("target"), ", ".join(settings.variants))

    def on_test_stop(self, **_kwargs) -> None:
        run, self.current = self.current, None
        if run is None:
            return  # Locust stops (at quit) a test that never started
        run.info["finished"] = _now()
        facts = self.open_loop.facts() if self.open_loop is not None else None
        if facts is not None:
            run.info["open_loop"] = facts
            print(f"lambench: open loop: {describe(facts)}", file=sys.stderr, flush=True)
        try:
            outputs = self._outputs(run)
        except UserError as err:
            run.state, run.error = "failed", str(err)
            logger.error("lambench: run %s: %s", run.run_id, err)
            return
        run.state, run.report, run.csv = "finished", outputs.report_html, outputs.csv
        run.summary, run.recommendation = outputs.summary, outputs.recommendation
        summary = outputs.summary
        if self.master is not None:
            # The master's tab shows what it merged from the workers' reports, as it did live.
            summary = _summary(self.master.stats, run)
        run.rows = variant_rows(summary, outputs.recommendation, run.traffic_path())
        run.invocations = sum(v.invocations for v in summary.variants)
        print(f"lambench: summary in {outputs.summary_json}", file=sys.stderr, flush=True)
        print(f"lambench: report: {outputs.report_html.resolve()}", file=sys.stderr, flush=True)

    def _outputs(self, run: Run):
        from ..outputs import outputs_from_stats, outputs_from_store

        settings, target = run.settings, run.target
        kwargs = {"traffic": target.traffic, "decision": target.decision}
        if run.collector is not None:
            run.collector.close()
            logger.info("lambench: records in %s", run.collector.store.path)
            _join(settings, run.collector.store.path)
            return outputs_from_store(run.folder, run.info, **kwargs)
        collection = self.master.collection()
        if worker_stores(run.folder):
            merged = merge_records(run.folder)
            logger.info("lambench: records merged into %s", merged)
            _join(settings, merged)
            return outputs_from_store(run.folder, run.info, collection=collection, **kwargs)
        logger.warning(
            "lambench: no worker record files in %s (workers on other machines: copy their records-*.sqlite "
            "here, then `lambench report` this folder); reporting from the workers' aggregates, without the "
            "API Gateway join",
            run.folder,
        )
        info = {**run.info, "join": "not done: records not here"}
        return outputs_from_stats(run.folder, self.master.stats, info, collection=collection, **kwargs)

    def live_stats(self) -> RunStats | None:
        """The current run's statistics so far (None between runs)."""
        run = self.current
        if run is None:
            return None
        if run.collector is not None:
            return run.collector.stats
        return self.master.stats if self.master is not None else None

    def close(self) -> None:
        self.live.stop()
        self.targets.close()


def _join(settings: LoadSettings, records_path: Path) -> None:
    result = join_run(
        records_path, settings.endpoint_url, settings.region, settings.function_name, settings.access_log_group
    )
    if result.gateway_records:
        logger.info("lambench: %s", result.describe())


class LiveView:
    """The current run's rows for the tab, recomputed in a worker thread from a copy of the stats."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.rows: list[dict[str, Any]] = []
        self.run_id: str | None = None
        self.recommendation: Any = None
        self.updated: float | None = None
        self._decided_at = 0.0
        self._pool: ThreadPool | None = None
        self._loop: gevent.Greenlet | None = None

    def start(self) -> LiveView:
        # Imported here, once: an import inside the thread would hold the import lock against the loop.
        from ..analysis import summarize  # noqa: F401
        from ..decide import decide  # noqa: F401

        self._pool = ThreadPool(1)
        self._loop = gevent.spawn(self._run)
        return self

    def stop(self) -> None:
        if self._loop is not None:
            self._loop.kill(block=False)
            self._loop = None
        if self._pool is not None:
            self._pool.kill()
            self._pool = None

    def _run(self) -> None:
        while True:
            gevent.sleep(LIVE_INTERVAL_S)
            try:
                self.refresh()
            except Exception:  # a failed refresh must not end the tab's updates
                logger.exception("lambench: the Lambda tab's figures could not be computed")

    def refresh(self) -> None:
        run, stats = self.session.current, self.session.live_stats()
        if run is None or stats is None or self._pool is None:
            return
        if run.run_id != self.run_id:
            # The first decision waits one interval: on a run's first few calls it could only say "too few".
            self.run_id, self.rows, self.recommendation, self._decided_at = run.run_id, [], None, time.monotonic()
        copy = RunStats.from_wire(stats.to_wire())  # here, in the loop that changes the original
        decide_now = time.monotonic() - self._decided_at >= DECIDE_INTERVAL_S
        rows, recommendation = self._pool.apply(_figures, (copy, run, decide_now, self.recommendation))
        if self.session.current is run:  # the run may have stopped while the thread worked
            self.rows, self.recommendation, self.updated = rows, recommendation, time.time()
            run.invocations = copy.records
            if decide_now:
                self._decided_at = time.monotonic()

    def view(self) -> dict[str, Any]:
        """What the tab shows: the current run's rows, else the last run's final ones, and every run."""
        current, runs = self.session.current, self.session.runs
        if current is not None:
            rows = self.rows if self.run_id == current.run_id else []
        else:
            rows = runs[-1].rows if runs else []
        return {"rows": rows, "runs": [self._run_row(r) for r in reversed(runs)], "message": self.session.message}

    def _run_row(self, run: Run) -> dict[str, Any]:
        running = run is self.session.current
        recommendation = self.recommendation if running and self.run_id == run.run_id else run.recommendation
        return {
            "run": run.run_id,
            "state": run.error and f"failed: {run.error}" or run.state,
            "invocations": run.invocations,
            "recommendation": recommendation_sentence(recommendation) if run.state != "failed" else "",
            "report": f"lambench/runs/{run.run_id}/report.html" if run.report is not None else "",
        }


def _summary(stats: RunStats, run: Run):
    from ..analysis import summarize
    from ..outputs import run_region

    architecture = run.info.get("architecture", "x86_64")
    memory = run.info.get("memory_by_variant") or {}
    return summarize(stats, architecture=architecture, memory_by_variant=memory, region=run_region(run.info))


def _figures(stats: RunStats, run: Run, decide_now: bool, previous: Any) -> tuple[list[dict[str, Any]], Any]:
    """Summarise (and, when due, decide) in the worker thread; nothing here touches Locust."""
    architecture = run.info.get("architecture", "x86_64")
    summary = _summary(stats, run)
    recommendation = previous
    if decide_now and summary.variants:
        from ..decide import DecisionSettings, TrafficSettings, decide

        target = run.target
        recommendation = decide(
            summary, stats, target.traffic or TrafficSettings(), target.decision or DecisionSettings(), architecture
        )
    return variant_rows(summary, recommendation, run.traffic_path()), recommendation
