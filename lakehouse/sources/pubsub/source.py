"""Pub/Sub as an :class:`~lakehouse.sources.base.EventSource` of the bronze job, which
acknowledges each batch's messages once the batch is in bronze."""

from __future__ import annotations

import logging

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from lakehouse.config import SourceConfig
from lakehouse.errors import ConfigError
from lakehouse.sources.base import Envelopes, NoSessionNeeds, OffsetRange
from lakehouse.sources.envelope import ENVELOPE_COLUMNS
from lakehouse.sources.pubsub.backlog import (
    DEFAULT_MONITORING_ENDPOINT,
    Backlog,
    BacklogSampler,
    MonitoringClient,
)
from lakehouse.sources.pubsub.client import DEFAULT_ENDPOINT, AckResult, PubSubClient

__all__ = [
    "DELIVERY_ATTEMPT_ATTRIBUTE",
    "EVENT_TS_ATTRIBUTE",
    "MESSAGE_ID_ATTRIBUTE",
    "PUBSUB_SOURCE",
    "PubSubSource",
    "monitoring_endpoint",
    "pubsub_options",
    "pubsub_to_envelope",
]

PUBSUB_SOURCE = "pubsub"
EVENT_TS_ATTRIBUTE = "event_ts"
# Pub/Sub refuses attribute keys that start with "goog": these never collide with a
# producer's attributes.
MESSAGE_ID_ATTRIBUTE = "goog_message_id"
DELIVERY_ATTEMPT_ATTRIBUTE = "goog_delivery_attempt"
_LOOPBACK = ("127.0.0.1", "localhost", "[::1]")
_log = logging.getLogger(__name__)


def pubsub_options(config: SourceConfig) -> dict[str, str]:
    """Options of the ``pubsub`` data source from ``[source]``."""
    subscription = config.pubsub_subscription
    if not subscription:
        raise ConfigError(
            "source.pubsub_subscription: required when source.type = 'pubsub'; "
            "give projects/PROJECT/subscriptions/NAME"
        )
    endpoint = config.pubsub_endpoint or DEFAULT_ENDPOINT
    if config.pubsub_insecure and not endpoint.startswith(_LOOPBACK):
        raise ConfigError(
            f"source.pubsub_insecure: true sends no credentials over plaintext, which only a "
            f"local fake accepts; endpoint {endpoint!r} is not on this machine. Set "
            "pubsub_insecure = false (Application Default Credentials over TLS)"
        )
    return {
        "subscription": subscription,
        "endpoint": endpoint,
        "insecure": str(config.pubsub_insecure).lower(),
        "maxMessagesPerBatch": str(config.pubsub_max_messages_per_batch),
        "maxBytesPerBatch": str(config.pubsub_max_bytes_per_batch),
        "ackDeadlineSeconds": str(config.pubsub_ack_deadline_seconds),
        "pullTimeoutSeconds": str(config.pubsub_pull_timeout_seconds),
        "maxMessageBytes": str(config.pubsub_max_message_bytes),
    }


def monitoring_endpoint(config: SourceConfig) -> str | None:
    """The Cloud Monitoring endpoint the backlog is read from; None with ``pubsub_insecure``
    and no ``pubsub_monitoring_endpoint`` (a local fake of Pub/Sub alone: no backlog), and
    plaintext only on this machine."""
    endpoint = config.pubsub_monitoring_endpoint
    if config.pubsub_insecure and not endpoint:
        return None
    if config.pubsub_insecure and not endpoint.startswith(_LOOPBACK):
        raise ConfigError(
            f"source.pubsub_monitoring_endpoint: {endpoint!r} is not on this machine, and "
            "source.pubsub_insecure = true sends no credentials over plaintext; point it at a "
            "local fake or set pubsub_insecure = false"
        )
    return endpoint or DEFAULT_MONITORING_ENDPOINT


