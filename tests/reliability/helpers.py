"""Helpers of the reliability tests: a configuration file for subprocesses, running the CLI
in a subprocess (its own process group, waited for until the JVM is gone too), and the
accounting of every bronze row in silver or quarantine."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from chispa import assert_df_equality
from pyspark.sql import SparkSession

from tests.conftest import INTERPRETED, SUITES, TEST_KEY
from tests.contracts.declared_gold import AGGREGATES

__all__ = [
    "Accounting",
    "Finished",
    "account",
    "assert_gold_equals_recomputation",
    "run_cli",
    "write_config",
]

ROOT = Path(__file__).resolve().parents[2]

# Settings for drivers that live for a batch or two and are often killed: Spark evaluates
# expressions without generating and compiling Java classes (tests.conftest.INTERPRETED),
# and the JVM compiles hot code with its quick compiler only. A new driver spends most of
# its first micro-batch compiling (Janino, then the JIT's optimising compiler), code it
# never runs long enough to gain from: the same run took 25% less time and 40% less CPU
# (README, Development). The results are the same either way.
QUICK_START = "\n[spark.extra]\n" + "".join(f'"{k}" = "{v}"\n' for k, v in INTERPRETED.items())
# C1 only; a C1-only JVM also cuts its code cache to 48 MB, which a driver whose batches write
# side by side filled ("Out of space in CodeCache for method handle intrinsic", a gold MERGE
# failed): the 240 MB a JVM with both compilers has
QUICK_START += (
    '"spark.driver.extraJavaOptions" = "-XX:TieredStopAtLevel=1 -XX:ReservedCodeCacheSize=240m"\n'
)


def write_config(
    root: Path, max_files_per_trigger: int = 1, gates: bool = True, monitoring: bool = True
) -> Path:
    """A ``lakehouse.toml`` for subprocesses, everything under ``root``."""
    file = root / "lakehouse.toml"
    file.write_text(
        f"""
[lake]
root = "{root / "lake"}"
checkpoint_root = "{root / "checkpoints"}"
[source]
type = "landing"
landing_path = "{root / "landing"}"
max_files_per_trigger = {max_files_per_trigger}
[spark]
master = "local[2]"
shuffle_partitions = 2
[quality]
enabled = {"true" if gates else "false"}
suite_dir = "{SUITES}"
[monitoring]
enabled = {"true" if monitoring else "false"}
[privacy]
pseudonym_key = "{TEST_KEY}"
[datasets]
dir = "{SUITES.parent / "datasets"}"
names = ["events"]
{QUICK_START}"""
    )
    return file


@dataclass(frozen=True)
class Finished:
    """How a CLI subprocess ended."""

    returncode: int
    stdout: str
    stderr: str
    seconds: float

    @property
    def killed(self) -> bool:
        return self.returncode == -signal.SIGKILL


def _wait_group_gone(pgid: int, timeout: float = 60.0) -> None:
    """Wait until no process of the group is left (the JVM exits when its driver died)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.2)
    os.killpg(pgid, signal.SIGKILL)  # the group of the subprocess this test started


def run_cli(
    args: list[str],
    env: dict[str, str] | None = None,
    timeout: float = 900.0,
    without_dac: bool = False,
) -> Finished:
    """``python -m lakehouse ARGS`` in a new process group; returns once every process of the
    group (the driver and its JVM) has exited. ``without_dac`` drops the capabilities that
    let root ignore file permissions (the interpreter lives under /root, so running as
    another user is not an option here)."""
    command = [sys.executable, "-m", "lakehouse", *args]
    if without_dac:
        command = ["setpriv", "--bounding-set=-dac_override,-dac_read_search", "--", *command]
    full_env = {**os.environ, "TZ": "UTC", "PYTHONPATH": str(ROOT), **(env or {})}
    started = time.monotonic()
    process = subprocess.Popen(
        command,
        env=full_env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    finally:
        _wait_group_gone(process.pid)
    return Finished(process.returncode, stdout, stderr, time.monotonic() - started)


@dataclass(frozen=True)
class Accounting:
    """Source coordinates of the rows of bronze, silver and quarantine."""

    bronze: Counter[tuple[str, str, int]]
    silver: Counter[tuple[str, str, int]]
    quarantine: Counter[tuple[str, str, int]]

    def assert_exactly_once(self) -> None:
        """Each bronze row is in silver or quarantine exactly once, and nothing else is."""
        assert all(n == 1 for n in self.bronze.values()), "a delivery is twice in bronze"
        twice = {k: n for k, n in (self.silver + self.quarantine).items() if n > 1}
        assert not twice, f"rows written twice: {list(twice)[:5]}"
        both = set(self.silver) & set(self.quarantine)
        assert not both, f"rows in silver and quarantine: {list(both)[:5]}"
        lost = set(self.bronze) - set(self.silver) - set(self.quarantine)
        assert not lost, f"{len(lost)} bronze rows in neither silver nor quarantine"
        extra = (set(self.silver) | set(self.quarantine)) - set(self.bronze)
        assert not extra, f"rows that are not in bronze: {list(extra)[:5]}"


def account(spark: SparkSession, lake_root: str) -> Accounting:
    def coordinates(path: str, columns: tuple[str, str, str]) -> Counter[tuple[str, str, int]]:
        rows = spark.read.format("delta").load(path).select(*columns).collect()
        return Counter((r[0], r[1], int(r[2])) for r in rows)

    return Accounting(
        bronze=coordinates(f"{lake_root}/bronze/events", ("source", "partition", "offset")),
        silver=coordinates(f"{lake_root}/silver/events", ("_source", "_partition", "_offset")),
        quarantine=coordinates(
            f"{lake_root}/quarantine/silver_events", ("_source", "_partition", "_offset")
        ),
    )


def assert_each_batch_logged_once(spark: SparkSession, lake_root: str) -> None:
    """The batch log has one row per batch of each stream (``_writer_id``), whatever
    crashed and ran again."""
    rows = spark.read.format("delta").load(f"{lake_root}/ops/batch_log")
    counted = Counter((r["_writer_id"], r["batch_id"]) for r in rows.collect())
    assert counted and all(writer is not None for writer, _ in counted)
    twice = {key: n for key, n in counted.items() if n > 1}
    assert not twice, f"batches logged twice: {twice}"


def assert_gold_equals_recomputation(spark: SparkSession, lake_root: str) -> None:
    """Every gold table equals the project's gold transformation of a batch read of silver."""
    silver = spark.read.format("delta").load(f"{lake_root}/silver/events")
    now = datetime.now(UTC)
    for aggregate in AGGREGATES:
        recomputed = silver.transform(aggregate.compute(now)).drop("updated_ts")
        stored = (
            spark.read.format("delta")
            .load(f"{lake_root}/gold/{aggregate.table.short_name}")
            .drop("updated_ts")
        )
        assert_df_equality(stored, recomputed, ignore_nullable=True, ignore_row_order=True)
