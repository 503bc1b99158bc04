"""Commands that repair the lake after a fix: ``replay`` (quarantined rows through the
current contract) and ``backfill`` (a date range recomputed from the layer below)."""

from __future__ import annotations

import argparse
import sys

from lakehouse.cli.common import Command, Subparsers, session
from lakehouse.config import LakehouseConfig

__all__ = ["register"]


def register(sub: Subparsers, common: argparse.ArgumentParser) -> dict[str, Command]:
    rep = sub.add_parser(
        "replay",
        parents=[common],
        help="promote quarantined rows that pass the current contract and gates (once)",
    )
    rep.add_argument(
        "--table", required=True, metavar="NAME", help="the quarantine: quarantine.silver_<dataset>"
    )
    rep.add_argument(
        "--reason", metavar="PATTERN", help="only rows whose reason matches (a regex, searched)"
    )
    rep.add_argument("--since", metavar="T", help="only rows quarantined at or after T (ISO)")
    rep.add_argument("--until", metavar="T", help="only rows quarantined before T (ISO)")
    rep.add_argument(
        "--dry-run", action="store_true", help="only print what would be promoted / refused"
    )

    back = sub.add_parser(
        "backfill",
        parents=[common],
        help="recompute a date range of silver or gold from the layer below",
    )
    back.add_argument("--dataset", required=True, help="the dataset")
    back.add_argument("--layer", required=True, choices=("silver", "gold"))
    back.add_argument("--from", dest="start", required=True, metavar="DATE", help="first day")
    back.add_argument("--to", dest="end", required=True, metavar="DATE", help="last day")
    back.add_argument(
        "--dry-run", action="store_true", help="only print the rows before and after per day"
    )
    back.add_argument(
        "--stream-wait",
        type=float,
        default=None,
        metavar="SECONDS",
        help="gold: how long to wait for the gold stream's batch in flight (default 300; "
        "0 when that stream is stopped)",
    )
    back.add_argument(
        "--break-claim",
        metavar="ID",
        help="release the claim of backfill ID first (its process is gone; it stops before "
        "its next write if not); a claim left by a killed backfill also expires by itself "
        "(backfill.claim_ttl)",
    )
    return {"replay": cmd_replay, "backfill": cmd_backfill}


def cmd_replay(args: argparse.Namespace, config: LakehouseConfig) -> int:
    from lakehouse.display import format_table
    from lakehouse.platform import load_platform
    from lakehouse.replay import parse_selection, replay

    platform = load_platform(config)
    selection = parse_selection(platform, args.table, args.reason, args.since, args.until)
    spark = session(config, "lakehouse-replay", write=not args.dry_run, create=not args.dry_run)
    result = replay(
        spark, config, platform.dataset(selection.dataset), selection, dry_run=args.dry_run
    )
    verb = "would promote" if result.dry_run else "promoted"
    print(
        format_table(
            ["reason before", "rows chosen", verb, "still refused"],
            [[r, *counts] for r, counts in sorted(result.by_reason_before.items())],
        )
    )
    if result.refused_by_reason:
        print(
            format_table(
                ["still refused: reason now", "rows"], sorted(result.refused_by_reason.items())
            )
        )
    if result.dry_run:
        print(f"dry run: {result.chosen} row(s) chosen, nothing written")
        return 0
    resumed = " (resumed after an interruption)" if result.resumed else ""
    print(
        f"replay {result.replay_id}{resumed}: {result.chosen} row(s) chosen, "
        f"{result.promoted} promoted to silver (version {result.silver_version}), "
        f"{result.refused} still refused (quarantine version {result.quarantine_version}); "
        "recorded in ops.replays"
    )
    return 0


def cmd_backfill(args: argparse.Namespace, config: LakehouseConfig) -> int:
    from lakehouse.backfill import STREAM_WAIT_SECONDS, backfill, parse_range, refused_message
    from lakehouse.display import format_table
    from lakehouse.platform import load_platform

    platform = load_platform(config)
    tables = platform.dataset(args.dataset)
    days = parse_range(args.start, args.end)
    wait = STREAM_WAIT_SECONDS if args.stream_wait is None else args.stream_wait
    spark = session(config, "lakehouse-backfill", write=not args.dry_run, create=not args.dry_run)
    results = backfill(
        spark,
        config,
        platform.with_gold(spark).dataset(tables.dataset.name),
        args.layer,
        days,
        dry_run=args.dry_run,
        stream_wait_seconds=wait,
        break_claim=args.break_claim,
    )
    verb = "would be" if args.dry_run else "after"
    header = ["table", "day", "rows before", f"rows {verb}", "to quarantine", "status"]
    print(
        format_table(
            [*header, "version"],
            [
                [
                    r.table,
                    r.day,
                    r.rows_before,
                    r.rows_after,
                    r.rows_quarantined,
                    r.status,
                    r.version,
                ]
                for r in results
            ],
        )
    )
    refused = [r for r in results if r.status != "done"]
    for result in refused:
        print(f"lakehouse: backfill: {refused_message(result)}", file=sys.stderr)
    if args.dry_run:
        print("dry run: nothing written")
    else:
        written = len(results) - len(refused)
        print(f"backfilled {written} of {len(results)} table day(s); recorded in ops.backfills")
    return 1 if refused else 0
