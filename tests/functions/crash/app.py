"""Test function that kills its own runtime process mid-invoke (as a segfault or OOM does)."""

import os
import signal


def handler(event, context):
    if event.get("crash"):
        os.kill(os.getpid(), signal.SIGKILL)
    return {"pid": os.getpid()}
