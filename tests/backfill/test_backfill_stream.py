"""Backfill with a running stream loses and duplicates nothing.

The silver stream, then also the gold stream, run (processing-time trigger) under a contract
that now refuses ``login`` events, while bronze keeps growing. A silver backfill, then a gold
backfill, of the same day runs in between; the race is made deterministic by wrapping each
backfill's MERGE:

- before the MERGE starts, new events land and the streams process them: stream commits
  *between* the backfill's snapshot and its commit (no Delta conflict can see those);
- inside the MERGE (its source waits, in its Spark task, for a file), more events land and
  the streams commit them: the backfill's commit then conflicts and is retried.

After the streams drain: every bronze delivery is in silver or the quarantine exactly once,
silver holds each event once and no refused event, the rows appended after the backfill's
snapshot are the stream's, and gold equals its recomputation from silver.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from chispa import assert_df_equality
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.streaming.query import StreamingQuery

import lakehouse.backfill.run as backfill_run
from lakehouse.backfill import backfill, commit
from lakehouse.catalog import table_path
from lakehouse.config import DatasetsConfig, LakehouseConfig, TriggerConfig
from lakehouse.io.jobs import start_job
from lakehouse.platform import load_platform
from tests.conftest import event_line, make_config, register_lake
from tests.interleave import held_inside_task
from tests.reliability.helpers import account, assert_gold_equals_recomputation
from tests.replay.scenario import INVALID, NOW, bronze, narrow_datasets

pytestmark = [
    pytest.mark.slow,
    # the waiting function's type hints: Spark checks whether it is a pandas UDF
    pytest.mark.filterwarnings("ignore:Cannot infer the eval type:UserWarning"),
]

# event i at minute i of one hour: one day, and a gold window per minute, so a window is
# recomputed only by the stream batch of its event
BASE = (NOW - timedelta(hours=1)).replace(minute=0, second=0)
DAY = BASE.date()
TRIGGER = TriggerConfig("processing-time", "1 second")
DUPLICATE = "duplicate_event_id"


def _event(i: int) -> bytes:
    kind = "login" if i % 4 == 3 else "page_view"  # login: refused by the new contract
    return event_line(f"e-{i}", BASE + timedelta(minutes=i), f"u{i % 5}", event_type=kind)


def _events(first: int, count: int) -> list[bytes]:
    return [_event(i) for i in range(first, first + count)]


class Lake:
    """The lake, its bronze table and its streams."""

    def __init__(self, spark: SparkSession, config: LakehouseConfig) -> None:
        self.spark, self.config = spark, config
        self.bronze = table_path(config.lake, load_platform(config).dataset("events").bronze)
        self.streams: dict[str, StreamingQuery] = {}

    def land(self, lines: list[bytes], partition: str) -> None:
        rows = bronze(self.spark, lines).withColumn("partition", F.lit(partition))
        rows.write.format("delta").mode("append").save(self.bronze)

    def run(self, config: LakehouseConfig, trigger: TriggerConfig, *jobs: str) -> None:
        """Start the streams ``jobs`` of ``config`` (available-now: and wait for them)."""
        for job in jobs:
            self.streams[job] = start_job(self.spark, config, job, trigger, "events")
            if trigger.mode == "available-now":
                self.streams.pop(job).awaitTermination()

    def drain(self, *jobs: str) -> None:
        """Wait until the streams (``jobs``, else all: silver first) processed every row."""
        for job in jobs or ("silver", "gold"):
            self.streams[job].processAllAvailable()

    def stop(self) -> None:
        for stream in self.streams.values():
            stream.stop()


def _racing(
    real: Callable[..., Any],
    tmp: Path,
    column: str,
    before: Callable[[], None],
    during: Callable[[], None],
) -> Callable[..., Any]:
    """A backfill MERGE function (its first argument is the MERGE's source) that first runs
    ``before`` (after the backfill's snapshot, before the MERGE starts) and then runs the
    MERGE with a source whose one task waits, inside the MERGE, until ``during`` (run by
    another thread) is done; ``column`` is passed through the waiting function."""

    def merge(source: DataFrame, *args: Any) -> Any:
        before()
        # one task: it waits on one core, the streams run on the other
        with held_inside_task(source, column, tmp, during) as blocked:
            return real(blocked, *args)

    return merge


def _race(lake: Lake, tmp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the backfill's silver MERGE and its MERGE of gold.events_per_minute race the
    streams: events land and are processed after the snapshot, and again inside the MERGE."""

    def landing(lines: list[bytes], partition: str, *jobs: str) -> Callable[[], None]:
        def land() -> None:
            lake.land(lines, partition)
            lake.drain(*jobs)

        return land

    silver = _racing(
        commit.merge_silver_day,
        tmp,
        "event_id",
        # a new delivery of e-1, which silver held at the snapshot, and new events
        landing([_event(1), *_events(18, 3)], "p3", "silver"),
        landing(_events(21, 3), "p4", "silver"),
    )
    real_gold = commit.merge_gold_day
    gold = _racing(
        real_gold,
        tmp,
        "event_type",
        landing(_events(24, 3), "p5"),
        landing(_events(27, 3), "p6"),
    )

    def gold_merge(rows: DataFrame, path: str, table: Any, *args: Any) -> int:
        merge = gold if table.name == "events_per_minute" else real_gold
        return int(merge(rows, path, table, *args))

    monkeypatch.setattr(backfill_run, "merge_silver_day", silver)
    monkeypatch.setattr(backfill_run, "merge_gold_day", gold_merge)


def test_backfill_with_a_running_stream_loses_and_duplicates_nothing(
    spark: SparkSession,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    config = make_config(tmp_path, gates=False, monitoring=False)
    register_lake(spark, config)
    narrow = narrow_datasets(tmp_path / "narrow")
    fixed = dataclasses.replace(config, datasets=DatasetsConfig(str(narrow), ("events",)))
    lake = Lake(spark, config)
    # under the shipped contract: e-0..e-17 (e-0 delivered twice), logins promoted
    lake.land([*_events(0, 18), _event(0)], "p1")
    lake.run(config, TriggerConfig("available-now"), "silver", "gold")
    # the new contract refuses logins: the streams run with it, events keep coming
    _race(lake, tmp_path, monkeypatch)
    tables = load_platform(fixed, spark).dataset("events")
    lake.run(fixed, TRIGGER, "silver")
    try:
        with caplog.at_level(logging.WARNING, logger="lakehouse.io.retry"):
            silver_done = backfill(spark, fixed, tables, "silver", [DAY])
            # the gold stream starts on silver's appends since its last batch, the backfill's
            # commit among them (skipped), and runs through the gold backfill
            lake.run(fixed, TRIGGER, "gold")
            gold_done = backfill(spark, fixed, tables, "gold", [DAY])
        lake.land(_events(30, 4), "p7")
        lake.drain()
    finally:
        lake.stop()

    root = config.lake.root
    account(spark, root).assert_exactly_once()
    assert [r.rows_quarantined for r in silver_done] == [4]  # e-3, e-7, e-11, e-15
    assert {r.status for r in gold_done} == {"done"}
    conflicts = [r.getMessage() for r in caplog.records if "commit conflict" in r.getMessage()]
    assert any(
        "backfill: silver day" in c and "ConcurrentAppendException" in c for c in conflicts
    ), conflicts
    assert any("backfill: events_per_minute day" in c for c in conflicts), conflicts

    # silver: every page view once; the rows silver held at the snapshot are the backfill's,
    # the ones appended after it the stream's
    silver = spark.read.format("delta").load(f"{root}/silver/events")
    snapshot = {f"e-{i}" for i in range(18)}
    expected = spark.createDataFrame(
        [(f"e-{i}", f"e-{i}" in snapshot) for i in range(34) if i % 4 != 3],
        "event_id string, by_backfill boolean",
    )
    assert_df_equality(
        silver.select("event_id", F.col("_writer_id").startswith("backfill:").alias("by_backfill")),
        expected,
        ignore_row_order=True,
        ignore_nullable=True,
    )
    quarantine = spark.read.format("delta").load(f"{root}/quarantine/silver_events")
    refused_by_stream = [(f"e-{i}", INVALID, False) for i in range(18, 34) if i % 4 == 3]
    assert_df_equality(
        quarantine.select(
            "event_id", "reason", F.col("_writer_id").startswith("backfill:").alias("by_backfill")
        ),
        spark.createDataFrame(
            [
                ("e-0", DUPLICATE, False),  # its second delivery, in p1
                ("e-1", DUPLICATE, False),  # delivered again after the snapshot
                *[(f"e-{i}", INVALID, True) for i in (3, 7, 11, 15)],  # promoted, now refused
                *refused_by_stream,
            ],
            "event_id string, reason string, by_backfill boolean",
        ),
        ignore_row_order=True,
        ignore_nullable=True,
    )
    assert_gold_equals_recomputation(spark, root)
