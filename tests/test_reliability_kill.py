"""A killed run leaves nothing behind: the attacks of issue 13, item 1, against the real processes.

- kill -9 of ``lambench run`` in mid-load: the emulator, its environments and what they started
  go, with their cgroups, and records.sqlite still opens with the records flushed so far;
- Ctrl-C to the run's whole process group (what a terminal sends): the load stops first, so no
  invoke in flight is cut off by a dying emulator, and the run still reports (exit 130);
- kill -9 of the emulator itself: its environments die with it, and the next emulator's start
  kills what they left in the dead emulator's cgroups and removes those;
- a function that starts a child in a session of its own (tests/functions/escaper): the child
  goes when its environment ends (reclaimed idle, or its runtime exits) and when the emulator stops.

Every wait is a poll with a generous deadline; nothing asserts how long anything took.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from contextlib import closing
from pathlib import Path

import pytest
from proc_helpers import alive, cgroups_of, cmdline, descendants, eventually
from test_emulator_resources import host_has_cgroup

from bench import awsclient
from bench.targets import FunctionSpec, VariantDeployer
from bench.targets.local import start_emulator

REPO = Path(__file__).resolve().parent.parent
FUNCTIONS = Path(__file__).parent / "functions"
DEADLINE_S = 60.0

needs_cgroups = pytest.mark.skipif(
    not (host_has_cgroup("memory") or host_has_cgroup("cpu")),
    reason="needs root (or a delegated cgroup) with a cgroup v1 or v2 cpu or memory controller: without an "
    "environment cgroup, a child in a session of its own escapes its environment's process group",
)

RUN_CONFIG = """
[function]
name = "{name}"
source = "{source}"
handler = "app.handler"
[variants]
memory_mb = [128]
[load]
users = {users}
spawn_rate = {users}
run_time_s = 600
payload = {payload}
[report]
dir = "{reports}"
"""


# ---- processes and cgroups, read from /proc and /sys/fs/cgroup ----------------------------------


def _run_dirs(reports: Path) -> list[Path]:
    """The run folders (not a reports/latest link to one of them)."""
    return [d for d in reports.glob("*") if d.is_dir() and not d.is_symlink()] if reports.is_dir() else []


def _rows(reports: Path, where: str = "1") -> int:
    for path in (d / "records.sqlite" for d in _run_dirs(reports)):
        if not path.is_file():  # connect() would make an empty one
            continue
        try:
            with closing(sqlite3.connect(path)) as conn:
                return conn.execute(f"SELECT count(*) FROM invocations WHERE {where}").fetchone()[0]
        except sqlite3.Error:
            return 0
    return 0


def _start_run(tmp_path: Path, name: str, folder: str, payload: str, users: int) -> subprocess.Popen:
    """`lambench run` as a user starts it from a terminal: the leader of its own process group."""
    config = tmp_path / "bench.toml"
    config.write_text(
        RUN_CONFIG.format(
            name=name, source=FUNCTIONS / folder, payload=payload, users=users, reports=tmp_path / "reports"
        )
    )
    return subprocess.Popen(
        [sys.executable, "-m", "bench", "run", "-c", str(config)],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )


def _wait_for_records(run: subprocess.Popen, reports: Path, at_least: int) -> None:
    def going() -> bool:
        assert run.poll() is None, run.communicate()[0][-3000:]
        return _rows(reports) >= at_least

    assert eventually(going, 120), "the run never got going"


# ---- the attacks ---------------------------------------------------------------------------------
def test_a_sigkilled_run_leaves_no_process_and_no_cgroup_and_its_records_open(tmp_path):
    reports = tmp_path / "reports"
    # The hostile function: each environment leaves a child in a session of its own behind.
    run = _start_run(tmp_path, "lambench-killed", "escaper", "{ spawn = true }", users=2)
    try:
        _wait_for_records(run, reports, 20)
        (emulator,) = [pid for pid in descendants(run.pid) if "bench.emulator" in cmdline(pid)]
        tree = descendants(run.pid)
        environments = descendants(emulator)
        assert environments, "the emulator runs its environments as its own descendants"
        uses_cgroups = bool(cgroups_of(emulator))
        run.kill()
        run.wait()
    finally:
        if run.poll() is None:
            run.kill()
        run.communicate()
    assert eventually(lambda: not [pid for pid in tree if alive(pid)], DEADLINE_S), [
        (pid, cmdline(pid)) for pid in tree if alive(pid)
    ]
    if uses_cgroups:
        assert eventually(lambda: not cgroups_of(emulator), DEADLINE_S), cgroups_of(emulator)
    # SQLite recovers whatever the kill interrupted; at most one flush interval is missing.
    (run_dir,) = _run_dirs(reports)
    with closing(sqlite3.connect(run_dir / "records.sqlite")) as conn:
        assert conn.execute("SELECT count(*) FROM invocations").fetchone()[0] >= 1


def test_ctrl_c_to_the_runs_process_group_stops_the_load_before_the_emulator(tmp_path):
    reports = tmp_path / "reports"
    # Invokes of 0.3 s, three users: when the signal comes, invokes are in flight.
    run = _start_run(tmp_path, "lambench-ctrl-c", "sleepy", "{ sleep_s = 0.3 }", users=3)
    try:
        _wait_for_records(run, reports, 10)
        os.killpg(run.pid, signal.SIGINT)  # what a terminal's Ctrl-C does: the whole foreground group
        output, _ = run.communicate(timeout=120)
    finally:
        if run.poll() is None:
            run.kill()
            run.communicate()
    assert run.returncode == 130, output[-3000:]
    (run_dir,) = _run_dirs(reports)
    assert (run_dir / "report.html").is_file(), output[-3000:]
    assert _rows(reports, "error_type = 'Runtime.ExitError'") == 0
    # Nor any other failure: an emulator that died under the load would show as transport errors.
    assert _rows(reports, "status != 'ok'") == 0
    assert json.loads((run_dir / "results.json").read_text())["run"]["interrupted"] is True


def _escaper(emulator) -> tuple[object, str]:
    client = awsclient.client("lambda", emulator.url, "us-east-1", awsclient.control_plane_config())
    spec = FunctionSpec(name="escaper", source=FUNCTIONS / "escaper", handler="app.handler")
    (variant,) = VariantDeployer(client).deploy_variants(spec, (128,))
    return client, variant.name


def _call(client, qualifier: str, payload: dict) -> dict:
    response = client.invoke(FunctionName="escaper", Qualifier=qualifier, Payload=json.dumps(payload))
    return {"error": response.get("FunctionError"), **json.loads(response["Payload"].read())}


@needs_cgroups
def test_a_sigkilled_emulator_takes_its_environments_and_the_next_start_sweeps_what_they_left(tmp_path):
    first = start_emulator(tmp_path / "first.log")
    try:
        client, qualifier = _escaper(first)
        served = _call(client, qualifier, {"spawn": True})
        first.process.kill()
        first.process.wait()
        assert eventually(lambda: not alive(served["pid"]), DEADLINE_S), "the environment outlived its emulator"
        # Its child left the environment's session: only the dead emulator's cgroup still knows it.
        assert alive(served["child"]) and cgroups_of(first.process.pid), "nothing left to sweep"
    finally:
        first.stop()
    with start_emulator(tmp_path / "second.log"):
        assert eventually(lambda: not alive(served["child"]), DEADLINE_S)
        assert eventually(lambda: not cgroups_of(first.process.pid), DEADLINE_S)


@needs_cgroups
def test_a_child_in_its_own_session_goes_when_the_emulator_stops(tmp_path):
    emulator = start_emulator(tmp_path / "emulator.log")
    try:
        client, qualifier = _escaper(emulator)
        child = _call(client, qualifier, {"spawn": True})["child"]
        assert alive(child)
    finally:
        emulator.stop()
    assert eventually(lambda: not alive(child), DEADLINE_S)
    assert cgroups_of(emulator.process.pid) == []


@needs_cgroups
def test_a_child_in_its_own_session_goes_when_its_environment_is_reclaimed(tmp_path):
    with start_emulator(tmp_path / "emulator.log", extra_args=("--idle-timeout", "1")) as emulator:
        client, qualifier = _escaper(emulator)
        served = _call(client, qualifier, {"spawn": True})
        assert eventually(lambda: emulator.info()["environments"] == 0, DEADLINE_S), (
            "the idle environment was never reclaimed"
        )
        assert eventually(lambda: not alive(served["child"]), DEADLINE_S)
        assert not alive(served["pid"])


@needs_cgroups
def test_a_child_in_its_own_session_goes_when_its_runtime_exits(tmp_path):
    with start_emulator(tmp_path / "emulator.log") as emulator:
        client, qualifier = _escaper(emulator)
        child = _call(client, qualifier, {"spawn": True})["child"]
        assert _call(client, qualifier, {"exit": True})["errorType"] == "Runtime.ExitError"
        assert eventually(lambda: not alive(child), DEADLINE_S)
        # The emulator goes on serving: the next invoke gets a new environment.
        assert _call(client, qualifier, {})["error"] is None


def test_an_emulator_started_from_a_thread_that_ends_keeps_serving(tmp_path):
    # The parent-death signal comes when the *thread* that forked the emulator exits: the
    # emulator must check that its parent process is really gone before it stops.
    started = []
    thread = threading.Thread(target=lambda: started.append(start_emulator(tmp_path / "emulator.log")))
    thread.start()
    thread.join()
    (emulator,) = started
    try:
        for _ in range(3):  # the signal is handled on the emulator's next loop turn: ask after it
            assert emulator.info()["emulator"] == "lambench"
        assert emulator.process.poll() is None
    finally:
        emulator.stop()
    assert emulator.process.returncode == 0


def test_a_second_ctrl_c_stops_the_users_at_once_and_the_run_still_reports(tmp_path):
    reports = tmp_path / "reports"
    # Invokes of 5 s: after the first Ctrl-C the users wait for theirs, and the second one comes then.
    run = _start_run(tmp_path, "lambench-ctrl-c-twice", "sleepy", "{ sleep_s = 5 }", users=2)
    try:
        _wait_for_records(run, reports, 2)
        os.killpg(run.pid, signal.SIGINT)
        time.sleep(0.5)
        os.killpg(run.pid, signal.SIGINT)
        output, _ = run.communicate(timeout=120)
    finally:
        if run.poll() is None:
            run.kill()
            run.communicate()
    assert run.returncode == 130, output[-3000:]
    assert "interrupted again" in output, output[-3000:]
    (run_dir,) = _run_dirs(reports)
    assert (run_dir / "report.html").is_file(), output[-3000:]
    assert _rows(reports) >= 2
