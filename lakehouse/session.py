"""Building the SparkSession: embedded local Spark with Delta, or what Dataproc provides."""

from __future__ import annotations

import json
import os
import sys
import tempfile
from collections.abc import Mapping, Sequence
from importlib import resources
from importlib.metadata import version
from pathlib import Path

from pyspark.sql import SparkSession

from lakehouse.config import SparkConfig

__all__ = [
    "JAR_CACHE_ENV_VAR",
    "build_session",
    "cached_jars",
    "delta_package",
    "jar_cache_file",
    "java_options",
    "remember_jars",
    "spark_conf",
    "with_cached_jars",
]

JAR_CACHE_ENV_VAR = "LAKEHOUSE_JAR_CACHE"
_PACKAGES = "spark.jars.packages"
_JARS = "spark.jars"
_JAVA_OPTIONS = "spark.driver.extraJavaOptions"

CODEGEN_CACHE_ENTRIES = 4096
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
        # Spark keeps 100 compiled classes of generated code by default; one micro-batch of
        # the three layers uses about 400 different ones (the jobs' queries, the gates,
        # the metrics, Delta's own), so each batch evicted what the next needed and
        # compiled them all again: hundreds of Janino compilations per batch
        # (README, Performance). Each class is kilobytes of metaspace.
        "spark.sql.codegen.cache.maxEntries": str(CODEGEN_CACHE_ENTRIES),
        # the jobs cache each micro-batch for the few passes over it (silver: the parsed
        # rows, then the classified ones) and drop it when the batch ends; compressing the
        # cache costs more than it saves there: at 350,000 events the parse into the cache
        # takes 4.2 s instead of 5.1 (the parse alone 4.0) (README, Performance)
        "spark.sql.inMemoryColumnarStorage.compressed": "false",
    }
    if config.mode == "local":
        import pyspark

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
                # adaptive execution splits every query into one Spark job per stage and
                # plans again between them: on two cores with two shuffle partitions it
                # has nothing to coalesce or rebalance and makes a micro-batch about a
                # third slower (README, Performance); [spark] extra turns it back on
                "spark.sql.adaptive.enabled": "false",
                "spark.sql.sources.parallelPartitionDiscovery.parallelism": "2",
                _JAVA_OPTIONS: " ".join(java_options()),
                # Spark's 1 GB default heap holds a 64 MB micro-batch of bronze (about
                # 700k events) only just, and 2 GB spills silver's two caches of such a
                # batch to disk (README, Performance); [spark] extra overrides it
                "spark.driver.memory": "4g",
            }
        )
        conf.update(source_conf or {})
    conf.update(config.extra)
    if config.mode == "local" and _JAVA_OPTIONS in config.extra:
        # the JVM options of [spark] extra come after the lakehouse's own (the log
        # configuration, the class-data-sharing archive), so a later one wins, and neither
        # the quiet log nor the archive is lost
        conf[_JAVA_OPTIONS] = " ".join([*java_options(), config.extra[_JAVA_OPTIONS]])
    return conf


def java_options(archive: bool = True) -> list[str]:
    """The local driver JVM's options: the log configuration, and the class-data-sharing
    archive when one was made for this JVM and Spark (:mod:`lakehouse.jvm_archive`)."""
    log4j = resources.files("lakehouse").joinpath("log4j2.properties")
    options = [f"-Dlog4j.configurationFile={log4j}"]
    if archive:
        from lakehouse.jvm_archive import archive_options

        options.extend(archive_options())
    return options


def jar_cache_file() -> Path:
    """Where the jars resolved for each set of Maven coordinates are remembered:
    ``$LAKEHOUSE_JAR_CACHE``, else ``$XDG_CACHE_HOME/lakehouse/resolved-jars.json``."""
    explicit = os.environ.get(JAR_CACHE_ENV_VAR)
    if explicit:
        return Path(explicit)
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "lakehouse" / "resolved-jars.json"


def _read_cache(file: Path) -> dict[str, list[str]]:
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}  # no cache yet, or a damaged one: resolve again
    if not isinstance(data, dict):
        return {}
    return {k: v for k, v in data.items() if isinstance(v, list)}


def _local_jar(uri: str) -> Path:
    return Path(uri.removeprefix("file://").removeprefix("file:"))


def cached_jars(packages: str, file: Path | None = None) -> list[str] | None:
    """The jars remembered for ``packages`` (``spark.jars.packages``), when every one of
    them is still on disk; None otherwise (Spark resolves them)."""
    jars = _read_cache(file or jar_cache_file()).get(packages)
    if not jars or not all(isinstance(j, str) and _local_jar(j).is_file() for j in jars):
        return None
    return [str(j) for j in jars]


def remember_jars(packages: str, jars: Sequence[str], file: Path | None = None) -> None:
    """Remember the jars Spark resolved for ``packages`` (written atomically; a cache that
    cannot be written is only a slower next start)."""
    file = file or jar_cache_file()
    if not jars or not all(_local_jar(j).is_file() for j in jars):
        return
    try:
        file.parent.mkdir(parents=True, exist_ok=True)
        data = {**_read_cache(file), packages: list(jars)}
        with tempfile.NamedTemporaryFile("w", dir=file.parent, delete=False) as tmp:
            json.dump(data, tmp, indent=1, sort_keys=True)
        os.replace(tmp.name, file)
    except OSError:
        pass


def with_cached_jars(conf: Mapping[str, str], file: Path | None = None) -> dict[str, str]:
    """``conf`` with ``spark.jars`` (the remembered jar files) in place of
    ``spark.jars.packages`` when they are cached: the session start resolves nothing."""
    packages = conf.get(_PACKAGES)
    if not packages or _JARS in conf:
        return dict(conf)
    jars = cached_jars(packages, file)
    if jars is None:
        return dict(conf)
    rest = {k: v for k, v in conf.items() if k != _PACKAGES}
    return {**rest, _JARS: ",".join(jars)}


def build_session(
    config: SparkConfig,
    app_name: str = "lakehouse",
    packages: Sequence[str] = (),
    source_conf: Mapping[str, str] | None = None,
) -> SparkSession:
    """Return the SparkSession for ``config``.

    ``local`` starts embedded Spark (``local[*]`` by default) with the Delta extension and
    catalog; the Delta jars are resolved from Maven Central on first start and cached by Ivy,
    and the resolved jar files are remembered (:func:`jar_cache_file`): later starts pass
    them as ``spark.jars`` and resolve nothing.
    ``dataproc`` sets no master and no jars: the cluster or the batch provides them.
    ``packages`` and ``source_conf`` are what the event source needs (see :func:`spark_conf`).
    """
    if config.mode == "local":
        # Python workers (Python data sources, UDFs) run the driver's interpreter, which has
        # the project's packages; PySpark reads this variable when the context starts.
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    conf = spark_conf(config, packages, source_conf)
    if config.mode == "local":
        conf = with_cached_jars(conf)
    builder = SparkSession.builder.appName(app_name)
    for key, value in conf.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    if config.mode == "local":
        spark.sparkContext.setLogLevel("ERROR")
        resolved = spark.sparkContext.getConf()
        if _PACKAGES in conf and resolved.get(_PACKAGES) == conf[_PACKAGES]:
            remember_jars(conf[_PACKAGES], (resolved.get(_JARS) or "").split(","))
    return spark
