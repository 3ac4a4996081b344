"""CPU quota and memory limit per execution environment, through the host's cgroups (v1 or v2).

CPU: an environment gets memory/1769 of a CPU. Under cgroup v1 (``cpu`` controller) that is
cfs_quota_us = cfs_period_us x share; under cgroup v2 it is ``cpu.max`` = "QUOTA PERIOD". The
period is 20 ms: the quota must be at least 1 ms, which at 128 MB needs a period of at least
13.8 ms, and longer periods let short jobs escape the throttle (EMULATOR-NOTES.md).

Memory: ``memory.limit_in_bytes`` (v1) or ``memory.max`` (v2) at the function's memory size,
and no swap; the kernel then SIGKILLs an environment that exceeds it, and ``oom_kill`` in
``memory.oom_control`` (v1) or ``memory.events`` (v2) tells it was the limit.

cgroup v1 has one hierarchy per controller (ROOT/cpu, ROOT/memory): the emulator makes
``lambench-<pid>/<environment>`` at the top of each, and the kernel creates every control file
on mkdir. cgroup v2 (Documentation/admin-guide/cgroup-v2.rst) has one hierarchy and two rules
that v1 has not, which :func:`_delegate_v2` follows:

- a group has cpu.max and memory.max only while ``cpu`` and ``memory`` are enabled in its
  parent's ``cgroup.subtree_control``, and a parent can enable only what its own parent enabled
  for it: so they are enabled in every group from the hierarchy's root down to the emulator's
  ``lambench-<pid>`` group, whose children are the environments;
- "no internal processes": a non-root group that enables a controller for its children may hold
  no process itself. The emulator's groups go under the cgroup it was started in, so, as the
  document prescribes, every process of that cgroup (the emulator and whatever was beside it)
  first moves into a leaf child, ``lambench-processes``, which sets no limit of its own. The
  leaf and the enabled controllers stay after exit: other processes live there.

Every change goes through :class:`CgroupFiles`, which never creates a file: a missing control
file means a controller is not enabled, and that must fail, not make a plain file. The root
and that class are parameters, so tests drive this code against a directory tree that mimics
the kernel (tests/fake_cgroups.py); that checks the file protocol, not the kernel's enforcement.

Ending an environment kills every process in its groups before removing them, so a child
that left the environment's session (``start_new_session=True``) or process group dies too:
cgroup v2 writes ``cgroup.kill``; v1 has none, so it signals each pid of ``cgroup.procs`` until
the list stays empty (a process may fork while we read). Groups are named after the emulator's
pid; at start-up, the groups of an emulator that is no longer alive (it was SIGKILLed: its
environments died with it, lifeline.py, but their children did not) are killed and swept.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path

from .lifeline import process_alive

PERIOD_US = 20_000
MIN_QUOTA_US = 1_000
ROOT = Path("/sys/fs/cgroup")
PROC_SELF_CGROUP = Path("/proc/self/cgroup")
PREFIX = "lambench-"
LEAF = "lambench-processes"  # v2: where the processes of the emulator's own cgroup move
V1_PROBES = {"cpu": "cpu.cfs_quota_us", "memory": "memory.limit_in_bytes"}
# How long removing a group waits for the processes it killed to exit (they go in milliseconds).
RELEASE_WAIT_S = 0.5
CLOSE_WAIT_S = 2.0


class CgroupFiles:
    """Every change the emulator makes to cgroupfs (mkdir, rmdir, writes; reads are plain), and the kills."""

    def mkdir(self, path: Path) -> None:
        path.mkdir()

    def rmdir(self, path: Path) -> None:
        # On cgroupfs a group's control files vanish with it: rmdir is all it takes.
        path.rmdir()

    def write(self, path: Path, value: str) -> None:
        # No O_CREAT: a missing control file must be an error, never a new plain file.
        fd = os.open(path, os.O_WRONLY | os.O_TRUNC)
        try:
            os.write(fd, value.encode())
        finally:
            os.close(fd)

    def kill(self, pid: int) -> None:
        """SIGKILL a process found in a group being removed: the one change outside cgroupfs."""
        if pid == os.getpid():  # never the emulator itself, whatever a group's file says
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)


def _words(path: Path) -> set[str]:
    try:
        return set(path.read_text().split())
    except OSError:
        return set()


def _procs(group: Path) -> list[int]:
    """The pids in ``group`` and every group below it, as this pid namespace numbers them.

    A process of another pid namespace reads as 0 (kill(0) would mean our own process group).
    """
    pids = [int(p) for p in _words(group / "cgroup.procs") if p.isdigit() and int(p) > 0]
    for child in _subgroups(group):
        pids += _procs(child)
    return pids


def _foreign(group: Path) -> bool:
    """Holds processes that this pid namespace cannot see: another namespace's emulator, not ours to kill."""
    if "0" in _words(group / "cgroup.procs"):
        return True
    return any(_foreign(child) for child in _subgroups(group))


