"""Tiny inline-SVG charts for self-contained HTML reports (no JavaScript, no network).

Two primitives: :func:`line_chart` (lines with optional confidence bands) and
:func:`stacked_bars` (horizontal 100% bars). Every label is HTML-escaped.

>>> svg = line_chart("Lift", [Series("lift", ((0.0, 0.1), (1.0, 0.2)))])
>>> svg.startswith("<svg") and "<polyline" in svg and svg.endswith("</svg>")
True
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

__all__ = ["PALETTE", "Series", "line_chart", "nice_ticks", "stacked_bars"]

#: Colours used in order (colour-blind friendly, Okabe-Ito).
PALETTE: tuple[str, ...] = (
    "#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#999999",
)

_MARGIN_LEFT, _MARGIN_RIGHT, _MARGIN_TOP, _MARGIN_BOTTOM = 64, 16, 34, 40


@dataclass(frozen=True)
class Series:
    """A named line; ``band`` holds ``(x, low, high)`` triples drawn as a shaded area.

    >>> Series("a", ((0.0, 1.0),)).color is None
    True
    """

    name: str
    points: Sequence[tuple[float, float]]
    color: str | None = None
    band: Sequence[tuple[float, float, float]] | None = None


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values from at or below ``low`` to at or above ``high``.

    >>> nice_ticks(0.0, 1.0)
    [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
    >>> nice_ticks(-0.013, 0.021)
    [-0.02, -0.01, 0.0, 0.01, 0.02, 0.03]
    """
    if not (math.isfinite(low) and math.isfinite(high)):
        return []
    if high <= low:
        return [low]
    raw = (high - low) / max(count, 1)
    magnitude = 10.0 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw * (1 - 1e-9))
    first = math.floor(low / step + 1e-9)
    last = math.ceil(high / step - 1e-9)
    return [round(k * step, 12) + 0.0 for k in range(first, last + 1)][:60]


def _legend_width(name: str) -> float:
    return 14 + 7 * len(name) + 14


def _default_format(value: float) -> str:
    return f"{value:.3g}"


