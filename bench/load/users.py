"""Locust users that invoke Lambda: the abstract LambdaUser, in Locust's custom-client shape.

Each user walks the variants round-robin from its own random starting point, so every memory
size is exercised interleaved, under the same machine conditions, throughout the run. All users of
one Locust environment share one Lambda client (settings.client: fast or boto3) and its pool.

In closed loop a user invokes again as soon as an answer is back; in open loop (settings.rps) it
invokes at the arrivals it claims from its process's Poisson stream (bench/load/openloop.py).
"""

from __future__ import annotations

from locust import User, task

from .invoker import LambdaInvoker, make_invoke_client
from .openloop import arrival_wait, begin_arrival, wait_for_first_arrival
from .settings import variant_rotation

# The pool bounds connections, it does not hold them: they open as users need them, one per
# invoke in flight. A bound below the user count would queue invokes inside the client and inflate
# client_ms, and the web UI can raise the user count after the client exists: hence the floor.
MIN_POOL_SIZE = 1000


def _shared_client(environment):
    # One client per Locust environment (kept on it), its pool sized for every user at once.
    client = getattr(environment, "lambench_client", None)
    if client is None:
        runner = environment.runner
        users = getattr(environment.parsed_options, "num_users", None) or getattr(runner, "target_user_count", 0) or 0
        client = make_invoke_client(environment.lambench, pool_size=max(users, MIN_POOL_SIZE))
        environment.lambench_client = client
    return client


class LambdaUser(User):
    """Invokes the configured function's variants directly (the Invoke API), one after another."""

    abstract = True
    wait_time = arrival_wait

    def __init__(self, environment) -> None:
        super().__init__(environment)
        settings = environment.lambench
        self.invoker = LambdaInvoker(_shared_client(environment), environment.events.request, settings)
        self._variants = variant_rotation(settings.variants)

    def on_start(self) -> None:
        wait_for_first_arrival(self)

    @task
    def invoke_next_variant(self) -> None:
        if begin_arrival(self):  # not once the test is stopping: the arrival is then not started
            self.invoker.invoke(next(self._variants))
