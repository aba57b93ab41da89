"""Inline SVG charts for the report: a horizontal bar chart and a verdict timeline strip.

Plain SVG elements with classes (colours live in the report's CSS) and a <title> on every mark, so
the charts need no script, no font download and print as vectors.
"""

from __future__ import annotations

from datetime import datetime
from html import escape

from probe.evidence.explain import human_time, short
from probe.evidence.report.data import status_class


def _seconds(iso: str) -> float:
    try:
        return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return 0.0


def bar_chart(rows: list[tuple[str, int, str]], *, title: str) -> str:
    """Bars of (label, value, css class), longest first as given; value printed at the bar's end."""
    if not rows:
        return ""
    label_w, bar_w, row_h = 260, 360, 26
    top = max(value for _, value, _ in rows) or 1
    height = row_h * len(rows) + 8
    parts = [f'<svg class="chart bars" role="img" viewBox="0 0 {label_w + bar_w + 60} {height}" '
             f'width="100%" xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>']
    for i, (label, value, css) in enumerate(rows):
        y = 4 + i * row_h
        width = max(2.0, bar_w * value / top)
        parts.append(
            f'<g><title>{escape(label)}: {value}</title>'
            f'<text x="{label_w - 8}" y="{y + 17}" text-anchor="end" class="axis">{escape(label)}</text>'
            f'<rect x="{label_w}" y="{y + 3}" width="{width:.1f}" height="{row_h - 8}" class="{css}"/>'
            f'<text x="{label_w + width + 6:.1f}" y="{y + 17}" class="value">{value}</text></g>')
    parts.append("</svg>")
    return "".join(parts)


def timeline(attempts: list[tuple[str, str]], *, start: str, end: str, width: int = 600) -> str:
    """One mark per measurement, placed by time across the report's whole period, coloured by result."""
    t0, t1 = _seconds(start), _seconds(end)
    span = max(t1 - t0, 1.0)
    mark_w = max(3.0, min(12.0, width / max(len(attempts), 1) * 0.8))
    height = 22
    parts = [f'<svg class="chart timeline" role="img" viewBox="0 0 {width + mark_w:.0f} {height}" '
             f'width="100%" preserveAspectRatio="none" xmlns="http://www.w3.org/2000/svg">'
             f'<title>Results over time, {escape(human_time(start))} to {escape(human_time(end))}</title>'
             f'<line x1="0" y1="{height / 2}" x2="{width + mark_w:.0f}" y2="{height / 2}" class="baseline"/>']
    for when, label in sorted(attempts):
        x = (width * (_seconds(when) - t0) / span) if t1 > t0 else width / 2
        parts.append(f'<rect x="{x:.1f}" y="2" width="{mark_w:.1f}" height="{height - 4}" '
                     f'class="{status_class(label)}"><title>{escape(human_time(when))}: '
                     f'{escape(short(label))} ({escape(label)})</title></rect>')
    parts.append("</svg>")
    return "".join(parts)


def outage_timeline(checks: list[tuple[str, bool]], outages: list[tuple[str, str, int]], *, start: str,
                    end: str, width: int = 600) -> str:
    """One network's strip: a band over each period its runs found the network down, a tick per
    measurement (dark when down), across the report's whole period."""
    t0, t1 = _seconds(start), _seconds(end)
    span = max(t1 - t0, 1.0)
    height = 22

    def x(when: str) -> float:
        return (width * (_seconds(when) - t0) / span) if t1 > t0 else width / 2

    parts = [f'<svg class="chart timeline outages" role="img" viewBox="0 0 {width + 3} {height}" '
             f'width="100%" preserveAspectRatio="none" xmlns="http://www.w3.org/2000/svg">'
             f'<title>Network down periods, {escape(human_time(start))} to {escape(human_time(end))}</title>'
             f'<line x1="0" y1="{height / 2}" x2="{width + 3}" y2="{height / 2}" class="baseline"/>']
    for first, last, count in outages:
        left = x(first)
        parts.append(f'<rect x="{left:.1f}" y="0" width="{max(x(last) - left, 3.0):.1f}" height="{height}" '
                     f'class="outage"><title>Network down (nothing answered): {escape(human_time(first))} to '
                     f'{escape(human_time(last))}, {count} measurement(s)</title></rect>')
    for when, down in sorted(checks):
        parts.append(f'<rect x="{x(when):.1f}" y="6" width="1.5" height="{height - 12}" '
                     f'class="{"down" if down else "up"}"/>')
    parts.append("</svg>")
    return "".join(parts)
