"""The writes of a backfill, each safe while the streams run and safe to repeat: one day of
silver (the quarantine first, then one MERGE into silver), one day of a gold table (one
MERGE), the rows its gate refuses (the table's quarantine), the gate's verdicts
(``ops.quality_results``), and the wait for a gold micro-batch in flight.

What Delta does, which this relies on (delta-spark 4.2: ``DeltaConfigs.ISOLATION_LEVEL``,
``ConflictChecker.checkForAddedFilesThatShouldHaveBeenReadByCurrentTxn`` and
``getFirstFileMatchingPartitionPredicates``; the tests check it on real tables):

- Open-source Delta has one isolation level, ``Serializable`` (``delta.isolationLevel``
  accepts no other value; every commit records it). A transaction's commit fails with
  ``ConcurrentAppendException`` when a commit made *after the snapshot it started from*
  added files that its reads would have matched: in a partitioned table, files in a
  partition it read (blind appends included; other partitions do not conflict); in an
  unpartitioned table, any file. A commit made *before* that snapshot is checked against
  nothing: the transaction simply sees it. A MERGE or a ``replaceWhere`` starts its
  snapshot when it runs, so whatever committed between a backfill's read and its write is
  invisible to conflict detection: the write itself must not depend on it.
- A blind append (the silver stream's, which reads nothing inside its transaction)
  conflicts with nothing; the commit it races is the one that fails and is retried
  (:func:`~lakehouse.io.retry.with_retries`).

Hence silver is written by a MERGE on source coordinates whose source is *every* row silver
held for the day at the version the recomputation read: matched rows are replaced by their
recomputation or deleted (refused), and a row the stream appended later has coordinates
the source lacks, so no clause touches it, whenever it committed. A row of that version
that is gone by the time the MERGE runs (an erasure) matches nothing and is not written
back. The MERGE prunes to the day's partition, so only a stream append into that partition
during the MERGE makes it fail and run again. A ``replaceWhere`` restricted to the
version's ``(_writer_id, _batch_id)`` pairs would do the same job a little faster (measured
locally on 2 cores, a day of 100,000 rows among three: 2.2 s against 2.6 s for the MERGE,
warm) but deletes by writer rather than by row, writes back rows an erasure removed
meanwhile, and needs every written row to match its predicate (not so for a row whose
recomputed event day moved).

Gold is written by a MERGE on the table's keys, restricted to the day: recomputed windows
are inserted or replace the stored ones, and stored windows of the day the recomputation
no longer has are deleted, but only rows stamped (``updated_ts``) no later than the
backfill's start: a window the gold stream wrote after that start was computed from a
silver read after it (see :mod:`lakehouse.backfill.run`) and is left to the stream. Gold
tables are unpartitioned, so any gold stream commit during the MERGE makes it fail and run
again; a backfill commit during a gold stream write makes that one run again (its
replacement of the windows, or its upsert, is retried the same way).

The gold rows the gate refuses go to the table's quarantine by a blind append (like the
gold stream's; idempotent under the backfill's writer id and the day) of the windows the
quarantine does not hold already from a backfill of the same day with the same reasons: a
backfill run again (a new id) quarantines nothing twice. Two backfills of the same day
never run at once (:mod:`lakehouse.backfill.claim`), so nothing else adds such rows
between that read and the append. The verdicts are an idempotent append under the
backfill's writer id and the table, one version per day.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import date, datetime

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from lakehouse.backfill.recompute import gold_predicate
from lakehouse.contracts.model import GoldTable
from lakehouse.errors import LakehouseError
from lakehouse.io.attempts import batch_ids
from lakehouse.io.delta import append_idempotent, merge
from lakehouse.layers.silver import COORDINATES
from lakehouse.ops import TableDef
from lakehouse.quality.gate import GateDecision
from lakehouse.quality.results import quality_rows

__all__ = [
    "BackfillError",
    "merge_gold_day",
    "merge_silver_day",
    "quarantine_gold_day",
    "record_verdicts",
    "settle_quarantine",
    "unfinished_batch",
    "wait_for_batch",
]

_KEEP = "_backfill_keep"


class BackfillError(LakehouseError):
    """A backfill cannot go on as asked."""


def _on_coordinates(extra: str) -> str:
    return " AND ".join([*(f"t.`{c}` = s.`{c}`" for c in COORDINATES), extra])


def settle_quarantine(
    quarantine: DataFrame,
    path: str,
    *,
    before: DataFrame,
    kept: DataFrame,
    refused: DataFrame,
    app_id: str,
    day: date,
) -> int | None:
    """Make the quarantine table at ``path`` (read as ``quarantine``) hold, of the day's
    deliveries (``before``: coordinates), exactly the ``refused`` ones.

    Refused deliveries it does not hold yet are appended (a blind append: it conflicts with
    no stream; idempotent under ``app_id`` and the day); kept deliveries it holds (left by
    an earlier backfill that stopped before its silver commit, under another contract) are
    deleted. A delivery it holds already stays as it is: a backfill run again after an
    interruption quarantines nothing twice. Returns the version written, None when there
    was nothing to write.
    """
    present = (
        quarantine.join(before, list(COORDINATES), "left_semi")
        .select(*COORDINATES, "quarantine_date")
        .localCheckpoint(eager=True)
    )
    version: int | None = None
    new = refused.join(present, list(COORDINATES), "left_anti")
    if not new.isEmpty():
        version = append_idempotent(new, path, app_id, day.toordinal())
    stale = present.join(kept.select(*COORDINATES), list(COORDINATES), "left_semi")
    dates = sorted({r["quarantine_date"] for r in stale.select("quarantine_date").collect()})
    if dates:
        listed = ", ".join(f"DATE'{d.isoformat()}'" for d in dates)
        condition = _on_coordinates(f"t.quarantine_date IN ({listed})")
        version = merge(
            stale,
            path,
            condition,
            lambda m: m.whenMatchedDelete(),
            what=f"backfill: quarantine of {day} in {path}",
        )
    return version


def merge_silver_day(kept: DataFrame, refused: DataFrame, path: str, day: date) -> int | None:
    """One MERGE into the silver table at ``path``: its rows of ``day`` whose coordinates are
    in ``kept`` become those rows, those in ``refused`` are deleted, no other row is touched
    (see the module docstring). Returns the version written, None when both are empty."""
    source = kept.withColumn(_KEEP, F.lit(True)).unionByName(
        refused.select(*COORDINATES).withColumn(_KEEP, F.lit(False)), allowMissingColumns=True
    )
    if source.isEmpty():
        return None
    condition = _on_coordinates(f"t.event_date = DATE'{day.isoformat()}'")
    columns: dict[str, str | Column] = {c: f"s.`{c}`" for c in kept.columns}
    return merge(
        source,
        path,
        condition,
        lambda m: m.whenMatchedUpdate(condition=f"s.`{_KEEP}`", set=columns).whenMatchedDelete(
            condition=f"NOT s.`{_KEEP}`"
        ),
        what=f"backfill: silver day {day} of {path}",
    )


def merge_gold_day(rows: DataFrame, path: str, gold: GoldTable, day: date, stamp: datetime) -> int:
    """One MERGE of a gold table's recomputed windows of ``day`` (stamped ``updated_ts =
    stamp``) into the table at ``path`` (see the module docstring): windows stamped after
    ``stamp`` are the gold stream's and are left alone."""
    on = " AND ".join(f"t.`{k}` <=> s.`{k}`" for k in gold.keys)
    ours = F.col("t.updated_ts") <= F.lit(stamp).cast("timestamp")
    return merge(
        rows,
        path,
        f"{on} AND {gold_predicate(gold, day, 't')}",
        lambda m: (
            m.whenMatchedUpdateAll(condition=ours)
            .whenNotMatchedInsertAll()
            .whenNotMatchedBySourceDelete(condition=F.expr(gold_predicate(gold, day, "t")) & ours)
        ),
        what=f"backfill: {gold.name} day {day} of {path}",
    )


