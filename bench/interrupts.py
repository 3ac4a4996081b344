"""Holding off Ctrl-C while something must finish whole: removing what a run created, restoring a function.

A second Ctrl-C in the middle of a teardown or a restore would leave the user's account or
function half put back; the signal is kept until the block ends and raised then.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def holding_interrupts() -> Iterator[None]:
    """Defer SIGINT until the block ends, then raise KeyboardInterrupt if one came (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[object] = []
    previous = signal.signal(signal.SIGINT, lambda *args: caught.append(args))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        if caught:
            raise KeyboardInterrupt
