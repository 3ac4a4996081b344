"""Stacked bars: one bar per category, split into components (the cost of a million calls, say).

The chart widens with the number of bars (up to the page's width) before its labels would have
to shrink; labels that still do not fit their slot are rotated, and a bar's total is printed
above it only where it fits its slot, so nothing overprints. A bar with no data says so.
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
    fmt_tick,
    legend_height,
    legend_rows,
    linear_ticks,
    nice_top,
    text_width,
    tick_room,
    y_axis,
)

HEIGHT = 320
SLOT = 70  # px a bar would like, label included


@dataclass(frozen=True)
class Component:
    name: str
    cls: str  # the CSS class that colours its segments


@dataclass(frozen=True)
class Stack:
    label: str  # under the bar; "\n" splits it onto two lines
    parts: Sequence[float | None]  # one per component; all None: no data
    mark: str | None = None  # a word above the bar ("pick"); the bar is outlined
    note: str | None = None  # tooltip of the whole bar

    @property
    def total(self) -> float | None:
        known = [p for p in self.parts if p is not None]
        return sum(max(p, 0.0) for p in known) if known else None


def stacked_bars(
    *,
    title: str,
    stacks: Sequence[Stack],
    components: Sequence[Component],
    axis_label: str,
    fmt: Callable[[float], str],
    min_width: float = 560,
    max_width: float = 1180,
) -> Markup:
    """An SVG of one stacked bar per ``stacks`` entry, components bottom to top in order."""
    used = [c for i, c in enumerate(components) if any((s.parts[i] or 0) > 0 for s in stacks)]
    top_value = nice_top(max((s.total or 0.0 for s in stacks), default=0.0))
    ticks = linear_ticks(top_value)
    left = tick_room(ticks, fmt_tick) + 20
    right = 16
    width = min(max(min_width, left + right + SLOT * len(stacks)), max_width)
    plot_w = width - left - right
    slot = plot_w / max(len(stacks), 1)
    rows = legend_rows([LegendItem(c.name, c.cls) for c in used], plot_w)
    labels = CategoryLabels.fit([s.label for s in stacks], slot)
    top = 14 + legend_height(rows) + 30  # legend, then room for a total and a mark above the tallest bar
    height = max(HEIGHT, top + 180 + labels.height)
    base = height - labels.height - 8
    scale = Scale(0.0, top_value, base, top)

    canvas = Canvas(width, height, title)
    y_axis(canvas, scale, ticks, fmt_tick, x0=left, x1=width - right)
    axis_title(canvas, axis_label, 12, (top + base) / 2)
    draw_legend(canvas, rows, left, 14 + 10)
    bar_w = min(slot * 0.62, 44)
    xs = [left + (i + 0.5) * slot for i in range(len(stacks))]
    for stack, x in zip(stacks, xs, strict=True):
        _bar(canvas, stack, components, x, bar_w, scale, base, slot, fmt)
    labels.draw(canvas, [s.label for s in stacks], xs, base)
    return canvas.markup()


def _bar(
    canvas: Canvas,
    stack: Stack,
    components: Sequence[Component],
    x: float,
    bar_w: float,
    scale: Scale,
    base: float,
    slot: float,
    fmt: Callable[[float], str],
) -> None:
    total = stack.total
    if total is None:
        canvas.text(x, base - 6, "no data" if text_width("no data") < slot else "\u2014", "nodata", "middle")
        return
    level = 0.0
    for component, part in zip(components, stack.parts, strict=True):
        if not part or part <= 0:
            continue
        y0, y1 = scale(level), scale(level + part)
        name = stack.label.replace("\n", " ")
        canvas.rect(x - bar_w / 2, y1, bar_w, y0 - y1, component.cls, f"{name}: {component.name} {fmt(part)}")
        level += part
    y_top = scale(total)
    if stack.mark:
        canvas.rect(x - bar_w / 2 - 2, y_top - 2, bar_w + 4, base - y_top + 2, "outline", stack.note)
    text = fmt(total)
    if text_width(text) <= slot - 2:
        canvas.text(x, y_top - 5, text, "value", "middle")
    if stack.mark:
        canvas.text(x, y_top - 18, stack.mark, "mark", "middle")
