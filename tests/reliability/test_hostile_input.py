"""Hostile input, generated property-based (hypothesis): invalid UTF-8, deeply nested and
huge payloads, NaN and infinite numbers, timestamps far in the past or future, type
confusion, SQL-looking and control-character strings, duplicate JSON keys, missing envelope
fields. Many drawn lines go into one landing file per example, which runs through bronze,
silver and gold: nothing crashes, every line is in bronze, every hostile line is in
quarantine with its reason, none reaches silver or gold, and well-formed events carrying
odd strings reach silver unchanged."""

from __future__ import annotations

import json
import os
import tempfile
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from lakehouse.demo import run_layers
from tests.conftest import make_config, register_lake
from tests.reliability.helpers import account, assert_gold_equals_recomputation

pytestmark = [pytest.mark.reliability, pytest.mark.slow]

EXAMPLES = int(os.environ.get("LAKEHOUSE_TEST_HOSTILE_EXAMPLES", "2"))
LINES_PER_EXAMPLE = 200
TRIED: list[int] = []  # lines tried per example, printed at the end
UNKNOWN_EVENT_TYPE = "invalid_value:event_type"  # not one of the contract's allowed values
REQUIRED = ("event_id", "event_type", "event_ts", "user_id", "schema_version")


def _now_ts() -> str:
    return (datetime.now(UTC) - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _event(**changes: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "event_id": str(uuid.uuid4()),
        "event_type": "purchase",
        "event_ts": _now_ts(),
        "user_id": "u-1",
        "session_id": "s-1",
        "country": "DE",
        "amount": 3.5,
        "currency": "EUR",
        "properties": {"sku": "SKU-1", "quantity": 1},
        "schema_version": 1,
    }
    event.update(changes)
    return event


def _dump(event: dict[str, Any]) -> bytes:
    return json.dumps(event, allow_nan=True).encode()


# Each strategy draws (line, reasons the first reason may be); None = must reach silver.
Case = tuple[bytes, frozenset[str] | None]


def _one(reason: str) -> frozenset[str]:
    return frozenset({reason})


_INVALID_UTF8 = st.sampled_from(
    [b"\xff", b"\xc3\x28", b"\xa0\xa1", b"\xe2\x28\xa1", b"\xf0\x28\x8c\x28", b"\xed\xa0\x80"]
)
_SQL = st.sampled_from(
    [
        "'; DROP TABLE silver.events; --",
        "1 OR 1=1",
        '" OR ""="',
        "`; DELETE FROM bronze.events WHERE true; --",
        "${jndi:ldap://x/a}",
        "\\'); SELECT * FROM ops.erasure_requests; --",
    ]
)
_CONTROL = st.text(
    alphabet=st.characters(min_codepoint=0, max_codepoint=31, exclude_characters="\n\r"),
    min_size=1,
    max_size=5,
)
_ODD_TEXT = (
    st.text(alphabet=st.characters(blacklist_categories=["Cs"]), min_size=0, max_size=40) | _SQL
)


@st.composite
def invalid_utf8(draw: st.DrawFn) -> Case:
    field = draw(st.sampled_from(["user_id", "event_type", "country", "session_id"]))
    marker = "MARK" + uuid.uuid4().hex[:8]
    line = _dump(_event(**{field: marker})).replace(marker.encode(), b"x" + draw(_INVALID_UTF8))
    return line, _one("invalid_utf8")


@st.composite
def deeply_nested(draw: st.DrawFn) -> Case:
    depth = draw(st.integers(1_100, 20_000))
    opener, closer = draw(st.sampled_from([("[", "]"), ('{"a":', "}")]))
    inner = opener * depth + ("1" if opener != "[" else "") + closer * depth
    if draw(st.booleans()):
        return inner.encode(), _one("malformed_json")
    line = _dump(_event(nested="NESTED")).replace(b'"NESTED"', inner.encode())
    return line, _one("malformed_json")


@st.composite
def huge(draw: st.DrawFn) -> Case:
    size = draw(st.integers(1_000_000, 3_000_000))
    kind = draw(st.sampled_from(["event_ts", "amount", "number"]))
    if kind == "number":  # a number too long for the JSON parser
        line = _dump(_event(amount="NUM")).replace(b'"NUM"', b"9" * size)
        return line, _one("malformed_json")
    line = _dump(_event(**{kind: "7" * size}))
    return line, _one(f"invalid_type:{kind}")


@st.composite
def non_finite(draw: st.DrawFn) -> Case:
    value = draw(st.sampled_from([b"NaN", b"Infinity", b"-Infinity", b"1e309", b"-1e400"]))
    line = _dump(_event(amount="NUM")).replace(b'"NUM"', value)
    return line, frozenset({"invalid_type:amount", "malformed_json"})


@st.composite
def far_timestamp(draw: st.DrawFn) -> Case:
    year = draw(st.sampled_from([1, 1000, 1900, 1970, 2000, 2999, 5000, 9999]))
    ts = draw(st.sampled_from([f"{year:04d}-01-01T00:00:00Z", f"{year:04d}-12-31T23:59:59.999Z"]))
    if draw(st.booleans()):
        ts = draw(st.sampled_from(["+10000-01-01T00:00:00Z", "-0001-01-01T00:00:00Z"]))
    return _dump(_event(event_ts=ts)), frozenset(
        {"event_ts_too_old", "event_ts_in_future", "invalid_type:event_ts"}
    )


@st.composite
def type_confusion(draw: st.DrawFn) -> Case:
    field, value, reason = draw(
        st.sampled_from(
            [
                ("user_id", {"id": "u-1"}, "invalid_type:user_id"),
                ("event_id", ["e-1"], "invalid_type:event_id"),
                ("event_ts", 1_763_900_000, "invalid_type:event_ts"),
                ("event_ts", True, "invalid_type:event_ts"),
                ("amount", {"value": 3}, "invalid_type:amount"),
                ("amount", "three", "invalid_type:amount"),
                ("schema_version", "one", "invalid_type:schema_version"),
                ("schema_version", [1], "invalid_type:schema_version"),
                ("properties", "sku=1", "invalid_type:properties"),
                ("properties", [1, 2], "invalid_type:properties"),
                ("currency", {"code": "EUR"}, "invalid_type:currency"),
            ]
        )
    )
    return _dump(_event(**{field: value})), _one(reason)


@st.composite
def sql_or_control(draw: st.DrawFn) -> Case:
    if draw(st.booleans()):  # unescaped control characters inside a JSON string
        raw = draw(_CONTROL).encode()
        line = _dump(_event(session_id="CTRL")).replace(b'"CTRL"', b'"a' + raw + b'b"')
        return line, _one("malformed_json")
    # SQL-looking or escaped control characters as an event type: not an allowed value
    value = draw(_SQL | _CONTROL)
    return _dump(_event(event_type=value)), _one(UNKNOWN_EVENT_TYPE)


@st.composite
def duplicate_keys(draw: st.DrawFn) -> Case:
    """A valid event with one key given twice (both values valid): ambiguous, refused."""
    field, value = draw(
        st.sampled_from(
            [
                ("event_id", str(uuid.uuid4())),
                ("user_id", "u-2"),
                ("amount", 4.5),
                ("event_type", "click"),
                ("country", "PL"),
            ]
        )
    )
    line = _dump(_event())
    duplicate = json.dumps({field: value})[1:-1].encode()
    return line[:-1] + b", " + duplicate + b"}", _one("duplicate_key")


@st.composite
def missing_fields(draw: st.DrawFn) -> Case:
    gone = draw(st.lists(st.sampled_from(REQUIRED), min_size=1, max_size=3, unique=True))
    event = {k: v for k, v in _event().items() if k not in gone}
    first = next(f for f in REQUIRED if f in gone)
    if draw(st.booleans()):
        event.update({f: draw(st.sampled_from(["", "   "])) for f in gone})
    return _dump(event), _one(f"missing_field:{first}")


@st.composite
def junk(draw: st.DrawFn) -> Case:
    line = draw(st.binary(min_size=0, max_size=60)).replace(b"\n", b"").replace(b"\r", b"")
    return line, None  # anything: it must be quarantined (checked below), reason not fixed


@st.composite
def odd_but_valid(draw: st.DrawFn) -> Case:
    """A well-formed event whose free text is SQL-looking or odd unicode: it is data, and
    reaches silver unchanged."""
    return _dump(_event(properties={"page": draw(_ODD_TEXT), "sku": "S"})), frozenset()


HOSTILE = st.one_of(
    invalid_utf8(),
    deeply_nested(),
    non_finite(),
    far_timestamp(),
    type_confusion(),
    sql_or_control(),
    duplicate_keys(),
    missing_fields(),
    junk(),
    odd_but_valid(),
)
CASES = st.tuples(
    st.lists(HOSTILE, min_size=LINES_PER_EXAMPLE, max_size=LINES_PER_EXAMPLE),
    st.lists(huge(), min_size=1, max_size=3),
)


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    phases=[Phase.generate],
    suppress_health_check=list(HealthCheck),
)
@given(drawn=CASES)
def test_hostile_lines_are_quarantined_with_a_reason_and_never_promoted(
    spark: SparkSession, drawn: tuple[list[Case], list[Case]]
) -> None:
    cases = drawn[0] + drawn[1]
    with tempfile.TemporaryDirectory(prefix="hostile-") as folder:
        root = Path(folder)
        config = make_config(root)
        register_lake(spark, config)
        landing = root / "landing" / "events"
        landing.mkdir(parents=True)
        # two files, so a batch holds several; lines are written byte for byte
        half = len(cases) // 2
        files = []
        for n, part in enumerate((cases[:half], cases[half:])):
            file = landing / f"hostile-{n}.jsonl"
            file.write_bytes(b"\n".join(line for line, _ in part) + b"\n")
            files.append((file, part))
        run_layers(spark, config)  # raises StreamFailed if any stream fails
        TRIED.append(len(cases))
        _check(spark, config.lake.root, files)


