from __future__ import annotations

from pathlib import Path

import pyspark
from pyspark.sql import SparkSession

from lakehouse.config import SparkConfig
from lakehouse.session import (
    cached_jars,
    delta_package,
    java_options,
    remember_jars,
    spark_conf,
    with_cached_jars,
)


def test_delta_package_carries_the_spark_minor_version() -> None:
    assert delta_package("4.1.1", "4.2.0") == "io.delta:delta-spark_4.1_2.13:4.2.0"
    assert delta_package("4.0.2", "4.2.0") == "io.delta:delta-spark_4.0_2.13:4.2.0"
    assert delta_package(pyspark.__version__) == "io.delta:delta-spark_4.1_2.13:4.2.0"


def test_local_conf_has_master_delta_jars_and_quiet_ui() -> None:
    conf = spark_conf(SparkConfig(master="local[2]", shuffle_partitions=3))
    assert conf["spark.master"] == "local[2]"
    assert conf["spark.jars.packages"] == "io.delta:delta-spark_4.1_2.13:4.2.0"
    assert conf["spark.sql.extensions"] == "io.delta.sql.DeltaSparkSessionExtension"
    assert conf["spark.sql.catalog.spark_catalog"] == (
        "org.apache.spark.sql.delta.catalog.DeltaCatalog"
    )
    assert conf["spark.ui.enabled"] == "false"
    assert conf["spark.sql.shuffle.partitions"] == "3"
    assert conf["spark.sql.session.timeZone"] == "UTC"
    assert conf["spark.sql.catalogImplementation"] == "in-memory"
    assert conf["spark.driver.memory"] == "4g"
    assert conf["spark.sql.adaptive.enabled"] == "false"  # one job per query, not per stage


def test_micro_batch_caches_are_not_compressed_unless_extra_says_so() -> None:
    assert spark_conf(SparkConfig())["spark.sql.inMemoryColumnarStorage.compressed"] == "false"
    dataproc = spark_conf(SparkConfig(mode="dataproc"))
    assert dataproc["spark.sql.inMemoryColumnarStorage.compressed"] == "false"
    extra = {"spark.sql.inMemoryColumnarStorage.compressed": "true"}
    assert spark_conf(SparkConfig(extra=extra))["spark.sql.inMemoryColumnarStorage.compressed"] == (
        "true"
    )


def test_local_adaptive_execution_can_be_turned_back_on() -> None:
    conf = spark_conf(SparkConfig(extra={"spark.sql.adaptive.enabled": "true"}))
    assert conf["spark.sql.adaptive.enabled"] == "true"


def test_local_driver_memory_can_be_set_in_extra() -> None:
    conf = spark_conf(SparkConfig(extra={"spark.driver.memory": "6g"}))
    assert conf["spark.driver.memory"] == "6g"


def test_local_java_options_of_extra_follow_the_lakehouse_ones() -> None:
    options = spark_conf(
        SparkConfig(extra={"spark.driver.extraJavaOptions": "-XX:TieredStopAtLevel=1"})
    )["spark.driver.extraJavaOptions"].split()
    assert options[-1] == "-XX:TieredStopAtLevel=1"
    assert options[:-1] == java_options()  # the log configuration and the archive stay
    assert options[0].startswith("-Dlog4j.configurationFile=")


def test_dataproc_conf_leaves_master_and_jars_to_the_cluster() -> None:
    conf = spark_conf(SparkConfig(mode="dataproc", catalog="hive", extra={"spark.x": "1"}))
    assert "spark.master" not in conf
    assert "spark.jars.packages" not in conf
    assert "spark.driver.extraJavaOptions" not in conf
    assert "spark.driver.memory" not in conf  # the cluster's machine types decide
    assert "spark.sql.adaptive.enabled" not in conf  # large batches: coalescing, skew joins
    assert conf["spark.sql.catalogImplementation"] == "hive"
    assert conf["spark.sql.extensions"] == "io.delta.sql.DeltaSparkSessionExtension"
    assert conf["spark.x"] == "1"


def test_cached_jars_replace_packages_only_when_every_jar_is_there(tmp_path: Path) -> None:
    cache = tmp_path / "jars.json"
    jar = tmp_path / "delta.jar"
    jar.write_bytes(b"PK")
    conf = {"spark.jars.packages": "io.delta:d:1", "spark.master": "local[1]"}
    assert with_cached_jars(conf, cache) == conf  # nothing remembered yet
    remember_jars("io.delta:d:1", [f"file://{jar}"], cache)
    assert with_cached_jars(conf, cache) == {
        "spark.master": "local[1]",
        "spark.jars": f"file://{jar}",
    }
    # other coordinates resolve; a jar gone from the Ivy cache resolves again
    other = {"spark.jars.packages": "io.delta:d:2"}
    assert with_cached_jars(other, cache) == other
    jar.unlink()
    assert cached_jars("io.delta:d:1", cache) is None
    assert with_cached_jars(conf, cache) == conf


def test_a_damaged_jar_cache_means_resolution(tmp_path: Path) -> None:
    cache = tmp_path / "jars.json"
    cache.write_text("{not json")
    assert cached_jars("io.delta:d:1", cache) is None
    remember_jars("io.delta:d:1", [str(tmp_path / "missing.jar")], cache)  # not remembered
    assert cache.read_text() == "{not json"


def test_generated_code_of_many_queries_is_compiled_once(spark: SparkSession) -> None:
    """A micro-batch of the three layers uses about 400 different generated classes; with
    Spark's default cache of 100 compiled classes each batch compiled them all again. The
    code of 120 plans (each literal makes a class of its own) generated and compiled twice:
    the second round compiles nothing."""
    jvm = spark._jvm
    assert jvm is not None
    compiled = jvm.org.apache.spark.metrics.source.CodegenMetrics.METRIC_COMPILATION_TIME()
    plans = [spark.range(2).selectExpr(f"id * {n} + {n + 1} AS x") for n in range(120)]

    def compile_all() -> int:
        before = compiled.getCount()
        for df in plans:  # what explain("codegen") shows: generated, then compiled
            jvm.PythonSQLUtils.explainString(df._jdf.queryExecution(), "codegen")
        return int(compiled.getCount() - before)

    # (the session of `make test` and `make test-slow` interprets: tests.conftest.INTERPRETED)
    settings = {"spark.sql.codegen.wholeStage": "true", "spark.sql.codegen.factoryMode": "FALLBACK"}
    before = {key: spark.conf.get(key, None) for key in settings}
    for key, value in settings.items():
        spark.conf.set(key, value)
    try:
        assert compile_all() >= 120
        assert compile_all() == 0
    finally:
        for key, old in before.items():
            if old is None:
                spark.conf.unset(key)
            else:
                spark.conf.set(key, old)
