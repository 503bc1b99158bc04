"""A batch interrupted by its stream's stop says so in one line Spark recognises as a stop."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from py4j.protocol import Py4JJavaError  # type: ignore[import-untyped]
from pyspark.sql import DataFrame, SparkSession

from lakehouse.engine_errors import INTERRUPTIONS, interruption
from lakehouse.io.jobs import BatchInterrupted, _with_commit_fault_point
from lakehouse.io.side_by_side import run_side_by_side


def _java_error(throwable: Any) -> Py4JJavaError:
    return Py4JJavaError("An error occurred while calling o42.save.\n", throwable)


def _spark_calls_it_a_stop(spark: SparkSession, text: str) -> bool:
    """Spark's own verdict: StreamExecution.PROXY_ERROR, what it matches a Python error of a
    stopped stream's ``foreachBatch`` against."""
    jvm = spark.sparkContext._jvm
    assert jvm is not None
    regex = jvm.org.apache.spark.sql.execution.streaming.runtime.StreamExecution.PROXY_ERROR()
    return bool(regex.findFirstIn(text).isDefined())


def test_an_interruption_anywhere_in_the_chain_is_one_line_spark_calls_a_stop(
    spark: SparkSession,
) -> None:
    jvm = spark.sparkContext._jvm
    assert jvm is not None
    direct = _java_error(jvm.java.lang.InterruptedException("sleep interrupted"))
    wrapped = _java_error(
        jvm.java.lang.RuntimeException(
            "Job aborted", jvm.java.nio.channels.ClosedByInterruptException()
        ),
    )
    for error, name in ((direct, INTERRUPTIONS[0]), (wrapped, INTERRUPTIONS[2])):
        line = interruption(error)
        calling = "py4j.protocol.Py4JJavaError: An error occurred while calling the JVM"
        assert line == f"{calling}: {name}"
        assert _spark_calls_it_a_stop(spark, line)


def test_other_errors_are_no_interruption(spark: SparkSession) -> None:
    jvm = spark.sparkContext._jvm
    assert jvm is not None
    failed = _java_error(jvm.java.lang.IllegalStateException("the table is gone"))
    assert interruption(failed) is None
    assert interruption(ValueError("java.lang.InterruptedException")) is None


def test_the_batch_function_reraises_an_interruption_short_and_anything_else_as_it_was(
    spark: SparkSession,
) -> None:
    jvm = spark.sparkContext._jvm
    assert jvm is not None
    stopped = _java_error(jvm.java.io.InterruptedIOException())
    failed = _java_error(jvm.java.lang.IllegalStateException("boom"))

    def raising(error: BaseException) -> Any:
        def batch(_df: DataFrame, _batch_id: int) -> None:
            raise error

        return _with_commit_fault_point(batch, "gold")

    frame = spark.range(1)
    with pytest.raises(BatchInterrupted) as raised:
        raising(stopped)(frame, 3)
    assert str(raised.value) == (
        "py4j.protocol.Py4JJavaError: An error occurred while calling the JVM: "
        "java.io.InterruptedIOException"
    )
    assert raised.value.__suppress_context__  # the JVM's stack trace is not in its text
    with pytest.raises(Py4JJavaError) as kept:
        raising(failed)(frame, 3)
    assert kept.value is failed


def test_a_job_cancelled_with_the_streams_job_group_is_a_stop(spark: SparkSession) -> None:
    """What a write side by side meets when its stream stops: Spark cancels the group's jobs
    (the stop interrupts the stream's own thread only)."""
    sc = spark.sparkContext
    sc.setJobGroup("lakehouse-test-run-id", "a stream's batch")
    stop = threading.Event()

    def cancel_when_running() -> None:  # as a stop does, while the piece's job runs
        while not stop.wait(0.1):
            if sc.statusTracker().getJobIdsForGroup("lakehouse-test-run-id"):
                sc.cancelJobGroup("lakehouse-test-run-id")
                return

    canceller = threading.Thread(target=cancel_when_running)
    canceller.start()
    try:
        with pytest.raises(Exception) as raised:
            run_side_by_side(
                spark,
                [
                    lambda s: (
                        s.range(1, 2, numPartitions=1)
                        .selectExpr("reflect('java.lang.Thread', 'sleep', cast(60000 as bigint))")
                        .collect()
                    )
                ],
            )
    finally:
        stop.set()
        canceller.join()
        sc.setLocalProperty("spark.jobGroup.id", None)  # type: ignore[arg-type]
        sc.setLocalProperty("spark.job.description", None)  # type: ignore[arg-type]
        sc.setLocalProperty("spark.job.interruptOnCancel", None)  # type: ignore[arg-type]
    line = interruption(raised.value, "lakehouse-test-run-id")
    assert line == (
        "py4j.protocol.Py4JJavaError: An error occurred while calling the JVM: a job of job "
        "group lakehouse-test-run-id cancelled, as by java.lang.InterruptedException"
    )
    assert _spark_calls_it_a_stop(spark, line)
    assert interruption(raised.value, "another-run-id") is None
    assert interruption(raised.value) is None


_STOPPED_MID_BATCH = """
import sys, tempfile, threading, time
from lakehouse.config import SparkConfig
from lakehouse.io.jobs import _with_commit_fault_point
from lakehouse.io.side_by_side import run_side_by_side
from lakehouse.session import build_session
spark = build_session(SparkConfig(master="local[2]", shuffle_partitions=2), "stop-mid-batch")
def long_job(session):  # a job of minutes, ended by the stop
    session.range(0, 10**10, numPartitions=2).selectExpr("sum(id * 7 % 13)").collect()
for how in ("in the batch's thread", "side by side"):
    running = threading.Event()
    def batch(df, batch_id):
        running.set()
        if how == "side by side":  # threads the stop cancels the jobs of, not interrupts
            run_side_by_side(df.sparkSession, [long_job, long_job])
        else:  # the stream's thread, which the stop interrupts
            long_job(spark)
    query = (
        spark.readStream.format("rate").option("rowsPerSecond", 1).load()
        .writeStream.foreachBatch(_with_commit_fault_point(batch, "gold"))
        .option("checkpointLocation", tempfile.mkdtemp())
        .trigger(processingTime="1 second").start()
    )
    assert running.wait(120), "no batch started"
    time.sleep(3)
    query.stop()
    print(f"{how}: stopped, error: {query.exception()}", flush=True)
"""


@pytest.mark.slow
def test_a_stream_stopped_in_the_middle_of_a_batch_stops_cleanly(tmp_path: Path) -> None:
    """Without the one-line verdict, Spark's regex overflowed the stream thread's stack on
    the JVM's stack trace (a StackOverflowError printed and the thread ended by it); a batch
    whose writes run side by side fails with its jobs cancelled, which is a stop too."""
    run = subprocess.run(
        [sys.executable, "-c", _STOPPED_MID_BATCH],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])},
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert "in the batch's thread: stopped, error: None" in run.stdout
    assert "side by side: stopped, error: None" in run.stdout
    assert "StackOverflowError" not in run.stderr
    assert "Exception in thread" not in run.stderr
