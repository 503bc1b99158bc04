"""Running a Great Expectations suite on a Spark DataFrame, and reading GE's verdicts.

GE is the reference: every verdict here is GE's own ``validate()`` result, reduced to one
:class:`Outcome` per expectation with the fields the quality results table keeps.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pyspark.sql import DataFrame

from lakehouse.quality.suites import SuiteFile

__all__ = ["Outcome", "build_data_docs", "is_row_level", "validate_dataframe"]

# Map expectations on which a row cannot fail alone: they judge the whole batch.
_TABLE_LEVEL_MAP_TYPES = frozenset(
    {
        "expect_column_values_to_be_unique",
        "expect_compound_columns_to_be_unique",
        "expect_multicolumn_values_to_be_unique",
    }
)


@dataclass(frozen=True)
class Outcome:
    """GE's verdict on one expectation of a suite for one batch."""

    suite: str
    expectation_type: str
    kwargs: Mapping[str, Any]
    severity: str
    row_level: bool
    success: bool
    observed_value: str | None
    unexpected_count: int | None
    unexpected_percent: float | None
    failing_keys: Sequence[Mapping[str, Any]] = field(default_factory=tuple)
    meta: Mapping[str, Any] = field(default_factory=dict, compare=False)

    @property
    def column(self) -> str | None:
        column = self.kwargs.get("column")
        if column is None and "column_list" in self.kwargs:
            return ",".join(self.kwargs["column_list"])
        return str(column) if column is not None else None

    @property
    def label(self) -> str:
        """``type(column)``: how a quarantine reason names the expectation."""
        column = self.column
        return f"{self.expectation_type}({column})" if column else self.expectation_type


def is_row_level(expectation_type: str) -> bool:
    """Whether a failure of this expectation type points at individual rows."""
    from great_expectations.expectations.expectation import (
        ColumnMapExpectation,
        ColumnPairMapExpectation,
        MulticolumnMapExpectation,
    )
    from great_expectations.expectations.registry import get_expectation_impl

    if expectation_type in _TABLE_LEVEL_MAP_TYPES:
        return False
    cls = get_expectation_impl(expectation_type)
    return issubclass(
        cls, (ColumnMapExpectation, ColumnPairMapExpectation, MulticolumnMapExpectation)
    )


def _context() -> Any:
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    logging.getLogger("great_expectations").setLevel(logging.ERROR)
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    return context


def _batch_definition(context: Any) -> Any:
    source = context.data_sources.add_spark("lakehouse")
    return source.add_dataframe_asset("batch").add_batch_definition_whole_dataframe("whole")


def _json(value: Any) -> str | None:
    if value is None:
        return None
    return json.dumps(value, default=str, sort_keys=True)


def _outcome(suite: str, result: Any, index_columns: Sequence[str]) -> Outcome:
    config = result.expectation_config
    detail = result.result or {}
    keys: list[dict[str, Any]] = []
    if index_columns and not result.success:
        for item in detail.get("unexpected_index_list") or []:
            if isinstance(item, dict):
                keys.append({c: item.get(c) for c in index_columns})
    percent = detail.get("unexpected_percent")
    return Outcome(
        suite=suite,
        expectation_type=config.type,
        kwargs={k: v for k, v in config.kwargs.items() if k != "batch_id"},
        severity=str(getattr(config.severity, "value", config.severity)),
        row_level=is_row_level(config.type),
        success=bool(result.success),
        observed_value=_json(detail.get("observed_value")),
        unexpected_count=detail.get("unexpected_count"),
        unexpected_percent=float(percent) if percent is not None else None,
        failing_keys=tuple(keys),
        meta=dict(config.meta or {}),
    )


def validate_dataframe(
    df: DataFrame,
    suite: SuiteFile,
    parameters: Mapping[str, Any] | None = None,
    index_columns: Sequence[str] = (),
) -> list[Outcome]:
    """Validate ``df`` with GE; one :class:`Outcome` per expectation (in GE's order).

    With ``index_columns``, failing row-level expectations also return the values of those
    columns for every failing row (GE's COMPLETE result format), to find them again.
    """
    context = _context()
    batch = _batch_definition(context).get_batch(batch_parameters={"dataframe": df})
    result_format: dict[str, Any] = {"result_format": "SUMMARY"}
    if index_columns:
        result_format = {
            "result_format": "COMPLETE",
            "unexpected_index_column_names": list(index_columns),
        }
    results = batch.validate(
        suite.suite, result_format=result_format, expectation_parameters=dict(parameters or {})
    )
    return [_outcome(suite.name, r, index_columns) for r in results.results]


def build_data_docs(
    df: DataFrame, suite: SuiteFile, out_dir: Path, parameters: Mapping[str, Any] | None = None
) -> Path:
    """Validate ``df`` through a GE checkpoint that renders Data Docs (HTML) into ``out_dir``.

    Returns the path of the site's ``index.html``.
    """
    import great_expectations as gx
    from great_expectations.checkpoint.actions import UpdateDataDocsAction

    context = _context()
    out_dir.mkdir(parents=True, exist_ok=True)
    context.add_data_docs_site(
        "lakehouse_docs",
        {
            "class_name": "SiteBuilder",
            "store_backend": {
                "class_name": "TupleFilesystemStoreBackend",
                "base_directory": str(out_dir.resolve()),
            },
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
        },
    )
    stored = context.suites.add(gx.ExpectationSuite(**suite.suite.to_json_dict()))
    definition = context.validation_definitions.add(
        gx.ValidationDefinition(name=suite.name, data=_batch_definition(context), suite=stored)
    )
    checkpoint = context.checkpoints.add(
        gx.Checkpoint(
            name=f"{suite.name}_docs",
            validation_definitions=[definition],
            actions=[UpdateDataDocsAction(name="docs", site_names=["lakehouse_docs"])],
        )
    )
    checkpoint.run(
        batch_parameters={"dataframe": df}, expectation_parameters=dict(parameters or {})
    )
    return out_dir / "index.html"
