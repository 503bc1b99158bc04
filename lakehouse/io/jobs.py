"""The three streaming jobs: what each reads, what each micro-batch writes, and the batch log.

Every micro-batch writes all its tables with Delta idempotent appends keyed by the stream
identity and the batch id, or with upserts of recomputed rows, so a retried batch writes
nothing twice. The transformations themselves live in :mod:`lakehouse.layers`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.streaming.query import StreamingQuery

from lakehouse.catalog import table_path
from lakehouse.config import LakehouseConfig, TriggerConfig
from lakehouse.datasets import (
    BATCH_LOG,
    BRONZE_EVENTS,
    GOLD_QUARANTINE,
    QUALITY_RESULTS,
    QUARANTINE_SILVER_EVENTS,
    SILVER_EVENTS,
    TableDef,
)
from lakehouse.errors import ConfigError, SourceError
from lakehouse.io.delta import append_idempotent, upsert
from lakehouse.io.streams import StreamIdentity, read_delta_stream, start_stream
from lakehouse.layers.bronze import to_bronze
from lakehouse.layers.gold import AGGREGATES, Aggregate, to_gold_quarantine
from lakehouse.layers.silver import (
    COORDINATES,
    DEDUP_COL,
    REASONS_COL,
    SilverRules,
    classify_duplicates,
    parse_events,
    to_quarantine,
    to_silver,
)
from lakehouse.quality.gate import GATE_REASONS, GateDecision, apply_gate, decide
from lakehouse.quality.parameters import suite_parameters
from lakehouse.quality.results import quality_rows
from lakehouse.quality.suites import SuiteFile, find_suite, load_suite
from lakehouse.quality.validate import validate_dataframe
from lakehouse.sources.landing import landing_to_envelope, read_landing_stream

__all__ = ["JOBS", "BatchStats", "start_job"]

MAX_OFFSET_ENTRIES = 50
SILVER_SUITE = "bronze_to_silver"


@dataclass
class BatchStats:
    """What one micro-batch did, for the batch log."""

    rows_in: int = 0
    rows_out: int = 0
    rows_quarantined: int = 0
    blocked_reasons: list[str] = field(default_factory=list)
    source_offsets: str | None = None
    versions_written: dict[str, int] = field(default_factory=dict)
    step_ms: dict[str, int] = field(default_factory=dict)
    decisions: list[GateDecision] = field(default_factory=list)

    @property
    def status(self) -> str:
        """ok, quarantined_rows (some rows refused) or blocked (a gate held the batch back)."""
        if self.blocked_reasons:
            return "blocked"
        return "quarantined_rows" if self.rows_quarantined else "ok"


def _now() -> datetime:
    return datetime.now(UTC)


@contextmanager
def _timed(stats: BatchStats, step: str) -> Iterator[None]:
    """Add the milliseconds the block takes to ``stats.step_ms[step]``."""
    started = time.perf_counter()
    try:
        yield
    finally:
        elapsed = int((time.perf_counter() - started) * 1000)
        stats.step_ms[step] = stats.step_ms.get(step, 0) + elapsed


def _offset_ranges(df: DataFrame, source: str, partition: str, offset: str) -> str | None:
    """JSON of the first and last offset read per source partition (at most 50 entries)."""
    rows = (
        df.groupBy(source, partition)
        .agg(F.min(offset).alias("first"), F.max(offset).alias("last"))
        .orderBy(source, partition)
        .limit(MAX_OFFSET_ENTRIES + 1)
        .collect()
    )
    if not rows:
        return None
    ranges = {
        f"{r[source]}/{r[partition]}": [r["first"], r["last"]] for r in rows[:MAX_OFFSET_ENTRIES]
    }
    if len(rows) > MAX_OFFSET_ENTRIES:
        ranges["..."] = []
    return json.dumps(ranges, sort_keys=True)


class _BatchWriter:
    """Shared bookkeeping of a job's micro-batches: identity, paths, batch log."""

    def __init__(self, config: LakehouseConfig, job: str) -> None:
        self.config = config
        self.job = job
        self.identity = StreamIdentity(job, config.lake.checkpoint(job))
        self._suites: dict[str, SuiteFile] = {}

    def path(self, table: TableDef) -> str:
        return table_path(self.config.lake, table)

    def append(self, df: DataFrame, table: TableDef, batch_id: int, stats: BatchStats) -> None:
        app_id = self.identity.app_id(df.sparkSession)
        with _timed(stats, f"write {table.name}"):
            stats.versions_written[table.name] = append_idempotent(
                df, self.path(table), app_id, batch_id
            )

    def suite(self, name: str) -> SuiteFile | None:
        """The suite of a promotion, loaded once; None when the gates are off."""
        if not self.config.quality.enabled:
            return None
        if name not in self._suites:
            folder = Path(self.config.quality.suite_dir)
            self._suites[name] = load_suite(find_suite(name, folder))
        return self._suites[name]

    def gate(
        self,
        df: DataFrame,
        *,
        table: TableDef,
        suite_name: str,
        keys: Sequence[str],
        batch_id: int,
        stats: BatchStats,
        parameters: dict[str, Any] | None = None,
        split: DataFrame | None = None,
    ) -> tuple[DataFrame, DataFrame | None]:
        """Validate ``df`` with the promotion's suite and split it (or ``split``, rows with
        the same keys and more columns): rows to promote, and rows to quarantine with
        ``_gate_reasons`` (None when the gates are off)."""
        split = df if split is None else split
        suite = self.suite(suite_name)
        if suite is None:
            return split, None
        df = df.persist()  # GE computes each metric as its own Spark job
        try:
            with _timed(stats, f"gate {table.name}"):
                outcomes = validate_dataframe(df, suite, parameters, index_columns=keys)
        finally:
            df.unpersist()
        decision = decide(table.name, outcomes)
        stats.decisions.append(decision)
        if self.config.quality.strict:
            decision.check_strict(batch_id)
        if decision.block_reason:
            stats.blocked_reasons.append(f"{table.name}: {decision.block_reason}")
        return apply_gate(split, decision, keys)

    def log(self, spark: SparkSession, batch_id: int, started: datetime, stats: BatchStats) -> None:
        writer_id = self.identity.app_id(spark)
        if stats.decisions:
            results = quality_rows(
                spark,
                self.job,
                batch_id,
                stats.decisions,
                validated_ts=started,
                writer_id=writer_id,
            )
            self.append(results, QUALITY_RESULTS, batch_id, stats)
        finished = _now()
        row = {
            "job": self.job,
            "batch_id": batch_id,
            "started_ts": started,
            "finished_ts": finished,
            "duration_ms": int((finished - started).total_seconds() * 1000),
            "rows_in": stats.rows_in,
            "rows_out": stats.rows_out,
            "rows_quarantined": stats.rows_quarantined,
            "status": stats.status,
            "blocked_reason": "; ".join(stats.blocked_reasons) or None,
            "source_offsets": stats.source_offsets,
            "versions_written": stats.versions_written,
            "step_ms": stats.step_ms,
        }
        df = spark.createDataFrame([row], BATCH_LOG.schema)
        append_idempotent(df, self.path(BATCH_LOG), writer_id, batch_id)


