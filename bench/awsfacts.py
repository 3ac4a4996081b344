"""AWS Lambda prices, limits and constants: one data table, each with its source and date.

Update the numbers here, never in logic. Sources: aws.amazon.com/lambda/pricing,
aws.amazon.com/api-gateway/pricing and the Lambda developer guide, as summarised in
shared/fixtures/aws/FACTS.md (checked 2026-11), and the AWS Price List for other regions
(REGION_PRICES says which figure comes from where). Prices are in USD.

REGION_PRICES holds what each region's sources list and nothing more: a figure a source
does not give is left out, never guessed. bench/analysis/pricing.py fills such a gap with
us-east-1's figure (the one complete table) and names it wherever a price is shown.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

MEMORY_MIN_MB = 128
MEMORY_MAX_MB = 10240
MEMORY_DEFAULT_MB = 128
# configuration-memory.html: 1,769 MB is one full vCPU; the top is 6 vCPUs at 10,240 MB.
MB_PER_VCPU = 1769
MAX_VCPUS = 6
TIMEOUT_MIN_S = 1
TIMEOUT_MAX_S = 900
TIMEOUT_DEFAULT_S = 3
SYNC_PAYLOAD_LIMIT_BYTES = 6 * 1024 * 1024
# 256 KB until 2025, 1 MB since (FACTS.md); the emulator's --async-payload-limit can set either.
ASYNC_PAYLOAD_LIMIT_BYTES = 1024 * 1024
# What Lambda's own error message names as the response limit: 6 MiB and 100 bytes.
RESPONSE_LIMIT_BYTES = 6_291_556
# gettingstarted-limits.html: 250 MB unzipped, in the bytes AWS's error names.
UNZIPPED_LIMIT_BYTES = 262_144_000
FUNCTION_NAME_MAX = 64
# configuration-envvars.html: the variables as compact JSON are at most 4 KB, and these are Lambda's.
ENVIRONMENT_LIMIT_BYTES = 4096
RESERVED_ENVIRONMENT_VARIABLES = frozenset(
    {
        "_HANDLER",
        "_X_AMZN_TRACE_ID",
        "AWS_DEFAULT_REGION",
        "AWS_REGION",
        "AWS_EXECUTION_ENV",
        "AWS_LAMBDA_FUNCTION_NAME",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
        "AWS_LAMBDA_FUNCTION_VERSION",
        "AWS_LAMBDA_INITIALIZATION_TYPE",
        "AWS_LAMBDA_LOG_GROUP_NAME",
        "AWS_LAMBDA_LOG_STREAM_NAME",
        "AWS_ACCESS_KEY",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_LAMBDA_RUNTIME_API",
        "LAMBDA_TASK_ROOT",
        "LAMBDA_RUNTIME_DIR",
        "TZ",
    }
)
# CloudWatch Logs: an event is at most 256 KB, its message's UTF-8 bytes plus 26 bytes each.
LOG_EVENT_MAX_BYTES = 262_144
LOG_EVENT_OVERHEAD_BYTES = 26
LOG_TAIL_BYTES = 4096
ACCOUNT_CONCURRENCY_DEFAULT = 1000
MIN_UNRESERVED_CONCURRENCY = 100  # PutFunctionConcurrency must leave this much unreserved
# scaling-behavior.html (since Nov 2023): each function may add 1,000 environments every 10 s.
SCALING_ENVIRONMENTS = 1000
SCALING_WINDOW_S = 10.0
ARCHITECTURES = ("x86_64", "arm64")
# The INIT phase is billed for on-demand ZIP functions on managed runtimes since this date
# (aws.amazon.com/blogs/compute/aws-lambda-standardizes-billing-for-init-phase).
INIT_BILLING_SINCE = "2025-08-01"


@dataclass(frozen=True)
class DurationTier:
    up_to_gb_s: float | None  # cumulative GB-seconds per month; None for the open top tier
    usd_per_gb_s: float


@dataclass(frozen=True)
class ArchPrices:
    """One architecture's complete Lambda prices in one region: what the cost model prices with."""

    duration_tiers: tuple[DurationTier, ...]
    request_usd_per_million: float
    provisioned_usd_per_gb_s: float
    provisioned_duration_usd_per_gb_s: float


