"""SVG building blocks for the report's charts: scales, ticks, legends and labels that do not overprint.

Every chart is one inline ``<svg>``: no scripts, fonts or files. Colours come from the page's CSS
classes (``c0``..``c7`` per variant, one class per series kind), so dark mode and print restyle
the charts with the page. A static page cannot measure its text, so text width is estimated
(``CHAR_EM`` of the font size a character, generous for sans-serif digits); labels that would
not fit their slot are rotated and legends wrap onto more rows, decided before anything is drawn.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

CHAR_EM = 0.62
FONT = 11  # px: ticks, legends and labels
TICKS = 4
PALETTE = 8  # c0..c7 in the page's CSS; more variants than that reuse colours
ROTATE_DEG = 40


def text_width(text: str, size: float = FONT) -> float:
    """Estimated width of ``text`` in px (the widest line of a multi-line label)."""
    return max((len(line) for line in text.split("\n")), default=0) * size * CHAR_EM


def colour(index: int) -> str:
    return f"c{index % PALETTE}"


def nice_top(largest: float, ticks: int = TICKS) -> float:
    """The axis top: ``ticks`` steps of 1, 2, 2.5 or 5 x 10^k, the smallest that hold ``largest``."""
    if largest <= 0 or not math.isfinite(largest):
        return 1.0
    raw_step = largest / ticks
    magnitude = 10.0 ** math.floor(math.log10(raw_step))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw_step)
    return step * ticks


def linear_ticks(top: float, ticks: int = TICKS) -> list[float]:
    return [top * i / ticks for i in range(ticks + 1)]


def log_ticks(lo: float, hi: float) -> list[float]:
    """Tick values between two powers of ten: every decade, with 2 and 5 between when few."""
    first, last = math.floor(math.log10(lo) + 1e-9), math.ceil(math.log10(hi) - 1e-9)
    steps = (1, 2, 5) if last - first <= 3 else (1,)
    values = [m * 10.0**k for k in range(first, last + 1) for m in steps]
    return [v for v in values if lo * (1 - 1e-9) <= v <= hi * (1 + 1e-9)]


def log_bounds(values: Iterable[float]) -> tuple[float, float]:
    """Powers of ten around the positive ``values`` (at least one decade apart)."""
    positive = [v for v in values if v > 0 and math.isfinite(v)]
    if not positive:
        return 1.0, 10.0
    lo = 10.0 ** math.floor(math.log10(min(positive)))
    hi = 10.0 ** math.ceil(math.log10(max(positive)))
    return lo, max(hi, lo * 10)


def fmt_tick(value: float) -> str:
    """A compact axis number: 0, 0.05, 2.5, 120, 1,500, 2 M."""
    if value == 0:
        return "0"
    if abs(value) >= 1e6:
        return f"{value / 1e6:g} M"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def fmt_tick_ms(value: float) -> str:
    """Milliseconds on an axis: "250", "1 s", "2.5 s"."""
    return f"{value / 1000:g} s" if value >= 1000 else fmt_tick(value)


@dataclass(frozen=True)
class Scale:
    """Maps a domain [d0, d1] onto a pixel range [r0, r1], linearly or by log10."""

    d0: float
    d1: float
    r0: float
    r1: float
    log: bool = False

    def _t(self, value: float) -> float:
        if self.log:
            value = max(value, self.d0)
            return (math.log10(value) - math.log10(self.d0)) / (math.log10(self.d1) - math.log10(self.d0))
        span = self.d1 - self.d0
        return (value - self.d0) / span if span else 0.0

    def __call__(self, value: float) -> float:
        return self.r0 + (self.r1 - self.r0) * self._t(value)


@dataclass(frozen=True)
class LegendItem:
    label: str
    cls: str
    shape: str = "box"  # box (a filled square), line, dash (a dashed line), dot


class Canvas:
    """The parts of one SVG chart of a fixed size, in drawing order."""

    def __init__(self, width: float, height: float, title: str) -> None:
        self.width, self.height, self.title = width, height, title
        self.parts: list[str] = []

    def add(self, part: str) -> None:
        self.parts.append(part)

    def text(
        self,
        x: float,
        y: float,
        text: str,
        cls: str = "tick",
        anchor: str = "start",
        rotate: float | None = None,
    ) -> None:
        """Text at (x, y); a multi-line label becomes one tspan per line, 13 px apart."""
        transform = f' transform="rotate({rotate:g} {x:.1f} {y:.1f})"' if rotate else ""
        lines = text.split("\n")
        if len(lines) == 1:
            body = str(escape(text))
        else:
            body = "".join(
                f'<tspan x="{x:.1f}" dy="{0 if i == 0 else 13}">{escape(line)}</tspan>' for i, line in enumerate(lines)
            )
        self.add(f'<text class="{cls}" x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}"{transform}>{body}</text>')

    def line(self, x1: float, y1: float, x2: float, y2: float, cls: str) -> None:
        self.add(f'<line class="{cls}" x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}"/>')

    def polyline(self, points: Sequence[tuple[float, float]], cls: str, title: str | None = None) -> None:
        if not points:
            return
        coords = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
        tip = f"<title>{escape(title)}</title>" if title else ""
        self.add(f'<polyline class="{cls}" points="{coords}">{tip}</polyline>')

    def rect(self, x: float, y: float, w: float, h: float, cls: str, title: str | None = None) -> None:
        tip = f"<title>{escape(title)}</title>" if title else ""
        self.add(
            f'<rect class="{cls}" x="{x:.1f}" y="{y:.1f}" width="{max(w, 0):.1f}" height="{max(h, 0):.1f}">{tip}</rect>'
        )

    def circle(self, x: float, y: float, r: float, cls: str, title: str | None = None) -> None:
        tip = f"<title>{escape(title)}</title>" if title else ""
        self.add(f'<circle class="{cls}" cx="{x:.1f}" cy="{y:.1f}" r="{r:g}">{tip}</circle>')

    def whisker(self, x: float, y_lo: float, y_hi: float, cls: str = "whisker", cap: float = 3) -> None:
        """A vertical interval bar with caps at its known ends."""
        self.add(
            f'<path class="{cls}" d="M{x:.1f} {y_lo:.1f}V{y_hi:.1f}M{x - cap:.1f} {y_lo:.1f}h{2 * cap:g}'
            f'M{x - cap:.1f} {y_hi:.1f}h{2 * cap:g}"/>'
        )

    def markup(self, cls: str = "chart") -> Markup:
        title = escape(self.title)
        head = (
            f'<svg class="{cls}" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {self.width:g} {self.height:g}" '
            f'width="{self.width:g}" height="{self.height:g}" role="img" aria-label="{title}"><title>{title}</title>'
        )
        return Markup(head + "".join(self.parts) + "</svg>")


def legend_rows(items: Sequence[LegendItem], max_width: float) -> list[list[tuple[LegendItem, float]]]:
    """Items laid out left to right, wrapping to a new row rather than past ``max_width``."""
    rows: list[list[tuple[LegendItem, float]]] = [[]]
    x = 0.0
    for item in items:
        width = 22 + text_width(item.label) + 14
        if rows[-1] and x + width > max_width:
            rows.append([])
            x = 0.0
        rows[-1].append((item, x))
        x += width
    return rows if rows[0] else []


def draw_legend(canvas: Canvas, rows: list[list[tuple[LegendItem, float]]], left: float, top: float) -> None:
    for r, row in enumerate(rows):
        y = top + 16 * r
        for item, dx in row:
            x = left + dx
            if item.shape == "box":
                canvas.rect(x, y - 9, 12, 10, item.cls)
            elif item.shape == "dot":
                canvas.circle(x + 8, y - 4, 3.5, item.cls)
            else:
                canvas.line(x, y - 4, x + 18, y - 4, f"{item.cls} {'dashed' if item.shape == 'dash' else ''}".strip())
            canvas.text(x + 22, y, item.label, cls="legend")


def legend_height(rows: Sequence[object]) -> float:
    return 16.0 * len(rows)


@dataclass(frozen=True)
class CategoryLabels:
    """How category labels sit under their slots: flat (1-2 lines) or rotated, and the room they take."""

    rotated: bool
    height: float

    @classmethod
    def fit(cls, labels: Sequence[str], slot: float) -> CategoryLabels:
        widest = max((text_width(label) for label in labels), default=0.0)
        lines = max((label.count("\n") + 1 for label in labels), default=1)
        if widest <= slot - 6:
            return cls(False, 6 + 13 * lines)
        flat = max((text_width(label.replace("\n", " ")) for label in labels), default=0.0)
        return cls(True, 10 + flat * math.sin(math.radians(ROTATE_DEG)) + FONT)

    def draw(self, canvas: Canvas, labels: Sequence[str], xs: Sequence[float], y: float) -> None:
        for label, x in zip(labels, xs, strict=True):
            if self.rotated:
                canvas.text(x + 4, y + 10, label.replace("\n", " "), "label", "end", rotate=-ROTATE_DEG)
            else:
                canvas.text(x, y + 14, label, "label", "middle")


def y_axis(
    canvas: Canvas,
    scale: Scale,
    ticks: Sequence[float],
    fmt: Callable[[float], str],
    *,
    x0: float,
    x1: float,
    right: bool = False,
    grid: bool = True,
) -> None:
    """Grid lines and tick labels of a vertical axis, on the left (or the right) of [x0, x1]."""
    for value in ticks:
        y = scale(value)
        if grid:
            canvas.line(x0, y, x1, y, "grid")
        if right:
            canvas.text(x1 + 6, y + 4, fmt(value), "tick", "start")
        else:
            canvas.text(x0 - 6, y + 4, fmt(value), "tick", "end")


def axis_title(canvas: Canvas, text: str, x: float, y_mid: float) -> None:
    """A vertical axis title, rotated, centred on ``y_mid``."""
    canvas.text(x, y_mid, text, "axis", "middle", rotate=-90)


def tick_room(ticks: Sequence[float], fmt: Callable[[float], str]) -> float:
    """The horizontal room tick labels need beside their axis."""
    return 10 + max((text_width(fmt(t)) for t in ticks), default=0.0)
