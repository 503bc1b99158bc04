"""The key versions of the batch log, as ``lakehouse catalog --key-versions`` shows them."""

from __future__ import annotations

from datetime import datetime

from chispa import assert_df_equality
from pyspark.sql import SparkSession

from lakehouse.ops import BATCH_LOG
from lakehouse.privacy.versions import key_versions

V1, V2 = "projects/p/secrets/k/versions/1", "projects/p/secrets/k/versions/2"


def _log(job: str, batch: int, hour: int, rows_out: int, version: str | None) -> dict[str, object]:
    ts = datetime(2026, 12, 1, hour)
    row: dict[str, object] = dict.fromkeys(BATCH_LOG.schema.fieldNames())
    row.update(job=job, dataset="events", batch_id=batch, started_ts=ts, finished_ts=ts)
    row.update(duration_ms=0, rows_in=rows_out, rows_out=rows_out, rows_quarantined=0)
    return {**row, "status": "ok", "key_version": version}


def test_key_versions_group_silver_batches_oldest_first(spark: SparkSession) -> None:
    log = spark.createDataFrame(
        [
            _log("silver", 0, 1, 5, None),  # logged before versions were recorded
            _log("silver", 1, 2, 10, V1),
            _log("silver", 2, 3, 20, V1),
            _log("silver", 3, 4, 7, V2),
            _log("bronze-landing", 0, 5, 99, None),
        ],
        BATCH_LOG.schema,
    )
    expected = spark.createDataFrame(
        [
            ("events", "unknown", datetime(2026, 12, 1, 1), datetime(2026, 12, 1, 1), 1, 5),
            ("events", V1, datetime(2026, 12, 1, 2), datetime(2026, 12, 1, 3), 2, 30),
            ("events", V2, datetime(2026, 12, 1, 4), datetime(2026, 12, 1, 4), 1, 7),
        ],
        "dataset string, key_version string, first_batch_ts timestamp, last_batch_ts timestamp, "
        "batches long, rows_out long",
    )
    assert_df_equality(key_versions(log), expected, ignore_nullable=True)
