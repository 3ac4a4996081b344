"""Ties the emulator to the process that started it, and each environment to the emulator.

A killed ``lambench run`` (kill -9, the OOM killer, a CI timeout) must not leave the emulator
and its environments serving. Both links are Linux's parent-death signal, prctl(PR_SET_PDEATHSIG),
asked for through ctypes:

- The emulator, started with ``--parent-pid`` (bench/targets/local.py does), asks for SIGHUP and
  then stops as on SIGTERM: it kills its environments and removes its cgroups. The kernel sends
  the signal when the *thread* that forked the emulator exits, not its process, and again at
  every later reparenting; so the signal only prompts a check (is getppid() still that parent?),
  and a parent that forked us from a short-lived thread does not stop us early. The same check
  runs once a second, for hosts without prctl and for a signal that came before its handler.
- An environment asks for SIGKILL in its preexec hook: if the emulator itself is SIGKILLed, its
  environments die with it. They are forked by the emulator's event-loop thread, the main thread,
  which lives exactly as long as the emulator.

The setting is cleared in a forked child, so a process an environment starts is not covered:
its cgroup is (cgroups.py). It is cleared as well when a process changes its uid or gid, as an
environment's sandbox does (sandbox.py): the hook asks again once the rest of its chain has run.
A parent that dies between fork and prctl sends nothing, so each side compares getppid() with
the parent it expects right after asking.
"""

from __future__ import annotations

import asyncio
import ctypes
import os
import signal
import sys
from collections.abc import Callable

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
PARENT_POLL_S = 1.0
# Loaded here, not in the preexec hook: a forked child should call into libc, not dlopen it.
_LIBC = ctypes.CDLL(None, use_errno=True) if sys.platform.startswith("linux") else None


def ask_for_parent_death_signal(signum: int) -> bool:
    """prctl(PR_SET_PDEATHSIG, signum); False where the host has no such call."""
    if _LIBC is None:
        return False
    return _LIBC.prctl(PR_SET_PDEATHSIG, signum, 0, 0, 0) == 0


def die_with_parent(parent_pid: int, then: Callable[[], None] | None = None) -> Callable[[], None]:
    """A preexec hook: SIGKILL this child when ``parent_pid`` (the forking thread) goes, then ``then``."""

    def ask() -> None:
        ask_for_parent_death_signal(signal.SIGKILL)
        if os.getppid() != parent_pid:  # the parent died before prctl: no signal will come
            os.kill(os.getpid(), signal.SIGKILL)

    def hook() -> None:
        ask()
        if then is not None:
            then()
            # ``then`` may have changed the uid (sandbox.py), which clears the setting: ask again.
            ask()

    return hook


class ParentWatch:
    """Calls ``on_gone`` once the process ``parent_pid`` has exited (this process was reparented)."""

    def __init__(self, parent_pid: int, on_gone: Callable[[], None]) -> None:
        self.parent_pid = parent_pid
        self.on_gone = on_gone
        self._poll: asyncio.Task | None = None

    def start(self) -> None:
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGHUP, self.check)
        ask_for_parent_death_signal(signal.SIGHUP)
        self._poll = asyncio.create_task(self._poll_forever())
        self.check()

    def gone(self) -> bool:
        return os.getppid() != self.parent_pid

    def check(self) -> None:
        if self.gone():
            self.on_gone()

    async def _poll_forever(self) -> None:
        while True:
            await asyncio.sleep(PARENT_POLL_S)
            self.check()


def process_alive(pid: int) -> bool:
    """Whether process ``pid`` exists (it may belong to another user: then it does)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
