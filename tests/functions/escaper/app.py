"""Hostile test function: starts a child in a session of its own, out of its environment's reach.

With {"spawn": true} it starts one such child per environment (the first time) and returns the
child's pid, so a test can check that the child is gone once the environment or the emulator
is. {"exit": true} then makes the runtime exit, leaving the child behind on its own.
"""

import os
import subprocess
import sys

child = None


def handler(event, context):
    global child
    if event.get("spawn") and child is None:
        child = subprocess.Popen(
            [sys.executable, "-c", "import time; time.sleep(3600)"],
            start_new_session=True,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    if event.get("exit"):
        os._exit(3)
    return {"pid": os.getpid(), "child": child.pid if child else None}
