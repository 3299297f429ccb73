"""The scale curve: each page's latency as one database grows, its table and its figure.

A curve is {page: [(invoices, p50 ms, p90 ms), …]} in the order of the sizes; curves are
{database label: curve}.
"""
import http.client
import math
import statistics
import time
from html import escape

FLAT = 1.2  # the goal: the largest size's p50 within 20 % of the smallest's
COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b")


def latencies(port, requests, count, warm_up=20):
    """p50 and p90 (ms) of each of `requests` (path, headers), GET `count` times after `warm_up`
    unmeasured rounds; any answer but 200 stops the run.

    One after another, the way one person waits, not a queue; and in rounds of every path,
    so that a burst of the machine's other work falls on all of them alike. One client
    connection, reopened only when the server closes it (sync workers do after each answer).
    """
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    took = [[] for _ in requests]
    try:
        for n in range(warm_up + count):
            for (path, headers), times in zip(requests, took):
                started = time.perf_counter()
                connection.request("GET", path, headers=headers)
                response = connection.getresponse()
                response.read()
                if response.status != 200:
                    raise SystemExit(f"GET {path}: {response.status}")
                if n >= warm_up:
                    times.append((time.perf_counter() - started) * 1000)
    finally:
        connection.close()
    return [(statistics.median(times), statistics.quantiles(times, n=10)[-1]) for times in took]


def growth(points):
    """The largest size's p50 over the smallest's."""
    return points[-1][1] / points[0][1]


def rows(label, curve):
    """One row of run.py's table per page: its p50 (p90) at each size, and whether it stays flat."""
    for page, points in curve.items():
        at = "; ".join(f"{n:,}: {p50:.1f} ms (p90 {p90:.1f})" for n, p50, p90 in points)
        yield (f"{label}: {page}, by invoices", at, "", f"{growth(points):.2f}×",
               f"≤ {FLAT:.1f}× the smallest", growth(points) <= FLAT)


def table(curves):
    """A Markdown table: a row per database and page, p50 (p90) in ms at each size."""
    sizes = [n for n, _, _ in next(iter(next(iter(curves.values())).values()))]
    lines = ["| database | page | " + " | ".join(f"{n:,}" for n in sizes) + " | largest / smallest |",
             "|---|---|" + "---|" * len(sizes) + "---|"]
    for label, curve in curves.items():
        for page, points in curve.items():
            cells = " | ".join(f"{p50:.1f} ({p90:.1f})" for _, p50, p90 in points)
            lines.append(f"| {label} | {page} | {cells} | {growth(points):.2f}× |")
    return "\n".join(lines)


# The figure: one panel per database side by side, sizes on a log axis, p50 on a log axis (a
# flat line is flat whatever its height, and a page ten times slower still fits).
PANEL_W, PANEL_H, MARGIN_L, MARGIN_T, GAP = 360, 260, 62, 50, 40
LEGEND_H = 22


def svg(curves, title):
    """The curves as a standalone SVG document (text)."""
    pages = list(next(iter(curves.values())))
    values = [p50 for curve in curves.values() for points in curve.values() for _, p50, _ in points]
    low, high = _decades(min(values), max(values))
    sizes = [n for n, _, _ in next(iter(next(iter(curves.values())).values()))]
    left, right = sizes[0] / 1.25, sizes[-1] * 1.25
    width = MARGIN_L + len(curves) * (PANEL_W + GAP) - GAP + 20
    height = MARGIN_T + PANEL_H + 50 + LEGEND_H * len(pages)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">',
           f'<rect width="{width}" height="{height}" fill="white"/>',
           f'<text x="{width / 2}" y="18" text-anchor="middle" font-size="14">{escape(title)}</text>']
    for i, (label, curve) in enumerate(curves.items()):
        x0 = MARGIN_L + i * (PANEL_W + GAP)

        def x(n):
            return x0 + PANEL_W * math.log10(n / left) / math.log10(right / left)

        def y(ms):
            return MARGIN_T + PANEL_H * (1 - math.log10(ms / low) / math.log10(high / low))

        out.append(f'<text x="{x0 + PANEL_W / 2}" y="{MARGIN_T - 8}" text-anchor="middle">{escape(label)}</text>')
        out.append(f'<rect x="{x0}" y="{MARGIN_T}" width="{PANEL_W}" height="{PANEL_H}" fill="none" stroke="#999"/>')
        for tick in _ticks(low, high):
            out.append(f'<line x1="{x0}" x2="{x0 + PANEL_W}" y1="{y(tick):.1f}" y2="{y(tick):.1f}" stroke="#eee"/>')
            out.append(f'<text x="{x0 - 4}" y="{y(tick) + 4:.1f}" text-anchor="end">{tick:g}</text>')
        for tick in sizes:
            out.append(f'<line x1="{x(tick):.1f}" x2="{x(tick):.1f}" y1="{MARGIN_T}" y2="{MARGIN_T + PANEL_H}" '
                       'stroke="#eee"/>')
            out.append(f'<text x="{x(tick):.1f}" y="{MARGIN_T + PANEL_H + 16}" text-anchor="middle">'
                       f'{_count(tick)}</text>')
        out.append(f'<text x="{x0 + PANEL_W / 2}" y="{MARGIN_T + PANEL_H + 34}" text-anchor="middle">'
                   'invoices in the database (log scale)</text>')
        for page, colour in zip(pages, COLOURS):
            points = " ".join(f"{x(n):.1f},{y(p50):.1f}" for n, p50, _ in curve[page])
            out.append(f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="2"/>')
            out += [f'<circle cx="{x(n):.1f}" cy="{y(p50):.1f}" r="3" fill="{colour}"/>' for n, p50, _ in curve[page]]
    middle = MARGIN_T + PANEL_H / 2
    out.append(f'<text transform="translate(16 {middle}) rotate(-90)" text-anchor="middle">'
               'p50 latency, ms (log scale)</text>')
    for k, (page, colour) in enumerate(zip(pages, COLOURS)):
        top = MARGIN_T + PANEL_H + 50 + LEGEND_H * k
        out.append(f'<line x1="{MARGIN_L}" x2="{MARGIN_L + 24}" y1="{top}" y2="{top}" stroke="{colour}" '
                   'stroke-width="2"/>')
        out.append(f'<text x="{MARGIN_L + 32}" y="{top + 4}">{escape(page)}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _decades(smallest, largest):
    """The 1-2-5 steps just below the smallest value and just above the largest."""
    steps = [m * 10 ** e for e in range(-2, 9) for m in (1, 2, 5)]
    return max(s for s in steps if s <= smallest), min(s for s in steps if s >= largest)


def _ticks(low, high):
    """1-2-5 steps from low to high, both included."""
    return [m * 10 ** e for e in range(-2, 9) for m in (1, 2, 5) if low <= m * 10 ** e <= high]


def _count(n):
    """10000 as «10k», 3000000 as «3M»."""
    for unit, size in (("M", 10**6), ("k", 10**3)):
        if n >= size:
            return f"{n / size:g}{unit}"
    return f"{n:g}"
