"""The PDF's charts as SVG, drawn here (ECharts needs a browser; WeasyPrint renders SVG itself).

Small and deterministic on purpose: the same figures give the same SVG text, so a 通报 regenerated from the same
data is the same document. Colours keep ≥ 4.5:1 contrast for text; bars carry their values as text too.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

INK, GRID, BAR, LINE2 = "#1f2937", "#d1d5db", "#1d4ed8", "#b45309"
FONT = 'font-family="Noto Sans CJK SC, sans-serif"'


def bars(items: Sequence[tuple[str, float]], *, maximum: float, title: str, unit: str = "分", width: int = 640) -> str:
    """Horizontal bars, one per (label, value), longest first as given."""
    row_h, left, right, top = 22, 170, 60, 28
    height = top + row_h * max(1, len(items)) + 10
    span = width - left - right
    parts = [_open(width, height, title), _text(8, 18, title, size=13, weight="bold")]
    for i, (label, value) in enumerate(items):
        y = top + i * row_h
        length = 0 if maximum <= 0 else max(0.0, min(1.0, value / maximum)) * span
        parts.append(_text(left - 8, y + 15, label, anchor="end"))
        parts.append(f'<rect x="{left}" y="{y + 3}" width="{length:.1f}" height="{row_h - 8}" fill="{BAR}"/>')
        parts.append(_text(left + length + 6, y + 15, f"{value:.2f}{unit}"))
    if not items:
        parts.append(_text(left, top + 15, "本期无数据"))
    parts.append("</svg>")
    return "".join(parts)


def lines(
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[float | None]]],
    *,
    title: str,
    width: int = 640,
    height: int = 220,
) -> str:
    """Rates (0..1) over periods as lines with points and a percent axis; None leaves a gap."""
    left, right, top, bottom = 48, 44, 44, 36
    w, h = width - left - right, height - top - bottom
    parts = [_open(width, height, title), _text(8, 18, title, size=13, weight="bold")]
    for pct in (0, 25, 50, 75, 100):
        y = top + h - h * pct / 100
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{left + w}" y2="{y:.1f}" stroke="{GRID}"/>')
        parts.append(_text(left - 6, y + 4, f"{pct}%", anchor="end", size=10))
    step = w / max(1, len(labels) - 1)
    for i, label in enumerate(labels):
        parts.append(_text(left + i * step, top + h + 18, label, anchor="middle", size=10))
    for n, (name, values) in enumerate(series):
        colour = (BAR, LINE2)[n % 2]
        points = [(left + i * step, top + h - h * v) for i, v in enumerate(values) if v is not None]
        if len(points) > 1:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
            parts.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"/>')
        parts.extend(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{colour}"/>' for x, y in points)
        lx = left + n * 160
        parts.append(f'<rect x="{lx}" y="26" width="12" height="4" fill="{colour}"/>')
        parts.append(_text(lx + 16, 32, name, size=10))
    parts.append("</svg>")
    return "".join(parts)


def _open(width: int, height: int, title: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">'
    )


def _text(x: float, y: float, s: str, *, anchor: str = "start", size: int = 11, weight: str = "normal") -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" font-size="{size}" font-weight="{weight}" '
        f'fill="{INK}" {FONT}>{escape(s)}</text>'
    )
