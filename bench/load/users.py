"""Locust users that invoke Lambda: the abstract LambdaUser, in Locust's custom-client shape.

Each user walks the variants round-robin from its own random starting point, so every memory
size is exercised interleaved, under the same machine conditions, throughout the run. All users of
one Locust environment share one Lambda client (settings.client: fast or boto3) and its pool.
"""

from __future__ import annotations

from locust import User, constant, task

from .invoker import LambdaInvoker, make_invoke_client
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
    wait_time = constant(0)

    def __init__(self, environment) -> None:
        super().__init__(environment)
        settings = environment.lambench
        self.invoker = LambdaInvoker(_shared_client(environment), environment.events.request, settings)
        self._variants = variant_rotation(settings.variants)

    @task
    def invoke_next_variant(self) -> None:
        self.invoker.invoke(next(self._variants))
