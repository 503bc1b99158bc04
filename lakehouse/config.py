"""Typed configuration: one TOML file (``lakehouse.toml``) with environment overrides.

Every value can be overridden by an environment variable named
``LAKEHOUSE_<SECTION>_<KEY>`` (for example ``LAKEHOUSE_LAKE_ROOT=gs://bucket/lake``).
Relative local paths are resolved against the directory of the configuration file.
"""

from __future__ import annotations

import dataclasses
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lakehouse.alerts.settings import AlertsConfig, parse_destinations
from lakehouse.errors import ConfigError
from lakehouse.serve.settings import ServeConfig

__all__ = [
    "CONFIG_ENV_VAR",
    "AlertsConfig",
    "BackfillConfig",
    "CostConfig",
    "DataprocConfig",
    "DatasetsConfig",
    "LakeConfig",
    "LakehouseConfig",
    "MonitoringConfig",
    "PrivacyConfig",
    "QualityConfig",
    "SilverConfig",
    "SourceConfig",
    "SparkConfig",
    "TriggerConfig",
    "load_config",
    "parse_duration",
]

CONFIG_ENV_VAR = "LAKEHOUSE_CONFIG"
ENV_PREFIX = "LAKEHOUSE_"

SOURCE_TYPES = ("landing", "kafka", "pubsublite", "pubsub")
KAFKA_STARTING_OFFSETS = ("earliest", "latest")
KAFKA_AUTH = ("none", "managed-kafka")
TRIGGER_MODES = ("available-now", "processing-time")
SPARK_MODES = ("local", "dataproc")
CATALOGS = ("in-memory", "hive")
QUALITY_ENGINES = ("fast", "great_expectations")

_CLUSTER_RE = re.compile(r"^projects/[^/\s]+/locations/[^/\s]+/clusters/[^/\s]+$")
_SUBSCRIPTION_RE = re.compile(r"^projects/[^/\s]+/locations/[^/\s]+/subscriptions/[^/\s]+$")
_PUBSUB_SUBSCRIPTION_RE = re.compile(r"^projects/[^/\s]+/subscriptions/[^/\s]+$")
_DURATION_RE = re.compile(
    r"^\s*(\d+)\s*(second|seconds|sec|s|minute|minutes|min|m|hour|hours|h|day|days|d)\s*$"
)
_UNIT_SECONDS = {
    "second": 1,
    "seconds": 1,
    "sec": 1,
    "s": 1,
    "minute": 60,
    "minutes": 60,
    "min": 60,
    "m": 60,
    "hour": 3600,
    "hours": 3600,
    "h": 3600,
    "day": 86400,
    "days": 86400,
    "d": 86400,
}


def parse_duration(value: str, what: str) -> int:
    """Return the number of seconds in a duration such as ``"10 seconds"`` or ``"48 hours"``."""
    match = _DURATION_RE.match(value) if isinstance(value, str) else None
    if match is None:
        raise ConfigError(
            f"{what}: {value!r} is not a duration; write a whole number and a unit, "
            "e.g. '30 seconds', '5 minutes', '48 hours', '7 days'"
        )
    return int(match.group(1)) * _UNIT_SECONDS[match.group(2)]


_SIZE_RE = re.compile(r"^([0-9]+)\s*(b|k|kb|m|mb|g|gb|t|tb)?$", re.IGNORECASE)


def parse_size(value: str, what: str) -> str:
    """A size such as ``"128m"`` or ``"1 GB"`` in the form Spark options take (``"128m"``)."""
    match = _SIZE_RE.match(value.strip()) if isinstance(value, str) else None
    if match is None or int(match.group(1)) == 0:
        raise ConfigError(
            f"{what}: {value!r} is not a size; write a whole number above 0 and a unit "
            "(b, k, m, g or t), e.g. '64m', '1g'"
        )
    unit = (match.group(2) or "b").lower()[0]
    return f"{int(match.group(1))}{unit}"


def _is_remote(path: str) -> bool:
    return "://" in path


