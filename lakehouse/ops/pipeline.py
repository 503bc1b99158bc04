"""The ops tables the pipeline writes as it runs: the batch log, quality results, table
metrics, anomalies, bad landing files and the contracts the jobs ran with."""

from __future__ import annotations

from pyspark.sql.types import (
    ArrayType,
    BooleanType,
    DateType,
    DoubleType,
    IntegerType,
    LongType,
    MapType,
    StringType,
    TimestampType,
)

from lakehouse.policy import (
    Policy,
    Retention,
)
from lakehouse.tabledef import PIPELINE_OWNER, TableDef, none_columns, struct

COST_COLUMNS = (
    ("input_bytes", LongType(), True),
    ("output_bytes", LongType(), True),
    ("shuffle_read_bytes", LongType(), True),
    ("shuffle_write_bytes", LongType(), True),
    ("task_cpu_ms", LongType(), True),
    ("task_run_ms", LongType(), True),
    ("spark_jobs", IntegerType(), True),
    ("spark_stages", IntegerType(), True),
    # files the batch's queries scanned (a file scanned twice counts twice), Delta log files
    # a state reconstruction in the batch read included (lakehouse.cost.capture)
    ("files_read", LongType(), True),
    # data files the batch's commits added to the layer tables, quarantine and ops.bad_files;
    # not the ops rows the batch log step writes (lakehouse.io.batch BatchWriter.log), not a
    # file only given a deletion vector; 0 for a retried batch whose writes were all skipped
    ("files_written", LongType(), True),
)

BATCH_LOG = TableDef(
    name="ops.batch_log",
    schema=struct(
        ("job", StringType(), False),
        ("dataset", StringType(), True),  # none for jobs of the whole lake (maintenance)
        ("batch_id", LongType(), False),
        ("started_ts", TimestampType(), False),
        ("finished_ts", TimestampType(), False),
        ("duration_ms", LongType(), False),
        ("rows_in", LongType(), False),
        ("rows_out", LongType(), False),
        ("rows_quarantined", LongType(), False),
        ("status", StringType(), False),
        ("blocked_reason", StringType(), True),
        ("source_offsets", StringType(), True),
        ("versions_written", MapType(StringType(), LongType()), True),
        ("step_ms", MapType(StringType(), LongType()), True),
        ("contract_hash", StringType(), True),  # the dataset contract the batch ran with
        ("key_version", StringType(), True),  # the pseudonym key's version (silver batches)
        # bronze-pubsub: the subscription's backlog (Cloud Monitoring, sampled), else null
        ("source_backlog_messages", LongType(), True),
        ("source_backlog_oldest_s", LongType(), True),
        # Spark task metrics of the batch's jobs (lakehouse.cost.capture); null in rows
        # written before they were recorded and in rows of jobs that do not measure them
        *COST_COLUMNS,
        # the stream that wrote the row (``job:query id``, as in the other ops tables): a
        # batch that runs again after a restart finds its row by it; null in rows of lakes
        # written before it was recorded and in rows no stream wrote
        ("_writer_id", StringType(), True),
    ),
    partition_by=(),
    description="One row per micro-batch of every job of every dataset.",
    policy=Policy(
        owner=PIPELINE_OWNER,
        columns=none_columns(
            "job",
            "dataset",
            "batch_id",
            "started_ts",
            "finished_ts",
            "duration_ms",
            "rows_in",
            "rows_out",
            "rows_quarantined",
            "status",
            "blocked_reason",
            "source_offsets",
            "versions_written",
            "step_ms",
            "contract_hash",
            "key_version",
            "source_backlog_messages",
            "source_backlog_oldest_s",
            *(name for name, _, _ in COST_COLUMNS),
            "_writer_id",
        ),
        retention=Retention.window("finished_ts", 400),
    ),
)

QUALITY_RESULTS = TableDef(
    name="ops.quality_results",
    schema=struct(
        ("job", StringType(), False),
        ("table_name", StringType(), False),
        ("batch_id", LongType(), False),
        ("suite", StringType(), False),
        ("expectation_type", StringType(), False),
        ("kwargs", StringType(), False),
        ("column_name", StringType(), True),
        ("severity", StringType(), False),
        ("row_level", BooleanType(), False),
        ("success", BooleanType(), False),
        ("observed_value", StringType(), True),
        ("unexpected_count", LongType(), True),
        ("unexpected_percent", DoubleType(), True),
        ("action", StringType(), False),
        ("validated_ts", TimestampType(), False),
        ("_writer_id", StringType(), False),
    ),
    partition_by=(),
    description="One row per micro-batch and expectation: Great Expectations verdicts.",
    policy=Policy(
        owner=PIPELINE_OWNER,
        columns=none_columns(
            "job",
            "table_name",
            "batch_id",
            "suite",
            "expectation_type",
            "kwargs",
            "column_name",
            "severity",
            "row_level",
            "success",
            # observed values of expectations on personal columns are not recorded
            "observed_value",
            "unexpected_count",
            "unexpected_percent",
            "action",
            "validated_ts",
            "_writer_id",
        ),
        retention=Retention.window("validated_ts", 400),
    ),
)

