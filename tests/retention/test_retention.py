"""Retention on local Spark + Delta: rows past their window are gone from the files, streams
downstream keep running."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from lakehouse.catalog import table_path
from lakehouse.cli import main
from lakehouse.config import LakehouseConfig, TriggerConfig
from lakehouse.demo import run_layers
from lakehouse.io.jobs import start_job
from lakehouse.retention.plan import RetentionStep, plan_retention, select_tables
from lakehouse.retention.run import run_retention
from tests.conftest import (
    event_line,
    events_landing,
    landing_lake,
    make_config,
    register_lake,
    ungated_kinds,
)
from tests.events import BRONZE_EVENTS, SILVER_EVENTS, lake_tables, platform
from tests.product_generator import GeneratorSpec, generate_events, write_landing
from tests.retention.files import read_files
from tests.test_cli import _toml

# partition column derived from the retention time column
_DATE_OF = {
    "bronze.events": "ingest_date",
    "silver.events": "event_date",
    "quarantine.silver_events": "quarantine_date",
}


def test_unknown_table_is_refused_before_spark_starts(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    toml = _toml(tmp_path)
    assert main(["--config", str(toml), "retention", "run", "--table", "silver.evnts"]) == 2
    assert "unknown table 'silver.evnts'; known tables are" in capsys.readouterr().err


def test_plan_skips_tables_kept_for_a_reason(spark: SparkSession) -> None:
    now = datetime(2026, 11, 23, tzinfo=UTC)
    steps = {s.table.name: s for s in plan_retention(select_tables(platform(spark)), now)}
    assert steps["bronze.events"] == RetentionStep(
        BRONZE_EVENTS, "ingest_ts", 7, datetime(2026, 11, 16, tzinfo=UTC)
    )
    assert steps["silver.events"].cutoff == now - timedelta(days=400)
    assert "gold.daily_active_users" not in steps
    assert "ops.erasure_audit" not in steps


def _backdate(spark: SparkSession, config: LakehouseConfig, step: RetentionStep) -> int:
    """Append copies of a table's rows moved past its window; return how many."""
    path = table_path(config.lake, step.table)
    rows = spark.read.format("delta").load(path)
    old = rows.withColumn(
        step.column, F.col(step.column) - F.make_interval(days=F.lit(step.days + 2))
    )
    if step.table.name in _DATE_OF:
        old = old.withColumn(_DATE_OF[step.table.name], F.to_date(step.column))
    old = old.persist()
    count = old.count()
    old.write.format("delta").mode("append").save(path)
    old.unpersist()
    return count


@pytest.mark.slow
def test_after_retention_no_data_file_holds_an_expired_row(
    spark: SparkSession, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = make_config(tmp_path, gates=False)
    register_lake(spark, config)
    start = datetime.now(UTC) - timedelta(hours=1)
    spec = GeneratorSpec(
        count=24, bad_share=0.3, seed=3, rate=0.1, start=start, bad_kinds=ungated_kinds()
    )
    write_landing(generate_events(spec), events_landing(config), events_per_file=24)
    run_layers(spark, config)
    now = datetime.now(UTC)
    steps = plan_retention(select_tables(platform(spark)), now)
    kept = {s.table.name: spark.table(s.table.name).count() for s in steps}
    expired = {s.table.name: _backdate(spark, config, s) for s in steps}
    assert all(expired[n] > 0 for n in ("bronze.events", "silver.events", "ops.batch_log"))

    toml = _toml(tmp_path, gates=False)
    assert main(["--config", str(toml), "retention", "run", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "dry run: nothing deleted" in out
    (line,) = [x for x in out.splitlines() if x.startswith("| bronze.events ")]
    assert f" {expired['bronze.events']} |" in line
    assert spark.table("bronze.events").count() == kept["bronze.events"] + expired["bronze.events"]

    results = run_retention(spark, config.lake, steps, purge_now=True)
    assert {r.step.table.name: r.rows for r in results} == expired
    for step in steps:
        name = step.table.name
        assert spark.table(name).count() == kept[name], name
        files = read_files(spark, Path(table_path(config.lake, step.table)))
        if files is None:
            assert kept[name] == 0, name
            continue
        # the files themselves, not the Delta view of them: deleted rows are gone
        assert files.count() == kept[name], name
        assert files.where(F.col(step.column) < F.lit(step.cutoff)).count() == 0, name


def _await_rows(spark: SparkSession, path: str, rows: int, timeout: float = 180.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if spark.read.format("delta").load(path).count() >= rows:
            return
        time.sleep(1)
    raise AssertionError(f"{path} did not reach {rows} rows in {timeout}s")


@pytest.mark.slow
def test_a_running_silver_stream_survives_retention_on_bronze(
    spark: SparkSession, tmp_path: Path
) -> None:
    config = make_config(tmp_path, gates=False)
    landing = landing_lake(spark, config)
    ts = datetime.now(UTC) - timedelta(minutes=30)
    (landing / "a.jsonl").write_bytes(
        b"".join(event_line(f"a{i}", ts, f"u{i % 3}") + b"\n" for i in range(6))
    )
    run_layers(spark, config, ("bronze",))
    silver_path = table_path(config.lake, SILVER_EVENTS)
    every = TriggerConfig(mode="processing-time", interval="1 second")
    silver = start_job(spark, config, "silver", every)
    try:
        _await_rows(spark, silver_path, 6)
        # every bronze row expires (a week from now), then is purged from the files
        later = datetime.now(UTC) + timedelta(days=8)
        steps = plan_retention([BRONZE_EVENTS], later)
        (result,) = run_retention(spark, config.lake, steps, purge_now=True)
        assert result.rows == 6
        assert spark.table("bronze.events").count() == 0
        (landing / "b.jsonl").write_bytes(
            b"".join(event_line(f"b{i}", ts, f"u{i}") + b"\n" for i in range(4))
        )
        run_layers(spark, config, ("bronze",))
        _await_rows(spark, silver_path, 10)
        assert silver.isActive, silver.exception()
    finally:
        silver.stop()
    ids = {r["event_id"] for r in spark.table("silver.events").collect()}
    assert ids == {f"a{i}" for i in range(6)} | {f"b{i}" for i in range(4)}
    assert silver.exception() is None
    run_layers(spark, config, ("silver", "gold"))  # restarts from its checkpoint
    assert spark.table("gold.daily_active_users").count() >= 1
    for name in lake_tables(spark):  # every table registered stays readable
        spark.table(name).limit(1).collect()
