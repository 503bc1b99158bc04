"""``lakehouse datasets new``: writes the draft, prints the profile and the checklist; a bad
name or an existing dataset is one line and exit 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from lakehouse.cli import main
from lakehouse.contracts import load_dataset
from tests.contracts.samples import orders_sample


def _args(tmp_path: Path, name: str, *extra: str) -> list[str]:
    sample = orders_sample(tmp_path / "orders.jsonl", count=60)
    return [
        "datasets",
        "new",
        name,
        "--from-sample",
        str(sample),
        "--datasets",
        str(tmp_path / "datasets"),
        "--suites",
        str(tmp_path / "expectations"),
        *extra,
    ]


def test_datasets_new_writes_a_draft_and_prints_what_to_review(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("LAKEHOUSE_CONFIG", raising=False)
    assert main(_args(tmp_path, "shop_orders")) == 0
    out = capsys.readouterr().out
    assert "profiled 60 record(s) of 60 line(s)" in out
    assert "| order_id " in out and "primaryKey" in out and "subjectField" in out
    assert "wrote " in out and "shop_orders/contract.yaml (status: draft)" in out
    assert "review before use:" in out and "TODO-owner" in out
    dataset = load_dataset(tmp_path / "datasets" / "shop_orders", tmp_path / "expectations")
    assert dataset.silver_suite == "shop_orders_bronze_to_silver"


def test_datasets_new_refuses_bad_names_and_existing_datasets(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("LAKEHOUSE_CONFIG", raising=False)
    assert main(_args(tmp_path, "Shop")) == 2
    assert "dataset name 'Shop' is not valid: use lowercase letters, digits and _" in (
        capsys.readouterr().err
    )
    assert main(_args(tmp_path, "shop")) == 0
    capsys.readouterr()
    assert main(_args(tmp_path, "shop")) == 2
    assert "exists; pass --force" in capsys.readouterr().err
    assert main(_args(tmp_path, "shop", "--force")) == 0
