"""Unit tests of the typed configuration: defaults, TOML file, env overrides, validation."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from lakehouse.config import (
    CONFIG_ENV_VAR,
    LakeConfig,
    LakehouseConfig,
    SilverConfig,
    SourceConfig,
    SparkConfig,
    TriggerConfig,
    load_config,
    parse_duration,
    parse_size,
)
from lakehouse.errors import ConfigError, LakehouseError

FULL_TOML = """
[lake]
root = "data/lake"
checkpoint_root = "gs://bucket/checkpoints"

[source]
type = "kafka"
landing_path = "/abs/landing"
max_files_per_trigger = 7

[trigger]
mode = "processing-time"
interval = "5 minutes"
max_bytes_per_batch = "1 GB"

[spark]
mode = "dataproc"
master = "yarn"
shuffle_partitions = 16
catalog = "hive"

[spark.extra]
"spark.sql.ansi.enabled" = "true"
"spark.executor.cores" = 4

[silver]
dedup_window = "2 days"
max_lateness = "36 hours"
max_future_skew = "90 seconds"
"""


def write_config(directory: Path, text: str, name: str = "lakehouse.toml") -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


# --- defaults ---------------------------------------------------------------------------


def test_defaults_without_any_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    config = load_config(env={})
    base = tmp_path.resolve()
    assert config.lake.root == str(base / "lake")
    assert config.lake.checkpoint_root == str(base / "lake" / "_checkpoints")
    assert config.source.landing_path == str(base / "lake" / "_landing")
    assert config.source.type == "landing"
    assert config.source.max_files_per_trigger == 100
    assert config.trigger == TriggerConfig(mode="available-now", interval="30 seconds")
    assert config.spark == SparkConfig()
    assert config.spark.extra == {}
    assert config.silver == SilverConfig()
    assert config.silver.dedup_window_seconds == 48 * 3600
    assert config.silver.max_future_skew_seconds == 300


def test_defaults_of_the_dataclasses_validate() -> None:
    config = LakehouseConfig()
    assert config.lake.root == "lake"
    assert config.lake.checkpoint_root == "lake/_checkpoints"
    assert config.source.type == "landing"
    assert config.spark.mode == "local"
    assert config.spark.catalog == "in-memory"
    assert config.spark.shuffle_partitions == 4


def test_lakehouse_toml_in_working_directory_is_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_config(tmp_path, "[source]\nmax_files_per_trigger = 3\n[lake]\nroot = 'here'\n")
    monkeypatch.chdir(tmp_path)
    config = load_config(env={})
    assert config.source.max_files_per_trigger == 3
    assert config.lake.root == str(tmp_path.resolve() / "here")


# --- loading a file ---------------------------------------------------------------------


def test_load_full_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    path = write_config(tmp_path / "conf", FULL_TOML, name="custom.toml")
    config = load_config(path, env={})
    assert config.lake.root == str((tmp_path / "conf" / "data" / "lake").resolve())
    assert config.lake.checkpoint_root == "gs://bucket/checkpoints"
    assert config.source == SourceConfig(
        type="kafka", landing_path="/abs/landing", max_files_per_trigger=7
    )
    assert config.trigger == TriggerConfig(
        mode="processing-time", interval="5 minutes", max_bytes_per_batch="1 GB"
    )
    assert config.spark.mode == "dataproc"
    assert config.spark.master == "yarn"
    assert config.spark.shuffle_partitions == 16
    assert config.spark.catalog == "hive"
    # every extra value is turned into a string
    assert config.spark.extra == {
        "spark.sql.ansi.enabled": "true",
        "spark.executor.cores": "4",
    }
    assert config.silver.dedup_window_seconds == 2 * 86400
    assert config.silver.max_lateness_seconds == 36 * 3600
    assert config.silver.max_future_skew_seconds == 90


def test_partial_file_keeps_defaults_for_the_rest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    path = write_config(tmp_path, '[trigger]\ninterval = "10 seconds"\n', name="p.toml")
    config = load_config(path, env={})
    assert config.trigger.interval == "10 seconds"
    assert config.trigger.mode == "available-now"
    assert config.source.max_files_per_trigger == 100
    assert config.spark == SparkConfig()


def test_relative_paths_resolve_against_the_config_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    conf_dir = tmp_path / "project" / "conf"
    path = write_config(
        conf_dir,
        '[lake]\nroot = "../lake"\ncheckpoint_root = "ckpt"\n'
        '[source]\nlanding_path = "gs://my-bucket/landing"\n',
    )
    config = load_config(path, env={})
    assert config.lake.root == str((tmp_path / "project" / "lake").resolve())
    assert config.lake.checkpoint_root == str((conf_dir / "ckpt").resolve())
    assert config.source.landing_path == "gs://my-bucket/landing"
    assert not config.lake.root.startswith(str(elsewhere))


def test_defaults_not_in_file_also_resolve_against_config_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    conf_dir = tmp_path / "conf"
    path = write_config(conf_dir, "[spark]\nshuffle_partitions = 2\n")
    config = load_config(path, env={})
    assert config.lake.root == str(conf_dir.resolve() / "lake")
    assert config.source.landing_path == str(conf_dir.resolve() / "lake" / "_landing")


def test_absolute_path_is_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    absolute = str((tmp_path / "somewhere" / "lake").resolve())
    path = write_config(tmp_path / "conf", f"[lake]\nroot = {absolute!r}\n")
    assert load_config(path, env={}).lake.root == absolute


def test_relative_config_path_is_relative_to_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_config(tmp_path / "sub", '[lake]\nroot = "x"\n', name="c.toml")
    monkeypatch.chdir(tmp_path)
    config = load_config("sub/c.toml", env={})
    assert config.lake.root == str((tmp_path / "sub" / "x").resolve())


# --- environment overrides ----------------------------------------------------------------


def test_environment_overrides_file_values(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    path = write_config(tmp_path, FULL_TOML, name="c.toml")
    env = {
        "LAKEHOUSE_LAKE_ROOT": "gs://other/lake",
        "LAKEHOUSE_SOURCE_TYPE": "pubsublite",
        "LAKEHOUSE_SOURCE_MAX_FILES_PER_TRIGGER": "42",
        "LAKEHOUSE_SPARK_SHUFFLE_PARTITIONS": " 8 ",
        "LAKEHOUSE_TRIGGER_MODE": "available-now",
        "LAKEHOUSE_SILVER_MAX_LATENESS": "3 days",
        "UNRELATED": "ignored",
    }
    config = load_config(path, env=env)
    assert config.lake.root == "gs://other/lake"
    assert config.source.type == "pubsublite"
    assert config.source.max_files_per_trigger == 42
    assert isinstance(config.source.max_files_per_trigger, int)
    assert config.spark.shuffle_partitions == 8
    assert isinstance(config.spark.shuffle_partitions, int)
    assert config.trigger.mode == "available-now"
    assert config.trigger.interval == "5 minutes"  # not overridden: from the file
    assert config.silver.max_lateness_seconds == 3 * 86400
    # untouched values still come from the file
    assert config.spark.catalog == "hive"
    assert config.lake.checkpoint_root == "gs://bucket/checkpoints"


def test_environment_overrides_defaults_without_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    config = load_config(
        env={"LAKEHOUSE_LAKE_ROOT": "mylake", "LAKEHOUSE_SPARK_MASTER": "local[2]"}
    )
    # a relative override is resolved against the working directory (no file)
    assert config.lake.root == str(tmp_path.resolve() / "mylake")
    assert config.spark.master == "local[2]"


def test_relative_environment_path_resolves_against_config_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    conf_dir = tmp_path / "conf"
    path = write_config(conf_dir, "")
    config = load_config(path, env={"LAKEHOUSE_SOURCE_LANDING_PATH": "incoming"})
    assert config.source.landing_path == str(conf_dir.resolve() / "incoming")


def test_lowercase_environment_names_are_not_overrides(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    config = load_config(env={"lakehouse_source_type": "kafka"})
    assert config.source.type == "landing"


def test_config_env_var_names_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    # a ./lakehouse.toml that must be ignored in favour of the named file
    write_config(tmp_path, "[spark]\nshuffle_partitions = 99\n")
    conf_dir = tmp_path / "named"
    path = write_config(conf_dir, '[spark]\nshuffle_partitions = 3\n[lake]\nroot = "l"\n', "n.toml")
    config = load_config(env={CONFIG_ENV_VAR: str(path)})
    assert CONFIG_ENV_VAR == "LAKEHOUSE_CONFIG"
    assert config.spark.shuffle_partitions == 3
    assert config.lake.root == str(conf_dir.resolve() / "l")


def test_explicit_path_wins_over_config_env_var(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    first = write_config(tmp_path, "[spark]\nshuffle_partitions = 5\n", "first.toml")
    second = write_config(tmp_path, "[spark]\nshuffle_partitions = 6\n", "second.toml")
    config = load_config(first, env={CONFIG_ENV_VAR: str(second)})
    assert config.spark.shuffle_partitions == 5


def test_config_env_var_naming_missing_file_is_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    missing = tmp_path / "nope.toml"
    with pytest.raises(ConfigError, match=r"nope\.toml"):
        load_config(env={CONFIG_ENV_VAR: str(missing)})


# --- errors -------------------------------------------------------------------------------


def test_missing_named_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match=r"missing\.toml.*does not exist"):
        load_config(tmp_path / "missing.toml", env={})


def test_directory_as_config_file_is_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "adir").mkdir()
    with pytest.raises(ConfigError, match="not a file"):
        load_config(tmp_path / "adir", env={})


def test_config_error_is_a_lakehouse_error() -> None:
    assert issubclass(ConfigError, LakehouseError)


def test_invalid_toml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    path = write_config(tmp_path, "[lake\nroot = \n", "broken.toml")
    with pytest.raises(ConfigError, match=r"broken\.toml.*not valid TOML") as info:
        load_config(path, env={})
    assert info.value.__cause__ is not None


def test_invalid_toml_in_working_directory_is_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    write_config(tmp_path, "this is = = not toml")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(env={})


def test_unknown_section(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    path = write_config(tmp_path, "[lakes]\nroot = 'x'\n", "c.toml")
    with pytest.raises(ConfigError) as info:
        load_config(path, env={})
    message = str(info.value)
    assert "'lakes'" in message
    assert "lake, source, trigger, spark, silver" in message


def test_section_that_is_not_a_table(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    path = write_config(tmp_path, 'lake = "gs://b/lake"\n', "c.toml")
    with pytest.raises(ConfigError, match=r"\[lake\] must be a table"):
        load_config(path, env={})


def test_unknown_key_lists_valid_keys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    path = write_config(tmp_path, "[source]\nmax_files = 3\ntyp = 'kafka'\n", "c.toml")
    with pytest.raises(ConfigError) as info:
        load_config(path, env={})
    message = str(info.value)
    assert "'max_files'" in message
    assert "'typ'" in message
    assert "[source]" in message
    assert "valid keys are type, landing_path, max_files_per_trigger" in message


@pytest.mark.parametrize(
    ("toml", "bad", "choices"),
    [
        ('[source]\ntype = "files"\n', "'files'", "landing, kafka, pubsublite"),
        ('[trigger]\nmode = "once"\n', "'once'", "available-now, processing-time"),
        ('[spark]\nmode = "yarn"\n', "'yarn'", "local, dataproc"),
        ('[spark]\ncatalog = "glue"\n', "'glue'", "in-memory, hive"),
        ('[quality]\nengine = "soda"\n', "'soda'", "fast, great_expectations"),
    ],
)
def test_invalid_choice_names_value_and_choices(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, toml: str, bad: str, choices: str
) -> None:
    monkeypatch.chdir(tmp_path)
    path = write_config(tmp_path, toml, "c.toml")
    with pytest.raises(ConfigError) as info:
        load_config(path, env={})
    message = str(info.value)
    assert bad in message
    assert f"choose one of {choices}" in message


def test_invalid_choice_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match=r"spark\.catalog: 'unity' is not valid"):
        load_config(env={"LAKEHOUSE_SPARK_CATALOG": "unity"})


@pytest.mark.parametrize(
    ("section", "key", "value"),
    [
        ("trigger", "interval", "soon"),
        ("trigger", "interval", "10 fortnights"),
        ("silver", "dedup_window", "48"),
        ("silver", "max_lateness", "1.5 hours"),
        ("silver", "max_future_skew", "-5 minutes"),
    ],
)
def test_bad_duration_in_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, section: str, key: str, value: str
) -> None:
    monkeypatch.chdir(tmp_path)
    path = write_config(tmp_path, f'[{section}]\n{key} = "{value}"\n', "c.toml")
    with pytest.raises(ConfigError) as info:
        load_config(path, env={})
    message = str(info.value)
    assert f"{section}.{key}" in message
    assert repr(value) in message
    assert "is not a duration" in message


def test_bad_duration_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match=r"trigger\.interval: 'often' is not a duration"):
        load_config(env={"LAKEHOUSE_TRIGGER_INTERVAL": "often"})


def test_duration_that_is_not_a_string_in_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    path = write_config(tmp_path, "[trigger]\ninterval = 30\n", "c.toml")
    with pytest.raises(ConfigError, match=r"trigger\.interval .*30 must be a string"):
        load_config(path, env={})


@pytest.mark.parametrize("value", ["many", "4.5", "", "0x10", "3 files"])
def test_non_integer_from_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError) as info:
        load_config(env={"LAKEHOUSE_SOURCE_MAX_FILES_PER_TRIGGER": value})
    message = str(info.value)
    assert "source.max_files_per_trigger" in message
    assert "LAKEHOUSE_SOURCE_MAX_FILES_PER_TRIGGER" in message
    assert f"{value!r} is not a whole number" in message


@pytest.mark.parametrize("value", ["2.5", '"four"', "true"])
def test_non_integer_in_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.chdir(tmp_path)
    path = write_config(tmp_path, f"[spark]\nshuffle_partitions = {value}\n", "c.toml")
    with pytest.raises(ConfigError, match=r"spark\.shuffle_partitions .*not a whole number"):
        load_config(path, env={})


def test_double_minus_integer_is_a_config_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match="not a whole number"):
        load_config(env={"LAKEHOUSE_SPARK_SHUFFLE_PARTITIONS": "--5"})


@pytest.mark.parametrize("value", ["0", "-3"])
def test_max_files_per_trigger_below_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match=rf"max_files_per_trigger: {value} must be at least 1"):
        load_config(env={"LAKEHOUSE_SOURCE_MAX_FILES_PER_TRIGGER": value})


def test_max_files_per_trigger_below_one_in_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    path = write_config(tmp_path, "[source]\nmax_files_per_trigger = 0\n", "c.toml")
    with pytest.raises(ConfigError, match="must be at least 1"):
        load_config(path, env={})


def test_shuffle_partitions_below_one() -> None:
    with pytest.raises(ConfigError, match=r"spark\.shuffle_partitions: 0 must be at least 1"):
        SparkConfig(shuffle_partitions=0)


def test_extra_must_be_a_table(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    path = write_config(tmp_path, '[spark]\nextra = "a=b"\n', "c.toml")
    with pytest.raises(ConfigError, match=r"spark\.extra .*must be a table"):
        load_config(path, env={})


def test_string_field_given_a_number(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    path = write_config(tmp_path, "[spark]\nmaster = 4\n", "c.toml")
    with pytest.raises(ConfigError, match=r"spark\.master .*4 must be a string"):
        load_config(path, env={})


@pytest.mark.parametrize("field_name", ["root", "checkpoint_root"])
def test_empty_lake_path_rejected_by_dataclass(field_name: str) -> None:
    with pytest.raises(ConfigError, match=rf"lake\.{field_name}: must not be empty"):
        LakeConfig(**{field_name: ""})


def test_empty_lake_root_from_environment_is_rejected(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match=r"lake\.root: must not be empty"):
        load_config(env={"LAKEHOUSE_LAKE_ROOT": ""})


# --- parse_size ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "option"),
    [("64m", "64m"), ("1 GB", "1g"), ("512Kb", "512k"), ("100", "100b"), (" 2t ", "2t")],
)
def test_parse_size_gives_the_form_spark_options_take(text: str, option: str) -> None:
    assert parse_size(text, "x") == option


@pytest.mark.parametrize("text", ["", "0m", "m", "1.5g", "-1m", "64 megabytes", "64 mm"])
def test_parse_size_rejects(text: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_size(text, "trigger.max_bytes_per_batch")
    message = str(info.value)
    assert message.startswith(f"trigger.max_bytes_per_batch: {text!r} is not a size")
    assert "'64m'" in message


def test_a_bad_batch_size_in_the_file_is_a_config_error(tmp_path: Path) -> None:
    path = write_config(tmp_path, '[trigger]\nmax_bytes_per_batch = "lots"\n', name="b.toml")
    with pytest.raises(ConfigError, match=r"trigger\.max_bytes_per_batch: 'lots' is not a size"):
        load_config(str(path), env={})


# --- parse_duration -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("1 second", 1),
        ("30 seconds", 30),
        ("45 sec", 45),
        ("10s", 10),
        ("1 minute", 60),
        ("5 minutes", 300),
        ("15 min", 900),
        ("2m", 120),
        ("1 hour", 3600),
        ("48 hours", 172800),
        ("3h", 10800),
        ("1 day", 86400),
        ("7 days", 604800),
        ("2d", 172800),
        ("  12   minutes  ", 720),
        ("0 seconds", 0),
    ],
)
def test_parse_duration(text: str, seconds: int) -> None:
    assert parse_duration(text, "x") == seconds


@pytest.mark.parametrize(
    "text", ["", "minutes", "5", "5 weeks", "five minutes", "5 Minutes", "1.5 h", "-1 s", "5 m s"]
)
def test_parse_duration_rejects(text: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_duration(text, "silver.dedup_window")
    message = str(info.value)
    assert message.startswith(f"silver.dedup_window: {text!r} is not a duration")
    assert "'30 seconds'" in message


def test_parse_duration_rejects_non_string() -> None:
    with pytest.raises(ConfigError, match="w: 30 is not a duration"):
        parse_duration(30, "w")  # type: ignore[arg-type]


# --- dataclass behaviour ------------------------------------------------------------------


def test_table_path_and_checkpoint() -> None:
    lake = LakeConfig(root="/data/lake", checkpoint_root="/data/ckpt")
    assert lake.table_path("bronze", "events") == "/data/lake/bronze/events"
    assert lake.checkpoint("silver_events") == "/data/ckpt/silver_events"


def test_table_path_and_checkpoint_strip_trailing_slashes() -> None:
    lake = LakeConfig(root="gs://bucket/lake/", checkpoint_root="gs://bucket/ckpt//")
    assert lake.table_path("gold", "daily") == "gs://bucket/lake/gold/daily"
    assert lake.checkpoint("bronze") == "gs://bucket/ckpt/bronze"


def test_with_overrides_replaces_only_named_fields() -> None:
    base = LakehouseConfig()
    changed = base.with_overrides(
        source={"max_files_per_trigger": 5}, trigger={"mode": "processing-time"}
    )
    assert changed.source.max_files_per_trigger == 5
    assert changed.source.type == base.source.type
    assert changed.trigger.mode == "processing-time"
    assert changed.trigger.interval == base.trigger.interval
    assert changed.lake is base.lake
    assert changed.spark is base.spark
    # the original is unchanged (frozen, copied)
    assert base.source.max_files_per_trigger == 100
    assert base.trigger.mode == "available-now"


def test_with_overrides_without_arguments_is_equal_copy() -> None:
    base = LakehouseConfig()
    assert base.with_overrides() == base


@pytest.mark.parametrize(
    ("sections", "match"),
    [
        ({"source": {"max_files_per_trigger": 0}}, "must be at least 1"),
        ({"source": {"type": "s3"}}, r"source\.type: 's3' is not valid"),
        ({"trigger": {"interval": "whenever"}}, r"trigger\.interval: 'whenever'"),
        ({"spark": {"catalog": "glue"}}, "choose one of in-memory, hive"),
        ({"silver": {"max_lateness": "2 weeks"}}, r"silver\.max_lateness"),
        ({"lake": {"root": ""}}, "must not be empty"),
        ({"backfill": {"claim_ttl": "10 seconds"}}, r"backfill\.claim_ttl: '10 seconds' must be"),
        ({"backfill": {"claim_ttl": "soon"}}, r"backfill\.claim_ttl: 'soon' is not a duration"),
    ],
)
def test_with_overrides_validates_again(sections: dict[str, dict[str, object]], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        LakehouseConfig().with_overrides(**sections)


def test_with_overrides_unknown_field_is_rejected() -> None:
    with pytest.raises(TypeError):
        LakehouseConfig().with_overrides(source={"nope": 1})


def test_configs_are_frozen() -> None:
    config = LakehouseConfig()
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.lake.root = "elsewhere"  # type: ignore[misc]


def test_quality_booleans_from_file_and_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    path = write_config(tmp_path, "[quality]\nenabled = false\nsuite_dir = 'suites'\n", "c.toml")
    config = load_config(path, env={"LAKEHOUSE_QUALITY_STRICT": "yes"})
    assert config.quality.enabled is False
    assert config.quality.strict is True
    assert config.quality.suite_dir == str(tmp_path / "suites")
    with pytest.raises(ConfigError, match=r"quality\.strict .*'maybe' is not a boolean"):
        load_config(path, env={"LAKEHOUSE_QUALITY_STRICT": "maybe"})


def test_backfill_claim_ttl_from_file_and_environment(tmp_path: Path) -> None:
    assert LakehouseConfig().backfill.claim_ttl_seconds == 600
    path = write_config(tmp_path, "[backfill]\nclaim_ttl = '30 minutes'\n", "c.toml")
    assert load_config(path, env={}).backfill.claim_ttl_seconds == 1800
    config = load_config(path, env={"LAKEHOUSE_BACKFILL_CLAIM_TTL": "2 hours"})
    assert config.backfill.claim_ttl_seconds == 7200
