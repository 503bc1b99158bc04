"""The ``lakehouse`` command line."""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from lakehouse.config import LakehouseConfig, TriggerConfig, load_config, parse_duration
from lakehouse.errors import ConfigError, LakehouseError
from lakehouse.generator import GeneratorSpec, generate_events, write_landing
from lakehouse.publish import PUBLISH_TARGETS
from lakehouse.sources.registry import source_for

if TYPE_CHECKING:
    from pyspark.sql import SparkSession
    from pyspark.sql.streaming.query import StreamingQuery

    from lakehouse.sources.base import EventSource

__all__ = ["main"]

LAYERS = ("bronze", "silver", "gold")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lakehouse",
        description="Streaming lakehouse: bronze, silver and gold Delta tables.",
    )
    parser.add_argument(
        "--config",
        help="configuration file (default: $LAKEHOUSE_CONFIG, else ./lakehouse.toml if present)",
    )
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = sub.add_parser(
        "demo", parents=[common], help="generate events, run every layer, print a summary"
    )
    _generator_args(demo, default_count=10_000)

    gen = sub.add_parser(
        "generate", parents=[common], help="write generated events into the landing folder"
    )
    _generator_args(gen, default_count=1_000)
    gen.add_argument(
        "--files-per-second",
        type=float,
        default=0.0,
        help="pace file writes (0 = as fast as possible)",
    )

    run = sub.add_parser("run", parents=[common], help="run streaming jobs")
    run.add_argument(
        "layers",
        nargs="+",
        choices=LAYERS,
        metavar="LAYER",
        help="one or more of: bronze, silver, gold",
    )
    mode = run.add_mutually_exclusive_group()
    mode.add_argument(
        "--available-now", action="store_true", help="process what is available, then stop"
    )
    mode.add_argument(
        "--trigger",
        metavar="INTERVAL",
        help="run continuously, one micro-batch every INTERVAL (e.g. '10 seconds')",
    )
    run.add_argument(
        "--timeout",
        metavar="DURATION",
        help="stop continuous streams after DURATION (default: run until Ctrl-C)",
    )

    pub = sub.add_parser(
        "publish",
        parents=[common],
        help="send generated events to Kafka or Pub/Sub Lite (load tests, demos, cutovers)",
    )
    pub.add_argument("--to", required=True, choices=PUBLISH_TARGETS, help="kafka or pubsublite")
    pub.add_argument(
        "--topic",
        help="Kafka: topic (default: the first of source.kafka_topics); Pub/Sub Lite: "
        "projects/P/locations/L/topics/T (default: the topic of source.pubsublite_subscription)",
    )
    _generator_args(pub, default_count=1_000, files=False)

    sql = sub.add_parser(
        "sql", parents=[common], help="run a Spark SQL query and print the result as a table"
    )
    sql.add_argument("query", help='e.g. "SELECT * FROM gold.daily_active_users"')
    sql.add_argument("--limit", type=int, default=100, help="rows to print at most (default 100)")
    val = sub.add_parser(
        "validate",
        parents=[common],
        help="run an expectation suite against a table or a file and print GE's verdicts",
    )
    val.add_argument("suite", help="suite name in expectations/ (e.g. bronze_to_silver) or a path")
    target = val.add_mutually_exclusive_group(required=True)
    target.add_argument("--table", help="a table name, e.g. silver.events")
    target.add_argument("--path", help="a file or folder: .json/.jsonl, .parquet, .csv, Delta")
    val.add_argument("--docs", metavar="DIR", help="also build GE Data Docs (HTML) into DIR")
    val.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="suite parameter ($PARAMETER), e.g. max_event_ts=2026-11-23T12:00Z",
    )
    _submit_args(sub.add_parser("submit", parents=[common], help="run a job on Dataproc"))
    cat = sub.add_parser(
        "catalog",
        parents=[common],
        help="list every table with its owner, personal columns and retention",
    )
    cat.add_argument(
        "--columns", action="store_true", help="one row per column with its classification"
    )

    ret = sub.add_parser(
        "retention", parents=[common], help="delete rows past their retention and purge them"
    )
    ret_sub = ret.add_subparsers(dest="action", required=True, metavar="ACTION")
    ret_run = ret_sub.add_parser("run", parents=[common], help="run the retention policies")
    ret_run.add_argument(
        "--dry-run", action="store_true", help="only print what would be deleted, per table"
    )
    ret_run.add_argument(
        "--table", action="append", default=[], metavar="NAME", help="only this table (repeat)"
    )
    _purge_now_arg(ret_run)

    erase = sub.add_parser(
        "erase", parents=[common], help="erase data subjects from every layer (with audit)"
    )
    which = erase.add_mutually_exclusive_group(required=True)
    which.add_argument(
        "--subject", action="append", metavar="ID", help="a raw user id to erase (repeat)"
    )
    which.add_argument(
        "--requests", action="store_true", help="process the pending ops.erasure_requests"
    )
    erase.add_argument("--request-id", help="request id (default: a new UUID)")
    erase.add_argument(
        "--defer",
        action="store_true",
        help="only record the request as pending (processed by erase --requests)",
    )
    _purge_now_arg(erase)

    _monitoring_args(sub, common)
    return parser


