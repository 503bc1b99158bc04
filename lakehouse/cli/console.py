"""What a command shows on the terminal, and what goes to its log file instead.

Spark's start-up (dependency resolution, JVM warnings, log4j) writes to the JVM's standard
output and error, which the JVM inherits from this process when it starts. While it starts
both point at the command's log file, so the terminal shows the command's own lines only;
``--verbose`` prints the log file's path, and an error line names it. A progress line per
step goes to standard error when it is a terminal (never into pipes or captured output).
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyspark.sql.streaming.query import StreamingQuery

__all__ = [
    "LOG_DIR_ENV_VAR",
    "await_showing_batches",
    "configure",
    "jvm_output_to_log",
    "log_file",
    "progress",
    "progress_step",
    "verbose",
]

LOG_DIR_ENV_VAR = "LAKEHOUSE_LOG_DIR"
_KEEP_LOGS = 50


class _State:
    verbose = False
    log: Path | None = None


def configure(*, verbose: bool) -> None:
    """Set by the entry point from ``--verbose``."""
    _State.verbose = verbose
    _State.log = None


def verbose() -> bool:
    return _State.verbose


def log_dir() -> Path:
    """``$LAKEHOUSE_LOG_DIR``, else ``$XDG_CACHE_HOME/lakehouse/logs`` (``~/.cache``)."""
    explicit = os.environ.get(LOG_DIR_ENV_VAR)
    if explicit:
        return Path(explicit)
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "lakehouse" / "logs"


def log_file() -> Path:
    """This command's log file (created on first use; the oldest beyond 50 are removed)."""
    if _State.log is None:
        folder = log_dir()
        folder.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        _State.log = folder / f"lakehouse-{stamp}-{os.getpid()}.log"
        _State.log.touch()
        for old in sorted(folder.glob("lakehouse-*.log"))[:-_KEEP_LOGS]:
            old.unlink(missing_ok=True)
    return _State.log


def progress(message: str) -> None:
    """One progress line on standard error, when it is a terminal."""
    if sys.stderr.isatty():
        print(f"lakehouse: {message}", file=sys.stderr, flush=True)


@contextmanager
def progress_step(message: str) -> Iterator[None]:
    """``message ...`` before a step and ``message: 3.2 s`` after it, on a terminal."""
    started = time.monotonic()
    progress(f"{message} ...")
    yield
    progress(f"{message}: {time.monotonic() - started:.1f} s")


@contextmanager
def jvm_output_to_log() -> Iterator[Path]:
    """Point this process's standard output and error at the log file while the block runs
    (the JVM Spark starts inside it inherits them for its life); Python's own streams are
    back on the terminal afterwards."""
    path = log_file()
    if verbose():
        print(f"lakehouse: log: {path}", file=sys.stderr, flush=True)
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    try:
        with path.open("ab") as log:
            os.dup2(log.fileno(), 1)
            os.dup2(log.fileno(), 2)
        yield path
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in saved:
            os.close(fd)


def await_showing_batches(query: StreamingQuery) -> None:
    """Wait for a draining stream (:func:`~lakehouse.io.streams.await_stream`); on a
    terminal, a progress line per micro-batch."""
    from lakehouse.io.streams import await_stream

    if not sys.stderr.isatty():
        await_stream(query)
        return
    shown = None
    while query.isActive:
        last = query.lastProgress
        if last and last.get("batchId") != shown:
            shown = last.get("batchId")
            progress(f"{query.name}: batch {shown}, {last.get('numInputRows', 0)} rows")
        time.sleep(0.5)
    await_stream(query)
