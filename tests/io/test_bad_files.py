"""Unreadable landing files: skipped and recorded by the bronze stream, ingested once by a
retry (in process; tests/reliability/test_cli_hostile.py goes through the CLI)."""

from __future__ import annotations

import gzip
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest
from chispa import assert_df_equality
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from lakehouse.config import LakehouseConfig, TriggerConfig
from lakehouse.io.bad_files import pending_bad_files, retry_bad_files
from lakehouse.io.jobs import start_job
from lakehouse.io.streams import await_stream
from tests.conftest import event_line, landing_lake, make_config
from tests.io.spark_jobs import jobs_during

pytestmark = pytest.mark.slow

_ONCE = TriggerConfig(mode="available-now", interval="1 second")
_TS = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def _lines(*events: tuple[str, str]) -> bytes:
    return b"".join(event_line(event, _TS, user) + b"\n" for event, user in events)


def test_poison_file_is_skipped_recorded_and_retried_once(
    spark: SparkSession, tmp_path: Path
) -> None:
    config = make_config(tmp_path, gates=False, monitoring=False)
    landing = landing_lake(spark, config)
    (landing / "a.jsonl").write_bytes(_lines(("e1", "u1"), ("e2", "u2")))
    poison = landing / "photo.jsonl.gz"
    poison.write_bytes(b"\x89PNG\r\n\x1a\n" + os.urandom(64))
    (landing / "b.jsonl.gz").write_bytes(gzip.compress(_lines(("e3", "u3"))))

    await_stream(start_job(spark, config, "bronze", _ONCE))
    events = spark.table("bronze.events")
    ids = events.select(F.get_json_object(F.col("payload").cast("string"), "$.event_id"))
    assert sorted(r[0] for r in ids.collect()) == ["e1", "e2", "e3"]
    bad = spark.table("ops.bad_files").select("path", "size_bytes", "job", "status", "attempts")
    expected = spark.createDataFrame(
        [(f"file://{poison}", 72, "bronze-landing", "skipped", 1)], bad.schema
    )
    assert_df_equality(bad, expected, ignore_nullable=True)
    (error,) = [r["error"] for r in spark.table("ops.bad_files").collect()]
    assert error == f"IOException: not a gzip file: file://{poison}"

    # a later batch goes on; a retry of a file still bad counts an attempt
    (landing / "c.jsonl").write_bytes(_lines(("e4", "u4")))
    await_stream(start_job(spark, config, "bronze", _ONCE))
    assert events.count() == 4
    (outcome,) = retry_bad_files(spark, config)
    assert (outcome.status, outcome.rows) == ("skipped", 0)
    assert [f.attempts for f in pending_bad_files(spark, config)] == [2]

    # fixed in place: the retry ingests its lines once, a second retry has nothing to do
    poison.write_bytes(gzip.compress(_lines(("e5", "u5"), ("e6", "u6"))))
    (outcome,) = retry_bad_files(spark, config)
    assert (outcome.status, outcome.rows) == ("ingested", 2)
    assert retry_bad_files(spark, config) == []
    assert pending_bad_files(spark, config) == []
    retried = events.where(F.col("partition").endswith("photo.jsonl.gz"))
    assert sorted(r["offset"] for r in retried.collect()) == [0, 1]
    assert events.count() == 6
    history = spark.table("ops.bad_files").select("attempts", "status", "rows_ingested")
    expected_history = spark.createDataFrame(
        [(1, "skipped", None), (2, "skipped", None), (3, "ingested", 2)], history.schema
    )
    assert_df_equality(history, expected_history, ignore_nullable=True, ignore_row_order=True)


def test_a_lake_without_bad_files_says_so_without_reading_the_table(
    spark: SparkSession, lake: LakehouseConfig
) -> None:
    # what every bronze run asks at its end: the table's checksum answers for an empty one
    assert jobs_during(spark, lambda: pending_bad_files(spark, lake)) == []
    assert pending_bad_files(spark, lake) == []