def _monitoring_args(sub: Any, common: argparse.ArgumentParser) -> None:
    anomalies = sub.add_parser(
        "anomalies", parents=[common], help="anomaly and drift detection over the metrics history"
    )
    an_sub = anomalies.add_subparsers(dest="action", required=True, metavar="ACTION")
    an_sub.add_parser(
        "detect",
        parents=[common],
        help="judge the newest batch of every table, find stalled sources, resolve old findings",
    )
    status = sub.add_parser(
        "status",
        parents=[common],
        help="each stream's last batch, rows/s, lag, quarantine rate and open anomalies",
    )
    _days_arg(status)
    report = sub.add_parser(
        "report", parents=[common], help="write a static HTML health report with charts"
    )
    report.add_argument("--out", required=True, metavar="DIR", help="folder for index.html")
    _days_arg(report)


def _days_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--days", type=int, default=7, help="how many days back to show (default 7)"
    )


def _check_days(days: int) -> None:
    if not 1 <= days <= 400:
        raise ConfigError(f"--days: {days} must be 1 to 400")


def _submit_args(submit: argparse.ArgumentParser) -> None:
    submit.add_argument("job", choices=LAYERS, metavar="JOB", help=", ".join(LAYERS))
    where = submit.add_mutually_exclusive_group(required=True)
    where.add_argument("--serverless", action="store_true", help="as a Dataproc Serverless batch")
    where.add_argument(
        "--cluster",
        nargs="?",
        const="",
        metavar="NAME",
        help="on a cluster (default: dataproc.cluster)",
    )
    mode = submit.add_mutually_exclusive_group()
    mode.add_argument(
        "--available-now", action="store_true", help="a bounded run: drain, then stop"
    )
    mode.add_argument("--trigger", metavar="INTERVAL", help="a streaming run, e.g. '30 seconds'")
    submit.add_argument("--id", default="", help="batch or job id (default: lakehouse-JOB-<time>)")
    submit.add_argument("--dry-run", action="store_true", help="print the request; stage nothing")
    submit.add_argument("--no-wait", action="store_true", help="return once Dataproc accepted it")


def _purge_now_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--purge-now",
        action="store_true",
        help="VACUUM without retention: removed files are deleted at once (stop or catch up "
        "the streams that read the tables first); default: each table's retention",
    )


def _generator_args(
    parser: argparse.ArgumentParser, default_count: int, files: bool = True
) -> None:
    parser.add_argument("--events", type=int, default=default_count, help="number of events")
    parser.add_argument(
        "--bad-share", type=float, default=0.05, help="share of bad events, 0 to 1 (default 0.05)"
    )
    parser.add_argument(
        "--rate", type=float, default=50.0, help="events per second of event time (default 50)"
    )
    parser.add_argument("--seed", type=int, default=None, help="random seed (default: time)")
    if files:
        parser.add_argument("--events-per-file", type=int, default=1000)


