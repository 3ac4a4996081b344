"""Tuning workloads with known shapes of duration against memory (tests/perf/tune_bench.py, tests/test_tune_*).

- ``cpu``: single-threaded integer work; its duration scales with 1769 / MB below one vCPU.
- ``sleep``: waiting only; duration flat, so cost grows with memory.
- ``mixed``: some CPU work, then some waiting.
- ``memory``: holds event["mb"] MB (default 160) while it works: out of memory below that.
- ``noisy``: a little CPU work, then a heavy-tailed (Pareto) wait: most calls short, a few long.
- ``fail``: raises, with event["error"] as its type name (allowedExceptions).
Each reads its size from the event, so a test can make it shorter; the defaults take a few ms.
"""

import random
import time


def spin(n):
    x = 0x9E3779B9
    for _ in range(n):
        x = (x * 1103515245 + 12345) & 0xFFFFFFFF
    return x


def cpu(event, context):
    return {"x": spin(int(event.get("n", 30_000)))}


def sleep(event, context):
    time.sleep(float(event.get("ms", 8)) / 1000)
    return {"slept": True}


def mixed(event, context):
    x = spin(int(event.get("n", 15_000)))
    time.sleep(float(event.get("ms", 6)) / 1000)
    return {"x": x}


def memory(event, context):
    held = bytearray(int(event.get("mb", 160)) * 1024 * 1024)
    for i in range(0, len(held), 4096):  # touch every page, so it is resident
        held[i] = 1
    return {"x": spin(int(event.get("n", 10_000))), "held": len(held)}


def noisy(event, context):
    x = spin(int(event.get("n", 10_000)))
    # Pareto with shape 1.5: a finite mean, an infinite variance's tail, capped to keep calls short.
    wait_ms = min(float(event.get("ms", 2)) * random.paretovariate(1.5), 200.0)
    time.sleep(wait_ms / 1000)
    return {"x": x}


class HandledError(Exception):
    pass


def fail(event, context):
    raise HandledError("as asked")
