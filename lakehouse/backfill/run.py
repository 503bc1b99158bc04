"""``lakehouse backfill``: recompute a date range of silver or gold from the layer below and
write each day in place, while the streams run; ``ops.backfills`` gets one row per table
and day.

**Silver**, per day D: pin silver's newest version V and recompute the rows silver@V holds
for D from their bronze deliveries with the current contract
(:func:`~lakehouse.backfill.recompute.silver_day`). Then, in this order:

1. the quarantine gets the deliveries now refused, with their reasons, unless it holds them
   already (:func:`~lakehouse.backfill.commit.settle_quarantine`): a backfill run again
   after an interruption quarantines nothing twice;
2. one MERGE on source coordinates replaces those rows of D in silver by their
   recomputation and deletes the refused ones
   (:func:`~lakehouse.backfill.commit.merge_silver_day`).

Between 1 and 2 a refused delivery is in both tables; after 2 every delivery of silver@V's
day is in silver or in the quarantine exactly once (a backfill that stopped between the two
is finished by running it again). Rows the silver stream appends after V are not in the
MERGE's source and are never touched, whether they commit before the MERGE starts or while
it runs (then the MERGE fails on the appended partition and is retried). The backfill only
keeps or removes event ids silver@V had for D, so a stream batch deciding dedup on silver
before or after the commit never makes a second row of an event id (a new delivery of an
id the backfill removed is refused as ``duplicate_event_id`` if the stream read silver
before the commit; replay re-judges it). A day the bronze->silver suite blocks (a critical
table-level failure) is not written; rows it refuses (a critical row-level failure) are
among those step 1 quarantines.

**Gold**, for the whole range: take the start time T, wait until the gold stream's
micro-batch in flight at T (if any) has committed (its checkpoint), then pin silver's
newest version X. Per table and day, recompute the day's windows from silver@X, run the
table's suite (the gold stream's gate; a day failing a critical expectation is not written
and is recorded as ``refused`` with the expectations), then one MERGE
(:func:`~lakehouse.backfill.commit.merge_gold_day`) that writes windows stamped T and only
replaces or deletes rows stamped at or before T. A gold batch that started before T has
committed before X was read, so the backfill's values are at least as new; one that started
after T read silver after T, after any silver backfill that finished before this one began,
and is kept. Run a gold backfill after the silver backfill it follows has finished. The
rows a refused day's gate refuses go to the table's gold quarantine with their reasons, as
the gold stream's gate sends them, unless the quarantine holds them already from a backfill
of that day (:func:`~lakehouse.backfill.commit.quarantine_gold_day`): run again after an
interruption, a backfill quarantines nothing twice.

**Verdicts**: every gate's verdicts on a table's day go to ``ops.quality_results`` as the
streams' do, with ``job = backfill``, ``batch_id`` the day's ordinal (the ``_batch_id`` of
the rows the backfill writes) and ``_writer_id = backfill:<id>``, once per run, table and
day (:func:`~lakehouse.backfill.commit.record_verdicts`); a run records its own verdicts.

**One at a time**: unless dry, a backfill first claims its dataset's layer for its days in
``ops.backfill_claims`` (:mod:`lakehouse.backfill.claim`: one Delta MERGE, serialised by
Delta's optimistic concurrency across processes and hosts). A second backfill of
overlapping days of the same dataset and layer stops at once
(:class:`~lakehouse.backfill.claim.BackfillClaimed`, one line naming the holder: exit code
2). The claim is renewed by a heartbeat while the backfill runs, checked before each write
(a lost claim stops the backfill), and released when it ends, on an error too; a killed
backfill's claim expires after ``backfill.claim_ttl``, or is released by ``--break-claim``.

The streams read with ``skipChangeCommits``: they skip a backfill's commits (which remove
files), so a silver backfill reaches gold only through a gold backfill. Restart the streams
with the fix first, then backfill: a stream still running the old contract or gold SQL
keeps writing what it computes. A dry run reads and counts, writes nothing and claims
nothing.
"""

from __future__ import annotations

import dataclasses
import getpass
import socket
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from pyspark.sql import SparkSession

from lakehouse.backfill.claim import Claim, HeldClaim, claimed
from lakehouse.backfill.commit import (
    BackfillError,
    merge_gold_day,
    merge_silver_day,
    quarantine_gold_day,
    record_verdicts,
    settle_quarantine,
    wait_for_batch,
)
from lakehouse.backfill.recompute import (
    gold_day,
    gold_predicate,
    read_silver,
    silver_day,
)
from lakehouse.catalog import table_path
from lakehouse.config import LakehouseConfig
from lakehouse.errors import ConfigError
from lakehouse.frames import local_frame
from lakehouse.io.batch import now
from lakehouse.io.delta import latest_version
from lakehouse.io.faults import fault_point
from lakehouse.io.gold_job import GoldJob
from lakehouse.io.silver_job import SilverJob
from lakehouse.ops import QUALITY_RESULTS, TableDef
from lakehouse.ops.backfills import BACKFILLS
from lakehouse.platform import DatasetTables
from lakehouse.quality.gate import GateDecision

