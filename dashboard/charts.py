"""Charts drawn on the server as SVG: no script and no CDN, readable by screen readers (each
chart has a title and a description, and the page shows the numbers beside it).

Pure functions: labels and numbers in, markup out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

# Colour-blind-safe (Okabe-Ito), in series order.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#D55E00", "#56B4E9", "#000000")
WIDTH, HEIGHT = 640, 240
LEFT, RIGHT, TOP, BOTTOM = 48, 12, 12, 28


@dataclass(frozen=True)
class Series:
    name: str
    # None: no figure there (the line breaks).
    values: Sequence[float | None]


def line_chart(title: str, labels: Sequence[str], series: Sequence[Series]) -> str:
    """One line per series over the labels (days), with a y axis from 0 and a legend."""
    top = _nice_ceiling(max((v for s in series for v in s.values if v is not None), default=0))
    plot_width, plot_height = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    step = plot_width / max(len(labels) - 1, 1)
    # A single day or run sits in the middle.
    start = LEFT + (plot_width / 2 if len(labels) == 1 else 0)

    def point(i: int, value: float) -> tuple[float, float]:
        return start + i * step, TOP + plot_height * (1 - value / top)

    parts = [_axes(top, plot_height)]
    for i, label in enumerate(labels):
        if i in _label_positions(len(labels)):
            x = start + i * step
            # The ends are anchored inwards so their labels stay inside the chart.
            anchor = (
                "middle"
                if len(labels) == 1
                else "start"
                if i == 0
                else "end"
                if i == len(labels) - 1
                else "middle"
            )
            parts.append(
                f'<text x="{x:.1f}" y="{HEIGHT - 8}" text-anchor="{anchor}">{escape(label)}</text>'
            )
    for colour, line in zip(PALETTE, series, strict=False):
        name = f"<title>{escape(line.name)}</title>"
        for run in _unbroken_runs(line.values):
            xy = [point(i, value) for i, value in run]
            if len(xy) == 1:  # a lone figure: a dot, as a one-point line shows nothing
                ((x, y),) = xy
                parts.append(
                    f'<circle r="3" fill="{colour}" cx="{x:.1f}" cy="{y:.1f}">{name}</circle>'
                )
            else:
                points = " ".join(f"{x:.1f},{y:.1f}" for x, y in xy)
                parts.append(
                    f'<polyline fill="none" stroke="{colour}" stroke-width="2" '
                    f'points="{points}">{name}</polyline>'
                )
    return _svg(title, _describe(labels, series), parts, legend=[s.name for s in series])


def bar_chart(title: str, bars: Sequence[tuple[str, float]]) -> str:
    """Horizontal bars, longest first as given (a funnel), each with its value."""
    top = max((value for _, value in bars), default=0) or 1
    bar_height = (HEIGHT - TOP - BOTTOM) / max(len(bars), 1)
    # Room for the longest label (about 6.5 px a character at the chart's 11 px font).
    label_width = min(
        WIDTH // 2, 16 + round(6.5 * max((len(label) for label, _ in bars), default=0))
    )
    parts = []
    for i, (label, value) in enumerate(bars):
        y = TOP + i * bar_height
        length = (WIDTH - label_width - 80) * value / top
        parts.append(
            f'<text x="{label_width - 8}" y="{y + bar_height / 2 + 4:.1f}" text-anchor="end">'
            f"{escape(label)}</text>"
            f'<rect x="{label_width}" y="{y + 4:.1f}" width="{length:.1f}" '
            f'height="{bar_height - 8:.1f}" fill="{PALETTE[i % len(PALETTE)]}"/>'
            f'<text x="{label_width + length + 6:.1f}" y="{y + bar_height / 2 + 4:.1f}">'
            f"{_number(value)}</text>"
        )
    description = "; ".join(f"{label}: {_number(value)}" for label, value in bars)
    return _svg(title, description, parts, legend=[])


@dataclass(frozen=True)
class Interval:
    label: str
    value: float
    low: float
    high: float


def interval_chart(title: str, rows: Sequence[Interval], *, percent: bool = True) -> str:
    """A point with its interval per row on one horizontal scale around 0, with 0 marked:
    an interval that crosses the line is no evidence of a difference."""
    reach = max((max(abs(r.low), abs(r.high)) for r in rows), default=0) or 1
    reach = _nice_ceiling(reach)
    label_width = min(WIDTH // 2, 16 + round(6.5 * max((len(r.label) for r in rows), default=0)))
    span = WIDTH - label_width - RIGHT - 16
    row_height = (HEIGHT - TOP - BOTTOM) / max(len(rows), 1)

    def x(value: float) -> float:
        return label_width + span * (value + reach) / (2 * reach)

    def shown(value: float) -> str:
        return f"{100 * value:+.1f}%" if percent else f"{value:+.3g}"

    zero = x(0)
    parts = [
        f'<line x1="{zero:.1f}" x2="{zero:.1f}" y1="{TOP}" y2="{HEIGHT - BOTTOM}" stroke="#999"/>',
        f'<text x="{x(-reach):.1f}" y="{HEIGHT - 8}">{shown(-reach)}</text>',
        f'<text x="{zero:.1f}" y="{HEIGHT - 8}" text-anchor="middle">0</text>',
        f'<text x="{x(reach):.1f}" y="{HEIGHT - 8}" text-anchor="end">{shown(reach)}</text>',
    ]
    for i, row in enumerate(rows):
        y = TOP + (i + 0.5) * row_height
        colour = PALETTE[i % len(PALETTE)]
        parts.append(
            f'<text x="{label_width - 8}" y="{y + 4:.1f}" text-anchor="end">'
            f"{escape(row.label)}</text>"
            f'<line x1="{x(row.low):.1f}" x2="{x(row.high):.1f}" y1="{y:.1f}" y2="{y:.1f}" '
            f'stroke="{colour}" stroke-width="3"/>'
            f'<circle r="5" fill="{colour}" cx="{x(row.value):.1f}" cy="{y:.1f}"/>'
        )
    description = "; ".join(
        f"{r.label}: {shown(r.value)} ({shown(r.low)} to {shown(r.high)})" for r in rows
    )
    return _svg(title, description, parts, legend=[])


LEGEND_PER_ROW = 4


def _svg(title: str, description: str, parts: list[str], *, legend: list[str]) -> str:
    keyed = list(zip(PALETTE, legend, strict=False))
    rows = [keyed[i : i + LEGEND_PER_ROW] for i in range(0, len(keyed), LEGEND_PER_ROW)]
    legend_rows = "".join(
        f'<text x="{LEFT}" y="{HEIGHT + 14 + 16 * number}">'
        + "".join(
            f'<tspan fill="{colour}">&#9632;</tspan> {escape(name)}&#160;&#160;&#160;'
            for colour, name in row
        )
        + "</text>"
        for number, row in enumerate(rows)
    )
    height = HEIGHT + 16 * len(rows) + (4 if rows else 0)
    return (
        f'<svg class="chart" viewBox="0 0 {WIDTH} {height}" role="img" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>'
        f"<desc>{escape(description)}</desc>{''.join(parts)}{legend_rows}</svg>"
    )


def _axes(top: float, plot_height: float) -> str:
    lines = []
    for fraction in (0, 0.5, 1):
        y = TOP + plot_height * (1 - fraction)
        lines.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ddd"/>'
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">'
            f"{_number(top * fraction)}</text>"
        )
    return "".join(lines)


def _unbroken_runs(values: Sequence[float | None]) -> list[list[tuple[int, float]]]:
    """The (position, value) stretches between missing values."""
    runs: list[list[tuple[int, float]]] = [[]]
    for i, value in enumerate(values):
        if value is None:
            if runs[-1]:
                runs.append([])
        else:
            runs[-1].append((i, value))
    return [run for run in runs if run]


def _label_positions(count: int) -> set[int]:
    """At most 8 evenly spaced x labels, always the first and the last."""
    if count <= 8:
        return set(range(count))
    every = -(-count // 7)
    return set(range(0, count, every)) | {count - 1}


def _describe(labels: Sequence[str], series: Sequence[Series]) -> str:
    totals = "; ".join(
        f"{s.name}: {_number(sum(v for v in s.values if v is not None))} in all" for s in series
    )
    span = f"{labels[0]} to {labels[-1]}" if labels else "no days"
    return f"{span}. {totals}"


def _nice_ceiling(value: float) -> float:
    """The smallest 1, 2 or 5 x 10^n at or above the value (1 for nothing)."""
    if value <= 0:
        return 1
    magnitude = 1.0
    while magnitude * 10 <= value:
        magnitude *= 10
    for factor in (1, 2, 5, 10):
        if factor * magnitude >= value:
            return factor * magnitude
    return 10 * magnitude


def _number(value: float) -> str:
    return f"{value:,.0f}" if value >= 10 or value == int(value) else f"{value:,.2f}"
