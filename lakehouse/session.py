"""Building the SparkSession: embedded local Spark with Delta, or what Dataproc provides."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from importlib import resources
from importlib.metadata import version

from pyspark.sql import SparkSession

from lakehouse.config import SparkConfig

__all__ = ["build_session", "delta_package", "spark_conf"]

_DELTA_CONF = {
    "spark.sql.extensions": "io.delta.sql.DeltaSparkSessionExtension",
    "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.delta.catalog.DeltaCatalog",
}


def delta_package(spark_version: str, delta_version: str | None = None) -> str:
    """Maven coordinates of the Delta jar that matches a Spark version.

    From Delta 4.1 on the artifact name carries the Spark minor version
    (``io.delta:delta-spark_4.1_2.13:4.2.0``), as ``configure_spark_with_delta_pip`` does.
    """
    delta_version = delta_version or version("delta-spark")
    spark_minor = ".".join(spark_version.split(".")[:2])
    return f"io.delta:delta-spark_{spark_minor}_2.13:{delta_version}"


def spark_conf(
    config: SparkConfig,
    packages: Sequence[str] = (),
    source_conf: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Every Spark setting the session gets, for the configured mode.

    In local mode ``packages`` (Maven coordinates a source needs, e.g. Spark's Kafka
    connector) join Delta in ``spark.jars.packages``, and ``source_conf`` is added. In
    ``dataproc`` mode both are ignored: the cluster or the batch submission provides jars.
    """
    conf: dict[str, str] = {
        **_DELTA_CONF,
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.shuffle.partitions": str(config.shuffle_partitions),
        # JSON payloads may repeat a key; keep the last value instead of failing the batch.
        "spark.sql.mapKeyDedupPolicy": "LAST_WIN",
        "spark.sql.catalogImplementation": config.catalog,
        "spark.databricks.delta.schema.autoMerge.enabled": "false",
    }
    if config.mode == "local":
        import pyspark

        log4j = resources.files("lakehouse").joinpath("log4j2.properties")
        conf.update(
            {
                "spark.master": config.master,
                "spark.jars.packages": ",".join(
                    dict.fromkeys([delta_package(pyspark.__version__), *packages])
                ),
                "spark.pyspark.python": sys.executable,
                "spark.ui.enabled": "false",
                "spark.ui.showConsoleProgress": "false",
                "spark.databricks.delta.snapshotPartitions": "2",
                "spark.sql.sources.parallelPartitionDiscovery.parallelism": "2",
                "spark.driver.extraJavaOptions": f"-Dlog4j.configurationFile={log4j}",
                # Spark's 1 GB default heap holds a 64 MB micro-batch of bronze (about
                # 700k events) only just; [spark] extra overrides it
                "spark.driver.memory": "2g",
            }
        )
        conf.update(source_conf or {})
    conf.update(config.extra)
    return conf


def build_session(
    config: SparkConfig,
    app_name: str = "lakehouse",
    packages: Sequence[str] = (),
    source_conf: Mapping[str, str] | None = None,
) -> SparkSession:
    """Return the SparkSession for ``config``.

    ``local`` starts embedded Spark (``local[*]`` by default) with the Delta extension and
    catalog; the Delta jars are resolved from Maven Central on first start and cached by Ivy.
    ``dataproc`` sets no master and no jars: the cluster or the batch provides them.
    ``packages`` and ``source_conf`` are what the event source needs (see :func:`spark_conf`).
    """
    if config.mode == "local":
        # Python workers (Python data sources, UDFs) run the driver's interpreter, which has
        # the project's packages; PySpark reads this variable when the context starts.
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = SparkSession.builder.appName(app_name)
    for key, value in spark_conf(config, packages, source_conf).items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    if config.mode == "local":
        spark.sparkContext.setLogLevel("ERROR")
    return spark
