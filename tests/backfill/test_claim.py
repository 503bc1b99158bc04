"""Two backfills of the same dataset, layer and overlapping days never run at once: the
second is refused in one line naming the first (exit code 2), also when both claim at the
same moment (two MERGEs racing: Delta makes the second one retry and see the first); a
claim is released when its backfill ends, on an error too; an expired claim is taken over
and its holder stops before its next write; ``--break-claim`` releases one; other days,
layers and datasets are not blocked; a dry run claims nothing."""

from __future__ import annotations

import getpass
import logging
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from chispa import assert_df_equality
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

import lakehouse.backfill.claim as claim_module
import lakehouse.backfill.run as backfill_run
from lakehouse.backfill import backfill, commit
from lakehouse.backfill.claim import (
    BackfillClaimed,
    Claim,
    HeldClaim,
    break_claim,
    release_claim,
    renew_claim,
    take_claim,
)
from lakehouse.backfill.commit import BackfillError
from lakehouse.catalog import table_path
from lakehouse.cli import main
from lakehouse.config import LakehouseConfig
from lakehouse.errors import ConfigError
from lakehouse.io import delta
from lakehouse.ops import BACKFILL_CLAIMS
from lakehouse.platform import DatasetTables, load_platform
from tests.conftest import make_config, register_lake, with_checkpoint
from tests.interleave import held_inside_task
from tests.reliability.helpers import write_config

pytestmark = [
    # the waiting function's type hints: Spark checks whether it is a pandas UDF
    pytest.mark.filterwarnings("ignore:Cannot infer the eval type:UserWarning"),
]

D1, D2, D3 = date(2026, 12, 1), date(2026, 12, 2), date(2026, 12, 3)
TTL = timedelta(minutes=10)


class Lake:
    def __init__(self, spark: SparkSession, root: Path) -> None:
        self.spark = spark
        self.config: LakehouseConfig = make_config(root, gates=False, monitoring=False)
        self.toml = write_config(root, gates=False, monitoring=False)  # the same lake
        self.path = table_path(self.config.lake, BACKFILL_CLAIMS)

    @property
    def tables(self) -> DatasetTables:
        return load_platform(self.config, self.spark).dataset("events")

    def claims(self) -> DataFrame:
        return self.spark.read.format("delta").load(self.path)


@pytest.fixture(scope="module")
def module_lake(spark: SparkSession, tmp_path_factory: pytest.TempPathFactory) -> Lake:
    lake = Lake(spark, tmp_path_factory.mktemp("claims"))
    register_lake(spark, lake.config)
    with_checkpoint(lake.config, "silver")
    return lake


@pytest.fixture
def lake(spark: SparkSession, module_lake: Lake) -> Iterator[Lake]:
    """The module's lake with no claim."""
    spark.sql(f"DELETE FROM delta.`{module_lake.path}`")
    yield module_lake


def _claim(
    first: date,
    last: date,
    *,
    layer: str = "silver",
    dataset: str = "events",
    at: datetime | None = None,
    who: str = "alice",
) -> Claim:
    at = at or datetime.now(UTC)
    return Claim(uuid.uuid4().hex, dataset, layer, first, last, who, "host-a", at, at + TTL)


def _held(lake: Lake) -> list[tuple[str, str | None]]:
    """(claim id, release reason) of every claim, oldest first."""
    rows = lake.claims().orderBy("claimed_ts").select("claim_id", "release_reason").collect()
    return [(r["claim_id"], r["release_reason"]) for r in rows]


def test_an_overlapping_claim_is_refused_naming_the_holder_until_it_is_released(
    spark: SparkSession, lake: Lake
) -> None:
    first = take_claim(spark, lake.config.lake, _claim(D1, D2))
    second = _claim(D2, D3, who="bob")
    with pytest.raises(BackfillClaimed) as refused:
        take_claim(spark, lake.config.lake, second)
    message = str(refused.value)
    assert "\n" not in message
    assert message.startswith("backfill of events silver 2026-12-02..2026-12-03 refused: ")
    assert (
        f"backfill {first.claim_id} by alice on host-a holds events silver "
        "2026-12-01..2026-12-02 since " in message
    )
    assert message.endswith(f"pass --break-claim {first.claim_id}")
    release_claim(
        spark, lake.config.lake, first, by="alice@host-a", reason="finished", at=datetime.now(UTC)
    )
    take_claim(spark, lake.config.lake, second)
    assert _held(lake) == [(first.claim_id, "finished"), (second.claim_id, None)]


