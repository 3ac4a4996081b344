"""Processes and cgroups as the kernel shows them (/proc, /sys/fs/cgroup), for the tests that
check what an emulator leaves behind; and polling with a deadline, never a timing assertion."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

DEADLINE_S = 30.0


def process_table() -> dict[int, tuple[int, str]]:
    """pid -> (parent pid, state letter) for every process."""
    table = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            table[int(entry.name)] = (int(fields[1]), fields[0])
    return table


def children(pid: int) -> set[int]:
    return {child for child, (parent, _) in process_table().items() if parent == pid}


def descendants(root: int) -> set[int]:
    table = process_table()
    found, frontier = set(), {root}
    while frontier:
        frontier = {pid for pid, (ppid, _) in table.items() if ppid in frontier} - found
        found |= frontier
    return found


def alive(pid: int) -> bool:
    """Running, not a zombie waiting for its parent to reap it."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def cgroups_of(emulator_pid: int) -> list[Path]:
    """The emulator's groups, lambench-<pid>, wherever they are under /sys/fs/cgroup (v1 or v2)."""
    found = []
    for folder, subfolders, _ in os.walk("/sys/fs/cgroup"):
        found += [Path(folder) / name for name in subfolders if name == f"lambench-{emulator_pid}"]
        subfolders[:] = [name for name in subfolders if not name.startswith("lambench-")]
    return found


def eventually(check: Callable[[], bool], deadline_s: float = DEADLINE_S) -> bool:
    """Poll ``check`` until it holds (True) or the deadline passes (False)."""
    deadline = time.monotonic() + deadline_s
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True
