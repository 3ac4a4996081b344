"""Stop the load when its estimated spend is reached: ``--max-invocations`` and ``--max-usd``.

The estimate is the live cost of the records: the run's store (flushed by the collector at
least once a second) is read every ``poll_s``, and each record is priced as the analysis prices
it (bench/analysis/cost.py: billed GB-seconds at the first tier, plus the request charge, plus
API Gateway's request price for a call through a gateway that reached it, in
the run's region: the one given, else the one run.json, written before the load starts, records
beside the store; the stop names whose prices, us-east-1's when there is none). A
record without a REPORT line yet (no billed duration) is priced at its client latency rounded
up, which is never less than what Lambda bills for the invoke's duration; throttled invokes are
free. The stop reaches the load as a Ctrl-C does (BudgetReached is a KeyboardInterrupt thrown
into the main greenlet, as gevent delivers SIGINT): each user finishes the invoke it is in, so
the spend can pass the budget by what was in flight and up to one flush of records.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gevent

from bench.analysis.cost import arch_prices, duration_rate, gb_seconds
from bench.analysis.pricing import PER_CALL, prices_for
from bench.awsfacts import BASE_PRICE_REGION

POLL_S = 0.25


class BudgetReached(KeyboardInterrupt):
    """The budget stopped the load (a KeyboardInterrupt, so the load stops as on Ctrl-C)."""


@dataclass(frozen=True)
class Budget:
    max_invocations: int | None = None
    max_usd: float | None = None

    def __bool__(self) -> bool:
        return self.max_invocations is not None or self.max_usd is not None

    def reached(self, spend: Spend) -> str | None:
        """Why the load must stop, or None."""
        if self.max_invocations is not None and spend.invocations >= self.max_invocations:
            return f"{spend.invocations:,} invocations reached --max-invocations {self.max_invocations:,}"
        if self.max_usd is not None and spend.usd >= self.max_usd:
            return f"estimated ${spend.usd:.6f} reached --max-usd {self.max_usd:g}"
        return None


@dataclass(frozen=True)
class Spend:
    invocations: int
    usd: float
    prices: str = ""  # whose prices, in bench/analysis/pricing.py's words

    def describe(self) -> str:
        at = f", {self.prices}" if self.prices else ""
        return f"{self.invocations:,} invocations, estimated ${self.usd:.6f} (live cost of the records{at})"


_SPEND_SQL = """
SELECT variant, memory_mb, path, COUNT(*),
       SUM(CASE WHEN status = 'throttled' THEN 0 ELSE 1 END),
       SUM(CASE WHEN status = 'throttled' THEN 0
                ELSE COALESCE(billed_ms, CAST(client_ms AS INTEGER) + 1) + COALESCE(billed_restore_ms, 0) END),
       SUM(CASE WHEN status = 'transport_error' THEN 0 ELSE 1 END)
FROM invocations GROUP BY variant, memory_mb, path
"""


def spend_of(
    records_path: Path, memory_by_variant: dict[str, int], architecture: str, region: str | None = BASE_PRICE_REGION
) -> Spend:
    """The invocations recorded so far in ``records_path`` and their estimated cost in USD, in ``region``'s prices."""
    request_usd = arch_prices(architecture, region).request_usd_per_million / 1e6
    rate = duration_rate(architecture, region=region)
    prices = prices_for(region)
    invocations, usd, paths = 0, 0.0, {"direct"}
    conn = sqlite3.connect(f"file:{records_path}?mode=ro", uri=True)
    try:
        rows = conn.execute(_SPEND_SQL).fetchall()
    finally:
        conn.close()
    for variant, memory_mb, path, count, billable, billed_ms, reached in rows:
        memory = memory_mb or memory_by_variant.get(variant, 0)
        invocations += count
        usd += (billable or 0) * request_usd + gb_seconds(billed_ms or 0, memory) * rate
        # The gateway bills every request it received, its own refusals and throttles included
        # (an over-estimate for a budget is the safe side); a call that never reached it is free.
        usd += (reached or 0) * prices.gateway_usd_per_million(path) / 1e6
        paths.add(path)
    return Spend(invocations, usd, prices.statement(architecture, sorted(paths), PER_CALL))


def recorded_region(records_path: Path) -> str | None:
    """The region the run.json beside a run's store records (lambench run writes it before the
    load starts); None when there is no such file or it records none."""
    try:
        info = json.loads((Path(records_path).parent / "run.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    region = info.get("region") if isinstance(info, dict) else None
    return region if isinstance(region, str) and region else None


class BudgetWatch:
    """A greenlet that stops the load once the budget is reached; ``reached`` then says why."""

    def __init__(
        self, budget: Budget, records_path: Path, memory_by_variant: dict[str, int], architecture: str,
        poll_s: float = POLL_S, region: str | None = None,
    ) -> None:  # fmt: skip
        self.budget = budget
        self.records_path = records_path
        self.memory_by_variant = dict(memory_by_variant)
        self.architecture = architecture
        # None: the run's own, from its run.json; none there either is us-east-1's, and the stop says so.
        self.region = region if region is not None else recorded_region(records_path)
        self.poll_s = poll_s
        self.reached: str | None = None
        self.spend: Spend | None = None
        self._greenlet: Any = None

    def __enter__(self) -> BudgetWatch:
        if self.budget:
            self._greenlet = gevent.spawn(self._watch)
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        """Stop watching (the load is over): no stop may reach what runs after it."""
        if self._greenlet is not None:
            self._greenlet.kill()
            self._greenlet = None

    def _watch(self) -> None:
        while True:
            gevent.sleep(self.poll_s)
            try:
                spend = spend_of(self.records_path, self.memory_by_variant, self.architecture, self.region)
            except sqlite3.Error:
                continue  # the store is not created yet
            self.spend = spend
            reason = self.budget.reached(spend)
            if reason:
                self.reached = reason
                hub = gevent.get_hub()
                # Thrown from the hub into the main greenlet: how gevent delivers a Ctrl-C.
                hub.loop.run_callback(hub.parent.throw, BudgetReached(reason))
                return