def test_other_days_layers_and_datasets_are_not_blocked(spark: SparkSession, lake: Lake) -> None:
    claims = [
        _claim(D1, D2),
        _claim(D3, D3),  # the next day
        _claim(D1, D2, layer="gold"),
        _claim(D1, D2, dataset="orders"),
    ]
    for claim in claims:
        take_claim(spark, lake.config.lake, claim)
    assert _held(lake) == [(c.claim_id, None) for c in claims]


def _racing_merge(
    real: Callable[..., Any], tmp: Path, slow_id: str, other: Callable[[], None]
) -> Callable[..., int]:
    """``merge`` whose MERGE for claim ``slow_id`` waits, inside its Spark task (after the
    MERGE read the table), until ``other`` (run by another thread) has returned."""
    held = False

    def merge(source: DataFrame, path: str, condition: str, clauses: Any, *, what: str) -> int:
        nonlocal held
        if slow_id not in what or held:
            return int(real(source, path, condition, clauses, what=what))
        held = True
        with held_inside_task(source, "claim_id", tmp, other) as blocked:
            return int(real(blocked, path, condition, clauses, what=what))

    return merge


def test_two_claims_at_the_same_moment_one_wins_the_other_retries_and_is_refused(
    spark: SparkSession,
    lake: Lake,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    slow, fast = _claim(D1, D1), _claim(D1, D2, who="bob")
    won: list[Claim] = []
    monkeypatch.setattr(
        claim_module,
        "merge",
        _racing_merge(
            delta.merge,
            tmp_path,
            slow.claim_id,
            lambda: won.append(take_claim(spark, lake.config.lake, fast)),
        ),
    )
    with (
        caplog.at_level(logging.WARNING, logger="lakehouse.io.retry"),
        pytest.raises(BackfillClaimed, match=f"backfill {fast.claim_id} by bob"),
    ):
        # its MERGE read the table before the other claim was committed, and commits after
        take_claim(spark, lake.config.lake, slow)
    assert won == [fast]
    conflicts = [r.getMessage() for r in caplog.records if "commit conflict" in r.getMessage()]
    assert any(f"backfill claim {slow.claim_id}" in c for c in conflicts), conflicts
    assert _held(lake) == [(fast.claim_id, None)]


def test_an_expired_claim_is_taken_over_and_its_holder_stops(
    spark: SparkSession, lake: Lake
) -> None:
    lost = _claim(D1, D2, at=datetime.now(UTC) - 2 * TTL)  # its process died long ago
    take_claim(spark, lake.config.lake, lost)
    taker = take_claim(spark, lake.config.lake, _claim(D2, D2, who="bob"))
    assert _held(lake) == [(lost.claim_id, None), (taker.claim_id, None)]
    # had it only been frozen: it cannot renew, and stops before its next write
    assert not renew_claim(spark, lake.config.lake, lost, TTL, datetime.now(UTC))
    with pytest.raises(BackfillError, match=r"expired at .*; stopped before writing day 2"):
        HeldClaim(spark, lake.config.lake, lost, TTL).check("writing day 2")


def test_a_held_claim_is_renewed_until_it_is_broken(spark: SparkSession, lake: Lake) -> None:
    held = HeldClaim(
        spark,
        lake.config.lake,
        take_claim(spark, lake.config.lake, _claim(D1, D1)),
        TTL,
        interval=0.2,
    )
    expires = held.claim.expires_ts
    held.start()
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            renewed = lake.claims().where(F.col("expires_ts") > F.lit(expires)).count()
            if renewed:
                break
            time.sleep(0.2)
        assert renewed == 1  # the heartbeat moved the expiry forward
        held.check("writing")
        broken = break_claim(
            spark,
            lake.config.lake,
            held.claim.claim_id,
            dataset="events",
            layer="silver",
            by="bob@host-b",
            at=datetime.now(UTC),
        )
        assert broken.claim_id == held.claim.claim_id
        with pytest.raises(BackfillError, match="was broken by bob@host-b; stopped before"):
            held.check("writing events silver 2026-12-01")
        assert not renew_claim(spark, lake.config.lake, held.claim, TTL, datetime.now(UTC))
    finally:
        held.release("alice@host-a", "finished")
    assert _held(lake) == [(held.claim.claim_id, "broken")]  # the breaker's release stays
    with pytest.raises(BackfillError, match=r"--break-claim nope: no claim .* live claims: none"):
        break_claim(
            spark, lake.config.lake, "nope", dataset="events", layer="silver", by="b", at=expires
        )


def _wait_for(condition: Callable[[], bool], what: str, timeout: float = 300.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not reached in {timeout} s")
        time.sleep(0.1)


class _Crash(Exception):
    pass


@pytest.mark.slow
def test_a_second_backfill_of_the_same_days_fails_fast_until_the_first_ends(
    spark: SparkSession,
    lake: Lake,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    tables = lake.tables
    real = commit.merge_silver_day
    writing, go_on = threading.Event(), threading.Event()

    def paused(*args: Any) -> Any:  # the first backfill, holding its claim, about to write
        writing.set()
        go_on.wait(timeout=300)
        return real(*args)

    monkeypatch.setattr(backfill_run, "merge_silver_day", paused)
    first: list[Any] = []
    thread = threading.Thread(
        target=lambda: first.append(
            backfill(spark, lake.config, tables, "silver", [D1, D2], requested_by="alice")
        ),
        daemon=True,
    )
    thread.start()
    cli = ["--config", str(lake.toml), "backfill", "--dataset", "events", "--layer", "silver"]
    try:
        _wait_for(writing.is_set, "the first backfill writing")
        holder = lake.claims().first()
        assert holder is not None
        capsys.readouterr()
        assert main([*cli, "--from", "2026-12-02", "--to", "2026-12-03"]) == 2
        err = capsys.readouterr().err.splitlines()
        assert len(err) == 1, err
        assert err[0].startswith(
            "lakehouse: error: backfill of events silver 2026-12-02..2026-12-03 refused: "
            f"backfill {holder['claim_id']} by alice on {holder['host']} holds events silver "
            "2026-12-01..2026-12-02 since "
        )
        # a dry run claims nothing, and other days are not blocked
        backfill(spark, lake.config, tables, "silver", [D2], dry_run=True)
        monkeypatch.setattr(backfill_run, "merge_silver_day", real)
        backfill(spark, lake.config, tables, "silver", [D3], requested_by="carol")
    finally:
        go_on.set()
        thread.join(timeout=300)
    assert [r.day for r in first[0]] == [D1, D2]
    # the first one ended and released its claim: the same days can be backfilled now
    assert main([*cli, "--from", "2026-12-02", "--to", "2026-12-03"]) == 0
    claims = lake.claims().select("requested_by", "first_day", "last_day", "release_reason")
    expected = spark.createDataFrame(
        [
            ("alice", D1, D2, "finished"),
            ("carol", D3, D3, "finished"),
            (getpass.getuser(), D2, D3, "finished"),  # the command line's
        ],
        "requested_by string, first_day date, last_day date, release_reason string",
    )
    assert_df_equality(claims, expected, ignore_row_order=True, ignore_nullable=True)


@pytest.mark.slow
def test_a_failed_backfill_releases_its_claim_and_a_stale_claim_can_be_broken(
    spark: SparkSession, lake: Lake, monkeypatch: pytest.MonkeyPatch
) -> None:
    tables = lake.tables
    monkeypatch.setattr(backfill_run, "merge_silver_day", _raise)
    with pytest.raises(_Crash):
        backfill(spark, lake.config, tables, "silver", [D1], requested_by="dave")
    monkeypatch.undo()
    # a claim whose process is gone: refused, then broken on purpose
    stale = take_claim(spark, lake.config.lake, _claim(D1, D2, who="eve"))
    with pytest.raises(BackfillClaimed, match=f"--break-claim {stale.claim_id}"):
        backfill(spark, lake.config, tables, "silver", [D2], requested_by="frank")
    backfill(
        spark, lake.config, tables, "silver", [D2], requested_by="frank", break_claim=stale.claim_id
    )
    claims = lake.claims().select("requested_by", "release_reason", "released_by")
    expected = spark.createDataFrame(
        [
            ("dave", "failed", f"dave@{socket.gethostname()}"),
            ("eve", "broken", f"frank@{socket.gethostname()}"),
            ("frank", "finished", f"frank@{socket.gethostname()}"),
        ],
        "requested_by string, release_reason string, released_by string",
    )
    assert_df_equality(claims, expected, ignore_row_order=True, ignore_nullable=True)
    with pytest.raises(ConfigError, match="a dry run takes no claim"):
        backfill(spark, lake.config, tables, "silver", [D1], dry_run=True, break_claim="x")


def _raise(*_: object) -> None:
    raise _Crash
