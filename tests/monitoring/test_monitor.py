"""The monitors' history in a job: read once for the tables a job watches together."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from pyspark.sql import SparkSession

from lakehouse.catalog import table_path
from lakehouse.config import LakehouseConfig
from lakehouse.io.delta import append_idempotent
from lakehouse.monitoring.history import metrics_frame
from lakehouse.monitoring.model import BatchMetrics
from lakehouse.monitoring.monitor import Monitor
from lakehouse.ops import TABLE_METRICS, TableDef
from tests.conftest import make_config, register_lake
from tests.events import gold_tables
from tests.io.spark_jobs import jobs_during


def _seed(spark: SparkSession, config: LakehouseConfig, points: list[BatchMetrics]) -> None:
    """Metrics in the lake's ``ops.table_metrics``, as an earlier stream wrote them."""
    path = table_path(config.lake, TABLE_METRICS)
    append_idempotent(metrics_frame(spark, points, "seed"), path, "seed", 0)


def _every_history(
    spark: SparkSession, monitor: Monitor, tables: list[TableDef]
) -> tuple[list[str], dict[str, list[int]]]:
    """The Spark jobs that asking ``monitor`` for each table's history ran, and the batch
    ids of each history."""
    histories: dict[str, list[int]] = {}
    jobs = jobs_during(
        spark,
        lambda: histories.update(
            {t.name: [p.batch_id for p in monitor.history(spark, t)] for t in tables}
        ),
    )
    return jobs, histories


def test_the_histories_of_the_tables_a_job_watches_are_read_in_one_go(
    spark: SparkSession, tmp_path: Path
) -> None:
    config = make_config(tmp_path)
    register_lake(spark, config)
    golds = gold_tables(spark)
    first, second, third = golds
    now = datetime.now(UTC)
    points = [
        BatchMetrics(
            table_name=table.name,
            job="gold",
            batch_id=batch,
            batch_ts=now - timedelta(minutes=10 - batch),
            rows=10 + batch,
            rows_in=10 + batch,
        )
        for table in (first, second)
        for batch in range(3)
    ]
    _seed(spark, config, points)
    monitor = Monitor(config)
    monitor.expect(golds)

    read = jobs_during(spark, lambda: monitor.history(spark, second))
    after, histories = _every_history(spark, monitor, golds)

    assert read  # the first table asked for reads them all
    assert after == []  # the others are in memory already, even one with no history yet
    assert histories == {first.name: [0, 1, 2], second.name: [0, 1, 2], third.name: []}


def test_a_history_read_ahead_is_the_one_the_monitors_use(
    spark: SparkSession, tmp_path: Path
) -> None:
    config = make_config(tmp_path)
    register_lake(spark, config)
    golds = gold_tables(spark)
    point = BatchMetrics(
        table_name=golds[1].name, job="gold", batch_id=7, batch_ts=datetime.now(UTC), rows=1
    )
    _seed(spark, config, [point])
    monitor = Monitor(config)
    assert not monitor.unread()  # nothing watched yet: nothing to read
    monitor.expect(golds)
    assert monitor.unread()

    monitor.read_ahead(spark)
    after, histories = _every_history(spark, monitor, golds)

    assert not monitor.unread()
    assert after == []  # every watched table's history was read ahead
    assert histories == {golds[0].name: [], golds[1].name: [7], golds[2].name: []}
