"""Alerting passes over ops rows built directly (no stream): each finding reaches the local
HTTP receivers (Slack-style and generic JSON) and the local SMTP server once, a resolved
message follows when it closes, the rate limit defers and later sends, a failed stream is
told and resolved by its next batch, and an unreachable destination records its failures in
ops.notifications and changes nothing in the lake tables."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from chispa import assert_df_equality
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import MapType

from lakehouse.alerts.model import alert_id
from lakehouse.alerts.notify import check, stream_failed
from lakehouse.alerts.settings import AlertsConfig, Destination
from lakehouse.catalog import register_tables, table_path
from lakehouse.config import LakehouseConfig
from lakehouse.frames import local_frame
from lakehouse.monitoring.history import anomalies_frame, resolve_findings
from lakehouse.monitoring.model import Finding
from lakehouse.ops import ANOMALIES, BATCH_LOG, NOTIFICATIONS, QUALITY_RESULTS, TableDef
from tests.alerts.servers import (
    HttpReceiver,
    SmtpReceiver,
    closed_port,
    http_receiver,
    smtp_receiver,
)
from tests.conftest import make_config

NOW = datetime.now(UTC).replace(microsecond=0)
TABLES = (ANOMALIES, BATCH_LOG, QUALITY_RESULTS, NOTIFICATIONS)


def _lake(
    spark: SparkSession, root: Path, destinations: tuple[Destination, ...], **alerts: Any
) -> LakehouseConfig:
    config = make_config(root)
    config = dataclasses.replace(
        config, alerts=AlertsConfig(destinations=destinations, backoff_seconds=0, **alerts)
    )
    register_tables(spark, config.lake, TABLES)
    return config


def _append(spark: SparkSession, config: LakehouseConfig, table: TableDef, df: DataFrame) -> None:
    df.write.format("delta").mode("append").save(table_path(config.lake, table))


def _finding(
    batch_id: int,
    severity: str = "critical",
    detector: str = "volume",
    table: str = "silver.events",
) -> Finding:
    return Finding(
        table_name=table,
        job="silver",
        batch_id=batch_id,
        detector=detector,
        metric="rows",
        severity=severity,
        expected_low=100.0,
        expected_high=200.0,
        observed=2.0,
        message=f"{table}: 2 rows, expected 100 .. 200",
        detected_ts=NOW - timedelta(minutes=20),
    )


def _batch(
    job: str, batch_id: int, minutes_ago: float, status: str = "ok", reason: str | None = None
) -> dict[str, Any]:
    finished = (NOW - timedelta(minutes=minutes_ago)).replace(tzinfo=None)
    return {
        "job": job,
        "dataset": "events",
        "batch_id": batch_id,
        "started_ts": finished - timedelta(seconds=2),
        "finished_ts": finished,
        "duration_ms": 2000,
        "rows_in": 10,
        "rows_out": 0 if status == "blocked" else 10,
        "rows_quarantined": 10 if status == "blocked" else 0,
        "status": status,
        "blocked_reason": reason,
    }


BLOCK = "silver.events: batch_blocked:expect_table_row_count_to_be_between"


def _seed(spark: SparkSession, config: LakehouseConfig) -> None:
    """A critical anomaly (and a warning and a recorded stall, which do not alert), a silver
    stream whose last two batches a table-level gate blocked, a bronze stream silent for
    five hours (stalled: critical after two)."""
    findings = [_finding(3), _finding(3, "warning", "null_rate"), _finding(2, detector="stall")]
    _append(spark, config, ANOMALIES, anomalies_frame(spark, findings, "test"))
    log = [
        _batch("bronze-landing", 1, 300),
        _batch("silver", 4, 10),
        _batch("silver", 5, 5, "blocked", BLOCK),
        _batch("silver", 6, 2, "blocked", BLOCK),
    ]
    _append(spark, config, BATCH_LOG, local_frame(spark, log, BATCH_LOG.schema))
    verdict = {
        "job": "silver",
        "table_name": "silver.events",
        "batch_id": 6,
        "suite": "silver_events",
        "expectation_type": "expect_table_row_count_to_be_between",
        "kwargs": '{"min_value": 20}',
        "severity": "critical",
        "row_level": False,
        "success": False,
        "observed_value": "10",
        "action": "blocked_batch",
        "validated_ts": (NOW - timedelta(minutes=2)).replace(tzinfo=None),
        "_writer_id": "test",
    }
    # a backfill's verdict with the same table and batch id is not the stream's
    other = {
        **verdict,
        "job": "backfill",
        "expectation_type": "expect_column_values_to_not_be_null",
        "_writer_id": "backfill:x",
    }
    _append(
        spark, config, QUALITY_RESULTS, local_frame(spark, [verdict, other], QUALITY_RESULTS.schema)
    )


ANOMALY_ID = _finding(3).finding_id
BLOCKED_ID = alert_id("blocked", "events", "silver", 4, (NOW - timedelta(minutes=10)).isoformat())
STALLED_ID = alert_id("stalled", "bronze.events", "bronze-landing", 1)


def _notifications(spark: SparkSession, config: LakehouseConfig) -> DataFrame:
    return spark.read.format("delta").load(table_path(config.lake, NOTIFICATIONS))


def _states(spark: SparkSession, config: LakehouseConfig) -> DataFrame:
    return _notifications(spark, config).select(
        "finding_id", "event", "destination", "status", "attempts", "deliveries"
    )


def _expected(spark: SparkSession, rows: list[tuple[str, str, str, str, int, int]]) -> DataFrame:
    return spark.createDataFrame(
        rows,
        "finding_id string, event string, destination string, status string, attempts long, "
        "deliveries long",
    )


def _check_states(
    spark: SparkSession, config: LakehouseConfig, rows: list[tuple[str, str, str, str, int, int]]
) -> None:
    assert_df_equality(
        _states(spark, config), _expected(spark, rows), ignore_row_order=True, ignore_nullable=True
    )


@pytest.fixture
def receivers() -> Iterator[tuple[HttpReceiver, HttpReceiver, SmtpReceiver]]:
    with http_receiver() as chat, http_receiver() as hook, smtp_receiver() as mail:
        yield chat, hook, mail


def _destinations(mail_port: int) -> tuple[Destination, ...]:
    return (
        Destination(name="chat", type="slack", url_env="CHAT_URL"),
        Destination(name="hook", type="webhook", url_env="HOOK_URL"),
        Destination(
            name="mail",
            type="smtp",
            host="127.0.0.1",
            port=mail_port,
            sender="lakehouse@x.test",
            to=("oncall@x.test",),
        ),
    )


def test_each_finding_is_told_once_then_resolved(
    spark: SparkSession,
    tmp_path: Path,
    receivers: tuple[HttpReceiver, HttpReceiver, SmtpReceiver],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    chat, hook, mail = receivers
    monkeypatch.setenv("CHAT_URL", chat.url)
    monkeypatch.setenv("HOOK_URL", hook.url)
    config = _lake(spark, tmp_path, _destinations(mail.port))
    _seed(spark, config)

    # the driver of the gold stream saw it fail: it tells at once (its own pass)
    told = stream_failed(spark, config, "events", "gold", "StreamFailed: boom")
    first = check(spark, config, now=NOW)
    again = check(spark, config, now=NOW + timedelta(minutes=1))

    assert told is not None and len(told.sent) == 3
    failed_id = told.sent[0].alert.finding_id
    ids = {ANOMALY_ID, BLOCKED_ID, STALLED_ID, failed_id}
    assert {a.finding_id for a in first.open_findings} == ids
    assert len(first.sent) == 9 and not first.failed and not first.deferred
    assert again.sent == [] and {a.finding_id for a in again.open_findings} == ids
    assert sorted(b["finding_id"] for b in hook.bodies) == sorted(ids)
    assert {b["event"] for b in hook.bodies} == {"open"}
    assert len(chat.bodies) == 4 and len(mail.mails) == 4
    by_kind = {b["kind"]: b for b in hook.bodies}
    assert by_kind["blocked"] == {
        **by_kind["blocked"],
        "dataset": "events",
        "table": "silver.events",
        "batch_id": 6,
        "observed": "expect_table_row_count_to_be_between: observed 10",
        "expected": 'expect_table_row_count_to_be_between {"min_value": 20}',
        "command": 'lakehouse status; lakehouse sql "SELECT * FROM ops.quality_results WHERE '
        "job = 'silver' AND table_name = 'silver.events' AND batch_id = 6 AND NOT success\"",
    }
    assert by_kind["blocked"]["detail"] == (
        f"batch 6 was not promoted (every batch since batch 4 is blocked): {BLOCK}"
    )
    assert (by_kind["anomaly"]["observed"], by_kind["anomaly"]["expected"]) == (
        "rows = 2",
        "rows in 100 .. 200 (volume)",
    )
    assert by_kind["failed"] == {
        **by_kind["failed"],
        "job": "gold",
        "observed": "stopped: StreamFailed: boom",
        "expected": "running",
        "command": "lakehouse status; lakehouse run gold --dataset events (restart it)",
    }
    stalled = next(m for m in mail.mails if "stalled" in m["Subject"])
    assert (
        stalled["Subject"]
        == "[lakehouse] CRITICAL stream stalled: events/bronze-landing (bronze.events)"
    )
    assert "no rows for 18000 s" in stalled.get_content()
    assert "stream:   silver" in next(b["text"] for b in chat.bodies if "blocked" in b["text"])

    # the four close: the anomaly is resolved, silver promotes again, bronze reads rows,
    # gold runs a batch
    resolve_findings(spark, config.lake, [ANOMALY_ID], NOW)
    # (after the failure, which was told at the wall-clock time of this test)
    after = -(datetime.now(UTC) - NOW).total_seconds() / 60 - 1
    later = [_batch(job, 9, after) for job in ("silver", "bronze-landing", "gold")]
    _append(spark, config, BATCH_LOG, local_frame(spark, later, BATCH_LOG.schema))
    closing = check(spark, config, now=NOW + timedelta(minutes=2))

    assert closing.open_findings == [] and len(closing.sent) == 12
    assert sorted((b["finding_id"], b["event"]) for b in hook.bodies[4:]) == sorted(
        (i, "resolved") for i in ids
    )
    assert all("RESOLVED" in m["Subject"] for m in mail.mails[4:]) and len(mail.mails) == 8
    assert len(chat.bodies) == 8
    _check_states(
        spark,
        config,
        [
            (i, e, d, "sent", 1, 1)
            for i in ids
            for e in ("open", "resolved")
            for d in ("chat", "hook", "mail")
        ],
    )


def test_an_unreachable_destination_records_failures_and_changes_no_lake_table(
    spark: SparkSession, tmp_path: Path
) -> None:
    dests = (
        Destination(name="hook", type="webhook", url_env="HOOK_URL"),
        Destination(
            name="mail",
            type="smtp",
            host="127.0.0.1",
            port=closed_port(),
            sender="a@x.test",
            to=("b@x.test",),
        ),
    )
    config = _lake(spark, tmp_path, dests, attempts=2, max_deliveries=2)
    env = {"HOOK_URL": f"http://127.0.0.1:{closed_port()}/hook"}
    _seed(spark, config)
    lake = [ANOMALIES, BATCH_LOG, QUALITY_RESULTS]
    before = {
        t.name: spark.read.format("delta").load(table_path(config.lake, t)).localCheckpoint()
        for t in lake
    }

    first = check(spark, config, now=NOW, env=env)
    ids = (ANOMALY_ID, BLOCKED_ID, STALLED_ID)
    _check_states(
        spark, config, [(i, "open", d, "failed", 2, 1) for i in ids for d in ("hook", "mail")]
    )
    second = check(spark, config, now=NOW, env=env)

    assert len(first.failed) == 6 and len(second.failed) == 6 and second.sent == []
    assert all("refused" in error.lower() for _, error in first.failed + second.failed)
    # two passes tried each message twice: given up (max_deliveries = 2)
    _check_states(
        spark, config, [(i, "open", d, "given_up", 4, 2) for i in ids for d in ("hook", "mail")]
    )
    errors = _notifications(spark, config).select("error").distinct().collect()
    assert all("refused" in r["error"].lower() for r in errors)
    for t in lake:
        after = spark.read.format("delta").load(table_path(config.lake, t))
        order = [f.name for f in t.schema.fields if not isinstance(f.dataType, MapType)]
        assert_df_equality(after.orderBy(*order), before[t.name].orderBy(*order))
    assert _notifications(spark, config).where(F.col("sent_ts").isNotNull()).count() == 0
