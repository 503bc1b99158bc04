from __future__ import annotations

import hashlib
import hmac

import pytest
from chispa import assert_df_equality
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from lakehouse.errors import ConfigError
from lakehouse.privacy.pseudonymize import (
    hmac_sha256,
    minimize,
    pseudonym,
    subject_hash,
    subject_hash_column,
    truncate_ip,
)
from tests.conftest import TEST_KEY
from tests.events import SILVER_EVENTS

KEY = TEST_KEY.encode()
LONG_KEY = b"k" * 100  # longer than a SHA-256 block: HMAC hashes it first


def _hmac(key: bytes, text: str) -> str:
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()


@pytest.mark.parametrize("key", [KEY, LONG_KEY], ids=["short", "long"])
def test_hmac_in_spark_equals_pythons_hmac(spark: SparkSession, key: bytes) -> None:
    values = ["usr_00000000ab", "", "ü-ñ 雪", "x" * 300, None]
    df = spark.createDataFrame([(v,) for v in values], "v string")
    actual = df.select("v", hmac_sha256(key, F.col("v")).alias("h"))
    expected = spark.createDataFrame(
        [(v, None if v is None else _hmac(key, v)) for v in values], "v string, h string"
    )
    assert_df_equality(actual, expected, ignore_nullable=True)
    assert pseudonym(key, " usr_00000000ab ") == _hmac(key, "usr_00000000ab")


def test_a_short_key_is_refused() -> None:
    with pytest.raises(ConfigError, match="at least 32"):
        hmac_sha256(b"short", F.col("v"))


def test_subject_hash_is_sha256_of_the_pseudonym(spark: SparkSession) -> None:
    p = pseudonym(KEY, "u1")
    assert subject_hash(KEY, "u1") == hashlib.sha256(p.encode()).hexdigest()
    row = spark.createDataFrame([(p,)], "p string").select(subject_hash_column(F.col("p"))).first()
    assert row is not None and row[0] == subject_hash(KEY, "u1")


def test_truncate_ip(spark: SparkSession) -> None:
    cases = [
        ("198.51.100.7", "198.51.100.0"),
        (" 10.0.0.255 ", "10.0.0.0"),
        ("2001:db8:85a3:8d3:1319:8a2e:370:7348", "2001:db8:85a3::"),
        ("2001:DB8::1", "2001:db8:0::"),
        ("2001:db8:1:2::", "2001:db8:1::"),
        ("::1", "0:0:0::"),
        ("::ffff:192.0.2.1", "0:0:0::"),
        ("not an ip", None),
        ("1.2.3", None),
        (None, None),
    ]
    df = spark.createDataFrame(cases, "ip string, expected string")
    actual = df.select("ip", truncate_ip(F.col("ip")).alias("expected"))
    assert_df_equality(actual, df, ignore_nullable=True)


def test_silver_minimization_rules(spark: SparkSession) -> None:
    schema = (
        "user_id string, session_id string, ip string, properties map<string,string>, "
        "rescued_data map<string,string>, device string"
    )
    rows = [
        (
            "usr_1",
            "ses_1",
            "203.0.113.9",
            {"page": "/search", "query": "my name is ana", "sku": "S1", "Email": "a@x.io"},
            {"app_version": "1.2", "email": "a@x.io", "query": "tent"},
            "web",
        ),
        (" usr_1 ", None, None, {"query": "tent"}, {"email": "b@x.io"}, "ios"),
    ]
    df = spark.createDataFrame(rows, schema)
    actual = df.transform(minimize(SILVER_EVENTS.policy.minimization, KEY))
    expected = spark.createDataFrame(
        [
            (
                _hmac(KEY, "usr_1"),
                _hmac(KEY, "ses_1"),
                "203.0.113.0",
                {"page": "/search", "sku": "S1"},
                {"app_version": "1.2"},
                "web",
            ),
            (_hmac(KEY, "usr_1"), None, None, None, None, "ios"),
        ],
        schema,
    )
    assert_df_equality(actual, expected, ignore_nullable=True)
