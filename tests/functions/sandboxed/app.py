"""Hostile, SeBS-style test function: its cold-start marker, who it runs as, and attacks on neighbours.

Event {} (or {"sleep": s}, to overlap with other invokes): SeBS's cold-start check, as its AWS
Python wrapper does it: /tmp/cold_run missing means a cold start; it is then created, holding a
container id. Answers is_cold, the id, its pid, uid, gid and groups, what /tmp held before the
check, and its own Runtime API address (the token the attack below must not find elsewhere).

Event {"attack": {"pids": [...], "paths": [...]}}: tries to read each pid's /proc environ, cwd and
root, and to list and write into each path (its own code folder too); answers "ok" or the errno
name for each attempt, and whatever it managed to read.

Event {"whoami": true}: the same answer without the marker (nor is_cold, tmp_before).

Event {"exit": true}: ends the process, so that the environment is discarded.
"""

import errno
import os
import time
import uuid

MARKER = "/tmp/cold_run"


def _try(action):
    try:
        result = action()
    except OSError as err:
        return {"outcome": errno.errorcode.get(err.errno, str(err.errno))}
    return {"outcome": "ok", "read": result}


def _write(folder):
    with open(os.path.join(folder, f"pwned-{uuid.uuid4().hex[:8]}"), "w") as out:
        out.write("pwned")


def _read(path):
    with open(path, "rb") as source:
        return source.read().decode("utf-8", "replace")


def attack(pids, paths):
    answer = {}
    for pid in pids:
        answer[f"environ:{pid}"] = _try(lambda pid=pid: _read(f"/proc/{pid}/environ"))
        answer[f"cwd:{pid}"] = _try(lambda pid=pid: os.listdir(f"/proc/{pid}/cwd"))
        answer[f"root:{pid}"] = _try(lambda pid=pid: os.listdir(f"/proc/{pid}/root/tmp"))
    for path in paths:
        answer[f"list:{path}"] = _try(lambda path=path: os.listdir(path))
        answer[f"write:{path}"] = _try(lambda path=path: _write(path))
    return answer


def whoami():
    return {
        "pid": os.getpid(),
        "ppid": os.getppid(),
        "uid": os.getuid(),
        "gid": os.getgid(),
        "groups": os.getgroups(),
        "runtime_api": os.environ["AWS_LAMBDA_RUNTIME_API"],
        "task_root": os.environ["LAMBDA_TASK_ROOT"],
    }


def cold_check():
    tmp_before = sorted(os.listdir("/tmp"))
    is_cold = False
    if not os.path.exists(MARKER):
        is_cold = True
        container_id = str(uuid.uuid4())[0:8]
        with open(MARKER, "a") as marker:
            marker.write(container_id)
    else:
        with open(MARKER) as marker:
            container_id = marker.read()
    return {"is_cold": is_cold, "container_id": container_id, "tmp_before": tmp_before, **whoami()}


def handler(event, context):
    if event.get("exit"):
        os._exit(3)
    if "attack" in event:
        return attack(event["attack"]["pids"], event["attack"]["paths"])
    if event.get("whoami"):
        return whoami()  # leaves /tmp alone: for an emulator without a private /tmp
    time.sleep(event.get("sleep", 0))
    return cold_check()
