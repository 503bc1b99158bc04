"""Batch bookkeeping: offset summaries, metrics observed while a batch is written, and the
files a batch read and wrote as its batch log row has them."""

from __future__ import annotations

import dataclasses
import json
import time
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from pyspark.errors import AnalysisException
from pyspark.sql import DataFrame, Observation, Row, SparkSession
from pyspark.sql import functions as F

from lakehouse.catalog import table_path
from lakehouse.config import LakehouseConfig
from lakehouse.frames import local_frame
from lakehouse.io.batch import BatchStats, BatchWriter, observed, summarize_offsets
from lakehouse.io.delta import append_idempotent, settle_prefetches, wait_for_prefetches
from lakehouse.io.projections import FACTORY_MODE, INTERPRETED_BELOW_ROWS
from lakehouse.io.side_by_side import clone_session
from lakehouse.layers.bronze import to_bronze
from lakehouse.monitoring.metrics import measure
from lakehouse.ops import BATCH_LOG, TableDef
from lakehouse.sources.base import OffsetRange
from lakehouse.sources.landing import landing_to_envelope
from lakehouse.tabledef import CHECKPOINT_INTERVAL
from tests.conftest import event_line, landing_batch, landing_lake, make_config, with_checkpoint
from tests.events import BRONZE_EVENTS, gold_tables
from tests.io.spark_jobs import in_run, jobs_during


def test_offsets_are_summarized_per_source_partition_in_order() -> None:
    ranges = [
        OffsetRange("kafka", "events/1", 5, 9, 5),
        OffsetRange("kafka", "events/0", 0, 3, 4),
    ]
    assert summarize_offsets(ranges) == (
        9,
        json.dumps({"kafka/events/0": [0, 3], "kafka/events/1": [5, 9]}),
    )
    assert summarize_offsets([]) == (0, None)


def test_an_offset_summary_keeps_50_partitions_and_says_there_were_more() -> None:
    ranges = [OffsetRange("landing", f"f{n:03d}", 0, 0, 1) for n in range(51)]
    rows, summary = summarize_offsets(ranges)
    assert rows == 51
    assert summary is not None
    parsed = json.loads(summary)
    assert len(parsed) == 51
    assert parsed["..."] == []
    assert "landing/f050" not in parsed and parsed["landing/f049"] == [0, 0]


def test_observed_gives_up_on_a_dataframe_that_never_ran(spark: SparkSession) -> None:
    observation = Observation()
    spark.range(3).observe(observation, F.count(F.lit(1)).alias("rows"))  # no action
    assert observed(observation, timeout=0.3) is None


