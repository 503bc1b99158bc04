from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from chispa import assert_df_equality
from pyspark.sql import SparkSession

from lakehouse.config import SourceConfig
from lakehouse.errors import SourceError
from lakehouse.sources.base import OffsetRange
from lakehouse.sources.landing import (
    landing_envelopes,
    landing_to_envelope,
    read_landing_stream,
)


def test_envelope_numbers_lines_per_file_and_keeps_raw_bytes(spark: SparkSession) -> None:
    t = datetime(2026, 11, 23, 8, 0)
    lines = spark.createDataFrame(
        [
            # as the text source reads them: a split's lines together, in file order
            ('{"a":1}', "file:/l/f1.jsonl", 0, t),
            ("", "file:/l/f1.jsonl", 0, t),
            ('{"b":2}', "file:/l/f1.jsonl", 0, t),
            ("caf\u00e9", "file:/l/f2.jsonl", 0, t),
        ],
        "value string, file_path string, file_block_start long, file_modification_time timestamp",
    ).coalesce(1)
    envelopes = landing_envelopes(lines)
    actual = envelopes.frame.orderBy("partition", "offset")
    expected = spark.createDataFrame(
        [
            ("landing", "file:/l/f1.jsonl", 0, None, b'{"a":1}', None, t, None),
            ("landing", "file:/l/f1.jsonl", 1, None, b"", None, t, None),
            ("landing", "file:/l/f1.jsonl", 2, None, b'{"b":2}', None, t, None),
            ("landing", "file:/l/f2.jsonl", 0, None, "caf\u00e9".encode(), None, t, None),
        ],
        "source string, partition string, offset long, key binary, payload binary, "
        "attributes map<string,string>, publish_ts timestamp, source_event_ts timestamp",
    )
    assert_df_equality(actual, expected, ignore_nullable=True)
    # each file's line range, counted on the way: the bronze job reads no offsets of its own
    assert envelopes.ranges == (
        OffsetRange("landing", "file:/l/f1.jsonl", 0, 2, 3),
        OffsetRange("landing", "file:/l/f2.jsonl", 0, 0, 1),
    )


def test_an_empty_batch_has_no_envelopes_and_no_ranges(spark: SparkSession) -> None:
    lines = spark.createDataFrame(
        [],
        "value string, file_path string, file_block_start long, file_modification_time timestamp",
    )
    envelopes = landing_envelopes(lines)
    assert envelopes.frame.count() == 0
    assert envelopes.ranges == ()


def test_the_stream_plans_file_splits_independently_of_the_cores_of_the_moment(
    spark: SparkSession, tmp_path: Path
) -> None:
    stream = read_landing_stream(spark, SourceConfig(landing_path=str(tmp_path / "in")))
    # its own session, with the partition count the split size derives from pinned
    assert stream.sparkSession is not spark
    pinned = str(max(2, spark.sparkContext.defaultParallelism))
    assert stream.sparkSession.conf.get("spark.sql.files.minPartitionNum") == pinned
    assert spark.conf.get("spark.sql.files.minPartitionNum", None) is None


def test_line_numbers_continue_across_the_splits_of_a_large_file(spark: SparkSession) -> None:
    t = datetime(2026, 11, 23, 8, 0)
    schema = (
        "value string, file_path string, file_block_start long, file_modification_time timestamp"
    )
    # the file's second split (from byte 4096) is read by the first task
    rows = [
        ("c", "file:/l/big.jsonl", 4096, t),
        ("d", "file:/l/big.jsonl", 4096, t),
        ("a", "file:/l/big.jsonl", 0, t),
        ("b", "file:/l/big.jsonl", 0, t),
    ]
    lines = spark.createDataFrame(spark.sparkContext.parallelize(rows, 2), schema)
    assert lines.rdd.glom().map(len).collect() == [2, 2]
    actual = landing_to_envelope(lines).select("payload", "offset").orderBy("offset")
    expected = spark.createDataFrame(
        [(b"a", 0), (b"b", 1), (b"c", 2), (b"d", 3)], "payload binary, offset long"
    )
    assert_df_equality(actual, expected, ignore_nullable=True)


def test_landing_path_that_is_a_file_is_a_clear_error(spark: SparkSession, tmp_path: Path) -> None:
    file = tmp_path / "not-a-folder"
    file.write_text("x")
    with pytest.raises(SourceError, match="is a file; it must be a folder"):
        read_landing_stream(spark, SourceConfig(landing_path=str(file)))
