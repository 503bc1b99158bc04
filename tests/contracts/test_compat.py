"""compat.compare and compat.judge, table-driven: each row changes one thing of the orders
contract (nested, decimals, an enum, a gold table) and names every change it must find, in
both directions where the direction matters."""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field as dc_field
from typing import Any

import pytest
import yaml

from lakehouse.contracts.compat import BREAKING, COMPATIBLE, compare, judge
from lakehouse.contracts.load import parse_contract
from lakehouse.contracts.model import Dataset
from tests.contracts.edits import (
    DATASETS,
    Edit,
    add_field,
    prop,
    remove_field,
    schema_v2,
    set_custom,
    sla_retention,
    top,
)

B, C = BREAKING, COMPATIBLE
FILE = DATASETS / "orders" / "contract.yaml"
BASE: dict[str, Any] = yaml.safe_load(FILE.read_text())
V1 = "schema v1 field "

DatasetEdit = Callable[[Dataset], Dataset]


def build(*edits: Edit, on_dataset: tuple[DatasetEdit, ...] = ()) -> Dataset:
    """The orders dataset with ``edits`` applied to its YAML data (then ``on_dataset``)."""
    data = copy.deepcopy(BASE)
    for edit in edits:
        edit(data)
    dataset = parse_contract(data, FILE, yaml.safe_dump(data, sort_keys=False).encode())
    for change in on_dataset:
        dataset = change(dataset)
    return dataset


def gold(**values: Any) -> DatasetEdit:
    """Replace keys of the first gold table."""
    return lambda d: dataclasses.replace(d, gold=(dataclasses.replace(d.gold[0], **values),))


def no_gold(d: Dataset) -> Dataset:
    return dataclasses.replace(d, gold=())


@pytest.fixture(autouse=True)
def _no_standard_check(monkeypatch: pytest.MonkeyPatch) -> None:
    """The standard's JSON schema costs 0.3 s a contract and is tested by test_load; these
    tests compare contracts the platform's own checks accept."""
    monkeypatch.setattr("lakehouse.contracts.load._check_standard", lambda data, file: None)


def map_of(value_type: str) -> dict[str, Any]:
    value = {"name": "value", "logicalType": "integer", "physicalType": value_type}
    return {"key": {"name": "key", "logicalType": "string"}, "value": value}


Expected = list[tuple[str, str, str]]  # kind, path, a part of the message


@dataclass
class Case:
    id: str
    after: list[Edit]
    forward: Expected
    backward: Expected | None = None  # from after back to before; None: not checked
    before: list[Edit] = dc_field(default_factory=list)
    before_gold: tuple[DatasetEdit, ...] = ()
    after_gold: tuple[DatasetEdit, ...] = ()


PAID_AT = add_field("paid_at", required=True, logicalType="timestamp")
ATTEMPT = add_field("attempt", required=True, logicalType="integer")