__all__ = [
    "JOB",
    "MAX_DAYS",
    "STREAM_WAIT_SECONDS",
    "BackfillError",
    "DayResult",
    "backfill",
    "parse_range",
    "refused_message",
]

JOB = "backfill"  # the job of the fault points (backfill:after_write:<table>) and verdicts
MAX_DAYS = 400
STREAM_WAIT_SECONDS = 300.0
DONE, REFUSED = "done", "refused"


@dataclass(frozen=True)
class DayResult:
    """What a backfill did (or, dry, would do) to one table's day."""

    table: str
    day: date
    rows_before: int
    rows_after: int
    version: int | None  # None in a dry run, or when there was nothing to write
    status: str = DONE  # done, or refused: nothing written (see reason)
    reason: str | None = None
    rows_quarantined: int = 0  # rows of the day the recomputation refuses: to the quarantine
    version_read: int | None = None  # the silver version the day was recomputed from


def parse_range(start: str, end: str) -> list[date]:
    """The days from ``start`` to ``end`` (ISO dates, both included)."""
    try:
        first, last = date.fromisoformat(start), date.fromisoformat(end)
    except ValueError:
        raise ConfigError(
            f"--from {start} / --to {end}: write ISO dates, e.g. 2026-12-01"
        ) from None
    if last < first:
        raise ConfigError(f"--to {end} is before --from {start}")
    count = (last - first).days + 1
    if count > MAX_DAYS:
        raise ConfigError(f"--from {start} --to {end} spans {count} days; at most {MAX_DAYS}")
    return [first + timedelta(days=i) for i in range(count)]


def _lenient(config: LakehouseConfig) -> LakehouseConfig:
    """``config`` with the strict gate off: a backfill refuses a day, it does not stop."""
    return dataclasses.replace(config, quality=dataclasses.replace(config.quality, strict=False))


@dataclass(frozen=True)
class _Run:
    spark: SparkSession
    config: LakehouseConfig
    tables: DatasetTables
    backfill_id: str
    started: datetime
    requested_by: str
    dry_run: bool
    claim: HeldClaim | None = None

    @property
    def writer(self) -> str:
        return f"backfill:{self.backfill_id}"

    def check_claim(self, table: str, day: date) -> None:
        """Stop (:class:`BackfillError`) before a write when the claim is lost."""
        if self.claim is not None:
            self.claim.check(f"writing {table} {day}")

    def verdicts(self, table: TableDef, day: date, decisions: Sequence[GateDecision]) -> None:
        """The gate's verdicts on ``table``'s ``day``, to ``ops.quality_results``."""
        record_verdicts(
            self.spark,
            table_path(self.config.lake, QUALITY_RESULTS),
            decisions,
            table,
            job=JOB,
            writer_id=self.writer,
            day=day,
            validated_ts=now(),
        )

    def record(self, result: DayResult, quarantine_version: int | None = None) -> None:
        row: dict[str, Any] = {
            "backfill_id": self.backfill_id,
            "dataset": self.tables.dataset.name,
            "table_name": result.table,
            "day": result.day,
            "requested_by": self.requested_by,
            "contract_hash": self.tables.dataset.content_hash,
            "rows_before": result.rows_before,
            "rows_after": result.rows_after,
            "version_written": result.version,
            "finished_ts": now(),
            "status": result.status,
            "reason": result.reason,
            "rows_quarantined": result.rows_quarantined,
            "version_read": result.version_read,
            "quarantine_version": quarantine_version,
        }
        frame = local_frame(self.spark, [row], BACKFILLS.schema)
        frame.write.format("delta").mode("append").save(table_path(self.config.lake, BACKFILLS))


def _silver(run: _Run, days: list[date]) -> Iterator[DayResult]:
    spark, tables = run.spark, run.tables
    job = SilverJob(_lenient(run.config), tables)
    silver_path, quarantine_path = job.path(tables.silver), job.path(tables.quarantine)
    for day in days:
        version = latest_version(spark, silver_path)
        recomputed = silver_day(
            job, read_silver(spark, silver_path, version), day, run.writer, run.started
        )
        before = recomputed.before.localCheckpoint(eager=True)
        kept = recomputed.kept.localCheckpoint(eager=True)
        refused = recomputed.refused.localCheckpoint(eager=True)
        rows_before, rows_refused = before.count(), refused.count()
        result = DayResult(
            tables.silver.name,
            day,
            rows_before,
            rows_before - rows_refused,  # rows without a bronze delivery stay as they are
            None,
            rows_quarantined=rows_refused,
            version_read=version,
        )
        if recomputed.blocked:
            result = dataclasses.replace(
                result, status=REFUSED, reason=recomputed.blocked, rows_after=rows_before
            )
        if run.dry_run:
            yield result
            continue
        run.check_claim(tables.silver.name, day)
        if result.status == REFUSED:
            run.verdicts(tables.silver, day, recomputed.decisions)
            run.record(result)
            yield result
            continue
        quarantine = spark.read.format("delta").load(quarantine_path)
        quarantine_version = settle_quarantine(
            quarantine,
            quarantine_path,
            before=before,
            kept=kept,
            refused=refused,
            app_id=run.writer,
            day=day,
        )
        fault_point(JOB, f"after_write:{tables.quarantine.name}", day.toordinal())
        written = merge_silver_day(kept, refused, silver_path, day)
        fault_point(JOB, f"after_write:{tables.silver.name}", day.toordinal())
        run.verdicts(tables.silver, day, recomputed.decisions)
        result = dataclasses.replace(result, version=written)
        run.record(result, quarantine_version)
        yield result


