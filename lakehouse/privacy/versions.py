"""Which pseudonym key versions the lake's silver batches used, and where the key comes from."""

from __future__ import annotations

from pathlib import Path

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from lakehouse.config import KEY_ENV_VAR, PrivacyConfig
from lakehouse.errors import ConfigError
from lakehouse.privacy.keys import fingerprint

__all__ = ["describe_key_source", "key_versions"]


def key_versions(batch_log: DataFrame) -> DataFrame:
    """One row per dataset and key version in ``ops.batch_log``: the silver batches that
    used it, when, and the rows they promoted, oldest first (batches logged before versions
    were recorded are ``unknown``)."""
    return (
        batch_log.where(F.col("job") == "silver")
        .groupBy("dataset", F.coalesce(F.col("key_version"), F.lit("unknown")).alias("key_version"))
        .agg(
            F.min("started_ts").alias("first_batch_ts"),
            F.max("finished_ts").alias("last_batch_ts"),
            F.count(F.lit(1)).alias("batches"),
            F.sum("rows_out").alias("rows_out"),
        )
        .orderBy("first_batch_ts", "dataset", "key_version")
    )


def describe_key_source(privacy: PrivacyConfig) -> str:
    """Where the key comes from and, when that is known without asking a service, its
    version; never the key."""
    if privacy.pseudonym_key:
        fp = fingerprint(privacy.pseudonym_key.encode())
        return f"privacy.pseudonym_key ({KEY_ENV_VAR}), version {fp}"
    if privacy.pseudonym_key_secret:
        return f"Secret Manager {privacy.pseudonym_key_secret}"
    if privacy.pseudonym_key_file:
        path = Path(privacy.pseudonym_key_file)
        try:
            return f"file {path}, version {fingerprint(privacy.key())}"
        except ConfigError:
            return f"file {path} (missing or unreadable)"
    return "not set"
