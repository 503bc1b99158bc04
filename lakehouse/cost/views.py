"""Cost per million events per stream and its trend: a terminal table for ``lakehouse
status`` and an HTML section for the report (built from :func:`~.rates.read_daily_cost`)."""

from __future__ import annotations

import html
from collections.abc import Sequence

from lakehouse.cost.rates import DailyCost, trend
from lakehouse.display import format_table

__all__ = ["COST_COLUMNS", "cost_rows", "render_cost_html", "render_cost_status"]

COST_COLUMNS = (
    "stream",
    "events",
    "CPU ms / M events",
    "USD / M events",
    "input MB / M events",
    "files read / batch",
    "files written / batch",
    "trend (last day)",
)


def _trend(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:+.0f} %"


def _per_batch(files: int, batches: int) -> object:
    return round(files / batches, 1) if batches else "-"


def cost_rows(days: Sequence[DailyCost]) -> list[list[object]]:
    """One row per stream over the whole window, with the files per batch (over the batches
    that recorded them) and the newest day's cost per event against the median of its
    earlier days."""
    streams: dict[str, list[DailyCost]] = {}
    for d in sorted(days, key=lambda d: (d.stream, d.day)):
        streams.setdefault(d.stream, []).append(d)
    rows: list[list[object]] = []
    for stream, points in streams.items():
        events = sum(p.events for p in points)
        cpu = sum(p.task_cpu_ms for p in points)
        usd = sum(p.usd_per_million * p.events for p in points if p.usd_per_million) / 1e6
        read = sum(p.input_bytes for p in points)
        file_batches = sum(p.file_batches for p in points)
        rows.append(
            [
                stream,
                events,
                round(cpu * 1e6 / events) if events else "-",
                round(usd * 1e6 / events, 4) if events else "-",
                round(read / events, 1) if events else "-",  # bytes per event = MB per M
                _per_batch(sum(p.files_read for p in points), file_batches),
                _per_batch(sum(p.files_written for p in points), file_batches),
                _trend(
                    trend(
                        [p.cpu_ms_per_million for p in points if p.cpu_ms_per_million is not None]
                    )
                ),
            ]
        )
    return rows


def render_cost_status(days: Sequence[DailyCost]) -> str:
    if not days:
        return "cost: no batches with task metrics in the window"
    return "cost per million events (task CPU; `lakehouse cost` for the day's price):\n" + (
        format_table(COST_COLUMNS, cost_rows(days))
    )


def render_cost_html(days: Sequence[DailyCost]) -> str:
    """The report's cost section: the table, then CPU per million events per stream and day."""
    head = "".join(f"<th>{html.escape(c)}</th>" for c in COST_COLUMNS)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in row) + "</tr>"
        for row in cost_rows(days)
    )
    daily = "".join(
        f"<tr><td>{html.escape(d.stream)}</td><td>{d.day.isoformat()}</td><td>{d.batches}</td>"
        f"<td>{d.events}</td><td>"
        + ("-" if d.cpu_ms_per_million is None else f"{d.cpu_ms_per_million:.0f}")
        + f"</td><td>{_per_batch(d.files_read, d.file_batches)}</td>"
        f"<td>{_per_batch(d.files_written, d.file_batches)}</td></tr>"
        for d in days
    )
    return (
        '<h2>Cost per million events</h2><table id="cost"><tr>'
        + head
        + "</tr>"
        + body
        + '</table><h3>Per day</h3><table id="cost-daily"><tr><th>stream</th><th>day</th>'
        "<th>batches</th><th>events</th><th>CPU ms / M events</th><th>files read / batch</th>"
        "<th>files written / batch</th></tr>" + daily + "</table>"
    )