class BronzeJob(_BatchWriter):
    """Source -> bronze.events: every received event, with its coordinates, append only."""

    def __init__(self, config: LakehouseConfig) -> None:
        super().__init__(config, "bronze")

    def read(self, spark: SparkSession) -> DataFrame:
        if self.config.source.type != "landing":
            raise SourceError(
                f"source.type {self.config.source.type!r} has no reader in this build; "
                "use 'landing'"
            )
        return read_landing_stream(spark, self.config.source)

    def __call__(self, lines: DataFrame, batch_id: int) -> None:
        started = _now()
        bronze = landing_to_envelope(lines).transform(to_bronze(batch_id, started)).persist()
        try:
            stats = BatchStats(rows_in=bronze.count())
            stats.rows_out = stats.rows_in
            stats.source_offsets = _offset_ranges(bronze, "source", "partition", "offset")
            self.append(bronze, BRONZE_EVENTS, batch_id, stats)
            self.log(lines.sparkSession, batch_id, started, stats)
        finally:
            bronze.unpersist()


class SilverJob(_BatchWriter):
    """bronze.events -> silver.events and quarantine.silver_events."""

    def __init__(self, config: LakehouseConfig) -> None:
        super().__init__(config, "silver")
        silver = config.silver
        self.rules = SilverRules(silver.max_future_skew_seconds, silver.max_lateness_seconds)
        self.dedup_window = timedelta(seconds=silver.dedup_window_seconds)

    def read(self, spark: SparkSession) -> DataFrame:
        return read_delta_stream(spark, self.path(BRONZE_EVENTS))

    def _excluding_this_batch(self, df: DataFrame, writer_id: str, batch_id: int) -> DataFrame:
        """Rows not written by an earlier attempt of this very batch (a retry redoes them:
        they count as written by this batch, and the idempotent append skips them)."""
        return df.where((F.col("_writer_id") != writer_id) | (F.col("_batch_id") != batch_id))

    def _existing(
        self, spark: SparkSession, good: DataFrame, writer_id: str, batch_id: int
    ) -> DataFrame:
        """Ids and coordinates of silver rows within the dedup window of the batch's events."""
        window = int(self.dedup_window.total_seconds() * 1_000_000)
        bounds = good.agg(
            (F.unix_micros(F.min("event_ts")) - window).alias("lo"),
            (F.unix_micros(F.max("event_ts")) + window).alias("hi"),
        ).first()
        silver = self._excluding_this_batch(
            spark.read.format("delta").load(self.path(SILVER_EVENTS)), writer_id, batch_id
        )
        if bounds is None or bounds["lo"] is None:
            return silver.limit(0)
        lo, hi = F.timestamp_micros(F.lit(bounds["lo"])), F.timestamp_micros(F.lit(bounds["hi"]))
        return silver.where(
            F.col("event_date").between(F.to_date(lo), F.to_date(hi))
            & F.col("event_ts").between(lo, hi)
        )

    def _quarantined(
        self, spark: SparkSession, batch: DataFrame, writer_id: str, batch_id: int
    ) -> DataFrame:
        """Coordinates of rows of this batch's deliveries that are quarantined already."""
        bounds = batch.agg(F.min("_ingest_ts").alias("lo"), F.max("_ingest_ts").alias("hi"))
        quarantine = self._excluding_this_batch(
            spark.read.format("delta").load(self.path(QUARANTINE_SILVER_EVENTS)),
            writer_id,
            batch_id,
        )
        return quarantine.join(
            bounds, quarantine["_ingest_ts"].between(bounds["lo"], bounds["hi"])
        ).select(*COORDINATES)

    def __call__(self, bronze: DataFrame, batch_id: int) -> None:
        spark = bronze.sparkSession
        started = _now()
        writer_id = self.identity.app_id(spark)
        parsed = bronze.transform(parse_events(self.rules)).persist()
        classified: DataFrame | None = None
        try:
            good = parsed.where(F.size(REASONS_COL) == 0)
            classified = good.transform(
                classify_duplicates(self._existing(spark, good, writer_id, batch_id))
            )
            classified = classified.persist()
            stats = BatchStats(rows_in=parsed.count())
            candidates = classified.where(F.col(DEDUP_COL) == "new").drop(DEDUP_COL)
            parameters = suite_parameters(self.config.silver, started.replace(tzinfo=None))
            to_silver_rows = to_silver(writer_id, batch_id, started)
            promoted, gated = self.gate(
                candidates.transform(to_silver_rows),
                table=SILVER_EVENTS,
                suite_name=SILVER_SUITE,
                keys=COORDINATES,
                batch_id=batch_id,
                stats=stats,
                parameters=parameters,
                split=candidates,
            )
            promoted = promoted.transform(to_silver_rows)
            refused = parsed.where(F.size(REASONS_COL) > 0).unionByName(
                classified.where(F.col(DEDUP_COL) == "duplicate").drop(DEDUP_COL)
            )
            if gated is not None:
                refused = refused.unionByName(
                    gated.withColumn(REASONS_COL, F.col(GATE_REASONS)).drop(GATE_REASONS)
                )
            refused = (
                # a replayed delivery is quarantined once, not once per replay
                refused.join(
                    self._quarantined(spark, parsed, writer_id, batch_id),
                    list(COORDINATES),
                    "left_anti",
                ).transform(to_quarantine(writer_id, batch_id, started))
            )
            stats.source_offsets = _offset_ranges(parsed, "_source", "_partition", "_offset")
            stats.rows_out = promoted.count()
            stats.rows_quarantined = refused.count()
            self.append(promoted, SILVER_EVENTS, batch_id, stats)
            self.append(refused, QUARANTINE_SILVER_EVENTS, batch_id, stats)
            self.log(spark, batch_id, started, stats)
        finally:
            if classified is not None:
                classified.unpersist()
            parsed.unpersist()


