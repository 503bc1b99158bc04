"""What may be asked of the generator, and the one-line errors when it cannot be done."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from lakehouse.contracts import Dataset, load_dataset
from lakehouse.errors import ConfigError, LakehouseError
from lakehouse.generate import GeneratorSpec, generate_dataset_events
from tests.generate.conftest import ROOT, SUITES
from tests.product_generator import GeneratedEvent as ProductEvent


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"count": -1}, "count: -1 must be zero or more"),
        ({"count": 1, "bad_share": 1.5}, "bad share: 1.5 must be between 0 and 1"),
        ({"count": 1, "rate": 0}, "rate: 0 must be more than 0"),
        ({"count": 1, "older_share": -0.1}, "older share: -0.1 must be between 0 and 1"),
        ({"count": 1, "users": 0}, "users: 0 must be at least 1"),
        ({"count": 1, "bad_kinds": ["teleport"]}, "['teleport'] not valid; choose from"),
        ({"count": 1, "bad_kinds": []}, "(none) not valid; choose from malformed_json"),
    ],
)
def test_a_bad_spec_names_the_value(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=None) as error:
        GeneratorSpec(**kwargs)  # type: ignore[arg-type]
    assert message in str(error.value)
    assert "\n" not in str(error.value)


def test_a_kind_the_contract_does_not_allow_is_refused_with_the_kinds_it_allows() -> None:
    ds, suites = load_dataset(ROOT / "datasets" / "events"), SUITES  # no nested field
    spec = GeneratorSpec(count=10, bad_kinds=["missing_field", "wrong_nested_type"])
    with pytest.raises(ConfigError) as error:
        generate_dataset_events(ds, spec, suites)
    text = str(error.value)
    assert "wrong_nested_type do not apply to dataset events" in text
    assert "missing_field" in text.split("allows", 1)[1]
    assert "wrong_nested_type" not in text.split("allows", 1)[1]


def test_only_the_kinds_asked_for_are_made(dataset: tuple[Dataset, Path]) -> None:
    ds, suites = dataset
    spec = GeneratorSpec(count=200, bad_share=0.5, bad_kinds=["too_old", "malformed_json"])
    events = generate_dataset_events(ds, spec, suites)
    assert {e.kind for e in events} == {"good", "too_old", "malformed_json"}
    assert sum(e.kind != "good" for e in events) == 100


def test_no_bad_share_means_only_good_events(dataset: tuple[Dataset, Path]) -> None:
    ds, suites = dataset
    events = generate_dataset_events(ds, GeneratorSpec(count=50, bad_share=0.0), suites)
    assert {e.outcome for e in events} == {"silver"}


def test_a_missing_suite_is_named(dataset: tuple[Dataset, Path], tmp_path: Path) -> None:
    ds, _ = dataset
    with pytest.raises(LakehouseError) as error:
        generate_dataset_events(ds, GeneratorSpec(count=1), tmp_path)
    assert f"silver suite {ds.silver_suite!r} not found in {str(tmp_path)!r}" in str(error.value)


def test_the_default_suite_folder_is_the_repository_s() -> None:
    orders = load_dataset(ROOT / "datasets" / "orders")
    spec = GeneratorSpec(count=20, bad_share=0.5, seed=2, start=datetime(2026, 1, 1, tzinfo=UTC))
    assert generate_dataset_events(orders, spec) == generate_dataset_events(orders, spec, SUITES)


def test_generated_events_are_the_product_generator_s_events(
    dataset: tuple[Dataset, Path],
) -> None:
    ds, suites = dataset
    event = generate_dataset_events(ds, GeneratorSpec(count=1), suites)[0]
    assert isinstance(event, ProductEvent)  # write_landing and the demo's accounting take it