def _subgroups(group: Path) -> list[Path]:
    try:
        return [p for p in group.iterdir() if p.is_dir()]
    except OSError:  # gone meanwhile: another emulator's start-up sweep got there first
        return []


def _kill_tree(fs: CgroupFiles, group: Path, wait_s: float) -> None:
    """Kill every process in ``group`` and below, and wait (up to ``wait_s``) until none is left."""
    if not group.exists():
        return
    if (group / "cgroup.kill").exists():  # v2 since Linux 5.14: the kernel kills the subtree, forks included
        with contextlib.suppress(OSError):
            fs.write(group / "cgroup.kill", "1")
    deadline = time.monotonic() + wait_s
    while (pids := _procs(group)) and time.monotonic() < deadline:
        for pid in pids:
            fs.kill(pid)
        time.sleep(0.002)


def _remove_tree(fs: CgroupFiles, group: Path, wait_s: float = 0.0) -> None:
    _kill_tree(fs, group, wait_s)
    _rmdir_tree(fs, group)


def _rmdir_tree(fs: CgroupFiles, group: Path) -> None:
    for child in _subgroups(group):
        _rmdir_tree(fs, child)
    with contextlib.suppress(OSError):  # still populated (EBUSY): a later sweep retries
        fs.rmdir(group)


class Tree:
    """One hierarchy's groups for this emulator: ``<parent>/lambench-<pid>/<environment>``."""

    def __init__(self, flavour: str, parent: Path, fs: CgroupFiles, controllers: frozenset[str]) -> None:
        self.flavour = flavour
        self.fs = fs
        self.controllers = controllers
        self.base = parent / f"{PREFIX}{os.getpid()}"
        for group in parent.glob(f"{PREFIX}*"):
            pid = group.name[len(PREFIX) :]
            if pid.isdigit() and not process_alive(int(pid)) and not _foreign(group):
                _remove_tree(fs, group, CLOSE_WAIT_S)
        if not self.base.exists():
            fs.mkdir(self.base)
        if flavour == "v2":
            # The base holds no process, so it may hand its controllers on to the environments.
            for name in sorted(controllers - _words(self.base / "cgroup.subtree_control")):
                fs.write(self.base / "cgroup.subtree_control", f"+{name}")

    def group(self, env_id: str) -> Path:
        group = self.base / env_id
        if not group.exists():
            self.fs.mkdir(group)
        return group

    def release(self, env_id: str) -> None:
        group = self.base / env_id
        if group.exists():
            _remove_tree(self.fs, group, RELEASE_WAIT_S)

    def close(self) -> None:
        if self.base.exists():
            _remove_tree(self.fs, self.base, CLOSE_WAIT_S)


