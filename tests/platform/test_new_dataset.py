"""A dataset written only as files, in a temporary folder, runs end to end next to another
one; a poison batch in one touches neither the other's tables nor its checkpoints; an
erasure reaches both."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from chispa import assert_df_equality
from pyspark.sql import SparkSession

from lakehouse.cli import main
from lakehouse.cli.common import register_platform
from lakehouse.config import load_config
from tests.conftest import SUITES, TEST_KEY

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime.now(UTC).replace(microsecond=0)
AT = (NOW - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
DAY = (NOW - timedelta(hours=1)).date()
SUBJECT = "person-42"

CLICKS = {
    "apiVersion": "v3.1.0",
    "kind": "DataContract",
    "id": "urn:test:clicks",
    "name": "clicks",
    "version": "1.0.0",
    "status": "active",
    "description": {"purpose": "Which buttons visitors press, to decide what to redesign."},
    "team": {"name": "web-team"},
    "support": [{"channel": "web-team"}],
    "customProperties": [
        {"property": "eventTimeField", "value": "at"},
        {"property": "versionField", "value": "v"},
        {"property": "subjectField", "value": "visitor"},
    ],
    "schema": [
        {
            "name": "clicks",
            "properties": [
                {
                    "name": "click_id",
                    "logicalType": "string",
                    "primaryKey": True,
                    "required": True,
                    "classification": "none",
                },
                {
                    "name": "at",
                    "logicalType": "timestamp",
                    "required": True,
                    "classification": "none",
                },
                {
                    "name": "visitor",
                    "logicalType": "string",
                    "required": True,
                    "classification": "pii_pseudonymous",
                    "customProperties": [{"property": "minimize", "value": "pseudonymize"}],
                },
                {
                    "name": "button",
                    "logicalType": "string",
                    "required": True,
                    "classification": "none",
                    "enum": [{"value": "buy"}, {"value": "share"}],
                    "customProperties": [{"property": "normalize", "value": "lower"}],
                },
                {
                    "name": "page",
                    "logicalType": "object",
                    "classification": "none",
                    "properties": [
                        {
                            "name": "path",
                            "logicalType": "string",
                            "required": True,
                            "classification": "none",
                        },
                        {
                            "name": "load_ms",
                            "logicalType": "integer",
                            "physicalType": "int",
                            "classification": "none",
                        },
                    ],
                },
                {
                    "name": "tags",
                    "logicalType": "array",
                    "classification": "none",
                    "items": {"logicalType": "string"},
                },
                {"name": "v", "logicalType": "integer", "required": True, "classification": "none"},
            ],
        }
    ],
}
# a division by zero for a click whose page loaded in exactly 13 ms: the poison of this test
CLICKS_GOLD = """-- description: Clicks per day and button.
-- owner: web-team
-- keys: day, button
-- window: day = event_date
SELECT event_date AS day, button, count(1) AS clicks,
       CAST(sum(100 / (coalesce(page.load_ms, 0) - 13)) AS BIGINT) AS weight
