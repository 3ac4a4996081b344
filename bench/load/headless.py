"""Runs Locust in-process for a fixed time, headless, with a live progress line.

This is Locust's documented library use (Environment, local runner, start, quit); the
collector is attached to the same Environment's events, so nothing measured is lost when the
run ends early (Ctrl-C): whatever was recorded is flushed on the way out. The run's figures are
made afterwards, from the store (bench/outputs.py), once the API Gateway join is done. On a
terminal the progress is a live bar; in a log (CI), a plain line every 10 s (progress.py).

On Ctrl-C the users stop as at the end of the run: each finishes the invoke it is in (the target
runs it and bills it either way), while the emulator, in a session of its own, never saw the
signal (bench/targets/local.py). A second Ctrl-C stops the users at once; the store is flushed
and closed whatever happens.

With ``settings.rps`` the load is open loop (bench/load/openloop.py): ``users`` becomes the floor
of the users the rate needs, and the result carries the open-loop facts (late and missed arrivals).
"""

from __future__ import annotations

import signal
import time
from dataclasses import dataclass
from typing import Any

import gevent
from locust.env import Environment
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from .apigw_user import ApiGatewayUser
from .openloop import OPEN_LOOP_ATTR, OpenLoop, describe, plan_users
from .plugin import collector_for
from .progress import PLAIN_EVERY_S, progress_line
from .settings import LoadSettings
from .users import LambdaUser


class DirectInvokeUser(LambdaUser):
    """Direct invokes, back to back."""


class HttpApiUser(ApiGatewayUser):
    """Calls through the HTTP API (payload 2.0)."""

    kind = "http"


class RestApiUser(ApiGatewayUser):
    """Calls through the REST API (payload 1.0)."""

    kind = "rest"


# lambench run's users, one class per path; Locust splits the users evenly between them.
USERS_BY_PATH = {"direct": DirectInvokeUser, "apigw-http": HttpApiUser, "apigw-rest": RestApiUser}


@dataclass
class LoadResult:
    records: int
    requests: int
    failures: int
    seconds: float
    interrupted: bool
    # Open loop only: rps, seed, users and the rule that chose them, arrivals, late, missed, ...
    open_loop: dict[str, Any] | None = None


def run_load(
    settings: LoadSettings,
    users: int,
    spawn_rate: float,
    run_time_s: float,
    stop_timeout_s: float,
    console=None,
    paths: tuple[str, ...] = ("direct",),
) -> LoadResult:
    """Run the users for ``run_time_s``, then let each finish its invoke (up to ``stop_timeout_s``).

    In open loop, ``stop_timeout_s`` is also the bound on an invoke's latency that sizes the users
    (lambench run passes the function's timeout plus 5 s)."""
    # stop_timeout lets each user finish the invoke it is in: an invoke the target ran is billed,
    # so it must be recorded, not cut off when the clock runs out.
    env = Environment(user_classes=[USERS_BY_PATH[p] for p in paths], stop_timeout=stop_timeout_s)
    env.lambench = settings  # type: ignore[attr-defined]  # our settings ride on Locust's Environment
    open_loop = None
    if settings.rps is not None:
        # Attached before the runner starts: the stream begins with the test.
        open_loop = OpenLoop(env).attach()
        open_loop.plan = plan_users(settings.rps, stop_timeout_s, floor=users)
        users, spawn_rate = open_loop.plan.users, open_loop.plan.spawn_rate(spawn_rate)
        if console is not None:
            console.print(f"[bold]open loop[/] {settings.rps:g}/s, Poisson: {open_loop.plan.rule}")
    collector = collector_for(settings, env.events)
    started = time.monotonic()
    interrupted = False
    stops = _interrupts_reach_this_greenlet()
    try:  # from the moment the store exists: a Ctrl-C at any point still closes it
        runner = env.create_local_runner()
        try:
            runner.start(users, spawn_rate=spawn_rate)
            if console is not None and not console.is_terminal:
                _wait_with_log_lines(collector, run_time_s, started, console)
            else:
                _wait_with_progress(env, run_time_s, started, console)
        except KeyboardInterrupt:
            interrupted = True
        finally:
            _stop_users(runner, console)
    finally:
        for handler in stops:
            handler.cancel()
        collector.close()
    total = env.stats.total
    facts = open_loop.facts() if open_loop is not None else None
    if facts is not None and console is not None:
        console.print(f"[bold]open loop[/] {describe(facts)}")
    return LoadResult(
        collector.store.count, total.num_requests, total.num_failures, time.monotonic() - started, interrupted, facts
    )


def _interrupts_reach_this_greenlet() -> list:
    """Deliver SIGINT and SIGTERM to the calling greenlet as KeyboardInterrupt.

    Python raises a signal's KeyboardInterrupt in whatever code runs when it arrives: under
    load, often a user's or the collector's greenlet, which then dies alone while the run goes on
    (a Ctrl-C that hung a run until its end). gevent's handler runs in the hub and throws into
    the greenlet that waits for the load instead.
    """
    waiting = gevent.getcurrent()
    return [
        gevent.signal_handler(signum, gevent.kill, waiting, KeyboardInterrupt)
        for signum in (signal.SIGINT, signal.SIGTERM)
    ]


def _stop_users(runner, console) -> None:
    """Let each user finish its invoke (up to the stop timeout); a second Ctrl-C does not wait."""
    try:
        runner.quit()
    except KeyboardInterrupt:
        if console is not None:
            console.print("[yellow]interrupted again: stopping the users without waiting for their invokes[/]")
        runner.environment.stop_timeout = 0  # Locust then kills the users' greenlets
        runner.quit()


def _wait_with_log_lines(collector, run_time_s: float, started: float, console) -> None:
    """Without a terminal (a CI log): one plain line every PLAIN_EVERY_S seconds and at the end."""
    next_line = PLAIN_EVERY_S
    while (elapsed := time.monotonic() - started) < run_time_s:
        if elapsed >= next_line:
            console.print(progress_line(collector.stats, elapsed, run_time_s), markup=False, highlight=False,
                          soft_wrap=True)  # fmt: skip
            next_line += PLAIN_EVERY_S
        gevent.sleep(min(0.5, max(run_time_s - elapsed, 0.01)))
    console.print(progress_line(collector.stats, run_time_s, run_time_s), markup=False, highlight=False, soft_wrap=True)


def _wait_with_progress(env, run_time_s: float, started: float, console) -> None:
    columns = (TextColumn("[bold]load"), BarColumn(), TimeElapsedColumn(), TextColumn("{task.fields[status]}"))
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task("load", total=run_time_s, status="")
        while (elapsed := time.monotonic() - started) < run_time_s:
            total = env.stats.total
            status = (
                f"{total.num_requests} invokes, {total.num_failures} failed, "
                f"{total.current_rps:.0f}/s, users {env.runner.user_count}"
            )
            schedule = getattr(getattr(env, OPEN_LOOP_ATTR, None), "schedule", None)
            if schedule is not None:
                status += f", late {schedule.late}"
            progress.update(task, completed=elapsed, status=status)
            gevent.sleep(0.5)
        progress.update(task, completed=run_time_s)