CASES = [
    Case(
        "new optional field",
        [add_field("coupon")],
        [(C, V1 + "coupon", "new optional field (string)")],
        [(B, V1 + "coupon", "removed field")],
    ),
    Case(
        "new required field",
        [add_field("coupon", required=True)],
        [(B, V1 + "coupon", "new required field")],
        [(B, V1 + "coupon", "removed field")],
    ),
    Case(
        "new optional field in array items",
        [add_field("discount", under="items[]")],
        [(C, V1 + "items[].discount", "new optional field")],
        [(B, V1 + "items[].discount", "removed field")],
    ),
    Case(
        "new required field in array items",
        [add_field("discount", required=True, under="items[]")],
        [(B, V1 + "items[].discount", "new required field")],
    ),
    Case(
        "int -> bigint in array items",
        [prop("items[].quantity", physicalType="bigint")],
        [(C, V1 + "items[].quantity", "widened type int -> bigint")],
        [(B, V1 + "items[].quantity", "narrowed type bigint -> int")],
    ),
    Case(
        "map values int -> bigint",
        [prop("attrs", map=map_of("bigint"))],
        [(C, V1 + "attrs", "map values widened type int -> bigint")],
        [(B, V1 + "attrs", "map values narrowed type bigint -> int")],
        before=[add_field("attrs", logicalType="map", map=map_of("int"))],
    ),
    Case(
        "float -> double",
        [prop("total", physicalType="double")],
        [(C, V1 + "total", "widened type float -> double")],
        [(B, V1 + "total", "narrowed type double -> float")],
        before=[prop("total", physicalType="float")],
    ),
    Case(
        "decimal with more integer digits",
        [prop("total", physicalType="decimal(16,2)")],
        [(C, V1 + "total", "widened type decimal(14,2) -> decimal(16,2)")],
        [(B, V1 + "total", "narrowed type decimal(16,2) -> decimal(14,2)")],
    ),
    Case(
        "decimal with more scale and integer digits kept",
        [prop("total", physicalType="decimal(15,3)")],
        [(C, V1 + "total", "widened type decimal(14,2) -> decimal(15,3)")],
        [(B, V1 + "total", "narrowed type")],
    ),
    Case(
        "decimal scale up at the cost of integer digits",
        [prop("total", physicalType="decimal(14,3)")],
        [(B, V1 + "total", "narrowed type decimal(14,2) -> decimal(14,3)")],
        [(B, V1 + "total", "narrowed type decimal(14,3) -> decimal(14,2)")],
    ),
    Case(
        "decimal -> double",
        [prop("total", physicalType="double")],
        [(B, V1 + "total", "retyped decimal(14,2) -> double")],
    ),
    Case(
        "string -> integer in array items",
        [prop("items[].sku", logicalType="integer")],
        [(B, V1 + "items[].sku", "retyped string -> integer")],
    ),
    Case(
        "string -> object",
        [
            prop(
                "channel",
                logicalType="object",
                enum=None,
                customProperties=None,
                properties=[{"name": "kind", "logicalType": "string", "classification": "none"}],
            )
        ],
        [
            (B, V1 + "channel", "retyped string -> object"),
            (C, V1 + "channel", "allowed values removed"),
            (B, V1 + "channel", "normalization lower -> none"),
            (C, V1 + "channel", "monitoring category -> (none)"),
        ],
    ),
    Case(
        "integer -> number in array items",
        [prop("items[].quantity", logicalType="number", physicalType="double")],
        [(B, V1 + "items[].quantity", "retyped integer -> number")],
    ),
    Case(
        "required -> optional",
        [prop("country", required=False)],
        [(C, V1 + "country", "no longer required")],
        [(B, V1 + "country", "newly required")],
    ),
    Case(
        "new allowed value",
        [prop("channel", enum=[{"value": v} for v in ("web", "app", "store", "phone")])],
        [(C, V1 + "channel", "new allowed value(s) phone")],
        [(B, V1 + "channel", "narrowed allowed values: removed phone")],
    ),
    Case(
        "enum on a field that had none",
        [prop("currency", enum=[{"value": "EUR"}, {"value": "USD"}])],
        [(B, V1 + "currency", "allowed values added to a field that had none: EUR, USD")],
        [(C, V1 + "currency", "allowed values removed: any value is allowed")],
    ),
    Case(
        "new schema version",
        [schema_v2],
        [(C, "schema v2", "new schema version")],
        [(B, "schema v2", "removed schema version")],
    ),
    Case(
        "changed primary key",
        [prop("order_id", primaryKey=None), prop("country", primaryKey=True)],
        [(B, "primaryKey", "changed order_id -> country")],
        [(B, "primaryKey", "changed country -> order_id")],
    ),
    Case(
        "changed event-time field",
        [set_custom("eventTimeField", "paid_at")],
        [(B, "customProperties.eventTimeField", "changed ordered_at -> paid_at")],
        before=[PAID_AT],
    ),
    Case(
        "changed version field",
        [set_custom("versionField", "attempt")],
        [(B, "customProperties.versionField", "changed contract_version -> attempt")],
        before=[ATTEMPT],
    ),
    Case(
        "subject field removed",
        [set_custom("subjectField", None)],
        [(B, "customProperties.subjectField", "changed customer_id -> (none)")],
        [(C, "customProperties.subjectField", "changed (none) -> customer_id")],
    ),
    Case(
        "more personal classification",
        [prop("channel", classification="pii_quasi", customProperties=None)],
        [
            (B, V1 + "channel", "classification none -> pii_quasi (more personal)"),
            (B, V1 + "channel", "normalization lower -> none"),
            (C, V1 + "channel", "monitoring category -> (none)"),
        ],
    ),
    Case(
        "nested classification, both directions",
        [prop("items[].sku", classification="pii_direct")],
        [(B, V1 + "items[].sku", "classification none -> pii_direct (more personal)")],
        [(C, V1 + "items[].sku", "classification pii_direct -> none (less personal)")],
    ),
    Case(
        "minimization dropped",
        [
            prop(
                "customer_id",
                customProperties=[{"property": "monitor", "value": "distinct"}],
            )
        ],
        [
            (B, V1 + "customer_id", "minimization changed: pseudonymize -> none"),
            (B, V1 + "customer_id", "normalization trim -> none"),
        ],
        [
            (B, V1 + "customer_id", "minimization changed: none -> pseudonymize"),
            (B, V1 + "customer_id", "normalization none -> trim"),
        ],
    ),
    Case(
        "rescued drop keys",
        [set_custom("rescuedDropKeys", ["email"])],
        [(B, "customProperties.rescuedDropKeys", "minimization changed")],
        [(B, "customProperties.rescuedDropKeys", "minimization changed")],
    ),
    Case(
        "dedup window narrowed",
        [set_custom("dedupWindow", "1 day")],
        [(B, "customProperties.dedupWindow", "narrowed 7 days -> 1 day")],
        [(C, "customProperties.dedupWindow", "widened 1 day -> 7 days")],
    ),
    Case(
        "lateness widened",
        [set_custom("maxLateness", "14 days")],
        [(C, "customProperties.maxLateness", "widened 7 days -> 14 days")],
        [(B, "customProperties.maxLateness", "narrowed 14 days -> 7 days")],
    ),
    Case(
        "texts: owner, purpose, field description, SLA",
        [
            top(team={"name": "finance-platform"}),
            lambda d: d["description"].update(purpose="Revenue."),
            prop("total", description="Order total with tax."),
            sla_retention("silver", 365),
            top(status="deprecated"),
        ],
        [
            (C, "status", "changed active -> deprecated"),
            (C, "owner", "changed commerce-finance -> finance-platform"),
            (C, "description.purpose", "changed"),
            (C, "sla.retention.silver", "changed 730 days -> 365 days"),
            (C, V1 + "total", "description changed"),
        ],
    ),
    Case(
        "keys the model does not read",
        [top(domain="finance", tags=["revenue"])],
        [(C, "domain", "changed"), (C, "tags", "changed")],
    ),
    Case(
        "description usage",
        [lambda d: d["description"].update(usage="Finance close.")],
        [(C, "description.usage", "changed")],
    ),
    Case(
        "removed gold table",
        [],
        [(B, "gold revenue_per_day", "removed gold table")],
        [(C, "gold revenue_per_day", "new gold table")],
        after_gold=(no_gold,),
    ),
    Case(
        "gold keys",
        [],
        [(B, "gold revenue_per_day", "keys changed [order_date, country, currency] -> ")],
        after_gold=(gold(keys=("order_date", "country")),),
    ),
    Case(
        "gold window",
        [],
        [(B, "gold revenue_per_day", "window changed order_date = event_date -> ")],
        after_gold=(gold(window_expr="to_date(ordered_at)"),),
    ),
    Case(
        "gold column classification",
        [],
        [(B, "gold revenue_per_day column orders", "none -> pii_quasi (more personal)")],
        after_gold=(gold(classification={"orders": "pii_quasi"}),),
    ),
    Case(
        "gold description, owner and query",
        [],
        [
            (C, "gold revenue_per_day owner", "changed commerce-finance -> finance"),
            (C, "gold revenue_per_day", "description changed"),
            (C, "gold revenue_per_day", "query changed"),
        ],
        after_gold=(gold(owner="finance", description="Revenue.", sql="SELECT 1 FROM {silver}"),),
    ),
]


