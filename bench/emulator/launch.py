"""What an execution environment's process is started with, and what it says.

A Python environment runs runtime_entry.py (awslambdaric, taught the token path, metered) under the
emulator's interpreter with site turned off; a custom runtime runs its own ``bootstrap``. Its
variables are Lambda's and the function's own, and nothing of the emulator's environment. Its
output (stdout and stderr, one pipe) is read by :class:`Output`, a line at a time, as it comes.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from pathlib import Path

from ..awsfacts import RESERVED_ENVIRONMENT_VARIABLES, lambda_log_group, vcpus_for
from .registry import FunctionVersion
from .sandbox import Layout

# Starts awslambdaric with the token-carrying Runtime API address, the meter and the dilation.
RUNTIME_ENTRY = Path(__file__).with_name("runtime_entry.py")
# Reserved variables Lambda sets; a function's own Environment cannot override them.
RESERVED = RESERVED_ENVIRONMENT_VARIABLES
# Lambda's PATH without its own /var/lang/bin and /opt/bin: never the emulator's, whose virtualenv
# (or the interpreter's own bin) would hand a subprocess every package the emulator has.
LAMBDA_PATH = "/usr/local/bin:/usr/bin/:/bin"
# -S keeps site (and with it the virtualenv's site-packages) off sys.path; -s the user's own.
PYTHON_FLAGS = ("-s", "-S")
# A line longer than this is logged in pieces of this size (the log store splits it further).
STREAM_LIMIT = 8 * 1024 * 1024


def is_python(runtime: str) -> bool:
    return runtime.startswith("python")


def command(version: FunctionVersion, code: Path) -> list[str]:
    """The environment's command line; ``code`` is the function's folder as the process sees it."""
    if not is_python(version.runtime):
        return [str(code / "bootstrap")]
    return [sys.executable, *PYTHON_FLAGS, str(RUNTIME_ENTRY), version.handler]


def variables(
    version: FunctionVersion,
    seen: Layout,
    runtime_api: str,
    log_stream: str,
    init_type: str,
    meter_fd: int | None = None,
    cpu_mode: str = "none",
    cpu_stat: str | None = None,
) -> dict[str, str]:
    """Lambda's variables and the function's own; ``runtime_api`` is 127.0.0.1:PORT/TOKEN."""
    v = version
    code = str(seen.code)
    # A custom runtime (no view) brings its own runtime inside its code.
    runtime = [str(seen.runtime)] if seen.runtime else []
    layers = [str(layer) for layer in seen.layers]
    env = {
        # Lambda lets a function set these unreserved ones (PYTHONPATH is extended below).
        "PATH": LAMBDA_PATH,
        "LANG": "en_US.UTF-8",
        "TZ": ":UTC",
        "LD_LIBRARY_PATH": ":".join([code, f"{code}/lib", *runtime]),
    }
    env.update({k: val for k, val in v.environment.items() if k not in RESERVED})
    # Lambda's order (/var/task, /opt/python, /var/runtime): a vendored copy wins.
    python_path = [code, *filter(None, [env.get("PYTHONPATH")]), *layers, *runtime]
    env.update(
        {
            "PYTHONPATH": ":".join(python_path),
            "TMPDIR": str(seen.tmp),
            "LAMBDA_TASK_ROOT": code,
            "LAMBDA_RUNTIME_DIR": (runtime or [code])[0],
            "_HANDLER": v.handler,
            "AWS_LAMBDA_RUNTIME_API": runtime_api,
            "AWS_LAMBDA_FUNCTION_NAME": v.name,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(v.memory_mb),
            "AWS_LAMBDA_FUNCTION_VERSION": v.version,
            "AWS_LAMBDA_LOG_GROUP_NAME": lambda_log_group(v.name),
            "AWS_LAMBDA_LOG_STREAM_NAME": log_stream,
            "AWS_LAMBDA_INITIALIZATION_TYPE": init_type,
            # As Lambda sets it (functions and their libraries read it). awslambdaric would poll /next
            # on a thread for it; runtime_entry.py polls on the main thread (its docstring says why).
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{v.runtime}",
            "AWS_REGION": "us-east-1",
            "AWS_DEFAULT_REGION": "us-east-1",
            # Lambda hands every function its role's credentials; these are placeholders.
            "AWS_ACCESS_KEY_ID": "ASIALAMBENCHLOCAL000",
            "AWS_SECRET_ACCESS_KEY": "lambench-local-secret",
            "AWS_SESSION_TOKEN": "lambench-local-session",
        }
    )
    if is_python(v.runtime):
        # Read and removed by runtime_entry.py before the function's code is imported.
        if meter_fd is not None:
            env["LAMBENCH_METER_FD"] = str(meter_fd)
        if cpu_mode == "dilation":
            env["LAMBENCH_CPU_SHARE"] = str(vcpus_for(v.memory_mb))
        if cpu_stat:
            env["LAMBENCH_CPU_STAT"] = cpu_stat
    return env


class Output(asyncio.SubprocessProtocol):
    """The process's output pipe, split into lines (without their newline) as it arrives, and its exit.

    Read as a protocol rather than a stream: a line is handed on in the loop turn that reads it,
    with no task and no loop turn between the read and the line's attribution.
    """

    def __init__(self, on_line: Callable[[bytes], None], on_exit: Callable[[], None]) -> None:
        self.on_line = on_line
        self.on_exit = on_exit
        # The line in progress, as the chunks it came in (joined once, when it ends: a long line
        # is never copied chunk by chunk) and their total length.
        self.partial: list[bytes] = []
        self.size = 0

    def pipe_data_received(self, fd: int, data: bytes) -> None:
        on_line = self.on_line
        if b"\n" not in data:
            self.partial.append(data)
            self.size += len(data)
            if self.size > STREAM_LIMIT:  # a line without end: logged in pieces, as it comes
                line = b"".join(self.partial)
                for at in range(0, len(line) - STREAM_LIMIT, STREAM_LIMIT):
                    on_line(line[at : at + STREAM_LIMIT])
                rest = line[len(line) - (len(line) - 1) % STREAM_LIMIT - 1 :]
                self.partial, self.size = [rest], len(rest)
            return
        *lines, rest = data.split(b"\n")
        if self.partial:
            self.partial.append(lines[0])
            lines[0] = b"".join(self.partial)
        self.partial, self.size = ([rest], len(rest)) if rest else ([], 0)
        for line in lines:
            on_line(line)

    def pipe_connection_lost(self, fd: int, exc: Exception | None) -> None:
        if self.partial:
            self.on_line(b"".join(self.partial))
            self.partial, self.size = [], 0

    def process_exited(self) -> None:
        self.on_exit()