def _choice(value: str, choices: tuple[str, ...], what: str) -> None:
    if value not in choices:
        raise ConfigError(f"{what}: {value!r} is not valid; choose one of {', '.join(choices)}")


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
        _choice(self.type, SOURCE_TYPES, "source.type")
        _choice(
            self.kafka_starting_offsets, KAFKA_STARTING_OFFSETS, "source.kafka_starting_offsets"
        )
        _choice(self.kafka_auth, KAFKA_AUTH, "source.kafka_auth")
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
        _choice(self.mode, TRIGGER_MODES, "trigger.mode")
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
        _choice(self.mode, SPARK_MODES, "spark.mode")
        _choice(self.catalog, CATALOGS, "spark.catalog")
        if self.shuffle_partitions < 1:
            raise ConfigError(
                f"spark.shuffle_partitions: {self.shuffle_partitions} must be at least 1"
            )


@dataclass(frozen=True)
class SilverConfig:
    """Rules of the silver refinement that depend on time."""

    dedup_window: str = "48 hours"
    max_lateness: str = "48 hours"
    max_future_skew: str = "5 minutes"

    def __post_init__(self) -> None:
        for name in ("dedup_window", "max_lateness", "max_future_skew"):
            parse_duration(getattr(self, name), f"silver.{name}")

    @property
    def dedup_window_seconds(self) -> int:
        return parse_duration(self.dedup_window, "silver.dedup_window")

    @property
    def max_lateness_seconds(self) -> int:
        return parse_duration(self.max_lateness, "silver.max_lateness")

    @property
    def max_future_skew_seconds(self) -> int:
        return parse_duration(self.max_future_skew, "silver.max_future_skew")


@dataclass(frozen=True)
class QualityConfig:
    """The quality gates between layers."""

    enabled: bool = True  # false turns the gates off (benchmarks); nothing is then recorded
    strict: bool = False  # true stops the stream on a critical failure instead of quarantining
    suite_dir: str = "expectations"
    # fast: expectations evaluated by Spark in one pass (GE for the types it does not know);
    # great_expectations: every expectation through GE (the reference, slower)
    engine: str = "fast"

    def __post_init__(self) -> None:
        if not self.suite_dir:
            raise ConfigError("quality.suite_dir: must not be empty; give the suites' folder")
        _choice(self.engine, QUALITY_ENGINES, "quality.engine")


@dataclass(frozen=True)
class MonitoringConfig:
    """Metrics and anomaly detection after each batch (thresholds are per dataset, in
    :mod:`lakehouse.ops`). A job reads the metrics history once, at its first batch, and
    keeps the newest ``history_batches`` batches of the last ``history_days`` days in memory."""

    enabled: bool = True
    history_batches: int = 500
    history_days: int = 14

    def __post_init__(self) -> None:
        if not 10 <= self.history_batches <= 100_000:
            raise ConfigError(
                f"monitoring.history_batches: {self.history_batches} must be 10 to 100000"
            )
        if not 1 <= self.history_days <= 400:
            raise ConfigError(f"monitoring.history_days: {self.history_days} must be 1 to 400")


@dataclass(frozen=True)
class BackfillConfig:
    """``lakehouse backfill``: ``claim_ttl`` is how long a backfill's claim on its days
    (``ops.backfill_claims``) lives without a heartbeat. A running backfill renews it every
    third of that; the claim of a backfill whose process died expires after at most this
    long, and another backfill of those days may then take over."""

    claim_ttl: str = "10 minutes"

    def __post_init__(self) -> None:
        seconds = parse_duration(self.claim_ttl, "backfill.claim_ttl")
        if not 30 <= seconds <= 86400:
            raise ConfigError(f"backfill.claim_ttl: {self.claim_ttl!r} must be 30 seconds to 1 day")

    @property
    def claim_ttl_seconds(self) -> int:
        return parse_duration(self.claim_ttl, "backfill.claim_ttl")


MAX_BATCH_TTL_SECONDS = 14 * 86400  # Dataproc Serverless: ttl is at most 14 days
MIN_BATCH_TTL_SECONDS = 600  # and at least 10 minutes


