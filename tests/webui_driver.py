"""Helpers of the web UI tests: a real `locust -f locustfiles/direct.py` with its web UI on 127.0.0.1.

Locust runs as its own process, as users run it (importing it here would patch this process with
gevent); the tests talk to it over HTTP, as the UI does, and through headless Chromium.
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
LOCUSTFILE = str(REPO / "locustfiles" / "direct.py")
DEADLINE_S = 180.0  # only stops a hung run; nothing here measures time


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def write_bench_toml(folder: Path, memory_mb: tuple[int, ...] = (128, 512), name: str = "webui-cpu-bound") -> Path:
    """A bench.toml for the bundled emulator: the sample cpu_bound function, reports in ``folder``."""
    path = folder / "bench.toml"
    sizes = ", ".join(str(m) for m in memory_mb)
    path.write_text(
        f"""[target]
kind = "local"

[function]
name = "{name}"
source = "{REPO / "targets" / "cpu_bound"}"
handler = "app.lambda_handler"
runtime = "python3.12"
timeout_s = 30

[variants]
memory_mb = [{sizes}]

[report]
dir = "reports"
"""
    )
    return path


class LocustUI:
    """One Locust process with its web UI; ``stop()`` ends it as a terminal's Ctrl-C would (SIGTERM)."""

    def __init__(self, cwd: Path, *args: str, log_name: str = "locust.log") -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.log = cwd / log_name
        command = [sys.executable, "-m", "locust", "-f", LOCUSTFILE, "--web-host", "127.0.0.1"]
        with open(self.log, "w") as out:
            self.process = subprocess.Popen(
                [*command, "--web-port", str(self.port), *args],
                cwd=cwd,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        wait_until(lambda: self._answers(), "the web UI to answer", self)

    def _answers(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(f"locust exited {self.process.returncode}:\n{self.output()}")
        try:
            self.get("stats/requests")
        except (urllib.error.URLError, ConnectionError):
            return False
        return True

    def get(self, path: str) -> Any:
        with urllib.request.urlopen(self.url + path, timeout=30) as response:
            return json.load(response)

    def post(self, path: str, form: dict[str, Any] | None = None) -> Any:
        data = urllib.parse.urlencode(form or {}).encode()
        with urllib.request.urlopen(urllib.request.Request(self.url + path, data=data), timeout=120) as response:
            body = response.read()
        try:
            return json.loads(body)
        except ValueError:
            return body.decode()

    def extended(self, key: str) -> list[dict[str, Any]]:
        stats = self.get("stats/requests")
        return next(e["data"] for e in stats["extended_stats"] if e["key"] == key)

    def output(self) -> str:
        return self.log.read_text()

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=120)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


def wait_until(check, what: str, ui: LocustUI | None = None, deadline_s: float = DEADLINE_S):
    """Poll ``check`` until it returns something true; fail with Locust's log if it never does."""
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.5)
    raise AssertionError(f"gave up waiting for {what}" + (f"\n{ui.output()[-4000:]}" if ui else ""))
