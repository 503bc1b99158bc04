from __future__ import annotations

from chispa import assert_df_equality
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from lakehouse.layers.normalize import removed_characters, strip_invisible


def test_control_and_format_characters_are_removed_and_counted(spark: SparkSession) -> None:
    values = ["\u0000\u0007ES", "P\u200bL", "\u202eDE\u007f", "FR", "  ", None]
    df = spark.createDataFrame([(v,) for v in values], "country string")
    actual = df.select(
        strip_invisible(F.col("country")).alias("country"),
        removed_characters(F.col("country")).alias("removed"),
    )
    expected = spark.createDataFrame(
        [("ES", 2), ("PL", 1), ("DE", 2), ("FR", 0), ("  ", 0), (None, 0)],
        "country string, removed int",
    )
    assert_df_equality(actual, expected, ignore_nullable=True)
