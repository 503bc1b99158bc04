"""Datasets declared as data contracts: ``datasets/<name>/contract.yaml`` (ODCS v3) and
``datasets/<name>/gold/*.sql``, loaded, validated and turned into the tables the pipeline runs.

- :mod:`lakehouse.contracts.model`: the Dataset, its schema versions and fields, gold tables
- :mod:`lakehouse.contracts.load`: files -> Dataset, every check one line naming file and key
- :mod:`lakehouse.contracts.fields`: the schema's fields and the platform's per-field keys
- :mod:`lakehouse.contracts.gold`: gold tables as Spark SQL files with a header
- :mod:`lakehouse.contracts.types`: field types as Spark types
- :mod:`lakehouse.contracts.tables`: a dataset's tables (schemas, policies, monitoring)
- :mod:`lakehouse.contracts.suites`: the suites a dataset names exist and name its columns
- :mod:`lakehouse.contracts.compat`: old vs new contract, each change compatible or breaking
- :mod:`lakehouse.contracts.history`: the old contracts of a git revision, file or folder
"""

from __future__ import annotations

from lakehouse.contracts.load import load_dataset, load_datasets
from lakehouse.contracts.model import Dataset, Field, GoldTable, SchemaVersion

__all__ = ["Dataset", "Field", "GoldTable", "SchemaVersion", "load_dataset", "load_datasets"]
