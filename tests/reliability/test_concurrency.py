"""Concurrency: retention and erasure run while the bronze, silver and gold streams process
arriving files. No stream fails, no batch is lost, every event is accounted for; erasure
MERGEs that conflict with a stream's append are retried (lakehouse.io.retry)."""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from lakehouse.catalog import table_path
from lakehouse.config import LakehouseConfig, TriggerConfig
from lakehouse.demo import run_layers
from lakehouse.io.delta import upsert
from lakehouse.io.jobs import start_job
from lakehouse.ops import BATCH_LOG
from lakehouse.retention.erasure import erase, requests_for
from lakehouse.retention.plan import plan_retention
from lakehouse.retention.run import run_retention
from tests.conftest import event_line, landing_lake, make_config
from tests.events import BRONZE_EVENTS, QUARANTINE_SILVER_EVENTS, SILVER_EVENTS
from tests.reliability.helpers import account

pytestmark = [pytest.mark.reliability, pytest.mark.slow]

FILES = 6
EVENTS_PER_FILE = 30
ERASED = ("erase-me-0", "erase-me-1")
FIRST = 12  # events of the subjects to erase, processed before the streams start


def _seed(spark: SparkSession, config: LakehouseConfig) -> int:
    """Quarantine rows 40 days old (past their 30-day window) from a 'seed' source."""
    path = table_path(config.lake, QUARANTINE_SILVER_EVENTS)
    rows = spark.read.format("delta").load(path).limit(5)
    old = rows.withColumns(
        {
            "_source": F.lit("seed"),
            "quarantine_ts": F.col("quarantine_ts") - F.make_interval(days=F.lit(40)),
        }
    ).withColumn("quarantine_date", F.to_date("quarantine_ts"))
    old = old.persist()
    count = old.count()
    old.write.format("delta").mode("append").save(path)
    old.unpersist()
    return count


def _produce(landing: Path, ts: datetime, written: list[int]) -> None:
    """Drop FILES files, one every 1.5 s, each with a malformed line among the events."""
    for n in range(FILES):
        lines = [
            event_line(f"f{n}-{i}", ts + timedelta(seconds=i), f"user-{i % 7}")
            for i in range(EVENTS_PER_FILE)
        ]
        tmp = landing / f".f{n:03d}.tmp"
        tmp.write_bytes(b"\n".join([*lines, b"not json"]) + b"\n")
        tmp.rename(landing / f"f{n:03d}.jsonl")
        written.append(len(lines) + 1)
        time.sleep(1.5)


def _maintain(spark: SparkSession, config: LakehouseConfig) -> tuple[int, int]:
    """Erase one subject, run retention, erase the other; rows erased and expired."""
    key = config.privacy.key()
    steps = plan_retention(
        [QUARANTINE_SILVER_EVENTS, BRONZE_EVENTS, SILVER_EVENTS, BATCH_LOG], datetime.now(UTC)
    )

    def erased_rows(subject: str) -> int:
        audit = erase(spark, config, requests_for(key, [subject]))
        return sum(int(str(a["rows_deleted"])) for a in audit)

    erased = erased_rows(ERASED[0])
    expired = sum(r.rows for r in run_retention(spark, config.lake, steps))
    return erased + erased_rows(ERASED[1]), expired