TABLE_METRICS = TableDef(
    name="ops.table_metrics",
    schema=struct(
        ("table_name", StringType(), False),
        ("job", StringType(), False),
        ("batch_id", LongType(), False),
        ("batch_ts", TimestampType(), False),
        ("batch_date", DateType(), False),
        ("rows", LongType(), False),
        ("rows_in", LongType(), False),
        ("rows_quarantined", LongType(), False),
        ("quarantine_rate", DoubleType(), False),
        ("null_rates", MapType(StringType(), DoubleType(), False), False),
        ("distinct_counts", MapType(StringType(), LongType(), False), False),
        ("means", MapType(StringType(), DoubleType(), False), False),
        ("numeric_counts", MapType(StringType(), LongType(), False), False),
        ("quantiles", MapType(StringType(), ArrayType(DoubleType(), False), False), False),
        (
            "category_counts",
            MapType(StringType(), MapType(StringType(), LongType(), False), False),
            False,
        ),
        ("rescued_keys", ArrayType(StringType(), False), False),
        ("max_event_ts", TimestampType(), True),
        ("event_lag_seconds", DoubleType(), True),
        ("_writer_id", StringType(), False),
        # code field -> control and format characters removed at silver (null: older rows)
        ("characters_removed", MapType(StringType(), LongType(), False), True),
    ),
    partition_by=(),
    description="One row per micro-batch and monitored table: the metrics anomaly detection reads.",
    policy=Policy(
        owner=PIPELINE_OWNER,
        # rates, counts and sketches; category values only of columns classified none
        # (TableDef checks the monitored tables), field names of the rescued data
        columns=none_columns(
            "table_name",
            "job",
            "batch_id",
            "batch_ts",
            "batch_date",
            "rows",
            "rows_in",
            "rows_quarantined",
            "quarantine_rate",
            "null_rates",
            "distinct_counts",
            "means",
            "numeric_counts",
            "quantiles",
            "category_counts",
            "rescued_keys",
            "max_event_ts",
            "event_lag_seconds",
            "_writer_id",
            "characters_removed",
        ),
        retention=Retention.window("batch_ts", 400),
    ),
)

ANOMALIES = TableDef(
    name="ops.anomalies",
    schema=struct(
        ("finding_id", StringType(), False),
        ("table_name", StringType(), False),
        ("job", StringType(), False),
        ("batch_id", LongType(), False),
        ("detector", StringType(), False),
        ("metric", StringType(), False),
        ("severity", StringType(), False),
        ("expected_low", DoubleType(), True),
        ("expected_high", DoubleType(), True),
        ("observed", DoubleType(), True),
        ("message", StringType(), False),
        ("detected_ts", TimestampType(), False),
        ("status", StringType(), False),
        ("resolved_ts", TimestampType(), True),
        ("blocked", BooleanType(), False),
        ("_writer_id", StringType(), False),
    ),
    partition_by=(),
    description="Anomaly and drift findings: detector, metric, severity, expected range, observed.",
    policy=Policy(
        owner=PIPELINE_OWNER,
        columns=none_columns(
            "finding_id",
            "table_name",
            "job",
            "batch_id",
            "detector",
            "metric",
            "severity",
            "expected_low",
            "expected_high",
            "observed",
            "message",
            "detected_ts",
            "status",
            "resolved_ts",
            "blocked",
            "_writer_id",
        ),
        retention=Retention.window("detected_ts", 400),
    ),
)

BAD_FILES = TableDef(
    name="ops.bad_files",
    schema=struct(
        ("path", StringType(), False),
        ("size_bytes", LongType(), True),
        ("error", StringType(), False),
        ("job", StringType(), False),
        ("dataset", StringType(), False),
        ("batch_id", LongType(), False),
        ("detected_ts", TimestampType(), False),
        ("status", StringType(), False),
        ("attempts", LongType(), False),
        ("resolved_ts", TimestampType(), True),
        ("rows_ingested", LongType(), True),
    ),
    partition_by=(),
    description=(
        "Landing files the bronze stream could not read and skipped (status skipped), "
        "until `lakehouse run --retry-bad-files` ingests them (status ingested)."
    ),
    policy=Policy(
        owner=PIPELINE_OWNER,
        columns=none_columns(
            "path",
            "size_bytes",
            "error",
            "job",
            "dataset",
            "batch_id",
            "detected_ts",
            "status",
            "attempts",
            "resolved_ts",
            "rows_ingested",
        ),
        retention=Retention.window("detected_ts", 400),
    ),
)

CONTRACTS = TableDef(
    name="ops.contracts",
    schema=struct(
        ("dataset", StringType(), False),
        ("version", StringType(), False),
        ("content_hash", StringType(), False),
        ("owner", StringType(), False),
        ("status", StringType(), False),
        ("schema_versions", ArrayType(IntegerType(), False), False),
        ("gold_tables", ArrayType(StringType(), False), False),
        ("recorded_ts", TimestampType(), False),
    ),
    partition_by=(),
    description=(
        "One row per dataset contract a job ran with (its batches name it in "
        "ops.batch_log.contract_hash: the first and last batch that used it)."
    ),
    policy=Policy(
        owner=PIPELINE_OWNER,
        columns=none_columns(
            "dataset",
            "version",
            "content_hash",
            "owner",
            "status",
            "schema_versions",
            "gold_tables",
            "recorded_ts",
        ),
        retention=Retention.keep("record of the contracts the data was processed with"),
    ),
)
