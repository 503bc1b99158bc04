"""Cost: the price formula, cost per million events, the cost-rise detector, and the upgrade
of a batch log written before the task-metric columns existed."""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Collection
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from chispa import assert_df_equality
from pyspark.sql import SparkSession
from pyspark.sql.types import (
    DateType,
    DoubleType,
    LongType,
    StringType,
    StructField,
    StructType,
)

from lakehouse.catalog import register_tables, table_path
from lakehouse.cli import main
from lakehouse.config import CostConfig
from lakehouse.cost.detector import CostSample, detect_cost_rise
from lakehouse.cost.estimate import StreamRate, current_rates, render_estimate
from lakehouse.cost.price import cluster_hour_price, estimate_day, vcpu_hour_price
from lakehouse.cost.rates import DailyCost, daily_cost, trend
from lakehouse.cost.views import cost_rows, render_cost_html, render_cost_status
from lakehouse.errors import ConfigError
from lakehouse.frames import local_frame
from lakehouse.ops import BATCH_LOG
from lakehouse.ops.pipeline import COST_COLUMNS
from tests.conftest import make_config

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
PRICES = CostConfig(
    vcpu_hour=0.03,
    memory_gb_hour=0.004,
    dataproc_vcpu_hour=0.01,
    master_vcpus=2,
    master_memory_gb=8.0,
    workers=2,
    worker_vcpus=4,
    worker_memory_gb=16.0,
)


def test_price_formula() -> None:
    # V = 2 + 2 * 4 = 10 vCPUs, M = 8 + 2 * 16 = 40 GB
    assert cluster_hour_price(PRICES) == pytest.approx(10 * 0.04 + 40 * 0.004)  # 0.56
    assert vcpu_hour_price(PRICES) == pytest.approx(0.056)
    # 1 hour measured: 3.6e6 events and 1.8e6 task CPU ms (half a CPU busy)
    day = estimate_day(3_600_000, 1_800_000, 3600.0, PRICES)
    assert day.events_per_day == pytest.approx(86_400_000)
    assert day.cpu_hours_per_day == pytest.approx(12.0)
    assert day.price_per_day == pytest.approx(12 * 0.056)
    assert day.price_per_million_events == pytest.approx(12 * 0.056 / 86.4)
    assert day.cluster_price_per_day == pytest.approx(24 * 0.56)
    assert day.utilization == pytest.approx(12 / 240)
    assert estimate_day(0, 0, 60.0, PRICES).price_per_million_events is None
    with pytest.raises(ValueError, match="window_seconds"):
        estimate_day(1, 1, 0.0, PRICES)


def test_cost_config_is_validated() -> None:
    with pytest.raises(ConfigError, match=r"cost\.rise_factor"):
        CostConfig(rise_factor=5.0, critical_factor=4.0)
    with pytest.raises(ConfigError, match=r"cost\.worker_vcpus"):
        CostConfig(worker_vcpus=0)


def _log_row(job: str, batch: int, day: int, rows: int, cpu: int | None) -> dict[str, object]:
    ts = datetime(2026, 12, day, 10, batch)
    row: dict[str, object] = {
        "job": job,
        "dataset": "events",
        "batch_id": batch,
        "started_ts": ts,
        "finished_ts": ts,
        "duration_ms": 1000,
        "rows_in": rows,
        "rows_out": rows,
        "rows_quarantined": 0,
        "status": "ok",
    }
    if cpu is not None:
        row.update(
            input_bytes=rows * 100,
            output_bytes=rows * 50,
            shuffle_read_bytes=10,
            shuffle_write_bytes=20,
            task_cpu_ms=cpu,
            task_run_ms=cpu,
            spark_jobs=3,
            spark_stages=4,
            files_read=rows // 100,
            files_written=2,
        )
    return row


def test_daily_cost_per_million_events(spark: SparkSession) -> None:
    log = local_frame(
        spark,
        [
            _log_row("silver", 0, 1, 1000, 400),
            _log_row("silver", 1, 1, 3000, 600),
            _log_row("silver", 2, 2, 2000, 2000),
            _log_row("silver", 3, 2, 500, None),  # written before task metrics: left out
            _log_row("gold", 0, 2, 0, 50),  # no events: no cost per event
            # measured before the file columns existed: no files
            {**_log_row("gold", 1, 2, 0, 50), "files_read": None, "files_written": None},
        ],
        BATCH_LOG.schema,
    )
    actual = daily_cost(log, vcpu_hour=3.6)
    long, double = LongType(), DoubleType()
    schema = StructType(
        [
            StructField(name, kind, True)
            for name, kind in (
                ("dataset", StringType()),
                ("job", StringType()),
                ("day", DateType()),
                ("batches", long),
                ("events", long),
                ("task_cpu_ms", long),
                ("input_bytes", long),
                ("output_bytes", long),
                ("shuffle_bytes", long),
                ("file_batches", long),
                ("files_read", long),
                ("files_written", long),
                ("cpu_ms_per_million", double),
                ("input_bytes_per_million", double),
                ("usd_per_million", double),
            )
        ]
    )
    expected = spark.createDataFrame(
        [
            # 1000 ms per 4000 events = 250000 ms per million; 3.6 USD per 3.6e6 ms
            ("events", "silver", date(2026, 12, 1), 2, 4000, 1000, 400000, 200000, 60,
             2, 40, 4, 250000.0, 100e6, 0.25),
            ("events", "silver", date(2026, 12, 2), 1, 2000, 2000, 200000, 100000, 30,
             1, 20, 2, 1e6, 100e6, 1.0),
            ("events", "gold", date(2026, 12, 2), 2, 0, 100, 0, 0, 60, 1, 0, 2,
             None, None, None),
        ],
        schema,
    )  # fmt: skip
    assert_df_equality(
        actual, expected, ignore_nullable=True, ignore_row_order=True, ignore_column_order=False
    )


