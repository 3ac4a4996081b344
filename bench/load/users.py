"""Locust users that invoke Lambda: the abstract LambdaUser, in Locust's custom-client shape.

Each user walks the variants round-robin from its own random starting point, so every memory
size is exercised interleaved, under the same machine conditions, throughout the run.
"""

from __future__ import annotations

import itertools
import random

from locust import User, constant, task

from .invoker import LambdaInvoker, make_lambda_client

_CLIENTS: dict[int, object] = {}


def _shared_client(environment):
    # One client per Locust environment: its connection pool is sized for every user at once.
    key = id(environment)
    if key not in _CLIENTS:
        runner = environment.runner
        users = getattr(environment.parsed_options, "num_users", None) or getattr(runner, "target_user_count", 0) or 50
        _CLIENTS[key] = make_lambda_client(environment.lambench, pool_size=users)
    return _CLIENTS[key]


class LambdaUser(User):
    """Invokes the configured function's variants directly (the Invoke API), one after another."""

    abstract = True
    wait_time = constant(0)

    def __init__(self, environment) -> None:
        super().__init__(environment)
        settings = environment.lambench
        self.invoker = LambdaInvoker(_shared_client(environment), environment.events.request, settings)
        variants = list(settings.variants)
        start = random.randrange(len(variants))
        self._variants = itertools.cycle(variants[start:] + variants[:start])

    @task
    def invoke_next_variant(self) -> None:
        self.invoker.invoke(next(self._variants))
