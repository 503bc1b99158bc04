"""``lakehouse replay`` after a contract fix: a contract copy whose ``event_type`` values were
too narrow quarantines good events; with the fixed contract a replay promotes exactly those,
once (a second replay promotes nothing), a dry run writes nothing, and the promoted rows
reach a stream reading silver as appends."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from chispa import assert_df_equality
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from lakehouse.catalog import table_path
from lakehouse.config import LakehouseConfig
from lakehouse.io.delta import latest_version
from lakehouse.ops.replays import REPLAYS
from lakehouse.platform import load_platform
from lakehouse.replay import parse_selection, replay
from tests.conftest import make_config
from tests.replay.scenario import INVALID, quarantine_under_narrow_contract


@pytest.fixture(scope="module")
def lake(
    spark: SparkSession, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LakehouseConfig]:
    """The silver stream's batch ran under the narrow contract."""
    root = tmp_path_factory.mktemp("replay")
    # gates and monitors off: the fix is the contract's (parsing); each gate costs seconds
    config = make_config(root, gates=False, monitoring=False)
    quarantine_under_narrow_contract(spark, config, root)
    yield config


def _quarantine(spark: SparkSession) -> DataFrame:
    return spark.table("quarantine.silver_events").select(
        "_offset", "event_id", "reason", "reasons"
    )


def _versions(spark: SparkSession, config: LakehouseConfig) -> list[int]:
    platform = load_platform(config)
    tables = platform.dataset("events")
    return [
        latest_version(spark, table_path(config.lake, t))
        for t in (tables.silver, tables.quarantine, REPLAYS)
    ]


def test_replay_after_a_contract_fix_promotes_the_fixed_rows_once(
    spark: SparkSession, lake: LakehouseConfig
) -> None:
    platform = load_platform(lake)
    tables = platform.dataset("events")
    quarantined = spark.createDataFrame(
        [
            (1, "fixed-1", INVALID, [INVALID]),
            (2, "fixed-2", INVALID, [INVALID]),
            (3, "ok-1", INVALID, [INVALID]),
            (4, "bad-1", INVALID, [INVALID]),
            (5, None, "malformed_json", ["malformed_json"]),
        ],
        "_offset long, event_id string, reason string, reasons array<string>",
    )
    assert_df_equality(_quarantine(spark), quarantined, ignore_row_order=True, ignore_nullable=True)
    selection = parse_selection(platform, "quarantine.silver_events", reason="^invalid_value")

    # a dry run says what would happen and writes nothing
    before = _versions(spark, lake)
    dry = replay(spark, lake, tables, selection, dry_run=True)
    assert (dry.chosen, dry.promoted, dry.refused) == (4, 2, 2)
    assert dry.by_reason_before == {INVALID: (4, 2, 2)}
    assert dry.refused_by_reason == {"duplicate_event_id": 1, INVALID: 1}
    assert _versions(spark, lake) == before

    silver_version = before[0]
    done = replay(spark, lake, tables, selection, requested_by="tester")
    assert (done.chosen, done.promoted, done.refused, done.resumed) == (4, 2, 2, False)
    writer = f"replay:{done.replay_id}"
    silver = spark.table("silver.events").select("event_id", "event_type", "_offset", "_writer_id")
    assert_df_equality(
        silver.where(F.col("_writer_id").startswith("replay:")),
        spark.createDataFrame(
            [("fixed-1", "signup", 1, writer), ("fixed-2", "login", 2, writer)],
            "event_id string, event_type string, _offset long, _writer_id string",
        ),
        ignore_row_order=True,
        ignore_nullable=True,
    )
    assert silver.count() == 3  # ok-1 from the stream, the two fixed rows
    # the promoted rows left quarantine; the others have their new reasons
    assert_df_equality(
        _quarantine(spark),
        spark.createDataFrame(
            [
                (3, "ok-1", "duplicate_event_id", ["duplicate_event_id"]),
                (4, "bad-1", INVALID, [INVALID]),
                (5, None, "malformed_json", ["malformed_json"]),
            ],
            "_offset long, event_id string, reason string, reasons array<string>",
        ),
        ignore_row_order=True,
        ignore_nullable=True,
    )
    marks = spark.table("ops.replayed_rows").select("replay_id", "_offset", "outcome", "reasons")
    assert_df_equality(
        marks,
        spark.createDataFrame(
            [
                (done.replay_id, 1, "promoted", None),
                (done.replay_id, 2, "promoted", None),
                (done.replay_id, 3, "refused", ["duplicate_event_id"]),
                (done.replay_id, 4, "refused", [INVALID]),
            ],
            "replay_id string, _offset long, outcome string, reasons array<string>",
        ),
        ignore_row_order=True,
        ignore_nullable=True,
    )
    # the insert-only MERGE is an append to a stream reading silver (skipChangeCommits)
    stream = (
        spark.readStream.format("delta")
        .option("skipChangeCommits", "true")
        .option("startingVersion", silver_version + 1)
        .load(table_path(lake.lake, tables.silver))
        .writeStream.format("memory")
        .queryName("replayed_silver")
        .trigger(availableNow=True)
        .start()
    )
    stream.awaitTermination()
    assert sorted(r["event_id"] for r in spark.table("replayed_silver").collect()) == [
        "fixed-1",
        "fixed-2",
    ]

    # the same selection again: the promoted rows are gone; ok-1's reason is a duplicate now
    again = replay(spark, lake, tables, selection, requested_by="tester")
    assert (again.chosen, again.promoted, again.refused) == (1, 0, 1)
    assert spark.table("silver.events").count() == 3
    log = (
        spark.table("ops.replays")
        .orderBy(F.col("rows_chosen").desc())
        .select(
            "replay_id",
            "requested_by",
            "status",
            "rows_chosen",
            "rows_promoted",
            "rows_refused",
            "refused_by_reason",
            "reason_pattern",
        )
    )
    assert_df_equality(
        log,
        spark.createDataFrame(
            [
                (
                    done.replay_id,
                    "tester",
                    "done",
                    4,
                    2,
                    2,
                    {"duplicate_event_id": 1, INVALID: 1},
                    "^invalid_value",
                ),
                (
                    again.replay_id,
                    "tester",
                    "done",
                    1,
                    0,
                    1,
                    {INVALID: 1},
                    "^invalid_value",
                ),
            ],
            "replay_id string, requested_by string, status string, rows_chosen long, "
            "rows_promoted long, rows_refused long, refused_by_reason map<string,long>, "
            "reason_pattern string",
        ),
        ignore_nullable=True,
    )
