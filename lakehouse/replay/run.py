"""``lakehouse replay``: promote quarantined rows that pass the current contract and gates,
once, while the streams run, resumable after a crash.

The steps, each safe to repeat (a rerun after a crash anywhere repeats what is missing):

1. ``ops.replays`` gets the replay's row with status ``started`` (MERGE on the replay id):
   the first phase of a two-phase record. A later ``replay`` of the same dataset finds it and
   resumes that replay (same id, same chosen rows) instead of starting another.
2. The plan, one ``ops.replayed_rows`` row per chosen row (outcome and new reasons), is
   appended with Delta's idempotent write (``txnAppId`` = ``replay:<id>``, ``txnVersion``
   0): a repeated append writes nothing, so the plan is the first attempt's.
3. The rows the plan promotes are inserted into silver by a MERGE that inserts an event id
   only when silver has none within the dedup window, decided in the MERGE's transaction
   (an insert-only MERGE adds files and removes none, so the gold stream reads them as
   appends and recomputes their windows). A stream append that commits while the MERGE
   runs, into a partition the MERGE read, makes the MERGE conflict and retry (Delta's
   Serializable check); but the stream's appends are blind (they check nothing they read):
   a stream batch that judged a new delivery of the same event against silver before the
   MERGE committed appends it anyway, a second row of its id (documented in the README).
4. One MERGE on the quarantine by source coordinates deletes the promoted rows and gives
   the refused ones their new reasons (retried on a commit conflict).
5. ``ops.replays`` gets status ``done`` and the counts, from the plan.
"""

from __future__ import annotations

import getpass
import math
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from lakehouse.catalog import table_path
from lakehouse.config import LakehouseConfig
from lakehouse.errors import ConfigError, LakehouseError
from lakehouse.frames import local_frame
from lakehouse.io.batch import now
from lakehouse.io.delta import append_idempotent, latest_version, merge, upsert
from lakehouse.io.faults import fault_point
from lakehouse.io.silver_job import SilverJob
from lakehouse.layers.silver import COORDINATES
from lakehouse.ops.replays import REPLAYED_ROWS, REPLAYS
from lakehouse.platform import DatasetTables
from lakehouse.replay.evaluate import Evaluation, evaluate, writer_id
from lakehouse.replay.select import Selection, choose

__all__ = ["JOB", "ReplayError", "ReplayResult", "replay"]

JOB = "replay"  # the job of the fault points: replay:after_write:<table>


class ReplayError(LakehouseError):
    """A replay cannot go on as asked."""


@dataclass
class ReplayResult:
    """What a replay did (or, dry, would do)."""

    replay_id: str
    dry_run: bool
    resumed: bool
    chosen: int
    promoted: int
    refused: int
    # reason before -> (chosen, promoted, refused)
    by_reason_before: dict[str, tuple[int, int, int]] = field(default_factory=dict)
    refused_by_reason: dict[str, int] = field(default_factory=dict)  # new first reason
    silver_version: int | None = None
    quarantine_version: int | None = None


def _summary(outcomes: DataFrame) -> tuple[dict[str, tuple[int, int, int]], dict[str, int]]:
    promoted = F.col("outcome") == "promoted"
    before = {
        r["reason_before"]: (int(r["chosen"]), int(r["promoted"]), int(r["refused"]))
        for r in outcomes.groupBy("reason_before")
        .agg(
            F.count(F.lit(1)).alias("chosen"),
            F.count(F.when(promoted, 1)).alias("promoted"),
            F.count(F.when(~promoted, 1)).alias("refused"),
        )
        .collect()
    }
    refused = {
        r["reason"]: int(r["rows"])
        for r in outcomes.where(~promoted)
        .groupBy(F.get(F.col("reasons"), 0).alias("reason"))
        .agg(F.count(F.lit(1)).alias("rows"))
        .collect()
    }
    return before, refused


def _interrupted(spark: SparkSession, config: LakehouseConfig, dataset: str) -> Any:
    """The newest replay of ``dataset`` that started and never finished, or None."""
    replays = spark.read.format("delta").load(table_path(config.lake, REPLAYS))
    return (
        replays.where((F.col("dataset") == dataset) & (F.col("status") == "started"))
        .orderBy(F.col("started_ts").desc())
        .first()
    )