def _gold(run: _Run, days: list[date], stream_wait_seconds: float) -> Iterator[DayResult]:
    spark, tables = run.spark, run.tables
    job = GoldJob(_lenient(run.config), tables)
    if not run.dry_run:
        wait_for_batch(spark, job.checkpoint, stream_wait_seconds)
    silver_path = job.path(tables.silver)
    version = latest_version(spark, silver_path)
    silver = read_silver(spark, silver_path, version)
    for gold, table, quarantine_table in tables.gold:
        path = job.path(table)
        for day in days:
            recomputed = gold_day(
                job,
                silver,
                gold=gold,
                table=table,
                day=day,
                stamp=run.started,
                writer_id=run.writer,
            )
            rows_before = spark.read.format("delta").load(path).where(gold_predicate(gold, day))
            result = DayResult(
                table.name,
                day,
                rows_before.count(),
                recomputed.rows.count(),
                None,
                rows_quarantined=recomputed.quarantine.count(),
                version_read=version,
            )
            if recomputed.refused:
                reason = f"critical expectation(s) failed: {recomputed.refused}"
                result = dataclasses.replace(
                    result, status=REFUSED, reason=reason, rows_after=result.rows_before
                )
            if run.dry_run:
                yield result
                continue
            run.check_claim(table.name, day)
            # the rows the gate refuses, as the gold stream quarantines them (only a refused
            # day has any: the gate refuses rows for critical failures only)
            quarantine_path = job.path(quarantine_table)
            quarantined = quarantine_gold_day(
                spark.read.format("delta").load(quarantine_path),
                quarantine_path,
                recomputed.quarantine,
                gold,
                app_id=run.writer,
                day=day,
            )
            if quarantined is not None:
                fault_point(JOB, f"after_write:{quarantine_table.name}", day.toordinal())
            if result.status != REFUSED:
                written = merge_gold_day(recomputed.rows, path, gold, day, run.started)
                fault_point(JOB, f"after_write:{table.name}", day.toordinal())
                result = dataclasses.replace(result, version=written)
            run.verdicts(table, day, recomputed.decisions)
            run.record(result, quarantined)
            yield result


def backfill(
    spark: SparkSession,
    config: LakehouseConfig,
    tables: DatasetTables,
    layer: str,
    days: list[date],
    *,
    dry_run: bool = False,
    requested_by: str | None = None,
    stream_wait_seconds: float = STREAM_WAIT_SECONDS,
    break_claim: str | None = None,
) -> list[DayResult]:
    """Recompute ``days`` of ``layer`` (silver or gold) of a dataset (see the module
    docstring). ``stream_wait_seconds`` bounds the wait for the gold stream's batch in
    flight (0: do not wait). Unless ``dry_run``, the days are claimed first
    (:mod:`lakehouse.backfill.claim`; :class:`~lakehouse.backfill.claim.BackfillClaimed`
    when another backfill holds some of them), after releasing the claim ``break_claim``."""
    if layer not in ("silver", "gold"):
        raise ConfigError(f"--layer: {layer!r}; choose silver or gold")
    if not days:
        raise ConfigError("backfill: no day to recompute; give --from and --to")
    if dry_run and break_claim is not None:
        raise ConfigError(
            f"--break-claim {break_claim} with --dry-run: a dry run takes no claim and breaks "
            "none; drop one of them"
        )
    user = requested_by or getpass.getuser()
    run = _Run(spark, config, tables, uuid.uuid4().hex, now(), user, dry_run)
    if dry_run:
        return _results(run, layer, days, stream_wait_seconds)
    host = socket.gethostname()
    ttl = timedelta(seconds=config.backfill.claim_ttl_seconds)
    claim = Claim(
        run.backfill_id,
        tables.dataset.name,
        layer,
        min(days),
        max(days),
        user,
        host,
        run.started,
        run.started + ttl,
    )
    with claimed(spark, config.lake, claim, ttl, by=f"{user}@{host}", break_id=break_claim) as held:
        return _results(dataclasses.replace(run, claim=held), layer, days, stream_wait_seconds)


def _results(
    run: _Run, layer: str, days: list[date], stream_wait_seconds: float
) -> list[DayResult]:
    if layer == "silver":
        return list(_silver(run, days))
    return list(_gold(run, days, stream_wait_seconds))


def refused_message(result: DayResult) -> str:
    """One line saying why a day was not written."""
    return f"{result.table} {result.day}: not written: {result.reason}"
