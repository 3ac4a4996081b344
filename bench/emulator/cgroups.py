"""CPU quota and memory limit per execution environment, through the host's cgroups.

CPU: an environment gets memory/1769 of a CPU. Under cgroup v1 (``cpu`` controller) that is
cfs_quota_us = cfs_period_us x share; under cgroup v2 it is ``cpu.max``. The period is 20 ms:
the quota must be at least 1 ms, which at 128 MB needs a period of at least 13.8 ms, and longer
periods let short jobs escape the throttle (EMULATOR-NOTES.md).

Memory: ``memory.limit_in_bytes`` (v1) or ``memory.max`` (v2) at the function's memory size;
the kernel then SIGKILLs an environment that exceeds it, and ``oom_kill`` in
``memory.oom_control`` (v1) or ``memory.events`` (v2) tells it was the limit.

Groups are named after the emulator's pid so that stale ones from a crashed emulator are
swept at start-up.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PERIOD_US = 20_000
MIN_QUOTA_US = 1_000
ROOT = Path("/sys/fs/cgroup")
PREFIX = "lambench-"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _remove_tree(group: Path) -> None:
    for child in (p for p in group.iterdir() if p.is_dir()):
        _remove_tree(child)
    try:
        group.rmdir()
    except OSError:
        pass


def _v2_controllers() -> set[str]:
    controllers = ROOT / "cgroup.subtree_control"
    return set(controllers.read_text().split()) if controllers.exists() else set()


def _writable_parent(name: str, probe: str) -> tuple[str, Path] | None:
    """Where a controller's groups can be made: (flavour, parent folder), or None."""
    v1 = ROOT / name
    if (v1 / probe).exists() and os.access(v1, os.W_OK):
        return "v1", v1
    if name in _v2_controllers() and os.access(ROOT, os.W_OK):
        return "v2", ROOT
    return None


class Controller:
    """One cgroup controller's tree of per-environment groups for this emulator process."""

    def __init__(self, flavour: str, parent: Path) -> None:
        self.flavour = flavour
        self.base = parent / f"{PREFIX}{os.getpid()}"
        for group in parent.glob(f"{PREFIX}*"):
            pid = group.name[len(PREFIX):]
            if pid.isdigit() and not _alive(int(pid)):
                _remove_tree(group)
        self.base.mkdir(exist_ok=True)

    def group(self, env_id: str) -> Path:
        group = self.base / env_id
        group.mkdir(exist_ok=True)
        return group

    def release(self, env_id: str) -> None:
        group = self.base / env_id
        if group.exists():
            _remove_tree(group)

    def close(self) -> None:
        if self.base.exists():
            _remove_tree(self.base)


@dataclass
class EnvironmentGroups:
    """The groups of one environment, joined at spawn; the CPU quota is switched on after init.

    Moving a running process between cgroups costs a kernel RCU grace period (15-18 ms per cold
    start, measured here), so the process starts inside both groups, with no CPU quota yet, and
    only the quota file is written once INIT is over.
    """

    cpu: Path | None
    memory: Path | None
    flavour: str
    quota_us: int = -1

    def join(self) -> None:
        """Runs in the child before exec (preexec_fn): the memory limit holds from the first byte."""
        for group in (self.memory, self.cpu):
            if group is not None:
                (group / "cgroup.procs").write_text(str(os.getpid()))

    def throttle_cpu(self) -> None:
        if self.cpu is None:
            return
        if self.flavour == "v1":
            (self.cpu / "cpu.cfs_quota_us").write_text(str(self.quota_us))
        else:
            (self.cpu / "cpu.max").write_text(f"{self.quota_us} {PERIOD_US}")

    def oom_killed(self) -> bool:
        if self.memory is None:
            return False
        name = "memory.oom_control" if self.flavour == "v1" else "memory.events"
        try:
            for line in (self.memory / name).read_text().splitlines():
                key, _, value = line.partition(" ")
                if key == "oom_kill":
                    return int(value) > 0
        except OSError:
            pass
        return False


class Cgroups:
    """The CPU and memory controllers this host lets us use (either may be missing)."""

    def __init__(self, cpu: Controller | None, memory: Controller | None) -> None:
        self.cpu = cpu
        self.memory = memory

    @classmethod
    def create(cls, want_cpu: bool = True, want_memory: bool = True) -> Cgroups:
        return cls(_controller("cpu", "cpu.cfs_quota_us") if want_cpu else None,
                   _controller("memory", "memory.limit_in_bytes") if want_memory else None)

    def prepare(self, env_id: str, vcpus: float, memory_mb: int) -> EnvironmentGroups:
        cpu = memory = None
        quota = max(MIN_QUOTA_US, round(PERIOD_US * vcpus))
        if self.cpu is not None:
            cpu = self.cpu.group(env_id)
            # Unthrottled until throttle_cpu(): INIT runs at full speed (see environment.py).
            if self.cpu.flavour == "v1":
                (cpu / "cpu.cfs_period_us").write_text(str(PERIOD_US))
                (cpu / "cpu.cfs_quota_us").write_text("-1")
            else:
                (cpu / "cpu.max").write_text(f"max {PERIOD_US}")
        if self.memory is not None:
            memory = self.memory.group(env_id)
            _limit_memory(memory, self.memory.flavour, memory_mb * 1024 * 1024)
        flavour = (self.cpu or self.memory).flavour if (self.cpu or self.memory) else "none"
        return EnvironmentGroups(cpu, memory, flavour, quota)

    def release(self, env_id: str) -> None:
        for controller in (self.cpu, self.memory):
            if controller is not None:
                controller.release(env_id)

    def close(self) -> None:
        for controller in (self.cpu, self.memory):
            if controller is not None:
                controller.close()


def _controller(name: str, probe: str) -> Controller | None:
    found = _writable_parent(name, probe)
    if found is None:
        return None
    try:
        return Controller(*found)
    except OSError:
        return None


def _limit_memory(group: Path, flavour: str, limit: int) -> None:
    if flavour == "v2":
        (group / "memory.max").write_text(str(limit))
        swap = group / "memory.swap.max"
        if swap.exists():
            swap.write_text("0")
        return
    (group / "memory.limit_in_bytes").write_text(str(limit))
    # Lambda has no swap: without these, a host with swap would page instead of killing.
    for name, value in (("memory.memsw.limit_in_bytes", limit), ("memory.swappiness", 0)):
        try:
            (group / name).write_text(str(value))
        except OSError:
            pass
