"""Prices by region: a region's table from bench.awsfacts, its gaps filled from us-east-1's, said.

``prices_for(region)`` gives the complete prices the cost model needs in ``region``
(awsfacts.REGION_PRICES): every figure the region's sources list is the region's own; a figure
they do not list (arm64 provisioned concurrency, say) is us-east-1's, and ``statement`` names
it. A region with no table at all, or a run that recorded no region (a run folder from before
run.json had one), is priced at us-east-1's and the statement says that instead. Nothing is
priced in another region's money silently: the report, the terminal, the decision's notes, the
gate and the Locust tab all print ``statement``.

    eu-west-1, arm64  -> "eu-west-1 prices; arm64 provisioned concurrency at us-east-1's"
    me-central-1      -> "no price table for me-central-1: us-east-1 prices"
    None              -> "no region recorded: us-east-1 prices"
"""

from __future__ import annotations

import functools
from collections.abc import Collection, Mapping
from dataclasses import dataclass

from bench.awsfacts import (
    ARCHITECTURES,
    BASE_PRICE_REGION,
    DURATION_TIER_CEILINGS_GB_S,
    REGION_PRICES,
    ArchPrices,
    DurationTier,
    RegionPrices,
)

# The figures a region's table may lack, in the order a statement names them, with their words.
FIGURES = {
    "duration": "first-tier duration",
    "requests": "requests",
    "provisioned": "provisioned concurrency",
    "provisioned_duration": "duration while provisioned",
    "duration_tiers": "duration tiers beyond the first",
    "gateway": "API Gateway",
}
GATEWAY_NAMES = {"apigw-http": "HTTP API", "apigw-rest": "REST API"}
# What a cost per call (cost_per_million, the budget's live spend) uses: no tiers beyond the
# first, no provisioned concurrency; a month's projection (bench.analysis.monthly) uses them all.
PER_CALL = ("duration", "requests", "gateway")


@dataclass(frozen=True)
class Borrowed:
    """One figure priced at us-east-1's: ``key`` names an architecture (Lambda) or a path (API Gateway)."""

    figure: str  # a key of FIGURES
    key: str


@dataclass(frozen=True)
class RegionalPrices:
    """Complete prices for one region, and which of them are us-east-1's."""

    region: str | None  # the run's region; None: not recorded
    table: str  # the region whose table priced it: ``region``, or us-east-1 when it has none
    source: str
    lambda_prices: Mapping[str, ArchPrices]  # by architecture
    apigw_usd_per_million: Mapping[str, float]  # by path
    borrowed: tuple[Borrowed, ...] = ()

    @property
    def has_table(self) -> bool:
        return self.region == self.table

    def arch(self, architecture: str) -> ArchPrices:
        """One architecture's prices; ValueError naming the allowed ones otherwise."""
        try:
            return self.lambda_prices[architecture]
        except KeyError:
            allowed = ", ".join(self.lambda_prices)
            raise ValueError(f"architecture {architecture!r}: must be one of {allowed}") from None

    def gateway_usd_per_million(self, path: str) -> float:
        """API Gateway's first-tier price per million requests on ``path``; 0 for a direct call."""
        return self.apigw_usd_per_million.get(path, 0.0)

    def at_base(
        self,
        architecture: str | None = None,
        paths: Collection[str] | None = None,
        figures: Collection[str] | None = None,
    ) -> tuple[str, ...]:
        """The words of each figure at us-east-1's, for ``architecture``, ``paths`` and ``figures``
        (keys of FIGURES: those a price uses; None: any)."""
        shown = [
            b for b in self.borrowed
            if (figures is None or b.figure in figures)
            and ((b.figure == "gateway" and (paths is None or b.key in paths))
                 or (b.figure != "gateway" and (architecture is None or b.key == architecture)))
        ]  # fmt: skip
        words = []
        for figure in FIGURES:
            keys = [b.key for b in shown if b.figure == figure]
            if not keys:
                continue
            if figure == "provisioned_duration" and keys == [b.key for b in shown if b.figure == "provisioned"]:
                continue  # "provisioned concurrency" already says it: its charge and its duration rate
            words += _words(figure, keys, self._all_borrowed(figure))
        return tuple(words)

    def _all_borrowed(self, figure: str) -> bool:
        """Whether the table lacks ``figure`` for every architecture (or every gateway)."""
        every = GATEWAY_NAMES if figure == "gateway" else ARCHITECTURES
        return {b.key for b in self.borrowed if b.figure == figure} >= set(every)

    def statement(
        self,
        architecture: str | None = None,
        paths: Collection[str] | None = None,
        figures: Collection[str] | None = None,
    ) -> str:
        """Whose prices these are, in the words the report prints (see the module): of the
        figures a price uses (``figures``, keys of FIGURES; None: all), those at us-east-1's."""
        if self.region is None:
            return f"no region recorded: {self.table} prices"
        if not self.has_table:
            return f"no price table for {self.region}: {self.table} prices"
        words = self.at_base(architecture, paths, figures)
        if not words:
            return f"{self.region} prices"
        return f"{self.region} prices; {_join(words)} at {BASE_PRICE_REGION}'s"