def _record(
    spark: SparkSession,
    config: LakehouseConfig,
    row: dict[str, Any],
) -> None:
    upsert(
        local_frame(spark, [row], REPLAYS.schema), table_path(config.lake, REPLAYS), ["replay_id"]
    )


def insert_absent(rows: DataFrame, path: str, id_field: str, window_seconds: int) -> int:
    """Insert ``rows`` into the silver table at ``path``, each only when the table has no row
    of its event id within ``window_seconds`` of its day; return the version afterwards."""
    spark = rows.sparkSession
    bounds = rows.agg(F.min("event_date").alias("lo"), F.max("event_date").alias("hi")).first()
    if bounds is None or bounds["lo"] is None:
        return latest_version(spark, path)
    days = math.ceil(window_seconds / 86400)
    lo = bounds["lo"].toordinal() - days
    hi = bounds["hi"].toordinal() + days
    first, last = (datetime.fromordinal(d).date().isoformat() for d in (lo, hi))
    condition = (
        f"t.`{id_field}` = s.`{id_field}` AND t.event_date BETWEEN DATE'{first}' AND DATE'{last}'"
    )
    return merge(
        rows,
        path,
        condition,
        lambda m: m.whenNotMatchedInsertAll(),
        what=f"replay insert into {path}",
    )


def settle_quarantine(plan: DataFrame, path: str) -> int:
    """Delete the plan's promoted rows from the quarantine at ``path`` and give its refused
    rows their new reasons (one MERGE by source coordinates); return the version after."""
    spark = plan.sparkSession
    dates = sorted(
        {r["quarantine_date"] for r in plan.select("quarantine_date").distinct().collect()}
    )
    if not dates:
        return latest_version(spark, path)
    on = " AND ".join(f"t.`{c}` = s.`{c}`" for c in COORDINATES)
    listed = ", ".join(f"DATE'{d.isoformat()}'" for d in dates)
    condition = f"{on} AND t.quarantine_date IN ({listed})"
    return merge(
        plan,
        path,
        condition,
        lambda m: m.whenMatchedDelete(condition="s.outcome = 'promoted'").whenMatchedUpdate(
            condition="s.outcome = 'refused'",
            set={"reason": "element_at(s.reasons, 1)", "reasons": "s.reasons"},
        ),
        what=f"replay settle {path}",
    )


def _start(
    spark: SparkSession, config: LakehouseConfig, job: SilverJob, selection: Selection
) -> tuple[str, datetime, DataFrame, bool]:
    """The replay to run: the interrupted one of the dataset (its id, start and chosen rows)
    or a new one; and whether it resumes."""
    dataset = job.dataset
    quarantine = spark.read.format("delta").load(table_path(config.lake, job.tables.quarantine))
    interrupted = _interrupted(spark, config, dataset.name)
    if interrupted is None:
        return uuid.uuid4().hex, now(), choose(quarantine, selection), False
    replay_id = str(interrupted["replay_id"])
    asked = Selection(
        dataset.name,
        str(interrupted["table_name"]),
        interrupted["reason_pattern"],
        interrupted["since_ts"],
        interrupted["until_ts"],
    )
    if asked.key() != selection.key():
        raise ReplayError(
            f"replay {replay_id} of {dataset.name} was interrupted; finish it first: run "
            f"lakehouse replay with its selection {asked.key()}"
        )
    if interrupted["contract_hash"] != dataset.content_hash:
        raise ReplayError(
            f"replay {replay_id} of {dataset.name} was interrupted under contract "
            f"{interrupted['contract_hash']}; the contract is now {dataset.content_hash}: "
            "restore that contract to finish it"
        )
    plan = _plan(spark, config, replay_id)
    chosen = choose(quarantine, selection)
    if not plan.isEmpty():
        chosen = quarantine.join(plan.select(*COORDINATES), list(COORDINATES), "left_semi")
    started = interrupted["started_ts"].replace(tzinfo=UTC)
    return replay_id, started, chosen, True


def _plan(spark: SparkSession, config: LakehouseConfig, replay_id: str) -> DataFrame:
    rows = spark.read.format("delta").load(table_path(config.lake, REPLAYED_ROWS))
    return rows.where(F.col("replay_id") == replay_id)


