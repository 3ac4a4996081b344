"""The cost model of one invocation: billed duration, GB-seconds, tiers and prices.

Prices come from bench.awsfacts, never from here, in the run's region (``region``: the table
of bench/analysis/pricing.py, us-east-1's figures where the region's sources give none, and
us-east-1's throughout for a region with no table or None, a run that recorded none).
``cost_per_million`` charges the first duration tier, what a function pays until its account
passes 6 B GB-s (x86_64) or 7.5 B GB-s (arm64) in a month, and leaves out the free tier,
which belongs to an account's month rather than to a function; bench.analysis.monthly
projects a whole month with both.

INIT billing: since awsfacts.INIT_BILLING_SINCE the REPORT line's Billed Duration of an
on-demand cold start is ceil(Duration + Init Duration), so a mean of billed ms prices cold
starts too. Before that date, and for environments of provisioned concurrency (whose INIT
the provisioned charge covers), only ceil(Duration) was billed: ``billed_duration_ms``
models both.

``power_tuning_cost`` is aws-lambda-power-tuning's formula, kept to show where the two
differ (tests/test_cost.py): it has no request charge, no INIT, no tiers and a rounded rate.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from scipy import stats

from bench.analysis.pricing import prices_for
from bench.awsfacts import BASE_PRICE_REGION, INIT_BILLING_SINCE, POWER_TUNING_USD_PER_MS_128MB, ArchPrices
from bench.records import PATHS

PROVISIONED = "provisioned-concurrency"
# aws-lambda-power-tuning's discardTopBottom default: the fraction cut from each end.
POWER_TUNING_DISCARD = 0.2


def gb_seconds(billed_ms: float, memory_mb: int) -> float:
    """GB-seconds of one invocation: billed ms / 1000 x memory MB / 1024."""
    return billed_ms / 1000.0 * memory_mb / 1024.0


def arch_prices(architecture: str, region: str | None = BASE_PRICE_REGION) -> ArchPrices:
    """The prices of an architecture in a region; ValueError naming the allowed architectures otherwise."""
    return prices_for(region).arch(architecture)


def gateway_usd_per_million(path: str, region: str | None = BASE_PRICE_REGION) -> float:
    """API Gateway's price per million requests on ``path`` in a region (0 for ``direct``)."""
    return prices_for(region).gateway_usd_per_million(path)


def check_path(path: str) -> str:
    if path not in PATHS:
        raise ValueError(f"path {path!r}: must be one of {', '.join(PATHS)}")
    return path


def init_is_billed(init_type: str | None, invoked_on: date) -> bool:
    """Whether an invocation's INIT phase was in its Billed Duration.

    Not for environments of provisioned concurrency (the provisioned charge pays for their
    INIT), nor for anything invoked before awsfacts.INIT_BILLING_SINCE; yes otherwise.
    """
    return init_type != PROVISIONED and invoked_on >= date.fromisoformat(INIT_BILLING_SINCE)


def billed_duration_ms(duration_ms: float, init_ms: float | None, *, init_billed: bool) -> int:
    """Billed Duration at 1 ms granularity: ceil(Duration [+ Init Duration when billed])."""
    if duration_ms < 0 or (init_ms is not None and init_ms < 0):
        raise ValueError("durations must be >= 0")
    billed = duration_ms + ((init_ms or 0.0) if init_billed else 0.0)
    return math.ceil(billed)


def duration_rate(architecture: str, *, provisioned: bool = False, region: str | None = BASE_PRICE_REGION) -> float:
    """USD per GB-second of duration: the first on-demand tier, or the provisioned rate."""
    prices = arch_prices(architecture, region)
    if provisioned:
        return prices.provisioned_duration_usd_per_gb_s
    return prices.duration_tiers[0].usd_per_gb_s


def invocation_cost(
    billed_ms: float,
    memory_mb: int,
    architecture: str,
    *,
    provisioned: bool = False,
    include_request: bool = True,
    region: str | None = BASE_PRICE_REGION,
) -> float:
    """USD of one invocation: its GB-seconds at the first tier (or the provisioned duration
    rate for one served by provisioned concurrency), plus the request charge."""
    request = arch_prices(architecture, region).request_usd_per_million / 1e6 if include_request else 0.0
    rate = duration_rate(architecture, provisioned=provisioned, region=region)
    return gb_seconds(billed_ms, memory_mb) * rate + request


