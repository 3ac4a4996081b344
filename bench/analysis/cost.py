"""The cost model: what a million invocations cost at one memory size.

Prices come from bench.awsfacts, never from here. The model charges the first duration
tier, which is what a function pays until its account passes 6 B GB-s (x86_64) or
7.5 B GB-s (arm64) in a month, and leaves out the free tier, which belongs to the account
rather than to the function. Billed Duration already carries the INIT phase of cold starts
(billed since awsfacts.INIT_BILLING_SINCE), so a mean of billed ms prices cold starts too.
"""

from __future__ import annotations

import math

from bench.awsfacts import APIGW_USD_PER_MILLION, LAMBDA_PRICES, ArchPrices
from bench.records import PATHS


def gb_seconds(billed_ms: float, memory_mb: int) -> float:
    """GB-seconds of one invocation: billed ms / 1000 x memory MB / 1024."""
    return billed_ms / 1000.0 * memory_mb / 1024.0


def arch_prices(architecture: str) -> ArchPrices:
    """The price table of an architecture; ValueError naming the allowed ones otherwise."""
    try:
        return LAMBDA_PRICES[architecture]
    except KeyError:
        allowed = ", ".join(LAMBDA_PRICES)
        raise ValueError(f"architecture {architecture!r}: must be one of {allowed}") from None


def cost_per_million(
    mean_billed_ms: float, memory_mb: int, architecture: str, path: str = "direct"
) -> float:
    """USD per million invocations: Lambda duration and requests, plus API Gateway's charge.

    ``mean_billed_ms`` is the mean Billed Duration over invocations that ran (cold ones
    included); ``path`` adds the gateway's per-request price for ``apigw-*`` paths.
    """
    prices = arch_prices(architecture)
    if path not in PATHS:
        raise ValueError(f"path {path!r}: must be one of {', '.join(PATHS)}")
    if not math.isfinite(mean_billed_ms) or mean_billed_ms < 0:
        raise ValueError(f"mean_billed_ms {mean_billed_ms}: must be a finite number >= 0")
    if memory_mb <= 0:
        raise ValueError(f"memory_mb {memory_mb}: must be > 0")
    duration_usd = gb_seconds(mean_billed_ms, memory_mb) * prices.duration_tiers[0].usd_per_gb_s
    lambda_usd = 1e6 * duration_usd + prices.request_usd_per_million
    return lambda_usd + APIGW_USD_PER_MILLION.get(path, 0.0)
