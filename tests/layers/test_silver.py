from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from chispa import assert_df_equality
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from lakehouse.io.batch import batch_summary
from lakehouse.layers.parse import TIMESTAMP_PATTERN, typed_value
from lakehouse.layers.silver import (
    DEDUP_COL,
    INVISIBLE_COL,
    REASONS_COL,
    ROW_COL,
    SilverRules,
    apply_marks,
    classify_duplicates,
    code_fields,
    duplicate_marks,
    parse_events,
    raw_schema,
    to_quarantine,
    to_silver,
)
from tests.conftest import landing_bronze
from tests.events import EVENTS, QUARANTINE_SILVER_EVENTS, SILVER_EVENTS

INGEST = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
RULES = SilverRules(max_future_skew_seconds=300, max_lateness_seconds=48 * 3600)


def _event(**changes: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "event_id": "e1",
        "event_type": "purchase",
        "event_ts": "2026-11-23T11:59:00.250Z",
        "user_id": "u1",
        "session_id": "s1",
        "device": "web",
        "ip": "198.51.100.7",
        "country": "de",
        "properties": {"sku": "SKU-1", "quantity": 2},
        "amount": 12.5,
        "currency": "eur",
        "schema_version": 1,
    }
    event.update(changes)
    return {k: v for k, v in event.items() if v is not None}


def _bronze(spark: SparkSession, payloads: list[bytes]) -> DataFrame:
    return landing_bronze(spark, payloads, INGEST)


def _line(event: dict[str, Any]) -> bytes:
    return json.dumps(event).encode()


def test_parse_types_normalizes_and_rescues_unknown_fields(spark: SparkSession) -> None:
    payload = _line(_event(app_version="1.2.3", experiment={"arm": "b"}))
    parsed = _bronze(spark, [payload]).transform(parse_events(EVENTS, RULES))
    actual = parsed.select(
        "event_id",
        "event_type",
        "event_ts",
        "event_date",
        "country",
        "currency",
        "amount",
        "properties",
        "schema_version",
        "rescued_data",
        REASONS_COL,
    )
    expected = spark.createDataFrame(
        [
            (
                "e1",
                "purchase",
                datetime(2026, 11, 23, 11, 59, 0, 250000),
                date(2026, 11, 23),
                "DE",
                "EUR",
                Decimal("12.50"),
                {"sku": "SKU-1", "quantity": "2"},
                1,
                {"app_version": "1.2.3", "experiment": '{"arm":"b"}'},
                [],
            )
        ],
        "event_id string, event_type string, event_ts timestamp, event_date date, "
        "country string, currency string, amount decimal(18,2), "
        "properties map<string,string>, schema_version int, "
        "rescued_data map<string,string>, _reasons array<string>",
    )
    assert_df_equality(actual, expected, ignore_nullable=True)


