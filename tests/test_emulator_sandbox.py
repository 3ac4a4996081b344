"""Where the emulator runs as root, each environment is sandboxed: its own uid, read-only code, private /tmp.

Each test deploys tests/functions/sandboxed (SeBS's cold-start marker, and a hostile attack on its
neighbours) on the real emulator process and asks it through boto3. The sandbox needs root and
mount namespaces: those tests skip, naming the need, where the host has neither. The last test
turns the sandbox off and shows the same attack then succeeds, so that the others can fail.
"""

from __future__ import annotations

import base64
import glob
import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from conftest import invoke

# bench/emulator/sandbox.py's range: 65,536 uids from 0x6C620000.
UID_RANGE = range(0x6C620000, 0x6C620000 + 65536)
CLAIMS = Path("/run/lambench/uids")
HOST_MARKER = Path("/tmp/cold_run")
# An attempt that must fail, and how it may: no permission, a read-only mount, or out of sight.
REFUSED = {"EACCES", "EPERM", "EROFS", "ENOENT"}


def _under_tmp() -> Path | None:
    """The first of the emulator's interpreter, virtualenv and code that lies under /tmp, which each
    environment's own /tmp covers: the emulator then runs unsandboxed, and says so (sandbox.py)."""
    import bench

    for path in (Path(sys.prefix), Path(os.path.realpath(sys.executable)), Path(bench.__file__).resolve()):
        if Path("/tmp") in path.parents:
            return path
    return None


def _host_can_sandbox() -> bool:
    if not hasattr(os, "geteuid") or os.geteuid() != 0 or _under_tmp() is not None:
        return False
    # A container may be root without the right to make a mount namespace (seccomp, no CAP_SYS_ADMIN).
    probe = "import ctypes, sys; sys.exit(ctypes.CDLL(None).unshare(0x20000) != 0)"
    return subprocess.run([sys.executable, "-c", probe], check=False).returncode == 0


needs_root = pytest.mark.skipif(
    not _host_can_sandbox(),
    reason="needs root with mount namespaces (unshare(CLONE_NEWNS)), and lambench's interpreter, virtualenv "
    "and code outside /tmp: the sandbox is off without them",
)


def _call(client, name: str, payload: dict) -> tuple[dict, bool]:
    """The function's answer, and whether the invoke's REPORT line has an Init Duration."""
    response, body = invoke(client, name, payload, LogType="Tail")
    assert "FunctionError" not in response, body
    tail = base64.b64decode(response["LogResult"]).decode()
    report = [line for line in tail.splitlines() if line.startswith("REPORT ")]
    assert len(report) == 1, tail
    return json.loads(body), "Init Duration" in report[0]


def _burst(client, name: str, n: int, sleep_s: float = 0.6) -> list[tuple[dict, bool]]:
    """``n`` invokes at once, each sleeping so that they overlap: the pool needs n environments."""
    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(lambda _: _call(client, name, {"sleep": sleep_s}), range(n)))


def _code_dirs(client, name: str) -> list[Path]:
    """Where emulators on this host unpacked the function's code (the tests run as root)."""
    digest = base64.b64decode(client.get_function(FunctionName=name)["Configuration"]["CodeSha256"])
    found = [Path(p) for p in glob.glob(f"/tmp/lambench-emulator-*/code/{digest.hex()[:16]}")]
    assert found, name
    return found


@needs_root
def test_each_environment_runs_as_a_uid_of_its_own_with_an_empty_private_tmp(own_emulator):
    running, client, deploy = own_emulator()
    spec, _ = deploy("sandboxed")
    answers = [answer for answer, _ in _burst(client, spec.name, 3)]
    uids = {answer["uid"] for answer in answers}
    assert len(uids) == 3 and uids <= set(UID_RANGE)
    assert running.info()["sandbox"] == {"enabled": True, "reason": None}
    for answer in answers:
        assert answer["gid"] == answer["uid"] and answer["groups"] == []
        assert answer["tmp_before"] == [] and answer["is_cold"]
        assert answer["task_root"] == "/run/lambench/env/task"
    claims = {int(p.name) for p in CLAIMS.iterdir() if p.name.isdigit() and p.read_text() == str(running.process.pid)}
    assert claims == uids
    running.stop()
    # Each environment gave its uid back when it ended (its cgroup was empty).
    assert not [p for p in CLAIMS.iterdir() if p.name.isdigit() and p.read_text() == str(running.process.pid)]


