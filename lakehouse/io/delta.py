"""Delta writes: idempotent appends, upserts, and the version a write produced."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from delta.tables import DeltaMergeBuilder, DeltaTable
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from lakehouse.engine_errors import has_condition, root_cause
from lakehouse.errors import TableError
from lakehouse.io.retry import with_retries
from lakehouse.io.side_by_side import setting

__all__ = [
    "RowsOutsideReplace",
    "append",
    "append_idempotent",
    "batch_rows_present",
    "committed_in_session",
    "latest_version",
    "merge",
    "prefetch_state",
    "read_pinned",
    "replace_where",
    "settle_prefetches",
    "upsert",
    "wait_for_prefetches",
]

_log = logging.getLogger(__name__)

# Delta sets this in the session after each commit it makes. Every stream runs its batches
# in a session of its own (Spark clones it), so the value is the version of this write.
_LAST_COMMIT = "spark.databricks.delta.lastCommitVersionInSession"
# Delta checks that every row a replaceWhere writes matches the predicate, but evaluates the
# predicate as written, without Spark's optimizer: an IN list of n literals compares each row
# n times, and its generated code differs with every list, so it is compiled again for every
# write (a batch of minute windows: 2,200 literals, 0.4-0.9 s per 120,000 rows).
# :func:`replace_where` runs the same check as a filter of the rows it writes, which the
# optimizer turns into a hash set, and turns Delta's off for that write.
_REPLACE_CHECK = "spark.databricks.delta.replaceWhere.constraintCheck.enabled"
_OUTSIDE = "lakehouse: a row outside the replaceWhere predicate"


class RowsOutsideReplace(TableError):
    """A :func:`replace_where` write had a row its predicate does not match: it wrote
    nothing."""


def _newest_snapshot(spark: SparkSession, path: str) -> tuple[Any, Any]:
    """Delta's log of the table at ``path`` and its snapshot of the newest version, found
    by listing the log (no Spark job; the state is read only when something asks for it)."""
    jvm = spark.sparkContext._jvm
    assert jvm is not None
    none = jvm.scala.Option.empty()
    log = jvm.org.apache.spark.sql.delta.DeltaLog.forTable(spark._jsparkSession, path)
    return log, log.update(False, none, none)


def latest_version(spark: SparkSession, path: str) -> int:
    """The newest version of the Delta table at ``path`` (-1: no table there), from a
    listing of its log: no Spark job."""
    return int(_newest_snapshot(spark, path)[1].version())


def _append(df: DataFrame, path: str, options: dict[str, str]) -> int:
    """Append ``df`` to the Delta table at ``path`` with the writer ``options``, attempted
    again on a commit conflict (:func:`with_retries`); return the version afterwards."""
    spark = df.sparkSession
    spark.conf.unset(_LAST_COMMIT)
    with_retries(
        f"append to {path}",
        lambda: df.write.format("delta").mode("append").options(**options).save(path),
    )
    return _committed_version(spark, path)


def append_idempotent(df: DataFrame, path: str, app_id: str, version: int) -> int:
    """Append ``df`` once per ``(app_id, version)``; return the table version afterwards.

    Delta records the pair in the table's transaction log: a retried micro-batch that
    already committed writes nothing the second time. A commit that conflicts with another
    writer (e.g. a property change) is attempted again (:func:`with_retries`). To find the
    pair, Delta reads the table's state at its newest version (:func:`prefetch_state` reads
    it ahead)."""
    return _append(df, path, {"txnAppId": app_id, "txnVersion": str(version)})


def append(df: DataFrame, path: str) -> int:
    """Append ``df`` to the Delta table at ``path``; return the version the append made.

    A blind append (it reads nothing of the table) needs only the table's protocol and
    schema, which Delta reads from the newest checksum: no Spark job, also when other writers
    have committed since this process last looked. Nothing keeps it from writing twice: for
    rows whose batch cannot have been written before (:mod:`lakehouse.io.attempts`), or
    after :func:`batch_rows_present` said they are not there."""
    return _append(df, path, {})


def read_pinned(spark: SparkSession, path: str) -> DataFrame:
    """The Delta table at ``path`` as of its newest version, read as that version.

    After every write to a table, Spark re-plans each cached DataFrame that reads the table
    by its path (``CacheManager.recacheByPlan``) and drops its cached rows: the next use
    plans the read and computes the rows again, from the version just written. A batch that
    caches rows derived from a table it then writes (silver's dedup lookup), or from a table
    another stream of the process writes meanwhile (gold's windows from silver), would pay
    that planning inside its write (0.3-0.5 s) and compute the rows twice, from two
    versions. A read of a pinned version is not re-planned: what the batch read stays what
    it read. A path with no table is read unpinned (the read reports it)."""
    version = latest_version(spark, path)
    reader = spark.read.format("delta")
    if version >= 0:
        reader = reader.option("versionAsOf", version)
    return reader.load(path)


def batch_rows_present(spark: SparkSession, path: str, writer_id: str, batch_id: int) -> bool:
    """Whether the Delta table at ``path`` has a row of batch ``batch_id`` of the stream
    ``writer_id`` (its ``_writer_id`` and ``batch_id`` columns)."""
    rows = spark.read.format("delta").load(path)
    match = (F.col("_writer_id") == writer_id) & (F.col("batch_id") == batch_id)
    return bool(rows.where(match).select(F.lit(1)).limit(1).collect())


# One background thread reads table state ahead of the appends that will need it (see
# prefetch_state); at most one read per table is waiting at any time.
_PREFETCH = ThreadPoolExecutor(max_workers=1, thread_name_prefix="lakehouse-delta-prefetch")
_PREFETCH_LOCK = threading.Lock()
_PREFETCHES: dict[str, tuple[Future[None], SparkSession]] = {}
# the Spark job group of the reads ahead: a stream that ends cancels what is running
_PREFETCH_GROUP = "lakehouse-delta-prefetch"
_SETTLING = threading.Event()


def prefetch_state(spark: SparkSession, path: str) -> Future[None]:
    """Read the state of the Delta table at ``path`` in a background thread.

    To find whether an idempotent append was made already, Delta 4.2 reads the table's
    transactions from the state of its newest version, which it reconstructs with three
    Spark jobs (about 0.7 s locally, more on a longer log), although the ``.crc`` file has
    a copy (delta-io/delta#6929 reads that copy; it is in no release up to 4.4.1). Delta
    keeps the state with the version: read ahead, between one batch's append and the next,
    it costs the next append nothing, unless another writer commits to the table in between
    (then Delta reads the newer state inline, as it would without the prefetch).

    The prefetch only reads: what an append writes, and whether it is skipped, Delta decides
    in the append itself. Checkpoints stay Delta's, written by the commit that reaches the
    table's ``delta.checkpointInterval`` (lakehouse.tabledef.CHECKPOINT_INTERVAL explains
    why not here). A prefetch that fails (e.g. the table was dropped) is logged and
    otherwise ignored; the append that follows reads the state itself and reports errors.

    Returns the read's future (the one already queued for ``path``, if any: it will read
    the newest version).
    """
    with _PREFETCH_LOCK:
        waiting, _ = _PREFETCHES.get(path, (None, spark))
        if waiting is not None and not waiting.running() and not waiting.done():
            return waiting
        for done in [p for p, (f, _) in _PREFETCHES.items() if f.done()]:
            del _PREFETCHES[done]
        future = _PREFETCH.submit(_read_state, spark, path)
        _PREFETCHES[path] = (future, spark)
        return future


def _read_state(spark: SparkSession, path: str) -> None:
    # (the job group is the thread's: Spark pins a JVM thread to each Python thread)
    spark.sparkContext.setJobGroup(
        _PREFETCH_GROUP, f"read ahead the state of {path}", interruptOnCancel=False
    )
    try:
        # DESCRIBE DETAIL reads the table's size and file count from the same state
        spark.sql(f"DESCRIBE DETAIL delta.`{path.replace('`', '``')}`").collect()
    except Exception as exc:  # only an optimisation: the append after it reports errors
        if _SETTLING.is_set():
            _log.debug("the read ahead of %s was cancelled: %s", path, exc)
        else:
            _log.warning("prefetching the state of %s failed: %s", path, exc)


def settle_prefetches() -> None:
    """A stream ended: drop the reads ahead not yet started, cancel the Spark jobs of the
    running one, and wait until it has stopped.

    The state it would read was for the stream's next batch, which will not come: at the
    end of a drained stream (``--available-now``, the tests) waiting for it costs about a
    second a table. A cancelled read only leaves the state unread; whoever needs it next
    reads it, as without a read ahead. The running read is cancelled again every 0.2 s
    until it ends, since it may start a job after a cancel (the jobs of a read follow one
    another)."""
    with _PREFETCH_LOCK:
        pending = list(_PREFETCHES.values())
        _PREFETCHES.clear()
    running = [(future, spark) for future, spark in pending if not future.cancel()]
    if not running:
        return
    _SETTLING.set()
    try:
        for future, spark in running:
            while True:
                spark.sparkContext.cancelJobGroup(_PREFETCH_GROUP)
                try:
                    future.exception(timeout=0.2)  # _read_state raises nothing
                    break
                except TimeoutError:
                    continue
    finally:
        _SETTLING.clear()


def wait_for_prefetches() -> None:
    """Wait until the reads ahead that are queued or running have ended (the latency
    benchmark's warm batches: a running stream has the time between two batches for them,
    where :func:`settle_prefetches` at the end of a drained stream would cancel them)."""
    with _PREFETCH_LOCK:
        pending = [future for future, _ in _PREFETCHES.values()]
    for future in pending:
        future.result()  # _read_state raises nothing


def committed_in_session(spark: SparkSession) -> bool:
    """Whether the last :func:`append_idempotent` or :func:`upsert` in this session committed
    (False: an append of a batch the table had already, which ran no Spark job)."""
    return spark.conf.get(_LAST_COMMIT, None) is not None


def _committed_version(spark: SparkSession, path: str) -> int:
    """The version the write just made, read from the session without a Spark job; the
    table's newest version when the write committed nothing (a retried batch)."""
    committed = spark.conf.get(_LAST_COMMIT, None)
    return int(committed) if committed is not None else latest_version(spark, path)


def upsert(df: DataFrame, path: str, keys: Sequence[str]) -> int:
    """Insert or replace rows of the Delta table at ``path`` by ``keys``; return its version.

    Replacing whole rows with freshly computed values makes the write idempotent, so a MERGE
    that conflicts with another writer is simply run again (:func:`with_retries`). The MERGE
    lists the table's files from its state at the newest version (:func:`prefetch_state`
    reads it ahead).
    """
    condition = " AND ".join(f"t.`{k}` = s.`{k}`" for k in keys)
    return merge(
        df,
        path,
        condition,
        lambda m: m.whenMatchedUpdateAll().whenNotMatchedInsertAll(),
        what=f"upsert into {path}",
    )


def replace_where(df: DataFrame, path: str, predicate: str) -> int:
    """Replace the rows of the Delta table at ``path`` that match ``predicate`` (Spark SQL)
    by ``df``, in one commit (Delta's ``replaceWhere``: rows of the files it rewrites that
    do not match stay). Every row of ``df`` must match it: a row that does not fails the
    write before anything is committed, as :class:`RowsOutsideReplace`. Return the version
    written.

    Writing the same rows again leaves the same table, so a write that conflicts with
    another writer is simply run again (:func:`with_retries`). Cheaper than the MERGE of
    :func:`upsert` for rows that replace whole windows: no join of the rows with the table
    (README, Performance)."""
    spark = df.sparkSession
    spark.conf.unset(_LAST_COMMIT)
    # the check Delta would make, optimized (a filter that keeps every row or raises)
    guard = f"CASE WHEN coalesce(({predicate}), false) THEN true ELSE raise_error('{_OUTSIDE}') END"
    checked = df.where(F.expr(guard))
    try:
        with setting(spark, _REPLACE_CHECK, "false"):
            with_retries(
                f"replace {predicate[:80]!r} in {path}",
                lambda: (
                    checked.write.format("delta")
                    .mode("overwrite")
                    .option("replaceWhere", predicate)
                    .save(path)
                ),
            )
    except Exception as exc:
        if has_condition(exc, "USER_RAISED_EXCEPTION") and _OUTSIDE in root_cause(exc):
            raise RowsOutsideReplace(
                f"{path}: a row to write is outside the rows it replaces "
                f"({predicate[:200]}); nothing was written"
            ) from exc
        raise
    return _committed_version(spark, path)


def merge(
    source: DataFrame,
    path: str,
    condition: str | Column,
    clauses: Callable[[DeltaMergeBuilder], DeltaMergeBuilder],
    *,
    what: str,
) -> int:
    """One MERGE of ``source`` (alias ``s``) into the Delta table at ``path`` (alias ``t``) on
    ``condition``, with the ``clauses`` the caller adds to the builder; attempted again on a
    commit conflict (:func:`with_retries`, ``what`` names it). Returns the version written
    (the newest one when the MERGE committed nothing)."""
    spark = source.sparkSession
    spark.conf.unset(_LAST_COMMIT)
    with_retries(
        what,
        lambda: clauses(
            DeltaTable.forPath(spark, path).alias("t").merge(source.alias("s"), condition)
        ).execute(),
    )
    return _committed_version(spark, path)
