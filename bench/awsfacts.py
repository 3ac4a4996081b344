"""AWS Lambda prices, limits and constants: one data table, each with its source and date.

Update the numbers here, never in logic. Sources: aws.amazon.com/lambda/pricing,
aws.amazon.com/api-gateway/pricing and the Lambda developer guide, as summarised in
shared/fixtures/aws/FACTS.md (checked 2026-11). Prices are us-east-1, in USD.
"""

from __future__ import annotations

from dataclasses import dataclass

PRICES_SOURCE = "aws.amazon.com/lambda/pricing, us-east-1, checked 2026-11"

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
    duration_tiers: tuple[DurationTier, ...]
    request_usd_per_million: float
    provisioned_usd_per_gb_s: float
    provisioned_duration_usd_per_gb_s: float


LAMBDA_PRICES: dict[str, ArchPrices] = {
    "x86_64": ArchPrices(
        duration_tiers=(
            DurationTier(6e9, 0.0000166667),
            DurationTier(15e9, 0.000015),
            DurationTier(None, 0.0000133334),
        ),
        request_usd_per_million=0.20,
        provisioned_usd_per_gb_s=0.0000041667,
        provisioned_duration_usd_per_gb_s=0.0000097222,
    ),
    "arm64": ArchPrices(
        duration_tiers=(
            DurationTier(7.5e9, 0.0000133334),
            DurationTier(18.75e9, 0.0000120001),
            DurationTier(None, 0.0000106667),
        ),
        request_usd_per_million=0.20,
        provisioned_usd_per_gb_s=0.0000033334,
        provisioned_duration_usd_per_gb_s=0.0000077778,
    ),
}

FREE_TIER_REQUESTS = 1_000_000
FREE_TIER_GB_S = 400_000
# The free tier covers on-demand requests and duration only, never provisioned concurrency.

# Provisioned concurrency is billed from enable to disable, rounded up to 5 minutes.
PROVISIONED_BILLING_INCREMENT_S = 300
# AWS's own pricing examples count a month as 730 hours (365 x 24 / 12).
HOURS_PER_MONTH = 730

# aws.amazon.com/api-gateway/pricing, us-east-1, first tier.
APIGW_USD_PER_MILLION = {"apigw-http": 1.00, "apigw-rest": 3.50}
# How many requests a month the first-tier price above covers (HTTP API 300 M, REST API 333 M).
APIGW_FIRST_TIER_REQUESTS = {"apigw-http": 300e6, "apigw-rest": 333e6}

# aws-lambda-power-tuning's own formula: ceil(ms) x 2.1e-9 USD per ms at 128 MB, scaled by memory.
POWER_TUNING_USD_PER_MS_128MB = 2.1e-9
# ... and for arm64 (its template.yml baseCosts, "default" region): 1.7e-9.
POWER_TUNING_ARM64_USD_PER_MS_128MB = 1.7e-9


def vcpus_for(memory_mb: int) -> float:
    """The CPU share Lambda gives a memory size: memory / 1,769 MB, at most 6 vCPUs."""
    return min(memory_mb / MB_PER_VCPU, MAX_VCPUS)