def test_trend_and_status_rows() -> None:
    assert trend([100.0]) is None
    assert trend([100.0, 120.0, 80.0, 150.0]) == pytest.approx(0.5)
    days = [
        DailyCost(
            "events/silver", date(2026, 12, 1), 2, 4000, 1000, 400000, 0, 0, 250000.0, 0.25,
            file_batches=1, files_read=7, files_written=2,
        ),  # one of its batches was measured before the file columns existed
        DailyCost(
            "events/silver", date(2026, 12, 2), 1, 2000, 1000, 200000, 0, 0, 500000.0, 0.5,
            file_batches=1, files_read=4, files_written=1,
        ),
    ]  # fmt: skip
    # 2000 ms over 6000 events; USD 0.25 * 4000/1e6 + 0.5 * 2000/1e6 over 6000 events;
    # files over the 2 batches that recorded them
    assert cost_rows(days) == [["events/silver", 6000, 333333, 0.3333, 100.0, 5.5, 1.5, "+100 %"]]
    old = dataclasses.replace(days[0], file_batches=0, files_read=0, files_written=0)
    assert cost_rows([old])[0][5:7] == ["-", "-"]


def _detect(history: list[CostSample], current: CostSample) -> object:
    return detect_cost_rise(
        current, history, CostConfig(), table_name="silver.events", job="silver", now=NOW
    )


def test_detector_fires_on_a_rise_and_not_on_noise() -> None:
    rng = random.Random(7)
    # 20 batches of 5000 events at 1000 ms +- 30 %
    history = [CostSample(n, 5000, int(1000 * rng.uniform(0.7, 1.3))) for n in range(20)]
    noisy = [CostSample(20 + n, 5000, int(1000 * rng.uniform(0.7, 1.3))) for n in range(50)]
    assert all(_detect(history, c) is None for c in noisy)
    warning = _detect(history, CostSample(99, 5000, 2600))
    critical = _detect(history, CostSample(99, 5000, 4600))
    assert warning is not None and critical is not None
    assert (warning.severity, critical.severity) == ("warning", "critical")  # type: ignore[attr-defined]
    assert warning.detector == "cost_rise" and warning.batch_id == 99  # type: ignore[attr-defined]
    assert warning.observed == pytest.approx(2600 * 200)  # type: ignore[attr-defined]
    # silent on a cold start and on small batches
    assert _detect(history[:9], CostSample(99, 5000, 4600)) is None
    assert _detect(history, CostSample(99, 999, 4600)) is None


ALL_COST_COLUMNS = tuple(name for name, _, _ in COST_COLUMNS)
FILE_COLUMNS = ("files_read", "files_written")


def _old_lake(spark: SparkSession, root: Path, without: Collection[str] = ALL_COST_COLUMNS) -> str:
    """A lake whose batch log was created (as register_tables does) before the columns
    ``without`` (by default the task-metric ones) existed, and ``_writer_id``, declared after
    them, with one row; registered in the session catalog."""
    config = make_config(root)
    cost_names = {*without, "_writer_id"}
    old_schema = StructType([f for f in BATCH_LOG.schema.fields if f.name not in cost_names])
    old_policy = dataclasses.replace(
        BATCH_LOG.policy,
        columns={c: k for c, k in BATCH_LOG.policy.columns.items() if c not in cost_names},
    )
    old = dataclasses.replace(BATCH_LOG, schema=old_schema, policy=old_policy)
    register_tables(spark, config.lake, [old])
    path = table_path(config.lake, BATCH_LOG)
    row = {k: v for k, v in _log_row("silver", 0, 1, 10, 5).items() if k not in cost_names}
    local_frame(spark, [row], old_schema).write.format("delta").mode("append").save(path)
    return path


