"""Silver's parser against the contract generator: for every declared dataset and a third
contract with two schema versions, maps, optional objects and arrays, every generated event
gets exactly the reason it was generated to get (none for the good ones)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pyspark.sql import DataFrame, SparkSession

from lakehouse.config import SilverConfig, parse_duration
from lakehouse.contracts import Dataset, load_dataset
from lakehouse.generate import GeneratorSpec, generate_dataset_events
from lakehouse.layers.silver import REASONS_COL, SilverRules, parse_events
from tests.conftest import landing_bronze
from tests.generate.conftest import write_sessions

ROOT = Path(__file__).resolve().parents[2]
SUITES = ROOT / "expectations"
INGEST = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
# reasons silver finds after the parse: the dedup and the gate
LATER = ("duplicate", "expectation_failed")


def _bronze(spark: SparkSession, lines: Sequence[bytes]) -> DataFrame:
    """Bronze rows of the payloads ``lines``, as a landing file delivers them."""
    return landing_bronze(spark, lines, INGEST)


def _datasets(tmp: Path) -> list[tuple[Dataset, Path]]:
    folder, suites = write_sessions(tmp)
    return [
        (load_dataset(ROOT / "datasets" / "events", SUITES), SUITES),
        (load_dataset(ROOT / "datasets" / "orders", SUITES), SUITES),
        (load_dataset(folder, suites), suites),
    ]


def test_every_generated_event_gets_the_reason_it_was_made_for(
    spark: SparkSession, tmp_path: Path
) -> None:
    mismatches: list[str] = []
    checked = 0
    for dataset, suites in _datasets(tmp_path):
        count, rate = 300, 10.0
        start = INGEST - timedelta(seconds=count / rate + 1)
        older = 0.3 if len(dataset.versions) > 1 else 0.0
        spec = GeneratorSpec(count=count, bad_share=0.6, rate=rate, start=start, older_share=older)
        events = generate_dataset_events(dataset, spec, suites)
        defaults = SilverConfig()
        rules = SilverRules(
            parse_duration(dataset.max_future_skew or defaults.max_future_skew, "skew"),
            parse_duration(dataset.max_lateness or defaults.max_lateness, "lateness"),
        )
        parsed = _bronze(spark, [e.line for e in events]).transform(parse_events(dataset, rules))
        got = {
            r["_offset"]: list(r[REASONS_COL])
            for r in parsed.select("_offset", REASONS_COL).collect()
        }
        for i, event in enumerate(events):
            want = [] if event.expected == "silver" or event.kind in LATER else [event.reason]
            if got[i] != want:
                mismatches.append(f"{dataset.name} {event.kind}: want {want}, got {got[i]}")
        checked += len(events)
    assert checked == 900
    assert mismatches == []


@pytest.mark.parametrize("name", ["events", "orders"])
def test_good_events_are_typed_as_silver_declares(spark: SparkSession, name: str) -> None:
    from lakehouse.contracts.tables import silver_table

    dataset = load_dataset(ROOT / "datasets" / name, SUITES)
    spec = GeneratorSpec(count=20, bad_share=0.0, rate=10.0, start=INGEST - timedelta(seconds=3))
    events = generate_dataset_events(dataset, spec, SUITES)
    rules = SilverRules(300, 48 * 3600)
    parsed = _bronze(spark, [e.line for e in events]).transform(parse_events(dataset, rules))
    columns = [f.name for f in dataset.silver_fields()]
    declared = silver_table(dataset).schema
    for column in columns:
        assert parsed.schema[column].dataType == declared[column].dataType, column
    assert parsed.where(f"size({REASONS_COL}) > 0").count() == 0


def test_a_reason_per_failing_check_in_order_repeats_kept(spark: SparkSession) -> None:
    """Two line items with the same fault give its reason twice, in field order (items
    before currency): the checks' arrays are concatenated as they are, nothing dropped or
    merged (the same reasons, in the same order, as before the checks left ``filter``)."""
    dataset = load_dataset(ROOT / "datasets" / "orders", SUITES)
    spec = GeneratorSpec(count=1, bad_share=0.0, rate=10.0, start=INGEST - timedelta(seconds=3))
    good = json.loads(generate_dataset_events(dataset, spec, SUITES)[0].line)
    bad_items = [
        {"sku": "A", "quantity": "many", "unit_price": 1.5},
        {"quantity": 1, "unit_price": 2.0},
        {"sku": "C", "quantity": "x", "unit_price": 3.0},
    ]
    event = {**good, "items": bad_items}
    del event["currency"]
    parsed = _bronze(spark, [json.dumps(event).encode()]).transform(
        parse_events(dataset, SilverRules(300, 48 * 3600))
    )
    row = parsed.select(REASONS_COL).first()
    assert row is not None
    assert row[0] == [
        "invalid_type:items[].quantity",
        "missing_field:items[].sku",
        "invalid_type:items[].quantity",
        "missing_field:currency",
    ]


def test_the_checks_run_in_generated_code(spark: SparkSession) -> None:
    """No lambda function above a row's checks (``filter``, ``array_compact``): Spark
    evaluates one row by row without generated code, together with all it contains. The
    events contract has no array field, so its reasons need none at all."""
    dataset = load_dataset(ROOT / "datasets" / "events", SUITES)
    parsed = _bronze(spark, [b"{}"]).transform(parse_events(dataset, SilverRules(300, 48 * 3600)))
    plan = parsed.select(REASONS_COL)._jdf.queryExecution().optimizedPlan().toString()
    assert "lambdafunction" not in plan.lower(), plan
