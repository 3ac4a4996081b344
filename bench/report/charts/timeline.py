"""Concurrency and cold starts over the run: one line and one lane per variant, on one time axis.

The upper plot is the mean number of calls in flight each second (busy time over the second);
under it, each variant has a lane of ticks, one per second with cold starts, as tall as that
second's count. A long run is binned to at most ``MAX_POINTS`` columns (mean concurrency
averaged, cold starts summed), and the chart says so.
"""

from __future__ import annotations

import math
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
    fmt_tick,
    legend_height,
    legend_rows,
    linear_ticks,
    nice_top,
    text_width,
    tick_room,
    y_axis,
)

WIDTH = 1180
PLOT_H = 170
LANE_H = 18
MAX_POINTS = 600


@dataclass(frozen=True)
class Lane:
    label: str
    colour: int
    offset_s: int  # its first second, from the earliest lane's
    mean: Sequence[float]  # calls in flight on average, per second
    cold: Sequence[int]  # cold starts, per second


def _binned(values: Sequence[float], size: int, *, total: bool) -> list[float]:
    out = []
    for start in range(0, len(values), size):
        chunk = values[start : start + size]
        out.append(sum(chunk) if total else sum(chunk) / len(chunk))
    return out


def timeline_chart(*, title: str, lanes: Sequence[Lane]) -> Markup:
    """An SVG of ``lanes`` over their common span of seconds."""
    span = max((lane.offset_s + len(lane.mean) for lane in lanes), default=1) or 1
    size = max(1, math.ceil(span / MAX_POINTS))
    peak = nice_top(max((max(lane.mean, default=0.0) for lane in lanes), default=0.0))
    ticks = linear_ticks(peak)
    left = max(tick_room(ticks, fmt_tick) + 20, max((text_width(x.label) for x in lanes), default=0) + 12)
    right = 84
    plot_w = WIDTH - left - right
    rows = legend_rows([LegendItem(lane.label, colour(lane.colour), "line") for lane in lanes], plot_w)
    top = 14 + legend_height(rows) + 8
    base = top + PLOT_H
    lanes_top = base + 46  # below the seconds' tick labels and the lanes' own title
    height = lanes_top + LANE_H * len(lanes) + 40
    x_scale = Scale(0, span, left, WIDTH - right)
    y_scale = Scale(0, peak, base, top)

    canvas = Canvas(WIDTH, height, title)
    y_axis(canvas, y_scale, ticks, fmt_tick, x0=left, x1=WIDTH - right)
    axis_title(canvas, "in flight", 12, (top + base) / 2)
    for second in linear_ticks(nice_top(span), 8):
        if second > span:
            break
        x = x_scale(second)
        canvas.line(x, base, x, base + 4, "grid")
        canvas.text(x, base + 16, f"{second:g}", "tick", "middle")
    bin_note = f" (bins of {size} s)" if size > 1 else ""
    canvas.text(left + plot_w / 2, height - 8, f"seconds since the run's first call{bin_note}", "axis", "middle")
    canvas.text(left, lanes_top - 6, "cold starts per second", "axis")
    for i, lane in enumerate(lanes):
        means = _binned(list(lane.mean), size, total=False)
        points = [(x_scale(lane.offset_s + (j + 0.5) * size), y_scale(m)) for j, m in enumerate(means)]
        canvas.polyline(points, f"{colour(lane.colour)} curve", f"{lane.label}: mean in flight, per second")
        _lane(canvas, lane, size, x_scale, lanes_top + LANE_H * i, left)
    draw_legend(canvas, rows, left, 14 + 10)
    return canvas.markup()


def _lane(canvas: Canvas, lane: Lane, size: int, x_scale: Scale, y: float, left: float) -> None:
    colds = _binned([float(c) for c in lane.cold], size, total=True)
    most = max(colds, default=0.0)
    canvas.line(left, y + LANE_H - 3, x_scale.r1, y + LANE_H - 3, "grid")
    canvas.text(left - 6, y + LANE_H - 5, lane.label, "tick", "end")
    for j, count in enumerate(colds):
        if count <= 0:
            continue
        h = max(3.0, (LANE_H - 5) * count / most)
        x = x_scale(lane.offset_s + (j + 0.5) * size)
        second = lane.offset_s + j * size
        canvas.rect(
            x - 1.5, y + LANE_H - 3 - h, 3, h, colour(lane.colour), f"{lane.label}: {count:g} cold at {second} s"
        )
    total = int(sum(lane.cold))
    canvas.text(x_scale.r1 + 8, y + LANE_H - 5, f"{total:,} cold", "tick")
