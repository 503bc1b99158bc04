"""YAML scalars of the draft read back as the values written."""

from __future__ import annotations

import pytest
import yaml

from lakehouse.contracts.render import scalar


@pytest.mark.parametrize(
    "value",
    ["event_id", "yes", "null", "on", "1.0", "a: b #c", 'été "q"\n', " x", "-", "", "0x1F"],
)
def test_scalars_read_back(value: str) -> None:
    assert yaml.safe_load(f"key: {scalar(value)}") == {"key": value}


def test_plain_names_stay_plain() -> None:
    assert scalar("event_id") == "event_id"
    assert scalar("yes") == '"yes"'
    assert scalar(True) == "true" and scalar(3) == "3"
