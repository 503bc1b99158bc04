"""Commands that delete: ``retention run``, ``erase``."""

from __future__ import annotations

import argparse

from lakehouse.cli.common import Command, Subparsers, purge_now_arg, session
from lakehouse.config import LakehouseConfig
from lakehouse.errors import ConfigError

__all__ = ["register"]


def register(sub: Subparsers, common: argparse.ArgumentParser) -> dict[str, Command]:
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
    purge_now_arg(ret_run)

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
    purge_now_arg(erase)
    return {"retention": cmd_retention, "erase": cmd_erase}


def cmd_retention(args: argparse.Namespace, config: LakehouseConfig) -> int:
    from datetime import UTC, datetime

    from lakehouse.display import format_table
    from lakehouse.platform import load_platform
    from lakehouse.retention.plan import plan_retention, select_tables
    from lakehouse.retention.run import run_retention

    platform = load_platform(config)
    gold = {
        f"{layer}{g.name}"
        for d in platform.datasets.values()
        for g in d.dataset.gold
        for layer in ("gold.", "quarantine.gold_")
    }
    select_tables(platform, [n for n in args.table if n not in gold])  # names checked
    spark = session(config, "lakehouse-retention")
    platform = platform.with_gold(spark)
    steps = plan_retention(select_tables(platform, args.table), datetime.now(UTC))
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


def _found_by(ways: object) -> str:
    """``payload 3, key 1`` (the ways rows were found, a row counted once per way)."""
    assert isinstance(ways, dict)
    return ", ".join(f"{way} {n}" for way, n in ways.items()) or "-"


def cmd_erase(args: argparse.Namespace, config: LakehouseConfig) -> int:
    from lakehouse.display import format_table
    from lakehouse.privacy.keys import load_key
    from lakehouse.retention.erasure import add_requests, erase, pending_requests, requests_for

    if args.requests and (args.defer or args.request_id):
        raise ConfigError("--requests processes recorded requests: drop --defer / --request-id")
    key = load_key(config.privacy).value
    requests = [] if args.requests else requests_for(key, args.subject, args.request_id)
    spark = session(config, "lakehouse-erase")
    if args.defer:
        add_requests(spark, config, requests)
        print(f"recorded {len(requests)} pending request(s): {requests[0].request_id}")
        return 0
    if args.requests:
        requests = pending_requests(spark, config)
    audit = erase(spark, config, requests, purge_now=args.purge_now)
    print(
        format_table(
            ["request", "table", "rows deleted", "found by", "version before", "after"],
            [
                [
                    a["request_id"],
                    a["table_name"],
                    a["rows_deleted"],
                    _found_by(a["rows_found_by"]),
                    a["version_before"],
                    a["version_after"],
                ]
                for a in audit
            ],
        )
    )
    print(f"{len({a['request_id'] for a in audit})} request(s) done")
    return 0