class GoldJob(_BatchWriter):
    """silver.events -> gold aggregates, recomputing every window a batch touches."""

    def __init__(self, config: LakehouseConfig) -> None:
        super().__init__(config, "gold")

    def read(self, spark: SparkSession) -> DataFrame:
        return read_delta_stream(spark, self.path(SILVER_EVENTS))

    def __call__(self, batch: DataFrame, batch_id: int) -> None:
        spark = batch.sparkSession
        started = _now()
        writer_id = self.identity.app_id(spark)
        batch = batch.select("event_date", "event_ts").persist()
        try:
            stats = BatchStats(rows_in=batch.count())
            dates = [r["event_date"] for r in batch.select("event_date").distinct().collect()]
            if dates:
                silver = spark.read.format("delta").load(self.path(SILVER_EVENTS))
                silver = silver.where(F.col("event_date").isin(dates))
                for aggregate in AGGREGATES:
                    touched = batch.select(aggregate.window_of().alias("_w")).distinct()
                    rows = (
                        silver.join(
                            F.broadcast(touched), aggregate.window_of() == F.col("_w"), "left_semi"
                        )
                        .transform(aggregate.compute(started))
                        .persist()
                    )
                    try:
                        self._promote(
                            rows,
                            aggregate,
                            batch_id=batch_id,
                            writer_id=writer_id,
                            started=started,
                            stats=stats,
                        )
                    finally:
                        rows.unpersist()
            self.log(spark, batch_id, started, stats)
        finally:
            batch.unpersist()

    def _promote(
        self,
        rows: DataFrame,
        aggregate: Aggregate,
        *,
        batch_id: int,
        writer_id: str,
        started: datetime,
        stats: BatchStats,
    ) -> None:
        table = aggregate.table
        promoted, gated = self.gate(
            rows,
            table=table,
            suite_name=f"silver_to_gold_{table.short_name}",
            keys=aggregate.keys,
            batch_id=batch_id,
            stats=stats,
        )
        promoted_count = promoted.count()
        if promoted_count:
            with _timed(stats, f"write {table.name}"):
                stats.versions_written[table.name] = upsert(
                    promoted, self.path(table), aggregate.keys
                )
        stats.rows_out += promoted_count
        if gated is not None:
            quarantine = gated.transform(to_gold_quarantine(table, writer_id, batch_id, started))
            refused_count = quarantine.count()
            stats.rows_quarantined += refused_count
            if refused_count:  # an empty append would only add a commit
                self.append(quarantine, GOLD_QUARANTINE[table.name], batch_id, stats)


JOBS: dict[str, Callable[[LakehouseConfig], BronzeJob | SilverJob | GoldJob]] = {
    "bronze": BronzeJob,
    "silver": SilverJob,
    "gold": GoldJob,
}


def start_job(
    spark: SparkSession,
    config: LakehouseConfig,
    name: str,
    trigger: TriggerConfig | None = None,
) -> StreamingQuery:
    """Start the streaming job ``name`` (bronze, silver or gold) with its checkpoint."""
    if name not in JOBS:
        raise ConfigError(f"unknown job {name!r}; choose one of {', '.join(JOBS)}")
    job = JOBS[name](config)
    return start_stream(
        job.read(spark),
        job,
        config.lake.checkpoint(name),
        trigger or config.trigger,
        name=f"lakehouse-{name}",
    )