def test_every_refusal_has_its_reason(spark: SparkSession) -> None:
    cases = [
        (_line(_event()), []),
        (b"", ["empty_payload"]),
        (b'{"event_id": "e1", "event_type": "cl', ["malformed_json"]),
        (b"[1, 2, 3]", ["malformed_json"]),
        (b"null", ["malformed_json"]),
        (b'"e1"', ["malformed_json"]),
        (b'{"event_id": "e1",}', ["malformed_json"]),
        (_line(_event(device="web\u0001")).replace(b"\\u0001", b"\x01"), ["malformed_json"]),
        (_line(_event(properties={"q": "cafX"})).replace(b"cafX", b"caf\xe9"), ["invalid_utf8"]),
        (_line(_event(user_id=None)), ["missing_field:user_id"]),
        (_line(_event(event_id="  ")), ["missing_field:event_id"]),
        (_line(_event(amount="twelve")), ["invalid_type:amount"]),
        (_line(_event(event_ts="23/11/2026")), ["invalid_type:event_ts"]),
        (_line(_event(properties="not an object")), ["invalid_type:properties"]),
        (_line(_event(schema_version=2)), ["unsupported_schema_version:2"]),
        # type confusion: a JSON object or array where the contract says string
        (_line(_event(user_id={"id": "u1"})), ["invalid_type:user_id"]),
        (_line(_event(event_id=["e1"])), ["invalid_type:event_id"]),
        (_line(_event(currency=[])), ["invalid_type:currency"]),
        (_line(_event(event_ts=1763899140)), ["invalid_type:event_ts"]),
        (_line(_event(schema_version=True)), ["invalid_type:schema_version"]),
        (_line(_event(event_ts="2026-11-23T12:06:00Z")), ["event_ts_in_future"]),
        (_line(_event(event_ts="2026-11-21T11:59:59Z")), ["event_ts_too_old"]),
        (
            b'{"event_id":"a","event_id":"b"}',
            [
                "missing_field:event_type",
                "missing_field:event_ts",
                "missing_field:user_id",
                "missing_field:schema_version",
                "duplicate_key",
            ],
        ),
        (
            _line(_event(user_id=None, amount="x", schema_version="v1")),
            ["missing_field:user_id", "invalid_type:amount", "invalid_type:schema_version"],
        ),
    ]
    parsed = _bronze(spark, [payload for payload, _ in cases]).transform(
        parse_events(EVENTS, RULES)
    )
    actual = parsed.select("_offset", REASONS_COL).orderBy("_offset")
    expected = spark.createDataFrame(
        [(i, reasons) for i, (_, reasons) in enumerate(cases)],
        "_offset long, _reasons array<string>",
    )
    assert_df_equality(actual, expected, ignore_nullable=True)


def test_unknown_fields_are_rescued_whatever_reads_the_payload(spark: SparkSession) -> None:
    """The payload's keys find the unknown fields; a payload JSON reads leniently (NaN) but
    the keys' reader refuses is read as a map all the same, and a field named like the
    corrupt-record column is an unknown field like any other."""
    payloads = [
        _line(_event()),
        _line(_event(app_version="1.2.3")).replace(b'"1.2.3"', b"NaN"),
        _line(_event(_corrupt_record="x")),
        _line(_event(Event_ID="E1")),  # keys are case-sensitive: not event_id
    ]
    parsed = _bronze(spark, payloads).transform(parse_events(EVENTS, RULES))
    actual = parsed.select("_offset", "event_id", "rescued_data", REASONS_COL).orderBy("_offset")
    expected = spark.createDataFrame(
        [
            (0, "e1", None, []),
            (1, "e1", {"app_version": '"NaN"'}, []),
            (2, "e1", {"_corrupt_record": "x"}, []),
            (3, "e1", {"Event_ID": "E1"}, []),
        ],
        "_offset long, event_id string, rescued_data map<string,string>, _reasons array<string>",
    )
    assert_df_equality(actual, expected, ignore_nullable=True)


def test_the_corrupt_record_column_is_named_apart_from_every_field() -> None:
    schema, corrupt = raw_schema(["_corrupt_record", "event_id"])
    assert corrupt == "__corrupt_record"
    assert schema.fieldNames() == ["_corrupt_record", "event_id", "__corrupt_record"]
    assert {f.dataType.simpleString() for f in schema.fields} == {"string"}


def test_the_checks_read_the_typed_columns_instead_of_typing_the_text_again(
    spark: SparkSession,
) -> None:
    parsed = _bronze(spark, [_line(_event())]).transform(parse_events(EVENTS, RULES))
    plan = parsed._jdf.queryExecution().optimizedPlan().toString()
    # event_ts is typed once: its checks (invalid_type, the time rules, event_date) read the
    # column; typed again inside the checks' conditions, it would be there twice or more
    assert plan.count(TIMESTAMP_PATTERN) == 1, plan


