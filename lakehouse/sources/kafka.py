"""Kafka source: Spark's built-in Kafka connector, for Managed Service for Apache Kafka or any
broker.

Managed Kafka listens on SASL_SSL with OAUTHBEARER; Google's login callback handler
(``com.google.cloud.hosted.kafka:managed-kafka-auth-login-handler``) turns Application Default
Credentials into the bearer token.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from lakehouse.config import SourceConfig
from lakehouse.errors import ConfigError
from lakehouse.sources.base import Envelopes
from lakehouse.sources.envelope import ENVELOPE_COLUMNS

__all__ = [
    "EVENT_TS_HEADER",
    "KAFKA_SOURCE",
    "MANAGED_KAFKA_AUTH_PACKAGE",
    "KafkaSource",
    "kafka_options",
    "kafka_package",
    "kafka_to_envelope",
    "managed_kafka_bootstrap",
]

KAFKA_SOURCE = "kafka"
# The event time travels in a header: Spark's Kafka sink cannot set a record's timestamp.
EVENT_TS_HEADER = "event_ts"
MANAGED_KAFKA_AUTH_PACKAGE = "com.google.cloud.hosted.kafka:managed-kafka-auth-login-handler:1.0.6"
# The handler's pom names a Confluent artifact that is not on Maven Central; the login
# callback handler does not use it (only the schema-registry credential provider does).
MANAGED_KAFKA_EXCLUDES = "io.confluent:kafka-schema-registry-client"
_MANAGED_KAFKA_OPTIONS = {
    "kafka.security.protocol": "SASL_SSL",
    "kafka.sasl.mechanism": "OAUTHBEARER",
    "kafka.sasl.login.callback.handler.class": (
        "com.google.cloud.hosted.kafka.auth.GcpLoginCallbackHandler"
    ),
    "kafka.sasl.jaas.config": (
        "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required;"
    ),
}


def kafka_package(spark_version: str) -> str:
    """Maven coordinates of Spark's Kafka connector for a Spark version (Scala 2.13)."""
    return f"org.apache.spark:spark-sql-kafka-0-10_2.13:{spark_version}"


def managed_kafka_bootstrap(cluster: str) -> str:
    """The bootstrap address of a Managed Kafka cluster ``projects/P/locations/R/clusters/C``."""
    parts = cluster.split("/")
    if len(parts) != 6 or parts[0::2] != ["projects", "locations", "clusters"]:
        raise ConfigError(
            f"source.kafka_cluster: {cluster!r} is not a Managed Kafka cluster; "
            "write projects/PROJECT/locations/REGION/clusters/CLUSTER"
        )
    project, region, name = parts[1], parts[3], parts[5]
    return f"bootstrap.{name}.{region}.managedkafka.{project}.cloud.goog:9092"


def _bootstrap(config: SourceConfig) -> str:
    if config.kafka_bootstrap_servers:
        return config.kafka_bootstrap_servers
    if config.kafka_cluster:
        return managed_kafka_bootstrap(config.kafka_cluster)
    raise ConfigError(
        "source.kafka_bootstrap_servers: required when source.type = 'kafka'; give host:port "
        "of the brokers, or source.kafka_cluster = projects/P/locations/R/clusters/C"
    )


def kafka_options(config: SourceConfig) -> dict[str, str]:
    """Options of Spark's Kafka source or sink (``kafka.*`` are the Kafka client's)."""
    options = {"kafka.bootstrap.servers": _bootstrap(config)}
    if config.kafka_auth == "managed-kafka":
        options.update(_MANAGED_KAFKA_OPTIONS)
    return options


def _reader_options(config: SourceConfig) -> dict[str, str]:
    if not config.topics:
        raise ConfigError(
            f"source.kafka_topics: {config.kafka_topics!r} names no topic; "
            "give one or more, comma-separated"
        )
    options = {
        **kafka_options(config),
        "subscribe": ",".join(config.topics),
        "startingOffsets": config.kafka_starting_offsets,
        "includeHeaders": "true",
        # offsets deleted by retention before bronze read them stop the stream, loudly
        "failOnDataLoss": "true",
    }
    if config.kafka_max_offsets_per_trigger:
        options["maxOffsetsPerTrigger"] = str(config.kafka_max_offsets_per_trigger)
    return options


def kafka_to_envelope(records: DataFrame) -> DataFrame:
    """One micro-batch of Kafka records as source envelopes.

    The partition is ``<topic>/<partition>`` (a topic name has no ``/``); headers become the
    attributes (values decoded as UTF-8, the last of repeated keys wins); the event time is
    the ``event_ts`` header when it is a timestamp. Records without value or with
    undecodable headers are kept: silver decides what they are worth.
    """
    attributes = F.map_from_entries(
        F.transform(
            F.coalesce(F.col("headers"), F.array().cast("array<struct<key:string,value:binary>>")),
            lambda h: F.struct(h["key"].alias("key"), h["value"].cast("string").alias("value")),
        )
    )
    return (
        records.withColumn("_attributes", attributes)
        .select(
            F.lit(KAFKA_SOURCE).alias("source"),
            F.concat_ws("/", F.col("topic"), F.col("partition").cast("string")).alias("partition"),
            F.col("offset").cast("long").alias("offset"),
            F.col("key"),
            F.col("value").alias("payload"),
            F.col("_attributes").alias("attributes"),
            F.col("timestamp").cast("timestamp").alias("publish_ts"),
            F.col("_attributes")
            .getItem(EVENT_TS_HEADER)
            .try_cast("timestamp")
            .alias("source_event_ts"),
        )
        .select(*ENVELOPE_COLUMNS)
    )


def _metric(source: Mapping[str, Any], name: str) -> int | None:
    value = (source.get("metrics") or {}).get(name)
    if value is None:
        return None
    try:
        return int(float(value))
    except (TypeError, ValueError):
        return None


class KafkaSource:
    """Kafka as an :class:`~lakehouse.sources.base.EventSource`."""

    name = KAFKA_SOURCE

    def __init__(self, config: SourceConfig) -> None:
        self.config = config
        self.options = _reader_options(config)

    def read_stream(self, spark: SparkSession) -> DataFrame:
        return spark.readStream.format("kafka").options(**self.options).load()

    def to_envelope(self, raw: DataFrame) -> DataFrame:
        return kafka_to_envelope(raw)

    def envelopes(self, raw: DataFrame) -> Envelopes:
        # the bronze job caches the batch and counts the offsets
        return Envelopes(kafka_to_envelope(raw))

    def extra_packages(self) -> tuple[str, ...]:
        import pyspark

        packages: tuple[str, ...] = (kafka_package(pyspark.__version__),)
        if self.config.kafka_auth == "managed-kafka":
            packages += (MANAGED_KAFKA_AUTH_PACKAGE,)
        return packages

    def spark_conf(self) -> dict[str, str]:
        if self.config.kafka_auth == "managed-kafka":
            return {"spark.jars.excludes": MANAGED_KAFKA_EXCLUDES}
        return {}

    def lag(self, progress: Mapping[str, Any]) -> int | None:
        """The most offsets any partition is behind the latest, over the Kafka sources of
        the query's last progress (Spark's ``maxOffsetsBehindLatest`` metric)."""
        lags = [
            lag
            for source in progress.get("sources") or []
            if str(source.get("description", "")).startswith("KafkaV2")
            and (lag := _metric(source, "maxOffsetsBehindLatest")) is not None
        ]
        return max(lags) if lags else None
