"""Pub/Sub Lite as an :class:`~lakehouse.sources.base.EventSource` of the bronze job."""

from __future__ import annotations

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from lakehouse.config import SourceConfig
from lakehouse.errors import ConfigError
from lakehouse.sources.base import Envelopes, NoSessionNeeds
from lakehouse.sources.envelope import ENVELOPE_COLUMNS
from lakehouse.sources.pubsublite.client import PubSubLiteClient, default_endpoint

__all__ = ["PUBSUBLITE_SOURCE", "PubSubLiteSource", "pubsublite_options", "pubsublite_to_envelope"]

PUBSUBLITE_SOURCE = "pubsublite"
_LOOPBACK = ("127.0.0.1", "localhost", "[::1]")


def pubsublite_options(config: SourceConfig) -> dict[str, str]:
    """Options of the ``pubsublite`` data source from ``[source]``."""
    subscription = config.pubsublite_subscription
    if not subscription:
        raise ConfigError(
            "source.pubsublite_subscription: required when source.type = 'pubsublite'; "
            "give projects/PROJECT/locations/LOCATION/subscriptions/NAME"
        )
    endpoint = config.pubsublite_endpoint or default_endpoint(subscription)
    if config.pubsublite_insecure and not endpoint.startswith(_LOOPBACK):
        raise ConfigError(
            f"source.pubsublite_insecure: true sends no credentials over plaintext, which only a "
            f"local fake accepts; endpoint {endpoint!r} is not on this machine. Set "
            "pubsublite_insecure = false (Application Default Credentials over TLS)"
        )
    return {
        "subscription": subscription,
        "endpoint": endpoint,
        "insecure": str(config.pubsublite_insecure).lower(),
        "maxMessagesPerPartition": str(config.pubsublite_max_messages_per_partition),
        "flowControlMessages": str(config.pubsublite_flow_control_messages),
        "flowControlBytes": str(config.pubsublite_flow_control_bytes),
    }


def pubsublite_to_envelope(messages: DataFrame) -> DataFrame:
    """One micro-batch of Pub/Sub Lite messages as source envelopes.

    The partition is ``<subscription name>/<partition>``; attribute values (lists of bytes)
    become UTF-8 strings, several values of one key joined with ``,``.
    """
    name = F.element_at(F.split(F.col("subscription"), "/"), -1)
    return messages.select(
        F.lit(PUBSUBLITE_SOURCE).alias("source"),
        F.concat_ws("/", name, F.col("partition").cast("string")).alias("partition"),
        F.col("offset").cast("long").alias("offset"),
        F.col("key"),
        F.col("data").alias("payload"),
        F.transform_values(
            "attributes",
            lambda _, values: F.array_join(F.transform(values, lambda v: v.cast("string")), ","),
        ).alias("attributes"),
        F.col("publish_timestamp").alias("publish_ts"),
        F.col("event_timestamp").alias("source_event_ts"),
    ).select(*ENVELOPE_COLUMNS)


class PubSubLiteSource(NoSessionNeeds):
    """Pub/Sub Lite through the ``pubsublite`` Python data source."""

    name = PUBSUBLITE_SOURCE

    def __init__(self, config: SourceConfig) -> None:
        self.config = config
        self.options = pubsublite_options(config)

    def read_stream(self, spark: SparkSession) -> DataFrame:
        from lakehouse.sources.pubsublite.datasource import PubSubLiteDataSource

        # fail here, in one line, rather than inside Spark's planner process
        client = PubSubLiteClient(self.options["endpoint"], self.config.pubsublite_insecure, 30.0)
        try:
            client.topic_of(self.options["subscription"])
        finally:
            client.close()
        spark.dataSource.register(PubSubLiteDataSource)
        return spark.readStream.format(PUBSUBLITE_SOURCE).options(**self.options).load()

    def to_envelope(self, raw: DataFrame) -> DataFrame:
        return pubsublite_to_envelope(raw)

    def envelopes(self, raw: DataFrame) -> Envelopes:
        # the bronze job caches the batch and counts the offsets
        return Envelopes(pubsublite_to_envelope(raw))
