"""What Delta's log says of a table, read from its log files: the data files commits added,
and whether an idempotent write was recorded."""

from __future__ import annotations

import json
from pathlib import Path

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from lakehouse.io.commits import (
    commit_file,
    files_written,
    newest_checksum,
    transaction_recorded,
)
from lakehouse.io.delta import append_idempotent, upsert


def test_a_merge_wrote_the_files_it_added_not_those_it_gave_a_deletion_vector(
    spark: SparkSession, tmp_path: Path
) -> None:
    path = str(tmp_path / "t")
    spark.sql(
        f"CREATE TABLE delta.`{path}` (id BIGINT, v INT) USING delta "
        "TBLPROPERTIES ('delta.enableDeletionVectors' = 'true')"
    )
    spark.range(0, 90, 1, 3).withColumn("v", F.lit(0)).write.format("delta").mode("append").save(
        path
    )
    # rows of the first file change, five rows are new
    changes = spark.range(10, 15).unionByName(spark.range(100, 105)).withColumn("v", F.lit(1))
    version = upsert(changes, path, ["id"])

    actions = [
        json.loads(line) for line in Path(commit_file(path, version)).read_text().splitlines()
    ]
    metrics = next(a["commitInfo"] for a in actions if "commitInfo" in a)["operationMetrics"]
    added = int(metrics["numTargetFilesAdded"])
    # the file whose rows changed is added again with its deletion vector: not a new file
    assert sum("add" in a for a in actions) > added >= 1
    assert files_written(spark, [(path, version)]) == added
    assert files_written(spark, [(path, version), (path, 1)]) == added + 3
    assert files_written(spark, []) == 0
    assert files_written(spark, [(path, version + 1)]) is None  # no such commit


def test_the_newest_checksum_tells_the_files_and_the_recorded_transactions(
    spark: SparkSession, tmp_path: Path
) -> None:
    path = str(tmp_path / "t")
    assert not transaction_recorded(spark, path, "app", 0)  # no table
    assert newest_checksum(spark, path) is None
    spark.sql(f"CREATE TABLE delta.`{path}` (id BIGINT) USING delta")
    assert not transaction_recorded(spark, path, "app", 0)  # no write of it yet
    assert (newest_checksum(spark, path) or {})["numFiles"] == 0

    append_idempotent(spark.range(1), path, "app", 3)
    append_idempotent(spark.range(1), path, "other", 0)  # a newer commit keeps it
    assert transaction_recorded(spark, path, "app", 0)
    assert transaction_recorded(spark, path, "app", 3)
    assert not transaction_recorded(spark, path, "app", 4)
    assert not transaction_recorded(spark, path, "ap", 0)
    assert (newest_checksum(spark, path) or {})["numFiles"] == 2

    # no checksum for the newest commit: not told, the caller's write decides
    (tmp_path / "t" / "_delta_log" / f"{2:020d}.crc").unlink()
    assert not transaction_recorded(spark, path, "app", 0)
    assert newest_checksum(spark, path) is None
