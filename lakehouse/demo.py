"""The local demo: generate events, run every layer to completion, and account for each event."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from lakehouse.config import LakehouseConfig, TriggerConfig
from lakehouse.display import format_table
from lakehouse.generate import GeneratedEvent, generate_dataset_events, write_dataset_events
from lakehouse.generate.spec import GeneratorSpec
from lakehouse.io.jobs import start_job
from lakehouse.io.streams import await_stream
from lakehouse.platform import DatasetTables, Platform, load_platform, source_config

__all__ = [
    "DatasetResult",
    "DemoResult",
    "render_summary",
    "run_demo",
    "run_layers",
    "table_counts",
]

LAYERS = ("bronze", "silver", "gold")


@dataclass
class DatasetResult:
    """What the demo sent to one dataset and where its events went."""

    dataset: str
    sent: int
    expected_silver: int
    expected_quarantine: Counter[str]
    quarantine_by_reason: dict[str, int]


@dataclass
class DemoResult:
    """What the demo sent, what each table gained, and how long each step took."""

    datasets: list[DatasetResult]
    before: dict[str, int]
    after: dict[str, int]
    seconds: dict[str, float] = field(default_factory=dict)

    def added(self, table: str) -> int:
        return self.after[table] - self.before[table]

    @property
    def sent(self) -> int:
        return sum(d.sent for d in self.datasets)

    def accounted_for(self, d: DatasetResult) -> bool:
        """Every event sent is in bronze; each is in silver or quarantine as expected."""
        return (
            self.added(f"bronze.{d.dataset}") == d.sent
            and self.added(f"silver.{d.dataset}") == d.expected_silver
            and self.added(f"quarantine.silver_{d.dataset}") == sum(d.expected_quarantine.values())
            and Counter(d.quarantine_by_reason) == d.expected_quarantine
        )

    @property
    def accounted(self) -> bool:
        return all(self.accounted_for(d) for d in self.datasets)


def table_counts(spark: SparkSession, platform: Platform) -> dict[str, int]:
    """Rows per table of the lake."""
    return {name: spark.table(name).count() for name in platform.tables}


def run_layers(
    spark: SparkSession,
    config: LakehouseConfig,
    layers: tuple[str, ...] = LAYERS,
    timings: dict[str, float] | None = None,
    datasets: list[str] | None = None,
) -> None:
    """Run the given layers one after the other, each draining its input (AvailableNow), for
    every dataset of the configuration (or ``datasets``)."""
    trigger = TriggerConfig(mode="available-now", interval=config.trigger.interval)
    names = datasets or list(load_platform(config).datasets)
    for layer in layers:
        started = time.monotonic()
        for name in names:
            await_stream(start_job(spark, config, layer, trigger, dataset=name))
        if timings is not None:
            timings[layer] = time.monotonic() - started


def _generate(
    config: LakehouseConfig, tables: DatasetTables, spec: GeneratorSpec
) -> list[GeneratedEvent]:
    """Events of the dataset made from its contract and silver suite, bad ones included."""
    suites = Path(config.quality.suite_dir)
    return generate_dataset_events(tables.dataset, spec, suites, defaults=config.silver)


def _reasons(spark: SparkSession, tables: DatasetTables, since: datetime) -> dict[str, int]:
    return {
        r["reason"]: r["rows"]
        for r in spark.table(tables.quarantine.name)
        .where(F.col("quarantine_ts") >= F.lit(since))
        .groupBy("reason")
        .agg(F.count("*").alias("rows"))
        .collect()
    }


def run_demo(
    spark: SparkSession,
    config: LakehouseConfig,
    spec: GeneratorSpec,
    events_per_file: int = 1000,
    say: Callable[[str], None] = print,
) -> DemoResult:
    """Generate ``spec`` events for every dataset into its landing folder and run bronze,
    silver and gold."""
    began, began_at = time.monotonic(), datetime.now(UTC)
    platform = load_platform(config, spark)
    before = table_counts(spark, platform)
    started = time.monotonic()
    sent: dict[str, list[GeneratedEvent]] = {}
    for name, tables in platform.datasets.items():
        landing = source_config(config, tables.dataset).landing_path
        say(f"generating {spec.count} {name} events ({spec.bad_share:.0%} bad) into {landing}")
        sent[name] = _generate(config, tables, spec)
        write_dataset_events(sent[name], landing, name, events_per_file=events_per_file)
    timings = {"generate": time.monotonic() - started}
    for layer in LAYERS:
        say(f"running {layer} ...")
        run_layers(spark, config, (layer,), timings)
    after = table_counts(spark, platform)
    timings["total"] = time.monotonic() - began
    results = [
        DatasetResult(
            dataset=name,
            sent=len(events),
            expected_silver=sum(1 for e in events if e.expected == "silver"),
            expected_quarantine=Counter(
                str(e.reason) for e in events if e.expected == "quarantine"
            ),
            quarantine_by_reason=_reasons(spark, platform.datasets[name], began_at),
        )
        for name, events in sent.items()
    ]
    return DemoResult(datasets=results, before=before, after=after, seconds=timings)


def render_summary(result: DemoResult) -> str:
    """The demo summary as text: tables, quarantine reasons, timings, and the accounting."""
    tables = format_table(
        ["table", "rows", "added by this run"],
        [[t, result.after[t], result.added(t)] for t in result.after],
    )
    reasons = format_table(
        ["dataset", "quarantine reason", "rows from this run", "expected"],
        [
            [
                d.dataset,
                r,
                d.quarantine_by_reason.get(r, 0),
                d.expected_quarantine[r],
            ]
            for d in result.datasets
            for r in sorted(set(d.quarantine_by_reason) | set(d.expected_quarantine))
        ],
    )
    timings = format_table(
        ["step", "seconds"], [[k, round(v, 1)] for k, v in result.seconds.items()]
    )
    verdicts = []
    for d in result.datasets:
        quarantined = result.added(f"quarantine.silver_{d.dataset}")
        verdict = (
            f"OK: {d.dataset}: {d.sent} events sent, {result.added(f'bronze.{d.dataset}')} in "
            f"bronze, {result.added(f'silver.{d.dataset}')} in silver (expected "
            f"{d.expected_silver}), {quarantined} quarantined (expected "
            f"{sum(d.expected_quarantine.values())})"
        )
        if not result.accounted_for(d):
            verdict = "MISMATCH: " + verdict.removeprefix("OK: ")
        verdicts.append(verdict)
    return "\n\n".join([tables, reasons, timings, "\n".join(verdicts)])