@dataclass(frozen=True)
class RegionPrices:
    """What one region's sources list, by architecture (API Gateway: by path); a key left out
    is a figure no source gives, priced at us-east-1's and said so (bench/analysis/pricing.py).

    ``duration_usd_per_gb_s`` holds each duration tier's rate, first tier first, against
    DURATION_TIER_CEILINGS_GB_S; a source that lists only the first tier's rate gives one.
    """

    source: str
    duration_usd_per_gb_s: Mapping[str, tuple[float, ...]]
    request_usd_per_million: Mapping[str, float]
    provisioned_usd_per_gb_s: Mapping[str, float]
    provisioned_duration_usd_per_gb_s: Mapping[str, float]
    apigw_usd_per_million: Mapping[str, float]


# Where the tiers end, in cumulative GB-seconds a month: aws.amazon.com/lambda/pricing (us-east-1);
# eu-west-1's Price List offer file (below) has the same bounds. None: the open top tier.
DURATION_TIER_CEILINGS_GB_S: dict[str, tuple[float | None, ...]] = {
    "x86_64": (6e9, 15e9, None),
    "arm64": (7.5e9, 18.75e9, None),
}
# The one complete table: a figure another region's sources do not give is this region's.
BASE_PRICE_REGION = "us-east-1"

# Sources (figures are per GB-second, requests per million, API Gateway per million requests):
_FACTS = "aws.amazon.com/lambda/pricing and /api-gateway/pricing (us-east-1), checked 2026-11"
# [feed] The AWS Pricing Calculator's Lambda feed
#   calculator.aws/pricing/2.0/meteredUnitMaps/lambda/USD/current/lambda.json, as mirrored in
#   remotion-dev/remotion packages/lambda/src/pricing/price-per-1-s.ts (commit 046e45a, read
#   2026-12-01; rate codes there). Per region it gives Duration and Duration-ARM (first tier),
#   Requests and Requests-ARM, and Duration-Provisioned and Provisioned-Concurrency for x86_64
#   only: no arm64 provisioned prices and no later duration tiers.
_FEED = "AWS Pricing Calculator feed lambda.json via remotion-dev/remotion@046e45a, read 2026-12-01"
# [offer] The AWS Price List offer files for eu-west-1
#   pricing.us-east-1.amazonaws.com/offers/v1.0/aws/{AWSLambda,AmazonApiGateway}/current/eu-west-1/index.json
#   (AWSLambda published 2026-10-01, AmazonApiGateway 2026-09-21), as snapshotted on 2026-10-02 in
#   mamtha4u/SDLC backend/config/pricing_eu-west-1.json (commit 45b7bae, read 2026-12-01): every
#   duration tier (x86_64 and arm64), and API Gateway's first tiers, HTTP API $1.11 and REST API $3.50.
_OFFER_EU_WEST_1 = "AWS Price List offer files for eu-west-1 (published 2026-10) via mamtha4u/SDLC@45b7bae"
# API Gateway's regional prices for the other regions: no source found, so they are us-east-1's.

_REQUESTS = {"x86_64": 0.20, "arm64": 0.20}


def _feed(x86: float, arm: float, provisioned_duration: float, provisioned: float) -> RegionPrices:
    """A region as the [feed] lists it: first-tier duration, requests, x86_64 provisioned prices."""
    return RegionPrices(
        source=_FEED,
        duration_usd_per_gb_s={"x86_64": (x86,), "arm64": (arm,)},
        request_usd_per_million=_REQUESTS,
        provisioned_usd_per_gb_s={"x86_64": provisioned},
        provisioned_duration_usd_per_gb_s={"x86_64": provisioned_duration},
        apigw_usd_per_million={},
    )


