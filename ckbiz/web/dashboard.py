"""«Сводка»: a period's counts and sums by status, the share paid, the median time to payment,
issued vs paid per day as an SVG drawn here (no JavaScript), and the services that brought most."""
import math

from flask import Blueprint, request

from .. import htmx
from ..domain import dashboard
from .access import current_merchant, requires

bp = Blueprint("dashboard", __name__)

# The chart's drawing area in SVG units; the page scales it to any width, a 360 px phone's too.
WIDTH, HEIGHT = 480, 220
LEFT, RIGHT, TOP, BOTTOM = 34, 6, 10, 22
AXIS_LABELS = 8  # at most, so «27.11» never overlaps its neighbour


@bp.get("/dashboard")
@requires("dashboard")
def index():
    """The page, or just the period and its numbers for a preset or date changed with htmx."""
    period = dashboard.Period(request.args, current_merchant.timezone)
    summary = dashboard.summary(current_merchant, period)
    return htmx.page_or_fragment("dashboard/index.html", "dashboard/_period.html", "dashboard",
                                 period=period, summary=summary, chart=chart(summary.per_day))


def chart(per_day):
    """Bars of issued and paid per day, the y axis' ticks and the days labelled on the x axis."""
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    top = _round_up(max((max(i, p) for _d, i, p in per_day), default=0))
    slot = plot_w / len(per_day)
    step = math.ceil(len(per_day) / AXIS_LABELS)

    def bar(n, value, offset):
        height = round(value / top * plot_h, 1)
        return {"x": round(LEFT + n * slot + offset * slot, 1), "y": round(TOP + plot_h - height, 1),
                "width": round(slot * 0.4, 2), "height": height, "value": value}

    # Every other label is "minor": a phone shows only the others, at a size it can read.
    days = [{"day": day, "issued": bar(n, issued, 0.1), "paid": bar(n, paid, 0.5),
             "label_x": round(LEFT + (n + 0.5) * slot, 1) if n % step == 0 else None, "minor": n // step % 2}
            for n, (day, issued, paid) in enumerate(per_day)]
    ticks = [(value, round(TOP + plot_h - value / top * plot_h, 1)) for value in _ticks(top)]
    return {"width": WIDTH, "height": HEIGHT, "left": LEFT, "right": WIDTH - RIGHT, "bottom": TOP + plot_h,
            "days": days, "ticks": ticks}


def _round_up(value):
    """The axis' top: 1, 2 or 5 times a power of ten, at least the largest value (and at least 1)."""
    if value <= 1:
        return 1
    power = 10 ** math.floor(math.log10(value))
    return next(m * power for m in (1, 2, 5, 10) if m * power >= value)


def _ticks(top):
    """The middle when it is a whole number, and the top (the axis itself stands for 0)."""
    return [top // 2, top] if top % 2 == 0 else [top]
