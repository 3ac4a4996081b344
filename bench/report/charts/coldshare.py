"""Cold share against provisioned concurrency N, from the decision stage's simulation.

The y axis is logarithmic (68% and 0.006% both matter); a share of exactly zero sits on the
axis floor, hollow and labelled "0". The budget is a dashed line and the recommended N a ring.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from markupsafe import Markup

from ..formatting import fmt_share
from .svg import Canvas, Scale, axis_title, fmt_tick, linear_ticks, log_ticks, nice_top, y_axis

WIDTH, HEIGHT = 580, 330
LEFT, RIGHT, TOP, BOTTOM = 64, 20, 30, 44


def _floor(curve: Sequence[tuple[int, float]], budget: float | None) -> float:
    positive = [share for _, share in curve if share > 0] + ([budget] if budget else [])
    smallest = min(positive, default=1e-3)
    return max(1e-6, 10.0 ** math.floor(math.log10(smallest)))


def cold_share_chart(
    *, title: str, curve: Sequence[tuple[int, float]], budget: float | None, pick: int | None
) -> Markup:
    """An SVG of (N, cold share) points, ``budget`` as a line and ``pick`` (an N) ringed."""
    points = sorted(curve)
    floor = _floor(points, budget)
    y_scale = Scale(floor, 1.0, HEIGHT - BOTTOM, TOP, log=True)
    n_top = nice_top(max((n for n, _ in points), default=1), 5) if points else 1.0
    x_scale = Scale(0, n_top, LEFT, WIDTH - RIGHT)

    canvas = Canvas(WIDTH, HEIGHT, title)
    y_axis(canvas, y_scale, log_ticks(floor, 1.0), fmt_share, x0=LEFT, x1=WIDTH - RIGHT)
    for n in linear_ticks(n_top, 5):
        x = x_scale(n)
        canvas.line(x, HEIGHT - BOTTOM, x, HEIGHT - BOTTOM + 4, "grid")
        canvas.text(x, HEIGHT - BOTTOM + 16, fmt_tick(n), "tick", "middle")
    canvas.text((LEFT + WIDTH - RIGHT) / 2, HEIGHT - 6, "provisioned environments (N)", "axis", "middle")
    axis_title(canvas, "requests that start cold", 12, (TOP + HEIGHT - BOTTOM) / 2)
    if budget is not None and budget > 0:
        y = y_scale(budget)
        canvas.line(LEFT, y, WIDTH - RIGHT, y, "s-slo dashed")
        canvas.text(WIDTH - RIGHT - 4, y - 5, f"budget {fmt_share(budget)}", "slo-label", "end")
    line = [(x_scale(n), y_scale(max(share, floor))) for n, share in points]
    canvas.polyline(line, "s-latency curve", "simulated cold share")
    zero_labelled = False
    for (n, share), (x, y) in zip(points, line, strict=True):
        tip = f"N = {n}: {fmt_share(share)} of requests start cold"
        canvas.circle(x, y, 3.5, "s-latency dot" + (" hollow" if share <= 0 else ""), tip)
        if share <= 0 and not zero_labelled:  # the first is enough: the rest sit on the same floor
            canvas.text(x, y - 7, "0", "tick", "middle")
            zero_labelled = True
    if pick is not None:
        found = [(x, y, share) for (n, share), (x, y) in zip(points, line, strict=True) if n == pick]
        if found:
            x, y, share = found[0]
            canvas.circle(x, y, 8, "ring")
            label_y = y + 24 if y < TOP + 30 else y - (24 if share <= 0 else 13)
            canvas.text(x, label_y, f"N = {pick}", "mark", "middle")
    return canvas.markup()
