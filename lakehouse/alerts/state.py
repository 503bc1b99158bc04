"""``ops.notifications``, the state every process shares: read it, claim messages, record
how their delivery went.

A pass claims the messages it will send with one Delta MERGE that only changes rows still
as the pass read them; a concurrent pass that committed first makes the MERGE conflict
(Delta's optimistic concurrency), and the pass then sends nothing. So each message is sent
by one process; a process that dies between sending and recording leaves its claim, which
a pass takes over after :data:`CLAIM_TIMEOUT` (the message may then go twice)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from delta.tables import DeltaTable
from pyspark.sql import SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import StringType, StructField, StructType, TimestampType

from lakehouse.alerts.model import Alert, notification_id
from lakehouse.catalog import table_path
from lakehouse.config import LakeConfig
from lakehouse.frames import local_frame
from lakehouse.io.retry import with_retries
from lakehouse.ops import NOTIFICATIONS

__all__ = [
    "CLAIM_TIMEOUT",
    "Message",
    "Stored",
    "claim",
    "claimed_by",
    "read_state",
    "record",
]

CLAIM_TIMEOUT = timedelta(minutes=15)


def _naive(ts: datetime) -> datetime:
    return ts.astimezone(UTC).replace(tzinfo=None) if ts.tzinfo is not None else ts


def _utc(ts: datetime | None) -> datetime | None:
    if ts is None:
        return None
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts


@dataclass(frozen=True)
class Stored:
    """A row of ``ops.notifications`` as a pass reads it."""

    notification_id: str
    finding_id: str
    event: str
    destination: str
    status: str
    attempts: int
    deliveries: int
    updated_ts: datetime
    sent_ts: datetime | None
    alert: Alert


@dataclass(frozen=True)
class Message:
    """One message a pass sends (or defers): an alert's open or resolved event for one
    destination; ``previous`` is its row as the pass read it."""

    alert: Alert
    event: str
    destination: str
    previous: Stored | None

    @property
    def notification_id(self) -> str:
        return notification_id(self.alert.finding_id, self.event, self.destination)


def _alert(row: Any) -> Alert:
    detected = _utc(row["detected_ts"])
    assert detected is not None
    return Alert(
        finding_id=row["finding_id"],
        kind=row["kind"],
        severity=row["severity"],
        dataset=row["dataset"],
        table_name=row["table_name"],
        job=row["job"],
        batch_id=row["batch_id"],
        observed=row["observed"] or "",
        expected=row["expected"] or "",
        detail=row["detail"] or "",
        detected_ts=detected,
    )


def read_state(spark: SparkSession, lake: LakeConfig) -> list[Stored]:
    """Every message row (one per finding, event and destination: a small table)."""
    df = spark.read.format("delta").load(table_path(lake, NOTIFICATIONS))
    stored = []
    for row in df.collect():
        updated = _utc(row["updated_ts"])
        assert updated is not None
        stored.append(
            Stored(
                notification_id=row["notification_id"],
                finding_id=row["finding_id"],
                event=row["event"],
                destination=row["destination"],
                status=row["status"],
                attempts=int(row["attempts"]),
                deliveries=int(row["deliveries"]),
                updated_ts=updated,
                sent_ts=_utc(row["sent_ts"]),
                alert=_alert(row),
            )
        )
    return stored


def _row(
    m: Message,
    status: str,
    claim_id: str,
    now: datetime,
    *,
    attempts: int = 0,
    deliveries: int = 0,
    error: str | None = None,
    sent: bool = False,
) -> dict[str, Any]:
    a = m.alert
    prev = m.previous
    return {
        "notification_id": m.notification_id,
        "finding_id": a.finding_id,
        "event": m.event,
        "kind": a.kind,
        "severity": a.severity,
        "dataset": a.dataset,
        "table_name": a.table_name,
        "job": a.job,
        "batch_id": a.batch_id,
        "observed": a.observed,
        "expected": a.expected,
        "detail": a.detail,
        "subject": a.subject(m.event),
        "destination": m.destination,
        "status": status,
        "attempts": (prev.attempts if prev else 0) + attempts,
        "deliveries": (prev.deliveries if prev else 0) + deliveries,
        "error": error,
        "claim_id": claim_id,
        "detected_ts": _naive(a.detected_ts),
        "created_ts": _naive(now),
        "updated_ts": _naive(now),
        "sent_ts": _naive(now) if sent else None,
        "latency_seconds": (now - a.detected_ts).total_seconds() if sent else None,
    }


_UPDATABLE = [
    f.name for f in NOTIFICATIONS.schema.fields if f.name not in ("notification_id", "created_ts")
]


def claim(
    spark: SparkSession,
    lake: LakeConfig,
    send: Sequence[Message],
    defer: Sequence[Message],
    *,
    claim_id: str,
    now: datetime,
) -> bool:
    """Mark ``send`` claimed by ``claim_id`` and ``defer`` deferred, each only when its row
    is still as read (absent, or same status and update time); True when every row was
    (else :func:`claimed_by` says which). A concurrent writer makes this raise Delta's
    concurrent-modification error: the caller then sends nothing."""
    rows = [_row(m, "claimed", claim_id, now) for m in send]
    rows += [_row(m, "deferred", claim_id, now) for m in defer]
    if not rows:
        return True
    previous = {m.notification_id: m.previous for m in (*send, *defer)}
    for row in rows:
        prev = previous[row["notification_id"]]
        row["expect_status"] = prev.status if prev else None
        row["expect_ts"] = _naive(prev.updated_ts) if prev else None
    schema = StructType(
        [
            *NOTIFICATIONS.schema.fields,
            StructField("expect_status", StringType(), True),
            StructField("expect_ts", TimestampType(), True),
        ]
    )
    source = local_frame(spark, rows, schema)
    unchanged = "t.status = s.expect_status AND t.updated_ts = s.expect_ts"
    metrics = (
        DeltaTable.forPath(spark, table_path(lake, NOTIFICATIONS))
        .alias("t")
        .merge(source.alias("s"), "t.notification_id = s.notification_id")
        .whenMatchedUpdate(unchanged, {c: f"s.{c}" for c in _UPDATABLE})
        .whenNotMatchedInsert(values={c.name: f"s.{c.name}" for c in NOTIFICATIONS.schema.fields})
        .execute()
        .first()
    )
    return metrics is not None and int(metrics["num_affected_rows"]) == len(rows)


def claimed_by(spark: SparkSession, lake: LakeConfig, claim_id: str) -> set[str]:
    """The ids of the messages ``claim_id`` holds (its claim won)."""
    df = spark.read.format("delta").load(table_path(lake, NOTIFICATIONS))
    return {
        r["notification_id"]
        for r in df.where((F.col("claim_id") == claim_id) & (F.col("status") == "claimed"))
        .select("notification_id")
        .collect()
    }


def record(
    spark: SparkSession,
    lake: LakeConfig,
    outcomes: Sequence[tuple[Message, str, int, str | None]],
    claim_id: str,
    now: datetime,
) -> None:
    """Record each claimed message's outcome: (message, status, tries, error)."""
    if not outcomes:
        return
    rows = [
        _row(
            m,
            status,
            claim_id,
            now,
            attempts=tries,
            deliveries=1,
            error=error,
            sent=status == "sent",
        )
        for m, status, tries, error in outcomes
    ]
    source = local_frame(spark, rows, NOTIFICATIONS.schema)
    merge = (
        DeltaTable.forPath(spark, table_path(lake, NOTIFICATIONS))
        .alias("t")
        .merge(
            source.alias("s"),
            f"t.notification_id = s.notification_id AND t.claim_id = '{claim_id}'",
        )
        .whenMatchedUpdate(set={c: f"s.{c}" for c in _UPDATABLE})
    )
    # only this pass writes rows of its claim: a conflict with another pass's commit is
    # safe to run again
    with_retries("recording alert deliveries in ops.notifications", merge.execute)
