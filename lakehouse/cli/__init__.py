"""The ``lakehouse`` command line: one module per command group.

- :mod:`lakehouse.cli.pipeline`: ``demo``, ``generate``, ``run``, ``publish``
- :mod:`lakehouse.cli.query`: ``sql``, ``validate``, ``catalog``
- :mod:`lakehouse.cli.dataproc`: ``submit``
- :mod:`lakehouse.cli.maintenance`: ``retention run``, ``erase``
- :mod:`lakehouse.cli.monitoring`: ``anomalies detect``, ``status``, ``report``
- :mod:`lakehouse.cli.contracts`: ``contracts check``
- :mod:`lakehouse.cli.cost`: ``cost``
- :mod:`lakehouse.cli.alerts`: ``alerts check``, ``alerts test``
- :mod:`lakehouse.cli.trace`: ``trace``
- :mod:`lakehouse.cli.repair`: ``replay``, ``backfill``
- :mod:`lakehouse.cli.serve`: ``serve``
"""

from __future__ import annotations

import argparse
import logging
import sys
import traceback
from collections.abc import Sequence

from lakehouse.cli import (
    alerts,
    console,
    contracts,
    cost,
    dataproc,
    datasets,
    maintenance,
    monitoring,
    pipeline,
    query,
    repair,
    serve,
    trace,
)
from lakehouse.cli.common import Command
from lakehouse.config import load_config
from lakehouse.engine_errors import is_engine_error, root_cause
from lakehouse.errors import LakehouseError

__all__ = ["main"]

_GROUPS = (
    pipeline,
    query,
    dataproc,
    maintenance,
    monitoring,
    contracts,
    datasets,
    cost,
    alerts,
    trace,
    repair,
    serve,
)


def _parser() -> tuple[argparse.ArgumentParser, dict[str, Command]]:
    parser = argparse.ArgumentParser(
        prog="lakehouse",
        description="Streaming lakehouse: bronze, silver and gold Delta tables.",
    )
    parser.add_argument(
        "--config",
        help="configuration file (default: $LAKEHOUSE_CONFIG, else ./lakehouse.toml if present)",
    )
    parser.add_argument(
        "--verbose",
        action="store_true",
        help="print the path of the log file (Spark's start-up, full error traces) and, "
        "on an error, its full trace",
    )
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    common.add_argument(
        "--verbose", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands: dict[str, Command] = {}
    for group in _GROUPS:
        commands.update(group.register(sub, common))
    return parser, commands


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``lakehouse`` console script; returns the exit code."""
    parser, commands = _parser()
    args = parser.parse_args(argv)
    console.configure(verbose=args.verbose)
    # PySpark logs every failed query with a stack trace; the CLI reports it in one line.
    for name in ("SQLQueryContextLogger", "DataFrameQueryContextLogger"):
        logging.getLogger(name).disabled = True
    try:
        config = load_config(args.config)
        return commands[args.command](args, config)
    except (LakehouseError, OSError) as exc:
        return _error(_one_line(str(exc)), exc)
    except Exception as exc:
        # Spark and py4j errors carry pages of JVM stack trace: one line, the cause, exit 2
        if not is_engine_error(exc):
            raise
        return _error(_one_line(root_cause(exc)), exc)


def _error(line: str, exc: BaseException) -> int:
    """Print ``lakehouse: error: <line>``; the full trace goes to the log file (named on the
    line when the error came from Spark) and, with ``--verbose``, to the terminal too."""
    trace = "".join(traceback.format_exception(exc))
    engine = any(is_engine_error(e) for e in _chain(exc))
    if console.verbose():
        print(trace, file=sys.stderr, end="")
    if engine:
        try:
            log = console.log_file()
            with log.open("a", encoding="utf-8") as handle:
                handle.write(trace)
            line = f"{line} (full trace: {log})"
        except OSError:
            pass  # no log folder: the line alone
    print(f"lakehouse: error: {line}", file=sys.stderr)
    return 2


def _chain(exc: BaseException) -> list[BaseException]:
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def _one_line(message: str, limit: int = 500) -> str:
    """The first non-empty line of ``message``, at most ``limit`` characters."""
    lines = [line.strip() for line in message.strip().splitlines() if line.strip()]
    first = lines[0] if lines else "unknown error"
    return first if len(first) <= limit else first[: limit - 3] + "..."


if __name__ == "__main__":
    sys.exit(main())
