"""Where the emulator runs as root: each execution environment in a sandbox of its own.

Lambda runs a function as an unprivileged user in a microVM of its own, with a read-only
/var/task and a private /tmp. Here, each environment gets, in its preexec hook after it has
joined its cgroups (which needs root):

- a mount namespace of its own (unshare(CLONE_NEWNS), then / made private recursively, so that
  nothing mounted here reaches the host), in which its code is bound read-only at
  ``/run/lambench/env/task``, the runtime view and layers next to it, and its own tmp folder at
  the literal path /tmp: SeBS's cold-start marker ``/tmp/cold_run`` is then per environment;
- a uid and gid of its own, from a range reserved for lambench (no /etc/passwd entry), claimed
  host-wide so that two emulators never hand out the same one. The kernel lets only the same uid
  (or root) read a process's /proc/<pid>/environ, cwd, root or mem: another environment's
  variables, and with them its Runtime API token, are out of reach.

The emulator's state folder (every function's code, every environment's tmp) stays root's and
mode 0700; an environment reaches only what is bound for it. The host /tmp is covered by the
environment's own, so what the emulator keeps there is out of sight as well.

The interpreter may live below a folder only root may enter (pyenv under /root, mode 0700). Such
a folder is *masked* in the namespace: covered by a skeleton folder (under /run/lambench/masks)
in which only the entries the environment needs are bound through, so the interpreter keeps its
path and the rest of that folder stays hidden.

Where this cannot be done (not root, no mount namespaces, a virtualenv under /tmp or not readable
by others, a probe that fails), environments run as the emulator's user, without it, and
``Sandbox.reason`` says why; ``LAMBENCH_SANDBOX=off`` turns it off on purpose (to measure it).
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import functools
import os
import secrets
import shutil
import stat
import subprocess
import sys
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from . import runtime_view
from .lifeline import process_alive

HOME = Path("/run/lambench")
MOUNTS = HOME / "env"  # the mount points an environment's code, runtime and layers are bound on
MASKS = HOME / "masks"
CLAIMS = HOME / "uids"
PRIVATE_TMP = Path("/tmp")
# 65,536 ids at 0x6C620000 ("lb"): above any login user, outside systemd's dynamic-user range.
UID_BASE = 0x6C620000
UID_COUNT = 65536
OFF_VARIABLE = "LAMBENCH_SANDBOX"
PROBE_TIMEOUT_S = 20.0
# The probe runs what an environment runs first: the interpreter, in the namespace, as its uid.
PROBE_SCRIPT = "import os; print(os.getuid(), os.getcwd(), len(os.listdir('/tmp')))"

# <sched.h>, <sys/mount.h>
CLONE_NEWNS = 0x00020000
MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_REMOUNT = 32
MS_BIND = 4096
MS_REC = 16384
MS_PRIVATE = 1 << 18

# Loaded and typed here, not in the preexec hook: a forked child should call into libc, not dlopen it.
_LIBC = ctypes.CDLL(None, use_errno=True) if sys.platform.startswith("linux") else None
if _LIBC is not None:
    _LIBC.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_void_p]
    _LIBC.unshare.argtypes = [ctypes.c_int]


@dataclass(frozen=True)
class Layout:
    """Where an environment finds its code, runtime view, layers and tmp, as paths it can open."""

    code: Path
    runtime: Path | None
    layers: tuple[Path, ...]
    tmp: Path


# One mount(2) call: source, target, filesystem type, flags (bytes: the child only passes them on).
Step = tuple[bytes | None, bytes, bytes | None, int]


def _fail(what: bytes) -> None:
    code = ctypes.get_errno()
    # The environment's stdout is the emulator's log: say which step failed before giving up.
    os.write(2, b"lambench sandbox: " + what + b": " + os.strerror(code).encode() + b"\n")
    raise OSError(code, os.strerror(code))


def _mount(step: Step) -> None:
    assert _LIBC is not None, "mount(2) is Linux's"
    source, target, fstype, flags = step
    if _LIBC.mount(source, target, fstype, flags, None) != 0:
        _fail(b"mount " + target)


class Confinement:
    """One environment's uid and mounts; ``enter`` runs in its preexec hook, after the cgroup join."""

    def __init__(self, uid: int, steps: list[Step], workdir: Path, layout: Layout) -> None:
        self.uid = uid
        self.layout = layout
        self._steps = steps
        self._workdir = bytes(workdir)

    def enter(self) -> None:
        """In the child, still root: a mount namespace of its own, its mounts, then its uid."""
        assert _LIBC is not None, "unshare(2) is Linux's"
        if _LIBC.unshare(CLONE_NEWNS) != 0:
            _fail(b"unshare(CLONE_NEWNS)")
        # mount --make-rprivate /: what is mounted from here on stays in this namespace.
        _mount((None, b"/", None, MS_REC | MS_PRIVATE))
        for step in self._steps:
            _mount(step)
        os.setgroups([])
        os.setgid(self.uid)
        os.setuid(self.uid)  # root: real, effective and saved uid at once; capabilities are dropped
        os.chdir(self._workdir)

    def release(self, procs: Path | None) -> None:
        """Give the uid back once nothing runs as it; ``procs`` is the environment's cgroup.procs.

        Without a cgroup, a child that left its session may still run as this uid: the claim is
        then kept for as long as this emulator lives, so that no later environment shares the uid.
        """
        if procs is None:
            return
        with contextlib.suppress(OSError):
            if procs.read_text().strip():
                return  # the pool kills the cgroup next; the claim stays (and dies with us)
        self.unclaim()

    def unclaim(self) -> None:
        """Give the uid back: nothing runs as it any more."""
        with contextlib.suppress(FileNotFoundError):
            (CLAIMS / str(self.uid)).unlink()