def _bronze(spark: SparkSession, landing: Path, lines: list[bytes]) -> DataFrame:
    """The bronze rows of one landing file holding ``lines``, as the bronze job builds them."""
    (landing / "a.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    raw = landing_batch(spark, str(landing))
    return landing_to_envelope(raw).transform(to_bronze(0, datetime(2026, 11, 23, 9)))


def _events(count: int) -> list[bytes]:
    return [event_line(f"e{i}", datetime(2026, 11, 23, 8), "u") for i in range(count)]


def test_the_write_measures_the_batch_and_a_retried_write_measures_nothing(
    spark: SparkSession, tmp_path: Path
) -> None:
    config = make_config(tmp_path, gates=False)
    landing = landing_lake(spark, config)
    job = "bronze-landing"
    with_checkpoint(config, job)
    writer = BatchWriter(config, job, "events")
    bronze = _bronze(spark, landing, [*_events(5), b"not json"])
    assert BRONZE_EVENTS.monitoring is not None
    expected = measure(bronze, BRONZE_EVENTS.monitoring)

    measured = writer.append_measured(bronze, BRONZE_EVENTS, 0, BatchStats())
    assert measured == expected
    assert measured is not None and measured["rows"] == 6
    # the same batch again: the idempotent append writes nothing, so nothing was observed
    assert writer.append_measured(bronze, BRONZE_EVENTS, 0, BatchStats()) is None
    path = table_path(config.lake, BRONZE_EVENTS)
    assert spark.read.format("delta").load(path).count() == 6


def test_the_write_counts_the_rows_and_a_retried_write_counts_them_apart(
    spark: SparkSession, tmp_path: Path
) -> None:
    config = make_config(tmp_path, gates=False)
    landing = landing_lake(spark, config)
    job = "bronze-landing"
    with_checkpoint(config, job)
    writer = BatchWriter(config, job, "events")
    bronze = _bronze(spark, landing, _events(4))
    path = table_path(config.lake, BRONZE_EVENTS)

    stats = BatchStats()
    assert writer.append_counted(bronze, BRONZE_EVENTS, 0, stats) == 4
    assert set(stats.step_ms) == {"write bronze.events"}
    # a retried batch: the table has it, the write runs no job, the rows are counted apart
    assert writer.append_counted(bronze, BRONZE_EVENTS, 0, BatchStats()) == 4
    assert writer.append_counted(bronze.limit(0), BRONZE_EVENTS, 1, BatchStats()) == 0
    assert spark.read.format("delta").load(path).count() == 4


def test_measure_gives_the_metrics_of_a_watched_table_and_none_otherwise(
    spark: SparkSession, tmp_path: Path
) -> None:
    landing = tmp_path / "landing"
    landing.mkdir()
    bronze = _bronze(spark, landing, _events(3))
    assert BRONZE_EVENTS.monitoring is not None
    watched = BatchWriter(make_config(tmp_path / "on"), "bronze-landing")
    stats = BatchStats()
    values = watched.measure(bronze, BRONZE_EVENTS, stats)
    assert values == measure(bronze, BRONZE_EVENTS.monitoring)
    assert values is not None and values["rows"] == 3
    assert set(stats.step_ms) == {"monitor bronze.events"}
    unwatched = BatchWriter(make_config(tmp_path / "off", monitoring=False), "bronze-landing")
    assert unwatched.measure(bronze, BRONZE_EVENTS, BatchStats()) is None


def _actions(table: str, version: int) -> list[dict[str, Any]]:
    """The actions of one commit of the Delta table at ``table``, from its log file."""
    log = Path(table) / "_delta_log" / f"{version:020d}.json"
    return [json.loads(line) for line in log.read_text().splitlines()]


def _live_files(table: str) -> int:
    """The data files of the newest version of ``table``, replaying its whole log."""
    live: set[str] = set()
    for log in sorted((Path(table) / "_delta_log").glob("*.json")):
        for action in _actions(table, int(log.stem)):
            if "add" in action:
                live.add(action["add"]["path"])
            elif "remove" in action:
                live.discard(action["remove"]["path"])
    return len(live)


def _logged(spark: SparkSession, config: LakehouseConfig) -> dict[tuple[str, int], Row]:
    log = spark.read.format("delta").load(table_path(config.lake, BATCH_LOG))
    return {(r["job"], r["batch_id"]): r for r in log.collect()}


def _bronze_writer(
    spark: SparkSession, tmp_path: Path
) -> tuple[LakehouseConfig, Path, BatchWriter]:
    """A lake without gates and monitors, its landing folder, and the bookkeeping of a
    bronze stream of the events dataset (its checkpoint holds a query id)."""
    config = make_config(tmp_path, gates=False, monitoring=False)
    landing = landing_lake(spark, config)
    with_checkpoint(config, "bronze-landing")
    return config, landing, BatchWriter(config, "bronze-landing", "events")


def test_the_batch_log_has_the_files_a_batch_read_and_wrote_as_the_delta_log_has_them(
    spark: SparkSession, tmp_path: Path
) -> None:
    config, landing, bronze_job = _bronze_writer(spark, tmp_path)
    with_checkpoint(config, "copy")
    bronze = table_path(config.lake, BRONZE_EVENTS)
    for batch_id in (0, 1):  # two bronze batches
        folder = landing / f"b{batch_id}"
        folder.mkdir()
        started = bronze_job.begin(spark)
        stats = BatchStats()
        bronze_job.append(_bronze(spark, folder, _events(3)), BRONZE_EVENTS, batch_id, stats)
        bronze_job.log(spark, batch_id, started, stats)
    # a job that copies the whole of bronze, in one batch; what it reads once per stream (its
    # query id) and the state of bronze (Delta reads it after each append, in the
    # background) are read before the batch
    copy_job = BatchWriter(config, "copy", "events")
    copy = dataclasses.replace(BRONZE_EVENTS, name="bronze.events_copy")
    copy_job.identity.app_id(spark)
    settle_prefetches()
    started = copy_job.begin(spark)
    stats = BatchStats()
    copy_job.append(spark.read.format("delta").load(bronze), copy, 0, stats)
    copy_job.log(spark, 0, started, stats)

    logged = _logged(spark, config)
    for batch_id in (0, 1):
        row = logged[("bronze-landing", batch_id)]
        version = row["versions_written"]["bronze.events"]
        assert row["files_written"] == sum("add" in a for a in _actions(bronze, version))
        assert row["files_written"] >= 1 and row["files_read"] >= 1  # its landing file
    row = logged[("copy", 0)]
    assert row["files_read"] == _live_files(bronze) >= 2
    copied = _actions(table_path(config.lake, copy), row["versions_written"]["bronze.events_copy"])
    assert row["files_written"] == sum("add" in a for a in copied) >= 1


def test_a_retried_batch_whose_writes_were_skipped_wrote_no_files(
    spark: SparkSession, tmp_path: Path
) -> None:
    config, landing, writer = _bronze_writer(spark, tmp_path)
    bronze = _bronze(spark, landing, _events(3))
    writer.begin(spark)
    assert writer.append(bronze, BRONZE_EVENTS, 0, BatchStats())  # then fails before its log
    started = writer.begin(spark)  # the batch again
    stats = BatchStats()
    assert not writer.append(bronze, BRONZE_EVENTS, 0, stats)
    writer.log(spark, 0, started, stats)

    row = _logged(spark, config)[("bronze-landing", 0)]
    assert row["files_written"] == 0 and stats.commits == []
    # the version it found, which the first attempt wrote
    assert row["versions_written"]["bronze.events"] == 1


def test_the_ops_rows_of_a_batch_are_written_once_whichever_run_writes_them(
    spark: SparkSession, tmp_path: Path
) -> None:
    config, _, writer = _bronze_writer(spark, tmp_path)
    writer_id = writer.identity.app_id(spark)
    offsets = Path(writer.checkpoint) / "offsets"
    offsets.mkdir()
    log_path = table_path(config.lake, BATCH_LOG)

    def log_row(job: str, batch_id: int) -> DataFrame:
        at = datetime(2026, 12, 5)
        row = {"job": job, "dataset": "events", "batch_id": batch_id, "started_ts": at}
        row |= {"finished_ts": at, "status": "ok"}
        row |= {"duration_ms": 0, "rows_in": 0, "rows_out": 0, "rows_quarantined": 0}
        return local_frame(spark, [row], BATCH_LOG.schema)

    def run(name: str, batches: list[int]) -> list[list[str]]:
        """A run of the stream: the checkpoint is read as it starts, and Spark plans each
        batch in the offset log before running it; another stream logs a batch before each
        (Delta's check for a retry would read the table's state again). The Spark jobs of
        each batch's log."""
        writer.attempts.starting(spark, writer.checkpoint)
        jobs = []
        with in_run(spark, name):
            for batch_id in batches:
                log_row("silver", batch_id).write.format("delta").mode("append").save(log_path)
                (offsets / str(batch_id)).write_text("v1\n")
                log = partial(writer.log, spark, batch_id, writer.begin(spark))
                jobs.append(jobs_during(spark, partial(log, BatchStats(rows_in=batch_id))))
        return jobs

    run("run-a", [0, 1])  # and the process dies before Spark records batch 1 done
    _, new = run("run-b", [1, 2])  # batch 1 again, found and skipped; then batch 2
    # batch 3 was logged in a lake of before (no _writer_id: the idempotent append only)
    append_idempotent(log_row("bronze-landing", 3), log_path, writer_id, 3)
    (offsets / "3").write_text("v1\n")
    run("run-c", [3])  # batch 3 again: Delta's check skips it

    assert not any("snapshot" in job for job in new)  # a first attempt reads no table state
    logged = spark.read.format("delta").load(log_path).where(F.col("job") == "bronze-landing")
    assert sorted((r["batch_id"], r["rows_in"], r["_writer_id"]) for r in logged.collect()) == [
        (0, 0, writer_id),
        (1, 1, writer_id),
        (2, 2, writer_id),
        (3, 0, None),
    ]


def test_the_state_of_the_tables_a_batch_wrote_is_read_ahead_after_its_log(
    spark: SparkSession, tmp_path: Path
) -> None:
    config, landing, writer = _bronze_writer(spark, tmp_path)
    writer.identity.app_id(spark)
    stats = BatchStats()
    started = writer.begin(spark)
    writer.append(_bronze(spark, landing, _events(3)), BRONZE_EVENTS, 0, stats)
    wait_for_prefetches()
    bronze = table_path(config.lake, BRONZE_EVENTS)
    nothing = spark.read.format("delta").load(bronze).limit(0)
    # not during the batch's writes: the next append would read the state inline
    inline = jobs_during(spark, lambda: append_idempotent(nothing, bronze, "x", 0))
    writer.log(spark, 0, started, stats)
    wait_for_prefetches()
    ahead = jobs_during(spark, lambda: append_idempotent(nothing, bronze, "x", 1))
    assert any("snapshot" in job for job in inline)
    assert not any("snapshot" in job for job in ahead)


def test_the_tables_a_batch_wrote_are_checkpointed_by_the_commit_that_reaches_the_interval(
    spark: SparkSession, tmp_path: Path
) -> None:
    config, landing, writer = _bronze_writer(spark, tmp_path)
    writer.identity.app_id(spark)
    bronze = _bronze(spark, landing, _events(1))
    paths = [table_path(config.lake, t) for t in (BRONZE_EVENTS, BATCH_LOG)]

    def checkpointed() -> list[bool]:
        return [any(Path(p, "_delta_log").glob("*.checkpoint.parquet")) for p in paths]

    for batch_id in range(CHECKPOINT_INTERVAL):
        stats = BatchStats()
        started = writer.begin(spark)
        writer.append(bronze, BRONZE_EVENTS, batch_id, stats)
        writer.log(spark, batch_id, started, stats)
        if batch_id == CHECKPOINT_INTERVAL - 2:
            assert checkpointed() == [False, False]
    # both are ten commits past their creation: the data table and the batch log, appended
    # to blindly, each checkpointed by its tenth commit (nothing waits for the reads ahead)
    assert checkpointed() == [True, True]
    settle_prefetches()


def test_each_batch_sets_its_projection_mode_in_its_session(
    spark: SparkSession, tmp_path: Path
) -> None:
    _, _, writer = _bronze_writer(spark, tmp_path)
    session = clone_session(spark, {})  # the shared session keeps Spark's default
    modes = []
    # (each batch begun is logged: begin starts the cost meter's job group in this thread,
    # and only log ends it; a group left set would make later tests look inside a stream)
    for batch_id, rows in enumerate([10, INTERPRETED_BELOW_ROWS, 5, 1]):
        started = writer.begin(session)
        modes.append(session.conf.get(FACTORY_MODE))
        writer.log(session, batch_id, started, BatchStats(rows_in=rows))
    assert spark.sparkContext.getLocalProperty("spark.jobGroup.id") is None
    # the first batch, then after 10 rows, after 20,000 (generated), after 5
    assert modes == ["NO_CODEGEN", "NO_CODEGEN", "FALLBACK", "NO_CODEGEN"]


def _end_unlogged_batch(spark: SparkSession) -> None:
    """Drop the job group a batch's begin gave this thread (its log would have): the tests
    after this one in the process measure their own jobs from a group of their own."""
    spark.sparkContext.setLocalProperty("spark.jobGroup.id", None)  # type: ignore[arg-type]


def test_a_first_batch_reads_the_monitors_history_in_the_background(
    spark: SparkSession, tmp_path: Path
) -> None:
    config = make_config(tmp_path)
    landing_lake(spark, config)
    golds = gold_tables(spark)
    writer = BatchWriter(config, "gold", "events")
    writer.monitor.expect(golds)

    writer.begin(spark)  # returns at once; the history is read meanwhile
    _end_unlogged_batch(spark)
    deadline = time.monotonic() + 60
    while writer.monitor.unread() and time.monotonic() < deadline:
        time.sleep(0.1)

    assert not writer.monitor.unread()
    assert jobs_during(spark, lambda: writer.monitor.history(spark, golds[0])) == []


def test_a_stream_start_reads_the_history_and_its_tables_states_ahead_once(
    spark: SparkSession, tmp_path: Path
) -> None:
    config = make_config(tmp_path)
    landing_lake(spark, config)
    golds = gold_tables(spark)

    class Writer(BatchWriter):
        def written(self) -> list[TableDef]:
            return golds

    writer = Writer(config, "gold", "events")
    writer.monitor.expect(golds)
    paths = [table_path(config.lake, t) for t in golds]

    def details() -> None:
        for path in paths:
            spark.sql(f"DESCRIBE DETAIL delta.`{path}`").collect()

    writer.read_ahead(spark)  # as start_job_stream does, before any batch
    deadline = time.monotonic() + 60
    while writer.monitor.unread() and time.monotonic() < deadline:
        time.sleep(0.1)
    wait_for_prefetches()

    assert not writer.monitor.unread()
    assert jobs_during(spark, details) == []  # every written table's state is in memory

    # the first batch starts no second read of either
    def first_batch_begins() -> None:
        writer.begin(spark)
        time.sleep(1)  # what it would start in the background would start by then
        wait_for_prefetches()

    assert jobs_during(spark, first_batch_begins) == []
    _end_unlogged_batch(spark)


def test_a_failed_history_read_ahead_leaves_the_read_and_its_error_to_the_batch(
    spark: SparkSession, tmp_path: Path
) -> None:
    config = make_config(tmp_path)  # no lake registered: ops.table_metrics does not exist
    golds = gold_tables(spark)
    writer = BatchWriter(config, "gold", "events")
    writer.monitor.expect(golds)

    writer.begin(spark)  # the read ahead fails in its thread, quietly
    _end_unlogged_batch(spark)
    time.sleep(3)
    assert writer.monitor.unread()
    with pytest.raises(AnalysisException):
        writer.monitor.history(spark, golds[0])