def quarantine_gold_day(
    quarantine: DataFrame, path: str, rows: DataFrame, gold: GoldTable, *, app_id: str, day: date
) -> int | None:
    """Append ``rows`` (quarantine rows of ``gold``'s windows of ``day`` its gate refused) to
    the quarantine table at ``path`` (read as ``quarantine``), except the windows it holds
    already from a backfill of that day with the same reasons (see the module docstring).
    A blind append, idempotent under ``app_id`` and the day. Returns the version written,
    None when there was nothing to write."""
    held = quarantine.where(
        (F.col("_batch_id") == day.toordinal()) & F.col("_writer_id").startswith("backfill:")
    ).select(*gold.keys, "reasons")
    on = [rows[k].eqNullSafe(held[k]) for k in gold.keys] + [rows["reasons"] == held["reasons"]]
    new = rows.join(held, on, "left_anti").localCheckpoint(eager=True)
    if new.isEmpty():
        return None
    return append_idempotent(new, path, app_id, day.toordinal())


def record_verdicts(
    spark: SparkSession,
    path: str,
    decisions: Sequence[GateDecision],
    table: TableDef,
    *,
    job: str,
    writer_id: str,
    day: date,
    validated_ts: datetime,
) -> int | None:
    """Append the gate's verdicts on ``table``'s day to ``ops.quality_results`` (at
    ``path``): ``job``, ``batch_id`` the day's ordinal (the ``_batch_id`` of the rows the
    backfill writes), ``_writer_id`` the backfill's. Once per writer, table and day (an
    idempotent append). Returns the version written, None when there is no verdict."""
    if not decisions:
        return None
    rows = quality_rows(
        spark,
        job,
        day.toordinal(),
        list(decisions),
        {table.name: table},
        validated_ts=validated_ts,
        writer_id=writer_id,
    )
    return append_idempotent(rows, path, f"{writer_id}:{table.name}", day.toordinal())


def unfinished_batch(spark: SparkSession, checkpoint: str) -> int | None:
    """The newest micro-batch the stream of ``checkpoint`` planned (``offsets/<n>``) and has
    not committed (no ``commits/<n>``); None when there is none (or no stream ever ran)."""
    offsets = batch_ids(spark, f"{checkpoint.rstrip('/')}/offsets")
    if not offsets:
        return None
    newest = max(offsets)
    return None if newest in batch_ids(spark, f"{checkpoint.rstrip('/')}/commits") else newest


def wait_for_batch(
    spark: SparkSession,
    checkpoint: str,
    timeout_seconds: float,
    *,
    poll_seconds: float = 0.5,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> int | None:
    """Wait until the micro-batch the stream of ``checkpoint`` has in flight now (if any) is
    committed; return its id. :class:`BackfillError` after ``timeout_seconds``."""
    batch = unfinished_batch(spark, checkpoint)
    if batch is None or timeout_seconds <= 0:
        return batch
    deadline = clock() + timeout_seconds
    commits = f"{checkpoint.rstrip('/')}/commits"
    while batch not in batch_ids(spark, commits):
        if clock() >= deadline:
            raise BackfillError(
                f"the stream of {checkpoint} has not committed its batch {batch} after "
                f"{timeout_seconds:g} s: run the backfill again when it has; if that stream "
                "is stopped, pass --stream-wait 0 (it redoes the batch when it restarts)"
            )
        sleep(poll_seconds)
    return batch