def _words(figure: str, keys: list[str], everywhere: bool) -> list[str]:
    if figure == "gateway":
        if everywhere and len(keys) == len(GATEWAY_NAMES):
            return [FIGURES[figure]]
        return [f"API Gateway {GATEWAY_NAMES[k]}" for k in keys]
    if everywhere:  # missing for both architectures: no need to name one
        return [FIGURES[figure]]
    return [f"{k} {FIGURES[figure]}" for k in keys]


def _join(words: tuple[str, ...]) -> str:
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"


def _base_prices(table: RegionPrices) -> dict[str, ArchPrices]:
    """us-east-1's table as ArchPrices: it must list every figure (tests/test_pricing.py checks)."""
    out = {}
    for arch in ARCHITECTURES:
        ceilings = DURATION_TIER_CEILINGS_GB_S[arch]
        rates = table.duration_usd_per_gb_s[arch]
        out[arch] = ArchPrices(
            duration_tiers=tuple(DurationTier(c, r) for c, r in zip(ceilings, rates, strict=True)),
            request_usd_per_million=table.request_usd_per_million[arch],
            provisioned_usd_per_gb_s=table.provisioned_usd_per_gb_s[arch],
            provisioned_duration_usd_per_gb_s=table.provisioned_duration_usd_per_gb_s[arch],
        )
    return out


def _filled(table: RegionPrices, base: Mapping[str, ArchPrices]) -> tuple[dict[str, ArchPrices], list[Borrowed]]:
    """Each architecture's prices from ``table``, what it does not list from ``base``, and which those are."""
    prices, borrowed = {}, []
    for arch in ARCHITECTURES:
        fallback = base[arch]
        rates = table.duration_usd_per_gb_s.get(arch, ())
        if not rates:
            borrowed.append(Borrowed("duration", arch))
        if len(rates) < len(fallback.duration_tiers):
            borrowed.append(Borrowed("duration_tiers", arch))
        # The region's rates on the tier bounds; the tiers it does not list, us-east-1's.
        own = tuple(DurationTier(c, r) for c, r in zip(DURATION_TIER_CEILINGS_GB_S[arch], rates, strict=False))

        def figure(name: str, listed: Mapping[str, float], base_value: float, arch: str = arch) -> float:
            if arch in listed:
                return listed[arch]
            borrowed.append(Borrowed(name, arch))
            return base_value

        prices[arch] = ArchPrices(
            duration_tiers=own + fallback.duration_tiers[len(own) :],
            request_usd_per_million=figure("requests", table.request_usd_per_million, fallback.request_usd_per_million),
            provisioned_usd_per_gb_s=figure(
                "provisioned", table.provisioned_usd_per_gb_s, fallback.provisioned_usd_per_gb_s
            ),
            provisioned_duration_usd_per_gb_s=figure(
                "provisioned_duration",
                table.provisioned_duration_usd_per_gb_s,
                fallback.provisioned_duration_usd_per_gb_s,
            ),
        )
    return prices, borrowed


@functools.cache
def _base() -> RegionalPrices:
    table = REGION_PRICES[BASE_PRICE_REGION]
    gateway = {path: table.apigw_usd_per_million[path] for path in GATEWAY_NAMES}
    return RegionalPrices(BASE_PRICE_REGION, BASE_PRICE_REGION, table.source, _base_prices(table), gateway)


@functools.cache
def prices_for(region: str | None) -> RegionalPrices:
    """The complete prices of ``region`` (see the module); us-east-1's, said, without a table."""
    base = _base()
    table = REGION_PRICES.get(region) if region is not None else None
    if table is None:
        return RegionalPrices(region, base.table, base.source, base.lambda_prices, base.apigw_usd_per_million)
    if region == base.table:
        return base
    prices, borrowed = _filled(table, base.lambda_prices)
    gateway = dict(base.apigw_usd_per_million)
    for path in GATEWAY_NAMES:
        if path in table.apigw_usd_per_million:
            gateway[path] = table.apigw_usd_per_million[path]
        else:
            borrowed.append(Borrowed("gateway", path))
    assert region is not None
    return RegionalPrices(region, region, table.source, prices, gateway, tuple(borrowed))


def regions_with_prices() -> tuple[str, ...]:
    """The regions awsfacts holds a price table for."""
    return tuple(REGION_PRICES)
