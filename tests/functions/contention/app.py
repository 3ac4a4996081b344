"""Test function for host contention, written as third-party functions are (SeBS-style workloads).

event["work"]:
- "spin": CPU-bound loop of event["n"] iterations (as SeBS's compute benchmarks burn CPU);
- "sleep": waits event["sleep_s"] seconds off the CPU (as an I/O-bound function waits);
- "threads": the same spin split over two threads of a pool kept across invocations (as functions
  keep one for concurrent I/O): a thread that ends takes its own run-queue delay with it, which no
  reading from outside can recover, so the pool's threads are the ones a meter can see;
- "close_pipes": hostile: closes every pipe it did not open (beyond stdin, stdout and stderr), then answers.
"""

import os
import time
from concurrent.futures import ThreadPoolExecutor

POOL = ThreadPoolExecutor(max_workers=2)


def spin(n):
    x = 0
    for i in range(n):
        x = (x * 1103515245 + i) & 0xFFFFFFFF
    return x


def handler(event, context):
    work = event.get("work", "spin")
    n = int(event.get("n", 100_000))
    if work == "sleep":
        time.sleep(float(event.get("sleep_s", 0.05)))
        return {"slept": True}
    if work == "threads":
        for future in [POOL.submit(spin, n // 2) for _ in range(2)]:
            future.result()
        return {"threads": 2}
    if work == "close_pipes":
        closed = 0
        for fd in os.listdir("/proc/self/fd"):
            try:
                if int(fd) > 2 and os.readlink(f"/proc/self/fd/{fd}").startswith("pipe:"):
                    os.close(int(fd))
                    closed += 1
            except OSError:
                continue
        return {"closed": closed}
    return {"checksum": spin(n)}
