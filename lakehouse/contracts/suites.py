"""The suites a dataset's contract and gold tables name: they must exist, and the columns
their expectations name must be columns of the table they gate (read from GE's JSON without
importing GE, so the check is instant)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from lakehouse.contracts.model import Dataset
from lakehouse.errors import ContractError

__all__ = ["check_suites", "suite_columns"]

_COLUMN_KWARGS = ("column", "column_A", "column_B")
_LIST_KWARGS = ("column_list", "column_set")


def suite_columns(path: Path) -> set[str]:
    """Every column an expectation of the suite at ``path`` names."""
    try:
        data: Any = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ContractError(f"{path}: not a readable GE suite ({exc})") from exc
    columns: set[str] = set()
    for expectation in data.get("expectations", []) if isinstance(data, dict) else []:
        kwargs = expectation.get("kwargs", {}) if isinstance(expectation, dict) else {}
        columns.update(str(kwargs[k]) for k in _COLUMN_KWARGS if isinstance(kwargs.get(k), str))
        for key in _LIST_KWARGS:
            if isinstance(kwargs.get(key), list):
                columns.update(str(c) for c in kwargs[key])
    return columns


def _suite(suite_dir: Path, name: str, who: str) -> Path:
    path = suite_dir / f"{name}.json"
    if not path.is_file():
        known = sorted(p.stem for p in suite_dir.glob("*.json")) if suite_dir.is_dir() else []
        raise ContractError(
            f"{who}: suite {name!r} not found in {str(suite_dir)!r}; known suites are "
            f"{', '.join(known) or '(none)'}"
        )
    return path


def check_columns(path: Path, columns: Iterable[str], table: str) -> None:
    """The suite at ``path`` names only ``columns`` (of ``table``)."""
    known = set(columns)
    missing = sorted(suite_columns(path) - known)
    if missing:
        raise ContractError(
            f"{path}: expectation(s) name column(s) {', '.join(missing)} that {table} does not "
            f"have; its columns are {', '.join(sorted(known))}"
        )


def check_suites(dataset: Dataset, suite_dir: Path) -> None:
    """The silver suite and every gold suite exist; the silver suite names silver columns."""
    from lakehouse.contracts.tables import silver_table

    contract = dataset.folder / "contract.yaml"
    silver = silver_table(dataset)
    check_columns(
        _suite(suite_dir, dataset.silver_suite, f"{contract}: silverSuite"),
        silver.schema.fieldNames(),
        silver.name,
    )
    for gold in dataset.gold:
        _suite(suite_dir, gold.suite, f"{gold.path}: suite")
