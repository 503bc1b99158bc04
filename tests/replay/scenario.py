"""The scenario of the replay tests: a silver batch ran under a contract copy whose
``event_type`` values were too narrow, so good events sit in quarantine."""

from __future__ import annotations

import dataclasses
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml
from pyspark.sql import DataFrame, SparkSession

from lakehouse.catalog import table_path
from lakehouse.config import DatasetsConfig, LakehouseConfig
from lakehouse.io.silver_job import SilverJob
from lakehouse.platform import load_platform
from tests.conftest import DATASETS, event_line, landing_bronze, register_lake, with_checkpoint

NOW = datetime.now(UTC).replace(microsecond=0)
TS = NOW - timedelta(hours=1)
NARROWED = ("signup", "login")  # values the broken contract copy forgot
INVALID = "invalid_value:event_type"
LINES = [
    event_line("ok-1", TS, "u1"),  # a page view: promoted by the stream
    event_line("fixed-1", TS, "u2", event_type="signup"),
    event_line("fixed-2", TS + timedelta(minutes=1), "u3", event_type="login"),
    event_line("ok-1", TS, "u1", event_type="login"),  # another delivery of ok-1
    event_line("bad-1", TS, "u4", event_type="teleport"),  # wrong under every contract
    b"{not json",
]


def narrow_datasets(folder: Path) -> Path:
    """A copy of the datasets whose events contract lacks two ``event_type`` values."""
    shutil.copytree(DATASETS, folder)
    contract = folder / "events" / "contract.yaml"
    data = yaml.safe_load(contract.read_text())
    for schema in data["schema"]:
        for prop in schema["properties"]:
            if prop["name"] == "event_type":
                prop["enum"] = [v for v in prop["enum"] if v["value"] not in NARROWED]
    contract.write_text(yaml.safe_dump(data, sort_keys=False))
    return folder


def bronze(spark: SparkSession, lines: list[bytes]) -> DataFrame:
    return landing_bronze(spark, lines, NOW)


def quarantine_under_narrow_contract(
    spark: SparkSession, config: LakehouseConfig, root: Path
) -> str:
    """Register ``config``'s lake, write :data:`LINES` to bronze and run one silver batch of
    them under the narrow contract copy: fixed-1 and fixed-2 (and a second delivery of ok-1)
    are refused. Returns the batch's writer id."""
    register_lake(spark, config)
    with_checkpoint(config, "silver")
    narrow = narrow_datasets(root / "narrow")
    broken = dataclasses.replace(config, datasets=DatasetsConfig(str(narrow), ("events",)))
    tables = load_platform(broken).dataset("events")
    rows = bronze(spark, LINES)
    rows.write.format("delta").mode("append").save(table_path(config.lake, tables.bronze))
    job = SilverJob(broken, tables)
    job(rows, 0)
    return job.identity.app_id(spark)
