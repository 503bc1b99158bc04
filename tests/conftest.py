"""One SparkSession per test process (Delta, UI off, two shuffle partitions) and a lake per test."""

from __future__ import annotations

import atexit
import dataclasses
import fcntl
import hashlib
import json
import os
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import pyspark
import pytest
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from lakehouse.catalog import register_tables
from lakehouse.config import (
    DatasetsConfig,
    LakeConfig,
    LakehouseConfig,
    MonitoringConfig,
    PrivacyConfig,
    QualityConfig,
    SourceConfig,
    SparkConfig,
)
from lakehouse.layers.bronze import to_bronze
from lakehouse.platform import load_platform, source_config
from lakehouse.session import build_session
from lakehouse.sources.kafka import kafka_package
from lakehouse.tabledef import TableDef
from tests import scheduling
from tests.product_generator import BAD_KINDS

# Python turns naive datetimes to and from Spark timestamps in local time; the lake is UTC.
os.environ["TZ"] = "UTC"
time.tzset()

SUITES = Path(__file__).resolve().parents[1] / "expectations"
DATASETS = Path(__file__).resolve().parents[1] / "datasets"
TEST_SPARK = SparkConfig(master="local[2]", shuffle_partitions=2)
# Spark evaluating every expression itself instead of generating and compiling Java for each
# query: the same results, and far less compiling for the small batches of the tests
# (README, Development). `make test` and `make test-slow` run the tests' session so
# (LAKEHOUSE_TEST_CODEGEN=off; a bare pytest keeps generated code), and the reliability
# tests' short-lived CLI drivers always; the drivers the demo, job-script, spark-submit and
# serve tests start run with the product's settings, generated code included.
INTERPRETED = {
    "spark.sql.codegen.wholeStage": "false",
    "spark.sql.codegen.factoryMode": "NO_CODEGEN",
}
CODEGEN_ENV_VAR = "LAKEHOUSE_TEST_CODEGEN"
# The pseudonym key of the tests (never a production key: keys come from the environment).
TEST_KEY = "test-pseudonym-key-0123456789abcdef"


