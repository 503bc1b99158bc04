"""A real stream with an unreachable alert destination keeps going: its monitoring step's
pass tries the open critical finding (a closed port), records the failure in
ops.notifications and the batch is promoted and logged as usual."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from pathlib import Path

import pytest
from chispa import assert_df_equality
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from lakehouse.alerts import notify
from lakehouse.alerts.settings import AlertsConfig, Destination
from lakehouse.catalog import table_path
from lakehouse.config import TriggerConfig
from lakehouse.io.jobs import start_job
from lakehouse.io.streams import await_stream
from lakehouse.monitoring.history import anomalies_frame
from lakehouse.monitoring.model import Finding
from lakehouse.ops import ANOMALIES, BATCH_LOG, NOTIFICATIONS
from tests.alerts.servers import closed_port
from tests.conftest import landing_lake, make_config
from tests.events import SILVER_EVENTS
from tests.product_generator import GeneratorSpec, generate_events

pytestmark = pytest.mark.slow

EVENTS = 40


def test_a_stream_with_an_unreachable_destination_keeps_going(
    spark: SparkSession, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = dataclasses.replace(
        make_config(tmp_path, gates=False, monitoring=False),
        alerts=AlertsConfig(
            destinations=(Destination(name="hook", type="webhook", url_env="HOOK_URL"),),
            attempts=2,
            backoff_seconds=1,
        ),
    )
    monkeypatch.setenv("HOOK_URL", f"http://127.0.0.1:{closed_port()}/hook")
    monkeypatch.setattr(notify._Streams, "seen", set())
    monkeypatch.setattr(notify._Streams, "open", set())
    monkeypatch.setattr(notify._Streams, "last", {})
    landing = landing_lake(spark, config)
    finding = Finding(
        table_name=SILVER_EVENTS.name,
        job="silver",
        batch_id=0,
        detector="volume",
        metric="rows",
        severity="critical",
        expected_low=100.0,
        expected_high=200.0,
        observed=2.0,
        message="silver.events: 2 rows",
        detected_ts=datetime.now(UTC),
    )
    anomalies = anomalies_frame(spark, [finding], "test")
    anomalies.write.format("delta").mode("append").save(table_path(config.lake, ANOMALIES))
    spec = GeneratorSpec(count=EVENTS, bad_share=0.0, seed=3, rate=2.0)
    (landing / "part-0.jsonl").write_bytes(b"".join(e.line + b"\n" for e in generate_events(spec)))

    trigger = TriggerConfig(mode="available-now")
    for layer in ("bronze", "silver"):
        await_stream(start_job(spark, config, layer, trigger))

    silver = spark.read.format("delta").load(table_path(config.lake, SILVER_EVENTS))
    assert silver.count() == EVENTS
    log = spark.read.format("delta").load(table_path(config.lake, BATCH_LOG))
    assert sorted(
        (r["job"], r["status"], r["rows_in"])
        for r in log.select("job", "status", "rows_in").collect()
    ) == [("bronze-landing", "ok", EVENTS), ("silver", "ok", EVENTS)]
    notes = spark.read.format("delta").load(table_path(config.lake, NOTIFICATIONS))
    assert_df_equality(
        notes.select("finding_id", "event", "destination", "status", "attempts", "deliveries"),
        spark.createDataFrame(
            [(finding.finding_id, "open", "hook", "failed", 2, 1)],
            "finding_id string, event string, destination string, status string, "
            "attempts long, deliveries long",
        ),
        ignore_nullable=True,
    )
    assert [r["error"] for r in notes.where(F.lower("error").contains("refused")).collect()]