def line_chart(
    title: str,
    series: Sequence[Series],
    *,
    width: int = 640,
    height: int = 260,
    x_format: Callable[[float], str] = _default_format,
    y_format: Callable[[float], str] = _default_format,
    zero_line: bool = False,
) -> str:
    """An SVG line chart of ``series`` (lines, optional bands, legend, axes with ticks).

    >>> "no data" in line_chart("Empty", [])
    True
    """
    plot_w = width - _MARGIN_LEFT - _MARGIN_RIGHT
    plot_h = height - _MARGIN_TOP - _MARGIN_BOTTOM
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">',
        f'<text x="{_MARGIN_LEFT}" y="14" class="title">{escape(title)}</text>',
    ]
    xs = [x for s in series for x, y in s.points if math.isfinite(x) and math.isfinite(y)]
    ys = [y for s in series for x, y in s.points if math.isfinite(x) and math.isfinite(y)]
    for s in series:
        for x, lo, hi in s.band or ():
            if math.isfinite(x) and math.isfinite(lo) and math.isfinite(hi):
                ys += [lo, hi]
    if zero_line:
        ys.append(0.0)
    if not xs:
        parts.append(
            f'<text x="{width / 2:.0f}" y="{height / 2:.0f}" text-anchor="middle">no data</text>'
        )
        parts.append("</svg>")
        return "".join(parts)
    x0, x1 = min(xs), max(xs)
    y0, y1 = min(ys), max(ys)
    if x1 == x0:
        x0, x1 = x0 - 1.0, x1 + 1.0
    if y1 == y0:
        pad = abs(y0) * 0.1 or 1.0
        y0, y1 = y0 - pad, y1 + pad
    yticks = nice_ticks(y0, y1)
    if yticks:
        y0, y1 = min(y0, yticks[0]), max(y1, yticks[-1])

    def px(x: float) -> float:
        return _MARGIN_LEFT + (x - x0) / (x1 - x0) * plot_w

    def py(y: float) -> float:
        return _MARGIN_TOP + (1.0 - (y - y0) / (y1 - y0)) * plot_h

    bottom = _MARGIN_TOP + plot_h
    parts.append(
        f'<rect x="{_MARGIN_LEFT}" y="{_MARGIN_TOP}" width="{plot_w}" height="{plot_h}" '
        'class="plot"/>'
    )
    for tick in yticks:
        parts.append(
            f'<line x1="{_MARGIN_LEFT}" x2="{_MARGIN_LEFT + plot_w}" y1="{py(tick):.1f}" '
            f'y2="{py(tick):.1f}" class="grid"/>'
            f'<text x="{_MARGIN_LEFT - 6}" y="{py(tick) + 4:.1f}" text-anchor="end" '
            f'class="tick">{escape(y_format(tick))}</text>'
        )
    for k in range(5):
        x = x0 + (x1 - x0) * k / 4
        anchor = "end" if k == 4 else "middle"  # the last label stays inside the chart
        parts.append(
            f'<text x="{px(x):.1f}" y="{bottom + 16}" text-anchor="{anchor}" class="tick">'
            f"{escape(x_format(x))}</text>"
        )
    if zero_line and y0 <= 0.0 <= y1:
        parts.append(
            f'<line x1="{_MARGIN_LEFT}" x2="{_MARGIN_LEFT + plot_w}" y1="{py(0.0):.1f}" '
            f'y2="{py(0.0):.1f}" class="zero"/>'
        )
    for index, s in enumerate(series):
        color = s.color or PALETTE[index % len(PALETTE)]
        band = [
            (x, lo, hi)
            for x, lo, hi in (s.band or ())
            if math.isfinite(x) and math.isfinite(lo) and math.isfinite(hi)
        ]
        if len(band) >= 2:
            upper = " ".join(f"{px(x):.1f},{py(hi):.1f}" for x, _, hi in band)
            lower = " ".join(f"{px(x):.1f},{py(lo):.1f}" for x, lo, _ in reversed(band))
            parts.append(
                f'<polygon points="{upper} {lower}" fill="{color}" fill-opacity="0.18" '
                'stroke="none"/>'
            )
        points = [(x, y) for x, y in s.points if math.isfinite(x) and math.isfinite(y)]
        coords = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in points)
        if len(points) == 1:
            parts.append(f'<circle cx="{px(points[0][0]):.1f}" cy="{py(points[0][1]):.1f}" '
                         f'r="3" fill="{color}"/>')
        elif points:
            parts.append(
                f'<polyline points="{coords}" fill="none" stroke="{color}" stroke-width="2"/>'
            )
        legend_x = _MARGIN_LEFT + plot_w - sum(
            _legend_width(other.name) for other in series[index:]
        )
        parts.append(
            f'<rect x="{legend_x:.0f}" y="21" width="10" height="10" fill="{color}"/>'
            f'<text x="{legend_x + 14:.0f}" y="30" class="legend">{escape(s.name)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def stacked_bars(
    title: str,
    bars: Sequence[tuple[str, Sequence[tuple[str, float]]]],
    *,
    width: int = 640,
    bar_height: int = 26,
) -> str:
    """Horizontal 100% stacked bars: one bar per ``(label, [(part, amount), ...])``.

    Parts keep their colour across bars (by first appearance).

    >>> svg = stacked_bars("Mix", [("control", [("a", 3.0), ("b", 1.0)])])
    >>> svg.count("<rect") >= 2 and "75%" in svg
    True
    """
    names: list[str] = []
    for _, parts in bars:
        for name, _amount in parts:
            if name not in names:
                names.append(name)
    colors = {name: PALETTE[i % len(PALETTE)] for i, name in enumerate(names)}
    label_w = 110
    plot_w = width - label_w - _MARGIN_RIGHT
    # As many legend columns as the longest name allows (at most 4), so labels never overlap.
    widest = max((_legend_width(n) for n in names), default=1.0)
    columns = max(1, min(4, int(plot_w // widest)))
    legend_rows = math.ceil(len(names) / columns) if names else 0
    height = _MARGIN_TOP + len(bars) * (bar_height + 10) + 20 + legend_rows * 18
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">',
        f'<text x="{label_w}" y="18" class="title">{escape(title)}</text>',
    ]
    for row, (label, parts) in enumerate(bars):
        y = _MARGIN_TOP + row * (bar_height + 10)
        out.append(
            f'<text x="{label_w - 8}" y="{y + bar_height / 2 + 4:.1f}" text-anchor="end" '
            f'class="legend">{escape(label)}</text>'
        )
        total = sum(max(a, 0.0) for _, a in parts)
        x = float(label_w)
        for name, amount in parts:
            if total <= 0.0 or amount <= 0.0:
                continue
            share = amount / total
            w = share * plot_w
            out.append(
                f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{bar_height}" '
                f'fill="{colors[name]}"><title>{escape(name)}: {share:.1%}</title></rect>'
            )
            if w > 34:
                out.append(
                    f'<text x="{x + w / 2:.1f}" y="{y + bar_height / 2 + 4:.1f}" '
                    f'text-anchor="middle" class="inbar">{share:.0%}</text>'
                )
            x += w
    legend_top = _MARGIN_TOP + len(bars) * (bar_height + 10) + 10
    for i, name in enumerate(names):
        lx = label_w + (i % columns) * (plot_w / columns)
        ly = legend_top + (i // columns) * 18
        out.append(
            f'<rect x="{lx:.1f}" y="{ly}" width="10" height="10" fill="{colors[name]}"/>'
            f'<text x="{lx + 14:.1f}" y="{ly + 9}" class="legend">{escape(name)}</text>'
        )
    out.append("</svg>")
    return "".join(out)
