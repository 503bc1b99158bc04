"""The quality gate of a promotion: what GE's verdicts mean for the rows of a micro-batch.

GE's ``severity`` decides the action:

- ``critical`` row-level failures: the failing rows go to quarantine with the failed
  expectations as reasons; the rest is promoted;
- ``critical`` table-level failures (row count, uniqueness, aggregates): the whole batch is
  blocked and goes to quarantine; the stream keeps running;
- ``warning`` and ``info``: recorded only.

In strict mode any critical failure stops the stream with :class:`GateFailed` instead.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import ArrayType, StringType, StructField, StructType

from lakehouse.errors import LakehouseError
from lakehouse.frames import local_frame
from lakehouse.quality.validate import Outcome

__all__ = [
    "BLOCK_PREFIX",
    "GATE_REASONS",
    "REASON_PREFIX",
    "GateDecision",
    "GateFailed",
    "apply_gate",
    "decide",
]

REASON_PREFIX = "expectation_failed:"
BLOCK_PREFIX = "batch_blocked:"
GATE_REASONS = "_gate_reasons"
_GE_REASONS = "_ge_reasons"


class GateFailed(LakehouseError):
    """Strict mode: a critical expectation failed, so the stream stops."""


@dataclass(frozen=True)
class GateDecision:
    """What the gate does with a batch, from GE's outcomes."""

    table: str
    outcomes: tuple[Outcome, ...]

    @property
    def critical_failures(self) -> tuple[Outcome, ...]:
        return tuple(o for o in self.outcomes if not o.success and o.severity == "critical")

    @property
    def blocked_by(self) -> tuple[str, ...]:
        """Labels of the critical table-level failures; non-empty means the batch is blocked."""
        return tuple(o.label for o in self.critical_failures if not o.row_level)

    @property
    def blocked(self) -> bool:
        return bool(self.blocked_by)

    @property
    def refuses_rows(self) -> bool:
        """Whether the batch is split: some rows fail a critical row-level expectation and
        the batch is not blocked (a blocked batch is refused whole; otherwise every row is
        promoted)."""
        return not self.blocked and any(o.row_level for o in self.critical_failures)

    @property
    def block_reason(self) -> str | None:
        return BLOCK_PREFIX + ",".join(self.blocked_by) if self.blocked else None

    def action(self, outcome: Outcome) -> str:
        """What this outcome did: passed, recorded, quarantined_rows or blocked_batch."""
        if outcome.success:
            return "passed"
        if outcome.severity != "critical":
            return "recorded"
        return "quarantined_rows" if outcome.row_level else "blocked_batch"

    def check_strict(self, batch_id: int) -> None:
        """Raise :class:`GateFailed` naming every critical failure."""
        if self.critical_failures:
            failed = "; ".join(
                f"{o.label} ({o.unexpected_count if o.unexpected_count is not None else 'n/a'} "
                f"unexpected, observed {o.observed_value})"
                for o in self.critical_failures
            )
            raise GateFailed(
                f"strict quality gate: batch {batch_id} of {self.table} failed critical "
                f"expectation(s) {failed}; the batch was not committed and will be retried "
                "on restart (set quality.strict = false to quarantine instead)"
            )


def decide(table: str, outcomes: Sequence[Outcome]) -> GateDecision:
    """The gate's decision for one table's batch."""
    return GateDecision(table, tuple(outcomes))


def _failures(
    spark: SparkSession, outcomes: Sequence[Outcome], keys: Sequence[str], key_schema: StructType
) -> DataFrame:
    """Keys of the rows GE found failing, with the reasons (labels) they fail."""
    reasons: dict[tuple[object, ...], list[str]] = {}
    for outcome in outcomes:
        for item in outcome.failing_keys:
            key = tuple(item.get(k) for k in keys)
            labels = reasons.setdefault(key, [])
            if REASON_PREFIX + outcome.label not in labels:
                labels.append(REASON_PREFIX + outcome.label)
    schema = StructType(
        [
            *[StructField(f"_k_{k}", key_schema[k].dataType, True) for k in keys],
            StructField(_GE_REASONS, ArrayType(StringType(), False), False),
        ]
    )
    return local_frame(spark, [(*key, labels) for key, labels in reasons.items()], schema)


def apply_gate(
    batch: DataFrame,
    decision: GateDecision,
    keys: Sequence[str],
    checks: Mapping[int, Column] | None = None,
) -> tuple[DataFrame, DataFrame]:
    """Split ``batch`` into rows to promote and rows to quarantine (with ``_gate_reasons``).

    A row fails a critical row-level expectation when the expectation's check in ``checks``
    (keyed by its index in ``decision.outcomes``, from the fast gate) is true for it, or
    when GE listed its ``keys`` among the expectation's failing rows. A blocked batch is
    quarantined whole, each row with the blocking expectations as reason followed by any
    row-level failures of its own.
    """
    checks = checks or {}
    failing = [
        (i, o)
        for i, o in enumerate(decision.outcomes)
        if o.row_level and not o.success and o.severity == "critical"
    ]
    listed = [o for i, o in failing if i not in checks and o.failing_keys]
    joined = batch
    if listed:  # only GE's failing rows need a join; the fast checks are expressions
        failures = _failures(batch.sparkSession, listed, keys, batch.schema)
        on: Column = F.lit(True)
        for k in keys:
            on = on & batch[k].eqNullSafe(failures[f"_k_{k}"])
        joined = batch.join(F.broadcast(failures), on, "left").drop(*[f"_k_{k}" for k in keys])
    labels: list[Column] = []
    for i, outcome in failing:
        label = REASON_PREFIX + outcome.label
        if i in checks:
            fails = checks[i]
        elif outcome.failing_keys:
            fails = F.coalesce(F.array_contains(F.col(_GE_REASONS), label), F.lit(False))
        else:
            continue
        labels.append(F.when(fails, F.lit(label)))
    if not labels and not decision.blocked:  # nothing to refuse: no per-row work at all
        empty = F.array().cast("array<string>")
        return batch, batch.limit(0).withColumn(GATE_REASONS, empty)
    # the labels without nulls and repeats; not filter(), a lambda function, which Spark
    # evaluates row by row without generated code with the checks below it
    own = (
        F.array_except(F.array(*labels), F.array(F.lit(None).cast("string")))
        if labels
        else F.array().cast("array<string>")
    )
    if decision.blocked:
        assert decision.block_reason is not None
        refused = joined.withColumn(
            GATE_REASONS, F.concat(F.array(F.lit(decision.block_reason)), own)
        )
        if listed:
            refused = refused.drop(_GE_REASONS)
        return refused.limit(0).drop(GATE_REASONS), refused
    marked = joined.withColumn(GATE_REASONS, own)
    if listed:
        marked = marked.drop(_GE_REASONS)
    promoted = marked.where(F.size(GATE_REASONS) == 0).drop(GATE_REASONS)
    refused = marked.where(F.size(GATE_REASONS) > 0)
    return promoted, refused
