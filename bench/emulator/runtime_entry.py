"""The first code a Python execution environment runs: awslambdaric, taught the token path, metered.

The emulator's Runtime API address carries a per-environment token as a path
(AWS_LAMBDA_RUNTIME_API=127.0.0.1:PORT/TOKEN, see runtime_api.py). awslambdaric's native client
builds its URLs as http://{address}/2018-06-01/..., so the token rides along. Its Python side
(``call_rapid``, used to report an init error such as Runtime.ImportModuleError) hands the
address to http.client as host:port, which refuses a path: here it gets the same request with
the token in front of its path instead.

The meter. From the moment an event arrives to the moment its answer is posted, this process
measures, from inside (so that the emulator's own delays stay out): the wall time, its CPU time,
and its run-queue delay (time runnable but waiting for a CPU: field 2 of
/proc/self/task/*/schedstat), and, under a CPU quota, the time its cgroup was throttled (which the
kernel counts as run-queue delay too). It writes one line per invocation, before it posts the
answer, to the pipe the emulator gave it (LAMBENCH_METER_FD), so the line is there when the answer
arrives. In the ``dilation`` cpu_mode (LAMBENCH_CPU_SHARE < 1) it also stretches the invocation:
it sleeps cpu_time x (1/share - 1) before posting, for the runtime's own work as well as the
handler's, as a quota would hold both.

awslambdaric polls /next from a new thread per event on python3.12 and later, so that SIGINT works
while it waits. Here /next is polled on the main thread, as awslambdaric does for the older
runtimes: the emulator signals an environment only to kill it (SIGKILL), and the handler sees the
same threads either way (awslambdaric's polling thread has ended before the handler runs). That
thread's hand-offs cost more CPU than the rest of this shim together (issue 15).

The meter lists the process's threads again only when their number (the link count of
/proc/self/task: 2 + threads) or a failed read says they changed, and reads each one's schedstat
with bare system calls: a reading costs a stat and an open, a read and a close per thread, not a
directory listing plus a buffered file object per thread.

Run as a script (``python -s -S runtime_entry.py HANDLER``), so nothing of lambench is importable
by the function; its own folder is taken off sys.path at once, and the meter's variables are
taken out of the environment before the function's code is imported.
"""

import contextlib
import os
import sys
import time

sys.path.pop(0)

from awslambdaric import lambda_runtime_client as ric_client  # noqa: E402
from awslambdaric.lambda_runtime_marshaller import to_json  # noqa: E402

METER_FD = int(os.environ.pop("LAMBENCH_METER_FD", "-1"))
SHARE = float(os.environ.pop("LAMBENCH_CPU_SHARE", "1"))
CPU_STAT = os.environ.pop("LAMBENCH_CPU_STAT", "")  # the cgroup's cpu.stat, under a CPU quota


def call_rapid(self, http_method, endpoint, expected_http_code, payload=None, headers=None):
    """awslambdaric's BaseLambdaRuntimeClient.call_rapid, with the address's path before ``endpoint``."""
    import http.client  # lazily, as awslambdaric does: it pulls in ssl and hashlib

    address, _, prefix = self.lambda_runtime_address.partition("/")
    connection = http.client.HTTPConnection(address)
    body = None if http_method == "GET" else to_json(payload)
    connection.request(http_method, f"/{prefix}{endpoint}" if prefix else endpoint, body, headers or {})
    response = connection.getresponse()
    response_body = response.read()
    if response.status != expected_http_code:
        raise ric_client.LambdaRuntimeClientError(endpoint, response.status, response_body)


_TIDS: list[str] = []  # this process's threads, as last listed


def run_delay_ns():
    """Run-queue delay of this process's live threads, in ns (a thread that ended takes its own along)."""
    if os.stat("/proc/self/task").st_nlink - 2 == len(_TIDS):
        total, complete = _run_delay_of(_TIDS)
        if complete:  # the same threads, unless one ended (its file is gone) and another started
            return total
    _TIDS[:] = os.listdir("/proc/self/task")
    return _run_delay_of(_TIDS)[0]


