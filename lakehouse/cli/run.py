"""``lakehouse run``: the streams of every layer and dataset, drained or every interval."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from lakehouse.cli.bad_files import check_retry, retry_and_report, say_bad_files
from lakehouse.cli.common import session
from lakehouse.cli.console import await_showing_batches
from lakehouse.config import LakehouseConfig, TriggerConfig, parse_duration
from lakehouse.errors import LakehouseError
from lakehouse.sources.registry import source_for

if TYPE_CHECKING:
    from pyspark.sql import SparkSession
    from pyspark.sql.streaming.query import StreamingQuery

    from lakehouse.sources.base import EventSource

__all__ = ["cmd_run"]


def cmd_run(args: argparse.Namespace, config: LakehouseConfig) -> int:
    from lakehouse.platform import load_platform

    if args.trigger:
        trigger = TriggerConfig(mode="processing-time", interval=args.trigger)
    elif args.available_now:
        trigger = TriggerConfig(mode="available-now", interval=config.trigger.interval)
    else:
        trigger = config.trigger
    timeout = parse_duration(args.timeout, "--timeout") if args.timeout else None
    layers = list(dict.fromkeys(args.layers))
    check_retry(config, layers, args.retry_bad_files)
    datasets = [d.dataset.name for d in load_platform(config).only(args.dataset)]
    _check_run(config, layers, datasets)
    source = source_for(config.source) if "bronze" in layers else None
    spark = session(
        config, "lakehouse-" + "-".join(layers or ["retry"]), source, streams=tuple(layers)
    )
    if args.retry_bad_files:
        retry_and_report(spark, config)
    if trigger.mode == "available-now":
        return _drain(spark, config, trigger, layers, datasets=datasets, source=source)
    return _watch(spark, config, trigger, layers, datasets=datasets, source=source, timeout=timeout)


def _drain(
    spark: SparkSession,
    config: LakehouseConfig,
    trigger: TriggerConfig,
    layers: Sequence[str],
    *,
    datasets: Sequence[str],
    source: EventSource | None,
) -> int:
    """Each layer of each dataset drains what is there, then stops; a dataset that fails is
    reported and skipped in the layers above, the others go on."""
    from lakehouse.io.jobs import start_job
    from lakehouse.io.streams import StreamFailed

    failed: list[str] = []
    for layer in layers:
        for name in datasets:
            if name in failed:
                continue  # its layer below failed: nothing new to read
            started = time.monotonic()
            try:
                query = start_job(spark, config, layer, trigger, dataset=name)
                await_showing_batches(query)
            except (StreamFailed, LakehouseError) as exc:
                # one dataset's failure never stops another's streams
                print(f"{name} {layer}: FAILED: {exc}", file=sys.stderr, flush=True)
                _failed(spark, config, name, layer, exc)
                failed.append(name)
                continue
            done = time.monotonic() - started
            print(f"{name} {layer}: done in {done:.1f}s{_lag(query, source)}", flush=True)
            if layer == "bronze":
                say_bad_files(spark, config, name)
    return 1 if failed else 0


def _watch(
    spark: SparkSession,
    config: LakehouseConfig,
    trigger: TriggerConfig,
    layers: Sequence[str],
    *,
    datasets: Sequence[str],
    source: EventSource | None,
    timeout: float | None,
) -> int:
    """Every stream runs every interval until Ctrl-C, SIGTERM or ``timeout``; a stream that
    fails is reported and the others run on."""
    from lakehouse.io.jobs import start_job
    from lakehouse.io.streams import StreamFailed, await_stream

    failed: list[str] = []
    queries = [
        start_job(spark, config, layer, trigger, dataset=name)
        for name in datasets
        for layer in layers
    ]
    print(
        f"running {', '.join(layers)} of {', '.join(datasets)} every {trigger.interval}; "
        "Ctrl-C (or SIGTERM) stops",
        flush=True,
    )
    deadline = None if timeout is None else time.monotonic() + timeout
    reported: dict[str, str] = {}
    stop = threading.Event()
    restore = _stop_on_sigterm(stop)
    try:
        while queries and (deadline is None or time.monotonic() < deadline):
            if stop.is_set():
                print("stopping ...", flush=True)
                break
            for query in list(queries):
                if not query.isActive:
                    # a failed stream is reported and left; the others go on
                    queries.remove(query)
                    try:
                        await_stream(query)
                        message = "stopped"
                    except StreamFailed as exc:
                        message = f"FAILED: {exc}"
                        for name in datasets:
                            for layer in layers:
                                if query.name == _query_name(config, name, layer):
                                    _failed(spark, config, name, layer, exc)
                    print(f"{query.name}: {message}", file=sys.stderr, flush=True)
                    failed.append(str(query.name))
                    continue
                lag = _lag(query, source)
                if lag and reported.get(query.name) != lag:
                    reported[query.name] = lag
                    print(f"{query.name}:{lag}", flush=True)
            stop.wait(1)
    except KeyboardInterrupt:
        print("stopping ...", flush=True)
    finally:
        restore()
        for query in queries:
            query.stop()
    if failed:
        raise StreamFailed(f"stream(s) {', '.join(failed)} stopped; the others ran on")
    return 0


def _stop_on_sigterm(stop: threading.Event) -> Callable[[], None]:
    """Make SIGTERM set ``stop`` (what Dataproc, YARN and Kubernetes send a driver they
    cancel, before a kill): the streams then stop as on Ctrl-C, between or inside a batch,
    which their checkpoints make safe, and the command ends with 0. The handler only sets
    the event, so no call into the JVM is ever cut in half. Returns what undoes it."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None  # only the main thread may set handlers
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: stop.set())

    def restore() -> None:
        signal.signal(signal.SIGTERM, previous)

    return restore


