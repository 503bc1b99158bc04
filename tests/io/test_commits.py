"""The data files Delta commits added, read from their log files."""

from __future__ import annotations

import json
from pathlib import Path

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from lakehouse.io.commits import commit_file, files_written
from lakehouse.io.delta import upsert


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
