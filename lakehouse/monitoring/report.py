"""``lakehouse report --out DIR``: one self-contained static HTML page (inline SVG charts,
inline CSS, no script, nothing fetched) with the pipeline's health: streams, throughput,
event lag, quality pass rate, anomalies over time, open anomalies and daily metrics, and the
lineage graph (dataset -> tables -> gold) with each edge's last batch."""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from lakehouse.cost.rates import DailyCost
from lakehouse.cost.views import render_cost_html
from lakehouse.monitoring.health import HealthData
from lakehouse.monitoring.model import rollup_daily
from lakehouse.monitoring.status import STATUS_COLUMNS, status_row

__all__ = ["bar_chart", "line_chart", "render_report", "write_report"]

WIDTH, HEIGHT = 760, 260
LEFT, RIGHT, TOP, BOTTOM = 64, 16, 28, 44
PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b")
SEVERITY_COLORS = {"critical": "#d62728", "warning": "#ff7f0e", "info": "#1f77b4"}

Series = Sequence[tuple[datetime, float]]


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _fmt(value: float) -> str:
    return f"{value:.3g}" if abs(value) < 1000 else f"{value:,.0f}"


def _frame(
    name: str, title: str, y_label: str, *, t0: datetime, t1: datetime, y_max: float
) -> list[str]:
    """The SVG opening, axes, grid and tick labels of a chart."""
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" data-chart="{_e(name)}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" role="img" '
        f'aria-label="{_e(title)}"><title>{_e(title)}</title>',
        f'<text x="{LEFT}" y="16" class="ctitle">{_e(title)}</text>',
        f'<text x="12" y="{TOP + plot_h / 2:.0f}" class="axis" transform="rotate(-90 12 '
        f'{TOP + plot_h / 2:.0f})" text-anchor="middle">{_e(y_label)}</text>',
    ]
    for i in range(5):
        y = TOP + plot_h - plot_h * i / 4
        out.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>'
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" class="axis" text-anchor="end">'
            f"{_fmt(y_max * i / 4)}</text>"
        )
    span = (t1 - t0).total_seconds() or 1.0
    for i in range(5):
        t = t0 + timedelta(seconds=span * i / 4)
        x = LEFT + plot_w * i / 4
        out.append(
            f'<text x="{x:.1f}" y="{HEIGHT - BOTTOM + 18}" class="axis" text-anchor="middle">'
            f"{t.strftime('%m-%d %H:%M')}</text>"
        )
    out.append(
        f'<line x1="{LEFT}" x2="{LEFT}" y1="{TOP}" y2="{TOP + plot_h}" class="axisline"/>'
        f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{TOP + plot_h}" y2="{TOP + plot_h}" '
        'class="axisline"/>'
    )
    return out


def _empty(name: str, title: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" data-chart="{_e(name)}" '
        f'viewBox="0 0 {WIDTH} 60" width="{WIDTH}" height="60" role="img" '
        f'aria-label="{_e(title)}"><title>{_e(title)}</title>'
        f'<text x="{LEFT}" y="16" class="ctitle">{_e(title)}</text>'
        f'<text x="{LEFT}" y="44" class="empty">no data in this window</text></svg>'
    )


def _legend(names: Sequence[str], colors: Sequence[str]) -> str:
    items = "".join(
        f'<span class="key"><span class="swatch" style="background:{c}"></span>{_e(n)}</span>'
        for n, c in zip(names, colors, strict=True)
    )
    return f'<div class="legend">{items}</div>'