def _before(case: Case) -> Dataset:
    return build(*case.before, on_dataset=case.before_gold)


def _after(case: Case) -> Dataset:
    return build(*case.before, *case.after, on_dataset=case.after_gold)


def _check(changes: list[Any], expected: Expected) -> None:
    assert [(c.kind, c.path) for c in changes] == [(k, p) for k, p, _ in expected], changes
    for change, (_, _, part) in zip(changes, expected, strict=True):
        assert part in change.message, change
        assert change.dataset == "orders"


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_compare(case: Case) -> None:
    before, after = _before(case), _after(case)
    _check(compare(before, after), case.forward)
    if case.backward is not None:
        _check(compare(after, before), case.backward)


def test_an_unchanged_contract_has_no_changes_and_comments_do_not_count() -> None:
    dataset = build()
    commented = dataclasses.replace(dataset, content=b"# a comment\n" + dataset.content)
    assert compare(dataset, commented) == []


def test_gold_can_be_left_out_when_the_old_side_does_not_know_it() -> None:
    assert compare(build(on_dataset=(no_gold,)), build(), gold=False) == []


@pytest.mark.parametrize(
    ("status", "kind"), [("active", BREAKING), ("deprecated", BREAKING), ("retired", COMPATIBLE)]
)
def test_new_and_removed_datasets(status: str, kind: str) -> None:
    dataset = build(top(status=status))
    [new] = compare(None, dataset)
    assert (new.kind, new.path, new.message) == (
        COMPATIBLE,
        "dataset",
        "new dataset (version 1.0.0)",
    )
    [removed] = compare(dataset, None)
    assert (removed.kind, removed.path) == (kind, "dataset")


