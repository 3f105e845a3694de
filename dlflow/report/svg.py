"""Line charts as plain SVG text: learning curves in milliseconds, without importing matplotlib."""

from __future__ import annotations

import html
import math

WIDTH, HEIGHT = 600, 360
LEFT, RIGHT, TOP, BOTTOM = 64, 16, 32, 72  # plot margins; the legend sits under the x axis


def _ticks(low: float, high: float, count: int = 5) -> list[float]:
    if high <= low:
        return [low]
    step = 10 ** math.floor(math.log10((high - low) / count))
    for factor in (1, 2, 5, 10):
        if (high - low) / (step * factor) <= count:
            step *= factor
            break
    first = math.ceil(low / step) * step
    return [first + i * step for i in range(int((high - first) / step) + 1)]


def line_chart(
    title: str,
    xlabel: str,
    ylabel: str,
    xs: list[float],
    lines: list[tuple[str, list[float], str]],
    marks: list[tuple[float, str, str]] = (),
) -> str:
    """An SVG chart of `lines` (label, values, colour) over `xs`, with vertical `marks` (x, label, colour)."""
    low, high = _y_range(lines)
    x0, x1 = (min(xs), max(xs)) if xs else (0.0, 1.0)
    x1 = x1 if x1 > x0 else x0 + 1
    width, height = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def px(x: float) -> float:
        return LEFT + (x - x0) / (x1 - x0) * width

    def py(y: float) -> float:
        return TOP + (high - y) / (high - low) * height

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="11">',
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="white"/>',
        f'<text x="{WIDTH / 2}" y="18" text-anchor="middle" font-size="13">{html.escape(title)}</text>',
    ]
    for y in _ticks(low, high):
        out.append(
            f'<line x1="{LEFT}" x2="{LEFT + width}" y1="{py(y):.1f}" y2="{py(y):.1f}" stroke="#ddd"/>'
            f'<text x="{LEFT - 4}" y="{py(y) + 4:.1f}" text-anchor="end">{y:.4g}</text>'
        )
    for x in _ticks(x0, x1):
        out.append(f'<text x="{px(x):.1f}" y="{TOP + height + 14}" text-anchor="middle">{x:g}</text>')
    out.append(f'<rect x="{LEFT}" y="{TOP}" width="{width}" height="{height}" fill="none" stroke="#888"/>')
    out.append(
        f'<text x="{LEFT + width / 2}" y="{TOP + height + 30}" text-anchor="middle">{html.escape(xlabel)}</text>'
        f'<text transform="translate(14 {TOP + height / 2}) rotate(-90)" text-anchor="middle">'
        f"{html.escape(ylabel)}</text>"
    )
    for x, _label, colour in marks:
        out.append(
            f'<line x1="{px(x):.1f}" x2="{px(x):.1f}" y1="{TOP}" y2="{TOP + height}" stroke="{colour}" '
            f'stroke-dasharray="5 3"/>'
        )
    for _label, values, colour in lines:
        points = " ".join(f"{px(x):.1f},{py(v):.1f}" for x, v in zip(xs, values) if math.isfinite(v))
        out.append(f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="1.6"/>')
    out.extend(_legend(lines, marks, height))
    out.append("</svg>")
    return "".join(out)


def _y_range(lines: list[tuple[str, list[float], str]]) -> tuple[float, float]:
    """The y axis's span: the finite values, padded by 5% (a flat line gets a unit span)."""
    finite = [v for _, values, _ in lines for v in values if math.isfinite(v)]
    low, high = (min(finite), max(finite)) if finite else (0.0, 1.0)
    if high - low < 1e-12:
        low, high = low - 0.5, high + 0.5
    pad = 0.05 * (high - low)
    return low - pad, high + pad


def _legend(lines: list[tuple[str, list[float], str]], marks: list[tuple[float, str, str]], height: float) -> list[str]:
    """The legend under the x axis, three entries a row: the lines, then the marks."""
    legend = [(label, colour) for label, _, colour in lines] + [(label, colour) for _, label, colour in marks]
    out = []
    for i, (label, colour) in enumerate(legend):
        x, y = LEFT + (i % 3) * 180, TOP + height + 46 + (i // 3) * 14
        out.append(
            f'<rect x="{x}" y="{y - 8}" width="12" height="3" fill="{colour}"/>'
            f'<text x="{x + 16}" y="{y - 4}">{html.escape(label)}</text>'
        )
    return out
