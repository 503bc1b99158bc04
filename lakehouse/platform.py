"""The platform: every declared dataset and every table of the lake, for one configuration.

The datasets come from their folders (:mod:`lakehouse.contracts`), the ``ops`` tables from
:mod:`lakehouse.ops`. Gold tables need Spark's analysis of their SQL files, so a
platform loaded with a session knows them (``with_gold``); one loaded without knows the
bronze, silver and quarantine tables of each dataset and the ops tables.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from lakehouse.config import LakeConfig, LakehouseConfig, SourceConfig
from lakehouse.contracts import Dataset, GoldTable, load_datasets
from lakehouse.contracts.suites import check_suites
from lakehouse.contracts.tables import (
    bronze_table,
    gold_table_names,
    quarantine_table,
    silver_table,
)
from lakehouse.errors import ConfigError, TableError
from lakehouse.ops import OPS_TABLES, TableDef

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

__all__ = ["DatasetTables", "Platform", "load_platform", "source_config"]


@dataclass(frozen=True)
class DatasetTables:
    """The tables of one dataset."""

    dataset: Dataset
    bronze: TableDef
    silver: TableDef
    quarantine: TableDef
    gold: tuple[tuple[GoldTable, TableDef, TableDef], ...] = ()  # query, table, quarantine

    @property
    def all(self) -> tuple[TableDef, ...]:
        golds = tuple(t for _, table, quarantine in self.gold for t in (table, quarantine))
        return (self.bronze, self.silver, self.quarantine, *golds)


@dataclass(frozen=True)
class Platform:
    """The datasets this deployment runs and every table of its lake."""

    datasets: dict[str, DatasetTables]
    has_gold: bool = False
    _tables: dict[str, TableDef] = field(default_factory=dict)

    def __post_init__(self) -> None:
        tables: dict[str, TableDef] = {}
        for tables_of in self.datasets.values():
            for table in tables_of.all:
                tables[table.name] = table
        tables.update(OPS_TABLES)
        self._tables.update(tables)

    @property
    def tables(self) -> dict[str, TableDef]:
        """Every table: each dataset's, then the ops tables."""
        return dict(self._tables)

    def table(self, name: str) -> TableDef:
        """A table by its catalog name; an error naming the known tables."""
        try:
            return self._tables[name]
        except KeyError:
            raise TableError(
                f"unknown table {name!r}; known tables are {', '.join(sorted(self._tables))}"
            ) from None

    def dataset(self, name: str) -> DatasetTables:
        """The tables of a dataset by name; an error naming the datasets."""
        try:
            return self.datasets[name]
        except KeyError:
            raise ConfigError(
                f"unknown dataset {name!r}; the datasets are {', '.join(self.datasets)}"
            ) from None

    def only(self, names: list[str] | tuple[str, ...] | None) -> list[DatasetTables]:
        """The datasets named (all when none are), in declaration order."""
        if not names:
            return list(self.datasets.values())
        return [self.dataset(n) for n in dict.fromkeys(names)]

    def dataset_of(self, table: str) -> DatasetTables | None:
        """The dataset a table belongs to (None for the ops tables)."""
        for tables_of in self.datasets.values():
            if any(t.name == table for t in tables_of.all):
                return tables_of
        return None

    def gold_locations(self, lake: LakeConfig) -> list[str]:
        """Where every dataset's gold tables and their quarantine tables are, known before
        Spark analyses the gold SQL (their schemas are not)."""
        return [
            lake.table_path(*name.split(".", 1))
            for tables_of in self.datasets.values()
            for gold in tables_of.dataset.gold
            for name in gold_table_names(gold)
        ]

    def with_gold(self, spark: SparkSession) -> Platform:
        """The same platform with every dataset's gold tables (Spark analyses the SQL)."""
        if self.has_gold:
            return self
        from lakehouse.contracts.analyze import gold_tables

        datasets = {}
        for name, tables_of in self.datasets.items():
            golds = gold_tables(spark, tables_of.dataset)
            datasets[name] = DatasetTables(
                tables_of.dataset,
                tables_of.bronze,
                tables_of.silver,
                tables_of.quarantine,
                tuple((g, *golds[g.name]) for g in tables_of.dataset.gold),
            )
        return Platform(datasets, has_gold=True)


