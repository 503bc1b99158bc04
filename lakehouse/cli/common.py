"""What the command groups share: the session a command starts, common arguments."""

from __future__ import annotations

import argparse
import time
from collections.abc import Collection
from typing import TYPE_CHECKING, Any, Protocol

from lakehouse.cli.console import jvm_output_to_log, progress_step
from lakehouse.config import LakehouseConfig
from lakehouse.errors import ConfigError

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from lakehouse.generate.spec import GeneratorSpec
    from lakehouse.sources.base import EventSource

__all__ = [
    "LAYERS",
    "Command",
    "Subparsers",
    "check_days",
    "days_arg",
    "generator_args",
    "purge_now_arg",
    "register_platform",
    "session",
    "spec",
]

LAYERS = ("bronze", "silver", "gold")

# argparse's private _SubParsersAction: the groups add their commands to it
Subparsers = Any


class Command(Protocol):
    def __call__(self, args: argparse.Namespace, config: LakehouseConfig) -> int: ...


def days_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--days", type=int, default=7, help="how many days back to show (default 7)"
    )


def check_days(days: int) -> None:
    if not 1 <= days <= 400:
        raise ConfigError(f"--days: {days} must be 1 to 400")


def purge_now_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--purge-now",
        action="store_true",
        help="VACUUM without retention: removed files are deleted at once (stop or catch up "
        "the streams that read the tables first); default: each table's retention",
    )


def generator_args(parser: argparse.ArgumentParser, default_count: int, files: bool = True) -> None:
    parser.add_argument("--events", type=int, default=default_count, help="number of events")
    parser.add_argument(
        "--bad-share", type=float, default=0.05, help="share of bad events, 0 to 1 (default 0.05)"
    )
    parser.add_argument(
        "--rate", type=float, default=50.0, help="events per second of event time (default 50)"
    )
    parser.add_argument("--seed", type=int, default=None, help="random seed (default: time)")
    if files:
        parser.add_argument("--events-per-file", type=int, default=1000)


def spec(args: argparse.Namespace) -> GeneratorSpec:
    from lakehouse.generate.spec import GeneratorSpec

    seed = args.seed if args.seed is not None else time.time_ns() % 2**31
    return GeneratorSpec(count=args.events, bad_share=args.bad_share, rate=args.rate, seed=seed)


def session(
    config: LakehouseConfig,
    app: str,
    source: EventSource | None = None,
    *,
    write: bool = True,
    register: bool = True,
    create: bool = True,
    streams: tuple[str, ...] | None = None,
    later: bool = False,
) -> SparkSession:
    """The session, with what ``source`` needs (jars, settings) when it reads or writes one.

    The lake must be readable (and writable when ``write``) before Spark starts: a
    permission problem is one line, not a JVM stack trace. ``register=False`` (a command on
    files only, e.g. ``validate --path``) registers no table and needs no datasets. Without
    ``create`` (commands that read) the lake must exist: its tables are registered, never
    created.

    ``streams``: the layers a process runs streams of (``lakehouse run``). On the in-memory
    catalog such a process names no table (every read and write is by path, and no other
    process sees its catalog): the tables are made ready (:func:`prepare_tables`) without
    being registered, and the gold SQL is analysed only when gold runs or a gold table is
    missing. A shared metastore gets them registered as every command does.

    ``later``: the lake is checked, but the caller registers the tables it needs
    (:func:`register_platform`)."""
    from lakehouse.catalog import prepare_tables, table_exists, table_path
    from lakehouse.platform import load_platform
    from lakehouse.preflight import check_lake, check_storage
    from lakehouse.session import build_session

    check_storage(config.lake.root, "lake.root", write=write)
    if register:
        platform = load_platform(config)  # a bad contract is one line before Spark starts
        if not create:
            paths = [table_path(config.lake, t) for t in platform.tables.values()]
            check_lake(config.lake.root, paths)

    packages = source.extra_packages() if source else ()
    with progress_step("starting Spark"), jvm_output_to_log():
        spark = build_session(config.spark, app, packages, source.spark_conf() if source else None)
    if not register:
        return spark
    if streams is not None and config.spark.catalog == "in-memory":
        with progress_step(f"checking the tables of {config.lake.root}"):
            platform = load_platform(config)
            if "gold" in streams or not all(
                table_exists(spark, path) for path in platform.gold_locations(config.lake)
            ):
                platform = load_platform(config, spark)
            prepare_tables(spark, config.lake, platform.tables.values())
        return spark
    if not later:
        register_platform(spark, config, create=create)
    return spark


def register_platform(
    spark: SparkSession,
    config: LakehouseConfig,
    *,
    create: bool,
    names: Collection[str] | None = None,
) -> None:
    """Register every table of every dataset in the session catalog, or only those of
    ``names`` that are tables of the platform (``lakehouse sql``: the tables a statement
    reads; the gold SQL is analysed only when it names a gold table). Without ``create``
    only tables that exist are registered (:func:`lakehouse.catalog.register_tables`); a
    named table that does not is left for Spark to report as not found."""
    from lakehouse.catalog import register_tables, table_exists, table_path
    from lakehouse.platform import load_platform

    platform = load_platform(config)
    if names is None:
        tables = list(load_platform(config, spark).tables.values())
    else:
        wanted = {n.lower() for n in names}
        if not wanted <= set(platform.tables):
            platform = load_platform(config, spark)  # a gold table's schema is its SQL's
        tables = [t for n, t in platform.tables.items() if n in wanted]
        if not create:
            tables = [t for t in tables if table_exists(spark, table_path(config.lake, t))]
        if not tables:
            return
    with progress_step(f"registering the tables of {config.lake.root}"):
        register_tables(  # every table of every dataset, addressable by name
            spark,
            config.lake,
            tables,
            replace_mismatched=config.spark.catalog == "in-memory",
            create=create,
        )