@dataclass
class EnvironmentGroups:
    """The groups of one environment, joined at spawn; the CPU quota is switched on after init.

    Moving a running process between cgroups costs a kernel RCU grace period (15-18 ms per cold
    start, measured here), so the process starts inside its groups, with no CPU quota yet, and
    only the quota file is written once INIT is over. Under v2 the CPU and memory group is one.
    """

    cpu: Path | None
    memory: Path | None
    cpu_flavour: str = ""
    memory_flavour: str = ""
    quota_us: int = -1
    fs: CgroupFiles = field(default_factory=CgroupFiles)

    def join(self) -> None:
        """Runs in the child before exec (preexec_fn): the memory limit holds from the first byte."""
        for group in dict.fromkeys(g for g in (self.memory, self.cpu) if g is not None):
            self.fs.write(group / "cgroup.procs", str(os.getpid()))

    def throttle_cpu(self) -> None:
        if self.cpu is None:
            return
        if self.cpu_flavour == "v1":
            self.fs.write(self.cpu / "cpu.cfs_quota_us", str(self.quota_us))
        else:
            self.fs.write(self.cpu / "cpu.max", f"{self.quota_us} {PERIOD_US}")

    def oom_killed(self) -> bool:
        if self.memory is None:
            return False
        name = "memory.oom_control" if self.memory_flavour == "v1" else "memory.events"
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

    def __init__(self, cpu: Tree | None, memory: Tree | None, fs: CgroupFiles | None = None) -> None:
        self.cpu = cpu
        self.memory = memory
        self.fs = fs or CgroupFiles()

    @classmethod
    def create(
        cls,
        want_cpu: bool = True,
        want_memory: bool = True,
        root: Path = ROOT,
        proc_cgroup: Path = PROC_SELF_CGROUP,
        fs: CgroupFiles | None = None,
    ) -> Cgroups:
        """Finds the controllers under ``root`` (v1 first, then v2) and makes this emulator's groups.

        ``proc_cgroup`` is /proc/self/cgroup: under v2 it names the cgroup the emulator runs in.
        """
        fs = fs or CgroupFiles()
        wanted = {name for name, want in (("cpu", want_cpu), ("memory", want_memory)) if want}
        trees: dict[str, Tree] = {}
        for name in sorted(wanted):
            parent = _v1_parent(root, name)
            if parent is not None:
                with contextlib.suppress(OSError):  # e.g. a read-only mount: try v2, then do without
                    trees[name] = Tree("v1", parent, fs, frozenset({name}))
        if wanted - set(trees):
            try:
                found = _v2_tree(root, proc_cgroup, fs, wanted - set(trees))
            except OSError:
                found = None
            if found is not None:
                trees.update({name: found for name in wanted - set(trees) if name in found.controllers})
        return cls(trees.get("cpu"), trees.get("memory"), fs)

    def prepare(self, env_id: str, vcpus: float, memory_mb: int) -> EnvironmentGroups:
        cpu = memory = None
        quota = max(MIN_QUOTA_US, round(PERIOD_US * vcpus))
        if self.cpu is not None:
            cpu = self.cpu.group(env_id)
            # Unthrottled until throttle_cpu(): INIT runs at full speed (see environment.py).
            if self.cpu.flavour == "v1":
                self.fs.write(cpu / "cpu.cfs_period_us", str(PERIOD_US))
                self.fs.write(cpu / "cpu.cfs_quota_us", "-1")
            else:
                self.fs.write(cpu / "cpu.max", f"max {PERIOD_US}")
        if self.memory is not None:
            memory = self.memory.group(env_id)
            _limit_memory(self.fs, memory, self.memory.flavour, memory_mb * 1024 * 1024)
        return EnvironmentGroups(
            cpu,
            memory,
            self.cpu.flavour if self.cpu else "",
            self.memory.flavour if self.memory else "",
            quota,
            self.fs,
        )

    def release(self, env_id: str) -> None:
        for tree in dict.fromkeys(t for t in (self.cpu, self.memory) if t is not None):
            tree.release(env_id)

    def close(self) -> None:
        for tree in dict.fromkeys(t for t in (self.cpu, self.memory) if t is not None):
            tree.close()


def _v1_parent(root: Path, name: str) -> Path | None:
    hierarchy = root / name
    if (hierarchy / V1_PROBES[name]).exists() and os.access(hierarchy, os.W_OK):
        return hierarchy
    return None


