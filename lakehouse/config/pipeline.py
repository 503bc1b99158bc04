"""How the jobs judge and recompute rows: ``[silver]``, ``[quality]``, ``[monitoring]`` and
``[backfill]``."""

from __future__ import annotations

from dataclasses import dataclass

from lakehouse.config.values import QUALITY_ENGINES, choice, parse_duration
from lakehouse.errors import ConfigError

__all__ = ["BackfillConfig", "MonitoringConfig", "QualityConfig", "SilverConfig"]


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
        choice(self.engine, QUALITY_ENGINES, "quality.engine")


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
