"""Inline SVG bar charts for the HTML report, with no scripts, fonts or files to load.

Colours come from the page's CSS classes (``series-0``, ``series-1``, ``highlight``), so the
charts follow the page's look. A missing value draws no bar and says "no data" instead. A
series may carry (lo, hi) intervals, drawn as whiskers; an unknown one draws none.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

WIDTH, HEIGHT = 540, 280
LEFT, RIGHT, TOP, BOTTOM = 64, 16, 40, 44
TICKS = 4


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[float | None]
    intervals: Sequence[tuple[float, float] | None] | None = None  # one per value


def _whisker(x: float, lo: float, hi: float, top: float, base_y: float, plot_h: float) -> str:
    y_lo, y_hi = base_y - plot_h * lo / top, base_y - plot_h * hi / top
    return (
        f'<path class="whisker" d="M{x:.1f} {y_lo:.1f}V{y_hi:.1f}M{x - 4:.1f} {y_lo:.1f}h8M{x - 4:.1f} {y_hi:.1f}h8"/>'
    )


def nice_top(largest: float) -> float:
    """The axis top: TICKS steps of 1, 2, 2.5 or 5 x 10^k, the smallest that hold ``largest``."""
    if largest <= 0 or not math.isfinite(largest):
        return 1.0
    raw_step = largest / TICKS
    magnitude = 10 ** math.floor(math.log10(raw_step))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw_step)
    return step * TICKS


def _axis(top: float, fmt: Callable[[float], str]) -> list[str]:
    plot_h = HEIGHT - TOP - BOTTOM
    parts = []
    for i in range(TICKS + 1):
        y = TOP + plot_h - plot_h * i / TICKS
        parts.append(
            f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>'
            f'<text class="tick" x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">'
            f"{escape(fmt(top * i / TICKS))}</text>"
        )
    return parts


def _bars(
    labels: Sequence[str],
    series: Sequence[Series],
    top: float,
    fmt: Callable[[float], str],
    highlight: int | None,
) -> list[str]:
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / max(len(labels), 1)
    bar_w = min(slot * 0.8 / len(series), 48)
    base_y = TOP + plot_h
    parts = []
    for i, label in enumerate(labels):
        x0 = LEFT + i * slot + (slot - bar_w * len(series)) / 2
        for j, s in enumerate(series):
            x, value = x0 + j * bar_w, s.values[i]
            cls = "highlight" if highlight == i and len(series) == 1 else f"series-{j}"
            if value is None:
                parts.append(
                    f'<text class="nodata" x="{x + bar_w / 2:.1f}" y="{base_y - 4:.1f}" '
                    f'text-anchor="middle">no data</text>'
                )
                continue
            h = plot_h * value / top
            interval = s.intervals[i] if s.intervals is not None else None
            label_y = base_y - h - 4
            if interval is not None:
                label_y = min(label_y, base_y - plot_h * interval[1] / top - 4)
            parts.append(
                f'<rect class="{cls}" x="{x:.1f}" y="{base_y - h:.1f}" width="{bar_w - 2:.1f}" '
                f'height="{h:.1f}"><title>{escape(label)} {escape(s.name)}: '
                f"{escape(fmt(value))}</title></rect>"
                f'<text class="value" x="{x + bar_w / 2 - 1:.1f}" y="{label_y:.1f}" '
                f'text-anchor="middle">{escape(fmt(value))}</text>'
            )
            if interval is not None:
                parts.append(_whisker(x + bar_w / 2 - 1, *interval, top, base_y, plot_h))
        parts.append(
            f'<text class="label" x="{LEFT + (i + 0.5) * slot:.1f}" y="{base_y + 18}" '
            f'text-anchor="middle">{escape(label)}</text>'
        )
    return parts


def _legend(series: Sequence[Series]) -> list[str]:
    if len(series) < 2:
        return []
    parts, x = [], LEFT
    for j, s in enumerate(series):
        parts.append(
            f'<rect class="series-{j}" x="{x}" y="{TOP - 24}" width="12" height="12"/>'
            f'<text class="legend" x="{x + 16}" y="{TOP - 14}">{escape(s.name)}</text>'
        )
        x += 24 + 8 * len(s.name)
    return parts


def bar_chart(
    *,
    title: str,
    labels: Sequence[str],
    series: Sequence[Series],
    axis_label: str,
    fmt: Callable[[float], str],
    highlight: int | None = None,
) -> Markup:
    """An SVG grouped bar chart: one group per label, one bar per series, from zero up, with
    whiskers where a series has intervals."""
    known = [v for s in series for v in s.values if v is not None]
    known += [iv[1] for s in series for iv in (s.intervals or ()) if iv is not None]
    top = nice_top(max(known, default=0.0))
    mid_y = TOP + (HEIGHT - TOP - BOTTOM) / 2
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" '
        f'role="img" aria-label="{escape(title)}"><title>{escape(title)}</title>',
        *_axis(top, fmt),
        *_bars(labels, series, top, fmt, highlight),
        *_legend(series),
        f'<text class="axis" x="14" y="{mid_y:.1f}" text-anchor="middle" '
        f'transform="rotate(-90 14 {mid_y:.1f})">{escape(axis_label)}</text>',
        "</svg>",
    ]
    return Markup("".join(parts))
