"""What ``lakehouse run`` says and does about the landing files bronze could not read."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from lakehouse.config import LakehouseConfig
from lakehouse.errors import ConfigError

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

__all__ = ["check_retry", "retry_and_report", "say_bad_files"]


def check_retry(config: LakehouseConfig, layers: Sequence[str], retry: bool) -> None:
    """``run`` needs layers, ``--retry-bad-files`` or both; retrying needs the landing
    source (before Spark starts)."""
    if not layers and not retry:
        raise ConfigError("run: give layers (bronze, silver, gold), --retry-bad-files or both")
    if retry and config.source.type != "landing":
        raise ConfigError(
            f"--retry-bad-files: source.type is {config.source.type!r}; only the landing "
            "source skips files (Kafka and Pub/Sub Lite records that do not decode are "
            "bronze rows with a reason)"
        )


def say_bad_files(spark: SparkSession, config: LakehouseConfig, dataset: str) -> None:
    """After a bronze run: how many of the dataset's landing files are skipped, if any."""
    from lakehouse.io.bad_files import pending_bad_files

    if config.source.type != "landing":
        return
    bad = [f for f in pending_bad_files(spark, config) if f.dataset == dataset]
    if bad:
        print(
            f"{dataset} bronze: {len(bad)} unreadable landing file(s) skipped and recorded "
            "in ops.bad_files (lakehouse status lists them; fix them, then lakehouse run "
            "--retry-bad-files)",
            flush=True,
        )


def retry_and_report(spark: SparkSession, config: LakehouseConfig) -> None:
    """Retry every skipped file; one line per file and a total."""
    from lakehouse.io.bad_files import retry_bad_files

    outcomes = retry_bad_files(spark, config)
    for o in outcomes:
        said = f"ingested {o.rows} line(s)" if o.error is None else f"still unreadable: {o.error}"
        print(f"{o.path}: {said}", flush=True)
    ingested = sum(1 for o in outcomes if o.error is None)
    print(f"retried {len(outcomes)} bad file(s): {ingested} ingested", flush=True)