@needs_root
def test_seBS_cold_run_marker_agrees_with_init_duration_on_every_invocation(lambda_client, deploy):
    spec, _ = deploy("sandboxed")
    host_marker_before = HOST_MARKER.exists()
    calls = _burst(lambda_client, spec.name, 3)  # three environments, each cold
    calls += [_call(lambda_client, spec.name, {}) for _ in range(5)]  # reused, warm
    _, body = invoke(lambda_client, spec.name, {"exit": True})  # this environment is discarded
    assert json.loads(body)["errorType"] == "Runtime.ExitError"
    calls += _burst(lambda_client, spec.name, 4)  # the two left warm, and new cold ones
    calls += [_call(lambda_client, spec.name, {}) for _ in range(3)]
    for answer, init_reported in calls:
        assert answer["is_cold"] == init_reported, (answer, init_reported)
    cold = [answer["container_id"] for answer, init_reported in calls if init_reported]
    assert len(cold) >= 4 and len(set(cold)) == len(cold)  # a marker of its own per environment
    # Warm invokes found their own environment's marker.
    by_pid = {answer["pid"]: answer["container_id"] for answer, _ in calls if answer["is_cold"]}
    assert all(by_pid[answer["pid"]] == answer["container_id"] for answer, _ in calls)
    assert HOST_MARKER.exists() == host_marker_before  # the host's /tmp never saw it


@needs_root
def test_a_hostile_function_cannot_read_another_environment_nor_write_any_code(lambda_client, deploy):
    victim, _ = deploy("sandboxed", name="sandbox-victim")
    attacker, _ = deploy("sandboxed", name="sandbox-attacker")
    target = _call(lambda_client, victim.name, {})[0]
    own = _call(lambda_client, attacker.name, {})[0]
    victim_code, attacker_code = _code_dirs(lambda_client, victim.name)[0], _code_dirs(lambda_client, attacker.name)[0]
    paths = [own["task_root"], str(victim_code), str(attacker_code), str(victim_code.parent)]
    pids = [own["pid"], target["pid"], own["ppid"]]  # itself, the victim, the emulator
    answer = _call(lambda_client, attacker.name, {"attack": {"pids": pids, "paths": paths}})[0]
    # The way in works on itself, so the refusals below are the sandbox's.
    assert answer[f"environ:{own['pid']}"]["outcome"] == "ok"
    assert "AWS_LAMBDA_RUNTIME_API" in answer[f"environ:{own['pid']}"]["read"]
    assert answer[f"list:{own['task_root']}"]["outcome"] == "ok"
    for pid in pids[1:]:
        for what in ("environ", "cwd", "root"):
            assert answer[f"{what}:{pid}"]["outcome"] == "EACCES", (what, pid, answer[f"{what}:{pid}"])
    for path in paths:
        assert answer[f"write:{path}"]["outcome"] in REFUSED, (path, answer[f"write:{path}"])
    for path in paths[1:]:
        assert answer[f"list:{path}"]["outcome"] in REFUSED, (path, answer[f"list:{path}"])
    assert target["runtime_api"].split("/", 1)[1] not in json.dumps(answer)
    for folder in (*_code_dirs(lambda_client, victim.name), *_code_dirs(lambda_client, attacker.name)):
        assert not list(folder.glob("pwned-*"))
    # The victim still answers, with its own token.
    assert _call(lambda_client, victim.name, {"whoami": True})[0]["runtime_api"] == target["runtime_api"]


@needs_root
def test_two_environments_of_one_function_cannot_read_each_other(lambda_client, deploy):
    spec, _ = deploy("sandboxed")
    first, second = (answer for answer, _ in _burst(lambda_client, spec.name, 2))
    assert first["uid"] != second["uid"]
    answer = _call(lambda_client, spec.name, {"attack": {"pids": [first["pid"], second["pid"]], "paths": []}})[0]
    outcomes = sorted(answer[f"environ:{pid}"]["outcome"] for pid in (first["pid"], second["pid"]))
    assert outcomes == ["EACCES", "ok"]  # its own, and its sibling's


def test_without_the_sandbox_the_same_attack_reads_the_token(own_emulator, monkeypatch):
    monkeypatch.setenv("LAMBENCH_SANDBOX", "off")
    running, client, deploy = own_emulator()
    victim, _ = deploy("sandboxed", name="unsandboxed-victim")
    attacker, _ = deploy("sandboxed", name="unsandboxed-attacker")
    target = _call(client, victim.name, {"whoami": True})[0]
    answer = _call(client, attacker.name, {"attack": {"pids": [target["pid"]], "paths": []}})[0]
    assert answer[f"environ:{target['pid']}"]["outcome"] == "ok"
    assert target["runtime_api"] in answer[f"environ:{target['pid']}"]["read"]
    assert running.info()["sandbox"] == {"enabled": False, "reason": "turned off (LAMBENCH_SANDBOX=off)"}
