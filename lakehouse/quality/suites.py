"""Great Expectations suites stored as JSON in ``expectations/``, one per promotion.

A suite file is GE's own serialization (``ExpectationSuite.to_json_dict()``). Loading checks
what GE would only reject later, and names the file and the problem.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lakehouse.errors import LakehouseError

__all__ = [
    "SEVERITIES",
    "SuiteError",
    "SuiteFile",
    "default_suite_dir",
    "find_suite",
    "load_suite",
]

SEVERITIES = ("critical", "warning", "info")


class SuiteError(LakehouseError):
    """A suite file is missing, malformed, or names something GE does not know."""


@dataclass(frozen=True)
class SuiteFile:
    """A loaded suite: where it came from and GE's suite object."""

    path: Path
    suite: Any  # great_expectations.ExpectationSuite

    @property
    def name(self) -> str:
        return str(self.suite.name)


def default_suite_dir() -> Path:
    """The ``expectations/`` folder shipped next to the package (the repository root)."""
    return Path(__file__).resolve().parents[2] / "expectations"


def find_suite(name_or_path: str, suite_dir: Path | None = None) -> Path:
    """A suite file by path, or by name in the suite folder (``bronze_to_silver``)."""
    candidate = Path(name_or_path)
    if candidate.suffix == ".json" or candidate.exists():
        return candidate
    folder = suite_dir or default_suite_dir()
    path = folder / f"{name_or_path}.json"
    if not path.exists():
        known = sorted(p.stem for p in folder.glob("*.json")) if folder.is_dir() else []
        raise SuiteError(
            f"no suite named {name_or_path!r} in {str(folder)!r}; "
            f"known suites are {', '.join(known) or '(none)'}"
        )
    return path


def _expectation_class(type_name: str) -> type[Any] | None:
    from great_expectations.exceptions.exceptions import ExpectationNotFoundError
    from great_expectations.expectations.registry import get_expectation_impl

    try:
        return get_expectation_impl(type_name)
    except ExpectationNotFoundError:
        return None


def _check_expectation(where: str, index: int, item: Any) -> None:
    at = f"{where}: expectations[{index}]"
    if not isinstance(item, dict):
        raise SuiteError(f"{at} must be an object, got {item!r}")
    type_name = item.get("type")
    if not isinstance(type_name, str):
        raise SuiteError(f"{at} has no 'type' (e.g. 'expect_column_values_to_not_be_null')")
    if _expectation_class(type_name) is None:
        raise SuiteError(f"{at}: {type_name!r} is not a Great Expectations expectation type")
    kwargs = item.get("kwargs", {})
    if not isinstance(kwargs, dict):
        raise SuiteError(f"{at} ({type_name}): 'kwargs' must be an object, got {kwargs!r}")
    severity = item.get("severity", "critical")
    if severity not in SEVERITIES:
        raise SuiteError(
            f"{at} ({type_name}): severity {severity!r} is not valid; "
            f"choose one of {', '.join(SEVERITIES)}"
        )


def load_suite(path: str | Path) -> SuiteFile:
    """Load and check a suite file; errors name the file and the problem."""
    import great_expectations as gx
    from great_expectations.exceptions.exceptions import GreatExpectationsError
    from pydantic import ValidationError

    file = Path(path)
    where = str(file)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SuiteError(f"suite file {where!r} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SuiteError(f"suite file {where!r} cannot be read: {exc}") from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SuiteError(
            f"{where}: not valid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
        ) from exc
    if not isinstance(data, dict):
        raise SuiteError(f"{where}: a suite must be a JSON object, got {type(data).__name__}")
    if not isinstance(data.get("name"), str) or not data["name"]:
        raise SuiteError(f"{where}: the suite has no 'name'")
    expectations = data.get("expectations")
    if not isinstance(expectations, list) or not expectations:
        raise SuiteError(f"{where}: 'expectations' must be a non-empty list")
    for index, item in enumerate(expectations):
        _check_expectation(where, index, item)
    try:
        suite = gx.ExpectationSuite(**data)
    except (ValidationError, TypeError, ValueError, GreatExpectationsError) as exc:
        raise SuiteError(f"{where}: not a valid suite: {_first_line(exc)}") from exc
    return SuiteFile(file, suite)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return " ".join(text.split("\n")[:3]) if text else type(exc).__name__