REGION_PRICES: dict[str, RegionPrices] = {
    # FACTS.md's table; the [feed] gives the same first tier, requests and x86_64 provisioned figures.
    "us-east-1": RegionPrices(
        source=_FACTS,
        duration_usd_per_gb_s={
            "x86_64": (0.0000166667, 0.000015, 0.0000133334),
            "arm64": (0.0000133334, 0.0000120001, 0.0000106667),
        },
        request_usd_per_million=_REQUESTS,
        provisioned_usd_per_gb_s={"x86_64": 0.0000041667, "arm64": 0.0000033334},
        provisioned_duration_usd_per_gb_s={"x86_64": 0.0000097222, "arm64": 0.0000077778},
        apigw_usd_per_million={"apigw-http": 1.00, "apigw-rest": 3.50},
    ),
    # Tiers, requests and API Gateway from the [offer] files; x86_64 provisioned from the [feed].
    "eu-west-1": RegionPrices(
        source=f"{_OFFER_EU_WEST_1}; provisioned concurrency: {_FEED}",
        duration_usd_per_gb_s={
            "x86_64": (0.0000166667, 0.000015, 0.0000133334),
            "arm64": (0.0000133334, 0.0000120001, 0.0000106667),
        },
        request_usd_per_million=_REQUESTS,
        provisioned_usd_per_gb_s={"x86_64": 0.0000046460},
        provisioned_duration_usd_per_gb_s={"x86_64": 0.0000108407},
        apigw_usd_per_million={"apigw-http": 1.11, "apigw-rest": 3.50},
    ),
    # The [feed]'s other regions: (Duration, Duration-ARM, Duration-Provisioned, Provisioned-Concurrency).
    "ap-southeast-1": _feed(0.0000166667, 0.0000133334, 0.0000121313, 0.0000051991),
    "ap-southeast-2": _feed(0.0000166667, 0.0000133334, 0.0000122173, 0.0000052360),
    "ap-northeast-1": _feed(0.0000166667, 0.0000133334, 0.0000125615, 0.0000053835),
    "ap-south-1": _feed(0.0000166667, 0.0000133334, 0.0000104966, 0.0000044985),
    "eu-central-1": _feed(0.0000166667, 0.0000133334, 0.0000117011, 0.0000050147),
    "eu-west-2": _feed(0.0000166667, 0.0000133334, 0.0000112709, 0.0000048304),
    "us-east-2": _feed(0.0000166667, 0.0000133334, 0.0000097222, 0.0000041667),
    "us-west-2": _feed(0.0000166667, 0.0000133334, 0.0000097222, 0.0000041667),
}

FREE_TIER_REQUESTS = 1_000_000
FREE_TIER_GB_S = 400_000
# The free tier covers on-demand requests and duration only, never provisioned concurrency.

# Provisioned concurrency is billed from enable to disable, rounded up to 5 minutes.
PROVISIONED_BILLING_INCREMENT_S = 300
# AWS's own pricing examples count a month as 730 hours (365 x 24 / 12).
HOURS_PER_MONTH = 730

# How many requests a month API Gateway's first-tier price covers (HTTP API 300 M, REST API
# 333 M): aws.amazon.com/api-gateway/pricing for us-east-1; eu-west-1's Price List offer file
# (REGION_PRICES) has the same bounds.
APIGW_FIRST_TIER_REQUESTS = {"apigw-http": 300e6, "apigw-rest": 333e6}

# aws-lambda-power-tuning's own formula: ceil(ms) x 2.1e-9 USD per ms at 128 MB, scaled by memory.
POWER_TUNING_USD_PER_MS_128MB = 2.1e-9
# ... and for arm64 (its template.yml baseCosts, "default" region): 1.7e-9. Every region of
# REGION_PRICES falls under APLT's "default" (its own regional figures are for regions we hold
# no table for), so its formula does not change with our regions.
POWER_TUNING_ARM64_USD_PER_MS_128MB = 1.7e-9


def lambda_log_group(function_name: str) -> str:
    """Where Lambda writes a function's logs; created by its first invoke, kept after it is deleted."""
    return f"/aws/lambda/{function_name}"


def apigw_access_log_group(function_name: str) -> str:
    """Where lambench's APIs (the emulator's fronts, ``deploy --target aws``) write their access
    logs: the group the API Gateway log join reads unless it is given another."""
    return f"/aws/apigateway/{function_name}"


def vcpus_for(memory_mb: int) -> float:
    """The CPU share Lambda gives a memory size: memory / 1,769 MB, at most 6 vCPUs."""
    return min(memory_mb / MB_PER_VCPU, MAX_VCPUS)