@dataclass(frozen=True)
class DataprocConfig:
    """Where and how ``lakehouse submit`` runs the jobs on Dataproc.

    ``runtime_version`` is the Serverless runtime (``--serverless``), ``image_version`` the
    image of the cluster (``--cluster``); each decides the Delta jars the job gets. Streaming
    jobs on a cluster restart up to ``max_failures_per_hour`` / ``max_failures_total`` times;
    on Serverless they get ``streaming_ttl`` (at most 14 days) instead of the 4-hour default.
    """

    project: str = ""
    region: str = "europe-west1"
    staging_uri: str = ""  # gs://bucket/prefix (file:// for tests)
    service_account: str = ""  # runtime service account (e-mail)
    subnetwork: str = ""  # subnetwork URI or name, for Serverless
    cluster: str = ""  # default cluster of --cluster
    runtime_version: str = "3.0"
    image_version: str = "3.0"
    max_failures_per_hour: int = 5
    max_failures_total: int = 50
    streaming_ttl: str = "14 days"

    def __post_init__(self) -> None:
        if not self.region:
            raise ConfigError(
                "dataproc.region: must not be empty; give a region, e.g. europe-west1"
            )
        if self.staging_uri and not self.staging_uri.startswith(("gs://", "file://")):
            raise ConfigError(
                f"dataproc.staging_uri: {self.staging_uri!r} is not valid; "
                "give a gs://bucket/prefix (or a file:// folder)"
            )
        if not 1 <= self.max_failures_per_hour <= 10:
            raise ConfigError(
                f"dataproc.max_failures_per_hour: {self.max_failures_per_hour} must be 1 to 10"
            )
        if not 1 <= self.max_failures_total <= 240:
            raise ConfigError(
                f"dataproc.max_failures_total: {self.max_failures_total} must be 1 to 240"
            )
        ttl = parse_duration(self.streaming_ttl, "dataproc.streaming_ttl")
        if not MIN_BATCH_TTL_SECONDS <= ttl <= MAX_BATCH_TTL_SECONDS:
            raise ConfigError(
                f"dataproc.streaming_ttl: {self.streaming_ttl!r} must be 10 minutes to 14 days"
            )

    @property
    def streaming_ttl_seconds(self) -> int:
        return parse_duration(self.streaming_ttl, "dataproc.streaming_ttl")


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


MIN_KEY_BYTES = 32
KEY_ENV_VAR = "LAKEHOUSE_PRIVACY_PSEUDONYM_KEY"
SECRET_VERSION = re.compile(r"projects/[^/\s]+/secrets/[^/\s]+/versions/[^/\s]+")