def cost_per_million(
    mean_billed_ms: float,
    memory_mb: int,
    architecture: str,
    path: str = "direct",
    *,
    provisioned: bool = False,
    region: str | None = BASE_PRICE_REGION,
) -> float:
    """USD per million invocations in ``region``: Lambda duration and requests, plus API Gateway's charge.

    ``mean_billed_ms`` is the mean Billed Duration over invocations that ran (cold ones
    included); ``path`` adds the gateway's per-request price for ``apigw-*`` paths;
    ``provisioned`` prices the duration at the lower rate of invocations served by
    provisioned concurrency (the provisioned charge itself is per hour, not per call).
    """
    arch_prices(architecture, region)
    check_path(path)
    if not math.isfinite(mean_billed_ms) or mean_billed_ms < 0:
        raise ValueError(f"mean_billed_ms {mean_billed_ms}: must be a finite number >= 0")
    if memory_mb <= 0:
        raise ValueError(f"memory_mb {memory_mb}: must be > 0")
    lambda_usd = 1e6 * invocation_cost(mean_billed_ms, memory_mb, architecture, provisioned=provisioned, region=region)
    return lambda_usd + gateway_usd_per_million(path, region)


@dataclass(frozen=True)
class TierCharge:
    """The GB-seconds of one month that fall in one duration tier, and what they cost."""

    tier: int  # 1-based
    gb_s: float
    usd_per_gb_s: float

    @property
    def usd(self) -> float:
        return self.gb_s * self.usd_per_gb_s


def tiered_duration(
    gb_s: float, architecture: str, *, start_gb_s: float = 0.0, region: str | None = BASE_PRICE_REGION
) -> tuple[TierCharge, ...]:
    """Split a month's on-demand GB-seconds over the duration tiers.

    The tiers count cumulative GB-seconds in the month (awsfacts.DurationTier.up_to_gb_s);
    the range [start_gb_s, gb_s] is charged, so GB-seconds already used (the free tier's,
    say) still move the month along the tiers. Tiers with nothing in them are left out.
    """
    if not 0 <= start_gb_s <= gb_s or not math.isfinite(gb_s):
        raise ValueError(f"GB-seconds {start_gb_s}..{gb_s}: must satisfy 0 <= start <= total")
    charges, floor = [], 0.0
    for i, tier in enumerate(arch_prices(architecture, region).duration_tiers, start=1):
        ceiling = math.inf if tier.up_to_gb_s is None else tier.up_to_gb_s
        inside = max(0.0, min(gb_s, ceiling) - max(start_gb_s, floor))
        if inside > 0:
            charges.append(TierCharge(i, inside, tier.usd_per_gb_s))
        floor = ceiling
    return tuple(charges)


def power_tuning_cost(
    duration_ms: float, memory_mb: int, usd_per_ms_128mb: float = POWER_TUNING_USD_PER_MS_128MB
) -> float:
    """USD of one invocation by aws-lambda-power-tuning's formula.

    ceil(duration ms) x 2.1e-9 USD per ms at 128 MB x memory / 128: no request charge, no
    INIT, no tiers, and 2.1e-9 where the list price gives 0.0000166667 / 1024 / 1000 x 128
    = 2.0833e-9 per ms at 128 MB (x86_64).
    """
    if duration_ms < 0 or memory_mb <= 0:
        raise ValueError("duration_ms must be >= 0 and memory_mb > 0")
    return math.ceil(duration_ms) * usd_per_ms_128mb * memory_mb / 128


def power_tuning_mean(durations: Sequence[float], discard: float = POWER_TUNING_DISCARD) -> float:
    """aws-lambda-power-tuning's average duration: a trimmed mean cutting ``discard`` of the
    sorted values from each end (scipy.stats.trim_mean; its default cuts 20%)."""
    if not durations:
        raise ValueError("no durations to average")
    return float(stats.trim_mean(durations, discard))