@contextmanager
def one_ivy_resolution() -> Iterator[None]:
    """Hold the tests' Ivy lock in the block: the test processes resolve jars one at a time,
    since two Ivy resolutions writing the same cache at once (a fresh machine) delete each
    other's partial downloads and fail."""
    with open(Path(tempfile.gettempdir()) / "lakehouse-tests-ivy.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        yield


@pytest.fixture(scope="session")
def spark() -> Iterator[SparkSession]:
    # One session serves every test, so it always has Spark's Kafka connector (resolved from
    # Maven Central once, then from the Ivy cache); the CLI adds it only for the Kafka source.
    # The test processes start their sessions one at a time (one_ivy_resolution).
    with one_ivy_resolution():
        codegen = os.environ.get(CODEGEN_ENV_VAR, "on")
        if codegen not in ("on", "off"):
            raise ValueError(f"{CODEGEN_ENV_VAR}={codegen!r}: choose on or off")
        conf = TEST_SPARK if codegen == "on" else dataclasses.replace(TEST_SPARK, extra=INTERPRETED)
        session = build_session(
            conf, "lakehouse-tests", packages=(kafka_package(pyspark.__version__),)
        )
    yield session
    session.stop()


def make_config(
    root: Path,
    max_files_per_trigger: int = 100,
    gates: bool = True,
    pseudonym_key: str = TEST_KEY,
    monitoring: bool = True,
) -> LakehouseConfig:
    """A configuration whose lake, checkpoints and landing folder are under ``root``.

    ``gates=False`` and ``monitoring=False`` turn the quality gates and the metrics and
    detectors off, for tests of other properties (each costs about a second per micro-batch;
    tests/quality and tests/monitoring run them in streams). ``pseudonym_key=""`` leaves the
    pseudonym key unset."""
    return LakehouseConfig(
        lake=LakeConfig(root=str(root / "lake"), checkpoint_root=str(root / "checkpoints")),
        source=SourceConfig(
            landing_path=str(root / "landing"), max_files_per_trigger=max_files_per_trigger
        ),
        spark=TEST_SPARK,
        quality=QualityConfig(enabled=gates, suite_dir=str(SUITES)),
        privacy=PrivacyConfig(pseudonym_key=pseudonym_key),
        monitoring=MonitoringConfig(enabled=monitoring),
        datasets=DatasetsConfig(dir=str(DATASETS), names=("events",)),
    )


def events_landing(config: LakehouseConfig) -> str:
    """The landing folder of the product events under ``config``'s landing root."""
    from tests.events import EVENTS

    return source_config(config, EVENTS).landing_path


# Empty lakes made once per test process, by the tables they hold: a new lake is a copy of
# one, registered where it lies (creating some twenty empty Delta tables costs seconds each
# time; copying their logs and registering them, a third of that). tests/test_catalog.py
# creates its lakes table by table.
_TEMPLATES: dict[str, Path] = {}


def _template_key(tables: list[TableDef]) -> str:
    described = [
        (t.name, t.schema.json(), t.partition_by, sorted(t.properties.items()), repr(t))
        for t in tables
    ]
    return hashlib.sha256(repr(sorted(described)).encode()).hexdigest()


def register_lake(spark: SparkSession, config: LakehouseConfig) -> None:
    """Register every table of ``config``'s platform (its datasets' and the ops tables); a
    lake root that does not exist yet gets them as a copy of an empty lake made once."""
    tables = list(load_platform(config, spark).tables.values())
    root = Path(config.lake.root)
    if "://" not in config.lake.root and not root.exists():
        key = _template_key(tables)
        template = _TEMPLATES.get(key)
        if template is None:
            folder = Path(tempfile.mkdtemp(prefix="lakehouse-template-"))
            atexit.register(shutil.rmtree, folder, True)
            template = folder / "lake"
            lake = LakeConfig(root=str(template), checkpoint_root=str(folder / "checkpoints"))
            register_tables(spark, lake, tables)
            _TEMPLATES[key] = template
        shutil.copytree(template, root)
    register_tables(spark, config.lake, tables)


@pytest.fixture
def lake(spark: SparkSession, tmp_path: Path) -> LakehouseConfig:
    """A fresh, registered lake under the test's temporary folder."""
    config = make_config(tmp_path)
    register_lake(spark, config)
    return config


def landing_lake(spark: SparkSession, config: LakehouseConfig) -> Path:
    """Register the tables of ``config``'s lake and create its landing folder (returned)."""
    register_lake(spark, config)
    landing = Path(events_landing(config))
    landing.mkdir(parents=True)
    return landing


def with_checkpoint(config: LakehouseConfig, job: str, dataset: str = "events") -> None:
    """The query metadata Spark writes in a new checkpoint, for calling a job by hand."""
    folder = Path(config.lake.checkpoint(job, dataset))
    folder.mkdir(parents=True)
    (folder / "metadata").write_text(json.dumps({"id": str(uuid.uuid4())}))


def landing_batch(spark: SparkSession, folder: str) -> DataFrame:
    """The files of a landing folder as one static batch, with the columns the landing
    stream gives the bronze job (``read_landing_stream``)."""
    return (
        spark.read.format("text")
        .load(folder)
        .select(
            "value",
            F.col("_metadata.file_path").alias("file_path"),
            F.col("_metadata.file_block_start").alias("file_block_start"),
            F.col("_metadata.file_modification_time").alias("file_modification_time"),
        )
    )


def landing_bronze(
    spark: SparkSession, lines: Sequence[bytes], ingest: datetime, partition: str = "f1"
) -> DataFrame:
    """Bronze rows of the payloads ``lines``, as one landing file (``partition``) delivers
    them (offsets 0, 1, ...), ingested at ``ingest`` by batch 0."""
    envelopes = spark.createDataFrame(
        [("landing", partition, i, None, line, None, None, None) for i, line in enumerate(lines)],
        "source string, partition string, offset long, key binary, payload binary, "
        "attributes map<string,string>, publish_ts timestamp, source_event_ts timestamp",
    )
    return envelopes.transform(to_bronze(0, ingest))


def event_line(event_id: str, ts: datetime, user: str, **fields: object) -> bytes:
    """One valid event as a JSON line, with ``fields`` changed or added."""
    event: dict[str, object] = {
        "event_id": event_id,
        "event_type": "page_view",
        "event_ts": ts.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        "user_id": user,
        "country": "PL",
        "schema_version": 1,
    }
    event.update(fields)
    return json.dumps(event).encode()


def ungated_kinds() -> tuple[str, ...]:
    """Bad kinds the pipeline refuses without the quality gates (for tests with gates off)."""
    return tuple(
        kind
        for kind, (_, reason) in BAD_KINDS.items()
        if not str(reason).startswith("expectation_failed:")
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    scheduling.order_items(items)  # the longest files first (tests/scheduling.py)


def pytest_configure(config: pytest.Config) -> None:
    scheduling.configure(config)  # LAKEHOUSE_STORE_DURATIONS=1: measure the tests again
