"""Runs awslambdaric with the handler's CPU time stretched to the environment's CPU share.

The ``dilation`` cpu_mode, for hosts where no CPU quota can be set: after each invocation
the environment sleeps for cpu_time x (1/share - 1), so a CPU-bound handler takes as long as it
would on memory/1769 of a core. It is run as a script (not ``-m``), so that nothing of lambench
is importable by the function; its own folder is taken off sys.path for the same reason.
"""

import os
import sys
import time

sys.path.pop(0)

from awslambdaric import __main__ as ric_main  # noqa: E402
from awslambdaric import bootstrap  # noqa: E402

SHARE = float(os.environ.pop("LAMBENCH_CPU_SHARE", "1"))


def dilated(handler):
    def run_with_share(event, context):
        started = time.process_time()
        try:
            return handler(event, context)
        finally:
            used = time.process_time() - started
            time.sleep(used * (1.0 / SHARE - 1.0))

    return run_with_share


if SHARE < 1.0:
    _get_handler = bootstrap._get_handler
    bootstrap._get_handler = lambda name: dilated(_get_handler(name))

if __name__ == "__main__":
    ric_main.main(sys.argv)
