"""A replay killed with SIGKILL (a real ``lakehouse replay`` subprocess) right after it
inserted into silver, run again: it resumes the same replay, promotes each fixed row once,
settles the quarantine and records one finished replay."""

from __future__ import annotations

from pathlib import Path

import pytest
from chispa import assert_df_equality
from pyspark.sql import SparkSession

from lakehouse.platform import load_platform
from lakehouse.replay import parse_selection, replay
from tests.conftest import make_config
from tests.reliability.helpers import run_cli, write_config
from tests.replay.scenario import INVALID, quarantine_under_narrow_contract

pytestmark = pytest.mark.slow

REPLAY = ["replay", "--table", "quarantine.silver_events", "--reason", "^invalid_value"]


def test_replay_killed_after_the_silver_insert_resumes_and_promotes_once(
    spark: SparkSession, tmp_path: Path
) -> None:
    toml = write_config(tmp_path, gates=False, monitoring=False)
    config = make_config(tmp_path, gates=False, monitoring=False)  # the same lake
    stream = quarantine_under_narrow_contract(spark, config, tmp_path)
    crash = {"LAKEHOUSE_CRASH_AT": "replay:after_write:silver.events"}
    killed = run_cli(["--config", str(toml), *REPLAY], env=crash)
    assert killed.killed, killed.stderr[-2000:]
    # killed between the steps: silver has the promoted rows, quarantine does not know yet
    started = spark.table("ops.replays").select("replay_id", "status").collect()
    assert [r["status"] for r in started] == ["started"]
    assert spark.table("silver.events").count() == 3
    assert spark.table("quarantine.silver_events").count() == 5

    platform = load_platform(config)
    selection = parse_selection(platform, "quarantine.silver_events", reason="^invalid_value")
    again = replay(spark, config, platform.dataset("events"), selection)
    assert again.resumed and again.replay_id == started[0]["replay_id"]
    assert (again.chosen, again.promoted, again.refused) == (4, 2, 2)
    assert_df_equality(
        spark.table("silver.events").select("event_id", "_offset", "_writer_id"),
        spark.createDataFrame(
            [
                ("ok-1", 0, stream),
                ("fixed-1", 1, f"replay:{again.replay_id}"),
                ("fixed-2", 2, f"replay:{again.replay_id}"),
            ],
            "event_id string, _offset long, _writer_id string",
        ),
        ignore_row_order=True,
        ignore_nullable=True,
    )
    assert_df_equality(
        spark.table("quarantine.silver_events").select("_offset", "reason"),
        spark.createDataFrame(
            [(3, "duplicate_event_id"), (4, INVALID), (5, "malformed_json")],
            "_offset long, reason string",
        ),
        ignore_row_order=True,
        ignore_nullable=True,
    )
    assert_df_equality(
        spark.table("ops.replays").select("replay_id", "status", "rows_promoted"),
        spark.createDataFrame(
            [(again.replay_id, "done", 2)], "replay_id string, status string, rows_promoted long"
        ),
        ignore_nullable=True,
    )
    assert spark.table("ops.replayed_rows").count() == 4  # the plan was written once
