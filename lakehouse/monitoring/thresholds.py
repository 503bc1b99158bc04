"""What a dataset's monitoring watches and when a detector speaks: declared next to the table
in :mod:`lakehouse.ops` (pure definitions, no Spark)."""

from __future__ import annotations

from dataclasses import dataclass, fields

from lakehouse.errors import ConfigError

__all__ = ["QUANTILE_LEVELS", "SEVERITIES", "Monitoring"]

SEVERITIES = ("info", "warning", "critical")
# The quantile sketch stored per numeric column and batch (5 % .. 95 %).
QUANTILE_LEVELS: tuple[float, ...] = tuple(round(0.05 * i, 2) for i in range(1, 20))


@dataclass(frozen=True)
class Monitoring:
    """Metrics and detector thresholds of one table.

    Columns: ``null_columns`` get a null rate, ``distinct_columns`` an approximate distinct
    count, ``numeric_columns`` a mean and a quantile sketch (two-sample test), and
    ``category_columns`` their value frequencies (population stability index). ``event_time``
    gives the freshness (how old the newest event of a batch is when it is processed);
    ``rescued`` is the map column holding unknown fields (schema drift).

    Thresholds: a detector says nothing before ``min_history`` earlier batches. Volume uses a
    robust z-score (median / MAD), per hour of day once a bucket holds ``min_bucket_history``
    batches; the MAD is floored at ``volume_min_spread`` of the median so that a very regular
    stream does not alarm on noise. Rates (null, quarantine) alarm on an absolute rise over the
    history's median; rates, frequencies and their detectors need batches of ``min_rows``
    rows; ``volume=False`` turns the volume and rate-of-change detectors off for tables whose
    rows per batch are not a signal. ``block_on_critical`` makes a critical finding block the
    batch like a critical table-level expectation.
    """

    null_columns: tuple[str, ...] = ()
    distinct_columns: tuple[str, ...] = ()
    numeric_columns: tuple[str, ...] = ()
    category_columns: tuple[str, ...] = ()
    event_time: str | None = None
    rescued: str | None = None
    min_history: int = 12
    min_bucket_history: int = 3
    volume_z_warning: float = 4.0
    volume_z_critical: float = 6.0
    volume_min_spread: float = 0.1
    change_ratio_warning: float = 3.0  # rows vs the previous batch: x3 up or /3 down
    null_rate_warning: float = 0.05
    null_rate_critical: float = 0.2
    quarantine_rate_warning: float = 0.05
    quarantine_rate_critical: float = 0.2
    psi_warning: float = 0.1
    psi_critical: float = 0.25
    ks_warning: float = 0.2  # Kolmogorov-Smirnov distance of the quantile sketches
    ks_critical: float = 0.4
    ks_p_value: float = 0.001  # and the difference must be significant
    min_numeric_values: int = 30
    min_rows: int = 50  # rate and frequency detectors skip smaller batches
    schema_drift_severity: str = "warning"
    freshness_warning_seconds: int = 15 * 60
    freshness_critical_seconds: int = 60 * 60
    stall_warning_seconds: int = 30 * 60
    stall_critical_seconds: int = 2 * 3600
    block_on_critical: bool = False
    volume: bool = True  # False where rows per batch are not a signal (recomputed windows)

    def __post_init__(self) -> None:
        for name in ("null_columns", "distinct_columns", "numeric_columns", "category_columns"):
            value = getattr(self, name)
            if not isinstance(value, tuple) or not all(isinstance(c, str) and c for c in value):
                raise ConfigError(f"monitoring.{name}: {value!r} must be a tuple of column names")
        for name in ("min_history", "min_bucket_history", "min_numeric_values", "min_rows"):
            if getattr(self, name) < 1:
                raise ConfigError(f"monitoring.{name}: {getattr(self, name)} must be at least 1")
        pairs = (
            ("volume_z_warning", "volume_z_critical"),
            ("null_rate_warning", "null_rate_critical"),
            ("quarantine_rate_warning", "quarantine_rate_critical"),
            ("psi_warning", "psi_critical"),
            ("ks_warning", "ks_critical"),
            ("freshness_warning_seconds", "freshness_critical_seconds"),
            ("stall_warning_seconds", "stall_critical_seconds"),
        )
        for low, high in pairs:
            lo, hi = getattr(self, low), getattr(self, high)
            if not 0 < lo <= hi:
                raise ConfigError(
                    f"monitoring.{low} = {lo} and {high} = {hi}: both must be above 0 and "
                    f"{low} at most {high}"
                )
        for name in ("null_rate_critical", "quarantine_rate_critical", "ks_critical"):
            if getattr(self, name) > 1:
                raise ConfigError(f"monitoring.{name}: {getattr(self, name)} must be at most 1")
        if not 0 < self.volume_min_spread <= 1:
            raise ConfigError(
                f"monitoring.volume_min_spread: {self.volume_min_spread} must be in (0, 1]"
            )
        if self.change_ratio_warning <= 1:
            raise ConfigError(
                f"monitoring.change_ratio_warning: {self.change_ratio_warning} must be above 1"
            )
        if not 0 < self.ks_p_value < 1:
            raise ConfigError(f"monitoring.ks_p_value: {self.ks_p_value} must be in (0, 1)")
        if self.schema_drift_severity not in SEVERITIES:
            raise ConfigError(
                f"monitoring.schema_drift_severity: {self.schema_drift_severity!r} is not "
                f"valid; choose one of {', '.join(SEVERITIES)}"
            )

    @property
    def columns(self) -> tuple[str, ...]:
        """Every column the metrics read, once each, in declaration order."""
        named = [
            *self.null_columns,
            *self.distinct_columns,
            *self.numeric_columns,
            *self.category_columns,
        ]
        named += [c for c in (self.event_time, self.rescued) if c is not None]
        return tuple(dict.fromkeys(named))

    @classmethod
    def field_names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))
