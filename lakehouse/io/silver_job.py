"""bronze.<dataset> -> silver.<dataset> and quarantine.silver_<dataset>."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from lakehouse.config import LakehouseConfig, parse_duration
from lakehouse.io.batch import BatchStats, BatchWriter
from lakehouse.io.delta import read_pinned
from lakehouse.io.side_by_side import beside, in_session, run_side_by_side
from lakehouse.io.streams import read_delta_stream
from lakehouse.io.summary import batch_summary
from lakehouse.layers.silver import (
    COORDINATES,
    DEDUP_COL,
    INVISIBLE_COL,
    REASONS_COL,
    ROW_COL,
    SilverRules,
    apply_marks,
    code_fields,
    duplicate_marks,
    parse_events,
    to_quarantine,
    to_silver,
)
from lakehouse.monitoring.monitor import block_reason
from lakehouse.ops import TableDef
from lakehouse.platform import DatasetTables
from lakehouse.privacy.keys import load_key
from lakehouse.privacy.pseudonymize import minimize, pseudonymize
from lakehouse.quality.gate import GATE_REASONS
from lakehouse.quality.parameters import suite_parameters

__all__ = ["SilverJob", "silver_rules"]


def silver_rules(config: LakehouseConfig, tables: DatasetTables) -> tuple[SilverRules, int]:
    """The time rules and the dedup window (seconds) of a dataset: its contract's, else the
    ``[silver]`` defaults."""
    dataset, silver = tables.dataset, config.silver
    where = f"{dataset.folder / 'contract.yaml'}"
    rules = SilverRules(
        parse_duration(dataset.max_future_skew or silver.max_future_skew, f"{where}: skew"),
        parse_duration(dataset.max_lateness or silver.max_lateness, f"{where}: lateness"),
    )
    window = parse_duration(dataset.dedup_window or silver.dedup_window, f"{where}: dedup")
    return rules, window


class SilverJob(BatchWriter):
    """bronze.<dataset> -> silver.<dataset> and quarantine.silver_<dataset>."""

    def __init__(self, config: LakehouseConfig, tables: DatasetTables) -> None:
        super().__init__(config, "silver", tables.dataset.name, tables.dataset.content_hash)
        self.tables = tables
        self.monitor.expect([tables.silver])  # its history read ahead, in the first batch
        self.dataset = tables.dataset
        self.rules, window = silver_rules(config, tables)
        self.dedup_window = timedelta(seconds=window)
        key = load_key(config.privacy)  # fails here, before a stream starts, without a key
        self.key, self.key_version = key.value, key.version
        self._parse: Callable[[DataFrame], DataFrame] | None = None

    def parse(self) -> Callable[[DataFrame], DataFrame]:
        """:func:`parse_events` of the dataset, built at the first batch and kept: its
        columns are plan fragments that no DataFrame owns, and building them costs more than
        a small batch's planning (0.17 s against 0.05 for the events dataset)."""
        if self._parse is None:
            self._parse = parse_events(self.dataset, self.rules)
        return self._parse

    def written(self) -> list[TableDef]:
        return [self.tables.silver]

    def read(self, spark: SparkSession) -> DataFrame:
        return read_delta_stream(spark, self.path(self.tables.bronze), self.config.trigger)

    def _excluding_this_batch(self, df: DataFrame, writer_id: str, batch_id: int) -> DataFrame:
        """Rows not written by an earlier attempt of this very batch (a retry redoes them:
        they count as written by this batch, and the idempotent append skips them)."""
        return df.where((F.col("_writer_id") != writer_id) | (F.col("_batch_id") != batch_id))

    def _existing(
        self,
        spark: SparkSession,
        good: DataFrame,
        writer_id: str,
        batch_id: int,
        event_micros: tuple[int | None, int | None] | None = None,
    ) -> DataFrame:
        """Ids and coordinates of silver rows within the dedup window of the batch's events
        (``event_micros``: the smallest and largest event time of ``good`` in microseconds,
        when the caller has them; else one Spark job finds them)."""
        window = int(self.dedup_window.total_seconds() * 1_000_000)
        event_time = self.dataset.event_time_field
        if event_micros is None:
            found = good.agg(
                F.unix_micros(F.min(event_time)).alias("lo"),
                F.unix_micros(F.max(event_time)).alias("hi"),
            ).first()
            event_micros = (None, None) if found is None else (found["lo"], found["hi"])
        # pinned: the batch writes silver while the classification that reads it is cached
        silver = self._excluding_this_batch(
            read_pinned(spark, self.path(self.tables.silver)), writer_id, batch_id
        )
        first, last = event_micros
        if first is None or last is None:
            return silver.limit(0)
        lo = F.timestamp_micros(F.lit(first - window))
        hi = F.timestamp_micros(F.lit(last + window))
        return silver.where(
            F.col("event_date").between(F.to_date(lo), F.to_date(hi))
            & F.col(event_time).between(lo, hi)
        )

    def _quarantined(
        self,
        spark: SparkSession,
        writer_id: str,
        batch_id: int,
        ingest_micros: tuple[int | None, int | None],
    ) -> DataFrame:
        """Coordinates of rows of this batch's deliveries that are quarantined already (the
        batch's ingest times as literals: Delta skips the files whose statistics are
        outside them)."""
        quarantine = self._excluding_this_batch(
            spark.read.format("delta").load(self.path(self.tables.quarantine)),
            writer_id,
            batch_id,
        )
        first, last = ingest_micros
        if first is None or last is None:
            return quarantine.select(*COORDINATES).limit(0)
        lo, hi = F.timestamp_micros(F.lit(first)), F.timestamp_micros(F.lit(last))
        return quarantine.where(F.col("_ingest_ts").between(lo, hi)).select(*COORDINATES)

    def _quarantine_write(
        self, refused: DataFrame, batch_id: int, stats: BatchStats
    ) -> Callable[[SparkSession], int]:
        """The append of the batch's quarantine rows, as a side-by-side piece: it returns
        the rows it wrote, counted on their way."""

        def write(session: SparkSession) -> int:
            rows = in_session(refused, session)
            return self.append_counted(rows, self.tables.quarantine, batch_id, stats)

        return write

    def _write(
        self,
        promoted: DataFrame,
        refused: DataFrame,
        rows_promoted: int | None,
        batch_id: int,
        stats: BatchStats,
    ) -> None:
        """Append the batch's silver and quarantine rows, side by side: both are computed
        from the batch's cached rows as they are written, and the writes count the rows on
        their way (silver's only when nothing counted them before: ``rows_promoted``).

        When every row read is promoted (``rows_promoted`` equals the batch's rows: each
        row read is promoted, refused, or already in silver from its delivery), nothing can
        be refused: the quarantine is not written (an empty append would still read the
        quarantine's deliveries, run a job and commit), and the batch log names no
        quarantine version for the batch."""

        def write_silver(session: SparkSession) -> int:
            rows = in_session(promoted, session)
            if rows_promoted is None:
                return self.append_counted(rows, self.tables.silver, batch_id, stats)
            self.append(rows, self.tables.silver, batch_id, stats)
            return rows_promoted

        write_quarantine = self._quarantine_write(refused, batch_id, stats)

        spark = promoted.sparkSession
        if rows_promoted is not None and rows_promoted == stats.rows_in:
            stats.rows_out, stats.rows_quarantined = write_silver(spark), 0
            return
        stats.rows_out, stats.rows_quarantined = run_side_by_side(
            spark, [write_silver, write_quarantine]
        )

    def _measured_on_write(self) -> bool:
        """Whether the silver write measures the rows it promotes: the monitors watch
        silver and their findings cannot block a batch (``block_on_critical`` off)."""
        monitoring = self._watched(self.tables.silver)
        return monitoring is not None and not monitoring.block_on_critical

    def _quarantine_rows(
        self,
        writer_id: str,
        batch_id: int,
        started: datetime,
        ranges: dict[str, tuple[int | None, int | None]],
        refused: DataFrame,
    ) -> DataFrame:
        """The quarantine rows of ``refused``, less the deliveries quarantined already."""
        dataset = self.dataset
        subject = [dataset.subject_field] if dataset.subject_field else []
        spark = refused.sparkSession
        return (
            # a replayed delivery is quarantined once, not once per replay
            refused.join(
                self._quarantined(spark, writer_id, batch_id, ranges["ingest"]),
                list(COORDINATES),
                "left_anti",
            )
            .transform(to_quarantine(dataset, self.tables.quarantine, writer_id, batch_id, started))
            # the raw subject id becomes its pseudonym; the payload stays raw (for replay)
            .transform(pseudonymize(self.key, subject))
        )

    def _write_measured(
        self,
        promoted: DataFrame,
        refused: DataFrame,
        *,
        none_refused: bool,
        batch_id: int,
        started: datetime,
        stats: BatchStats,
    ) -> None:
        """Append the batch's silver rows, measuring them for the monitors on the way, and
        its quarantine rows beside them (not at all when ``none_refused``: the batch log
        then names no quarantine version); then run the detectors on the measurement (their
        findings cannot block: :meth:`_measured_on_write`)."""
        silver = self.tables.silver
        write_quarantine = self._quarantine_write(refused, batch_id, stats)
        spark = promoted.sparkSession
        if none_refused:
            measured = self.append_measured(promoted, silver, batch_id, stats)
            stats.rows_quarantined = 0
        else:
            with beside(spark, write_quarantine) as ahead:
                measured = self.append_measured(promoted, silver, batch_id, stats)
            stats.rows_quarantined = ahead.result()
        if measured is None:  # the write ran no job: a retried batch silver has already
            measured = self.measure(promoted, silver, stats)
        assert measured is not None  # the monitors watch silver (_measured_on_write)
        stats.rows_out = int(measured["rows"])
        self.observe(
            promoted,
            table=silver,
            batch_id=batch_id,
            started=started,
            stats=stats,
            rows_in=stats.rows_in,
            rows_quarantined=stats.rows_in - stats.rows_out,
            can_block=False,
            measured=measured,
        )

    def _summary(
        self, parsed: DataFrame
    ) -> tuple[int, str | None, dict[str, int], dict[str, tuple[int | None, int | None]]]:
        """One aggregate job over the parsed rows (the one that caches them): rows and
        offsets read; the characters normalization removed per code field and the rows the
        parse refused (under ``_reasons``); the event time range of the good rows (the
        dedup lookup's window) and the ingest time range (the lookup of deliveries
        quarantined already)."""
        micros = F.unix_micros(F.col(self.dataset.event_time_field))
        return batch_summary(
            parsed,
            "_source",
            "_partition",
            "_offset",
            sums={
                **{c: F.col(INVISIBLE_COL)[c] for c in code_fields(self.dataset)},
                # the rows refused by the parse (a name no code field can have)
                REASONS_COL: F.when(F.size(REASONS_COL) > 0, 1),
            },
            bounds={
                "event": F.when(F.size(REASONS_COL) == 0, micros),
                "ingest": F.unix_micros(F.col("_ingest_ts")),
            },
        )

    def _promote(
        self,
        parsed: DataFrame,
        classified: DataFrame,
        stats: BatchStats,
        *,
        parse_and_dedup_refused: bool,
        ranges: dict[str, tuple[int | None, int | None]],
        writer_id: str,
        batch_id: int,
        started: datetime,
    ) -> None:
        """Gate, monitor and write the batch's classified rows (``parsed``: every row read,
        those the parse refused among them); ``parse_and_dedup_refused``: whether the
        parse or the dedup refused any row."""
        spark = parsed.sparkSession
        dataset, silver_table = self.dataset, self.tables.silver
        candidates = classified.where(F.col(DEDUP_COL) == "new").drop(DEDUP_COL)
        parameters = suite_parameters(
            self.rules.max_future_skew_seconds, started.replace(tzinfo=None)
        )
        to_silver_rows = to_silver(silver_table, writer_id, batch_id, started)
        stamped = candidates.transform(to_silver_rows)
        # findings that cannot block the batch let the silver write measure the rows
        # it promotes, on its way (no job of its own, and none again when the gate
        # refuses rows); else the monitors measure what the batch would promote while
        # the gate judges the candidates' silver columns (to_silver only adds stamps):
        # the gate promotes every candidate unless it refuses some rows, and a blocked
        # batch is measured on what it would have promoted; the measurement counts the
        # rows too (every row read is promoted or refused, so the refused share needs
        # no other count)
        on_write = self._measured_on_write()

        def gate() -> tuple[DataFrame, DataFrame | None]:
            return self.gate(
                candidates,
                table=silver_table,
                suite_name=dataset.silver_suite,
                keys=COORDINATES,
                batch_id=batch_id,
                stats=stats,
                parameters=parameters,
            )

        measured: dict[str, Any] | None = None
        if on_write:
            promoted, gated = gate()
        else:

            def measure(session: SparkSession) -> dict[str, Any] | None:
                return self.measure(in_session(stamped, session), silver_table, stats)

            with beside(spark, measure) as ahead:
                promoted, gated = gate()
            measured = ahead.result()
        gate_promoted, promoted = promoted, promoted.transform(to_silver_rows)
        refused = (
            parsed.where(F.size(REASONS_COL) > 0)
            .drop(ROW_COL)
            .unionByName(classified.where(F.col(DEDUP_COL) == "duplicate").drop(DEDUP_COL))
        )
        if gated is not None:
            refused = refused.unionByName(
                gated.withColumn(REASONS_COL, F.col(GATE_REASONS)).drop(GATE_REASONS)
            )
        split = gated is not None and stats.decisions[-1].refuses_rows
        quarantine = partial(self._quarantine_rows, writer_id, batch_id, started, ranges)
        if on_write and not stats.blocked_reasons:
            # nothing read is refused: no bad row, no second delivery, no gate refusal
            none_refused = not parse_and_dedup_refused and not split
            self._write_measured(
                promoted,
                quarantine(refused),
                none_refused=none_refused,
                batch_id=batch_id,
                started=started,
                stats=stats,
            )
            return
        if split:  # the promoted rows are fewer than the candidates: measured again
            measured = self.measure(promoted, silver_table, stats)
        measured_rows = stamped if stats.blocked_reasons else promoted
        # None: the monitors do not watch silver, the write counts its rows
        rows_promoted: int | None = None
        if stats.blocked_reasons:
            rows_promoted = 0  # apply_gate promotes nothing from a blocked batch
        elif measured is not None:
            rows_promoted = int(measured["rows"])
        blocking = self.observe(
            measured_rows,
            table=silver_table,
            batch_id=batch_id,
            started=started,
            stats=stats,
            rows_in=stats.rows_in,
            rows_quarantined=stats.rows_in - (rows_promoted or 0),
            measured=measured,
        )
        if blocking:  # the whole batch goes to quarantine, with the findings as reason
            reason = F.array(F.lit(block_reason(blocking)))
            refused = refused.unionByName(gate_promoted.withColumn(REASONS_COL, reason))
            promoted = promoted.limit(0)
            rows_promoted = 0
        self._write(promoted, quarantine(refused), rows_promoted, batch_id, stats)

    def __call__(self, bronze: DataFrame, batch_id: int) -> None:
        spark = bronze.sparkSession
        started = self.begin(spark, bronze)
        writer_id = self.identity.app_id(spark)
        dataset, silver_table = self.dataset, self.tables.silver
        # minimized before the cache: the monitors, the gate and the write read the
        # candidates, and each would otherwise compute the pseudonyms again (a quarantine
        # row takes its id and subject from the raw payload); each row numbered once, in
        # the cache, for the duplicate marks (a cached partition lost and computed again
        # reads the batch's same files in the same order: the same numbers)
        parsed = (
            bronze.transform(self.parse())
            .transform(minimize(silver_table.policy.minimization, self.key))
            .withColumn(ROW_COL, F.monotonically_increasing_id())
            .persist()
        )
        marks: DataFrame | None = None
        try:
            good = parsed.where(F.size(REASONS_COL) == 0)
            rows_in, offsets, sums, ranges = self._summary(parsed)
            removed = {c: n for c, n in sums.items() if c != REASONS_COL}
            # the rows that are not new (second deliveries, a retry's promoted rows), found
            # from ids and coordinates alone and cached (one job; usually few rows): the
            # monitors, the gate and the writes join them to the cached rows, which never
            # go through a shuffle (README, Performance)
            existing = self._existing(spark, good, writer_id, batch_id, ranges["event"])
            marks = good.transform(duplicate_marks(existing, dataset.id_field)).persist()
            found = marks.agg(F.count_if(F.col(DEDUP_COL) == "duplicate")).first()
            duplicates = int(found[0]) if found is not None else 0
            classified = good.transform(apply_marks(marks)).drop(ROW_COL)
            stats = BatchStats(
                rows_in=rows_in,
                source_offsets=offsets,
                key_version=self.key_version,
                characters_removed=removed,
            )
            self._promote(
                parsed,
                classified,
                stats,
                # no bad row and no second delivery: only the gate could refuse a row
                parse_and_dedup_refused=sums[REASONS_COL] > 0 or duplicates > 0,
                ranges=ranges,
                writer_id=writer_id,
                batch_id=batch_id,
                started=started,
            )
            self.log(spark, batch_id, started, stats)
        finally:
            if marks is not None:
                marks.unpersist()
            parsed.unpersist()
