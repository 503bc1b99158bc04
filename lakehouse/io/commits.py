"""What Delta's log says of a table, read from its log files without a Spark job: the data
files commits added, and the newest checksum (file count, recorded idempotent writes).

A batch knows the commits its writes made (table path and version). Each commit is one JSON
file, ``<table>/_delta_log/<version, 20 digits>.json``, with one action per line. It is read
through Hadoop's ``FileSystem`` in the driver's JVM, so ``gs://`` paths work as local ones
do, and reduced there, with a Java regex, to the paths of its ``add`` and ``remove``
actions: a commit carries the statistics of every file it adds (kilobytes per file), and a
py4j answer of more than about 8 kB takes 40 ms however fast the JVM made it. Eight py4j
calls and, on GCS, one GET per commit.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from py4j.protocol import Py4JJavaError  # type: ignore[import-untyped]
from pyspark.sql import SparkSession

__all__ = [
    "commit_file",
    "files_added",
    "files_written",
    "newest_checksum",
    "transaction_recorded",
]

_log = logging.getLogger(__name__)

# A line of an add or remove action, {"add":{"path":"<path>",... (Delta writes the path
# first, URL-encoded: no quote in it), becomes add"<path>"; every other line nothing.
_ACTION_PATHS = r'(?m)^\{"(add|remove)":\{"path":("[^"]*")[^\n]*\n?|^[^\n]*\n?'
_PATHS = re.compile(r'(add|remove)"([^"]*)"')


def commit_file(path: str, version: int) -> str:
    """The log file of ``version`` of the Delta table at ``path``."""
    return f"{path.rstrip('/')}/_delta_log/{version:020d}.json"


def files_added(actions: Iterable[tuple[str, str]]) -> int:
    """The data files a commit added, from its actions (``add`` or ``remove``, and the file's
    path): its ``add`` actions, less those that add again a file the same commit removes.
    Delta does that when it attaches a deletion vector to a file (a MERGE, UPDATE or DELETE
    that marks rows of it deleted): the file is not written again, only its deletion vector
    is."""
    actions = list(actions)
    removed = {path for action, path in actions if action == "remove"}
    return sum(1 for action, path in actions if action == "add" and path not in removed)


def files_written(spark: SparkSession, commits: Iterable[tuple[str, int]]) -> int | None:
    """The data files the ``commits`` (table path, version) added (:func:`files_added`);
    None when a commit's log file cannot be read (logged)."""
    commits = list(commits)
    if not commits:
        return 0
    reader = _Reader(spark)
    total = 0
    for path, version in commits:
        name = commit_file(path, version)
        try:
            total += files_added(_PATHS.findall(reader(name)))
        except Py4JJavaError as exc:
            _log.warning("cannot read the Delta commit %s to count its files: %s", name, exc)
            return None
    return total


_COMMIT = re.compile(r"^(\d{20})\.json$")


def newest_checksum(spark: SparkSession, path: str) -> dict[str, Any] | None:
    """The checksum file of the newest commit of the Delta table at ``path``
    (``_delta_log/<version>.crc``: Delta writes one after each commit, with the table's file
    count and set transactions), parsed, read without a Spark job; None when there is none
    to read (no table, no checksum for the newest commit, an unreadable one).

    Reconstructing a table's state costs Spark jobs (seconds in a process that has read no
    Delta table yet); callers use this to skip work the checksum shows is not needed, and do
    it the full way when this is None. The log folder is listed: for tables of few commits.
    """
    classes = _classes(spark)
    conf = spark.sparkContext._jsc.hadoopConfiguration()
    log = classes.path(f"{path.rstrip('/')}/_delta_log")
    try:
        fs = log.getFileSystem(conf)
        if not fs.exists(log):
            return None
        names = [str(s.getPath().getName()) for s in fs.listStatus(log)]
        versions = [int(m.group(1)) for m in map(_COMMIT.match, names) if m]
        if not versions or f"{max(versions):020d}.crc" not in names:
            return None
        stream = fs.open(classes.path(log, f"{max(versions):020d}.crc"))
        try:
            text = str(classes.io.toString(stream, "UTF-8"))
        finally:
            stream.close()
        checksum = json.loads(text)
    except (Py4JJavaError, ValueError) as exc:
        _log.info("cannot read the Delta checksum of %s: %s", path, exc)
        return None
    return checksum if isinstance(checksum, dict) else None


def transaction_recorded(spark: SparkSession, path: str, app_id: str, version: int) -> bool:
    """Whether the Delta table at ``path`` recorded the idempotent write ``(app_id,
    version)`` (or a later version of ``app_id``), told by its newest checksum
    (:func:`newest_checksum`); False when that cannot tell: the caller then writes, and
    Delta's own check inside the write decides."""
    transactions = (newest_checksum(spark, path) or {}).get("setTransactions") or []
    return any(
        isinstance(t, dict) and t.get("appId") == app_id and int(t.get("version", -1)) >= version
        for t in transactions
    )


class _Reader:
    """The add and remove lines of a commit file (any Hadoop file system), each reduced to
    ``add"<path>"`` in the JVM (:data:`_ACTION_PATHS`)."""

    def __init__(self, spark: SparkSession) -> None:
        classes = _classes(spark)
        self._path, self._io, self._chars = classes.path, classes.io, classes.chars
        self._pattern = classes.action_paths
        self._conf = spark.sparkContext._jsc.hadoopConfiguration()

    def __call__(self, name: str) -> str:
        file = self._path(name)
        stream = file.getFileSystem(self._conf).open(file)
        try:
            text = self._io.toCharArray(stream, "UTF-8")  # stays in the JVM (a char[])
        finally:
            stream.close()
        return str(self._pattern.matcher(self._chars.wrap(text)).replaceAll("$1$2"))


@dataclass(frozen=True)
class _Classes:
    """The JVM classes these reads use, and :data:`_ACTION_PATHS` compiled in the JVM."""

    jvm: Any
    path: Any
    io: Any
    chars: Any
    action_paths: Any


# id of a JVM view -> its classes: finding a class takes one py4j call per part of its
# name, so once per JVM
_CLASSES: dict[int, _Classes] = {}


def _classes(spark: SparkSession) -> _Classes:
    jvm = spark.sparkContext._jvm
    assert jvm is not None
    known = _CLASSES.get(id(jvm))
    if known is None or known.jvm is not jvm:
        known = _CLASSES[id(jvm)] = _Classes(
            jvm,
            jvm.org.apache.hadoop.fs.Path,
            jvm.org.apache.commons.io.IOUtils,
            jvm.java.nio.CharBuffer,
            jvm.java.util.regex.Pattern.compile(_ACTION_PATHS),
        )
    return known
