"""Commands about dataset folders: ``datasets new`` (a draft contract from a sample)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from lakehouse.cli.common import Command, Subparsers
from lakehouse.config import LakehouseConfig

if TYPE_CHECKING:
    from lakehouse.contracts.draft import Draft

__all__ = ["register"]


def register(sub: Subparsers, common: argparse.ArgumentParser) -> dict[str, Command]:
    datasets = sub.add_parser(
        "datasets", parents=[common], help="dataset folders: draft a new one from a sample"
    )
    ds_sub = datasets.add_subparsers(dest="action", required=True, metavar="ACTION")
    new = ds_sub.add_parser(
        "new",
        parents=[common],
        help="profile a sample of JSON lines; write a draft contract and suite to review",
    )
    new.add_argument("name", help="dataset name: lowercase letters, digits and _")
    new.add_argument(
        "--from-sample",
        required=True,
        metavar="FILE.jsonl",
        help="JSON lines, one event per line (lines that are not JSON objects are skipped)",
    )
    new.add_argument(
        "--datasets",
        default=None,
        metavar="DIR",
        help="the datasets folder (default: [datasets] dir); writes DIR/NAME/contract.yaml",
    )
    new.add_argument(
        "--suites",
        metavar="DIR",
        help="the suites folder (default: [quality] suite_dir); writes NAME_bronze_to_silver.json",
    )
    new.add_argument(
        "--force", action="store_true", help="replace an existing contract and suite of NAME"
    )
    return {"datasets": cmd_datasets}


def cmd_datasets(args: argparse.Namespace, config: LakehouseConfig) -> int:
    from lakehouse.contracts.scaffold import new_dataset
    from lakehouse.display import format_table

    suites = Path(args.suites or config.quality.suite_dir)
    done = new_dataset(
        args.name,
        Path(args.from_sample),
        Path(args.datasets or config.datasets.dir),
        suites,
        force=args.force,
    )
    draft, sample = done.draft, done.draft.sample
    print(f"profiled {sample.records} record(s) of {sample.lines} line(s) in {sample.source}")
    if sample.bad:
        shown = "; ".join(f"line {n}: {why}" for n, why in sample.bad_lines[:5])
        more = f" (first {min(5, sample.bad)}: {shown})"
        print(f"skipped {sample.bad} line(s) that are not JSON objects{more}")
    rows = [
        [
            f.name,
            f.physical_type or f.logical_type,
            "yes" if f.required else "",
            f.classification,
            _role(f.name, draft),
        ]
        for f in draft.fields
    ]
    print(format_table(["field", "type", "required", "classification", "role"], rows))
    print(f"wrote {done.contract} (status: draft)")
    print(f"wrote {done.suite}")
    print("review before use:")
    for item in done.checklist:
        print(f"  - {item}")
    return 0


def _role(name: str, draft: Draft) -> str:
    roles = {
        "id_field": "primaryKey",
        "event_time_field": "eventTimeField",
        "version_field": "versionField",
        "subject_field": "subjectField",
    }
    return ", ".join(role for attr, role in roles.items() if getattr(draft, attr) == name)
