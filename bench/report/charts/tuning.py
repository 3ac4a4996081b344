"""The power-tuning curve: duration, client latency and cost against memory size, the pick marked.

As aws-lambda-power-tuning draws it, memory sizes sit evenly along the x axis and time and cost
share the plot on two y axes (ms on the left, cost on the right); here every point carries its
95% interval as a bar where it has one, the SLO is a line on the latency axis, the pick is a
band, and sizes that could not be chosen are hollow and labelled so.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from markupsafe import Markup

from .svg import (
    Canvas,
    CategoryLabels,
    LegendItem,
    Scale,
    axis_title,
    draw_legend,
    fmt_tick_ms,
    legend_height,
    legend_rows,
    linear_ticks,
    nice_top,
    tick_room,
    y_axis,
)

WIDTH, HEIGHT = 580, 330
Bounds = tuple[float | None, float | None]


@dataclass(frozen=True)
class TuningPoint:
    memory_mb: int
    duration: float | None  # ms
    duration_ci: Bounds | None
    latency: float | None  # ms
    latency_ci: Bounds | None
    cost: float | None
    cost_ci: Bounds | None = None
    feasible: bool = True


@dataclass(frozen=True)
class _Series:
    name: str
    cls: str
    dx: float  # a small sideways shift, so three interval bars at one size stay apart
    values: list[float | None]
    bounds: list[Bounds | None]
    right_axis: bool = False


def _highest(values: Sequence[float | None], bounds: Sequence[Bounds | None]) -> float:
    found = [v for v in values if v is not None]
    found += [b[1] for b in bounds if b is not None and b[1] is not None]
    return max(found, default=0.0)


def tuning_chart(
    *,
    title: str,
    points: Sequence[TuningPoint],
    latency_name: str,
    cost_name: str,
    cost_fmt: Callable[[float], str],
    slo_ms: float | None = None,
    pick: int | None = None,
) -> Markup:
    """An SVG of the power-tuning curve over ``points`` (sorted by memory), ``pick`` its index."""
    series = [
        _Series("duration p50 (REPORT)", "s-duration", -6, [p.duration for p in points],
                [p.duration_ci for p in points]),
        _Series(latency_name, "s-latency", 0, [p.latency for p in points], [p.latency_ci for p in points]),
        _Series(cost_name, "s-cost", 6, [p.cost for p in points], [p.cost_ci for p in points], right_axis=True),
    ]  # fmt: skip
    ms_top = nice_top(max(max(_highest(s.values, s.bounds) for s in series[:2]), slo_ms or 0.0))
    cost_top = nice_top(_highest(series[2].values, series[2].bounds))
    ms_ticks, cost_ticks = linear_ticks(ms_top), linear_ticks(cost_top)
    left = tick_room(ms_ticks, fmt_tick_ms) + 20
    right = tick_room(cost_ticks, cost_fmt) + 20
    plot_w = WIDTH - left - right
    slot = plot_w / max(len(points), 1)
    legend = [LegendItem(s.name, s.cls, "dash" if s.right_axis else "line") for s in series]
    if slo_ms is not None:
        legend.append(LegendItem(f"SLO {fmt_tick_ms(slo_ms)} ms" if slo_ms < 1000 else "SLO", "s-slo", "dash"))
    rows = legend_rows(legend, plot_w)
    labels_text = [f"{p.memory_mb}" + ("" if p.feasible else "\ninfeasible") for p in points]
    labels = CategoryLabels.fit(labels_text, slot)
    top = 14 + legend_height(rows) + 18
    base = HEIGHT - labels.height - 22
    ms_scale, cost_scale = Scale(0, ms_top, base, top), Scale(0, cost_top, base, top)

    canvas = Canvas(WIDTH, HEIGHT, title)
    xs = [left + (i + 0.5) * slot for i in range(len(points))]
    if pick is not None and 0 <= pick < len(points):
        canvas.rect(xs[pick] - slot * 0.4, top - 14, slot * 0.8, base - top + 14, "pickband")
        canvas.text(xs[pick], top - 3, "pick", "mark", "middle")
    y_axis(canvas, ms_scale, ms_ticks, fmt_tick_ms, x0=left, x1=WIDTH - right)
    y_axis(canvas, cost_scale, cost_ticks, cost_fmt, x0=left, x1=WIDTH - right, right=True, grid=False)
    axis_title(canvas, "ms", 12, (top + base) / 2)
    axis_title(canvas, cost_name, WIDTH - 8, (top + base) / 2)
    if slo_ms is not None:
        y = ms_scale(slo_ms)
        canvas.line(left, y, WIDTH - right, y, "s-slo dashed")
        canvas.text(WIDTH - right - 4, y - 4, f"SLO {fmt_tick_ms(slo_ms)}" + (" ms" if slo_ms < 1000 else ""),
                    "slo-label", "end")  # fmt: skip
    for s in series:
        _draw_series(canvas, s, xs, cost_scale if s.right_axis else ms_scale, points, cost_fmt)
    draw_legend(canvas, rows, left, 14 + 10)
    labels.draw(canvas, labels_text, xs, base)
    canvas.text(left + plot_w / 2, HEIGHT - 6, "memory (MB)", "axis", "middle")
    return canvas.markup()


def _draw_series(
    canvas: Canvas,
    s: _Series,
    xs: Sequence[float],
    scale: Scale,
    points: Sequence[TuningPoint],
    cost_fmt: Callable[[float], str],
) -> None:
    line = [(x + s.dx, scale(v)) for x, v in zip(xs, s.values, strict=True) if v is not None]
    canvas.polyline(line, f"{s.cls} curve{' dashed' if s.right_axis else ''}", s.name)
    for x, value, bounds, point in zip(xs, s.values, s.bounds, points, strict=True):
        if value is None:
            continue
        if bounds is not None and (bounds[0] is not None or bounds[1] is not None):
            lo = value if bounds[0] is None else bounds[0]
            hi = value if bounds[1] is None else bounds[1]
            canvas.whisker(x + s.dx, scale(lo), scale(hi), f"whisker {s.cls}")
        shown = cost_fmt(value) if s.right_axis else f"{value:,.1f} ms"
        tip = f"{point.memory_mb} MB, {s.name}: {shown}"
        canvas.circle(x + s.dx, scale(value), 3.5, f"{s.cls} dot{'' if point.feasible else ' hollow'}", tip)
