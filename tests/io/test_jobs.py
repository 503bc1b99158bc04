"""Streaming integration on local Spark + Delta: every event accounted for, restarts and
retried batches write nothing twice, gold equals a recomputation from silver."""

from __future__ import annotations

import json
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from chispa import assert_df_equality
from delta.tables import DeltaTable
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from lakehouse.config import LakehouseConfig, TriggerConfig
from lakehouse.demo import run_layers, table_counts
from lakehouse.io.jobs import BronzeJob, GoldJob, SilverJob, start_job
from lakehouse.privacy.keys import fingerprint
from tests.conftest import (
    TEST_KEY,
    event_line,
    events_landing,
    landing_batch,
    make_config,
    register_lake,
    ungated_kinds,
    with_checkpoint,
)
from tests.contracts.declared_gold import AGGREGATES
from tests.events import platform
from tests.product_generator import (
    BAD_KINDS,
    GeneratedEvent,
    GeneratorSpec,
    generate_events,
    write_landing,
)

pytestmark = pytest.mark.slow

N_EVENTS = 1500


def _spec(seed: int, count: int = N_EVENTS, gates: bool = True) -> GeneratorSpec:
    """Generated events; without gates, none that only a quality gate refuses."""
    start = datetime.now(UTC) - timedelta(hours=1)
    kinds = tuple(BAD_KINDS) if gates else ungated_kinds()
    return GeneratorSpec(
        count=count, bad_share=0.25, seed=seed, rate=2.0, start=start, bad_kinds=kinds
    )


def _assert_accounted(spark: SparkSession, events: list[GeneratedEvent]) -> None:
    """Bronze has every event; good ones are in silver once; bad ones quarantined with reason."""
    assert spark.table("bronze.events").count() == len(events)
    silver_ids = [r["event_id"] for r in spark.table("silver.events").select("event_id").collect()]
    expected_ids = [e.event_id for e in events if e.expected == "silver"]
    assert len(silver_ids) == len(set(silver_ids)), "an event reached silver twice"
    assert Counter(silver_ids) == Counter(expected_ids)
    quarantined = Counter(
        (bytes(r["payload"]), r["reason"])
        for r in spark.table("quarantine.silver_events").select("payload", "reason").collect()
    )
    expected = Counter((e.line, e.reason) for e in events if e.expected == "quarantine")
    assert quarantined == expected


def _assert_gold_equals_recomputation(spark: SparkSession) -> None:
    silver = spark.table("silver.events")
    now = datetime.now(UTC)
    for aggregate in AGGREGATES:
        recomputed = silver.transform(aggregate.compute(now)).drop("updated_ts")
        stored = spark.table(aggregate.table.name).drop("updated_ts")
        assert_df_equality(stored, recomputed, ignore_nullable=True, ignore_row_order=True)


@pytest.fixture(scope="module")
def pipeline(
    spark: SparkSession, tmp_path_factory: pytest.TempPathFactory
) -> tuple[LakehouseConfig, list[GeneratedEvent]]:
    """One lake through which a generated stream ran bronze -> silver -> gold, in 2 parts."""
    root = tmp_path_factory.mktemp("pipeline")
    config = make_config(root, max_files_per_trigger=4)
    register_lake(spark, config)
    events = generate_events(_spec(seed=11))
    # two arrivals, each run through all layers: later batches see earlier silver rows
    for n, part in enumerate((events[:750], events[750:])):
        write_landing(part, events_landing(config), events_per_file=100, prefix=f"p{n}")
        run_layers(spark, config)
    return config, events


def test_every_event_is_accounted_for(
    spark: SparkSession, pipeline: tuple[LakehouseConfig, list[GeneratedEvent]]
) -> None:
    config, events = pipeline
    register_lake(spark, config)
    kinds = Counter(e.kind for e in events)
    assert all(kinds[k] > 0 for k in ("duplicate", "late", "unknown_field", "malformed_json"))
    _assert_accounted(spark, events)


def test_unknown_fields_are_rescued_in_silver(
    spark: SparkSession, pipeline: tuple[LakehouseConfig, list[GeneratedEvent]]
) -> None:
    config, events = pipeline
    register_lake(spark, config)
    rescued_ids = {e.event_id for e in events if e.kind == "unknown_field"}
    rows = (
        spark.table("silver.events")
        .where(F.col("rescued_data").isNotNull())
        .select("event_id", F.map_keys("rescued_data").alias("keys"))
        .collect()
    )
    assert {r["event_id"] for r in rows} == rescued_ids
    assert all(sorted(r["keys"]) == ["app_version", "experiment"] for r in rows)


