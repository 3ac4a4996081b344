"""Concurrency as Lambda enforces it: the account limit, reserved concurrency, the scaling rate.

- Account: at most ``account_limit`` invocations in flight in the region (default 1,000).
- Reserved (PutFunctionConcurrency): a function with N reserved runs at most N at once, and
  those N are taken out of the pool every other function shares; at least 100 must stay
  unreserved.
- Scaling rate (since Nov 2023): each function may add 1,000 execution environments every
  10 seconds, refilled continuously (a token bucket of 1,000 refilled at 100/s).

A throttled invoke never runs the function: it gets 429 TooManyRequestsException with the Reason.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from ..awsfacts import ACCOUNT_CONCURRENCY_DEFAULT, MIN_UNRESERVED_CONCURRENCY, SCALING_ENVIRONMENTS, SCALING_WINDOW_S
from .apierrors import LambdaApiError, invalid

MIN_UNRESERVED = MIN_UNRESERVED_CONCURRENCY
SCALE_BURST = SCALING_ENVIRONMENTS
SCALE_WINDOW_S = SCALING_WINDOW_S


def throttle(reason: str) -> LambdaApiError:
    return LambdaApiError(429, "TooManyRequestsException", "Rate Exceeded.", Reason=reason)


@dataclass
class ScalingBucket:
    capacity: float
    refill_per_s: float
    tokens: float = field(init=False)
    stamp: float = field(default_factory=time.monotonic)

    def __post_init__(self) -> None:
        self.tokens = self.capacity

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.refill_per_s)
        self.stamp = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


class ConcurrencyGate:
    def __init__(self, account_limit: int = ACCOUNT_CONCURRENCY_DEFAULT, scale_burst: int | None = SCALE_BURST) -> None:
        self.account_limit = account_limit
        self.scale_burst = scale_burst  # None: the scaling rate is not modelled
        self.reserved: dict[str, int] = {}
        self.in_flight: dict[str, int] = {}  # by function; a function with none has no entry
        self.in_flight_total = 0  # kept as it changes: admit, on every invoke, needs no sum while nothing is reserved
        self._buckets: dict[str, ScalingBucket] = {}

    @property
    def unreserved_limit(self) -> int:
        return self.account_limit - sum(self.reserved.values())

    def _unreserved_in_flight(self) -> int:
        reserved = self.reserved
        if not reserved:
            return self.in_flight_total
        return sum(n for name, n in self.in_flight.items() if name not in reserved)

    def admit(self, name: str) -> None:
        """Count one invocation in, or raise the throttle Lambda would answer with."""
        in_flight = self.in_flight
        if name in self.reserved:
            if in_flight.get(name, 0) >= self.reserved[name]:
                raise throttle("ReservedFunctionConcurrentInvocationLimitExceeded")
        elif self._unreserved_in_flight() >= self.unreserved_limit:
            raise throttle("ConcurrentInvocationLimitExceeded")
        in_flight[name] = in_flight.get(name, 0) + 1
        self.in_flight_total += 1

    def release(self, name: str) -> None:
        in_flight = self.in_flight
        count = in_flight.get(name, 0)
        if count > 1:
            in_flight[name] = count - 1
        elif count:
            del in_flight[name]
        else:
            return  # none in flight: nothing to release
        self.in_flight_total -= 1

    def new_environment(self, name: str) -> None:
        """Take one unit of the function's scaling rate for a new environment, or throttle."""
        if self.scale_burst is None:
            return
        bucket = self._buckets.setdefault(name, ScalingBucket(self.scale_burst, self.scale_burst / SCALE_WINDOW_S))
        if not bucket.take():
            # Lambda answers a scaling-rate throttle with the concurrency Reason.
            raise throttle("ConcurrentInvocationLimitExceeded")

    def set_reserved(self, name: str, value: int) -> None:
        if not isinstance(value, int) or value < 0:
            raise invalid(f"ReservedConcurrentExecutions {value!r}: must be an integer >= 0")
        others = sum(v for n, v in self.reserved.items() if n != name)
        if self.account_limit - others - value < MIN_UNRESERVED:
            raise invalid(
                "Specified ReservedConcurrentExecutions for function decreases account's "
                f"UnreservedConcurrentExecution below its minimum value of [{MIN_UNRESERVED}]."
            )
        self.reserved[name] = value

    def clear_reserved(self, name: str) -> None:
        self.reserved.pop(name, None)

    def forget(self, name: str) -> None:
        self.clear_reserved(name)
        self._buckets.pop(name, None)
