"""Two steady days of generated hourly batches, measured and judged by the per-batch monitor
of the jobs, then incidents injected into the next batch: each is found in that batch, and
the steady days have no critical finding."""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import IntegerType, StructField, StructType

from lakehouse.monitoring.detectors import detect_stall
from lakehouse.monitoring.model import Finding
from lakehouse.monitoring.monitor import Monitor, Observation
from lakehouse.monitoring.thresholds import Monitoring
from tests.conftest import make_config, register_lake
from tests.events import EVENT_FIELDS, SILVER_EVENTS
from tests.product_generator import GeneratorSpec, generate_events

pytestmark = pytest.mark.slow


def _silver_monitoring() -> Monitoring:
    assert SILVER_EVENTS.monitoring is not None
    return SILVER_EVENTS.monitoring


MONITORING = _silver_monitoring()
START = datetime(2026, 11, 20, tzinfo=UTC)
HOURS = 48
KNOWN = {f.name for f in EVENT_FIELDS}
SCHEMA = StructType([SILVER_EVENTS.schema[c] for c in MONITORING.columns])
HOUR = StructField("_hour", IntegerType(), False)

Event = dict[str, Any]


def _events(hour: int, count: int, seed: int) -> list[Event]:
    """Good generated events of one hour, as dicts."""
    spec = GeneratorSpec(
        count=count,
        bad_share=0.0,
        seed=seed,
        rate=count / 3600,
        start=START + timedelta(hours=hour),
    )
    return [json.loads(e.line) for e in generate_events(spec)]


def _frame(spark: SparkSession, events: list[Event], hours: list[int] | None = None) -> DataFrame:
    """The monitored silver columns of the events (what the silver job promotes), with the
    hour of each event in ``_hour`` when ``hours`` are given."""
    rows = []
    for n, e in enumerate(events):
        rescued = {k: json.dumps(v) for k, v in e.items() if k not in KNOWN}
        values = {
            **e,
            "event_ts": datetime.fromisoformat(e["event_ts"].replace("Z", "+00:00")),
            "amount": None if e.get("amount") is None else Decimal(str(e["amount"])),
            "rescued_data": rescued or None,
        }
        row = tuple(values.get(c) for c in MONITORING.columns)
        rows.append(row if hours is None else (*row, hours[n]))
    if hours is None:
        return spark.createDataFrame(rows, SCHEMA)
    return spark.createDataFrame(rows, StructType([*SCHEMA.fields, HOUR]))


def _count(hour: int) -> int:
    return 300 + random.Random(hour).randint(-30, 30)


@dataclass
class Stream:
    spark: SparkSession
    monitor: Monitor
    observations: list[Observation]

    def judge(self, hour: int, events: list[Event], quarantined: int = 6) -> list[Finding]:
        """Findings of a batch with ``events`` at ``hour`` against the two steady days."""
        metrics = self.monitor.observe(
            _frame(self.spark, events),
            SILVER_EVENTS,
            job="silver",
            batch_id=hour,
            batch_ts=START + timedelta(hours=hour + 1, seconds=30),
            rows_in=len(events) + quarantined,
            rows_quarantined=quarantined,
        )
        return metrics.findings


@pytest.fixture(scope="module")
def stream(spark: SparkSession, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stream]:
    """Two days of hourly batches of about 300 events, through Monitor as a job uses it
    (the events of the two days are one cached frame; each batch is one hour of it)."""
    config = make_config(tmp_path_factory.mktemp("monitoring"))
    register_lake(spark, config)
    monitor = Monitor(config)
    steady = Stream(spark, monitor, [])
    days = [_events(hour, _count(hour), seed=hour) for hour in range(HOURS)]
    hours = [e for hour, events in enumerate(days) for e in events]
    labels = [hour for hour, events in enumerate(days) for _ in events]
    frame = _frame(spark, hours, labels).persist()
    try:
        for hour, events in enumerate(days):
            observation = monitor.observe(
                frame.where(F.col("_hour") == hour).drop("_hour"),
                SILVER_EVENTS,
                job="silver",
                batch_id=hour,
                batch_ts=START + timedelta(hours=hour + 1, seconds=30),
                rows_in=len(events) + 6,
                rows_quarantined=6,
            )
            monitor.remember(observation)
            steady.observations.append(observation)
        yield steady
    finally:
        frame.unpersist()


def test_a_steady_two_day_stream_has_no_critical_finding(stream: Stream) -> None:
    findings = [f for o in stream.observations for f in o.findings]
    assert len(stream.observations) == HOURS
    assert [f for f in findings if f.critical] == []
    # detectors did speak once history was there: warnings stay rare
    assert len(findings) <= HOURS // 8, [f.message for f in findings]
    assert all(o.metrics.rows > 200 for o in stream.observations)


def _incident(name: str) -> Callable[[list[Event]], list[Event]]:
    rng = random.Random(name)

    def volume_drop(events: list[Event]) -> list[Event]:
        return events[:25]

    def null_spike(events: list[Event]) -> list[Event]:
        return [
            {k: v for k, v in e.items() if k != "device"} if rng.random() < 0.6 else e
            for e in events
        ]

    def category_drift(events: list[Event]) -> list[Event]:
        return [{**e, "event_type": "signup"} if rng.random() < 0.5 else e for e in events]

    def new_field(events: list[Event]) -> list[Event]:
        return [{**e, "coupon_code": "BF2026"} if rng.random() < 0.1 else e for e in events]

    incidents = {
        "volume_drop": volume_drop,
        "null_spike": null_spike,
        "category_drift": category_drift,
        "new_field": new_field,
    }
    return incidents[name]


@pytest.mark.parametrize(
    ("incident", "detector", "metric", "severity"),
    [
        ("volume_drop", "volume", "rows", "critical"),
        ("null_spike", "null_rate", "device", "critical"),
        ("category_drift", "category_psi", "event_type", "critical"),
        ("new_field", "schema_drift", "rescued_data.coupon_code", "warning"),
    ],
)
def test_an_incident_is_found_in_the_batch_where_it_starts(
    stream: Stream, incident: str, detector: str, metric: str, severity: str
) -> None:
    hour = HOURS
    events = _incident(incident)(_events(hour, _count(hour), seed=hour))
    findings = stream.judge(hour, events)
    found = {(f.detector, f.metric): f for f in findings}
    assert (detector, metric) in found, [f.message for f in findings]
    finding = found[(detector, metric)]
    assert finding.severity == severity
    assert finding.batch_id == hour
    assert finding.observed is not None
    assert finding.expected_high is not None
    # the finding is about the incident, not collateral noise from other columns
    if detector == "null_rate":
        assert [f.metric for f in findings if f.detector == "null_rate"] == ["device"]


def test_a_stalled_source_is_found_once_the_silence_passes_the_threshold(stream: Stream) -> None:
    history = [o.metrics for o in stream.observations]
    last = history[-1].batch_ts
    m = MONITORING
    assert detect_stall(history, m, last + timedelta(minutes=20)) is None
    stall = detect_stall(history, m, last + timedelta(seconds=m.stall_critical_seconds + 1))
    assert stall is not None
    assert (stall.detector, stall.severity, stall.batch_id) == ("stall", "critical", HOURS - 1)


def test_the_history_is_kept_in_memory_bounded(stream: Stream) -> None:
    # the steady run never wrote its metrics to the table: the monitor kept them in memory
    history = stream.monitor.history(stream.spark, SILVER_EVENTS)
    assert [h.batch_id for h in history] == list(range(HOURS))
    assert history.maxlen == stream.monitor.settings.history_batches
