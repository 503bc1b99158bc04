"""Commands that read the lake: ``sql``, ``validate``, ``catalog``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING

from lakehouse.cli.common import Command, Subparsers, register_platform, session
from lakehouse.config import LakehouseConfig
from lakehouse.engine_errors import root_cause
from lakehouse.errors import ConfigError, LakehouseError

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

__all__ = ["register"]


def register(sub: Subparsers, common: argparse.ArgumentParser) -> dict[str, Command]:
    sql = sub.add_parser(
        "sql", parents=[common], help="run a Spark SQL query and print the result as a table"
    )
    sql.add_argument(
        "query", help='e.g. "SELECT * FROM gold.<table> LIMIT 20" (lakehouse catalog lists them)'
    )
    sql.add_argument("--limit", type=int, default=100, help="rows to print at most (default 100)")
    sql.add_argument(
        "--allow-writes",
        action="store_true",
        help="also run statements that change or drop tables (recorded in ops.batch_log); "
        "without it they are refused: use `lakehouse erase` or `lakehouse retention run`",
    )
    val = sub.add_parser(
        "validate",
        parents=[common],
        help="run an expectation suite against a table or a file and print GE's verdicts",
    )
    val.add_argument("suite", help="suite name in expectations/ (e.g. bronze_to_silver) or a path")
    target = val.add_mutually_exclusive_group(required=True)
    target.add_argument("--table", help="a table name, e.g. silver.<dataset>")
    target.add_argument("--path", help="a file or folder: .json/.jsonl, .parquet, .csv, Delta")
    val.add_argument("--docs", metavar="DIR", help="also build GE Data Docs (HTML) into DIR")
    val.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="suite parameter ($PARAMETER), e.g. max_event_ts=2026-11-23T12:00Z",
    )
    cat = sub.add_parser(
        "catalog",
        parents=[common],
        help="list every table with its owner, personal columns and retention",
    )
    cat.add_argument(
        "--columns", action="store_true", help="one row per column with its classification"
    )
    cat.add_argument(
        "--contracts",
        action="store_true",
        help="the contract versions the lake was processed with, first and last batch of each",
    )
    cat.add_argument(
        "--key-versions",
        action="store_true",
        help="the pseudonym key versions silver batches used (reads ops.batch_log)",
    )
    return {"sql": cmd_sql, "validate": cmd_validate, "catalog": cmd_catalog}


def cmd_sql(args: argparse.Namespace, config: LakehouseConfig) -> int:
    if args.limit < 1:
        raise ConfigError(f"--limit: {args.limit} must be at least 1")
    if not args.allow_writes and _via_server(args, config):
        return 0  # nothing of Spark imported: a warm answer in Python's start-up time
    from pyspark.errors import PySparkException

    from lakehouse.display import format_result
    from lakehouse.io.sql_writes import run_recorded
    from lakehouse.sql_guard import classify

    _say("lakehouse sql: in a new session")
    spark = session(config, "lakehouse-sql", write=args.allow_writes, create=False, later=True)
    statement = classify(spark, args.query)
    if not statement.reads_only and not args.allow_writes:
        raise ConfigError(
            f"lakehouse sql only reads; this statement writes ({statement.writer}): delete a "
            "data subject with `lakehouse erase --subject ID`, old rows with `lakehouse "
            "retention run`, or pass --allow-writes (the change is recorded in ops.batch_log)"
        )
    # a query gets the tables it names registered, not all of them (seconds sooner)
    register_platform(spark, config, create=False, names=statement.tables)
    try:
        if statement.reads_only:
            df = _query(spark, config, args.query, named=statement.tables is not None)
            rows = df.limit(args.limit + 1).collect()
        else:
            df, rows = run_recorded(spark, config, args.query, statement.kind, args.limit + 1)
    except PySparkException as exc:
        raise LakehouseError(f"query failed: {root_cause(exc)}") from exc
    print(format_result(df.columns, rows, args.limit))
    return 0


def _query(spark: SparkSession, config: LakehouseConfig, query: str, named: bool) -> DataFrame:
    """``spark.sql(query)``; when only the tables it names were registered and Spark finds
    another one missing (a table read in a subquery), every table is, and it runs again."""
    from pyspark.errors import AnalysisException

    try:
        return spark.sql(query)
    except AnalysisException as exc:
        if not named or exc.getCondition() != "TABLE_OR_VIEW_NOT_FOUND":
            raise
    register_platform(spark, config, create=False)
    return spark.sql(query)


def _via_server(args: argparse.Namespace, config: LakehouseConfig) -> bool:
    """Run a read-only query on the running ``lakehouse serve`` of this lake, if any (it
    refuses writes for this client, whatever it allows others); False when none runs."""
    from pathlib import Path

    from lakehouse.serve.client import server_for

    state = server_for(config.serve, config.lake.root)
    if state is None:
        return False
    if state.socket is not None:
        from lakehouse.serve.local_query import ask

        try:
            text = ask(Path(state.socket), args.query, args.limit)
        except OSError:
            pass  # the socket is gone: Spark Connect
        else:
            _say(f"lakehouse sql: via server {state.url} (its local socket)")
            print(text)
            return True
    from lakehouse.display import format_result
    from lakehouse.serve.client import query_server

    _say(f"lakehouse sql: via server {state.url}")
    columns, rows = query_server(state, args.query, args.limit + 1)
    print(format_result(columns, rows, args.limit))
    return True


def _say(line: str) -> None:
    """Which way the query runs, on stderr: on a terminal or with --verbose (a script's
    stderr stays empty on success)."""
    from lakehouse.cli.console import verbose

    if sys.stderr.isatty() or verbose():
        print(line, file=sys.stderr, flush=True)


def cmd_validate(args: argparse.Namespace, config: LakehouseConfig) -> int:
    from datetime import UTC, datetime
    from pathlib import Path

    from lakehouse.display import format_table
    from lakehouse.preflight import check_exists, check_storage
    from lakehouse.quality.parameters import parse_parameter, suite_parameters
    from lakehouse.quality.reader import read_any
    from lakehouse.quality.suites import find_suite, load_suite
    from lakehouse.quality.validate import build_data_docs, validate_dataframe

    suite = load_suite(find_suite(args.suite, Path(config.quality.suite_dir)))
    parameters = suite_parameters(
        config.silver.max_future_skew_seconds, datetime.now(UTC).replace(tzinfo=None)
    )
    parameters.update(parse_parameter(p) for p in args.param)
    if args.table:
        from lakehouse.platform import load_platform

        if "." in args.table and not args.table.startswith("gold."):
            load_platform(config).table(args.table)  # known, or an error naming the choices
    else:
        check_exists(args.path, "--path")
    if args.docs:
        check_storage(args.docs, "--docs", write=True)
    # a file or folder needs no lake: nothing is registered, nothing created
    spark = session(
        config, "lakehouse-validate", write=False, register=bool(args.table), create=False
    )
    if args.table:
        load_platform(config, spark).table(args.table)
    df = spark.table(args.table) if args.table else read_any(spark, args.path)
    outcomes = validate_dataframe(df, suite, parameters)
    rows = [
        [
            o.label,
            o.severity,
            "PASS" if o.success else "FAIL",
            o.observed_value,
            o.unexpected_count,
            None if o.unexpected_percent is None else round(o.unexpected_percent, 3),
        ]
        for o in outcomes
    ]
    print(f"suite {suite.name} ({suite.path}) on {args.table or args.path}")
    print(
        format_table(
            ["expectation", "severity", "result", "observed", "unexpected", "unexpected %"], rows
        )
    )
    failed = [o for o in outcomes if not o.success]
    critical = [o for o in failed if o.severity == "critical"]
    print(
        f"{len(outcomes)} expectations: {len(outcomes) - len(failed)} passed, "
        f"{len(critical)} critical failed, {len(failed) - len(critical)} other failed"
    )
    if args.docs:
        index = build_data_docs(df, suite, Path(args.docs), parameters)
        print(f"Data Docs: {index}")
    return 1 if critical else 0


def _personal(columns: Mapping[str, str]) -> str:
    """``direct: a, b; pseudonymous: c`` (classification without its ``pii_`` prefix)."""
    groups: dict[str, list[str]] = {}
    for column, classification in columns.items():
        if classification != "none":
            groups.setdefault(classification.removeprefix("pii_"), []).append(column)
    return "; ".join(f"{k}: {', '.join(v)}" for k, v in groups.items()) or "-"


def _key_versions(config: LakehouseConfig) -> int:
    from lakehouse.catalog import table_path
    from lakehouse.display import format_table
    from lakehouse.ops import BATCH_LOG
    from lakehouse.privacy.versions import key_versions

    spark = session(config, "lakehouse-catalog", write=False)
    log = spark.read.format("delta").load(table_path(config.lake, BATCH_LOG))
    rows = [list(r) for r in key_versions(log).collect()]
    print(
        format_table(
            ["dataset", "key version", "first batch", "last batch", "batches", "rows promoted"],
            rows,
        )
    )
    return 0


def cmd_catalog(args: argparse.Namespace, config: LakehouseConfig) -> int:
    from lakehouse.catalog import table_path
    from lakehouse.display import format_table
    from lakehouse.platform import load_platform
    from lakehouse.preflight import check_lake
    from lakehouse.privacy.versions import describe_key_source

    if args.key_versions:
        return _key_versions(config)
    platform = load_platform(config)
    check_lake(config.lake.root, [table_path(config.lake, t) for t in platform.tables.values()])
    if args.contracts:
        from lakehouse.io.contracts import contracts_in_use

        spark = session(config, "lakehouse-catalog", write=False, create=False)
        frame = contracts_in_use(spark, config)
        print(format_table(frame.columns, [list(r) for r in frame.collect()]))
        return 0
    if args.columns:  # gold columns come from Spark's analysis of the gold SQL
        spark = session(config, "lakehouse-catalog", write=False, create=False)
        platform = platform.with_gold(spark)
        rows: list[list[object]] = [
            [t.name, f.name, f.dataType.simpleString(), t.policy.columns[f.name]]
            for t in platform.tables.values()
            for f in t.schema.fields
        ]
        print(format_table(["table", "column", "type", "classification"], rows))
        return 0
    datasets = [
        [
            d.dataset.name,
            d.dataset.version,
            d.dataset.status,
            d.dataset.owner,
            d.dataset.contact,
            ", ".join(str(v.version) for v in d.dataset.versions),
            ", ".join(f"gold.{g.name}" for g in d.dataset.gold) or "-",
            d.dataset.purpose,
        ]
        for d in platform.datasets.values()
    ]
    print(
        format_table(
            ["dataset", "version", "status", "owner", "contact", "schemas", "gold", "purpose"],
            datasets,
        )
    )
    rows = [
        [
            t.name,
            t.policy.owner,
            _personal(t.policy.columns),
            t.policy.retention.describe(),
            f"{t.policy.deleted_file_retention_days} d / {t.policy.log_retention_days} d",
        ]
        for t in platform.tables.values()
    ]
    rows += [
        [
            f"gold.{g.name}",
            g.owner,
            _personal(g.classification),
            "keep (aggregates without personal data)",
            "7 d / 30 d",
        ]
        for d in platform.datasets.values()
        for g in d.dataset.gold
    ]
    print()
    print(
        format_table(["table", "owner", "personal columns", "retention", "files / log kept"], rows)
    )
    print(f"pseudonym key: {describe_key_source(config.privacy)}")
    return 0
