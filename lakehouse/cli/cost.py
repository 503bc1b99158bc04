"""``lakehouse cost [--dataset D]``: the Dataproc price per day at the current rate."""

from __future__ import annotations

import argparse

from lakehouse.cli.common import Command, Subparsers, session
from lakehouse.config import LakehouseConfig

__all__ = ["register"]

_EPILOG = """\
An estimate from the [cost] section's machine prices, not a bill. It prices the task CPU
time Spark measured (ops.batch_log.task_cpu_ms) in the batches of the last
cost.window_hours, not idle cores, disks, network, storage, Pub/Sub or discounts:

  V = master_vcpus + workers * worker_vcpus
  M = master_memory_gb + workers * worker_memory_gb
  P = V * (vcpu_hour + dataproc_vcpu_hour) + M * memory_gb_hour   (cluster, per hour)
  p = P / V                                    (one busy vCPU-hour, memory included)
  H = task_cpu_ms / window_seconds * 86400 / 3.6e6          (CPU hours per day)
  E = events / window_seconds * 86400                       (events per day)
  price per day = H * p;  per million events = H * p / E * 1e6
  cluster all day = 24 * P;  utilization = H / (24 * V)

window_seconds runs from the first batch of the window to now."""


def register(sub: Subparsers, common: argparse.ArgumentParser) -> dict[str, Command]:
    cost = sub.add_parser(
        "cost",
        parents=[common],
        help="estimate the Dataproc price per day at the current rate (from [cost] prices)",
        description="Estimate the Dataproc price per day of each stream at its current rate.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    cost.add_argument("--dataset", metavar="D", help="only the streams of this dataset")
    return {"cost": cmd_cost}


def cmd_cost(args: argparse.Namespace, config: LakehouseConfig) -> int:
    from lakehouse.cost.estimate import read_current_rates, render_estimate

    spark = session(config, "lakehouse-cost", write=False, create=False)
    rates = read_current_rates(spark, config, args.dataset)
    print(render_estimate(rates, config))
    return 0
