"""The ``lakehouse`` command line: one module per command group.

- :mod:`lakehouse.cli.pipeline`: ``demo``, ``generate``, ``run``, ``publish``
- :mod:`lakehouse.cli.query`: ``sql``, ``validate``, ``catalog``
- :mod:`lakehouse.cli.dataproc`: ``submit``
- :mod:`lakehouse.cli.maintenance`: ``retention run``, ``erase``
- :mod:`lakehouse.cli.monitoring`: ``anomalies detect``, ``status``, ``report``
- :mod:`lakehouse.cli.contracts`: ``contracts check``
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from lakehouse.cli import contracts, dataproc, datasets, maintenance, monitoring, pipeline, query
from lakehouse.cli.common import Command
from lakehouse.config import load_config
from lakehouse.errors import LakehouseError

__all__ = ["main"]

_GROUPS = (pipeline, query, dataproc, maintenance, monitoring, contracts, datasets)


def _parser() -> tuple[argparse.ArgumentParser, dict[str, Command]]:
    parser = argparse.ArgumentParser(
        prog="lakehouse",
        description="Streaming lakehouse: bronze, silver and gold Delta tables.",
    )
    parser.add_argument(
        "--config",
        help="configuration file (default: $LAKEHOUSE_CONFIG, else ./lakehouse.toml if present)",
    )
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands: dict[str, Command] = {}
    for group in _GROUPS:
        commands.update(group.register(sub, common))
    return parser, commands


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``lakehouse`` console script; returns the exit code."""
    parser, commands = _parser()
    args = parser.parse_args(argv)
    # PySpark logs every failed query with a stack trace; the CLI reports it in one line.
    for name in ("SQLQueryContextLogger", "DataFrameQueryContextLogger"):
        logging.getLogger(name).disabled = True
    try:
        config = load_config(args.config)
        return commands[args.command](args, config)
    except LakehouseError as exc:
        print(f"lakehouse: error: {_one_line(str(exc))}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"lakehouse: error: {_one_line(str(exc))}", file=sys.stderr)
        return 2
    except Exception as exc:
        # Spark and py4j errors carry pages of JVM stack trace: one line, the cause, exit 2
        if not _is_engine_error(exc):
            raise
        print(f"lakehouse: error: {type(exc).__name__}: {_one_line(str(exc))}", file=sys.stderr)
        return 2


def _is_engine_error(exc: BaseException) -> bool:
    """Spark's errors, and py4j's (JVM errors Spark did not convert, a lost gateway)."""
    from pyspark.errors import PySparkException

    return isinstance(exc, PySparkException) or type(exc).__module__.startswith("py4j.")


def _one_line(message: str, limit: int = 500) -> str:
    """The first non-empty line of ``message``, at most ``limit`` characters."""
    lines = [line.strip() for line in message.strip().splitlines() if line.strip()]
    first = lines[0] if lines else "unknown error"
    return first if len(first) <= limit else first[: limit - 3] + "..."


if __name__ == "__main__":
    sys.exit(main())