def _write_plan(
    config: LakehouseConfig, evaluation: Evaluation, dataset: str, replay_id: str, ts: datetime
) -> None:
    plan = evaluation.outcomes.select(
        F.lit(replay_id).alias("replay_id"),
        F.lit(dataset).alias("dataset"),
        *COORDINATES,
        "quarantine_date",
        "outcome",
        "reasons",
        F.lit(ts).cast("timestamp").alias("replayed_ts"),
    )
    path = table_path(config.lake, REPLAYED_ROWS)
    append_idempotent(plan, path, writer_id(replay_id), 0)
    fault_point(JOB, f"after_write:{REPLAYED_ROWS.name}", 0)


def replay(
    spark: SparkSession,
    config: LakehouseConfig,
    tables: DatasetTables,
    selection: Selection,
    *,
    dry_run: bool = False,
    requested_by: str | None = None,
) -> ReplayResult:
    """Replay the quarantined rows ``selection`` chooses (see the module docstring)."""
    if selection.dataset != tables.dataset.name:
        raise ConfigError(f"selection of {selection.dataset!r} for {tables.dataset.name!r}")
    job = SilverJob(config, tables)
    dataset = tables.dataset
    if dry_run:
        quarantine = spark.read.format("delta").load(table_path(config.lake, tables.quarantine))
        evaluation = evaluate(job, choose(quarantine, selection), "dry-run", now())
        before, refused = _summary(evaluation.outcomes)
        return _result("dry-run", True, False, before, refused)
    replay_id, started, chosen, resumed = _start(spark, config, job, selection)
    record: dict[str, Any] = {
        "replay_id": replay_id,
        "dataset": dataset.name,
        "table_name": selection.table_name,
        "reason_pattern": selection.reason_pattern,
        "since_ts": selection.since,
        "until_ts": selection.until,
        "requested_by": requested_by or getpass.getuser(),
        "contract_hash": dataset.content_hash,
        "status": "started",
        "started_ts": started,
    }
    if not resumed:
        _record(spark, config, record)
        fault_point(JOB, f"after_write:{REPLAYS.name}", 0)
    evaluation = evaluate(job, chosen, replay_id, started)
    _write_plan(config, evaluation, dataset.name, replay_id, started)
    plan = _plan(spark, config, replay_id).localCheckpoint(eager=True)
    promoted_plan = plan.where(F.col("outcome") == "promoted").select(*COORDINATES)
    silver_rows = evaluation.silver_rows.join(promoted_plan, list(COORDINATES), "left_semi")
    silver_version = insert_absent(
        silver_rows,
        table_path(config.lake, tables.silver),
        dataset.id_field,
        int(job.dedup_window.total_seconds()),
    )
    fault_point(JOB, f"after_write:{tables.silver.name}", 0)
    quarantine_version = settle_quarantine(plan, table_path(config.lake, tables.quarantine))
    fault_point(JOB, f"after_write:{tables.quarantine.name}", 0)
    before, refused = _summary(plan.withColumn("reason_before", F.lit("")))
    result = _result(replay_id, False, resumed, {}, refused)
    _, result.promoted, result.refused = before.get("", (0, 0, 0))
    result.chosen = result.promoted + result.refused
    result.by_reason_before, _ = _summary(evaluation.outcomes)
    result.silver_version, result.quarantine_version = silver_version, quarantine_version
    record.update(
        status="done",
        finished_ts=now(),
        rows_chosen=result.chosen,
        rows_promoted=result.promoted,
        rows_refused=result.refused,
        refused_by_reason=refused,
        silver_version=silver_version,
        quarantine_version=quarantine_version,
    )
    _record(spark, config, record)
    return result


def _result(
    replay_id: str,
    dry_run: bool,
    resumed: bool,
    before: dict[str, tuple[int, int, int]],
    refused: dict[str, int],
) -> ReplayResult:
    return ReplayResult(
        replay_id=replay_id,
        dry_run=dry_run,
        resumed=resumed,
        chosen=sum(c for c, _, _ in before.values()),
        promoted=sum(p for _, p, _ in before.values()),
        refused=sum(r for _, _, r in before.values()),
        by_reason_before=before,
        refused_by_reason=refused,
    )