def test_timestamp_offsets_and_precision(spark: SparkSession) -> None:
    payloads = [
        _line(_event(event_ts="2026-11-23T13:30:00+02:00")),
        _line(_event(event_ts="2026-11-23T11:00:00.123456Z")),
        _line(_event(event_ts="2026-11-23T11:00:00Z")),
    ]
    parsed = _bronze(spark, payloads).transform(parse_events(EVENTS, RULES))
    actual = parsed.select("_offset", "event_ts").orderBy("_offset")
    expected = spark.createDataFrame(
        [
            (0, datetime(2026, 11, 23, 11, 30)),
            (1, datetime(2026, 11, 23, 11, 0, 0, 123456)),
            (2, datetime(2026, 11, 23, 11, 0)),
        ],
        "_offset long, event_ts timestamp",
    )
    assert_df_equality(actual, expected, ignore_nullable=True)


def test_timestamp_texts_typed_and_refused(spark: SparkSession) -> None:
    # the values try_to_timestamp with yyyy-MM-dd'T'HH:mm:ss[.SSSSSS]XXX gives (the parse
    # until 2026-12-06), checked text by text against the shape test and cast
    cases = [
        ("2026-11-23T13:30:00+02:00", datetime(2026, 11, 23, 11, 30)),
        ("2026-11-23T11:00:00.1Z", datetime(2026, 11, 23, 11, 0, 0, 100000)),
        ("2026-11-23t11:00:00z", datetime(2026, 11, 23, 11, 0)),
        ("2026-11-23T11:00:00-18:00", datetime(2026, 11, 24, 5, 0)),
        ("2024-02-29T00:00:00Z", datetime(2024, 2, 29)),
        ("2026-11-23T11:00:00.1234567Z", None),
        ("2026-11-23 11:00:00Z", None),
        ("2026-11-23T11:00:00", None),
        ("2026-11-23T11:00Z", None),
        ("2026-11-23T11:00:00+0100", None),
        ("2026-11-23T11:00:00+19:00", None),
        ("2026-02-30T11:00:00Z", None),
        ("2026-11-23T24:00:00Z", None),
        (" 2026-11-23T11:00:00Z", None),
        ("2026-11-23T11:00:00.Z", None),
        ("1763899140", None),
    ]
    field = EVENTS.latest.field("event_ts")
    assert field is not None
    texts = spark.createDataFrame([(i, t) for i, (t, _) in enumerate(cases)], "i int, t string")
    actual = texts.select("i", typed_value(field, F.col("t")).alias("ts")).orderBy("i")
    expected = spark.createDataFrame(
        [(i, ts) for i, (_, ts) in enumerate(cases)], "i int, ts timestamp"
    )
    assert_df_equality(actual, expected, ignore_nullable=True)


def _good_rows(spark: SparkSession, rows: list[tuple[str, str, int]]) -> DataFrame:
    payloads = [_line(_event(event_id=event_id)) for event_id, _, _ in rows]
    parsed = _bronze(spark, payloads).transform(parse_events(EVENTS, RULES))
    coords = spark.createDataFrame(
        [(i, part, off) for i, (_, part, off) in enumerate(rows)], "i long, p string, o long"
    )
    return (
        parsed.join(coords, parsed["_offset"] == coords["i"])
        .withColumn("_partition", F.col("p"))
        .withColumn("_offset", F.col("o"))
        .drop("i", "p", "o")
    )


def _classified_by_marks(existing: DataFrame) -> Callable[[DataFrame], DataFrame]:
    """The silver stream's way: rows numbered once (cached), marks, then the marks applied."""

    def transform(good: DataFrame) -> DataFrame:
        numbered = good.withColumn(ROW_COL, F.monotonically_increasing_id()).cache()
        marks = numbered.transform(duplicate_marks(existing, "event_id"))
        return numbered.transform(apply_marks(marks)).drop(ROW_COL)

    return transform


