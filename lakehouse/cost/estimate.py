"""The current rate of each stream (the batch log of the last ``cost.window_hours``) and
its price per day (:func:`~lakehouse.cost.price.estimate_day`), for ``lakehouse cost``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from lakehouse.catalog import table_path
from lakehouse.config import LakehouseConfig
from lakehouse.cost.price import cluster_hour_price, cluster_vcpus, estimate_day
from lakehouse.display import format_table
from lakehouse.errors import LakehouseError
from lakehouse.ops import BATCH_LOG

__all__ = ["StreamRate", "current_rates", "read_current_rates", "render_estimate"]


@dataclass(frozen=True)
class StreamRate:
    """A stream's measured batches in the window: events, task CPU, and the seconds from
    its first batch's start to now."""

    stream: str
    batches: int
    events: int
    task_cpu_ms: int
    window_seconds: float


def current_rates(batch_log: DataFrame, since: datetime, now: datetime) -> DataFrame:
    """Per dataset and job, over the measured batches that finished after ``since``:
    batches, events, task CPU and ``window_seconds`` (first ``started_ts`` to ``now``)."""
    naive_now = now.astimezone(UTC).replace(tzinfo=None)
    naive_since = since.astimezone(UTC).replace(tzinfo=None)
    return (
        batch_log.where(F.col("task_cpu_ms").isNotNull())
        .where(F.col("finished_ts") >= F.lit(naive_since))
        .groupBy("dataset", "job")
        .agg(
            F.count(F.lit(1)).alias("batches"),
            F.sum("rows_in").alias("events"),
            F.sum("task_cpu_ms").alias("task_cpu_ms"),
            F.min("started_ts").alias("first_ts"),
        )
        .withColumn(
            "window_seconds",
            F.greatest(
                F.lit(1.0),
                F.unix_micros(F.lit(naive_now).cast("timestamp")) / 1e6
                - F.unix_micros(F.col("first_ts")) / 1e6,
            ),
        )
        .drop("first_ts")
    )


def read_current_rates(
    spark: SparkSession, config: LakehouseConfig, dataset: str | None, now: datetime | None = None
) -> list[StreamRate]:
    if dataset is not None:
        from lakehouse.platform import load_platform

        known = sorted(load_platform(config).datasets)
        if dataset not in known:
            raise LakehouseError(
                f"--dataset {dataset!r} is not a dataset of this lake; choose one of "
                f"{', '.join(known)}"
            )
    now = now or datetime.now(UTC)
    log = spark.read.format("delta").load(table_path(config.lake, BATCH_LOG))
    if dataset is not None:
        log = log.where(F.col("dataset") == dataset)
    since = now - timedelta(hours=config.cost.window_hours)
    return [
        StreamRate(
            stream=r["job"] if not r["dataset"] else f"{r['dataset']}/{r['job']}",
            batches=int(r["batches"]),
            events=int(r["events"]),
            task_cpu_ms=int(r["task_cpu_ms"]),
            window_seconds=float(r["window_seconds"]),
        )
        for r in current_rates(log, since, now).orderBy("dataset", "job").collect()
    ]


def render_estimate(rates: list[StreamRate], config: LakehouseConfig) -> str:
    cost = config.cost
    shape = (
        f"cluster: {cluster_vcpus(cost)} vCPUs ({cost.master_vcpus} master + {cost.workers} x "
        f"{cost.worker_vcpus}), {24 * cluster_hour_price(cost):.2f} USD per day running all day"
    )
    if not rates:
        return (
            f"no measured batches in the last {cost.window_hours} h: nothing to estimate\n{shape}"
        )
    rows = []
    total = 0.0
    total_hours = 0.0
    for r in rates:
        e = estimate_day(r.events, r.task_cpu_ms, r.window_seconds, cost)
        total += e.price_per_day
        total_hours += e.cpu_hours_per_day
        rows.append(
            [
                r.stream,
                r.batches,
                round(e.events_per_day),
                round(e.cpu_hours_per_day, 3),
                round(e.price_per_day, 4),
                "-" if e.price_per_million_events is None else round(e.price_per_million_events, 4),
            ]
        )
    columns = ["stream", "batches", "events/day", "CPU h/day", "USD/day", "USD / M events"]
    utilization = total_hours / (24 * cluster_vcpus(cost))
    return "\n".join(
        [
            f"ESTIMATE at the rate of the last {cost.window_hours} h (task CPU only; "
            "`lakehouse cost --help` has the formula):",
            format_table(columns, rows),
            f"total: {total:.4f} USD per day of task CPU, {100 * utilization:.2f} % of the cluster",
            shape,
        ]
    )
