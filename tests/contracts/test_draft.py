"""The key fields of a draft, placeholders when the sample lacks them, and the draft suite."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from lakehouse.contracts.draft import _nice, build_draft, draft_suite
from lakehouse.contracts.profile import profile_lines


def _lines(*records: dict[str, Any]) -> list[bytes]:
    return [json.dumps(r).encode() for r in records]


def _record(n: int, **extra: Any) -> dict[str, Any]:
    return {
        "order_id": f"o{n}",
        "line_id": f"l{n}",
        "created_at": "2026-11-01T08:00:00Z",
        "event_ts": "2026-11-01T08:00:01Z",
        "user_id": f"u{n % 3}",
        "session_id": f"s{n}",
        "schema_version": 2,
        "amount": 10.5 + n,
        **extra,
    }


def test_key_fields_are_chosen_by_name_uniqueness_and_type() -> None:
    draft = build_draft("orders", profile_lines(_lines(*(_record(n) for n in range(5)))))
    assert draft.id_field == "order_id"  # <name>_id before other unique ids
    assert draft.event_time_field == "event_ts"  # "event" in the name first
    assert (draft.version_field, draft.schema_version) == ("schema_version", 2)
    assert draft.subject_field == "user_id"  # a user before a session
    assert draft.field("order_id").primary_key
    assert not draft.field("line_id").primary_key
    assert any("created_at" in item for item in draft.checklist)


def test_a_sample_without_key_fields_gets_placeholders_to_review() -> None:
    draft = build_draft("things", profile_lines(_lines({"event_id": 1.5, "color": "red"})))
    assert (draft.id_field, draft.event_time_field, draft.version_field) == (
        "event_id_2",
        "event_ts",
        "schema_version",
    )
    for name in ("event_id_2", "event_ts", "schema_version"):
        f = draft.field(name)
        assert f.required and f.profile == "not in the sample"
        assert any(item.startswith(f"{name}: the ") for item in draft.checklist)
    assert draft.subject_field is None


def test_key_fields_missing_in_some_records_are_made_required_with_a_note() -> None:
    records = [_record(n) for n in range(60)]
    del records[3]["user_id"]
    records[4]["order_id"] = records[5]["order_id"]  # a duplicate: still the id (59 of 60 distinct)
    draft = build_draft("orders", profile_lines(_lines(*records)))
    assert draft.id_field == "order_id"
    assert draft.field("order_id").duplicates == 1
    user = draft.field("user_id")
    assert draft.subject_field == "user_id" and user.required
    assert any("missing (or blank) in 1 record(s)" in item for item in draft.checklist)


def test_a_subject_missing_in_many_records_is_not_chosen() -> None:
    records = [_record(n) for n in range(10)]
    for r in records[:5]:
        del r["user_id"], r["session_id"]
    draft = build_draft("orders", profile_lines(_lines(*records)))
    assert draft.subject_field is None
    assert any(item.startswith("no subjectField") for item in draft.checklist)


def test_other_version_values_are_named_in_the_checklist() -> None:
    records = [_record(n, schema_version=1 + n % 2) for n in range(4)]
    draft = build_draft("orders", profile_lines(_lines(*records)))
    assert draft.schema_version == 2
    assert any("values 1 to 2" in item for item in draft.checklist)


def test_the_suite_checks_required_unique_allowed_and_ranges() -> None:
    records = [_record(n, status=["new", "paid"][n % 2], count=n) for n in range(60)]
    draft = build_draft("orders", profile_lines(_lines(*records)))
    suite = draft_suite(draft)
    assert suite["name"] == "orders_bronze_to_silver"
    found = {(e["type"], e["kwargs"].get("column")): e for e in suite["expectations"]}
    not_null = {c for t, c in found if t == "expect_column_values_to_not_be_null"}
    assert not_null == {f.name for f in draft.fields if f.required}
    assert found["expect_column_values_to_not_be_null", "order_id"]["severity"] == "critical"
    assert found["expect_column_values_to_be_unique", "order_id"]["severity"] == "warning"
    in_set = found["expect_column_values_to_be_in_set", "status"]
    assert in_set["kwargs"]["value_set"] == ["new", "paid"] and in_set["severity"] == "warning"
    amount = found["expect_column_values_to_be_between", "amount"]["kwargs"]
    assert (amount["min_value"], amount["max_value"]) == (0.0, 200.0)  # max 69.5, twice: 139
    count = found["expect_column_values_to_be_between", "count"]["kwargs"]
    assert (count["min_value"], count["max_value"]) == (0, 200)
    assert ("expect_column_values_to_be_between", "schema_version") not in found
    columns = {e["kwargs"].get("column") for e in suite["expectations"]}
    assert columns <= {f.name for f in draft.fields}


def test_nice_bounds() -> None:
    assert [_nice(Decimal(v)) for v in ("139", "0.3", "1000", "1001", "0")] == [
        Decimal(200),
        Decimal("0.5"),
        Decimal(1000),
        Decimal(2000),
        Decimal(0),
    ]
