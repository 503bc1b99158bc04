"""The tables of a dataset, derived from its contract: ``bronze.<name>``, ``silver.<name>``,
``quarantine.silver_<name>``, ``gold.<table>`` and ``quarantine.gold_<table>``.

Schemas, partitioning, policies (classification, retention from the SLA, minimization,
erasure subject) and monitoring all follow from the contract; nothing here knows a field of
any one dataset.
"""

from __future__ import annotations

import dataclasses

from pyspark.sql.types import (
    ArrayType,
    BinaryType,
    DataType,
    DateType,
    LongType,
    MapType,
    StringType,
    StructField,
    StructType,
    TimestampType,
)

from lakehouse.contracts.model import Dataset, Field, GoldTable
from lakehouse.contracts.types import field_type, nullable
from lakehouse.errors import ContractError
from lakehouse.monitoring.thresholds import Monitoring
from lakehouse.ops import TableDef
from lakehouse.policy import NONE, PII_DIRECT, PII_QUASI, Policy, Retention, Rule, Subject

__all__ = [
    "BRONZE_SCHEMA",
    "PIPELINE_OWNER",
    "bronze_table",
    "dataset_tables",
    "gold_quarantine_table",
    "gold_table",
    "gold_table_names",
    "quarantine_table",
    "silver_table",
]

PIPELINE_OWNER = "data-platform"
_COORDINATE_NAMES = ("_source", "_partition", "_offset")
_COORDINATES: tuple[tuple[str, DataType, bool], ...] = (
    ("_source", StringType(), False),
    ("_partition", StringType(), False),
    ("_offset", LongType(), False),
)
_DEFAULT_RETENTION = {"bronze": 7, "silver": 400, "quarantine": 30}


def _struct(*fields: tuple[str, DataType, bool]) -> StructType:
    return StructType([StructField(n, t, nullable) for n, t, nullable in fields])


def _none(*columns: str) -> dict[str, str]:
    return dict.fromkeys(columns, NONE)


def _days(dataset: Dataset, layer: str) -> int:
    return dataset.sla.retention_days.get(layer, _DEFAULT_RETENTION[layer])


BRONZE_SCHEMA = _struct(
    ("source", StringType(), False),
    ("partition", StringType(), False),
    ("offset", LongType(), False),
    ("key", BinaryType(), True),
    ("payload", BinaryType(), True),
    ("attributes", MapType(StringType(), StringType()), True),
    ("publish_ts", TimestampType(), True),
    ("source_event_ts", TimestampType(), True),
    ("ingest_ts", TimestampType(), False),
    ("ingest_date", DateType(), False),
    ("batch_id", LongType(), False),
)


def bronze_table(dataset: Dataset) -> TableDef:
    """The raw envelope of every event received, with its source coordinates; append only."""
    return TableDef(
        name=f"bronze.{dataset.name}",
        schema=BRONZE_SCHEMA,
        partition_by=("ingest_date",),
        description=(
            "Raw envelope of every event received, with its source coordinates; append only."
        ),
        monitoring=Monitoring(null_columns=("payload", "publish_ts")),
        policy=Policy(
            owner=PIPELINE_OWNER,
            columns={
                **_none("source", "partition", "offset", "publish_ts", "source_event_ts"),
                "key": PII_DIRECT,  # a source message key may be the subject's id
                "payload": PII_DIRECT,  # the raw event
                "attributes": PII_QUASI,
                **_none("ingest_ts", "ingest_date", "batch_id"),
            },
            retention=Retention.window("ingest_ts", _days(dataset, "bronze")),
            subject=(
                Subject(
                    "payload",
                    "payload",
                    ("source", "partition", "offset"),
                    "key",
                    payload_field=dataset.subject_field,
                )
                if dataset.subject_field
                else None
            ),
        ),
    )


def _silver_columns(dataset: Dataset) -> list[tuple[str, DataType, bool]]:
    columns: list[tuple[str, DataType, bool]] = []
    contract = dataset.folder / "contract.yaml"
    for f in dataset.silver_fields():
        data_type = nullable(field_type(f, f"{contract}: {f.name}"))
        columns.append((f.name, data_type, not f.required))
        if f.name == dataset.event_time_field:
            columns.append(("event_date", DateType(), False))
    return columns


