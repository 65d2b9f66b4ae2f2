"""Server-rendered SVG bar charts for the statistics page: no JavaScript, nothing loaded.

Each chart is an <svg role="img"> named by its <title> and <desc> (aria-labelledby), and the
page puts the same numbers in a table right after it, so a screen reader user or someone who
cannot tell bars apart reads the table (WCAG 1.1.1, 1.4.1). Every text is escaped.
"""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape

BAR = "#0b4f8a"  # the inbox's blue: 8.6:1 against white
TEXT = "#1b1b1f"
GRID = "#999"
FONT = 'font-family="Arial, Helvetica, sans-serif" font-size="13"'
MAX_LABEL = 34


def _short(label: str) -> str:
    return label if len(label) <= MAX_LABEL else label[: MAX_LABEL - 1] + "…"


def _open(chart_id: str, title: str, desc: str, width: int, height: int) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" class="graphique" '
        f'viewBox="0 0 {width} {height}" width="100%" '
        f'aria-labelledby="{escape(chart_id)}-titre {escape(chart_id)}-desc">'
        f'<title id="{escape(chart_id)}-titre">{escape(title)}</title>'
        f'<desc id="{escape(chart_id)}-desc">{escape(desc)}</desc>'
    )


def column_chart(chart_id: str, title: str, desc: str, points: Sequence[tuple[str, int]]) -> Markup:
    """Vertical bars, one per point (a week), with its count above it and its label below."""
    width, height, left, top, bottom = 640, 230, 10, 24, 40
    slot = (width - left) / max(1, len(points))
    bar = max(4.0, slot * 0.7)
    peak = max((n for _, n in points), default=0) or 1
    plot = height - top - bottom
    parts = [_open(chart_id, title, desc, width, height)]
    base = top + plot
    parts.append(
        f'<line x1="{left}" y1="{base}" x2="{width}" y2="{base}" stroke="{GRID}" stroke-width="1"/>'
    )
    for i, (label, count) in enumerate(points):
        x = left + i * slot + (slot - bar) / 2
        h = plot * count / peak
        middle = x + bar / 2
        parts.append(
            f'<rect x="{x:.1f}" y="{base - h:.1f}" width="{bar:.1f}" height="{h:.1f}" '
            f'fill="{BAR}"/>'
            f'<text x="{middle:.1f}" y="{base - h - 5:.1f}" text-anchor="middle" {FONT} '
            f'fill="{TEXT}">{count}</text>'
            f'<text x="{middle:.1f}" y="{base + 18}" text-anchor="middle" {FONT} '
            f'fill="{TEXT}">{escape(label)}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def bar_chart(chart_id: str, title: str, desc: str, bars: Sequence[tuple[str, int]]) -> Markup:
    """Horizontal bars, one per row (intent, place, channel...), label on the left."""
    width, label_width, row, top = 640, 250, 28, 6
    height = top * 2 + row * max(1, len(bars))
    peak = max((n for _, n in bars), default=0) or 1
    room = width - label_width - 60  # leaves space for the count after the longest bar
    parts = [_open(chart_id, title, desc, width, height)]
    for i, (label, count) in enumerate(bars):
        y = top + i * row
        w = room * count / peak
        parts.append(
            f'<text x="{label_width - 8}" y="{y + 18}" text-anchor="end" {FONT} '
            f'fill="{TEXT}">{escape(_short(label))}</text>'
            f'<rect x="{label_width}" y="{y + 5}" width="{w:.1f}" height="{row - 10}" '
            f'fill="{BAR}"/>'
            f'<text x="{label_width + w + 6:.1f}" y="{y + 18}" {FONT} '
            f'fill="{TEXT}">{count}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))
