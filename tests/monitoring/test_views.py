"""The status table and the HTML report from explicit health data (no Spark), and the
[monitoring] configuration section."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from lakehouse.config import MonitoringConfig, load_config
from lakehouse.errors import ConfigError
from lakehouse.monitoring.health import (
    BatchRow,
    FailureRow,
    FindingRow,
    HealthData,
    QualityRow,
)
from lakehouse.monitoring.model import BatchMetrics
from lakehouse.monitoring.report import render_report, write_report
from lakehouse.monitoring.status import duration, render_status

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def _health() -> HealthData:
    batches = [
        BatchRow("silver", i, NOW - timedelta(minutes=30 - i), 2000, 400, 390, 10, "ok")
        for i in range(3)
    ] + [BatchRow("bronze-landing", 0, NOW - timedelta(hours=3), 500, 410, 410, 0, "ok")]
    metrics = [
        BatchMetrics(
            table_name="silver.events",
            job="silver",
            batch_id=i,
            batch_ts=NOW - timedelta(minutes=30 - i),
            rows=390,
            rows_in=400,
            rows_quarantined=10,
            null_rates={"device": 0.01},
            event_lag_seconds=40.0 + i,
        )
        for i in range(3)
    ]
    quality = [QualityRow("silver", i, NOW - timedelta(minutes=30 - i), 10, 11) for i in range(3)]
    findings = [
        FindingRow(
            "silver.events",
            "silver",
            2,
            "null_rate",
            "device",
            "critical",
            0.0,
            0.06,
            0.5,
            "device <b>nulls</b> & more",
            NOW - timedelta(minutes=28),
            "open",
            False,
        ),
        FindingRow(
            "silver.events",
            "silver",
            1,
            "volume",
            "rows",
            "warning",
            300.0,
            500.0,
            100.0,
            "fewer rows",
            NOW - timedelta(hours=2),
            "resolved",
            False,
        ),
    ]
    return HealthData(NOW, 7, batches, metrics, quality, findings)


def test_status_table_of_each_stream() -> None:
    text = render_status(_health())
    lines = text.splitlines()
    silver = next(line for line in lines if line.startswith("| silver "))
    cells = [c.strip() for c in silver.strip("|").split("|")]
    assert cells == [
        "silver",
        "2",
        "2026-11-23 11:32:00",
        "ok",
        "400",
        "200.0",
        "42 s",
        "28.0 min",
        "2.5 %",
        "1 critical",
    ]
    bronze = next(line for line in lines if line.startswith("| bronze-landing "))
    assert [c.strip() for c in bronze.strip("|").split("|")][6:] == ["-", "3.0 h", "0.0 %", "none"]
    assert "open anomalies (1):" in text
    assert "fewer rows" not in text  # resolved findings are not listed


def test_a_stream_that_failed_after_its_last_batch_is_failed_until_it_runs_again() -> None:
    health = _health()
    failures = [
        # silver failed after its last batch (11:32); bronze failed before its batch (9:00):
        # it ran since. gold failed before running any batch in the window.
        FailureRow("silver", NOW - timedelta(minutes=10), "StreamFailed: disk full", "/l/1.log"),
        FailureRow("bronze-landing", NOW - timedelta(hours=4), "StreamFailed: old", None),
        FailureRow("gold", NOW - timedelta(minutes=5), "StreamFailed: no gold", None),
    ]
    health = HealthData(
        NOW, 7, health.batches, health.metrics, health.quality, health.findings, failures
    )
    text = render_status(health)
    rows = {
        cells[0]: cells
        for line in text.splitlines()
        if line.startswith("| ") and not line.startswith("| stream ")
        for cells in [[c.strip() for c in line.strip("|").split("|")]]
    }
    assert rows["silver"][3] == "FAILED"
    assert rows["silver"][7] == "28.0 min"  # idle since its last batch
    assert rows["bronze-landing"][3] == "ok"  # it ran a batch after the failure
    assert rows["gold"][:4] == ["gold", "-", "-", "FAILED"]
    assert rows["gold"][7] == "5.0 min"  # since it failed
    assert "failed streams (2): restart with lakehouse run" in text
    assert "  silver at 2026-11-23 11:50:00: StreamFailed: disk full (full trace: /l/1.log)" in text
    assert "  gold at 2026-11-23 11:55:00: StreamFailed: no gold" in text
    assert "StreamFailed: old" not in text
    # the report's streams table says it too
    page = render_report(health)
    streams = page.split('data-table="streams"')[1].split("</table>")[0]
    assert streams.count("FAILED") == 2


def test_status_without_batches_says_what_to_do() -> None:
    empty = HealthData(NOW, 7, [], [], [], [])
    assert render_status(empty) == (
        "no batches in the last 7 days: start a stream (lakehouse run ...)"
    )


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(None, "-"), (5, "5 s"), (600, "10.0 min"), (3 * 3600, "3.0 h"), (3 * 86400, "3.0 d")],
)
def test_durations_read_well(seconds: float | None, text: str) -> None:
    assert duration(seconds) == text


def test_report_charts_and_tables(tmp_path: Path) -> None:
    page = write_report(_health(), tmp_path / "out").read_text()
    charts = re.findall(r'<svg [^>]*data-chart="([a-z]+)"', page)
    assert charts == ["throughput", "lag", "quality", "anomalies"]
    throughput = page.split('data-chart="throughput"')[1].split("</svg>")[0]
    assert set(re.findall(r'data-series="([^"]+)"', throughput)) == {"silver", "bronze-landing"}
    assert throughput.count("<circle") == 4
    bars = re.findall(r'data-severity="(\w+)" data-count="(\d+)"', page)
    assert sorted(bars) == [("critical", "1"), ("warning", "1")]
    # messages are escaped, resolved findings are not open
    assert "device &lt;b&gt;nulls&lt;/b&gt; &amp; more" in page
    assert "<b>nulls</b>" not in page
    open_table = page.split('data-table="open-anomalies"')[1].split("</table>")[0]
    assert "fewer rows" not in open_table
    assert "0 .. 0.06" in open_table
    daily = page.split('data-table="daily"')[1].split("</table>")[0]
    assert "2026-11-23" in daily and "device 1.0 %" in daily


def test_report_without_data_says_so() -> None:
    page = render_report(HealthData(NOW, 7, [], [], [], []))
    assert page.count("no data in this window") == 4
    assert 'data-table="streams">none' in page


def test_monitoring_section_is_read_and_validated(tmp_path: Path) -> None:
    config = tmp_path / "lakehouse.toml"
    config.write_text("[monitoring]\nenabled = false\nhistory_batches = 50\n")
    loaded = load_config(config, env={"LAKEHOUSE_MONITORING_HISTORY_DAYS": "3"})
    assert loaded.monitoring == MonitoringConfig(enabled=False, history_batches=50, history_days=3)
    with pytest.raises(ConfigError, match=r"monitoring\.history_batches: 5 must be 10 to 100000"):
        MonitoringConfig(history_batches=5)
    config.write_text("[monitoring]\nwindow = 3\n")
    with pytest.raises(ConfigError, match=r"unknown key.*'window'.*valid keys are enabled"):
        load_config(config, env={})