def _run_delay_of(tids):
    """(the threads' run-queue delay in ns, whether every one was read)."""
    total, complete = 0, True
    for tid in tids:
        # os.open and os.read, not open(): no file object (an fstat, an ioctl and an lseek more).
        try:
            fd = os.open(f"/proc/self/task/{tid}/schedstat", os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            complete = False
            continue
        try:
            total += int(os.read(fd, 128).split()[1])
        except (OSError, IndexError, ValueError):
            complete = False
        finally:
            os.close(fd)
    return total, complete


def throttled_ns():
    """How long this environment's cgroup has been throttled, in ns (0 without a quota)."""
    if not CPU_STAT:
        return 0
    try:
        with open(CPU_STAT, "rb") as stat:
            for line in stat:
                key, _, value = line.partition(b" ")
                if key == b"throttled_time":  # cgroup v1, ns
                    return int(value)
                if key == b"throttled_usec":  # cgroup v2, µs
                    return int(value) * 1000
    except (OSError, ValueError):
        pass
    return 0


class Meter:
    """One invocation's readings, from its event's arrival to its answer."""

    def __init__(self):
        self.request_id = None
        self.start = (0, 0, 0, 0)

    @staticmethod
    def read():
        return time.monotonic_ns(), time.process_time_ns(), run_delay_ns(), throttled_ns()

    def begin(self, request_id):
        self.request_id = request_id
        self.start = self.read()

    def end(self, request_id):
        if request_id != self.request_id:
            return
        self.request_id = None
        wall0, cpu0, rq0, thr0 = self.start
        cpu = time.process_time_ns() - cpu0
        if SHARE < 1.0:
            time.sleep(cpu / 1e9 * (1.0 / SHARE - 1.0))
        wall1, _, rq1, thr1 = self.read()
        if METER_FD >= 0:
            line = f"{request_id} {wall1 - wall0} {cpu} {max(0, rq1 - rq0)} {max(0, thr1 - thr0)}\n"
            with contextlib.suppress(OSError):  # the emulator stopped reading: it keeps its own clock
                os.write(METER_FD, line.encode())


METER = Meter()


def wait_next_invocation(self):
    """awslambdaric's wait_next_invocation, polling on the main thread (module docstring)."""
    try:
        response_body, headers = self._get_next()
    except Exception as e:
        raise ric_client.FaultException(
            ric_client.FaultException.LAMBDA_RUNTIME_CLIENT_ERROR,
            f"LAMBDA_RUNTIME Failed to get next invocation: {e}",
            None,
        ) from None
    request_id = headers.get("Lambda-Runtime-Aws-Request-Id")
    METER.begin(request_id)
    return ric_client.InvocationRequest(
        invoke_id=request_id,
        x_amzn_trace_id=headers.get("Lambda-Runtime-Trace-Id"),
        invoked_function_arn=headers.get("Lambda-Runtime-Invoked-Function-Arn"),
        deadline_time_in_ms=headers.get("Lambda-Runtime-Deadline-Ms"),
        client_context=headers.get("Lambda-Runtime-Client-Context"),
        cognito_identity=headers.get("Lambda-Runtime-Cognito-Identity"),
        tenant_id=headers.get("Lambda-Runtime-Aws-Tenant-Id"),
        content_type=headers.get("Content-Type"),
        event_body=response_body,
        invocation_id=headers.get("Lambda-Runtime-Invocation-Id"),
    )


def metered(post):
    def post_after_meter(self, invoke_id, *args, **kwargs):
        METER.end(invoke_id)
        return post(self, invoke_id, *args, **kwargs)

    return post_after_meter


Client = ric_client.BaseLambdaRuntimeClient
Client.call_rapid = call_rapid
Client.wait_next_invocation = wait_next_invocation
Client.post_invocation_result = metered(Client.post_invocation_result)
Client.post_invocation_error = metered(Client.post_invocation_error)
if METER_FD >= 0:
    os.set_inheritable(METER_FD, False)  # the function's own subprocesses never get it

if __name__ == "__main__":
    from awslambdaric import __main__ as ric_main

    ric_main.main(sys.argv)
