"""silver.<dataset> -> its gold tables, recomputing every window a micro-batch touches.

Each gold table is a Spark SQL file of the dataset (:mod:`lakehouse.contracts.gold`); its
header names the table's time key and the same key computed from a silver row. For every
window a batch touches, the whole window is recomputed from silver and replaces what the
table has of it (one ``replaceWhere`` commit): late events update the right window, a key
the window no longer has goes, and a retried batch writes the same values again. A batch
whose gate refuses rows upserts the others instead (the refused keys keep their rows).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from pyspark.sql import Column, DataFrame, Row, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import (
    ByteType,
    DataType,
    DateType,
    IntegerType,
    LongType,
    ShortType,
    StringType,
    TimestampType,
)

from lakehouse.config import LakehouseConfig
from lakehouse.contracts.analyze import gold_frame
from lakehouse.contracts.model import GoldTable
from lakehouse.io.batch import BatchStats, BatchWriter
from lakehouse.io.delta import RowsOutsideReplace, read_pinned
from lakehouse.io.side_by_side import in_session, run_side_by_side
from lakehouse.io.streams import read_delta_stream
from lakehouse.ops import TableDef
from lakehouse.platform import DatasetTables

__all__ = [
    "MAX_REPLACED_WINDOWS",
    "GoldJob",
    "quoted",
    "sql_literal",
    "to_gold_quarantine",
    "windows_predicate",
]

_log = logging.getLogger(__name__)

# a batch that touches more windows of a gold table than this upserts them instead: the
# replacement names each window in its predicate
MAX_REPLACED_WINDOWS = 10_000


def sql_literal(value: Column, data_type: DataType) -> Column | None:
    """``value`` as the text of a Spark SQL literal of its type, computed by Spark (a
    timestamp in the session's time zone, which also reads the literal back); None for a
    type without one here (the caller then writes another way). Null stays null."""
    if isinstance(data_type, TimestampType):
        text = F.date_format(value, "yyyy-MM-dd HH:mm:ss.SSSSSS")
        return F.concat(F.lit("TIMESTAMP'"), text, F.lit("'"))
    if isinstance(data_type, DateType):
        return F.concat(F.lit("DATE'"), F.date_format(value, "yyyy-MM-dd"), F.lit("'"))
    if isinstance(data_type, StringType):
        escaped = F.regexp_replace(F.regexp_replace(value, r"\\", r"\\\\"), "'", r"\\'")
        return F.concat(F.lit("'"), escaped, F.lit("'"))
    if isinstance(data_type, (ByteType, ShortType, IntegerType, LongType)):
        return value.cast("string")
    return None


def windows_predicate(window: str, literals: set[str | None]) -> str:
    """The rows whose ``window`` (a Spark SQL expression: a gold table's quoted window key,
    or the window expression over silver, parenthesized) is one of ``literals`` (SQL
    literal texts, :func:`sql_literal`; None for the null window)."""
    values = sorted(v for v in literals if v is not None)
    parts = [f"{window} IN ({', '.join(values)})"] if values else []
    if None in literals:
        parts.append(f"{window} IS NULL")
    return " OR ".join(parts)


def quoted(name: str) -> str:
    """A column name quoted for Spark SQL."""
    return "`" + name.replace("`", "``") + "`"


def to_gold_quarantine(
    table: TableDef, writer_id: str, batch_id: int, quarantine_ts: datetime
) -> Callable[[DataFrame], DataFrame]:
    """Rows of a gold table refused by its gate (``_gate_reasons``), as quarantine rows."""

    def transform(refused: DataFrame) -> DataFrame:
        return refused.select(
            *table.schema.fieldNames(),
            F.get(F.col("_gate_reasons"), 0).alias("reason"),
            F.col("_gate_reasons").alias("reasons"),
            F.lit(quarantine_ts).cast("timestamp").alias("quarantine_ts"),
            F.lit(writer_id).alias("_writer_id"),
            F.lit(batch_id).cast("long").alias("_batch_id"),
        )

    return transform


def _as_literals(values: str, data_type: DataType) -> Column:
    """The array column ``values`` (of ``data_type``) as SQL literals (:func:`sql_literal`)."""

    def literal(value: Column) -> Column:
        text = sql_literal(value, data_type)
        assert text is not None  # the caller checked the type has literals
        return text

    return F.transform(values, literal)


def _touched_windows(i: int, per_day: list[Row]) -> set[str | None] | None:
    """The windows of the ``i``-th gold table the batch touches, as SQL literals (None for
    the null window), from its rows per day (``_l<i>``: the day's literals, at most
    :data:`MAX_REPLACED_WINDOWS` + 1; ``_n<i>``: whether it has the null window); None when
    the table's window type has no literal here or the windows are more than
    :data:`MAX_REPLACED_WINDOWS`."""
    if not per_day or f"_l{i}" not in per_day[0].asDict():
        return None
    found: set[str | None] = set()
    for row in per_day:
        found.update(row[f"_l{i}"])
        if row[f"_n{i}"]:
            found.add(None)
    return found if len(found) <= MAX_REPLACED_WINDOWS else None


class GoldJob(BatchWriter):
    """silver.<dataset> -> its gold tables, recomputing every window a batch touches."""

    def __init__(self, config: LakehouseConfig, tables: DatasetTables) -> None:
        super().__init__(config, "gold", tables.dataset.name, tables.dataset.content_hash)
        self.tables = tables
        self.monitor.expect(table for _, table, _ in tables.gold)
        # gold tables whose windows are upserted, not replaced (:meth:`_replace_windows`)
        self._upserted: set[str] = set()

    def written(self) -> list[TableDef]:
        return [table for _, table, _ in self.tables.gold]

    def read(self, spark: SparkSession) -> DataFrame:
        return read_delta_stream(spark, self.path(self.tables.silver), self.config.trigger)

    def __call__(self, batch: DataFrame, batch_id: int) -> None:
        spark = batch.sparkSession
        started = self.begin(spark, batch)
        writer_id = self.identity.app_id(spark)
        windows = [
            F.expr(g.window_expr).alias(f"_w{i}") for i, (g, _, _) in enumerate(self.tables.gold)
        ]
        # the batch's rows per day and windows (a few per window, not a row per event); the
        # promotions find the windows they recompute in it (without a cache: read again from
        # the batch only for a table whose windows have no literals)
        counts = batch.groupBy("event_date", *windows).count()
        # the rows read, the days they touch and each table's windows, in one job: the sets
        # of window values per day, written as literals once collected (thousands, not a
        # conversion per row)
        aggregates = [F.sum("count").alias("count")]
        literals = []
        for i in range(len(self.tables.gold)):
            column = f"_w{i}"
            data_type = counts.schema[column].dataType
            if sql_literal(F.col(column), data_type) is not None:
                found = F.slice(F.collect_set(column), 1, MAX_REPLACED_WINDOWS + 1)
                aggregates.append(found.alias(column))
                aggregates.append(F.max(F.col(column).isNull()).alias(f"_n{i}"))
                literals += [_as_literals(column, data_type).alias(f"_l{i}"), F.col(f"_n{i}")]
        per_day = (
            counts.groupBy("event_date")
            .agg(*aggregates)
            .select("event_date", "count", *literals)
            .collect()
        )
        stats = BatchStats(rows_in=sum(int(r["count"]) for r in per_day))
        dates = [r["event_date"] for r in per_day]
        if dates:
            # the gold tables are independent of each other: promoted side by side
            pieces = [
                self._promotion(
                    i,
                    counts,
                    dates,
                    _touched_windows(i, per_day),
                    batch_id=batch_id,
                    writer_id=writer_id,
                    started=started,
                )
                for i in range(len(self.tables.gold))
            ]
            for part in run_side_by_side(spark, pieces):
                stats.add(part)  # in the order of the tables, whatever finished first
        self.log(spark, batch_id, started, stats)

    def _promotion(
        self,
        i: int,
        counts: DataFrame,
        dates: list[Any],
        literals: set[str | None] | None,
        *,
        batch_id: int,
        writer_id: str,
        started: datetime,
    ) -> Callable[[SparkSession], BatchStats]:
        """The promotion of the ``i``-th gold table: its windows the batch touches (in
        ``counts``, the batch's rows per day and window; ``literals``: the same windows as
        SQL literals, None when :func:`_touched_windows` has none), recomputed from silver,
        gated, written (replacing those windows, else upserted) and observed; what it did,
        in a :class:`BatchStats` of its own."""
        gold, table, quarantine = self.tables.gold[i]
        predicate = None
        if literals is not None:
            predicate = windows_predicate(quoted(gold.window_key), literals)

        def promote(spark: SparkSession) -> BatchStats:
            stats = BatchStats()
            # pinned: the silver stream may write silver while these rows are cached
            silver = read_pinned(spark, self.path(self.tables.silver))
            silver = silver.where(F.col("event_date").isin(dates))
            if literals is not None:
                source = silver.where(windows_predicate(f"({gold.window_expr})", literals))
            else:
                touched = in_session(counts, spark).select(F.col(f"_w{i}").alias("_w"))
                window = F.expr(gold.window_expr)
                on = window == F.col("_w")
                source = silver.join(F.broadcast(touched.distinct()), on, "left_semi")
            rows = (
                gold_frame(spark, gold, source)
                .withColumn("updated_ts", F.lit(started).cast("timestamp"))
                .select(*table.schema.fieldNames())
                .persist()
            )
            try:
                self._promote(
                    rows,
                    gold,
                    table,
                    quarantine,
                    predicate,
                    batch_id=batch_id,
                    writer_id=writer_id,
                    started=started,
                    stats=stats,
                )
            finally:
                rows.unpersist()
            return stats

        return promote

    def _replace_windows(
        self,
        promoted: DataFrame,
        gold: GoldTable,
        table: TableDef,
        predicate: str,
        *,
        batch_id: int,
        stats: BatchStats,
    ) -> None:
        """Replace the windows of ``predicate`` by ``promoted``; a table whose rows fall
        outside the windows they were computed for (its SQL's window key is not the
        header's window expression: the write refuses them) is upserted instead, from then
        on, with a warning."""
        if table.name not in self._upserted:
            try:
                self.replace(promoted, table, predicate, batch_id, stats)
                return
            except RowsOutsideReplace:
                self._upserted.add(table.name)
                _log.warning(
                    "gold table %s: a row's %s is not the window it was computed for "
                    "(the header says %s = %s); its windows are upserted instead of replaced",
                    table.name,
                    gold.window_key,
                    gold.window_key,
                    gold.window_expr,
                )
        self.upsert(promoted, table, gold.keys, batch_id, stats)

    def _promote(
        self,
        rows: DataFrame,
        gold: GoldTable,
        table: TableDef,
        quarantine_table: TableDef,
        predicate: str | None,
        *,
        batch_id: int,
        writer_id: str,
        started: datetime,
        stats: BatchStats,
    ) -> None:
        promoted, gated, seen = self.gate_measured(
            rows,
            table=table,
            suite_name=gold.suite,
            keys=gold.keys,
            batch_id=batch_id,
            stats=stats,
        )
        # only a critical failure refuses rows
        refuses = gated is not None and bool(stats.decisions[-1].critical_failures)
        if seen is not None and not refuses:
            # the gate's own job counted (and measured, when watched) the rows it promotes
            measured = seen if self.monitor.watches(table) else None
            promoted_count = int(seen["rows"])
        else:
            # the monitors' measurement counts the rows too (one job for both, when watched)
            measured = self.measure(promoted, table, stats)
            promoted_count = int(measured["rows"]) if measured is not None else promoted.count()
        if promoted_count and predicate is not None and not refuses:
            # the touched windows, recomputed whole, replace what the table has of them
            self._replace_windows(promoted, gold, table, predicate, batch_id=batch_id, stats=stats)
        elif promoted_count:
            # the refused rows' keys keep the rows they have (so do windows past the cap)
            self.upsert(promoted, table, gold.keys, batch_id, stats)
        stats.rows_out += promoted_count
        refused_count = 0
        # without a critical failure there is nothing to count
        if refuses:
            assert gated is not None
            quarantine = gated.transform(to_gold_quarantine(table, writer_id, batch_id, started))
            refused_count = quarantine.count()
            stats.rows_quarantined += refused_count
            if refused_count:  # an empty append would only add a commit
                self.append(quarantine, quarantine_table, batch_id, stats)
        # the windows are upserted already: gold's findings are recorded, never blocking
        self.observe(
            promoted,
            table=table,
            batch_id=batch_id,
            started=started,
            stats=stats,
            rows_in=promoted_count + refused_count,
            rows_quarantined=refused_count,
            can_block=False,
            measured=measured,
        )
