"""``lakehouse trace``: the path of one event, or what one gold row was computed from."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from lakehouse.cli.common import Command, Subparsers, session
from lakehouse.config import LakehouseConfig
from lakehouse.errors import ConfigError

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from lakehouse.platform import Platform

__all__ = ["register"]


def register(sub: Subparsers, common: argparse.ArgumentParser) -> dict[str, Command]:
    trace = sub.add_parser(
        "trace",
        parents=[common],
        help="print an event's path (source, bronze, silver or quarantine, gold, erasures, "
        "replays) or the batches and source offsets a gold row was computed from",
    )
    what = trace.add_mutually_exclusive_group(required=True)
    what.add_argument("--event-id", metavar="ID", help="the event's id (the contract's id field)")
    what.add_argument("--table", metavar="gold.T", help="a gold table, with --where")
    trace.add_argument(
        "--where",
        metavar="PREDICATE",
        help="SQL predicate choosing gold rows, e.g. \"country = 'PL'\"",
    )
    trace.add_argument("--dataset", help="look for the event in this dataset only (default: all)")
    trace.add_argument("--json", action="store_true", help="print JSON instead of text")
    trace.add_argument(
        "--limit", type=int, default=10, help="gold rows to trace at most (default 10)"
    )
    trace.add_argument(
        "--max-rows",
        type=int,
        default=5000,
        help="silver rows of a gold row's window to examine at most (default 5000)",
    )
    return {"trace": cmd_trace}


def cmd_trace(args: argparse.Namespace, config: LakehouseConfig) -> int:
    from lakehouse.platform import load_platform

    if args.table is not None and not args.where:
        raise ConfigError("--table needs --where PREDICATE choosing the gold row(s)")
    if args.event_id is not None and args.where:
        raise ConfigError("--where goes with --table, not with --event-id")
    if args.limit < 1 or args.max_rows < 1:
        raise ConfigError(f"--limit {args.limit} and --max-rows {args.max_rows} must be at least 1")
    if args.dataset:
        load_platform(config).dataset(args.dataset)  # known, or an error naming the datasets
    spark = session(config, "lakehouse-trace", write=False, create=False)
    platform = load_platform(config, spark)
    if args.event_id is not None:
        return _event(spark, config, platform, args)
    return _gold(spark, config, platform, args)


def _event(
    spark: SparkSession, config: LakehouseConfig, platform: Platform, args: argparse.Namespace
) -> int:
    from lakehouse.lineage.event import trace_event
    from lakehouse.lineage.render import render_event, to_json

    traces = [
        trace_event(spark, config, tables, args.event_id)
        for tables in platform.only([args.dataset] if args.dataset else None)
    ]
    found = [t for t in traces if t.status != "not found"]
    shown = found or traces
    print(to_json(shown) if args.json else "\n\n".join(render_event(t) for t in shown))
    return 0 if found else 1


def _gold(
    spark: SparkSession, config: LakehouseConfig, platform: Platform, args: argparse.Namespace
) -> int:
    from lakehouse.lineage.gold_row import find_gold, gold_rows, trace_gold
    from lakehouse.lineage.render import render_gold, to_json

    tables, gold = find_gold(platform, args.table)
    rows = gold_rows(spark, args.table, args.where, args.limit)
    traces = [
        trace_gold(spark, config, tables, gold, row, max_rows=args.max_rows)
        for row in rows[: args.limit]
    ]
    if args.json:
        print(to_json(traces))
    else:
        print("\n\n".join(render_gold(t) for t in traces))
        if len(rows) > args.limit:
            print(f"(more rows of {args.table} match; only {args.limit} traced: use --limit)")
    return 0
