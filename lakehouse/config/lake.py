"""Where the lake is and how Spark reads it: ``[lake]``, ``[source]``, ``[trigger]``,
``[spark]`` and ``[datasets]``."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from lakehouse.config.values import (
    _CLUSTER_RE,
    _PUBSUB_SUBSCRIPTION_RE,
    _SUBSCRIPTION_RE,
    CATALOGS,
    KAFKA_AUTH,
    KAFKA_STARTING_OFFSETS,
    SOURCE_TYPES,
    SPARK_MODES,
    TRIGGER_MODES,
    choice,
    parse_duration,
    parse_size,
)
from lakehouse.errors import ConfigError

__all__ = ["DatasetsConfig", "LakeConfig", "SourceConfig", "SparkConfig", "TriggerConfig"]


@dataclass(frozen=True)
class LakeConfig:
    """Where the tables and the stream checkpoints live (local path or ``gs://``)."""

    root: str = "lake"
    checkpoint_root: str = "lake/_checkpoints"

    def __post_init__(self) -> None:
        for name in ("root", "checkpoint_root"):
            if not getattr(self, name):
                raise ConfigError(f"lake.{name}: must not be empty; give a local path or gs:// URI")

    def table_path(self, layer: str, name: str) -> str:
        return f"{self.root.rstrip('/')}/{layer}/{name}"

    def checkpoint(self, job: str, dataset: str | None = None) -> str:
        """The checkpoint folder of a job: ``<root>/<dataset>/<job>`` for a dataset's stream."""
        root = self.checkpoint_root.rstrip("/")
        return f"{root}/{job}" if dataset is None else f"{root}/{dataset}/{job}"


@dataclass(frozen=True)
class SourceConfig:
    """The event source the bronze job reads, and the settings of each kind of source.

    Settings of a source are checked for form here (choices, paths, numbers); whether the
    ones the chosen source needs are given is checked when the source is built
    (:func:`lakehouse.sources.registry.source_for`), so commands that read no source (sql,
    validate) work with a half-filled ``[source]``.
    """

    type: str = "landing"
    # landing: JSON-lines files dropped into a folder
    landing_path: str = "lake/_landing"
    max_files_per_trigger: int = 100
    # kafka: Spark's built-in Kafka source (Managed Service for Apache Kafka or any broker)
    kafka_bootstrap_servers: str = ""  # host:port[,host:port]; or derived from kafka_cluster
    kafka_cluster: str = ""  # projects/P/locations/REGION/clusters/C (Managed Kafka)
    kafka_topics: str = "events"  # comma-separated
    kafka_starting_offsets: str = "earliest"  # for a new checkpoint: earliest | latest
    kafka_max_offsets_per_trigger: int = 0  # back-pressure: offsets per micro-batch, 0 = all
    kafka_auth: str = "none"  # none (PLAINTEXT) | managed-kafka (SASL_SSL, OAUTHBEARER, ADC)
    # pubsublite: the Python data source over the Pub/Sub Lite gRPC API
    pubsublite_subscription: str = ""  # projects/P/locations/L/subscriptions/S
    pubsublite_endpoint: str = ""  # default {region}-pubsublite.googleapis.com:443
    pubsublite_insecure: bool = False  # plaintext gRPC without credentials: local fakes only
    pubsublite_max_messages_per_partition: int = 0  # per micro-batch, 0 = all
    pubsublite_flow_control_messages: int = 1000  # outstanding messages per partition stream
    pubsublite_flow_control_bytes: int = 10 * 1024 * 1024  # outstanding bytes per stream
    # pubsub: the Python data source over the Pub/Sub (not Lite) gRPC API
    pubsub_subscription: str = ""  # projects/P/subscriptions/S
    pubsub_endpoint: str = ""  # default pubsub.googleapis.com:443
    pubsub_insecure: bool = False  # plaintext gRPC without credentials: local fakes only
    pubsub_max_messages_per_batch: int = 10_000  # back-pressure: messages per micro-batch
    pubsub_max_bytes_per_batch: int = 64 * 1024 * 1024  # flow control: bytes per micro-batch
    pubsub_ack_deadline_seconds: int = 60  # lease of pulled messages, extended until acked
    pubsub_pull_timeout_seconds: int = 5  # a pull waiting this long for messages ends the batch
    pubsub_max_message_bytes: int = 1024 * 1024  # bigger messages are nacked (dead-letter)
    pubsub_monitoring_endpoint: str = ""  # Cloud Monitoring, default monitoring.googleapis.com
    pubsub_backlog_interval_seconds: int = 60  # backlog sample for the batch log, 0 = never

    def __post_init__(self) -> None:
        choice(self.type, SOURCE_TYPES, "source.type")
        choice(self.kafka_starting_offsets, KAFKA_STARTING_OFFSETS, "source.kafka_starting_offsets")
        choice(self.kafka_auth, KAFKA_AUTH, "source.kafka_auth")
        for name in (
            "max_files_per_trigger",
            "pubsublite_flow_control_messages",
            "pubsub_max_messages_per_batch",
            "pubsub_pull_timeout_seconds",
        ):
            if getattr(self, name) < 1:
                raise ConfigError(f"source.{name}: {getattr(self, name)} must be at least 1")
        if self.pubsublite_flow_control_bytes < 1024:
            raise ConfigError(
                f"source.pubsublite_flow_control_bytes: {self.pubsublite_flow_control_bytes} "
                "must be at least 1024"
            )
        for name in ("pubsub_max_bytes_per_batch", "pubsub_max_message_bytes"):
            if getattr(self, name) < 1024:
                raise ConfigError(f"source.{name}: {getattr(self, name)} must be at least 1024")
        if not 10 <= self.pubsub_ack_deadline_seconds <= 600:
            raise ConfigError(
                f"source.pubsub_ack_deadline_seconds: {self.pubsub_ack_deadline_seconds} is "
                "outside what Pub/Sub accepts; give 10 to 600"
            )
        if (
            self.pubsub_subscription
            and _PUBSUB_SUBSCRIPTION_RE.match(self.pubsub_subscription) is None
        ):
            raise ConfigError(
                f"source.pubsub_subscription: {self.pubsub_subscription!r} is not a Pub/Sub "
                "subscription path; write projects/PROJECT/subscriptions/NAME"
            )
        if self.pubsub_backlog_interval_seconds < 0:
            raise ConfigError(
                f"source.pubsub_backlog_interval_seconds: {self.pubsub_backlog_interval_seconds}"
                " must be 0 (never sample the backlog) or more"
            )
        for name in ("kafka_max_offsets_per_trigger", "pubsublite_max_messages_per_partition"):
            if getattr(self, name) < 0:
                raise ConfigError(
                    f"source.{name}: {getattr(self, name)} must be 0 (no limit) or more"
                )
        if self.kafka_cluster and _CLUSTER_RE.match(self.kafka_cluster) is None:
            raise ConfigError(
                f"source.kafka_cluster: {self.kafka_cluster!r} is not a Managed Kafka cluster; "
                "write projects/PROJECT/locations/REGION/clusters/CLUSTER"
            )
        if self.kafka_auth == "managed-kafka":
            plaintext = [s for s in _split(self.kafka_bootstrap_servers) if _is_plaintext(s)]
            if plaintext:
                raise ConfigError(
                    f"source.kafka_bootstrap_servers: {plaintext[0]!r} is a plaintext or local "
                    "address, but kafka_auth = 'managed-kafka' needs the cluster's SASL_SSL "
                    "bootstrap (bootstrap.CLUSTER.REGION.managedkafka.PROJECT.cloud.goog:9092, "
                    "or set kafka_cluster); use kafka_auth = 'none' for a plaintext broker"
                )
        if (
            self.pubsublite_subscription
            and _SUBSCRIPTION_RE.match(self.pubsublite_subscription) is None
        ):
            raise ConfigError(
                f"source.pubsublite_subscription: {self.pubsublite_subscription!r} is not a "
                "subscription path; write projects/PROJECT/locations/LOCATION/subscriptions/NAME"
            )

    @property
    def topics(self) -> tuple[str, ...]:
        """The Kafka topics, in order, without blanks."""
        return tuple(_split(self.kafka_topics))


def _split(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def _is_plaintext(server: str) -> bool:
    host = server.split("://", 1)[-1].rsplit(":", 1)[0].strip("[]").lower()
    scheme = server.split("://", 1)[0].lower() if "://" in server else ""
    return scheme in ("plaintext", "sasl_plaintext") or host in ("localhost", "127.0.0.1", "::1")


@dataclass(frozen=True)
class TriggerConfig:
    """How streams are triggered: drain what is there and stop, or run every interval."""

    mode: str = "available-now"
    interval: str = "30 seconds"
    # the data files a silver or gold micro-batch reads from the layer below, at most (Delta's
    # maxBytesPerTrigger: a batch takes one file at least), so catching up a backlog runs in
    # batches of bounded size instead of one batch of everything
    max_bytes_per_batch: str = "64m"

    def __post_init__(self) -> None:
        choice(self.mode, TRIGGER_MODES, "trigger.mode")
        parse_duration(self.interval, "trigger.interval")
        parse_size(self.max_bytes_per_batch, "trigger.max_bytes_per_batch")


@dataclass(frozen=True)
class SparkConfig:
    """How the SparkSession is built: embedded local Spark, or what a Dataproc cluster provides."""

    mode: str = "local"
    master: str = "local[*]"
    shuffle_partitions: int = 4
    catalog: str = "in-memory"
    extra: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        choice(self.mode, SPARK_MODES, "spark.mode")
        choice(self.catalog, CATALOGS, "spark.catalog")
        if self.shuffle_partitions < 1:
            raise ConfigError(
                f"spark.shuffle_partitions: {self.shuffle_partitions} must be at least 1"
            )


_DATASET_NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class DatasetsConfig:
    """Where the datasets are declared (``datasets/<name>/contract.yaml``), and which of them
    this deployment runs (``names``: empty = every declared dataset)."""

    dir: str = "datasets"
    names: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.dir:
            raise ConfigError("datasets.dir: must not be empty; give the datasets folder")
        names = self.names.split(",") if isinstance(self.names, str) else self.names
        cleaned = tuple(n.strip() for n in names if n.strip())
        bad = [n for n in cleaned if _DATASET_NAME_RE.match(n) is None]
        if bad:
            raise ConfigError(
                f"datasets.names: {bad[0]!r} is not a dataset name (lowercase letters, digits, _)"
            )
        object.__setattr__(self, "names", cleaned)
