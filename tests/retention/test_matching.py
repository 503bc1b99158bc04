"""Finding a subject's rows every way its id can be held, on built frames."""

from __future__ import annotations

from datetime import UTC, datetime

from chispa import assert_df_equality
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from lakehouse.privacy.pseudonymize import pseudonym, subject_hash
from lakehouse.retention.matching import find_subjects, ways_of
from tests.conftest import TEST_KEY
from tests.events import BRONZE_EVENTS, SILVER_EVENTS

KEY = TEST_KEY.encode()
TS = datetime(2026, 11, 30, 12, tzinfo=UTC)
SUBJECT, PREFIXED = "u1", "u10"


def _bronze(
    offset: int, payload: bytes | None, key: bytes | None = None, **attrs: str
) -> dict[str, object]:
    return {
        "source": "kafka",
        "partition": "events/0",
        "offset": offset,
        "key": key,
        "payload": payload,
        "attributes": attrs or None,
        "publish_ts": TS,
        "source_event_ts": TS,
        "ingest_ts": TS,
        "ingest_date": TS.date(),
        "batch_id": 0,
    }


def _requests(spark: SparkSession) -> DataFrame:
    return spark.createDataFrame(
        [("r1", subject_hash(KEY, SUBJECT))], "request_id string, subject_hash string"
    )


def test_bronze_rows_are_found_every_way_and_a_longer_id_is_not(spark: SparkSession) -> None:
    rows = [
        _bronze(0, b'{"user_id": "u1", "amount": 1}'),  # good
        _bronze(1, b'{"user_id": "u1", "amount": Infinity}'),  # lenient only
        _bronze(2, b'{"user_id": "u1", "amount": '),  # malformed JSON
        _bronze(3, b'\xff\xfe{"user_id":"u1"}\xc3'),  # invalid UTF-8 around it
        _bronze(4, b'{"user": {"profile": {"id": "u1"}}, "tags": ["x", "u1"]}'),  # nested
        _bronze(5, b'{"user_id": "u\\u0031"}'),  # escaped
        _bronze(6, b"not json", key=b"u1"),  # the Kafka key
        _bronze(7, b"{}", uid="u1"),  # a header
        _bronze(8, b'{"user_id": "u10", "note": "u1x", "n": "au1"}'),  # a longer id: no
        _bronze(9, b'{"user_id": " u10 ", "k": "u1 0"}', key=b"u10"),  # no
        _bronze(10, None),
    ]
    bronze = spark.createDataFrame(rows, BRONZE_EVENTS.schema)
    found = find_subjects(bronze, BRONZE_EVENTS, KEY, _requests(spark))
    expected = spark.createDataFrame(
        [
            (0, "parse"),
            (0, "payload"),
            (1, "parse"),
            (1, "payload"),
            (2, "payload"),
            (3, "payload"),
            (4, "payload"),
            (5, "parse"),
            (5, "payload"),
            (6, "key"),
            (7, "fields"),
        ],
        "offset long, way string",
    )
    assert_df_equality(
        found.select("offset", "way").where(F.col("request_id") == "r1"),
        expected,
        ignore_row_order=True,
        ignore_nullable=True,
    )
    assert ways_of(BRONZE_EVENTS) == ("key", "parse", "payload", "fields")


def test_silver_rows_are_found_by_pseudonym_and_rescued_fields(spark: SparkSession) -> None:
    def row(offset: int, user: str, rescued: dict[str, str] | None) -> dict[str, object]:
        return {
            "event_id": f"e{offset}",
            "event_type": "page_view",
            "event_ts": TS,
            "event_date": TS.date(),
            "user_id": pseudonym(KEY, user),
            "schema_version": 1,
            "rescued_data": rescued,
            "_source": "kafka",
            "_partition": "events/0",
            "_offset": offset,
            "_ingest_ts": TS,
            "_processed_ts": TS,
            "_writer_id": "w",
            "_batch_id": 0,
        }

    silver = spark.createDataFrame(
        [
            row(0, SUBJECT, None),
            row(1, "u2", {"profile": '{"uid":"u1"}'}),
            row(2, "u2", {"profile": '{"uid":"u10"}'}),
        ],
        SILVER_EVENTS.schema,
    )
    found = find_subjects(silver, SILVER_EVENTS, KEY, _requests(spark))
    expected = spark.createDataFrame(
        [(0, "pseudonym", "r1"), (1, "fields", "r1")],
        "_offset long, way string, request_id string",
    )
    assert_df_equality(
        found.select("_offset", "way", "request_id"),
        expected,
        ignore_row_order=True,
        ignore_nullable=True,
    )
