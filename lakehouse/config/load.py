"""The whole configuration (:class:`LakehouseConfig`) and how it is read: one TOML file
with ``LAKEHOUSE_<SECTION>_<KEY>`` environment overrides, relative paths resolved against
the file's directory."""

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
from lakehouse.config.cloud import CostConfig, DataprocConfig, PrivacyConfig
from lakehouse.config.lake import (
    DatasetsConfig,
    LakeConfig,
    SourceConfig,
    SparkConfig,
    TriggerConfig,
)
from lakehouse.config.pipeline import BackfillConfig, MonitoringConfig, QualityConfig, SilverConfig
from lakehouse.config.values import CONFIG_ENV_VAR, ENV_PREFIX, is_remote
from lakehouse.errors import ConfigError
from lakehouse.serve.settings import ServeConfig

__all__ = ["LakehouseConfig", "load_config"]


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
        if not is_remote(value) and not Path(value).is_absolute():
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