@pytest.mark.parametrize("way", ["window", "marks"])
def test_classify_duplicates_within_batch_and_against_silver(spark: SparkSession, way: str) -> None:
    batch = _good_rows(
        spark,
        [
            ("a", "f2", 0),  # first delivery of a: new
            ("a", "f2", 5),  # second delivery in the same batch: duplicate
            ("b", "f2", 1),  # b is in silver from another delivery: duplicate
            ("c", "f2", 2),  # c is in silver from this very delivery (a retry): promoted
            ("d", "f2", 3),  # new
            ("e", "f2", 7),  # e is in silver twice, from other deliveries: duplicate
            ("e", "f2", 6),  # ... the first of e too (and each row stays one row)
        ],
    )
    existing = spark.createDataFrame(
        [
            ("b", "landing", "f1", 9),
            ("c", "landing", "f2", 2),
            ("e", "landing", "f1", 1),
            ("e", "landing", "f0", 3),
            ("z", "landing", "f1", 4),  # not in the batch
        ],
        "event_id string, _source string, _partition string, _offset long",
    )
    classify = (
        classify_duplicates(existing, "event_id")
        if way == "window"
        else _classified_by_marks(existing)
    )
    actual = (
        batch.transform(classify)
        .select("event_id", "_offset", DEDUP_COL, REASONS_COL)
        .orderBy("event_id", "_offset")
    )
    expected = spark.createDataFrame(
        [
            ("a", 0, "new", []),
            ("a", 5, "duplicate", ["duplicate_event_id"]),
            ("b", 1, "duplicate", ["duplicate_event_id"]),
            ("c", 2, "promoted", []),
            ("d", 3, "new", []),
            ("e", 6, "duplicate", ["duplicate_event_id"]),
            ("e", 7, "duplicate", ["duplicate_event_id"]),
        ],
        "event_id string, _offset long, _dedup string, _reasons array<string>",
    )
    assert_df_equality(actual, expected, ignore_nullable=True)


def test_silver_and_quarantine_rows_have_the_table_schemas(spark: SparkSession) -> None:
    payloads = [_line(_event()), b"nope"]
    parsed = _bronze(spark, payloads).transform(parse_events(EVENTS, RULES))
    good = parsed.where(F.size(REASONS_COL) == 0).transform(
        to_silver(SILVER_EVENTS, "silver:q1", 3, INGEST)
    )
    bad = parsed.where(F.size(REASONS_COL) > 0).transform(
        to_quarantine(EVENTS, QUARANTINE_SILVER_EVENTS, "silver:q1", 3, INGEST)
    )
    assert good.schema.simpleString() == SILVER_EVENTS.schema.simpleString()
    assert bad.schema.fieldNames() == QUARANTINE_SILVER_EVENTS.schema.fieldNames()
    expected_bad = spark.createDataFrame(
        [
            (
                "landing",
                "f1",
                1,
                b"nope",
                None,
                None,
                "malformed_json",
                ["malformed_json"],
                "silver:q1",
                3,
            )
        ],
        "_source string, _partition string, _offset long, payload binary, event_id string, "
        "user_id string, reason string, reasons array<string>, _writer_id string, "
        "_batch_id long",
    )
    assert_df_equality(
        bad.drop("_ingest_ts", "quarantine_ts", "quarantine_date"),
        expected_bad,
        ignore_nullable=True,
    )


def test_control_characters_removed_from_codes_are_counted_per_field(
    spark: SparkSession,
) -> None:
    """What normalization removes is counted per code field (the silver metrics' input),
    whether the row then passes or not; a plain value counts 0."""
    payloads = [
        _line(_event(country="\u0000\u0007de", currency="e\u200bur")),
        _line(_event(event_id="e2", country="\u001bZZ")),
        _line(_event(event_id="e3")),
    ]
    parsed = _bronze(spark, payloads).transform(parse_events(EVENTS, RULES))
    codes = code_fields(EVENTS)
    assert "country" in codes and "currency" in codes
    rows, _, removed, ranges = batch_summary(
        parsed,
        "_source",
        "_partition",
        "_offset",
        sums={c: F.col(INVISIBLE_COL)[c] for c in codes},
        bounds={"offset": F.col("_offset"), "none": F.lit(None).cast("long")},
    )
    assert rows == 3
    assert removed == {c: {"country": 3, "currency": 1}.get(c, 0) for c in codes}
    assert ranges == {"offset": (0, 2), "none": (None, None)}
