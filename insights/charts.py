"""Charts drawn on the server as SVG: no JavaScript, no network. Each chart has a <title> and a
<desc> (its text alternative) and sits beside the table with the same numbers."""

from html import escape as _escape

from django.utils.safestring import mark_safe


def escape(text) -> str:
    """HTML-escape (the same five characters as django.utils.html.escape, without its lazy
    and SafeString wrapping: charts escape thousands of short texts)."""
    return _escape(str(text))


PALETTE = ["#1b6ca8", "#c0392b", "#b7791f", "#00798c", "#6a4c93", "#2f7d32", "#8d6e63", "#444"]
DASHES = ["", "6 3", "2 3", "8 3 2 3", "1 2", "10 4", "4 4", "3 6"]
WIDTH, HEIGHT = 720, 300
LEFT, RIGHT, TOP, BOTTOM = 48, 12, 16, 56


def _frame(chart_id: str, title: str, desc: str, body: list[str], height: int = HEIGHT) -> str:
    return mark_safe(  # noqa: S308 - every text in body is escaped below
        f'<svg xmlns="http://www.w3.org/2000/svg" class="insights-chart" role="img" '
        f'viewBox="0 0 {WIDTH} {height}" width="100%" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc">'
        f'<title id="{chart_id}-title">{escape(title)}</title>'
        f'<desc id="{chart_id}-desc">{escape(desc)}</desc>' + "".join(body) + "</svg>"
    )


def _y_axis(maximum: float, steps: int = 4, suffix: str = "") -> list[str]:
    parts = []
    plot_h = HEIGHT - TOP - BOTTOM
    for i in range(steps + 1):
        value = maximum * i / steps
        y = TOP + plot_h - plot_h * i / steps
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" '
            f'stroke="#ddd" stroke-width="1"/>'
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11" '
            f'fill="#333">{value:.0f}{escape(suffix)}</text>'
        )
    return parts


LEGEND_ROW = 16


def _legend(labels: list[str], y: float, lines: bool = False) -> tuple[list[str], float]:
    """The legend from baseline `y` on; an item that does not fit on its row starts the next.
    Returns the parts and the chart height that holds every row."""
    parts, x = [], LEFT
    for index, label in enumerate(labels):
        width = 22 + 7 * len(label)  # the swatch, and the text at ~7 units a letter
        if x > LEFT and x + width > WIDTH - RIGHT:
            x, y = LEFT, y + LEGEND_ROW
        color = PALETTE[index % len(PALETTE)]
        if lines:
            dash = DASHES[index % len(DASHES)]
            parts.append(
                f'<line x1="{x}" x2="{x + 18}" y1="{y - 4}" y2="{y - 4}" stroke="{color}" '
                f'stroke-width="3" stroke-dasharray="{dash}"/>'
            )
        else:
            parts.append(f'<rect x="{x}" y="{y - 10}" width="12" height="12" fill="{color}"/>')
        parts.append(
            f'<text x="{x + 22}" y="{y}" font-size="11" fill="#222">{escape(label)}</text>'
        )
        x += width + 8
    return parts, max(HEIGHT, y + 6)