VERSIONS: list[tuple[str, str, list[Edit], str | None]] = [
    ("1.0.0", "1.0.0", [], None),
    ("1.0.0", "1.1.0", [], None),
    ("1.0.0", "1.0.1", [add_field("coupon")], None),
    ("1.0.0", "1.1.0", [add_field("coupon")], None),
    ("1.0.0", "1.0.0", [add_field("coupon")], "changed but its version 1.0.0 did not; bump MINOR"),
    ("1.0.0", "1.0.0", [remove_field("channel")], "did not; bump MAJOR"),
    ("1.0.0", "1.1.0", [remove_field("channel")], "needs a new MAJOR version (2.0.0)"),
    ("1.4.2", "1.5.0", [remove_field("channel")], "needs a new MAJOR version (2.0.0)"),
    ("1.0.0", "2.0.0", [remove_field("channel")], None),
    ("1.1.0", "1.0.9", [], "version went down 1.1.0 -> 1.0.9"),
    ("2.0.0", "1.9.0", [add_field("coupon")], "version went down"),
]


@pytest.mark.parametrize(("old", "new", "edits", "problem"), VERSIONS)
def test_judge_version_rules(old: str, new: str, edits: list[Edit], problem: str | None) -> None:
    verdict = judge(build(top(version=old)), build(top(version=new), *edits))
    if problem is None:
        assert verdict.ok, verdict.problems
    else:
        [found] = verdict.problems
        assert problem in found
        assert verdict.lines()[-1].startswith("REFUSED orders: ")


def test_a_breaking_change_with_a_major_bump_says_so() -> None:
    verdict = judge(build(), build(top(version="2.0.0"), remove_field("channel")))
    assert verdict.ok
    assert verdict.lines() == [
        f"BREAKING (major version bumped 1 -> 2) orders: {V1}channel: removed field"
    ]


def test_a_removed_dataset_is_refused_unless_retired() -> None:
    assert not judge(build(), None).ok
    assert judge(build(top(status="retired")), None).ok
    assert judge(None, build()).ok
