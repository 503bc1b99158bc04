"""The local demo: generate events, run every layer to completion, and account for each event."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from lakehouse.config import LakehouseConfig, TriggerConfig
from lakehouse.datasets import QUARANTINE_SILVER_EVENTS, TABLES
from lakehouse.display import format_table
from lakehouse.generator import GeneratorSpec, generate_events, write_landing
from lakehouse.io.jobs import start_job
from lakehouse.io.streams import await_stream

__all__ = ["DemoResult", "render_summary", "run_demo", "run_layers", "table_counts"]

LAYERS = ("bronze", "silver", "gold")


@dataclass
class DemoResult:
    """What the demo sent, what each table gained, and how long each step took."""

    sent: int
    expected_silver: int
    expected_quarantine: Counter[str]
    before: dict[str, int]
    after: dict[str, int]
    quarantine_by_reason: dict[str, int]
    seconds: dict[str, float] = field(default_factory=dict)

    def added(self, table: str) -> int:
        return self.after[table] - self.before[table]

    @property
    def accounted(self) -> bool:
        """Every event sent is in bronze; each is in silver or quarantine as the manifest says."""
        return (
            self.added("bronze.events") == self.sent
            and self.added("silver.events") == self.expected_silver
            and self.added("quarantine.silver_events") == sum(self.expected_quarantine.values())
            and Counter(self.quarantine_by_reason) == self.expected_quarantine
        )


def table_counts(spark: SparkSession) -> dict[str, int]:
    """Rows per table of the lake."""
    return {name: spark.table(name).count() for name in TABLES}


def run_layers(
    spark: SparkSession,
    config: LakehouseConfig,
    layers: tuple[str, ...] = LAYERS,
    timings: dict[str, float] | None = None,
) -> None:
    """Run the given layers one after the other, each draining its input (AvailableNow)."""
    trigger = TriggerConfig(mode="available-now", interval=config.trigger.interval)
    for layer in layers:
        started = time.monotonic()
        await_stream(start_job(spark, config, layer, trigger))
        if timings is not None:
            timings[layer] = time.monotonic() - started


def run_demo(
    spark: SparkSession,
    config: LakehouseConfig,
    spec: GeneratorSpec,
    events_per_file: int = 1000,
    say: Callable[[str], None] = print,
) -> DemoResult:
    """Generate ``spec`` events into the landing folder and run bronze, silver and gold."""
    began, began_at = time.monotonic(), datetime.now(UTC)
    before = table_counts(spark)
    say(
        f"generating {spec.count} events ({spec.bad_share:.0%} bad) into "
        f"{config.source.landing_path}"
    )
    started = time.monotonic()
    events = generate_events(spec)
    write_landing(events, config.source.landing_path, events_per_file=events_per_file)
    timings = {"generate": time.monotonic() - started}
    for layer in LAYERS:
        say(f"running {layer} ...")
        run_layers(spark, config, (layer,), timings)
    after = table_counts(spark)
    reasons = {
        r["reason"]: r["rows"]
        for r in spark.table(QUARANTINE_SILVER_EVENTS.name)
        .where(F.col("quarantine_ts") >= F.lit(began_at))
        .groupBy("reason")
        .agg(F.count("*").alias("rows"))
        .collect()
    }
    timings["total"] = time.monotonic() - began
    return DemoResult(
        sent=len(events),
        expected_silver=sum(1 for e in events if e.expected == "silver"),
        expected_quarantine=Counter(str(e.reason) for e in events if e.expected == "quarantine"),
        before=before,
        after=after,
        quarantine_by_reason=reasons,
        seconds=timings,
    )


def render_summary(result: DemoResult) -> str:
    """The demo summary as text: tables, quarantine reasons, timings, and the accounting."""
    tables = format_table(
        ["table", "rows", "added by this run"],
        [[t, result.after[t], result.added(t)] for t in TABLES],
    )
    reasons = format_table(
        ["quarantine reason", "rows from this run", "expected"],
        [
            [
                reason,
                result.quarantine_by_reason.get(reason, 0),
                result.expected_quarantine.get(reason, 0),
            ]
            for reason in sorted(set(result.quarantine_by_reason) | set(result.expected_quarantine))
        ],
    )
    timings = format_table(
        ["step", "seconds"], [[k, round(v, 1)] for k, v in result.seconds.items()]
    )
    verdict = (
        f"OK: {result.sent} events sent, {result.added('bronze.events')} in bronze, "
        f"{result.added('silver.events')} in silver (expected {result.expected_silver}), "
        f"{result.added('quarantine.silver_events')} quarantined "
        f"(expected {sum(result.expected_quarantine.values())})"
    )
    if not result.accounted:
        verdict = "MISMATCH: " + verdict.removeprefix("OK: ")
    return "\n\n".join([tables, reasons, timings, verdict])
