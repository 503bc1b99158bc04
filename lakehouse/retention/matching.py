"""Which rows of a table belong to an erasure request's subject, found every way a subject's
id can be held, as pure DataFrame transforms.

A request keeps only ``subject_hash`` = SHA-256 of the subject's pseudonym, so a row is the
subject's when one of its candidate values, pseudonymized and hashed, equals it; the raw id
is never a literal of a query nor written anywhere. The ways (``WAYS``), each counted by the
audit:

- ``pseudonym``: a column holding the pseudonym (silver's ``user_id``; on a raw-payload
  table, every string column classified ``pii_pseudonymous``, e.g. quarantine's ``user_id``);
- ``key``: the source message key (Kafka's), as the raw id;
- ``parse``: the payload's ``user_id`` read by the lenient parse silver uses (``from_json``
  to a string map: it reads ``Infinity``, duplicate keys, numbers as ids) and by JSONPath;
- ``payload``: every JSON string in the raw payload bytes, wherever it sits (malformed JSON,
  invalid UTF-8 around it, nested objects, arrays, unknown fields): each run of characters
  between two consecutive double quotes, whole (so ``u1`` never matches ``"u10"``), and its
  JSON-unescaped form (``"u\\u0031"``); which quote pairs with which does not matter;
- ``fields``: the values of string maps with personal data (Kafka headers or Pub/Sub Lite
  attributes, silver's rescued fields and properties), whole and as JSON strings;
- ``lineage``: rows derived from a bronze row the subject was found in (same coordinates),
  e.g. a quarantined delivery whose payload does not name the subject but whose key did.

Invalid UTF-8 is decoded with replacement characters; the ASCII around it is kept, so an id
next to broken bytes is still found (an id whose own bytes are broken is another id).
"""

from __future__ import annotations

from collections.abc import Sequence

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import MapType, StringType

from lakehouse.ops import TableDef
from lakehouse.policy import NONE, PII_PSEUDONYMOUS
from lakehouse.privacy.pseudonymize import hmac_sha256, subject_hash_column

__all__ = ["WAYS", "find_subjects", "json_strings", "ways_of"]

WAYS = ("pseudonym", "key", "parse", "payload", "fields", "lineage")
_WAY, _RAW, _HASH = "_way", "_raw", "_hash"


def json_strings(text: Column) -> Column:
    """Every run of characters between two consecutive double quotes of ``text`` (an array;
    empty without two quotes, null for null)."""
    parts = F.split(text, '"')
    return F.slice(parts, 2, F.greatest(F.size(parts) - 2, F.lit(0)))


def _unescaped(value: Column) -> Column:
    """The JSON-unescaped form of a string's content (null when it is not valid JSON)."""
    parsed = F.from_json(F.concat(F.lit('["'), value, F.lit('"]')), "array<string>")
    return F.when(value.contains("\\"), F.get(parsed, 0))


def _string_maps(table: TableDef) -> list[str]:
    return [
        f.name
        for f in table.schema.fields
        if isinstance(f.dataType, MapType)
        and isinstance(f.dataType.valueType, StringType)
        and table.policy.columns.get(f.name, NONE) != NONE
    ]


def _pseudonym_columns(table: TableDef) -> list[str]:
    subject = table.policy.subject
    assert subject is not None
    if subject.kind == "pseudonym":
        return [subject.column]
    return [
        f.name
        for f in table.schema.fields
        if isinstance(f.dataType, StringType)
        and table.policy.columns.get(f.name) == PII_PSEUDONYMOUS
    ]


def _raw_ways(table: TableDef) -> list[tuple[str, Column]]:
    """(way, array of raw candidate strings) of a row."""
    subject = table.policy.subject
    assert subject is not None
    ways: list[tuple[str, Column]] = []
    if subject.kind == "payload":
        text = F.col(subject.column).cast("string")
        field = subject.payload_field
        assert field is not None  # a payload subject names it (Subject checks)
        lenient = F.from_json(text, "map<string,string>")[field]
        ways.append(("parse", F.array(lenient, F.get_json_object(text, f"$.{field}"))))
        ways.append(("payload", json_strings(text)))
    if subject.key_column is not None:
        ways.append(("key", F.array(F.col(subject.key_column).cast("string"))))
    for name in _string_maps(table):
        values = F.coalesce(F.map_values(F.col(name)), F.array().cast("array<string>"))
        ways.append(("fields", F.concat(values, F.flatten(F.transform(values, json_strings)))))
    return ways


def ways_of(table: TableDef) -> tuple[str, ...]:
    """The ways :func:`find_subjects` looks for a subject in ``table`` (lineage aside)."""
    raw = tuple(way for way, _ in _raw_ways(table))
    return tuple(w for w in WAYS if w in raw or (w == "pseudonym" and _pseudonym_columns(table)))


def find_subjects(rows: DataFrame, table: TableDef, key: bytes, requests: DataFrame) -> DataFrame:
    """Row keys of ``rows`` (a table's rows) that belong to a subject of ``requests``
    (``request_id``, ``subject_hash``), with ``way``: one row per key, request and way.

    One pass over the rows: every candidate value is hashed where it is (a shuffle of every
    value to hash each distinct one once costs more than the hashing) and joined with the
    broadcast requests; only the matches are shuffled, to remove repeats."""
    subject = table.policy.subject
    assert subject is not None
    row_key: Sequence[str] = subject.row_key
    entries = [
        F.struct(F.lit(way).alias(_WAY), F.lit(False).alias("_p"), values.alias("v"))
        for way, values in _raw_ways(table)
    ] + [
        F.struct(
            F.lit("pseudonym").alias(_WAY), F.lit(True).alias("_p"), F.array(F.col(c)).alias("v")
        )
        for c in _pseudonym_columns(table)
    ]
    values = (
        rows.select(*row_key, F.explode(F.array(*entries)).alias("_w"))
        .select(*row_key, "_w._way", "_w._p", F.explode("_w.v").alias(_RAW))
        .where(F.col(_RAW).isNotNull() & (F.trim(F.col(_RAW)) != ""))
    )
    raw, is_pseudonym = F.col(_RAW), F.col("_p")
    # a raw value is tried as it is and JSON-unescaped; a pseudonym as it is
    forms = values.select(
        *row_key,
        _WAY,
        "_p",
        F.explode(
            F.when(is_pseudonym, F.array(raw)).otherwise(F.array(raw, _unescaped(raw)))
        ).alias("_f"),
    ).where(F.col("_f").isNotNull())
    value = F.col("_f")
    hashed = forms.select(
        *row_key,
        _WAY,
        F.when(is_pseudonym, subject_hash_column(value))
        .otherwise(subject_hash_column(hmac_sha256(key, F.trim(value))))
        .alias(_HASH),
    )
    wanted = F.broadcast(requests.select("request_id", F.col("subject_hash").alias(_HASH)))
    found = hashed.join(wanted, _HASH).select(*row_key, _WAY, "request_id").distinct()
    return found.withColumnRenamed(_WAY, "way")
