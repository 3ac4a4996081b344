"""Test function that reports what its execution environment looks like from inside.

Event keys: "spin" (CPU work units), "allocate_mb" (touch that much memory), "exit" (exit code).
"""

import os
import sys
import time


def _cgroup_cpu_share():
    for line in open("/proc/self/cgroup"):
        _, controllers, path = line.strip().split(":", 2)
        if "cpu" in controllers.split(","):
            base = f"/sys/fs/cgroup/{controllers}{path}"
            try:
                quota = int(open(f"{base}/cpu.cfs_quota_us").read())
                period = int(open(f"{base}/cpu.cfs_period_us").read())
            except OSError:
                return None
            return quota / period if quota > 0 else None
    return None


def _vm_kb(field):
    for line in open("/proc/self/status"):
        if line.startswith(field):
            return int(line.split()[1])
    return 0


def handler(event, context):
    if "exit" in event:
        sys.exit(event["exit"])
    hold = bytearray(event.get("allocate_mb", 0) * 1024 * 1024)
    for i in range(0, len(hold), 4096):
        hold[i] = 1
    started = time.process_time()
    total = 0
    for i in range(event.get("spin", 0)):
        total = (total + i * i) % 1_000_003
    return {
        "pid": os.getpid(),
        "cpu_s": time.process_time() - started,
        "cpu_share": _cgroup_cpu_share(),
        "vm_hwm_kb": _vm_kb("VmHWM:"),
        "init_type": os.environ.get("AWS_LAMBDA_INITIALIZATION_TYPE"),
        "tmpdir": os.environ.get("TMPDIR"),
    }
