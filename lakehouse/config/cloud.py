"""Settings that reach outside the lake: ``[dataproc]``, ``[privacy]`` (the pseudonym key)
and ``[cost]`` (machine prices)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from lakehouse.config.values import is_remote, parse_duration
from lakehouse.errors import ConfigError

__all__ = ["CostConfig", "DataprocConfig", "PrivacyConfig"]

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
        if is_remote(self.pseudonym_key_file):
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
