"""Typed configuration: one TOML file (``lakehouse.toml``) with environment overrides.

Every value can be overridden by an environment variable named
``LAKEHOUSE_<SECTION>_<KEY>`` (for example ``LAKEHOUSE_LAKE_ROOT=gs://bucket/lake``).
Relative local paths are resolved against the directory of the configuration file.

The sections live by subject: :mod:`~lakehouse.config.lake` (lake, source, trigger, spark,
datasets), :mod:`~lakehouse.config.pipeline` (silver, quality, monitoring, backfill),
:mod:`~lakehouse.config.cloud` (dataproc, privacy, cost), ``alerts`` and ``serve`` in their
own packages; :mod:`~lakehouse.config.load` reads the file and the environment.
"""

from __future__ import annotations

from lakehouse.alerts.settings import AlertsConfig
from lakehouse.config.cloud import (
    KEY_ENV_VAR,
    MIN_KEY_BYTES,
    CostConfig,
    DataprocConfig,
    PrivacyConfig,
)
from lakehouse.config.lake import (
    DatasetsConfig,
    LakeConfig,
    SourceConfig,
    SparkConfig,
    TriggerConfig,
)
from lakehouse.config.load import LakehouseConfig, load_config
from lakehouse.config.pipeline import BackfillConfig, MonitoringConfig, QualityConfig, SilverConfig
from lakehouse.config.values import CONFIG_ENV_VAR, QUALITY_ENGINES, parse_duration, parse_size

__all__ = [
    "CONFIG_ENV_VAR",
    "KEY_ENV_VAR",
    "MIN_KEY_BYTES",
    "QUALITY_ENGINES",
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
    "parse_size",
]