def _spec(args: argparse.Namespace) -> GeneratorSpec:
    seed = args.seed if args.seed is not None else time.time_ns() % 2**31
    return GeneratorSpec(count=args.events, bad_share=args.bad_share, rate=args.rate, seed=seed)


def _session(
    config: LakehouseConfig,
    app: str,
    source: EventSource | None = None,
    *,
    write: bool = True,
) -> SparkSession:
    """The session, with what ``source`` needs (jars, settings) when it reads or writes one.

    The lake must be readable (and writable when ``write``) before Spark starts: a
    permission problem is one line, not a JVM stack trace."""
    from lakehouse.catalog import register_tables
    from lakehouse.preflight import check_storage
    from lakehouse.session import build_session

    check_storage(config.lake.root, "lake.root", write=write)

    packages = source.extra_packages() if source else ()
    spark = build_session(config.spark, app, packages, source.spark_conf() if source else None)
    register_tables(spark, config.lake, replace_mismatched=config.spark.catalog == "in-memory")
    return spark


def _cmd_demo(args: argparse.Namespace, config: LakehouseConfig) -> int:
    from lakehouse.demo import render_summary, run_demo
    from lakehouse.privacy.keys import ensure_demo_key

    spec = _spec(args)
    notice = ensure_demo_key(config.privacy)
    if notice:
        print(notice, flush=True)
    config.privacy.key()  # a missing key fails here, before Spark starts
    print(f"starting Spark (lake: {config.lake.root}) ...", flush=True)
    spark = _session(config, "lakehouse-demo")
    result = run_demo(spark, config, spec, args.events_per_file, say=lambda m: print(m, flush=True))
    print()
    print(render_summary(result))
    print('\nQuery the tables, e.g.: lakehouse sql "SELECT * FROM gold.daily_active_users"')
    return 0 if result.accounted else 1


def _cmd_generate(args: argparse.Namespace, config: LakehouseConfig) -> int:
    spec = _spec(args)
    events = generate_events(spec)
    files = write_landing(
        events, config.source.landing_path, args.events_per_file, args.files_per_second
    )
    bad = sum(1 for e in events if e.kind != "good")
    print(
        f"wrote {len(events)} events ({bad} bad) in {len(files)} files to "
        f"{config.source.landing_path}"
    )
    return 0


def _cmd_run(args: argparse.Namespace, config: LakehouseConfig) -> int:
    from lakehouse.io.jobs import start_job
    from lakehouse.io.streams import StreamFailed, await_stream

    if args.trigger:
        trigger = TriggerConfig(mode="processing-time", interval=args.trigger)
    elif args.available_now:
        trigger = TriggerConfig(mode="available-now", interval=config.trigger.interval)
    else:
        trigger = config.trigger
    timeout = parse_duration(args.timeout, "--timeout") if args.timeout else None
    layers = list(dict.fromkeys(args.layers))
    _check_run(config, layers)
    source = source_for(config.source) if "bronze" in layers else None
    spark = _session(config, "lakehouse-" + "-".join(args.layers), source)
    if trigger.mode == "available-now":
        for layer in layers:
            started = time.monotonic()
            query = start_job(spark, config, layer, trigger)
            await_stream(query)
            print(f"{layer}: done in {time.monotonic() - started:.1f}s{_lag(query, source)}")
        return 0
    queries = [start_job(spark, config, layer, trigger) for layer in layers]
    print(f"running {', '.join(layers)} every {trigger.interval}; Ctrl-C stops", flush=True)
    deadline = None if timeout is None else time.monotonic() + timeout
    reported: dict[str, str] = {}
    try:
        while deadline is None or time.monotonic() < deadline:
            for query in queries:
                if not query.isActive:
                    await_stream(query)  # raises StreamFailed when it failed
                    raise StreamFailed(f"stream {query.name!r} stopped")
                lag = _lag(query, source)
                if lag and reported.get(query.name) != lag:
                    reported[query.name] = lag
                    print(f"{query.name}:{lag}", flush=True)
            time.sleep(1)
    except KeyboardInterrupt:
        print("stopping ...", flush=True)
    finally:
        for query in queries:
            query.stop()
    return 0


