"""Can the data tell the cheapest variant from the next cheapest? pyperf-style, in one sentence.

The ranking figure is a mean (cost per million from mean billed ms), so two variants whose
per-call costs overlap may swap places in the next run. ``check_cheapest`` compares the two
cheapest variants' per-call costs with bench.analysis.compare. They are separated when the
Welch t interval of the difference in mean cost lies wholly below zero, the mean being what
a month's bill adds up, and the samples are large enough for the Mann-Whitney test to
reject at all. Mann-Whitney's own verdict is reported beside it: when it disagrees, the
saving is in the tail (cold starts, slow outliers), not in a typical call.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bench.analysis.compare import NOT_ENOUGH_DATA, Comparison, compare_samples, fmt_p
from bench.analysis.stats import Values

CHEAPER = ("cheaper", "dearer")


@dataclass(frozen=True)
class CheapestCheck:
    cheapest: str
    runner_up: str
    comparison: Comparison  # cheapest against runner_up, per-call cost per million USD
    separated: bool
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "cheapest": self.cheapest,
            "runner_up": self.runner_up,
            "comparison": self.comparison.as_dict(),
            "separated": self.separated,
            "message": self.message,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> CheapestCheck | None:
        if data is None:
            return None
        return cls(
            data["cheapest"],
            data["runner_up"],
            Comparison.from_dict(data["comparison"]),
            data["separated"],
            data["message"],
        )


def _usd(value: float) -> str:
    return f"{value:+,.4f}"


def _evidence(c: Comparison) -> str:
    """The figures of a decided comparison (mean_diff and the rest are set unless NOT_ENOUGH_DATA)."""
    assert c.mean_diff is not None and c.cliffs_delta is not None
    ci = c.mean_diff_ci
    interval = ""
    if ci is not None and ci.lo is not None and ci.hi is not None:
        interval = f" [{_usd(ci.lo)} to {_usd(ci.hi)}] ({ci.method}, {ci.confidence:.0%})"
    return (
        f"mean cost per 1M differs by {_usd(c.mean_diff)} USD{interval}; "
        f"{c.test}: {fmt_p(c.p_value)}, Cliff's delta {c.cliffs_delta:+.2f} ({c.effect_size})"
    )


def message_for(cheapest: str, runner_up: str, c: Comparison, separated: bool) -> str:
    """The sentence a report prints about the cheapest and the next cheapest."""
    if c.verdict == NOT_ENOUGH_DATA:
        return f"not enough data to tell {cheapest} from {runner_up}: {c.reason}; either may be the cheapest"
    if separated and c.verdict == CHEAPER[0]:
        return f"{cheapest} is cheaper than the next cheapest, {runner_up}: {_evidence(c)}"
    if separated:
        return (
            f"{cheapest} is cheaper on average than the next cheapest, {runner_up}, but a "
            f"typical call is not ({c.verdict}): the saving is in the tail; {_evidence(c)}"
        )
    return (
        f"the data cannot separate {cheapest} (cheapest) from {runner_up}: {_evidence(c)}; "
        "the interval of the difference reaches zero, so either may be the cheapest: "
        "run longer, or accept either"
    )


def check_cheapest(cheapest: str, runner_up: str, cheapest_costs: Values, runner_up_costs: Values) -> CheapestCheck:
    """Compare the per-call costs of the cheapest variant and the next (see the module)."""
    # The decision rests on means; a p95 bootstrap would cost O(resamples x n) for nothing.
    comparison = compare_samples(cheapest_costs, runner_up_costs, words=CHEAPER, p95=False)
    ci = comparison.mean_diff_ci
    separated = comparison.verdict != NOT_ENOUGH_DATA and ci is not None and ci.hi is not None and ci.hi < 0
    return CheapestCheck(
        cheapest, runner_up, comparison, separated, message_for(cheapest, runner_up, comparison, separated)
    )
