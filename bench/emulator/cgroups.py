"""CPU quota per execution environment, through the host's cgroups, as Lambda enforces CPU share.

An environment gets memory/1769 of a CPU. Under cgroup v1 (``cpu`` controller) that is
cfs_quota_us = cfs_period_us x share; under cgroup v2 it is ``cpu.max``. The period is 20 ms:
the quota must be at least 1 ms, which at 128 MB needs a period of at least 13.8 ms, and longer
periods let short jobs escape the throttle (EMULATOR-NOTES.md). Groups are named after the
emulator's pid so that stale ones from a crashed emulator are swept at start-up.
"""

from __future__ import annotations

import os
from pathlib import Path

PERIOD_US = 20_000
MIN_QUOTA_US = 1_000
V1_CPU = Path("/sys/fs/cgroup/cpu")
V2_ROOT = Path("/sys/fs/cgroup")
PREFIX = "lambench-"


def _v2_has_cpu() -> bool:
    controllers = V2_ROOT / "cgroup.subtree_control"
    return controllers.exists() and "cpu" in controllers.read_text().split()


def detect_root() -> tuple[str, Path] | None:
    """The cgroup flavour and the parent folder to make groups in, or None when we may not."""
    if (V1_CPU / "cpu.cfs_quota_us").exists() and os.access(V1_CPU, os.W_OK):
        return "v1", V1_CPU
    if _v2_has_cpu() and os.access(V2_ROOT, os.W_OK):
        return "v2", V2_ROOT
    return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _remove_tree(group: Path) -> None:
    for child in sorted((p for p in group.iterdir() if p.is_dir()), reverse=True):
        _remove_tree(child)
    try:
        group.rmdir()
    except OSError:
        pass


class CpuGroups:
    """Makes, fills and removes the per-environment CPU groups of one emulator process."""

    def __init__(self, flavour: str, parent: Path) -> None:
        self.flavour = flavour
        self.base = parent / f"{PREFIX}{os.getpid()}"
        self._sweep_stale(parent)
        self.base.mkdir(exist_ok=True)

    @classmethod
    def create(cls) -> CpuGroups | None:
        found = detect_root()
        if found is None:
            return None
        try:
            return cls(*found)
        except OSError:
            return None

    @staticmethod
    def _sweep_stale(parent: Path) -> None:
        for group in parent.glob(f"{PREFIX}*"):
            pid = group.name[len(PREFIX):]
            if pid.isdigit() and not _alive(int(pid)):
                _remove_tree(group)

    def limit(self, env_id: str, vcpus: float) -> Path:
        group = self.base / env_id
        group.mkdir(exist_ok=True)
        quota = max(MIN_QUOTA_US, round(PERIOD_US * vcpus))
        if self.flavour == "v1":
            (group / "cpu.cfs_period_us").write_text(str(PERIOD_US))
            (group / "cpu.cfs_quota_us").write_text(str(quota))
        else:
            (group / "cpu.max").write_text(f"{quota} {PERIOD_US}")
        return group

    @staticmethod
    def attach(group: Path, pid: int) -> None:
        (group / "cgroup.procs").write_text(str(pid))

    def release(self, env_id: str) -> None:
        group = self.base / env_id
        if group.exists():
            _remove_tree(group)

    def close(self) -> None:
        if self.base.exists():
            _remove_tree(self.base)
