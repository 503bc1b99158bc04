"""The quality gate of a job's promotions: the suite of each, loaded once, run on the rows a
batch would promote, and the split into rows to promote and rows to quarantine."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pyspark.sql import Column, DataFrame

from lakehouse.config import LakehouseConfig
from lakehouse.io.batch_stats import BatchStats, timed
from lakehouse.ops import TableDef
from lakehouse.quality.fast import compile_suite
from lakehouse.quality.gate import apply_gate, decide
from lakehouse.quality.runner import run_suite
from lakehouse.quality.suites import SuiteFile, find_suite, load_suite

__all__ = ["Gates"]


class Gates:
    """The gates of one job: its suites (loaded at first use) and the tables they judged
    (whose quality results the batch log's ops rows carry)."""

    def __init__(self, config: LakehouseConfig) -> None:
        self.config = config
        self._suites: dict[str, SuiteFile] = {}
        self.judged: dict[str, TableDef] = {}

    def suite(self, name: str) -> SuiteFile | None:
        """The suite of a promotion, loaded once; None when the gates are off."""
        if not self.config.quality.enabled:
            return None
        if name not in self._suites:
            folder = Path(self.config.quality.suite_dir)
            self._suites[name] = load_suite(find_suite(name, folder))
        return self._suites[name]

    def judge(
        self,
        df: DataFrame,
        *,
        table: TableDef,
        suite_name: str,
        keys: Sequence[str],
        batch_id: int,
        stats: BatchStats,
        parameters: dict[str, Any] | None = None,
        also: Mapping[str, Column] | None = None,
    ) -> tuple[DataFrame, DataFrame | None, dict[str, Any] | None]:
        """Validate ``df`` with the promotion's suite and split it: rows to promote, rows to
        quarantine with ``_gate_reasons`` (None when the gates are off), and, when ``also``
        is given (aggregates by name), their values over ``df`` and ``"rows"`` from the fast
        gate's own job (:func:`~lakehouse.quality.runner.run_suite`; None when it computed
        none). The decision is in ``stats``; a strict gate raises on a failure."""
        suite = self.suite(suite_name)
        if suite is None:
            return df, None, None
        self.judged[table.name] = table
        engine = self.config.quality.engine
        uses_ge = engine == "great_expectations" or not compile_suite(suite, parameters).complete
        if uses_ge:
            df = df.persist()  # GE computes each metric as its own Spark job
        try:
            with timed(stats, f"gate {table.name}"):
                run = run_suite(df, suite, parameters, keys, engine, also=None if uses_ge else also)
        finally:
            if uses_ge:
                df.unpersist()
        decision = decide(table.name, run.outcomes)
        stats.decisions.append(decision)
        if self.config.quality.strict:
            decision.check_strict(batch_id)
        if decision.block_reason:
            stats.blocked_reasons.append(f"{table.name}: {decision.block_reason}")
        promoted, gated = apply_gate(df, decision, keys, run.checks)
        return promoted, gated, dict(run.seen) if run.seen is not None else None
