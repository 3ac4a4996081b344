"""Starts the bundled emulator as a child process and knows it only by its endpoint URL.

The emulator prints one ready line with its port into its log file (a file, not a pipe, so
that a chatty emulator can never block on a full pipe); until then we wait, and if it dies
first its own output becomes the error. On exit it gets SIGTERM, which makes it remove every
execution environment it started.

It runs in a session of its own, so a terminal's Ctrl-C (sent to the whole foreground process
group) reaches only us: the load stops first, its in-flight invokes finish and are recorded, and
only then is the emulator stopped (bench/run.py's order). It gets our pid (``--parent-pid``) and
stops by itself when we are gone, even after a SIGKILL that gave us no chance to stop it.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

# What lambench run starts the emulator with: dilation, since it works from each environment's own
# CPU time and so holds its 128/1769 ratio when the host is busy; quota does not (README, "Fidelity").
DEFAULT_CPU_MODE = "dilation"
READY = re.compile(r"listening on (http://127\.0\.0\.1:\d+) cpu_mode=(\w+)")
START_TIMEOUT_S = 30


@dataclass
class LocalEmulator:
    process: subprocess.Popen
    url: str
    cpu_mode: str

    def info(self) -> dict:
        with urllib.request.urlopen(f"{self.url}/lambench/info", timeout=10) as response:
            return json.load(response)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def __enter__(self) -> LocalEmulator:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def start_emulator(
    log_path: Path,
    port: int = 0,
    extra_args: tuple[str, ...] = (),
    cpu_mode: str | None = None,
    pin: tuple[tuple[int, ...], tuple[int, ...]] | None = None,
) -> LocalEmulator:
    """Start the emulator; ``cpu_mode`` adds ``--cpu-mode``; ``pin`` = (the emulator's CPUs, its
    environments' CPUs), from bench/load/capacity.py's plan."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    preexec = None
    pinning: tuple[str, ...] = ()
    if pin is not None:
        own, environments = pin
        pinning = ("--env-cpus", ",".join(map(str, environments)))

        def preexec() -> None:
            os.sched_setaffinity(0, own)

    mode = ("--cpu-mode", cpu_mode) if cpu_mode else ()
    with open(log_path, "w") as log:
        command = [sys.executable, "-m", "bench.emulator", "--port", str(port), "--parent-pid", str(os.getpid())]
        process = subprocess.Popen(
            [*command, *mode, *pinning, *extra_args],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=preexec,
        )
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        match = READY.search(log_path.read_text())
        if match:
            return LocalEmulator(process, match.group(1), match.group(2))
        if process.poll() is not None:
            break
        time.sleep(0.05)
    process.kill()
    process.wait()
    output = log_path.read_text().strip().splitlines()
    raise RuntimeError("the emulator did not start:\n" + "\n".join(output[-20:]))
