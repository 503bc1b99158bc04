"""The small lake the lineage tests trace: two landing files run once through bronze, silver
and gold (Trigger.AvailableNow), then one subject erased."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pyspark.sql import SparkSession

from lakehouse.cli import main
from lakehouse.config import LakehouseConfig, TriggerConfig
from lakehouse.io.jobs import start_job
from lakehouse.io.streams import await_stream
from tests.conftest import TEST_KEY, event_line, events_landing, make_config, register_lake

REPO = Path(__file__).resolve().parents[2]
ERASURE = "erase-u5"


@dataclass(frozen=True)
class Lake:
    config: LakehouseConfig
    toml: Path
    landing: Path
    hour: datetime  # the hour of every event; minute 1 holds e1, e2, e3, e5

    def file(self, name: str) -> str:
        """A landing file as the file source names it (bronze's ``partition``)."""
        return f"file:{self.landing / name}"


def build_lake(spark: SparkSession, root: Path) -> Lake:
    config = make_config(root, max_files_per_trigger=1, gates=False, monitoring=False)
    register_lake(spark, config)
    landing = Path(events_landing(config))
    landing.mkdir(parents=True)
    hour = (datetime.now(UTC) - timedelta(hours=2)).replace(minute=0, second=0, microsecond=0)
    at = hour.replace(tzinfo=None)

    def ts(minute: int, second: int) -> datetime:
        return at + timedelta(minutes=minute, seconds=second)

    files = {
        "a.jsonl": [
            event_line("e1", ts(1, 5), "u1"),
            event_line("e2", ts(1, 10), "u2"),
            event_line("e3", ts(1, 20), "u1", event_type="click", country="DE"),
            event_line("e4", ts(2, 0), "u3", event_type="purchase", amount=10.5, currency="EUR"),
        ],
        "b.jsonl": [
            event_line("e5", ts(1, 30), "u4"),
            event_line("e6", ts(1, 40), "u4", event_type="teleport"),
            event_line("e7", ts(3, 0), "u5"),
        ],
    }
    for i, (name, lines) in enumerate(files.items()):
        path = landing / name
        path.write_bytes(b"".join(line + b"\n" for line in lines))
        os.utime(path, (1_700_000_000 + i, 1_700_000_000 + i))  # a before b
    trigger = TriggerConfig(mode="available-now")
    for layer in ("bronze", "silver", "gold"):
        await_stream(start_job(spark, config, layer, trigger))
    toml = root / "lakehouse.toml"
    toml.write_text(
        '[lake]\nroot = "lake"\ncheckpoint_root = "checkpoints"\n'
        f'[datasets]\ndir = "{REPO / "datasets"}"\nnames = ["events"]\n'
        '[source]\nlanding_path = "landing"\n'
        '[spark]\nmaster = "local[2]"\nshuffle_partitions = 2\n'
        f'[quality]\nenabled = false\nsuite_dir = "{REPO / "expectations"}"\n'
        f'[privacy]\npseudonym_key = "{TEST_KEY}"\n'
        "[monitoring]\nenabled = false\n"
    )
    assert main(["--config", str(toml), "erase", "--subject", "u5", "--request-id", ERASURE]) == 0
    return Lake(config, toml, landing, hour)