def pubsub_to_envelope(messages: DataFrame) -> DataFrame:
    """One micro-batch of Pub/Sub messages as source envelopes.

    The coordinates of a delivery are the subscription's name (partition) and the number
    the source gave the delivery (offset): a message delivered twice (a crash before its
    acknowledgement, an expired lease) is two bronze rows with distinct coordinates, so
    silver keeps the first and quarantines the second as ``duplicate_event_id``. The key
    is the ordering key (null when none); the message id and the delivery attempt (when the
    subscription has a dead-letter policy) join the attributes.
    """
    ids = F.create_map(F.lit(MESSAGE_ID_ATTRIBUTE), F.col("message_id"))
    attempt = F.when(
        F.col("delivery_attempt") > 0,
        F.create_map(F.lit(DELIVERY_ATTEMPT_ATTRIBUTE), F.col("delivery_attempt").cast("string")),
    ).otherwise(F.create_map().cast("map<string,string>"))
    attributes = F.coalesce(F.col("attributes"), F.create_map().cast("map<string,string>"))
    return messages.select(
        F.lit(PUBSUB_SOURCE).alias("source"),
        F.element_at(F.split(F.col("subscription"), "/"), -1).alias("partition"),
        F.col("seq").cast("long").alias("offset"),
        F.when(F.col("ordering_key") != "", F.col("ordering_key").cast("binary")).alias("key"),
        F.col("data").alias("payload"),
        F.map_concat(attributes, ids, attempt).alias("attributes"),
        F.col("publish_time").alias("publish_ts"),
        attributes.getItem(EVENT_TS_ATTRIBUTE).try_cast("timestamp").alias("source_event_ts"),
    ).select(*ENVELOPE_COLUMNS)


class PubSubSource(NoSessionNeeds):
    """Pub/Sub through the ``pubsub`` Python data source."""

    name = PUBSUB_SOURCE

    def __init__(self, config: SourceConfig) -> None:
        self.config = config
        self.options = pubsub_options(config)
        self.subscription = self.options["subscription"]
        self._pending: list[str] = []
        self._client: PubSubClient | None = None
        self.last_ack = AckResult()
        monitoring = monitoring_endpoint(config)
        self.backlog = BacklogSampler(
            MonitoringClient(monitoring or "", config.pubsub_insecure),
            self.subscription,
            config.pubsub_backlog_interval_seconds if monitoring else 0,
        )

    def _connect(self) -> PubSubClient:
        if self._client is None:
            self._client = PubSubClient(self.options["endpoint"], self.config.pubsub_insecure)
        return self._client

    def read_stream(self, spark: SparkSession) -> DataFrame:
        from lakehouse.sources.pubsub.datasource import PubSubDataSource

        # fail here, in one line, rather than inside Spark's planner process
        subscription = self._connect().subscription(self.subscription)
        if "dead_letter_policy" not in subscription:
            _log.warning(
                "Pub/Sub subscription %s has no dead-letter policy: a message the source "
                "refuses (over %d bytes) is delivered again and again",
                self.subscription,
                self.config.pubsub_max_message_bytes,
            )
        spark.dataSource.register(PubSubDataSource)
        return spark.readStream.format(PUBSUB_SOURCE).options(**self.options).load()

    def to_envelope(self, raw: DataFrame) -> DataFrame:
        return pubsub_to_envelope(raw)

    def envelopes(self, raw: DataFrame) -> Envelopes:
        """The envelopes, with the batch's range of delivery numbers; keeps the batch's ack
        ids for :meth:`acknowledge` (one pass over the batch, which holds the messages)."""
        rows = raw.select("seq", "ack_id").collect()
        self._pending = [r["ack_id"] for r in rows]
        name = self.subscription.rsplit("/", 1)[-1]
        seqs = [int(r["seq"]) for r in rows]
        ranges = (
            (OffsetRange(PUBSUB_SOURCE, name, min(seqs), max(seqs), len(seqs)),) if seqs else ()
        )
        sample = self.backlog.sample()
        return Envelopes(pubsub_to_envelope(raw), ranges, backlog=_backlog(sample))

    def acknowledge(self, batch_id: int) -> AckResult:
        """Acknowledge the messages of the batch :meth:`envelopes` last saw, now that it is
        in bronze. An ack that fails (a lease already expired, the service unreachable)
        means the message comes again, never that it is lost: logged, never raised."""
        pending, self._pending = self._pending, []
        if not pending:
            self.last_ack = AckResult()
            return self.last_ack
        result = self._connect().acknowledge(self.subscription, pending)
        if result.refused or result.unreachable:
            _log.warning(
                "Pub/Sub %s batch %d: %d acknowledged, %d refused (%s), %d not reached (%s); "
                "those are delivered again, bronze keeps them, silver quarantines the repeats",
                self.subscription,
                batch_id,
                result.done,
                len(result.refused),
                ", ".join(sorted({reason for _, reason in result.refused})) or "-",
                result.unreachable,
                result.error or "-",
            )
        self.last_ack = result
        return result


def _backlog(sample: Backlog | None) -> tuple[int | None, int | None] | None:
    """(unacked messages, oldest unacked seconds) for the batch log; None when not sampled."""
    return None if sample is None else (sample.messages, sample.oldest_seconds)