def _files_signature(*folders: str) -> tuple[tuple[str, int, int], ...]:
    """Every file under ``folders`` with its modification time and size: a changed,
    added or removed contract, gold file or suite gives another signature."""
    files = []
    for folder in folders:
        root = Path(folder)
        if root.is_dir():
            for path in root.rglob("*"):
                if path.is_file():
                    stat = path.stat()
                    files.append((str(path), stat.st_mtime_ns, stat.st_size))
    return tuple(sorted(files))


# One process loads a configuration's platform once (every command, job and stream start
# asks for it) and analyses its gold SQL once per Spark application, until a file changes.
_LOADED: dict[tuple[object, ...], Platform] = {}
_WITH_GOLD: dict[tuple[object, ...], Platform] = {}


def load_platform(config: LakehouseConfig, spark: SparkSession | None = None) -> Platform:
    """The datasets of ``config`` (``[datasets] dir``, only ``names`` when given) and their
    tables; with ``spark``, their gold tables too."""
    key = (
        config.datasets.dir,
        config.datasets.names,
        config.quality.suite_dir,
        _files_signature(config.datasets.dir, config.quality.suite_dir),
    )
    if key not in _LOADED:
        _LOADED.clear()  # a file changed: forget the older platforms
        _WITH_GOLD.clear()
        _LOADED[key] = _load(config)
    platform = _LOADED[key]
    if spark is None:
        return platform
    gold_key = (*key, spark.sparkContext.applicationId)
    if gold_key not in _WITH_GOLD:
        _WITH_GOLD[gold_key] = platform.with_gold(spark)
    return _WITH_GOLD[gold_key]


def _load(config: LakehouseConfig) -> Platform:
    declared = load_datasets(Path(config.datasets.dir))
    unknown = [n for n in config.datasets.names if n not in declared]
    if unknown:
        raise ConfigError(
            f"datasets.names: {unknown[0]!r} is not declared in {config.datasets.dir!r}; the "
            f"datasets are {', '.join(declared)}"
        )
    chosen = config.datasets.names or tuple(declared)
    for name in chosen:  # the suites of the datasets this deployment runs
        check_suites(declared[name], Path(config.quality.suite_dir))
    return Platform(
        {
            name: DatasetTables(
                declared[name],
                bronze_table(declared[name]),
                silver_table(declared[name]),
                quarantine_table(declared[name]),
            )
            for name in chosen
        }
    )


def source_config(config: LakehouseConfig, dataset: Dataset) -> SourceConfig:
    """``[source]`` for one dataset: its landing folder (``<landing_path>/<server path>``,
    by default ``<landing_path>/<dataset>``), its Kafka topics, its Pub/Sub Lite and its
    Pub/Sub subscription when the contract names them (each overrides the deployment's);
    the rest (type, brokers, auth, limits) is the deployment's."""
    source, servers = config.source, dataset.servers
    landing = servers.landing_path or dataset.name
    if not Path(landing).is_absolute() and "://" not in landing:
        landing = f"{source.landing_path.rstrip('/')}/{landing}"
    changes: dict[str, object] = {"landing_path": landing}
    if servers.kafka_topics:
        changes["kafka_topics"] = ",".join(servers.kafka_topics)
    if servers.pubsublite_subscription:
        changes["pubsublite_subscription"] = servers.pubsublite_subscription
    if servers.pubsub_subscription:
        changes["pubsub_subscription"] = servers.pubsub_subscription
    return dataclasses.replace(source, **changes)  # type: ignore[arg-type]
