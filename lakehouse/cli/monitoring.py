"""Commands that watch the pipeline: ``anomalies detect``, ``status``, ``report``."""

from __future__ import annotations

import argparse

from lakehouse.cli.common import Command, Subparsers, check_days, days_arg, session
from lakehouse.config import LakehouseConfig

__all__ = ["register"]


def register(sub: Subparsers, common: argparse.ArgumentParser) -> dict[str, Command]:
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
    days_arg(status)
    report = sub.add_parser(
        "report", parents=[common], help="write a static HTML health report with charts"
    )
    report.add_argument("--out", required=True, metavar="DIR", help="folder for index.html")
    days_arg(report)
    return {"anomalies": cmd_anomalies, "status": cmd_status, "report": cmd_report}


def cmd_anomalies(args: argparse.Namespace, config: LakehouseConfig) -> int:
    from lakehouse.display import format_table
    from lakehouse.monitoring.job import run_detection

    spark = session(config, "lakehouse-anomalies", create=False)
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


def cmd_status(args: argparse.Namespace, config: LakehouseConfig) -> int:
    from lakehouse.cost.rates import read_daily_cost
    from lakehouse.cost.views import render_cost_status
    from lakehouse.io.bad_files import pending_bad_files, render_bad_files
    from lakehouse.monitoring.health import gather
    from lakehouse.monitoring.status import render_source_status, render_status

    check_days(args.days)
    spark = session(config, "lakehouse-status", write=False, create=False)
    print(render_status(gather(spark, config, days=args.days)))
    sources = render_source_status(config)
    if sources:
        print(f"\n{sources}")
    print(f"\n{render_cost_status(read_daily_cost(spark, config, args.days))}")
    bad = pending_bad_files(spark, config)
    if bad:
        print(f"\n{render_bad_files(bad)}")
    return 0


def cmd_report(args: argparse.Namespace, config: LakehouseConfig) -> int:
    from pathlib import Path

    from lakehouse.lineage.section import lineage_graph
    from lakehouse.monitoring.health import gather
    from lakehouse.monitoring.report import write_report
    from lakehouse.preflight import check_storage

    check_days(args.days)
    check_storage(args.out, "--out", write=True)
    spark = session(config, "lakehouse-report", write=False, create=False)
    from lakehouse.cost.rates import read_daily_cost

    health = gather(spark, config, days=args.days)
    cost = read_daily_cost(spark, config, args.days)
    page = write_report(health, Path(args.out), cost, lineage_graph(spark, config))
    print(f"report: {page}")
    return 0