def _check_run(config: LakehouseConfig, layers: Sequence[str]) -> None:
    """Checkpoints and landing folder of the layers, before Spark starts."""
    from lakehouse.io.bronze_job import bronze_job_name
    from lakehouse.preflight import check_checkpoint, check_storage

    check_storage(config.lake.checkpoint_root, "lake.checkpoint_root", write=True)
    for layer in layers:
        job = bronze_job_name(config.source.type) if layer == "bronze" else layer
        check_checkpoint(config.lake.checkpoint(job), job)
    if "bronze" in layers and config.source.type == "landing":
        check_storage(config.source.landing_path, "source.landing_path", write=False)


def _lag(query: StreamingQuery, source: EventSource | None) -> str:
    """``, N offsets behind latest`` from the query's last progress, when the source says."""
    progress = query.lastProgress
    if source is None or not progress or not query.name.startswith("lakehouse-bronze"):
        return ""
    lag = source.lag(progress)
    return "" if lag is None else f", {lag} offsets behind latest"


def _cmd_publish(args: argparse.Namespace, config: LakehouseConfig) -> int:
    from lakehouse.publish import publish_kafka, publish_pubsublite

    events = generate_events(_spec(args))
    source = config.source
    if args.to == "kafka":
        from lakehouse.sources.kafka import KafkaSource

        topic = args.topic or (source.topics[0] if source.topics else "")
        if not topic:
            raise ConfigError("publish --to kafka: give --topic or source.kafka_topics")
        kafka = KafkaSource(source)
        spark = _session(config, "lakehouse-publish", kafka)
        sent = publish_kafka(spark, source, events, topic)
        print(f"published {sent} events to Kafka topic {topic}")
        return 0
    offsets = publish_pubsublite(source, events, args.topic)
    sent = sum(len(o) for o in offsets.values())
    ranges = ", ".join(f"{p}: {o[0]}..{o[-1]}" for p, o in offsets.items())
    print(f"published {sent} events to Pub/Sub Lite (partition: offsets {ranges})")
    return 0


def _cmd_sql(args: argparse.Namespace, config: LakehouseConfig) -> int:
    from pyspark.errors import PySparkException

    from lakehouse.display import format_table

    if args.limit < 1:
        raise ConfigError(f"--limit: {args.limit} must be at least 1")
    spark = _session(config, "lakehouse-sql", write=False)
    try:
        df = spark.sql(args.query)
        rows = df.limit(args.limit + 1).collect()
    except PySparkException as exc:
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise LakehouseError(f"query failed: {message}") from exc
    shown = rows[: args.limit]
    print(format_table(df.columns, [list(r) for r in shown]))
    more = " (more rows not shown; use --limit)" if len(rows) > args.limit else ""
    print(f"{len(shown)} row(s){more}")
    return 0


def _cmd_validate(args: argparse.Namespace, config: LakehouseConfig) -> int:
    from datetime import UTC, datetime
    from pathlib import Path

    from lakehouse.datasets import table
    from lakehouse.display import format_table
    from lakehouse.quality.parameters import parse_parameter, suite_parameters
    from lakehouse.quality.reader import read_any
    from lakehouse.quality.suites import find_suite, load_suite
    from lakehouse.quality.validate import build_data_docs, validate_dataframe

    suite = load_suite(find_suite(args.suite, Path(config.quality.suite_dir)))
    parameters = suite_parameters(config.silver, datetime.now(UTC).replace(tzinfo=None))
    parameters.update(parse_parameter(p) for p in args.param)
    if args.table:
        table(args.table)  # a known table name, or an error naming the choices
    spark = _session(config, "lakehouse-validate", write=False)
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