@pytest.mark.parametrize("registered", [False, True], ids=["new-process", "shared-metastore"])
def test_an_old_batch_log_gains_the_new_columns(
    spark: SparkSession, tmp_path: Path, registered: bool
) -> None:
    path = _old_lake(spark, tmp_path)
    config = make_config(tmp_path)
    if not registered:  # a new process: the in-memory catalog is empty
        spark.sql("DROP TABLE ops.batch_log")
    register_tables(spark, config.lake, [BATCH_LOG])
    register_tables(spark, config.lake, [BATCH_LOG])  # a second registration changes nothing

    assert spark.table("ops.batch_log").schema.fieldNames() == BATCH_LOG.schema.fieldNames()
    new = local_frame(spark, [_log_row("silver", 1, 1, 10, 5)], BATCH_LOG.schema)
    new.write.format("delta").mode("append").save(path)
    cpu = {r["batch_id"]: r["task_cpu_ms"] for r in spark.table("ops.batch_log").collect()}
    assert cpu == {0: None, 1: 5}
    history = spark.sql(f"DESCRIBE HISTORY delta.`{path}`").collect()
    assert [h["operation"] for h in history].count("ADD COLUMNS") == 1


def test_a_batch_log_with_task_metrics_gains_the_file_columns(
    spark: SparkSession, tmp_path: Path
) -> None:
    path = _old_lake(spark, tmp_path, without=FILE_COLUMNS)
    spark.sql("DROP TABLE ops.batch_log")  # a new process
    register_tables(spark, make_config(tmp_path).lake, [BATCH_LOG])

    assert spark.table("ops.batch_log").schema.fieldNames() == BATCH_LOG.schema.fieldNames()
    new = local_frame(spark, [_log_row("silver", 1, 1, 300, 5)], BATCH_LOG.schema)
    new.write.format("delta").mode("append").save(path)
    rows = spark.table("ops.batch_log").orderBy("batch_id").collect()
    # the older row keeps its task metrics; its files read as null
    assert [(r["task_cpu_ms"], r["files_read"], r["files_written"]) for r in rows] == [
        (5, None, None),
        (5, 3, 2),
    ]


def test_current_rates_over_the_window(spark: SparkSession) -> None:
    log = local_frame(
        spark,
        [
            _log_row("silver", 0, 3, 1000, 400),  # 2026-12-03 10:00
            _log_row("silver", 30, 3, 3000, 600),  # 10:30
            _log_row("silver", 1, 1, 5000, 5000),  # two days before: outside the window
            _log_row("gold", 40, 3, 500, None),  # not measured
        ],
        BATCH_LOG.schema,
    )
    since = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
    actual = current_rates(log, since, NOW)
    expected = spark.createDataFrame(
        [("events", "silver", 2, 4000, 1000, 7200.0)],  # 10:00 to 12:00
        "dataset string, job string, batches long, events long, task_cpu_ms long, "
        "window_seconds double",
    )
    assert_df_equality(actual, expected, ignore_nullable=True)


def test_estimate_table() -> None:
    config = make_config(Path("/tmp/unused")).with_overrides(
        cost={"master_vcpus": 2, "master_memory_gb": 8.0, "vcpu_hour": 0.03,
              "memory_gb_hour": 0.004, "dataproc_vcpu_hour": 0.01}
    )  # fmt: skip
    rates = [StreamRate("events/silver", 12, 3_600_000, 1_800_000, 3600.0)]
    text = render_estimate(rates, config)
    assert "events/silver" in text and "ESTIMATE" in text
    # 12 CPU h/day at 0.056 USD = 0.672 USD/day; 86.4 M events/day
    assert "| events/silver |      12 |   86400000 |      12.0 |   0.672 |         0.0078 |" in text
    assert "total: 0.6720 USD per day of task CPU, 5.00 % of the cluster" in text
    assert "cluster: 10 vCPUs (2 master + 2 x 4), 13.44 USD per day running all day" in text
    assert "no measured batches" in render_estimate([], config)


def test_cost_help_has_the_formula(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["cost", "--help"])
    out = capsys.readouterr().out
    assert "--dataset D" in out
    assert "P = V * (vcpu_hour + dataproc_vcpu_hour) + M * memory_gb_hour" in out
    assert "An estimate" in out


def test_status_and_report_sections() -> None:
    days = [
        DailyCost("events/gold", date(2026, 12, 1), 1, 0, 5, 0, 0, 0, None, None),
        DailyCost("events/silver", date(2026, 12, 1), 2, 4000, 1000, 400000, 0, 0, 250000.0, 0.5),
    ]
    status = render_cost_status(days)
    assert status.startswith("cost per million events")
    assert "| events/silver |   4000 | 250000" in status
    assert "| events/gold   |      0 | -" in status
    assert render_cost_status([]) == "cost: no batches with task metrics in the window"
    page = render_cost_html(days)
    assert '<table id="cost">' in page and '<table id="cost-daily">' in page
    assert (
        "<td>events/silver</td><td>2026-12-01</td><td>2</td><td>4000</td><td>250000</td>"
        "<td>-</td><td>-</td>" in page
    )