def _job(config: LakehouseConfig, layer: str) -> str:
    from lakehouse.io.bronze_job import bronze_job_name

    return bronze_job_name(config.source.type) if layer == "bronze" else layer


def _query_name(config: LakehouseConfig, dataset: str, layer: str) -> str:
    return f"lakehouse-{dataset}-{_job(config, layer)}"


def _failed(
    spark: SparkSession, config: LakehouseConfig, dataset: str, layer: str, exc: Exception
) -> None:
    """Record the stream's failure (``ops.stream_failures``: ``status`` shows it) with its
    trace in this command's log file, and tell a person (``[alerts]``); never raises."""
    from lakehouse.alerts.notify import stream_failed
    from lakehouse.cli.console import log_file
    from lakehouse.io.failures import record_stream_failure

    job = _job(config, layer)
    log: str | None = None
    try:
        with log_file().open("a", encoding="utf-8") as handle:
            handle.write(f"{dataset} {job} failed:\n")
            handle.write("".join(traceback.format_exception(exc)))
        log = str(log_file())
    except OSError:
        pass  # no log folder: the row names no file
    record_stream_failure(
        spark,
        config,
        dataset=dataset,
        job=job,
        query_name=_query_name(config, dataset, layer),
        error=str(exc),
        log_file=log,
    )
    stream_failed(spark, config, dataset, job, str(exc))


def _check_run(config: LakehouseConfig, layers: Sequence[str], datasets: Sequence[str]) -> None:
    """Checkpoints and landing folders of the layers, before Spark starts."""
    from pathlib import Path

    from lakehouse.io.bronze_job import bronze_job_name
    from lakehouse.platform import load_platform, source_config
    from lakehouse.preflight import check_checkpoint, check_storage

    check_storage(config.lake.checkpoint_root, "lake.checkpoint_root", write=True)
    for name in datasets:
        for layer in layers:
            job = bronze_job_name(config.source.type) if layer == "bronze" else layer
            check_checkpoint(config.lake.checkpoint(job, name), f"{name} {job}")
    if "bronze" in layers and config.source.type == "landing":
        check_storage(config.source.landing_path, "source.landing_path", write=False)
        platform = load_platform(config)
        for name in datasets:
            folder = source_config(config, platform.dataset(name).dataset).landing_path
            if "://" not in folder:
                Path(folder).mkdir(parents=True, exist_ok=True)  # a dataset with no files yet


def _lag(query: StreamingQuery, source: EventSource | None) -> str:
    """``, N offsets behind latest`` from the query's last progress, when the source says."""
    progress = query.lastProgress
    if source is None or not progress or "-bronze-" not in f"{query.name}-":
        return ""
    lag = source.lag(progress)
    return "" if lag is None else f", {lag} offsets behind latest"
