"""Commands on the dataset contracts: ``contracts check [--against GIT_REV|FILE|DIR]``."""

from __future__ import annotations

import argparse
from pathlib import Path

from lakehouse.cli.common import Command, Subparsers
from lakehouse.config import LakehouseConfig

__all__ = ["register"]


def register(sub: Subparsers, common: argparse.ArgumentParser) -> dict[str, Command]:
    contracts = sub.add_parser(
        "contracts", parents=[common], help="check the dataset contracts (datasets/<name>/)"
    )
    actions = contracts.add_subparsers(dest="action", required=True, metavar="ACTION")
    check = actions.add_parser(
        "check",
        parents=[common],
        help="validate every dataset; with --against, classify each change compatible or "
        "breaking and exit 1 on a breaking change without a new MAJOR version",
    )
    check.add_argument(
        "--against",
        metavar="GIT_REV|FILE|DIR",
        help="the old contracts: a git revision (e.g. origin/main), a contract file, or a "
        "dataset or datasets folder",
    )
    check.add_argument(
        "--datasets",
        default=None,
        metavar="DIR",
        help="the datasets folder, one folder per dataset (default: [datasets] dir)",
    )
    return {"contracts": cmd_contracts}


def cmd_contracts(args: argparse.Namespace, config: LakehouseConfig) -> int:
    from lakehouse.contracts import load_datasets
    from lakehouse.contracts.compat import judge
    from lakehouse.contracts.history import read_baseline

    root = Path(args.datasets or config.datasets.dir)
    datasets = load_datasets(root, Path(config.quality.suite_dir))
    for dataset in datasets.values():
        versions = ", ".join(
            str(v.version) for v in sorted(dataset.versions, key=lambda v: v.version)
        )
        gold = ", ".join(g.name for g in dataset.gold) or "(none)"
        print(
            f"{dataset.name} {dataset.version}: owner {dataset.owner}; schema versions "
            f"{versions}; gold tables {gold}"
        )
    if args.against is None:
        print(f"{len(datasets)} dataset(s) valid")
        return 0
    baseline = read_baseline(args.against, root)
    names = sorted(n for n in set(datasets) | set(baseline.datasets) if baseline.covers(n))
    verdicts = [judge(baseline.datasets.get(n), datasets.get(n), gold=baseline.gold) for n in names]
    for verdict in verdicts:
        for line in verdict.lines():
            print(line)
    if not baseline.gold:
        print(f"note: gold tables not compared: no gold/ folder beside {args.against}")
    changes = sum(len(v.changes) for v in verdicts)
    breaking = sum(1 for v in verdicts for c in v.changes if c.breaking)
    refused = [v.dataset for v in verdicts if not v.ok]
    outcome = f"refused: {', '.join(refused)}" if refused else "ok"
    print(
        f"against {baseline.label}: {len(verdicts)} dataset(s) compared, {changes} change(s), "
        f"{breaking} breaking; {outcome}"
    )
    return 1 if refused else 0