def _minimization(dataset: Dataset, fields: tuple[Field, ...]) -> tuple[Rule, ...]:
    rules = [Rule(f.name, f.minimize, f.keys) for f in fields if f.minimize is not None]
    if dataset.rescued_drop_keys:
        rules.append(Rule("rescued_data", "drop_keys", dataset.rescued_drop_keys))
    return tuple(rules)


def _monitoring(dataset: Dataset, fields: tuple[Field, ...]) -> Monitoring:
    def role(name: str) -> tuple[str, ...]:
        return tuple(f.name for f in fields if name in f.monitor)

    extra: dict[str, object] = {}
    if dataset.sla.freshness_seconds is not None:
        extra["freshness_warning_seconds"] = dataset.sla.freshness_seconds
        extra["freshness_critical_seconds"] = 4 * dataset.sla.freshness_seconds
    known = {f.name for f in dataclasses.fields(Monitoring)} - {
        "null_columns",
        "distinct_columns",
        "numeric_columns",
        "category_columns",
        "event_time",
        "rescued",
    }
    unknown = sorted(set(dataset.monitoring) - known)
    if unknown:
        raise ContractError(
            f"{dataset.folder / 'contract.yaml'}: customProperties monitoring: unknown key(s) "
            f"{', '.join(unknown)}; valid keys are {', '.join(sorted(known))}"
        )
    extra.update(dataset.monitoring)
    return Monitoring(
        null_columns=tuple(f.name for f in fields if not f.required and "off" not in f.monitor),
        distinct_columns=role("distinct"),
        numeric_columns=role("numeric"),
        category_columns=role("category"),
        event_time=dataset.event_time_field,
        rescued="rescued_data",
        **extra,  # type: ignore[arg-type]
    )


def silver_table(dataset: Dataset) -> TableDef:
    """Parsed, typed, deduplicated, minimized events of every schema version."""
    fields = dataset.silver_fields()
    subject = None
    if dataset.subject_field is not None:
        subject_field = next(f for f in fields if f.name == dataset.subject_field)
        if subject_field.minimize != "pseudonymize":
            raise ContractError(
                f"{dataset.folder / 'contract.yaml'}: subjectField {subject_field.name!r} must "
                "be pseudonymized in silver (minimize: pseudonymize): erasure finds silver "
                "rows by pseudonym"
            )
        subject = Subject(dataset.subject_field, "pseudonym", _COORDINATE_NAMES)
    return TableDef(
        name=f"silver.{dataset.name}",
        schema=_struct(
            *_silver_columns(dataset),
            ("rescued_data", MapType(StringType(), StringType()), True),
            *_COORDINATES,
            ("_ingest_ts", TimestampType(), False),
            ("_processed_ts", TimestampType(), False),
            ("_writer_id", StringType(), False),
            ("_batch_id", LongType(), False),
        ),
        partition_by=("event_date",),
        description=f"{dataset.name}: parsed, typed, deduplicated, minimized ({dataset.purpose})",
        monitoring=_monitoring(dataset, fields),
        policy=Policy(
            owner=dataset.owner,
            columns={
                **{f.name: f.classification for f in fields},
                "event_date": NONE,
                "rescued_data": PII_QUASI,  # unknown fields, without the dropped keys
                **_none(
                    *_COORDINATE_NAMES, "_ingest_ts", "_processed_ts", "_writer_id", "_batch_id"
                ),
            },
            retention=Retention.window(dataset.event_time_field, _days(dataset, "silver")),
            minimization=_minimization(dataset, fields),
            subject=subject,
        ),
    )