def test_gold_equals_batch_recomputation_from_silver(
    spark: SparkSession, pipeline: tuple[LakehouseConfig, list[GeneratedEvent]]
) -> None:
    config, _ = pipeline
    register_lake(spark, config)
    _assert_gold_equals_recomputation(spark)


def test_batch_log_accounts_for_rows(
    spark: SparkSession, pipeline: tuple[LakehouseConfig, list[GeneratedEvent]]
) -> None:
    config, events = pipeline
    register_lake(spark, config)
    log = spark.table("ops.batch_log")
    totals = {
        r["job"]: r
        for r in log.groupBy("job")
        .agg(
            F.sum("rows_in").alias("rows_in"),
            F.sum("rows_out").alias("rows_out"),
            F.sum("rows_quarantined").alias("q"),
            F.count("*").alias("batches"),
        )
        .collect()
    }
    good = sum(1 for e in events if e.expected == "silver")
    assert totals["bronze-landing"]["rows_in"] == len(events)
    assert totals["bronze-landing"]["batches"] == 4  # 2 arrivals of 8 files, 4 files per batch
    assert totals["silver"]["rows_in"] == len(events)
    assert totals["silver"]["rows_out"] == good
    assert totals["silver"]["q"] == len(events) - good
    assert totals["gold"]["rows_in"] == good
    first = log.where("job = 'bronze-landing' AND batch_id = 0").first()
    assert first is not None
    offsets = json.loads(first["source_offsets"])
    assert sorted(offsets.values()) == [[0, 99]] * 4
    assert set(first["versions_written"]) == {"bronze.events", "ops.table_metrics"}
    # silver batches name the pseudonym key's version (a fingerprint, not the key); others none
    versions = {(r["job"], r["key_version"]) for r in log.select("job", "key_version").collect()}
    assert versions == {
        ("bronze-landing", None),
        ("silver", fingerprint(TEST_KEY.encode())),
        ("gold", None),
    }


def test_lake_is_readable_by_name_after_reregistering(
    spark: SparkSession, pipeline: tuple[LakehouseConfig, list[GeneratedEvent]], tmp_path: Path
) -> None:
    config, events = pipeline
    register_lake(spark, make_config(tmp_path))  # another lake takes the names
    assert spark.table("bronze.events").count() == 0
    register_lake(spark, config)  # and back
    assert spark.table("bronze.events").count() == len(events)


