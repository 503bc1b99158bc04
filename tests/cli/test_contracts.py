"""``lakehouse contracts check``: the exit codes, through ``lakehouse.cli.main``, with
``--against`` a contract file or a folder."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from lakehouse.cli import main
from tests.contracts.edits import DATASETS, Edit, add_field, edit_file, prop, top

REPO = DATASETS.parent


def version(value: str) -> Edit:
    return top(version=value)


narrow_channel = prop("channel", enum=[{"value": "web"}, {"value": "app"}])


add_coupon = add_field("coupon")


@pytest.fixture
def datasets(tmp_path: Path) -> Path:
    """A copy of the repository's datasets folder and a config naming its suites."""
    root = tmp_path / "datasets"
    shutil.copytree(DATASETS, root)
    (tmp_path / "lakehouse.toml").write_text(f'[quality]\nsuite_dir = "{REPO / "expectations"}"\n')
    return root


def check(root: Path, *against: str) -> int:
    config = str(root.parent / "lakehouse.toml")
    extra = ["--against", *against] if against else []
    return main(["--config", config, "contracts", "check", "--datasets", str(root), *extra])


ORDERS = str(DATASETS / "orders" / "contract.yaml")

EXITS: list[tuple[str, list[Edit], int, list[str]]] = [
    ("unchanged", [], 0, ["against ", "1 dataset(s) compared, 0 change(s), 0 breaking; ok"]),
    (
        "compatible with a minor bump",
        [add_coupon, version("1.1.0")],
        0,
        ["COMPATIBLE orders: schema v1 field coupon: new optional field (string)"],
    ),
    (
        "compatible without a bump",
        [add_coupon],
        1,
        ["REFUSED orders: the dataset changed but its version 1.0.0 did not; bump MINOR"],
    ),
    (
        "breaking with a minor bump",
        [narrow_channel, version("1.1.0")],
        1,
        [
            "BREAKING orders: schema v1 field channel: narrowed allowed values: removed store",
            "REFUSED orders: 1 breaking change(s) with version 1.0.0 -> 1.1.0; a breaking "
            "change needs a new MAJOR version (2.0.0)",
            "1 breaking; refused: orders",
        ],
    ),
    (
        "breaking with a major bump",
        [narrow_channel, version("2.0.0")],
        0,
        [
            "BREAKING (major version bumped 1 -> 2) orders: schema v1 field channel: narrowed "
            "allowed values: removed store"
        ],
    ),
    (
        "version down",
        [version("0.9.0")],
        1,
        ["REFUSED orders: version went down 1.0.0 -> 0.9.0"],
    ),
    (
        "narrowed type with a major bump",
        [prop("total", physicalType="decimal(10,2)"), version("2.0.0")],
        0,
        ["BREAKING (major version bumped 1 -> 2) orders: schema v1 field total: narrowed type"],
    ),
]


@pytest.mark.parametrize(
    ("edits", "code", "lines"), [e[1:] for e in EXITS], ids=[e[0] for e in EXITS]
)
def test_exit_codes_against_a_file(
    datasets: Path,
    capsys: pytest.CaptureFixture[str],
    edits: list[Edit],
    code: int,
    lines: list[str],
) -> None:
    edit_file(datasets / "orders" / "contract.yaml", *edits)
    assert check(datasets, ORDERS) == code
    out = capsys.readouterr().out
    for line in lines:
        assert line in out
    assert "events" not in out.split("\n", 2)[-1]  # a file speaks for its dataset only


def test_without_against_one_line_per_dataset(
    datasets: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert check(datasets) == 0
    assert capsys.readouterr().out.splitlines() == [
        "events 1.0.0: owner product-analytics; schema versions 1; gold tables "
        "daily_active_users, events_per_minute, hourly_revenue",
        "orders 1.0.0: owner commerce-finance; schema versions 1; gold tables revenue_per_day",
        "2 dataset(s) valid",
    ]


def test_an_invalid_contract_is_one_line_and_exit_2(
    datasets: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    edit_file(datasets / "orders" / "contract.yaml", prop("total", physicalType="money"))
    assert check(datasets, ORDERS) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "physicalType 'money' is not a type the platform knows" in err


def test_against_a_datasets_folder_finds_new_and_removed_datasets(
    datasets: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old = tmp_path / "old"
    shutil.copytree(DATASETS, old)
    shutil.rmtree(old / "events")
    assert check(datasets, str(old)) == 0
    assert "COMPATIBLE events: dataset: new dataset (version 1.0.0)" in capsys.readouterr().out
    shutil.rmtree(datasets / "orders")
    assert check(datasets, str(old)) == 1
    out = capsys.readouterr().out
    assert "BREAKING orders: dataset: removed dataset (status active; retire it first)" in out
    assert "REFUSED orders: a dataset is removed only after its status is retired" in out


def test_a_lone_contract_file_leaves_gold_out(
    datasets: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old = tmp_path / "orders-1.0.0.yaml"
    shutil.copyfile(ORDERS, old)
    edit_file(datasets / "orders" / "contract.yaml", add_coupon, version("1.1.0"))
    assert check(datasets, str(old)) == 0
    out = capsys.readouterr().out
    assert "COMPATIBLE orders: schema v1 field coupon" in out
    assert (
        "gold"
        not in out.split("schema versions 1; gold tables revenue_per_day")[-1].split("note:")[0]
    )
    assert f"note: gold tables not compared: no gold/ folder beside {old}" in out


def test_an_old_contract_error_names_the_file(
    datasets: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old = tmp_path / "old.yaml"
    shutil.copyfile(ORDERS, old)
    edit_file(old, prop("total", physicalType="money"))
    assert check(datasets, str(old)) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"lakehouse: error: {old}: ")
    assert "tmp" not in err.replace(str(tmp_path), "")


def test_an_unknown_revision_outside_git_is_one_line(
    datasets: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert check(datasets, "origin/main") == 2
    err = capsys.readouterr().err
    assert "--against 'origin/main' is neither a file nor a folder" in err
    assert "give a contract file, a datasets folder or a git revision" in err