def _check(spark: SparkSession, lake: str, files: list[tuple[Path, list[Case]]]) -> None:
    accounting = account(spark, lake)
    expected_rows = sum(len(part) for _, part in files)
    assert sum(accounting.bronze.values()) == expected_rows, "a line is missing from bronze"
    accounting.assert_exactly_once()

    quarantine = spark.read.format("delta").load(f"{lake}/quarantine/silver_events")
    refused = {
        (r["_partition"], r["_offset"]): (r["reason"], r["reasons"], bytes(r["payload"]))
        for r in quarantine.collect()
    }
    silver = spark.read.format("delta").load(f"{lake}/silver/events")
    promoted = {
        (r["_partition"], r["_offset"]): r["page"]
        for r in silver.select(
            "_partition", "_offset", F.col("properties")["page"].alias("page")
        ).collect()
    }
    partitions = {Path(p.removeprefix("file:")).name: p for p, _ in promoted | refused}
    for file, part in files:
        partition = partitions.get(file.name)
        assert partition is not None, f"nothing of {file.name} came through"
        for offset, (line, reasons) in enumerate(part):
            key = (partition, offset)
            if reasons == frozenset():  # odd but valid: in silver, the text unchanged
                assert key in promoted, f"valid line refused: {refused.get(key)} {line[:200]!r}"
                assert promoted[key] == json.loads(line)["properties"]["page"]
                continue
            assert key not in promoted, f"hostile line promoted: {line[:200]!r}"
            assert key in refused, f"hostile line lost: {line[:200]!r}"
            reason, all_reasons, payload = refused[key]
            assert payload == line, "the quarantined payload is not the raw line"
            assert reason and all_reasons and reason == all_reasons[0]
            if reasons is not None:
                assert reason in reasons, f"{reason} not in {sorted(reasons)}: {line[:200]!r}"
    assert_gold_equals_recomputation(spark, lake)


def teardown_module() -> None:
    print(f"\nhostile input: {sum(TRIED)} lines tried in {len(TRIED)} runs, rows lost: 0")
