"""``lakehouse status``: each stream's last batch, throughput, lag, quarantine rate and
open anomalies, as a terminal table."""

from __future__ import annotations

from datetime import datetime

from lakehouse.config import LakehouseConfig
from lakehouse.display import format_table
from lakehouse.errors import ConfigError
from lakehouse.monitoring.health import HealthData, StreamStatus

__all__ = ["STATUS_COLUMNS", "duration", "render_source_status", "render_status", "status_row"]

STATUS_COLUMNS = (
    "stream",
    "last batch",
    "finished (UTC)",
    "status",
    "rows in",
    "rows/s",
    "event lag",
    "idle",
    "quarantined",
    "open anomalies",
)


def duration(seconds: float | None) -> str:
    """``42 s``, ``3.5 min``, ``2.0 h``, ``1.5 d``; ``-`` when unknown."""
    if seconds is None:
        return "-"
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


def _anomalies(s: StreamStatus) -> str:
    if not s.open_critical and not s.open_warning:
        return "none"
    parts = []
    if s.open_critical:
        parts.append(f"{s.open_critical} critical")
    if s.open_warning:
        parts.append(f"{s.open_warning} warning")
    return ", ".join(parts)


def status_row(s: StreamStatus) -> list[object]:
    return [
        s.job,
        "-" if s.last_batch is None else s.last_batch,
        "-" if s.finished_ts is None else s.finished_ts.replace(tzinfo=None, microsecond=0),
        s.batch_status,
        s.rows_in,
        round(s.rows_per_second, 1),
        duration(s.event_lag_seconds),
        duration(s.idle_seconds),
        f"{100 * s.quarantine_rate:.1f} %",
        _anomalies(s),
    ]


def render_status(health: HealthData) -> str:
    """The streams table, then the open findings (most severe first, at most 10)."""
    streams = health.streams()
    if not streams:
        return f"no batches in the last {health.days} days: start a stream (lakehouse run ...)"
    lines = [format_table(STATUS_COLUMNS, [status_row(s) for s in streams])]
    failed = [s.failure for s in streams if s.failure is not None]
    if failed:
        lines.append(f"\nfailed streams ({len(failed)}): restart with lakehouse run")
        for f in failed:
            when = f.failed_ts.replace(tzinfo=None, microsecond=0)
            trace = f" (full trace: {f.log_file})" if f.log_file else ""
            lines.append(f"  {f.job} at {when}: {f.error}{trace}")
    findings = health.open_findings()
    if findings:
        lines.append(f"\nopen anomalies ({len(findings)}):")
        lines.append(
            format_table(
                ["severity", "table", "batch", "detector", "metric", "observed", "expected"],
                [
                    [
                        f.severity,
                        f.table_name,
                        f.batch_id,
                        f.detector,
                        f.metric,
                        None if f.observed is None else round(f.observed, 3),
                        _range(f.expected_low, f.expected_high),
                    ]
                    for f in findings[:10]
                ],
            )
        )
    else:
        lines.append("\nno open anomalies")
    return "\n".join(lines)


def _bound(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"


def _range(low: float | None, high: float | None) -> str:
    return f"{_bound(low)} .. {_bound(high)}"


def render_source_status(config: LakehouseConfig, now: datetime | None = None) -> str | None:
    """What the source itself says, per dataset: for Pub/Sub the subscription's backlog and
    dead-letter topic (Cloud Monitoring and the Subscriber API, no Spark); None for the
    other sources. A part that cannot be read is a line saying why, never an error."""
    if config.source.type != "pubsub":
        return None
    from lakehouse.platform import load_platform, source_config
    from lakehouse.sources.pubsub.health import render_subscription, subscription_health

    lines = []
    for tables in load_platform(config).only(None):
        name = tables.dataset.name
        try:
            health = subscription_health(source_config(config, tables.dataset), name, now)
        except ConfigError as exc:  # a half-filled [source]: status still prints the rest
            lines.append(f"pubsub ({name}): {exc}")
            continue
        lines.extend(render_subscription(health))
    return "\n".join(lines)
