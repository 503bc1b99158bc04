"""``submit``: run a job on Dataproc."""

from __future__ import annotations

import argparse

from lakehouse.cli.common import LAYERS, Command, Subparsers
from lakehouse.config import LakehouseConfig

__all__ = ["register"]


def register(sub: Subparsers, common: argparse.ArgumentParser) -> dict[str, Command]:
    submit = sub.add_parser("submit", parents=[common], help="run a job on Dataproc")
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
    return {"submit": cmd_submit}


def cmd_submit(args: argparse.Namespace, config: LakehouseConfig) -> int:
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