@dataclass(frozen=True)
class PrivacyConfig:
    """The secret key of the pseudonyms (HMAC-SHA256 of user and session ids).

    On Dataproc it comes from Secret Manager (``pseudonym_key_secret``, a secret version read
    at job start with Application Default Credentials, see :mod:`lakehouse.privacy.keys`);
    locally from the environment (``LAKEHOUSE_PRIVACY_PSEUDONYM_KEY``) or a local key file;
    never in the code or in a committed file. The first of key, secret, file that is set
    wins. It is only read by the jobs that need it (silver, erasure), so other commands run
    without it. ``secret_manager_endpoint`` / ``secret_manager_insecure`` point the client at
    a local fake (tests only; plaintext is refused for anything but this machine).
    """

    pseudonym_key: str = ""
    pseudonym_key_file: str = ""
    pseudonym_key_secret: str = ""  # projects/P/secrets/S/versions/V (a number or latest)
    secret_manager_endpoint: str = ""  # default secretmanager.googleapis.com:443
    secret_manager_insecure: bool = False  # plaintext gRPC without credentials: local fakes only

    def __post_init__(self) -> None:
        if self.pseudonym_key and len(self.pseudonym_key.encode()) < MIN_KEY_BYTES:
            raise ConfigError(
                f"privacy.pseudonym_key: the key has {len(self.pseudonym_key.encode())} bytes; "
                f"it needs at least {MIN_KEY_BYTES} (e.g. the output of "
                "'python -c \"import secrets; print(secrets.token_hex(32))\"')"
            )
        if _is_remote(self.pseudonym_key_file):
            raise ConfigError(
                f"privacy.pseudonym_key_file: {self.pseudonym_key_file!r} is remote; give a "
                f"local file, or give a Secret Manager version in privacy.pseudonym_key_secret"
            )
        if self.pseudonym_key_secret and not SECRET_VERSION.fullmatch(self.pseudonym_key_secret):
            raise ConfigError(
                f"privacy.pseudonym_key_secret: {self.pseudonym_key_secret!r} is not a secret "
                "version name; give projects/PROJECT/secrets/NAME/versions/VERSION (a version "
                "number, or latest)"
            )
        if self.secret_manager_insecure and not self.secret_manager_endpoint.startswith(
            ("127.0.0.1:", "localhost:", "[::1]:")
        ):
            raise ConfigError(
                "privacy.secret_manager_insecure: true sends no credentials over plaintext, "
                f"which only a local fake accepts; endpoint {self.secret_manager_endpoint!r} is "
                "not on this machine. Set secret_manager_insecure = false"
            )

    def key(self) -> bytes:
        """The key bytes; a :class:`ConfigError` saying how to set it when there is none."""
        if self.pseudonym_key:
            return self.pseudonym_key.encode()
        if not self.pseudonym_key_file:
            raise ConfigError(
                "privacy.pseudonym_key is not set: the pseudonyms of user and session ids need "
                f"a secret key of at least {MIN_KEY_BYTES} bytes; set "
                "privacy.pseudonym_key_secret (Secret Manager), "
                f"{KEY_ENV_VAR} or privacy.pseudonym_key_file (a local file holding the key)"
            )
        path = Path(self.pseudonym_key_file)
        try:
            key = path.read_bytes().strip()
        except OSError as exc:
            raise ConfigError(
                f"privacy.pseudonym_key_file: {str(path)!r} cannot be read ({exc.strerror}); "
                f"create it with a random key of at least {MIN_KEY_BYTES} bytes "
                "(`lakehouse demo` creates one for the local demo) or set "
                f"{KEY_ENV_VAR}"
            ) from exc
        if len(key) < MIN_KEY_BYTES:
            raise ConfigError(
                f"privacy.pseudonym_key_file: {str(path)!r} holds {len(key)} bytes; the key "
                f"needs at least {MIN_KEY_BYTES}"
            )
        return key


@dataclass(frozen=True)
class CostConfig:
    """Machine prices (USD) and the cluster shape ``lakehouse cost`` prices a day with, and
    the cost-rise detector. The defaults are examples (on-demand N2 in us-central1 and the
    Dataproc premium, December 2026): put the prices of your region and contract here."""

    vcpu_hour: float = 0.031611  # Compute Engine price of one vCPU for an hour
    memory_gb_hour: float = 0.004237  # ... of one GB of memory for an hour
    dataproc_vcpu_hour: float = 0.010  # Dataproc premium per vCPU-hour
    master_vcpus: int = 4
    master_memory_gb: float = 16.0
    workers: int = 2
    worker_vcpus: int = 4
    worker_memory_gb: float = 16.0
    window_hours: int = 1  # the "current rate": batches of the last hours
    rise_factor: float = 2.0  # task CPU per event at this multiple of the median: warning
    critical_factor: float = 4.0  # ... at this multiple: critical
    min_history: int = 10  # earlier batches of the stream before the detector speaks
    min_rows: int = 1000  # smaller batches are not judged (fixed overhead dominates)

    def __post_init__(self) -> None:
        for name in ("vcpu_hour", "memory_gb_hour", "dataproc_vcpu_hour"):
            if not 0 <= getattr(self, name) < 1000:
                raise ConfigError(f"cost.{name}: {getattr(self, name)} must be 0 to 1000 USD")
        for name in ("master_vcpus", "worker_vcpus"):
            if not 1 <= getattr(self, name) <= 1024:
                raise ConfigError(f"cost.{name}: {getattr(self, name)} must be 1 to 1024")
        for name in ("master_memory_gb", "worker_memory_gb"):
            if not 0 < getattr(self, name) <= 65536:
                raise ConfigError(f"cost.{name}: {getattr(self, name)} must be above 0 GB")
        if not 0 <= self.workers <= 10000:
            raise ConfigError(f"cost.workers: {self.workers} must be 0 to 10000")
        if not 1 <= self.window_hours <= 24 * 14:
            raise ConfigError(f"cost.window_hours: {self.window_hours} must be 1 to 336")
        if not 1 < self.rise_factor <= self.critical_factor:
            raise ConfigError(
                f"cost.rise_factor: {self.rise_factor} must be above 1 and at most "
                f"cost.critical_factor ({self.critical_factor})"
            )
        if not 3 <= self.min_history <= 10000:
            raise ConfigError(f"cost.min_history: {self.min_history} must be 3 to 10000")
        if self.min_rows < 1:
            raise ConfigError(f"cost.min_rows: {self.min_rows} must be at least 1")


