"""bronze.events -> silver.events and quarantine.silver_events."""

from __future__ import annotations

from datetime import timedelta

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from lakehouse.config import LakehouseConfig
from lakehouse.datasets import BRONZE_EVENTS, QUARANTINE_SILVER_EVENTS, SILVER_EVENTS
from lakehouse.io.batch import BatchStats, BatchWriter, now, offset_summary
from lakehouse.io.streams import read_delta_stream
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
from lakehouse.monitoring.monitor import block_reason
from lakehouse.privacy.pseudonymize import minimize, pseudonymize
from lakehouse.quality.gate import GATE_REASONS
from lakehouse.quality.parameters import suite_parameters

__all__ = ["SILVER_SUITE", "SilverJob"]

SILVER_SUITE = "bronze_to_silver"


class SilverJob(BatchWriter):
    """bronze.events -> silver.events and quarantine.silver_events."""

    def __init__(self, config: LakehouseConfig) -> None:
        super().__init__(config, "silver")
        silver = config.silver
        self.rules = SilverRules(silver.max_future_skew_seconds, silver.max_lateness_seconds)
        self.dedup_window = timedelta(seconds=silver.dedup_window_seconds)
        self.key = config.privacy.key()  # fails here, before a stream starts, without a key

    def read(self, spark: SparkSession) -> DataFrame:
        return read_delta_stream(spark, self.path(BRONZE_EVENTS), self.config.trigger)

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
        started = now()
        writer_id = self.identity.app_id(spark)
        parsed = bronze.transform(parse_events(self.rules)).persist()
        classified: DataFrame | None = None
        try:
            good = parsed.where(F.size(REASONS_COL) == 0)
            classified = good.transform(
                classify_duplicates(self._existing(spark, good, writer_id, batch_id))
            )
            classified = classified.persist()
            rows_in, offsets = offset_summary(parsed, "_source", "_partition", "_offset")
            stats = BatchStats(rows_in=rows_in, source_offsets=offsets)
            candidates = (
                classified.where(F.col(DEDUP_COL) == "new")
                .drop(DEDUP_COL)
                .transform(minimize(SILVER_EVENTS.policy.minimization, self.key))
            )
            parameters = suite_parameters(self.config.silver, started.replace(tzinfo=None))
            to_silver_rows = to_silver(writer_id, batch_id, started)
            # the gate judges the candidates' silver columns; to_silver only adds stamps
            promoted, gated = self.gate(
                candidates,
                table=SILVER_EVENTS,
                suite_name=SILVER_SUITE,
                keys=COORDINATES,
                batch_id=batch_id,
                stats=stats,
                parameters=parameters,
            )
            gate_promoted, promoted = promoted, promoted.transform(to_silver_rows)
            refused = parsed.where(F.size(REASONS_COL) > 0).unionByName(
                classified.where(F.col(DEDUP_COL) == "duplicate").drop(DEDUP_COL)
            )
            if gated is not None:
                refused = refused.unionByName(
                    gated.withColumn(REASONS_COL, F.col(GATE_REASONS)).drop(GATE_REASONS)
                )
            # what the batch would promote is measured (a batch the gate blocked, on what it
            # would have promoted), and counted in the same job: every row read is promoted
            # or refused, so the refused share needs no other count
            measured_rows = (
                candidates.transform(to_silver_rows) if stats.blocked_reasons else promoted
            )
            measured = self.measure(measured_rows, SILVER_EVENTS, stats)
            if stats.blocked_reasons:
                rows_promoted = 0  # apply_gate promotes nothing from a blocked batch
            elif measured is not None:
                rows_promoted = int(measured["rows"])
            else:
                rows_promoted = promoted.count()
            blocking = self.observe(
                measured_rows,
                table=SILVER_EVENTS,
                batch_id=batch_id,
                started=started,
                stats=stats,
                rows_in=rows_in,
                rows_quarantined=rows_in - rows_promoted,
                measured=measured,
            )
            if blocking:  # the whole batch goes to quarantine, with the findings as reason
                reason = F.array(F.lit(block_reason(blocking)))
                refused = refused.unionByName(gate_promoted.withColumn(REASONS_COL, reason))
                promoted = promoted.limit(0)
                rows_promoted = 0
            refused = (
                # a replayed delivery is quarantined once, not once per replay
                refused.join(
                    self._quarantined(spark, parsed, writer_id, batch_id),
                    list(COORDINATES),
                    "left_anti",
                )
                .transform(to_quarantine(writer_id, batch_id, started))
                .transform(pseudonymize(self.key, ["user_id"]))  # the payload stays raw
            )
            # both are computed from the cached rows as they are written; the write of
            # the refused rows counts them on its way
            stats.rows_out = rows_promoted
            self.append(promoted, SILVER_EVENTS, batch_id, stats)
            stats.rows_quarantined = self.append_counted(
                refused, QUARANTINE_SILVER_EVENTS, batch_id, stats
            )
            self.log(spark, batch_id, started, stats)
        finally:
            if classified is not None:
                classified.unpersist()
            parsed.unpersist()
