"""A dataset as the platform runs it: what a data contract folder declares, validated and typed.

Pure definitions (no Spark): :mod:`lakehouse.contracts.load` builds them from the files of
``datasets/<name>/``; :mod:`lakehouse.contracts.types` turns field types into Spark types.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "LOGICAL_TYPES",
    "MINIMIZE_ACTIONS",
    "MONITOR_ROLES",
    "NORMALIZERS",
    "Dataset",
    "Field",
    "GoldTable",
    "SchemaVersion",
    "Servers",
    "Sla",
]

# ODCS logical types the platform parses (``time`` and ``vector`` have no Spark type here)
LOGICAL_TYPES = (
    "string",
    "integer",
    "number",
    "boolean",
    "date",
    "timestamp",
    "object",
    "array",
    "map",
)
NORMALIZERS = ("none", "trim", "lower", "upper")
MINIMIZE_ACTIONS = ("pseudonymize", "truncate_ip", "keep_keys", "drop_keys")
MONITOR_ROLES = ("category", "numeric", "distinct", "off")


@dataclass(frozen=True)
class Field:
    """One field of an event: its type, whether it must be there, how silver treats it.

    ``physical_type`` is the Spark type when the logical type does not say it all
    (``decimal(18,2)``, ``int``, ``map<string,string>``); ``children`` are an object's
    fields; ``items`` the element of an array. ``classification`` is that of the value
    silver stores (after minimization).
    """

    name: str
    logical_type: str
    required: bool = False
    classification: str = "none"
    physical_type: str | None = None
    description: str = ""
    allowed: tuple[str, ...] = ()
    primary_key: bool = False
    normalize: str = "none"
    minimize: str | None = None
    keys: tuple[str, ...] = ()
    monitor: tuple[str, ...] = ()
    children: tuple[Field, ...] = ()
    items: Field | None = None


@dataclass(frozen=True)
class SchemaVersion:
    """The fields of one version of the event schema (the value of the version field)."""

    version: int
    name: str
    fields: tuple[Field, ...]

    def field(self, name: str) -> Field | None:
        return next((f for f in self.fields if f.name == name), None)


@dataclass(frozen=True)
class Servers:
    """Where the dataset's events come from, per source type (the rest is in ``[source]``)."""

    landing_path: str | None = None  # relative to [source] landing_path, or absolute
    kafka_topics: tuple[str, ...] = ()
    pubsublite_subscription: str | None = None
    pubsub_subscription: str | None = None  # projects/P/subscriptions/S


@dataclass(frozen=True)
class Sla:
    """What the pipeline enforces: freshness (seconds) and retention per layer (days)."""

    freshness_seconds: int | None = None
    retention_days: dict[str, int] = field(default_factory=dict)  # bronze|silver|quarantine


@dataclass(frozen=True)
class GoldTable:
    """A gold table: a Spark SQL query over the dataset's silver rows (``{silver}``)."""

    name: str
    sql: str
    path: Path
    description: str
    owner: str
    keys: tuple[str, ...]
    window_key: str
    window_expr: str  # the same key computed from a silver row
    suite: str
    classification: dict[str, str] = field(default_factory=dict)  # default: none


@dataclass(frozen=True)
class Dataset:
    """A dataset declared by a data contract folder."""

    name: str
    version: str
    status: str
    owner: str
    contact: str
    purpose: str
    folder: Path
    id_field: str
    event_time_field: str
    version_field: str
    subject_field: str | None
    versions: tuple[SchemaVersion, ...]
    servers: Servers
    sla: Sla
    dedup_window: str | None  # None: the [silver] default
    max_lateness: str | None
    max_future_skew: str | None
    silver_suite: str
    rescued_drop_keys: tuple[str, ...]
    gold: tuple[GoldTable, ...]
    monitoring: dict[str, object] = field(default_factory=dict)
    content: bytes = b""  # the contract file as read, for its hash

    @property
    def latest(self) -> SchemaVersion:
        return max(self.versions, key=lambda v: v.version)

    @property
    def content_hash(self) -> str:
        """SHA-256 of the contract and its gold SQL files, as recorded in ``ops.contracts``."""
        digest = hashlib.sha256(self.content)
        for gold in self.gold:
            digest.update(gold.name.encode() + b"\0" + gold.sql.encode())
        return digest.hexdigest()

    def silver_fields(self) -> tuple[Field, ...]:
        """Every field of every version, once, newest definition first: silver's columns."""
        seen: dict[str, Field] = {}
        for version in sorted(self.versions, key=lambda v: -v.version):
            for f in version.fields:
                seen.setdefault(f.name, f)
        order = [f.name for v in sorted(self.versions, key=lambda v: v.version) for f in v.fields]
        names = list(dict.fromkeys(order))
        required_everywhere = {
            f.name for f in seen.values() if all(_required(v, f.name) for v in self.versions)
        }
        return tuple(_with_required(seen[n], n in required_everywhere) for n in names)


def _required(version: SchemaVersion, name: str) -> bool:
    f = version.field(name)
    return f is not None and f.required


def _with_required(f: Field, required: bool) -> Field:
    if f.required == required:
        return f
    from dataclasses import replace

    return replace(f, required=required)