@dataclass(frozen=True)
class LakehouseConfig:
    """The whole configuration."""

    lake: LakeConfig = field(default_factory=LakeConfig)
    source: SourceConfig = field(default_factory=SourceConfig)
    trigger: TriggerConfig = field(default_factory=TriggerConfig)
    spark: SparkConfig = field(default_factory=SparkConfig)
    silver: SilverConfig = field(default_factory=SilverConfig)
    quality: QualityConfig = field(default_factory=QualityConfig)
    monitoring: MonitoringConfig = field(default_factory=MonitoringConfig)
    dataproc: DataprocConfig = field(default_factory=DataprocConfig)
    privacy: PrivacyConfig = field(default_factory=PrivacyConfig)
    datasets: DatasetsConfig = field(default_factory=DatasetsConfig)
    cost: CostConfig = field(default_factory=CostConfig)
    alerts: AlertsConfig = field(default_factory=AlertsConfig)
    serve: ServeConfig = field(default_factory=ServeConfig)
    backfill: BackfillConfig = field(default_factory=BackfillConfig)

    def with_overrides(self, **sections: Mapping[str, Any]) -> LakehouseConfig:
        """Return a copy with some fields of some sections replaced (validated again)."""
        changes: dict[str, Any] = {}
        for section, values in sections.items():
            current = getattr(self, section)
            changes[section] = dataclasses.replace(current, **values)
        return dataclasses.replace(self, **changes)


_SECTIONS: dict[str, type[Any]] = {
    "lake": LakeConfig,
    "source": SourceConfig,
    "trigger": TriggerConfig,
    "spark": SparkConfig,
    "silver": SilverConfig,
    "quality": QualityConfig,
    "monitoring": MonitoringConfig,
    "dataproc": DataprocConfig,
    "privacy": PrivacyConfig,
    "datasets": DatasetsConfig,
    "cost": CostConfig,
    "alerts": AlertsConfig,
    "serve": ServeConfig,
    "backfill": BackfillConfig,
}
_PATH_FIELDS = {
    ("lake", "root"),
    ("lake", "checkpoint_root"),
    ("source", "landing_path"),
    ("quality", "suite_dir"),
    ("privacy", "pseudonym_key_file"),
    ("datasets", "dir"),
    ("serve", "state_dir"),
}
_OPTIONAL_PATHS = {("privacy", "pseudonym_key_file"), ("serve", "state_dir")}


_BOOLEANS = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}


def _coerce(section: str, key: str, value: Any, target: Any, origin: str) -> Any:
    where = f"{section}.{key} (from {origin})"
    if key == "names":
        if isinstance(value, str):
            return tuple(n.strip() for n in value.split(",") if n.strip())
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{where}: {value!r} must be a list of dataset names")
        return tuple(value)
    if key == "destinations":  # [[alerts.destinations]]
        return parse_destinations(value, where)
    if key == "extra":
        if not isinstance(value, Mapping):
            raise ConfigError(f"{where}: {value!r} must be a table of string keys and values")
        return {str(k): str(v) for k, v in value.items()}
    if isinstance(target, bool):
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in _BOOLEANS:
            return _BOOLEANS[value.strip().lower()]
        raise ConfigError(f"{where}: {value!r} is not a boolean; write true or false")
    if isinstance(target, float):
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str) and re.fullmatch(r"\s*-?\d+(\.\d*)?\s*", value):
            return float(value)
        raise ConfigError(f"{where}: {value!r} is not a number")
    if isinstance(target, int):
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and re.fullmatch(r"\s*-?\d+\s*", value):
            return int(value)
        raise ConfigError(f"{where}: {value!r} is not a whole number")
    if not isinstance(value, str):
        raise ConfigError(f"{where}: {value!r} must be a string")
    return value


