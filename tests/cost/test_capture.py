"""The task metrics of a batch's jobs, read from Spark's status store."""

from __future__ import annotations

import pytest
from pyspark.sql import SparkSession
from pyspark.status import StatusTracker

from lakehouse.cost.capture import TaskMeter


def test_a_job_the_status_store_dropped_after_the_listing_counts_nothing(
    spark: SparkSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The listener drops the oldest ended jobs past ``spark.ui.retainedJobs`` at any time,
    also between the listing of a batch's jobs and the reading of each: the batch's totals
    leave that job out instead of failing the batch (a stream of three layers in one process
    with ``spark.ui.retainedJobs=50`` failed its silver batch on it)."""
    sc = spark.sparkContext
    meter = TaskMeter()
    meter.start(spark)
    group = sc.getLocalProperty("spark.jobGroup.id")
    spark.range(10).count()
    spark.range(20).count()
    listed = sorted(sc.statusTracker().getJobIdsForGroup(group))
    dropped, kept = listed[-2], listed[-1]
    store = sc._jsc.sc().statusStore()
    jvm = sc._jvm
    assert jvm is not None
    kept_stages = [
        store.lastStageAttempt(int(s))
        for s in str(store.job(kept).stageIds().mkString(",")).split(",")
    ]
    # what the listener's cleanup does (AppStatusListener.cleanupJobs), after the listing
    wrapper = jvm.java.lang.Class.forName("org.apache.spark.status.JobDataWrapper")
    store.store().delete(wrapper, dropped)
    monkeypatch.setattr(StatusTracker, "getJobIdsForGroup", lambda self, g: listed)

    totals = meter.stop(spark)

    assert totals is not None
    assert totals.jobs == len(listed)  # it ran; its tasks are not known any more
    assert totals.stages == sum(1 for s in kept_stages if int(s.executorRunTime()) > 0) > 0