def _cmd_submit(args: argparse.Namespace, config: LakehouseConfig) -> int:
    import functools
    import os
    from pathlib import Path

    from lakehouse.config import CONFIG_ENV_VAR
    from lakehouse.dataproc.launch import Submission, launch

    config_file = Path(args.config or os.environ.get(CONFIG_ENV_VAR) or "lakehouse.toml")
    submission = Submission(
        job=args.job,
        serverless=args.serverless,
        cluster=args.cluster or "",
        trigger=args.trigger,
        available_now=args.available_now,
        workload_id=args.id,
    )
    say = functools.partial(print, flush=True)
    try:
        request = launch(
            config, config_file, submission, dry_run=args.dry_run, wait=not args.no_wait, say=say
        )
    except KeyboardInterrupt:
        print("stopped waiting; the job goes on running on Dataproc", flush=True)
        return 0
    if args.dry_run:
        print(type(request).to_json(request))
    return 0


def _personal(columns: Mapping[str, str]) -> str:
    """``direct: a, b; pseudonymous: c`` (classification without its ``pii_`` prefix)."""
    groups: dict[str, list[str]] = {}
    for column, classification in columns.items():
        if classification != "none":
            groups.setdefault(classification.removeprefix("pii_"), []).append(column)
    return "; ".join(f"{k}: {', '.join(v)}" for k, v in groups.items()) or "-"


def _cmd_catalog(args: argparse.Namespace, config: LakehouseConfig) -> int:
    from lakehouse.datasets import TABLES
    from lakehouse.display import format_table

    if args.columns:
        rows: list[list[object]] = [
            [t.name, f.name, f.dataType.simpleString(), t.policy.columns[f.name]]
            for t in TABLES.values()
            for f in t.schema.fields
        ]
        print(format_table(["table", "column", "type", "classification"], rows))
        return 0
    rows = [
        [
            t.name,
            t.policy.owner,
            _personal(t.policy.columns),
            t.policy.retention.describe(),
            f"{t.policy.deleted_file_retention_days} d / {t.policy.log_retention_days} d",
        ]
        for t in TABLES.values()
    ]
    print(
        format_table(["table", "owner", "personal columns", "retention", "files / log kept"], rows)
    )
    return 0


def _cmd_retention(args: argparse.Namespace, config: LakehouseConfig) -> int:
    from datetime import UTC, datetime

    from lakehouse.display import format_table
    from lakehouse.retention.plan import plan_retention, select_tables
    from lakehouse.retention.run import run_retention

    steps = plan_retention(select_tables(args.table), datetime.now(UTC))  # names checked
    spark = _session(config, "lakehouse-retention")
    results = run_retention(
        spark, config.lake, steps, dry_run=args.dry_run, purge_now=args.purge_now
    )
    verb = "would delete" if args.dry_run else "deleted"
    print(
        format_table(
            ["table", "retention", "cutoff", f"rows {verb}", "version before", "after"],
            [
                [
                    r.step.table.name,
                    f"{r.step.days} days on {r.step.column}",
                    r.step.cutoff.replace(microsecond=0),
                    r.rows,
                    r.version_before,
                    r.version_after,
                ]
                for r in results
            ],
        )
    )
    if args.dry_run:
        print("dry run: nothing deleted")
    return 0


def _cmd_erase(args: argparse.Namespace, config: LakehouseConfig) -> int:
    from lakehouse.display import format_table
    from lakehouse.retention.erasure import add_requests, erase, pending_requests, requests_for

    if args.requests and (args.defer or args.request_id):
        raise ConfigError("--requests processes recorded requests: drop --defer / --request-id")
    key = config.privacy.key()
    requests = [] if args.requests else requests_for(key, args.subject, args.request_id)
    spark = _session(config, "lakehouse-erase")
    if args.defer:
        add_requests(spark, config, requests)
        print(f"recorded {len(requests)} pending request(s): {requests[0].request_id}")
        return 0
    if args.requests:
        requests = pending_requests(spark, config)
    audit = erase(spark, config, requests, purge_now=args.purge_now)
    print(
        format_table(
            ["request", "table", "rows deleted", "version before", "after"],
            [
                [
                    a["request_id"],
                    a["table_name"],
                    a["rows_deleted"],
                    a["version_before"],
                    a["version_after"],
                ]
                for a in audit
            ],
        )
    )
    print(f"{len({a['request_id'] for a in audit})} request(s) done")
    return 0