FROM {silver}
GROUP BY 1, 2
"""


def _suite(name: str, column: str) -> dict[str, object]:
    return {
        "name": name,
        "expectations": [
            {
                "type": "expect_column_values_to_not_be_null",
                "kwargs": {"column": column},
                "meta": {},
                "severity": "critical",
            }
        ],
        "meta": {},
    }


def _click(click_id: str, **fields: object) -> str:
    event: dict[str, object] = {
        "click_id": click_id,
        "at": AT,
        "visitor": "v-" + click_id,
        "button": "buy",
        "v": 1,
    }
    event.update(fields)
    return json.dumps(event)


def _order(order_id: str, **fields: object) -> str:
    event: dict[str, object] = {
        "order_id": order_id,
        "ordered_at": AT,
        "customer_id": "c-" + order_id,
        "country": "es",
        "channel": "web",
        "items": [{"sku": "a", "quantity": 2, "unit_price": "5.00"}],
        "total": 10.0,
        "currency": "eur",
        "contract_version": 1,
    }
    event.update(fields)
    return json.dumps(event)


@pytest.fixture(scope="module")
def platform_lake(spark: SparkSession, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("platform")
    datasets, suites = root / "datasets", root / "expectations"
    (datasets / "clicks" / "gold").mkdir(parents=True)
    (datasets / "clicks" / "contract.yaml").write_text(yaml.safe_dump(CLICKS, sort_keys=False))
    (datasets / "clicks" / "gold" / "clicks_per_day.sql").write_text(CLICKS_GOLD)
    shutil.copytree(ROOT / "datasets" / "orders", datasets / "orders")
    shutil.copytree(SUITES, suites)
    for name, column in (
        ("clicks_bronze_to_silver", "click_id"),
        ("silver_to_gold_clicks_per_day", "day"),
    ):
        (suites / f"{name}.json").write_text(json.dumps(_suite(name, column)))
    landing = root / "landing"
    (landing / "clicks").mkdir(parents=True)
    (landing / "orders").mkdir(parents=True)
    clicks = [
        _click("c1", button="BUY", page={"path": "/p", "load_ms": 20}, tags=["a", "b"]),
        _click("c2", button="share", visitor=SUBJECT),
        _click("c3", button="like"),
        _click("c4", page={"load_ms": "fast"}),
        _click("c5", tags="not-a-list"),
        _click("c1", button="share"),
        _click("c7", page={"path": "/slow", "load_ms": 13}),
        "not json",
    ]
    orders = [
        _order("o1"),
        _order(
            "o2",
            customer_id=SUBJECT,
            total=3.5,
            items=[{"sku": "b", "quantity": 1, "unit_price": 3.5}],
        ),
        _order("o3", country="fr"),
        _order("o4", items=[{"sku": "a", "quantity": "x", "unit_price": 1}]),
        _order("o5", total=None),
    ]
    (landing / "clicks" / "part-0.jsonl").write_text("\n".join(clicks) + "\n")
    (landing / "orders" / "part-0.jsonl").write_text(
        "\n".join(o for o in orders if o).replace(', "total": null', "") + "\n"
    )
    toml = root / "lakehouse.toml"
    toml.write_text(
        f'[lake]\nroot = "{root / "lake"}"\ncheckpoint_root = "{root / "checkpoints"}"\n'
        f'[source]\nlanding_path = "{landing}"\n'
        f'[datasets]\ndir = "{datasets}"\n'
        f'[quality]\nsuite_dir = "{suites}"\n'
        "[monitoring]\nenabled = false\n"
        '[spark]\nmaster = "local[2]"\nshuffle_partitions = 2\n'
        f'[privacy]\npseudonym_key = "{TEST_KEY}"\n'
    )
    assert main(["--config", str(toml), "run", "bronze", "silver", "gold", "--available-now"]) == 1
    # the streams' process names no table (lakehouse.cli.common.session): this one reads them
    register_platform(spark, load_config(toml), create=False)
    return root


def _reasons(spark: SparkSession, table: str) -> list[tuple[str, str]]:
    id_column = "click_id" if "clicks" in table else "order_id"
    return sorted((r[id_column] or "", r["reason"]) for r in spark.table(table).collect())


@pytest.mark.slow
def test_a_dataset_of_files_runs_next_to_another_and_its_poison_stays_its_own(
    spark: SparkSession, platform_lake: Path
) -> None:
    # clicks: parsed from its contract, nested fields and allowed values checked
    assert sorted(r["click_id"] for r in spark.table("silver.clicks").collect()) == [
        "c1",
        "c2",
        "c7",
    ]
    first = spark.table("silver.clicks").where("click_id = 'c1'").first()
    assert first is not None and first["button"] == "buy" and first["page"]["load_ms"] == 20
    assert first["tags"] == ["a", "b"] and first["visitor"] != "v-c1"  # a pseudonym
    assert _reasons(spark, "quarantine.silver_clicks") == [
        ("", "malformed_json"),
        ("c1", "duplicate_event_id"),
        ("c3", "invalid_value:button"),
        ("c4", "missing_field:page.path"),
        ("c5", "invalid_type:tags"),
    ]
    # the poison (a division by zero in clicks' gold) failed clicks' gold stream only
    assert spark.table("gold.clicks_per_day").count() == 0
    checkpoints = platform_lake / "checkpoints"
    assert not (checkpoints / "clicks" / "gold" / "commits" / "0").exists()
    assert (checkpoints / "clicks" / "silver" / "commits" / "0").exists()
    assert (checkpoints / "orders" / "gold" / "commits" / "0").exists()
    # orders: every event accounted for, gold exact
    assert sorted(r["order_id"] for r in spark.table("silver.orders").collect()) == [
        "o1",
        "o2",
        "o3",
    ]
    assert _reasons(spark, "quarantine.silver_orders") == [
        ("o4", "invalid_type:items[].quantity"),
        ("o5", "missing_field:total"),
    ]
    expected = spark.createDataFrame(
        [
            (DAY, "ES", "EUR", Decimal("13.50"), 2, 3),
            (DAY, "FR", "EUR", Decimal("10.00"), 1, 2),
        ],
        "order_date date, country string, currency string, revenue decimal(38,2), "
        "orders bigint, units bigint",
    )
    actual = spark.table("gold.revenue_per_day").drop("updated_ts")
    assert_df_equality(actual, expected, ignore_row_order=True, ignore_nullable=True)
    log = {
        (r["dataset"], r["job"])
        for r in spark.table("ops.batch_log").select("dataset", "job").collect()
    }
    assert log == {
        ("clicks", "bronze-landing"),
        ("clicks", "silver"),
        ("orders", "bronze-landing"),
        ("orders", "silver"),
        ("orders", "gold"),
    }


@pytest.mark.slow
def test_an_erasure_reaches_every_dataset_that_names_the_subject(
    spark: SparkSession, platform_lake: Path
) -> None:
    toml = platform_lake / "lakehouse.toml"
    assert main(["--config", str(toml), "erase", "--subject", SUBJECT]) == 0
    audit = {
        r["table_name"]: r["rows_deleted"]
        for r in spark.table("ops.erasure_audit").collect()
        if r["rows_deleted"]
    }
    assert audit == {
        "bronze.clicks": 1,
        "silver.clicks": 1,
        "bronze.orders": 1,
        "silver.orders": 1,
    }
    assert spark.table("silver.clicks").count() == 2
    assert spark.table("silver.orders").count() == 2