def _await(condition: object, what: str, timeout: float = 300.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if callable(condition) and condition():
            return
        time.sleep(1)
    raise AssertionError(f"{what}: not reached in {timeout} s")


def test_retention_and_erasure_while_streams_run(
    spark: SparkSession, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="lakehouse.io.retry")
    # gates and monitoring off: they have their own streaming tests, and each costs about a
    # second per micro-batch of each stream
    config = make_config(tmp_path, max_files_per_trigger=1, gates=False, monitoring=False)
    landing = landing_lake(spark, config)
    ts = datetime.now(UTC) - timedelta(minutes=20)
    # first the subjects to erase (and a malformed line for the quarantine), processed
    first = [event_line(f"x{i}", ts, ERASED[i % len(ERASED)]) for i in range(FIRST)]
    (landing / "a-000.jsonl").write_bytes(b"\n".join([*first, b"{broken"]) + b"\n")
    run_layers(spark, config)
    seeded = _seed(spark, config)
    assert seeded == 1

    every = TriggerConfig(mode="processing-time", interval="1 second")
    queries = [start_job(spark, config, layer, every) for layer in ("bronze", "silver", "gold")]
    written: list[int] = []

    producer = threading.Thread(target=_produce, args=(landing, ts, written), name="producer")
    producer.start()
    try:
        erased, expired = _maintain(spark, config)
        assert all(q.isActive for q in queries), [q.exception() for q in queries]
        producer.join()
        bronze_rows = FIRST + 1 + sum(written)

        def caught_up() -> bool:
            accounting = account(spark, config.lake.root)
            done = sum(accounting.silver.values()) + sum(accounting.quarantine.values())
            return (
                done == sum(accounting.bronze.values())
                and sum(accounting.bronze.values()) == bronze_rows - FIRST
            )

        _await(caught_up, "streams catch up after the maintenance")
        for query in queries:
            query.processAllAvailable()
        assert all(q.isActive for q in queries), [q.exception() for q in queries]
    finally:
        producer.join()
        for query in queries:
            query.stop()
    assert all(q.exception() is None for q in queries)

    # each erased subject's events went from bronze and silver: 12 + 12 rows in all
    assert erased == 2 * len(first)
    assert expired == seeded
    accounting = account(spark, config.lake.root)
    assert not any(source == "seed" for source, _, _ in accounting.quarantine), "not expired"
    accounting.assert_exactly_once()
    silver = spark.read.format("delta").load(table_path(config.lake, SILVER_EVENTS))
    ids = {r["event_id"] for r in silver.select("event_id").collect()}
    assert ids == {f"f{n}-{i}" for n in range(FILES) for i in range(EVENTS_PER_FILE)}
    # no batch lost: every job logged every batch id from 0 to its last, once
    log = spark.read.format("delta").load(table_path(config.lake, BATCH_LOG))
    for row in (
        log.groupBy("job")
        .agg(
            F.count(F.lit(1)).alias("n"),
            F.countDistinct("batch_id").alias("ids"),
            F.max("batch_id").alias("last"),
        )
        .collect()
    ):
        assert row["n"] == row["ids"] == row["last"] + 1, row
    conflicts = [r for r in caplog.records if "commit conflict" in r.getMessage()]
    print(
        f"\nconcurrency: {erased} rows erased, {expired} rows expired, "
        f"{len(conflicts)} commit conflicts retried"
    )


def test_a_merge_that_loses_the_race_to_an_append_is_retried_and_both_land(
    spark: SparkSession, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A real Delta conflict, made deterministic: the source of a MERGE (an erasure or a gold
    upsert) waits, inside its Spark task, until another writer's append has committed to the
    same table, so the MERGE's commit finds files it did not read (ConcurrentAppendException).
    ``upsert`` retries it, and the append and the MERGE are both in the table."""
    path = str(tmp_path / "table")
    started, appended = tmp_path / "merge-started", tmp_path / "appended"
    spark.createDataFrame([(1, "a"), (2, "b")], "k int, v string").write.format("delta").save(path)

    def wait_for_append(v: str) -> str:  # runs in the Python worker of the MERGE's task
        started.touch()
        deadline = time.monotonic() + 120
        while not appended.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        return v

    blocking = F.udf(wait_for_append, "string")
    # one partition: one task waits, the other core is free for the append
    source = (
        spark.createDataFrame([(2, "B"), (3, "c")], "k int, v string")
        .repartition(1)
        .withColumn("v", blocking("v"))
    )

    def other_writer() -> None:
        deadline = time.monotonic() + 120
        while not started.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        writer = spark.newSession()
        other = writer.createDataFrame([(9, "z")], "k int, v string")
        other.write.format("delta").mode("append").save(path)
        appended.touch()

    thread = threading.Thread(target=other_writer)
    thread.start()
    with caplog.at_level(logging.WARNING, logger="lakehouse.io.retry"):
        upsert(source, path, ["k"])
    thread.join(timeout=130)
    conflicts = [r.getMessage() for r in caplog.records if "commit conflict" in r.getMessage()]
    assert len(conflicts) == 1, conflicts
    assert "ConcurrentAppendException" in conflicts[0]
    rows = sorted(tuple(r) for r in spark.read.format("delta").load(path).collect())
    assert rows == [(1, "a"), (2, "B"), (3, "c"), (9, "z")]