def _owner_alive(claim: Path) -> bool:
    try:
        pid = int(claim.read_text() or "0")
    except (OSError, ValueError):
        return True  # being written by its claimer
    return pid > 0 and process_alive(pid)


def sweep_claims() -> None:
    """Remove the claims of emulators that are gone (a SIGKILL, or a uid kept for want of a cgroup)."""
    CLAIMS.mkdir(mode=0o700, parents=True, exist_ok=True)
    with open(CLAIMS / ".lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        for claim in CLAIMS.iterdir():
            if claim.name.isdigit() and not _owner_alive(claim):
                claim.unlink(missing_ok=True)


def claim_uid() -> int:
    """A uid from lambench's range that no live emulator on this host holds; its claim is a file."""
    CLAIMS.mkdir(mode=0o700, parents=True, exist_ok=True)
    with open(CLAIMS / ".lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # against another emulator taking over the same stale claim
        start = secrets.randbelow(UID_COUNT)
        for step in range(UID_COUNT):
            uid = UID_BASE + (start + step) % UID_COUNT
            claim = CLAIMS / str(uid)
            try:
                fd = os.open(claim, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                if _owner_alive(claim):
                    continue
                fd = os.open(claim, os.O_WRONLY | os.O_TRUNC)  # its emulator is gone (SIGKILL)
            with os.fdopen(fd, "w") as out:
                out.write(str(os.getpid()))
            return uid
    raise OSError(errno.EUSERS, "every lambench sandbox uid is taken")


# ---- what the environment's interpreter needs to reach --------------------------------------------
def _others_may(st: os.stat_result, bits: int) -> bool:
    # The sandbox uid owns nothing and is in no group: only the "other" bits apply to it.
    return st.st_mode & bits == bits


def _mkdirs(folder: Path) -> None:
    """``folder`` and its missing parents, each enterable by anyone whatever the umask."""
    missing = [p for p in (*reversed(folder.parents), folder) if not p.exists()]
    for path in missing:
        path.mkdir(exist_ok=True)
        path.chmod(0o755)


def _needed_paths(entry: Path, views: runtime_view.Views) -> list[Path]:
    """The interpreter, its standard library and virtualenv, the runtime entry, what the views link to."""
    paths = [Path(sys.executable), Path(os.path.realpath(sys.executable)), entry]
    paths += [Path(p) for p in {sys.prefix, sys.base_prefix, sys.base_exec_prefix}]
    with contextlib.suppress(OSError), open("/proc/self/maps") as maps:
        paths += [Path(line.split()[-1]) for line in maps if "/libpython" in line]
    for view in (views.runtime, *views.layers):
        # The view's own folders hold links (a directory it shares with a distribution outside it).
        for root, dirs, files in os.walk(view):
            links = [Path(root, name) for name in (*dirs, *files) if Path(root, name).is_symlink()]
            paths += [Path(os.path.realpath(link)) for link in links]
    return sorted(set(paths))


def _masks(needed: Iterable[Path]) -> dict[Path, set[Path]]:
    """Folders the sandbox uid cannot enter on the way to ``needed``, with what to bind through each.

    Keyed by the outermost such folder on a path; each value holds, relative to it, the entry
    just below the innermost one (the first the uid can enter, or the file itself).
    """
    masks: dict[Path, set[Path]] = {}
    for path in needed:
        chain = [*reversed(path.parents), path]
        blocked = [f for f in chain[:-1] if not _others_may(f.stat(), stat.S_IXOTH)]
        if blocked:
            keep = chain[chain.index(blocked[-1]) + 1]
            masks.setdefault(blocked[0], set()).add(keep.relative_to(blocked[0]))
    return masks


def _unreadable(views: runtime_view.Views) -> Path | None:
    """The first file or folder a view links to that the sandbox uid could not read, if any."""
    for view in (views.runtime, *views.layers):
        # Following the links: a view is a tree of them, into the installed distributions.
        for root, _, files in os.walk(view, followlinks=True):
            folder = Path(root)
            if not _others_may(folder.stat(), stat.S_IROTH | stat.S_IXOTH):
                return Path(os.path.realpath(folder))
            for name in files:
                if not _others_may((folder / name).stat(), stat.S_IROTH):
                    return Path(os.path.realpath(folder / name))
    return None


def _skeleton(outer: Path, keeps: set[Path]) -> list[Step]:
    """Build the skeleton that masks ``outer``; the mounts that bind ``keeps`` through and put it in place."""
    skeleton = MASKS / str(outer).strip("/").replace("/", "%")
    steps: list[Step] = []
    for keep in sorted(keeps):
        stand_in = skeleton / keep
        _mkdirs(stand_in.parent)
        if (outer / keep).is_dir():
            _mkdirs(stand_in)
        else:
            stand_in.touch(mode=0o644, exist_ok=True)
        steps.append((bytes(outer / keep), bytes(stand_in), None, MS_BIND | MS_REC))
    _mkdirs(skeleton)
    steps.append((bytes(skeleton), bytes(outer), None, MS_BIND | MS_REC))
    return steps


class Sandbox:
    """This emulator's sandbox: whether it is in force (``reason`` says why not) and how to confine."""

    def __init__(self, state_dir: Path, entry: Path, views: runtime_view.Views) -> None:
        self.state_dir = state_dir
        self.entry = entry
        self.views = views
        self._mask_steps: list[Step] = []
        self.reason = self._why_not() or self._prepare() or self._probe()
        if self.reason is not None:
            print(f"lambench emulator: environments are not sandboxed: {self.reason}", file=sys.stderr, flush=True)

    @property
    def enabled(self) -> bool:
        return self.reason is None

    def _why_not(self) -> str | None:
        if os.environ.get(OFF_VARIABLE, "").lower() in ("0", "off", "no", "false"):
            return f"turned off ({OFF_VARIABLE}={os.environ[OFF_VARIABLE]})"
        if _LIBC is None or not hasattr(os, "geteuid"):
            return "needs Linux (mount namespaces)"
        if os.geteuid() != 0:
            return "needs root (a uid of its own per environment, a mount namespace for a private /tmp)"
        if not HOME.parent.is_dir():
            return f"needs {HOME.parent} for its mount points"
        return None

    def _prepare(self) -> str | None:
        needed = _needed_paths(self.entry, self.views)
        hidden = [path for path in needed if path == PRIVATE_TMP or PRIVATE_TMP in path.parents]
        if hidden:
            return f"{hidden[0]} is under {PRIVATE_TMP}, which each environment's own /tmp covers"
        unreadable = _unreadable(self.views)
        if unreadable is not None:
            return f"{unreadable} is not readable by other users (the environments' uids)"
        for name in self._mount_names():
            _mkdirs(MOUNTS / name)
        sweep_claims()
        for outer, keeps in sorted(_masks(needed).items()):
            if outer == Path("/"):
                return "/ itself is not searchable by other users"
            self._mask_steps += _skeleton(outer, keeps)
        # Every function's code and every environment's tmp: reached only through the binds.
        self.state_dir.chmod(0o700)
        return None

    def _mount_names(self) -> list[str]:
        return ["task", "runtime", *(f"layer-{i}" for i in range(len(self.views.layers)))]

    def _probe(self) -> str | None:
        """Run the interpreter once as an environment would start: the host may refuse a step."""
        probe = self.state_dir / "sandbox-probe"
        code, tmp = probe / "code", probe / "tmp"
        for folder in (code, tmp):
            folder.mkdir(parents=True, exist_ok=True)
        code.chmod(0o755)
        confinement = self.confine(code, tmp, python=True)
        try:
            done = subprocess.run(
                [sys.executable, "-s", "-S", "-c", PROBE_SCRIPT],
                cwd=code,
                env={},
                preexec_fn=confinement.enter,
                capture_output=True,
                text=True,
                timeout=PROBE_TIMEOUT_S,
            )
        except (OSError, subprocess.SubprocessError) as err:
            return f"the probe could not start: {err}"
        finally:
            confinement.unclaim()  # it has exited, and started nothing
            shutil.rmtree(probe, ignore_errors=True)
        expected = f"{confinement.uid} {confinement.layout.code} 0"
        if done.returncode != 0 or done.stdout.strip() != expected:
            said = (done.stderr or done.stdout).strip().splitlines()[-1:] or [f"exit status {done.returncode}"]
            return f"the probe failed: {said[0]}"
        return None

    def confine(self, code: Path, tmp: Path, python: bool) -> Confinement:
        """Claim a uid for one environment, hand it ``tmp``, and plan its mounts."""
        uid = claim_uid()
        os.chown(tmp, uid, uid)
        tmp.chmod(0o700)
        task = MOUNTS / "task"
        runtime = MOUNTS / "runtime" if python else None
        layers = tuple(MOUNTS / f"layer-{i}" for i in range(len(self.views.layers))) if python else ()
        steps: list[Step] = [
            (bytes(code), bytes(task), None, MS_BIND | MS_REC),
            # A bind mount takes its read-only flag only on a remount (mount(8) does the same).
            (None, bytes(task), None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV),
        ]
        if python:
            steps.append((bytes(self.views.runtime), bytes(MOUNTS / "runtime"), None, MS_BIND))
            for source, target in zip(self.views.layers, layers, strict=True):
                steps.append((bytes(source), bytes(target), None, MS_BIND))
        # The masks after the binds (their sources may lie below a masked folder), /tmp last (they
        # may lie below /tmp: the emulator's state folder usually does).
        steps += self._mask_steps
        steps.append((bytes(tmp), bytes(PRIVATE_TMP), None, MS_BIND))
        return Confinement(uid, steps, task, Layout(task, runtime, layers, PRIVATE_TMP))


_LOCK = threading.Lock()


@functools.cache
def _for_state_dir(state_dir: Path, entry: Path) -> Sandbox:
    return Sandbox(state_dir, entry, runtime_view.views_for(state_dir / "runtime-views"))


_DECIDED: dict[Path, Sandbox] = {}


def for_emulator(state_dir: Path, entry: Path) -> Sandbox:
    """This emulator's sandbox, prepared and probed once: the first cold start pays for it, before
    its Init Duration starts. ``entry`` is the script a Python environment runs first."""
    with _LOCK:  # two first cold starts at once must not probe twice
        box = _DECIDED[state_dir] = _for_state_dir(state_dir, entry)
        return box


def state(state_dir: Path) -> dict[str, object] | None:
    """Whether environments are sandboxed, and why not, for /lambench/info; None before the first cold start."""
    box = _DECIDED.get(state_dir)
    return None if box is None else {"enabled": box.enabled, "reason": box.reason}


def host_layout(code: Path, views: runtime_view.Views | None, tmp: Path) -> Layout:
    """The layout of an environment that runs unsandboxed: the host's own paths."""
    if views is None:
        return Layout(code, None, (), tmp)
    return Layout(code, views.runtime, views.layers, tmp)
