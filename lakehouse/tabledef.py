"""A Delta table of the lake as data: :class:`TableDef` (catalog name, schema, partitions,
description, data policy, monitoring), checked when it is declared.

The platform's own tables are in :mod:`lakehouse.ops`; the tables of each dataset follow from
its contract folder (:mod:`lakehouse.contracts.tables`, :mod:`lakehouse.platform`).
"""

from __future__ import annotations

from dataclasses import dataclass

from pyspark.sql.types import (
    AtomicType,
    BinaryType,
    DataType,
    StructField,
    StructType,
)

from lakehouse.errors import PolicyError
from lakehouse.monitoring.thresholds import Monitoring
from lakehouse.policy import (
    NONE,
    PII_DIRECT,
    PII_PSEUDONYMOUS,
    PII_QUASI,
    Policy,
)

__all__ = ["CHECKPOINT_INTERVAL", "PIPELINE_OWNER", "TableDef", "none_columns", "struct"]


# Delta's checkpoint interval, stated on every table so that lakes that had another value
# (100, 2026-12-05) are set back at registration. A commit that reaches it writes the
# checkpoint inline (1.1-1.6 s of that batch on a small table here). Written instead by the
# thread that reads state ahead, after a batch's log, it cost no batch anything measured
# alone, but with the three layers streaming side by side on two cores every such run was
# slower end to end than every inline one (freshness p50 3-4 s later; README, Performance).
CHECKPOINT_INTERVAL = 10


@dataclass(frozen=True)
class TableDef:
    """A Delta table of the lake: its catalog name, schema, partition columns and data policy.

    Every column must be classified by the policy: adding a column without a classification
    is an error at import time. ``monitoring`` (optional) says which metrics of the rows a
    batch promotes are recorded and when its anomaly detectors speak.
    """

    name: str
    schema: StructType
    partition_by: tuple[str, ...]
    description: str
    policy: Policy
    monitoring: Monitoring | None = None

    def __post_init__(self) -> None:
        columns = self.schema.fieldNames()
        unclassified = [c for c in columns if c not in self.policy.columns]
        unknown = [c for c in self.policy.columns if c not in columns]
        if unclassified or unknown:
            raise PolicyError(
                f"policy of {self.name}: unclassified column(s) {unclassified}, unknown "
                f"column(s) {unknown}; classify every column of the schema as one of "
                f"{PII_DIRECT}, {PII_PSEUDONYMOUS}, {PII_QUASI}, {NONE}"
            )
        referenced = [r.column for r in self.policy.minimization]
        if self.policy.retention.column is not None:
            referenced.append(self.policy.retention.column)
        if self.policy.subject is not None:
            referenced += [self.policy.subject.column, *self.policy.subject.row_key]
        missing = [c for c in referenced if c not in columns]
        if missing:
            raise PolicyError(f"policy of {self.name}: column(s) {missing} are not in the schema")
        if self.monitoring is not None:
            self._check_monitoring(self.monitoring, columns)

    def _check_monitoring(self, monitoring: Monitoring, columns: list[str]) -> None:
        absent = [c for c in monitoring.columns if c not in columns]
        if absent:
            raise PolicyError(
                f"monitoring of {self.name}: column(s) {absent} are not in the schema; "
                f"choose from {', '.join(columns)}"
            )
        # values of these columns are copied into ops.table_metrics: no personal data
        personal = [
            c
            for c in (*monitoring.category_columns, *monitoring.numeric_columns)
            if self.policy.columns[c] != NONE
        ]
        if personal:
            raise PolicyError(
                f"monitoring of {self.name}: column(s) {personal} hold personal data; their "
                "values would be copied into ops.table_metrics: watch their null rate or "
                "distinct count instead"
            )

    @property
    def stats_columns(self) -> tuple[str, ...]:
        """Columns whose min/max statistics Delta may keep in its log: no personal data
        (partition columns are never in the statistics, their values are in file paths)."""
        return tuple(
            f.name
            for f in self.schema.fields
            if self.policy.columns[f.name] == NONE
            and f.name not in self.partition_by
            and isinstance(f.dataType, AtomicType)
            and not isinstance(f.dataType, BinaryType)
        )

    @property
    def properties(self) -> dict[str, str]:
        """The Delta table properties the policy asks for."""
        policy = self.policy
        props = {
            "delta.enableDeletionVectors": "true",
            "delta.deletedFileRetentionDuration": (
                f"interval {policy.deleted_file_retention_days} days"
            ),
            "delta.logRetentionDuration": f"interval {policy.log_retention_days} days",
            "delta.checkpointInterval": str(CHECKPOINT_INTERVAL),
            "lakehouse.owner": policy.owner,
        }
        if policy.personal_columns:
            # min/max statistics of personal columns would copy values into _delta_log
            props["delta.dataSkippingStatsColumns"] = ",".join(self.stats_columns)
        return props

    @property
    def layer(self) -> str:
        return self.name.split(".", 1)[0]

    @property
    def short_name(self) -> str:
        return self.name.split(".", 1)[1]


def struct(*fields: tuple[str, DataType, bool]) -> StructType:
    return StructType([StructField(n, t, nullable) for n, t, nullable in fields])


def none_columns(*columns: str) -> dict[str, str]:
    return dict.fromkeys(columns, NONE)


PIPELINE_OWNER = "data-platform"