def _cmd_anomalies(args: argparse.Namespace, config: LakehouseConfig) -> int:
    from lakehouse.display import format_table
    from lakehouse.monitoring.job import run_detection

    spark = _session(config, "lakehouse-anomalies")
    run = run_detection(spark, config)
    if run.findings:
        print(
            format_table(
                ["severity", "table", "job", "batch", "detector", "metric", "message"],
                [
                    [f.severity, f.table_name, f.job, f.batch_id, f.detector, f.metric, f.message]
                    for f in run.findings
                ],
            )
        )
    critical = sum(1 for f in run.findings if f.critical)
    print(
        f"{len(run.findings)} finding(s), {critical} critical; {run.recorded} new in "
        f"ops.anomalies, {run.resolved} resolved"
    )
    return 1 if critical else 0


def _cmd_status(args: argparse.Namespace, config: LakehouseConfig) -> int:
    from lakehouse.monitoring.health import gather
    from lakehouse.monitoring.status import render_status

    _check_days(args.days)
    spark = _session(config, "lakehouse-status")
    print(render_status(gather(spark, config, days=args.days)))
    return 0


def _cmd_report(args: argparse.Namespace, config: LakehouseConfig) -> int:
    from pathlib import Path

    from lakehouse.monitoring.health import gather
    from lakehouse.monitoring.report import write_report

    _check_days(args.days)
    spark = _session(config, "lakehouse-report")
    page = write_report(gather(spark, config, days=args.days), Path(args.out))
    print(f"report: {page}")
    return 0


_COMMANDS = {
    "demo": _cmd_demo,
    "generate": _cmd_generate,
    "publish": _cmd_publish,
    "run": _cmd_run,
    "sql": _cmd_sql,
    "validate": _cmd_validate,
    "submit": _cmd_submit,
    "catalog": _cmd_catalog,
    "retention": _cmd_retention,
    "erase": _cmd_erase,
    "anomalies": _cmd_anomalies,
    "status": _cmd_status,
    "report": _cmd_report,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``lakehouse`` console script; returns the exit code."""
    args = _parser().parse_args(argv)
    # PySpark logs every failed query with a stack trace; the CLI reports it in one line.
    for name in ("SQLQueryContextLogger", "DataFrameQueryContextLogger"):
        logging.getLogger(name).disabled = True
    try:
        config = load_config(args.config)
        return _COMMANDS[args.command](args, config)
    except LakehouseError as exc:
        print(f"lakehouse: error: {_one_line(str(exc))}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"lakehouse: error: {_one_line(str(exc))}", file=sys.stderr)
        return 2
    except Exception as exc:
        # Spark and py4j errors carry pages of JVM stack trace: one line, the cause, exit 2
        if not _is_engine_error(exc):
            raise
        print(f"lakehouse: error: {type(exc).__name__}: {_one_line(str(exc))}", file=sys.stderr)
        return 2


def _is_engine_error(exc: BaseException) -> bool:
    """Spark's errors, and py4j's (JVM errors Spark did not convert, a lost gateway)."""
    from pyspark.errors import PySparkException

    return isinstance(exc, PySparkException) or type(exc).__module__.startswith("py4j.")


def _one_line(message: str, limit: int = 500) -> str:
    """The first non-empty line of ``message``, at most ``limit`` characters."""
    lines = [line.strip() for line in message.strip().splitlines() if line.strip()]
    first = lines[0] if lines else "unknown error"
    return first if len(first) <= limit else first[: limit - 3] + "..."


if __name__ == "__main__":
    sys.exit(main())