def _section_values(
    section: str, raw: Mapping[str, Any], env: Mapping[str, str], origin: str
) -> dict[str, Any]:
    cls = _SECTIONS[section]
    defaults = cls()
    names = [f.name for f in dataclasses.fields(cls)]
    unknown = sorted(set(raw) - set(names))
    if unknown:
        raise ConfigError(
            f"{origin}: unknown key(s) {', '.join(repr(k) for k in unknown)} in [{section}]; "
            f"valid keys are {', '.join(names)}"
        )
    values: dict[str, Any] = {}
    for name in names:
        env_name = f"{ENV_PREFIX}{section}_{name}".upper()
        if env_name in env:
            values[name] = _coerce(section, name, env[env_name], getattr(defaults, name), env_name)
        elif name in raw:
            values[name] = _coerce(section, name, raw[name], getattr(defaults, name), origin)
    return values


def _resolve_paths(values: dict[str, Any], section: str, base: Path) -> None:
    for sec, key in _PATH_FIELDS:
        if sec != section:
            continue
        value = values.get(key, getattr(_SECTIONS[section](), key))
        if (section, key) in _OPTIONAL_PATHS and not value.strip():
            continue
        if not value.strip():
            raise ConfigError(f"{section}.{key}: must not be empty; give a local path or gs:// URI")
        if not _is_remote(value) and not Path(value).is_absolute():
            value = str((base / value).resolve())
        values[key] = value


def load_config(
    path: str | os.PathLike[str] | None = None, env: Mapping[str, str] | None = None
) -> LakehouseConfig:
    """Load the configuration.

    ``path`` (or the ``LAKEHOUSE_CONFIG`` variable) names the file; without either,
    ``./lakehouse.toml`` is used when it exists, otherwise the built-in defaults.
    A named file that is missing or does not parse is an error.
    """
    env = os.environ if env is None else env
    explicit = path if path is not None else env.get(CONFIG_ENV_VAR)
    raw: dict[str, Any] = {}
    origin = "defaults"
    base = Path.cwd()
    if explicit is not None:
        file = Path(explicit)
        if not file.is_file():
            raise ConfigError(f"config file {str(file)!r} does not exist or is not a file")
        raw, origin, base = _read_toml(file), str(file), file.resolve().parent
    elif Path("lakehouse.toml").is_file():
        file = Path("lakehouse.toml")
        raw, origin, base = _read_toml(file), str(file), file.resolve().parent
    unknown = sorted(set(raw) - set(_SECTIONS))
    if unknown:
        raise ConfigError(
            f"{origin}: unknown section(s) {', '.join(repr(s) for s in unknown)}; "
            f"valid sections are {', '.join(_SECTIONS)}"
        )
    sections: dict[str, Any] = {}
    for section, cls in _SECTIONS.items():
        section_raw = raw.get(section, {})
        if not isinstance(section_raw, Mapping):
            raise ConfigError(f"{origin}: [{section}] must be a table, got {section_raw!r}")
        values = _section_values(section, section_raw, env, origin)
        _resolve_paths(values, section, base)
        sections[section] = cls(**values)
    return LakehouseConfig(**sections)


def _read_toml(file: Path) -> dict[str, Any]:
    try:
        with file.open("rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {str(file)!r} is not valid TOML: {exc}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"config file {str(file)!r} is not valid TOML: not UTF-8 text "
            f"(byte {exc.start}: {exc.reason})"
        ) from exc
    except OSError as exc:
        raise ConfigError(f"config file {str(file)!r} cannot be read: {exc.strerror}") from exc