def stacked_bars(
    chart_id: str, title: str, desc: str, x_labels: list[str], series: list[tuple[str, list]]
) -> str:
    """Stacked columns: one column per x label, one colour per series."""
    totals = [sum(values[i] or 0 for _label, values in series) for i in range(len(x_labels))]
    maximum = max(totals or [0]) or 1
    maximum = _nice(maximum)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / max(len(x_labels), 1)
    bar = max(slot * 0.7, 1)
    body = _y_axis(maximum)
    labels = [escape(label) for label, _values in series]
    for i, x_label in enumerate(x_labels):
        x = LEFT + slot * i + (slot - bar) / 2
        base = TOP + plot_h
        x_text = escape(x_label)
        for index, (_label, values) in enumerate(series):
            value = values[i] or 0
            if not value:
                continue
            h = plot_h * value / maximum
            base -= h
            body.append(
                f'<rect x="{x:.1f}" y="{base:.1f}" width="{bar:.1f}" height="{h:.1f}" '
                f'fill="{PALETTE[index % len(PALETTE)]}"><title>{x_text}, '
                f"{labels[index]}: {value}</title></rect>"
            )
        if len(x_labels) <= 16 or i % max(len(x_labels) // 12, 1) == 0:
            body.append(
                f'<text x="{x + bar / 2:.1f}" y="{TOP + plot_h + 14}" font-size="10" '
                f'text-anchor="middle" fill="#333">{x_text}</text>'
            )
    legend, height = _legend([label for label, _v in series], HEIGHT - 20)
    return _frame(chart_id, title, desc, body + legend, height)


def lines(
    chart_id: str,
    title: str,
    desc: str,
    x_labels: list[str],
    series: list[tuple[str, list]],
    maximum: float = 100,
    suffix: str = " %",
) -> str:
    """Lines over time (share in per cent by default); gaps where a value is missing."""
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    step = plot_w / max(len(x_labels) - 1, 1)
    body = _y_axis(maximum, suffix=suffix)
    for i, x_label in enumerate(x_labels):
        body.append(
            f'<text x="{LEFT + step * i:.1f}" y="{TOP + plot_h + 14}" font-size="10" '
            f'text-anchor="middle" fill="#333">{escape(x_label)}</text>'
        )
    for index, (label, values) in enumerate(series):
        color, dash = PALETTE[index % len(PALETTE)], DASHES[index % len(DASHES)]
        points = []
        for i, value in enumerate(values):
            if value is None:
                if len(points) > 1:
                    body.append(_polyline(points, color, dash))
                points = []
                continue
            x, y = LEFT + step * i, TOP + plot_h - plot_h * min(value, maximum) / maximum
            points.append((x, y))
            body.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{color}">'
                f"<title>{escape(label)}, {escape(x_labels[i])}: {value:.0f}{escape(suffix)}"
                f"</title></circle>"
            )
        if len(points) > 1:
            body.append(_polyline(points, color, dash))
    legend, height = _legend([label for label, _v in series], HEIGHT - 20, lines=True)
    return _frame(chart_id, title, desc, body + legend, height)


def _polyline(points, color, dash):
    coords = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
    return (
        f'<polyline points="{coords}" fill="none" stroke="{color}" stroke-width="2.5" '
        f'stroke-dasharray="{dash}"/>'
    )


def horizontal_bars(
    chart_id: str,
    title: str,
    desc: str,
    rows: list[tuple[str, float | None, str]],
    maximum: float = 100,
    threshold: float | None = 62,
) -> str:
    """One bar per row (label, value, note); a dashed line marks the pass mark."""
    label_w, row_h = 190, 26
    height = TOP + row_h * max(len(rows), 1) + 40
    # Room right of a full bar for its value and note ("100 (osäkert)", ~7.5 units a letter).
    notes = [len(f"{value:.0f} {note}") for _label, value, note in rows if value is not None]
    plot_w = WIDTH - label_w - RIGHT - max(60, 10 + round(7.5 * max(notes, default=0)))
    body = []
    for i, (label, value, note) in enumerate(rows):
        y = TOP + row_h * i
        body.append(
            f'<text x="{label_w - 8}" y="{y + 16}" text-anchor="end" font-size="12" '
            f'fill="#222">{escape(label)}</text>'
        )
        if value is None:
            continue
        w = plot_w * max(0, min(value, maximum)) / maximum
        faded = ' fill-opacity="0.45"' if note else ""
        body.append(
            f'<rect x="{label_w}" y="{y + 4}" width="{w:.1f}" height="{row_h - 8}" '
            f'fill="{PALETTE[0]}"{faded}/>'
            f'<text x="{label_w + w + 6:.1f}" y="{y + 17}" font-size="12" fill="#222">'
            f"{value:.0f}{(' ' + escape(note)) if note else ''}</text>"
        )
    if threshold is not None:
        x = label_w + plot_w * threshold / maximum
        bottom = TOP + row_h * max(len(rows), 1)
        body.append(
            f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{TOP}" y2="{bottom}" stroke="#c0392b" '
            f'stroke-width="1.5" stroke-dasharray="5 3"/>'
            f'<text x="{x:.1f}" y="{bottom + 16}" font-size="11" text-anchor="middle" '
            f'fill="#c0392b">{threshold:.0f}</text>'
        )
    return _frame(chart_id, title, desc, body, height=height)


def _nice(value: float) -> float:
    """A round axis maximum at or above value."""
    for step in (5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 2500, 5000, 10000):
        if value <= step * 4:
            return step * 4
    return value
