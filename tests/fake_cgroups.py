"""Fake cgroup v1 and v2 kernels: a plain directory tree that answers as cgroupfs would.

bench/emulator/cgroups.py changes cgroupfs only through its CgroupFiles (mkdir, rmdir, write).
These subclasses do the real file operation and, around it, what the kernel does that a plain
tmp_path cannot: create a cgroup's control files on mkdir (v1: all of its hierarchy's; v2: only
those of the controllers enabled in the parent's cgroup.subtree_control, and more in every
child when a controller is enabled later), refuse what the kernel refuses (EBUSY, EINVAL,
ENOENT, as Documentation/admin-guide/cgroup-v2.rst and the v1 documents describe), move a pid
out of its old cgroup when it is written into a new one, and let rmdir take the control files
with it.

It models the file protocol only. Nothing is throttled, limited or killed: the kernel's
enforcement is not exercised by anything that uses this.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

from bench.emulator.cgroups import CgroupFiles

V1_NO_LIMIT = "9223372036854771712"
# The kernel lists controllers in this order, whatever order they were enabled in.
V2_ORDER = ("cpuset", "cpu", "io", "memory", "hugetlb", "pids", "rdma", "misc")


def _fail(code: int, path: Path) -> OSError:
    return OSError(code, os.strerror(code), str(path))


class FakeKernel(CgroupFiles):
    """What both versions share: the log of changes, the files the kernel made, pid moves."""

    READ_ONLY: frozenset[str] = frozenset()

    def __init__(self, root: Path) -> None:
        self.root = root
        self.log: list[tuple[str, str, str]] = []  # (operation, path relative to root, value)
        self.made: dict[Path, str] = {}  # every file the kernel made, with what it holds

    # ---- what subclasses define ------------------------------------------------------------------
    def files_for(self, group: Path) -> dict[str, str]:
        raise NotImplementedError

    def check_write(self, path: Path, value: str) -> str:
        """The value as the kernel would store it; raises OSError as the kernel would refuse it."""
        return value

    def hierarchy(self, path: Path) -> Path:
        raise NotImplementedError

    # ---- CgroupFiles ------------------------------------------------------------------------------
    def mkdir(self, path: Path) -> None:
        self.log.append(("mkdir", self.rel(path), ""))
        if path.exists():
            raise _fail(errno.EEXIST, path)
        if not (path.parent / "cgroup.procs").exists():
            raise _fail(errno.ENOENT, path)  # not inside a cgroup hierarchy
        path.mkdir()
        self.populate(path, self.files_for(path))

    def rmdir(self, path: Path) -> None:
        self.log.append(("rmdir", self.rel(path), ""))
        if any(p.is_dir() for p in path.iterdir()) or self.procs(path):
            raise _fail(errno.EBUSY, path)
        for file in [f for f in path.iterdir() if f in self.made]:
            file.unlink()
            del self.made[file]
        path.rmdir()  # anything left is a file the kernel never made: the rmdir fails, as it should

    def write(self, path: Path, value: str) -> None:
        self.log.append(("write", self.rel(path), value))
        if path.name in self.READ_ONLY:
            raise _fail(errno.EACCES, path)
        if not path.exists():
            raise _fail(errno.ENOENT, path)
        if path.name == "cgroup.procs":
            self.move(_integer(value, path), path.parent)
            return
        stored = self.check_write(path, value)
        super().write(path, stored)
        self.made[path] = stored

    # ---- the fake's own state ----------------------------------------------------------------------
    def rel(self, path: Path) -> str:
        return str(path.relative_to(self.root))

    def populate(self, group: Path, files: dict[str, str]) -> None:
        for name, content in files.items():
            self.store(group / name, content)

    def store(self, path: Path, content: str) -> None:
        """The kernel changes one of its files."""
        path.write_text(content)
        self.made[path] = content

    def procs(self, group: Path) -> list[int]:
        return [int(p) for p in (group / "cgroup.procs").read_text().split()]

    def check_move(self, pid: int, group: Path) -> None:
        pass

    def move(self, pid: int, group: Path) -> None:
        """A pid is in exactly one cgroup of each hierarchy: writing it elsewhere takes it out."""
        if pid <= 0:
            raise _fail(errno.EINVAL, group / "cgroup.procs")
        self.check_move(pid, group)
        for procs in self.hierarchy(group).rglob("cgroup.procs"):
            pids = [p for p in self.procs(procs.parent) if p != pid]
            if procs.parent == group:
                pids.append(pid)
            self.store(procs, "".join(f"{p}\n" for p in pids))

    def add(self, pid: int, group: Path) -> None:
        """Test set-up: put a process in a cgroup, as if it had been started there."""
        self.move(pid, group)

    def unexplained_files(self) -> list[str]:
        """Files the kernel never made or never wrote so: changes that bypassed CgroupFiles.

        cgroup.procs is checked by its invariant instead (a pid is in one cgroup of each
        hierarchy): a child process joins its groups through this fake in its own memory.
        """
        odd = [
            p
            for p in self.root.rglob("*")
            if p.is_file() and p.name != "cgroup.procs" and (p not in self.made or p.read_text() != self.made[p])
        ]
        for hierarchy in {self.hierarchy(p) for p in self.root.rglob("cgroup.procs")}:
            seen: dict[int, Path] = {}
            for procs in hierarchy.rglob("cgroup.procs"):
                if procs not in self.made:
                    odd.append(procs)
                for pid in self.procs(procs.parent):
                    if pid in seen:
                        odd.append(procs)
                    seen[pid] = procs
        return sorted(self.rel(p) for p in odd)


class FakeV1Kernel(FakeKernel):
    """cgroup v1: one hierarchy per controller, at root/cpu and root/memory."""

    READ_ONLY = frozenset({"memory.max_usage_in_bytes", "memory.usage_in_bytes", "cpu.stat"})

    def __init__(self, root: Path, swap_accounting: bool = True) -> None:
        super().__init__(root)
        self.swap_accounting = swap_accounting
        for name in ("cpu", "memory"):
            (root / name).mkdir(parents=True)
            self.populate(root / name, self.files_for(root / name))

    def hierarchy(self, path: Path) -> Path:
        return self.root / path.relative_to(self.root).parts[0]

    def files_for(self, group: Path) -> dict[str, str]:
        files = {"cgroup.procs": "", "tasks": "", "notify_on_release": "0\n"}
        if self.hierarchy(group).name == "cpu":
            files |= {
                "cpu.cfs_period_us": "100000\n",
                "cpu.cfs_quota_us": "-1\n",
                "cpu.shares": "1024\n",
                "cpu.stat": "nr_periods 0\nnr_throttled 0\nthrottled_time 0\n",
            }
        else:
            files |= {
                "memory.limit_in_bytes": f"{V1_NO_LIMIT}\n",
                "memory.swappiness": "60\n",
                "memory.oom_control": "oom_kill_disable 0\nunder_oom 0\noom_kill 0\n",
                "memory.max_usage_in_bytes": "0\n",
                "memory.usage_in_bytes": "0\n",
            }
            if self.swap_accounting:
                files["memory.memsw.limit_in_bytes"] = f"{V1_NO_LIMIT}\n"
        return files

    def check_write(self, path: Path, value: str) -> str:
        name, group = path.name, path.parent
        number = _integer(value, path)
        if name == "cpu.cfs_quota_us" and number != -1 and number < 1000:
            raise _fail(errno.EINVAL, path)  # the kernel's minimum quota is 1 ms
        if name == "cpu.cfs_period_us" and not 1000 <= number <= 1_000_000:
            raise _fail(errno.EINVAL, path)
        memsw = group / "memory.memsw.limit_in_bytes"
        if name == "memory.limit_in_bytes" and memsw.exists() and number > int(memsw.read_text()):
            raise _fail(errno.EINVAL, path)  # memory + swap cannot be below memory
        if name == "memory.memsw.limit_in_bytes" and number < int((group / "memory.limit_in_bytes").read_text()):
            raise _fail(errno.EINVAL, path)
        if name == "memory.swappiness" and not 0 <= number <= 100:
            raise _fail(errno.EINVAL, path)
        return f"{number}\n"

    def oom_kill(self, group: Path) -> None:
        """What the kernel records when it kills a process of ``group`` for its memory limit."""
        self.store(group / "memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 1\n")


class FakeV2Kernel(FakeKernel):
    """cgroup v2: one hierarchy at root, controllers handed down through cgroup.subtree_control."""

    READ_ONLY = frozenset(
        {"cgroup.controllers", "cgroup.events", "memory.events", "cpu.stat", "memory.peak", "memory.current"}
    )

    def __init__(
        self, root: Path, controllers: tuple[str, ...] = ("cpu", "io", "memory", "pids"), swap_accounting: bool = True
    ) -> None:
        super().__init__(root)
        self.swap_accounting = swap_accounting
        root.mkdir(parents=True, exist_ok=True)
        # The real root has no cgroup.type and no cpu.max or memory.max of its own.
        self.populate(
            root,
            {
                "cgroup.controllers": _names(controllers),
                "cgroup.subtree_control": "\n",
                "cgroup.procs": "",
                "cpu.stat": "usage_usec 0\n",
            },
        )

    def hierarchy(self, path: Path) -> Path:
        return self.root

    def is_root(self, group: Path) -> bool:
        return group == self.root

    def enabled(self, group: Path) -> list[str]:
        return (group / "cgroup.subtree_control").read_text().split()

    def files_for(self, group: Path) -> dict[str, str]:
        files = {
            "cgroup.type": "domain\n",
            "cgroup.procs": "",
            "cgroup.subtree_control": "\n",
            "cgroup.events": "populated 0\nfrozen 0\n",
            "cpu.stat": "usage_usec 0\n",
            "cgroup.controllers": _names(self.enabled(group.parent)),
        }
        for name in self.enabled(group.parent):
            files |= self.controller_files(name)
        return files

    def controller_files(self, name: str) -> dict[str, str]:
        if name == "cpu":
            return {"cpu.max": "max 100000\n", "cpu.weight": "100\n"}
        if name == "memory":
            files = {
                "memory.max": "max\n",
                "memory.current": "0\n",
                "memory.peak": "0\n",
                "memory.events": "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\noom_group_kill 0\n",
            }
            if self.swap_accounting:
                files["memory.swap.max"] = "max\n"
            return files
        return {}

    def check_move(self, pid: int, group: Path) -> None:
        # No internal processes: a non-root group that enables controllers for its children
        # cannot take a process.
        if not self.is_root(group) and self.enabled(group):
            raise _fail(errno.EBUSY, group / "cgroup.procs")

    def check_write(self, path: Path, value: str) -> str:
        if path.name == "cgroup.subtree_control":
            return self.subtree_control(path.parent, value)
        if path.name == "cpu.max":
            quota, _, period = value.strip().partition(" ")
            period_us = _integer(period or "100000", path)
            if not 1000 <= period_us <= 1_000_000 or quota != "max" and _integer(quota, path) < 1000:
                raise _fail(errno.EINVAL, path)
            return f"{quota} {period_us}\n"
        if path.name in ("memory.max", "memory.swap.max"):
            if value.strip() != "max" and _integer(value, path) < 0:
                raise _fail(errno.EINVAL, path)
            return f"{value.strip()}\n"
        return value

    def subtree_control(self, group: Path, value: str) -> str:
        available = (group / "cgroup.controllers").read_text().split()
        enabled = set(self.enabled(group))
        children = [p for p in group.iterdir() if p.is_dir()]
        for token in value.split():
            sign, name = token[:1], token[1:]
            if sign not in "+-" or name not in V2_ORDER:
                raise _fail(errno.EINVAL, group / "cgroup.subtree_control")
            if sign == "+" and name not in available:
                raise _fail(errno.ENOENT, group / "cgroup.subtree_control")
            if sign == "+" and not self.is_root(group) and self.procs(group):
                raise _fail(errno.EBUSY, group / "cgroup.subtree_control")  # no internal processes
            if sign == "-" and any(name in self.enabled(child) for child in children):
                raise _fail(errno.EBUSY, group / "cgroup.subtree_control")
        for token in value.split():
            name = token[1:]
            if token[0] == "+" and name not in enabled:
                enabled.add(name)
                for child in children:  # enabling later gives existing children the files too
                    self.populate(child, self.controller_files(name))
            elif token[0] == "-" and name in enabled:
                enabled.discard(name)
                for child in children:
                    for file in self.controller_files(name):
                        (child / file).unlink()
                        del self.made[child / file]
        for child in children:
            self.store(child / "cgroup.controllers", _names(enabled))
        return _names(enabled)

    def oom_kill(self, group: Path) -> None:
        self.store(group / "memory.events", "low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\noom_group_kill 0\n")


def _names(controllers) -> str:
    return " ".join(name for name in V2_ORDER if name in controllers) + "\n"


def _integer(value: str, path: Path) -> int:
    try:
        return int(value.strip())
    except ValueError:
        raise _fail(errno.EINVAL, path) from None