def _v2_mount(root: Path) -> Path | None:
    """The v2 hierarchy: the root itself on a pure v2 host, ``unified`` on a hybrid one."""
    for mount in (root, root / "unified"):
        if (mount / "cgroup.controllers").exists():
            return mount
    return None


def _own_v2_cgroup(mount: Path, proc_cgroup: Path) -> Path | None:
    """The cgroup this process runs in, from the ``0::/path`` line of /proc/self/cgroup."""
    try:
        lines = proc_cgroup.read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        if line.startswith("0::/"):
            own = mount / line[len("0::/") :].strip()
            # A previous emulator already moved this cgroup's processes into its leaf.
            return own.parent if own.name == LEAF else own
    return None


def _v2_tree(root: Path, proc_cgroup: Path, fs: CgroupFiles, wanted: set[str]) -> Tree | None:
    mount = _v2_mount(root)
    if mount is None:
        return None
    own = _own_v2_cgroup(mount, proc_cgroup)
    if own is None or not own.is_dir() or not os.access(own, os.W_OK):
        return None
    enabled = _delegate_v2(fs, mount, own, wanted & _words(mount / "cgroup.controllers"))
    return Tree("v2", own, fs, frozenset(enabled)) if enabled else None


def _is_root(group: Path) -> bool:
    # cgroup.type exists in every cgroup but the hierarchy's real root (a cgroup namespace's
    # root has it too), and only the real root may hold processes and enable controllers at once.
    return not (group / "cgroup.type").exists()


def _delegate_v2(fs: CgroupFiles, mount: Path, own: Path, wanted: set[str]) -> set[str]:
    """Enable ``wanted`` in every subtree_control from the hierarchy's root to ``own``'s.

    Returns the controllers that ``own``'s children get. A controller that some ancestor cannot
    enable (it holds processes, or we may not write there) is left out, not forced.
    """
    parts = own.relative_to(mount).parts
    chain = [mount / Path(*parts[:depth]) for depth in range(len(parts) + 1)]
    for group in chain:
        control = group / "cgroup.subtree_control"
        missing = wanted - _words(control)
        if not missing:
            continue
        if group == own and not _is_root(group):
            _evacuate(fs, group)
        for name in sorted(missing):
            with contextlib.suppress(OSError):  # EBUSY (processes here) or ENOENT (not offered above)
                fs.write(control, f"+{name}")
        wanted &= _words(control)
        if not wanted:
            break
    return wanted


def _evacuate(fs: CgroupFiles, group: Path) -> None:
    """Move every process of ``group`` into its leaf child, so that it may enable controllers."""
    leaf = group / LEAF
    if not leaf.exists():
        fs.mkdir(leaf)
    # A process forked while its parent moves can still land in ``group``: look again.
    for _ in range(3):
        pids = (group / "cgroup.procs").read_text().split()
        if not pids:
            return
        for pid in pids:
            with contextlib.suppress(OSError):  # exited meanwhile (ESRCH); the rest shows as EBUSY later
                fs.write(leaf / "cgroup.procs", pid)


def _limit_memory(fs: CgroupFiles, group: Path, flavour: str, limit: int) -> None:
    # Lambda has no swap: without a swap limit, a host with swap would page instead of killing.
    if flavour == "v2":
        fs.write(group / "memory.max", str(limit))
        if (group / "memory.swap.max").exists():  # only with swap accounting
            fs.write(group / "memory.swap.max", "0")
        return
    fs.write(group / "memory.limit_in_bytes", str(limit))
    # memsw (memory + swap) must not be below the memory limit, so it is written second.
    if (group / "memory.memsw.limit_in_bytes").exists():  # only with swap accounting
        fs.write(group / "memory.memsw.limit_in_bytes", str(limit))
    # Older kernels refuse swappiness inside a hierarchy; it is a preference, memsw is the limit.
    with contextlib.suppress(OSError):
        fs.write(group / "memory.swappiness", "0")
