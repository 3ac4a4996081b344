"""Latency CDFs: the share of calls answered within x ms, per variant, warm and cold apart.

x is logarithmic, so a 40 ms warm body and a 1.5 s cold tail fit one plot; one colour per memory
size, warm calls solid and cold calls dashed. Each curve is the percentile of client latency at
fixed levels (bench/analysis/cdf.py), drawn as steps, so a point is the figure results.json
gives for that percentile.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup

from .svg import (
    Canvas,
    LegendItem,
    Scale,
    axis_title,
    colour,
    draw_legend,
    fmt_tick_ms,
    legend_height,
    legend_rows,
    log_bounds,
    log_ticks,
    y_axis,
)

WIDTH, HEIGHT = 580, 330
LEFT, RIGHT = 48, 16


@dataclass(frozen=True)
class Curve:
    label: str  # the variant, e.g. "512 MB"
    colour: int  # the variant's index in the page's palette
    cold: bool
    n: int
    points: Sequence[tuple[float, float]]  # (ms, percentile 0..100), ascending


def cdf_chart(*, title: str, curves: Sequence[Curve], slo_ms: float | None = None) -> Markup:
    """An SVG of the curves on a log-ms x axis; the SLO, when given, as a vertical line."""
    lo, hi = log_bounds([ms for c in curves for ms, _ in c.points] + ([slo_ms] if slo_ms else []))
    variants = list(dict.fromkeys((c.label, c.colour) for c in curves))
    legend = [LegendItem(label, colour(i), "line") for label, i in variants]
    legend += [LegendItem("warm", "s-neutral", "line"), LegendItem("cold", "s-neutral", "dash")]
    rows = legend_rows(legend, WIDTH - LEFT - RIGHT)
    top = 14 + legend_height(rows) + 8
    base = HEIGHT - 40
    x_scale = Scale(lo, hi, LEFT, WIDTH - RIGHT, log=True)
    y_scale = Scale(0, 100, base, top)

    canvas = Canvas(WIDTH, HEIGHT, title)
    y_axis(canvas, y_scale, [0, 25, 50, 75, 100], lambda v: f"{v:g}%", x0=LEFT, x1=WIDTH - RIGHT)
    for tick in log_ticks(lo, hi):
        x = x_scale(tick)
        canvas.line(x, top, x, base, "grid")
        canvas.text(x, base + 16, fmt_tick_ms(tick), "tick", "middle")
    canvas.text((LEFT + WIDTH - RIGHT) / 2, HEIGHT - 6, "client latency (ms, log scale), ok calls", "axis", "middle")
    axis_title(canvas, "share of calls", 12, (top + base) / 2)
    if slo_ms is not None:
        x = x_scale(slo_ms)
        canvas.line(x, top, x, base, "s-slo dashed")
        canvas.text(x + 4, top + 10, f"SLO {fmt_tick_ms(slo_ms)}" + (" ms" if slo_ms < 1000 else ""), "slo-label")
    for curve in curves:
        steps: list[tuple[float, float]] = []
        previous = 0.0
        for ms, level in curve.points:
            x = x_scale(ms)
            steps += [(x, y_scale(previous)), (x, y_scale(level))]
            previous = level
        kind = "cold" if curve.cold else "warm"
        cls = f"{colour(curve.colour)} curve{' dashed' if curve.cold else ''}"
        canvas.polyline(steps, cls, f"{curve.label}, {kind}: n = {curve.n:,}")
    draw_legend(canvas, rows, LEFT, 14 + 10)
    return canvas.markup()
