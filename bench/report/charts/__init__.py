"""The report's charts, each an inline SVG (no scripts, fonts or network), one module per family.

tuning.py (duration, latency and cost against memory), cdf.py (latency CDFs, warm and cold),
timeline.py (concurrency and cold starts over time), bars.py (stacked bars: cost by component),
coldshare.py (cold share against provisioned concurrency); svg.py holds what they share.
bench/report/figures.py turns a run's summary and recommendation into their inputs.
"""

from .bars import Component, Stack, stacked_bars
from .cdf import Curve, cdf_chart
from .coldshare import cold_share_chart
from .svg import nice_top
from .timeline import Lane, timeline_chart
from .tuning import TuningPoint, tuning_chart

__all__ = [
    "Component",
    "Curve",
    "Lane",
    "Stack",
    "TuningPoint",
    "cdf_chart",
    "cold_share_chart",
    "nice_top",
    "stacked_bars",
    "timeline_chart",
    "tuning_chart",
]