def quarantine_table(dataset: Dataset) -> TableDef:
    """Bronze rows refused by silver, with every reason; the raw payload kept for replay."""
    return TableDef(
        name=f"quarantine.silver_{dataset.name}",
        schema=_struct(
            *_COORDINATES,
            ("payload", BinaryType(), True),
            (dataset.id_field, StringType(), True),
            *(((dataset.subject_field, StringType(), True),) if dataset.subject_field else ()),
            ("reason", StringType(), False),
            ("reasons", ArrayType(StringType(), False), False),
            ("_ingest_ts", TimestampType(), False),
            ("quarantine_ts", TimestampType(), False),
            ("quarantine_date", DateType(), False),
            ("_writer_id", StringType(), False),
            ("_batch_id", LongType(), False),
        ),
        partition_by=("quarantine_date",),
        description=f"Bronze rows of {dataset.name} refused by silver, with every reason.",
        policy=Policy(
            owner=PIPELINE_OWNER,
            columns={
                **_none(*_COORDINATE_NAMES),
                "payload": PII_DIRECT,  # kept raw for replay after a fix
                dataset.id_field: NONE,
                **(
                    {dataset.subject_field: "pii_pseudonymous"}  # the pseudonym of the raw id
                    if dataset.subject_field
                    else {}
                ),
                **_none("reason", "reasons", "_ingest_ts", "quarantine_ts", "quarantine_date"),
                **_none("_writer_id", "_batch_id"),
            },
            retention=Retention.window("quarantine_ts", _days(dataset, "quarantine")),
            subject=(
                Subject(
                    "payload", "payload", _COORDINATE_NAMES, payload_field=dataset.subject_field
                )
                if dataset.subject_field
                else None
            ),
        ),
    )


_GOLD_RETENTION = Retention.keep("aggregates without personal data")


def gold_table_names(gold: GoldTable) -> tuple[str, str]:
    """The catalog names of a gold table and of its quarantine table (known before Spark
    analyses the SQL)."""
    return f"gold.{gold.name}", f"quarantine.gold_{gold.name}"


def gold_table(gold: GoldTable, columns: StructType) -> TableDef:
    """A gold table whose query's output is ``columns`` (Spark's analysis of the SQL file),
    plus ``updated_ts``; its columns are classified ``none`` unless the header says."""
    unknown = sorted(set(gold.classification) - set(columns.fieldNames()))
    if unknown:
        raise ContractError(
            f"{gold.path}: classification names column(s) {', '.join(unknown)} the query does "
            f"not return; it returns {', '.join(columns.fieldNames())}"
        )
    missing = [k for k in gold.keys if k not in columns.fieldNames()]
    if missing:
        raise ContractError(
            f"{gold.path}: keys {', '.join(missing)} are not columns of the query; it returns "
            f"{', '.join(columns.fieldNames())}"
        )
    schema = StructType(
        [
            *[
                StructField(f.name, f.dataType, f.nullable and f.name not in gold.keys)
                for f in columns
            ],
            StructField("updated_ts", TimestampType(), False),
        ]
    )
    classes = {c: gold.classification.get(c, NONE) for c in schema.fieldNames()}
    numeric = tuple(
        f.name
        for f in columns
        if f.name not in gold.keys
        and classes[f.name] == NONE
        and f.dataType.typeName() in ("long", "integer", "decimal", "double")
    )
    categories = tuple(
        k
        for k in gold.keys
        if k != gold.window_key
        and isinstance(columns[k].dataType, StringType)
        and classes[k] == NONE
    )
    return TableDef(
        name=gold_table_names(gold)[0],
        schema=schema,
        partition_by=(),
        description=gold.description,
        monitoring=Monitoring(numeric_columns=numeric, category_columns=categories, volume=False),
        policy=Policy(owner=gold.owner, columns=classes, retention=_GOLD_RETENTION),
    )


def gold_quarantine_table(gold: TableDef) -> TableDef:
    """Rows of a gold table refused by its gate, with the reasons."""
    return TableDef(
        name=f"quarantine.gold_{gold.short_name}",
        schema=StructType(
            [
                *gold.schema.fields,
                *_struct(
                    ("reason", StringType(), False),
                    ("reasons", ArrayType(StringType(), False), False),
                    ("quarantine_ts", TimestampType(), False),
                    ("_writer_id", StringType(), False),
                    ("_batch_id", LongType(), False),
                ).fields,
            ]
        ),
        partition_by=(),
        description=f"Rows of {gold.name} refused by the silver->gold gate, with reasons.",
        policy=Policy(
            owner=gold.policy.owner,
            columns={
                **gold.policy.columns,
                **_none("reason", "reasons", "quarantine_ts", "_writer_id", "_batch_id"),
            },
            retention=Retention.window("quarantine_ts", 30),
        ),
    )


def dataset_tables(dataset: Dataset) -> tuple[TableDef, ...]:
    """The bronze, silver and quarantine tables of a dataset (gold needs Spark's analysis of
    the SQL: :func:`gold_table`)."""
    return (bronze_table(dataset), silver_table(dataset), quarantine_table(dataset))
