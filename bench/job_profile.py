"""Where the fixed cost of a micro-batch goes: the Spark jobs and Delta commits one batch of
a job runs, with their times.

Spark names a job after the JVM call site, which for PySpark is always
``NativeMethodAccessorImpl.java:0``. While :func:`label_jobs` is active, every call from
Python into the JVM first sets the call site to the innermost three ``lakehouse/`` frames of
the Python stack (file, line, function), and so does PySpark's own ``setCallSite`` (which
would name the py4j callback thread), so each job carries the lines of the package that
started it (profiling only: one more JVM call whenever the site changes). Jobs that Delta
starts in its own threads keep Delta's names (``Delta: Compute snapshot for version: 3``).
Jobs are read from Spark's status store (it is kept with the UI off too), commits from the
``_delta_log`` of every table of the lake.
"""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pyspark.sql import SparkSession

__all__ = ["commits_between", "jobs_between", "label_jobs"]

_PACKAGE = "/lakehouse/"


def _site() -> str:
    """The innermost three ``lakehouse/`` frames of the stack, innermost first."""
    frame = sys._getframe(2)
    sites: list[str] = []
    while frame is not None and len(sites) < 3:
        name = frame.f_code.co_filename
        if _PACKAGE in name and "/site-packages/" not in name:
            short = name[name.rindex(_PACKAGE) + len(_PACKAGE) :]
            sites.append(f"{short}:{frame.f_lineno} {frame.f_code.co_name}")
        frame = frame.f_back  # type: ignore[assignment]
    return " < ".join(sites) or "(outside lakehouse)"


@contextmanager
def label_jobs(spark: SparkSession) -> Iterator[None]:
    """Name the Spark jobs started inside after the ``lakehouse`` line that started them."""
    jsc = spark.sparkContext._jsc
    member = type(jsc.setCallSite)  # py4j's JavaMember: every call into the JVM
    original: Callable[..., Any] = member.__call__
    state = threading.local()

    def call(self: Any, *args: Any) -> Any:
        if getattr(self, "name", None) == "setCallSite":
            # PySpark's own (the py4j callback thread for every collect in foreachBatch)
            state.site = _site() if args and args[0] is not None else None
            return original(self, state.site) if state.site else original(self, *args)
        if not getattr(state, "busy", False):
            site = _site()
            if site != getattr(state, "site", None):
                state.busy = True
                try:
                    jsc.setCallSite(site)
                finally:
                    state.busy = False
                state.site = site
        return original(self, *args)

    member.__call__ = call
    try:
        yield
    finally:
        member.__call__ = original
        jsc.setCallSite(None)


def _millis(option: Any) -> int | None:
    return int(option.get().getTime()) if option.isDefined() else None


def jobs_between(spark: SparkSession, start_ms: int, end_ms: int) -> list[dict[str, Any]]:
    """Every Spark job submitted between the two epoch times, oldest first: id, name (the
    call site), description, start (ms after ``start_ms``), duration, tasks."""
    store = spark.sparkContext._jsc.sc().statusStore()
    jobs = store.jobsList(None)
    out: list[dict[str, Any]] = []
    for i in range(jobs.size()):
        job = jobs.apply(i)
        submitted = _millis(job.submissionTime())
        if submitted is None or not start_ms <= submitted <= end_ms:
            continue
        completed = _millis(job.completionTime())
        description = job.description()
        out.append(
            {
                "job": int(job.jobId()),
                "site": str(job.name()),
                "description": str(description.get()) if description.isDefined() else None,
                "start_ms": submitted - start_ms,
                "ms": (completed - submitted) if completed is not None else None,
                "tasks": int(job.numTasks()),
            }
        )
    return sorted(out, key=lambda j: (j["start_ms"], j["job"]))


def commits_between(lake: Path, start_s: float, end_s: float) -> list[dict[str, Any]]:
    """Every Delta commit under ``lake`` whose log file was written between the two epoch
    times, oldest first: table, version, at (ms after ``start_s``), operation, the
    operation's own metrics (execution times where Delta records them), idempotent txn."""
    out: list[dict[str, Any]] = []
    for log in lake.rglob("_delta_log"):
        for entry in log.glob("*.json"):
            written = entry.stat().st_mtime
            if not start_s <= written <= end_s:
                continue
            info: dict[str, Any] = {}
            txn: dict[str, Any] | None = None
            for line in entry.read_text().splitlines():
                action = json.loads(line)
                info = action.get("commitInfo", info)
                txn = action.get("txn", txn)
            metrics = info.get("operationMetrics", {})
            out.append(
                {
                    "table": str(log.parent.relative_to(lake)),
                    "version": int(entry.stem),
                    "at_ms": round((written - start_s) * 1000),
                    "operation": info.get("operation"),
                    "ms_metrics": {k: v for k, v in metrics.items() if k.endswith("TimeMs")},
                    "rows": metrics.get("numOutputRows"),
                    "txn": bool(txn),
                }
            )
    return sorted(out, key=lambda c: c["at_ms"])
