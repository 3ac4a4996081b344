"""Test function that reports what its execution environment looks like from inside.

Event keys: "spin" (CPU work units), "allocate_mb" (touch that much memory), "exit" (exit code).
The environment variable PROBE_INIT_SPIN adds that many work units to the module's import, the
INIT phase; the answer's "init_cpu_s" is the CPU time the process had used when INIT ended.

CPU share and memory limit are read from the process's own cgroups, v1 or v2, found through
/proc/self/cgroup; the readers take both paths as parameters so a test can point them at a
fake tree.
"""

import os
import sys
import time

PROC_SELF_CGROUP = "/proc/self/cgroup"
CGROUP_ROOT = "/sys/fs/cgroup"
# cgroup v1 writes "no limit" as the largest page-aligned signed 64-bit number.
V1_NO_LIMIT = 2**62


def spin(units):
    total = 0
    for i in range(units):
        total = (total + i * i) % 1_000_003
    return total


spin(int(os.environ.get("PROBE_INIT_SPIN", "0")))
# Everything this process has run so far is INIT: interpreter start, the runtime, this import.
INIT_CPU_S = time.process_time()


def cgroup_dirs(proc=PROC_SELF_CGROUP, root=CGROUP_ROOT):
    """{"cpu": folder, "memory": folder} of this process: a v1 hierarchy's, else the v2 one."""
    dirs, unified = {}, None
    with open(proc) as lines:
        for line in lines:
            hierarchy, controllers, path = line.strip().split(":", 2)
            if hierarchy == "0" and not controllers:
                unified = path
            for name in controllers.split(","):
                if name in ("cpu", "memory"):
                    dirs[name] = f"{root}/{controllers}{path}"
    if unified is not None:
        # Pure v2 mounts the hierarchy at the root; a hybrid host mounts it at unified/.
        mount = root if os.path.exists(f"{root}/cgroup.controllers") else f"{root}/unified"
        for name in ("cpu", "memory"):
            dirs.setdefault(name, mount + unified.rstrip("/"))
    return dirs


def _read(path):
    try:
        with open(path) as file:
            return file.read().split()
    except OSError:
        return None


def cgroup_cpu_share(dirs):
    """The CFS quota as a fraction of a CPU, or None where none is set."""
    base = dirs.get("cpu")
    if base is None:
        return None
    quota, period = _read(f"{base}/cpu.cfs_quota_us"), _read(f"{base}/cpu.cfs_period_us")
    if quota is None or period is None:
        quota_period = _read(f"{base}/cpu.max")  # v2: "QUOTA PERIOD" or "max PERIOD"
        if quota_period is None:
            return None
        quota, period = quota_period[:1], quota_period[1:]
    if quota[0] == "max" or int(quota[0]) <= 0:
        return None
    return int(quota[0]) / int(period[0])


def cgroup_memory_limit_mb(dirs):
    """The memory limit of this process's cgroup in MB, or None where there is none."""
    base = dirs.get("memory")
    if base is None:
        return None
    limit = _read(f"{base}/memory.limit_in_bytes") or _read(f"{base}/memory.max")
    if limit is None or limit[0] == "max" or int(limit[0]) >= V1_NO_LIMIT:
        return None
    return int(limit[0]) / (1024 * 1024)


def _vm_kb(field):
    with open("/proc/self/status") as status:
        for line in status:
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
    spin(event.get("spin", 0))
    dirs = cgroup_dirs()
    return {
        "pid": os.getpid(),
        "cpu_s": time.process_time() - started,
        "init_cpu_s": INIT_CPU_S,
        "cpu_share": cgroup_cpu_share(dirs),
        "memory_limit_mb": cgroup_memory_limit_mb(dirs),
        "vm_hwm_kb": _vm_kb("VmHWM:"),
        "init_type": os.environ.get("AWS_LAMBDA_INITIALIZATION_TYPE"),
        "tmpdir": os.environ.get("TMPDIR"),
    }