def _await_batches(query: object, batches: int, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        progress = getattr(query, "recentProgress", [])
        if sum(1 for p in progress if p["numInputRows"] > 0) >= batches:
            return
        time.sleep(0.5)
    raise AssertionError(f"{batches} batches did not complete in {timeout}s")


def test_streams_stopped_mid_run_restart_without_loss_or_duplicates(
    spark: SparkSession, tmp_path: Path
) -> None:
    # the gates and monitoring have their own restart tests (tests/quality, tests/monitoring)
    config = make_config(tmp_path, max_files_per_trigger=1, gates=False, monitoring=False)
    register_lake(spark, config)
    events = generate_events(_spec(seed=23, count=500, gates=False))
    write_landing(events, events_landing(config), events_per_file=100)
    every = TriggerConfig(mode="processing-time", interval="1 second")

    bronze = start_job(spark, config, "bronze", every)
    _await_batches(bronze, 2)
    bronze.stop()  # mid-run: bronze has not read every file
    partial = spark.table("bronze.events").count()
    assert 0 < partial < len(events)

    run_layers(spark, config, ("silver", "gold"))  # downstream catches up with what is there
    assert 0 < spark.table("silver.events").count() < partial

    bronze = start_job(spark, config, "bronze", every)  # resume both side by side
    silver = start_job(spark, config, "silver", every)
    _await_batches(silver, 1)
    silver.stop()  # and stop them again, wherever they are
    bronze.stop()

    run_layers(spark, config)  # start again from the checkpoints and drain
    before = table_counts(spark, platform(spark))
    _assert_accounted(spark, events)
    _assert_gold_equals_recomputation(spark)
    # unwatched by the monitors, silver's writes count its rows for the batch log
    logged = (
        spark.table("ops.batch_log")
        .where(F.col("job") == "silver")
        .agg(F.sum("rows_out").alias("out"), F.sum("rows_quarantined").alias("refused"))
        .first()
    )
    assert logged is not None
    assert (logged["out"], logged["refused"]) == (
        before["silver.events"],
        before["quarantine.silver_events"],
    )

    run_layers(spark, config)  # once more: nothing new, nothing written twice
    assert table_counts(spark, platform(spark))["silver.events"] == before["silver.events"]
    assert (
        table_counts(spark, platform(spark))["quarantine.silver_events"]
        == before["quarantine.silver_events"]
    )


def test_a_retried_batch_writes_nothing_twice(spark: SparkSession, tmp_path: Path) -> None:
    config = make_config(tmp_path, gates=False)  # the gates' own retry: tests/quality
    register_lake(spark, config)
    events = generate_events(_spec(seed=5, count=300, gates=False))
    write_landing(events, events_landing(config), events_per_file=100)
    for job in ("bronze-landing", "silver", "gold"):
        with_checkpoint(config, job)
    lake = config.lake

    bronze_job = BronzeJob(config, platform().dataset("events"))
    landing = events_landing(config)
    bronze_job(landing_batch(spark, landing), 0)
    bronze_job(landing_batch(spark, landing), 0)  # the same batch again, as after a crash
    bronze = spark.read.format("delta").load(lake.table_path("bronze", "events"))
    silver_job = SilverJob(config, platform().dataset("events"))
    silver_job(bronze, 0)
    after_first = table_counts(spark, platform(spark))
    silver_job(bronze, 0)
    silver_job(bronze, 1)  # even as a new batch id, the same deliveries are not promoted again
    silver = spark.read.format("delta").load(lake.table_path("silver", "events"))
    gold_job = GoldJob(config, platform(spark).dataset("events"))
    gold_job(silver, 0)
    gold_job(silver, 0)
    gold_job(silver, 1)

    counts = table_counts(spark, platform(spark))
    for name in ("bronze.events", "silver.events"):
        assert counts[name] == after_first[name], name
    _assert_accounted(spark, events)
    _assert_gold_equals_recomputation(spark)
    log = spark.table("ops.batch_log")
    assert log.where("job = 'bronze-landing'").count() == 1
    assert log.where("job = 'silver'").count() == 2  # batch 0 once, batch 1 once
    second = log.where("job = 'silver' AND batch_id = 1").first()
    assert second is not None
    assert (second["rows_out"], second["rows_quarantined"]) == (0, 0)
    # silver's rows measured by its write (batch 0; the retry's write ran no job and was
    # measured apart, its metrics not written again), and nothing promoted in batch 1
    silver_rows = spark.table("ops.table_metrics").where("job = 'silver'")
    assert {r["batch_id"]: r["rows"] for r in silver_rows.collect()} == {
        0: counts["silver.events"],
        1: 0,
    }
    # the monitors' metrics of a retried batch are written once too
    metrics = spark.table("ops.table_metrics").groupBy("job", "batch_id", "table_name").count()
    assert_df_equality(
        metrics,
        spark.createDataFrame(
            [
                ("bronze-landing", 0, "bronze.events", 1),
                ("silver", 0, "silver.events", 1),
                ("silver", 1, "silver.events", 1),
                ("gold", 0, "gold.daily_active_users", 1),
                ("gold", 0, "gold.events_per_minute", 1),
                ("gold", 0, "gold.hourly_revenue", 1),
                ("gold", 1, "gold.daily_active_users", 1),
                ("gold", 1, "gold.events_per_minute", 1),
                ("gold", 1, "gold.hourly_revenue", 1),
            ],
            "job string, batch_id long, table_name string, count long",
        ),
        ignore_nullable=True,
        ignore_row_order=True,
    )


def test_a_late_event_updates_its_window_and_a_recomputed_window_replaces_its_rows(
    spark: SparkSession, tmp_path: Path
) -> None:
    # the late event counts in the window it belongs to; a key the window no longer has (its
    # only event erased from silver) is gone once a later batch recomputes the window; a
    # window the batch does not touch keeps its rows
    config = make_config(tmp_path, gates=False)
    register_lake(spark, config)
    minute = (datetime.now(UTC) - timedelta(hours=3)).replace(second=0, microsecond=0)
    landing = Path(events_landing(config))
    landing.mkdir(parents=True)
    (landing / "a.jsonl").write_bytes(
        event_line("e1", minute + timedelta(seconds=5), "u1", country="ES")
        + b"\n"
        + event_line("e0", minute + timedelta(seconds=10), "u0")
        + b"\n"
        + event_line("e2", minute + timedelta(minutes=20), "u2")
        + b"\n"
    )
    run_layers(spark, config)
    window = F.col("window_start") == F.lit(minute.replace(tzinfo=None))
    first = spark.table("gold.events_per_minute").where(window).orderBy("country").collect()
    assert [(r["country"], r["events"], r["users"]) for r in first] == [
        ("ES", 1, 1),
        ("PL", 1, 1),
    ]

    DeltaTable.forName(spark, "silver.events").delete("event_id = 'e1'")  # as an erasure
    (landing / "b.jsonl").write_bytes(  # 20 minutes late, for the first window
        event_line("e3", minute + timedelta(seconds=50), "u3") + b"\n"
    )
    run_layers(spark, config)
    start = minute.replace(tzinfo=None)
    expected = spark.createDataFrame(
        [(start, "PL", 2, 2), (start + timedelta(minutes=20), "PL", 1, 1)],
        "window_start timestamp, country string, events long, users long",
    )
    stored = spark.table("gold.events_per_minute").select(*expected.columns)
    assert_df_equality(stored, expected, ignore_nullable=True, ignore_row_order=True)
    after = spark.table("gold.events_per_minute").where(window).first()
    assert after is not None and after["updated_ts"] > first[1]["updated_ts"]
    _assert_gold_equals_recomputation(spark)
    newest = DeltaTable.forName(spark, "gold.events_per_minute").history(1).first()
    assert newest is not None
    assert newest["operation"] == "WRITE"  # the windows replaced, not merged
    assert "window_start" in newest["operationParameters"]["predicate"]


def test_a_silver_batch_with_nothing_refused_leaves_the_quarantine_alone(
    spark: SparkSession, tmp_path: Path
) -> None:
    config = make_config(tmp_path, gates=False)
    register_lake(spark, config)
    ts = datetime.now(UTC) - timedelta(hours=1)
    landing = Path(events_landing(config))
    landing.mkdir(parents=True)
    (landing / "a.jsonl").write_bytes(event_line("e1", ts, "u1") + b"\n")
    run_layers(spark, config, ("bronze", "silver"))
    (landing / "b.jsonl").write_bytes(  # a good event and its duplicate
        event_line("e2", ts, "u2") + b"\n" + event_line("e1", ts, "u1") + b"\n"
    )
    run_layers(spark, config, ("bronze", "silver"))

    log = spark.table("ops.batch_log").where(F.col("job") == "silver").orderBy("started_ts")
    batches = [
        (
            r["rows_in"],
            r["rows_out"],
            r["rows_quarantined"],
            sorted(t for t in r["versions_written"] if not t.startswith("ops.")),
        )
        for r in log.collect()
    ]
    assert batches == [
        (1, 1, 0, ["silver.events"]),  # nothing refused: no quarantine commit, not even empty
        (2, 1, 1, ["quarantine.silver_events", "silver.events"]),
    ]
    quarantine = spark.table("quarantine.silver_events")
    assert [(r["event_id"], r["reason"]) for r in quarantine.collect()] == [
        ("e1", "duplicate_event_id")
    ]


def test_batch_log_records_task_metrics(
    spark: SparkSession, pipeline: tuple[LakehouseConfig, list[GeneratedEvent]]
) -> None:
    from lakehouse.cost.estimate import read_current_rates
    from lakehouse.cost.rates import read_daily_cost

    config, events = pipeline
    register_lake(spark, config)
    rows = spark.table("ops.batch_log").collect()
    assert {r["job"] for r in rows} == {"bronze-landing", "silver", "gold"}
    for r in rows:
        where = f"{r['job']} batch {r['batch_id']}"
        assert r["spark_jobs"] >= 1 and r["spark_stages"] >= 1, where
        assert r["task_cpu_ms"] > 0 and r["task_run_ms"] >= r["task_cpu_ms"] // 2, where
        assert r["input_bytes"] > 0 and r["output_bytes"] > 0, where
        assert r["shuffle_read_bytes"] >= 0 and r["shuffle_write_bytes"] >= 0, where
        # every batch here read its input's files and wrote rows (tests/io/test_batch.py
        # checks the counts against the Delta log)
        assert r["files_read"] >= 1 and r["files_written"] >= 1, where
        assert "cost metrics" in r["step_ms"], where
    overhead = [r["step_ms"]["cost metrics"] for r in rows]
    print(f"cost metrics ms per batch: max {max(overhead)}, mean {sum(overhead) / len(rows):.0f}")
    # reading the metrics costs less than a tenth of the batches' time (here, with Spark
    # jobs of a few ms; on real batches far less)
    assert sum(overhead) < 0.1 * sum(r["duration_ms"] for r in rows)
    daily = {d.stream: d for d in read_daily_cost(spark, config, days=1)}
    assert daily["events/bronze-landing"].events == len(events)
    assert all(d.cpu_ms_per_million and d.cpu_ms_per_million > 0 for d in daily.values())
    rates = {r.stream: r for r in read_current_rates(spark, config, "events")}
    assert rates["events/silver"].events == len(events)
    assert rates["events/silver"].batches == sum(1 for r in rows if r["job"] == "silver")