def line_chart(
    name: str, title: str, y_label: str, series: Mapping[str, Series], y_max: float | None = None
) -> str:
    """A time-series chart, one polyline (with a dot per point) per series."""
    points = [p for s in series.values() for p in s]
    if not points:
        return _empty(name, title)
    t0, t1 = min(t for t, _ in points), max(t for t, _ in points)
    if t1 == t0:
        t0, t1 = t0 - timedelta(minutes=1), t1 + timedelta(minutes=1)
    top = y_max if y_max is not None else max(v for _, v in points) * 1.1 or 1.0
    out = _frame(name, title, y_label, t0=t0, t1=t1, y_max=top)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    span = (t1 - t0).total_seconds()
    colors = [PALETTE[i % len(PALETTE)] for i in range(len(series))]
    for (label, values), color in zip(sorted(series.items()), colors, strict=True):
        coords = [
            (
                LEFT + plot_w * (t - t0).total_seconds() / span,
                TOP + plot_h - plot_h * min(v, top) / top,
            )
            for t, v in sorted(values)
        ]
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
        out.append(
            f'<polyline class="series" data-series="{_e(label)}" points="{path}" '
            f'fill="none" stroke="{color}" stroke-width="1.5"/>'
        )
        out += [f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2" fill="{color}"/>' for x, y in coords]
    out.append("</svg>")
    return "".join(out) + _legend(sorted(series), colors)


def bar_chart(
    name: str,
    title: str,
    y_label: str,
    buckets: Mapping[datetime, Mapping[str, int]],
    width: timedelta,
) -> str:
    """Stacked bars per time bucket (``buckets``: bucket start -> count per severity)."""
    if not buckets:
        return _empty(name, title)
    t0, t1 = min(buckets), max(buckets) + width
    top = max(sum(c.values()) for c in buckets.values()) * 1.1 or 1.0
    out = _frame(name, title, y_label, t0=t0, t1=t1, y_max=top)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    span = (t1 - t0).total_seconds()
    bar_w = max(2.0, plot_w * width.total_seconds() / span - 2)
    order = [s for s in SEVERITY_COLORS if any(s in c for c in buckets.values())]
    for start, counts in sorted(buckets.items()):
        x = LEFT + plot_w * (start - t0).total_seconds() / span + 1
        base = float(TOP + plot_h)
        for severity in order:
            n = counts.get(severity, 0)
            if not n:
                continue
            h = plot_h * n / top
            base -= h
            out.append(
                f'<rect class="bar" data-severity="{severity}" data-count="{n}" x="{x:.1f}" '
                f'y="{base:.1f}" width="{bar_w:.1f}" height="{h:.1f}" '
                f'fill="{SEVERITY_COLORS[severity]}"><title>{start:%Y-%m-%d %H:%M} '
                f"{n} {severity}</title></rect>"
            )
    out.append("</svg>")
    return "".join(out) + _legend(order, [SEVERITY_COLORS[s] for s in order])


def _table(name: str, columns: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    if not rows:
        return f'<p class="empty" data-table="{_e(name)}">none</p>'
    head = "".join(f"<th>{_e(c)}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{_e('-' if v is None else v)}</td>" for v in row) + "</tr>"
        for row in rows
    )
    return (
        f'<table data-table="{_e(name)}"><thead><tr>{head}</tr></thead>'
        f"<tbody>{body}</tbody></table>"
    )


_CSS = """
body{font-family:system-ui,sans-serif;margin:24px;color:#222;max-width:1100px}
h1{font-size:22px}h2{font-size:17px;margin-top:28px;border-bottom:1px solid #ddd}
table{border-collapse:collapse;font-size:13px;margin:8px 0}
th,td{border:1px solid #ccc;padding:3px 8px;text-align:left}th{background:#f3f3f3}
.chart,.lineage{display:block;margin-top:8px}.ctitle{font-size:13px;font-weight:600}
.axis{font-size:10px;fill:#555}.grid{stroke:#eee}.axisline{stroke:#888}
.empty{fill:#888;color:#888;font-style:italic}
.legend{font-size:12px;margin:2px 0 10px 64px}.key{margin-right:14px}
.swatch{display:inline-block;width:10px;height:10px;margin-right:4px}
.sev-critical{color:#d62728;font-weight:600}.sev-warning{color:#b85c00}
"""


def render_report(
    health: HealthData, cost: Sequence[DailyCost] | None = None, lineage: str = ""
) -> str:
    """The whole page; with ``cost``, its cost section (:mod:`lakehouse.cost.views`);
    ``lineage`` is the SVG of the lineage graph
    (:func:`lakehouse.lineage.section.lineage_graph`), a section of its own when given."""
    throughput: dict[str, list[tuple[datetime, float]]] = {}
    for b in health.batches:
        throughput.setdefault(b.job, []).append((b.finished_ts, b.rows_per_second))
    lag: dict[str, list[tuple[datetime, float]]] = {}
    for m in health.metrics:
        if m.event_lag_seconds is not None:
            lag.setdefault(m.table_name, []).append((m.batch_ts, m.event_lag_seconds))
    quality: dict[str, list[tuple[datetime, float]]] = {}
    for q in health.quality:
        quality.setdefault(q.job, []).append((q.validated_ts, 100 * q.pass_rate))
    hourly: dict[datetime, dict[str, int]] = {}
    for f in health.findings:
        hour = f.detected_ts.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
        hourly.setdefault(hour, {}).setdefault(f.severity, 0)
        hourly[hour][f.severity] += 1
    findings = health.open_findings()
    daily = rollup_daily(health.metrics)
    streams = health.streams()
    generated = health.now.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    critical = sum(s.open_critical for s in streams)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        "<title>Lakehouse pipeline health</title>",
        f"<style>{_CSS}</style></head><body>",
        "<h1>Lakehouse pipeline health</h1>",
        f'<p id="summary">Generated {generated} over the last {health.days} days: '
        f"{len(streams)} stream(s), {len(health.batches)} batch(es), "
        f"{len(findings)} open anomal{'y' if len(findings) == 1 else 'ies'} "
        f"({critical} critical).</p>",
        "<h2>Streams</h2>",
        _table("streams", STATUS_COLUMNS, [status_row(s) for s in streams]),
        *(["<h2>Lineage</h2>", lineage] if lineage else []),
        "<h2>Throughput</h2>",
        line_chart("throughput", "Rows per second of each batch", "rows/s", throughput),
        "<h2>Event lag</h2>",
        line_chart("lag", "Age of the newest event when processed", "seconds", lag),
        "<h2>Quality pass rate</h2>",
        line_chart("quality", "Expectations passed per batch", "% passed", quality, y_max=100.0),
        "<h2>Anomalies over time</h2>",
        bar_chart("anomalies", "Findings per hour", "findings", hourly, timedelta(hours=1)),
        "<h2>Open anomalies</h2>",
        _table(
            "open-anomalies",
            ["severity", "table", "batch", "detector", "metric", "observed", "expected", "message"],
            [
                [
                    f.severity,
                    f.table_name,
                    f.batch_id,
                    f.detector,
                    f.metric,
                    None if f.observed is None else f"{f.observed:.4g}",
                    _bounds(f.expected_low, f.expected_high),
                    f.message,
                ]
                for f in findings
            ],
        ),
        "<h2>Daily metrics</h2>",
        _table(
            "daily",
            ["table", "day", "batches", "rows", "quarantined", "max event lag", "null rates"],
            [
                [
                    d.table_name,
                    d.day.isoformat(),
                    d.batches,
                    d.rows,
                    f"{100 * d.quarantine_rate:.2f} %",
                    "-" if d.max_event_lag_seconds is None else f"{d.max_event_lag_seconds:.0f} s",
                    ", ".join(f"{k} {100 * v:.1f} %" for k, v in d.null_rates.items()) or "-",
                ]
                for d in daily
            ],
        ),
        render_cost_html(cost) if cost is not None else "",
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"


def _bounds(low: float | None, high: float | None) -> str:
    def one(v: float | None) -> str:
        return "-" if v is None else f"{v:.4g}"

    return f"{one(low)} .. {one(high)}"


def write_report(
    health: HealthData,
    out: Path,
    cost: Sequence[DailyCost] | None = None,
    lineage: str = "",
) -> Path:
    """Write ``index.html`` into ``out`` (created); return its path."""
    out.mkdir(parents=True, exist_ok=True)
    page = out / "index.html"
    page.write_text(render_report(health, cost, lineage), encoding="utf-8")
    return page
