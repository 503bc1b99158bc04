"""``contracts check --against GIT_REV`` in a real git repository: the old contracts are read
from the revision (``git ls-tree`` / ``git show``) without touching the work tree; a dataset
that did not exist at the revision is new."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from lakehouse.cli import main
from lakehouse.contracts.history import read_revision
from lakehouse.errors import ContractError
from tests.contracts.edits import DATASETS, edit_file, prop

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, check=True
    )
    return done.stdout


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A repository whose datasets live in ``platform/datasets``, one commit."""
    repo = tmp_path / "repo"
    shutil.copytree(DATASETS, repo / "platform" / "datasets")
    git(repo, "init", "-q", "-b", "main")
    git(repo, "config", "user.name", "Test")
    git(repo, "config", "user.email", "test@example.com")
    git(repo, "config", "commit.gpgsign", "false")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "datasets")
    (tmp_path / "lakehouse.toml").write_text(
        f'[quality]\nsuite_dir = "{DATASETS.parent / "expectations"}"\n'
    )
    return repo


def check(repo: Path, rev: str) -> int:
    config = repo.parent / "lakehouse.toml"
    root = repo / "platform" / "datasets"
    return main(
        ["--config", str(config), "contracts", "check", "--against", rev, "--datasets", str(root)]
    )


def commit(repo: Path, message: str) -> None:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)


def test_a_breaking_commit_without_a_major_bump_fails(
    repo: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(repo.parent)  # not in the repository: git runs where the datasets are
    orders = repo / "platform" / "datasets" / "orders" / "contract.yaml"
    edit_file(
        orders,
        prop("channel", enum=[{"value": "web"}, {"value": "app"}]),
        lambda d: d.update(version="1.1.0"),
    )
    (repo / "platform" / "datasets" / "orders" / "gold" / "revenue_per_day.sql").unlink()
    commit(repo, "narrow channel")
    assert check(repo, "HEAD~1") == 1
    out = capsys.readouterr().out
    assert "BREAKING orders: schema v1 field channel: narrowed allowed values: removed store" in out
    assert "BREAKING orders: gold revenue_per_day: removed gold table" in out
    assert "REFUSED orders: 2 breaking change(s) with version 1.0.0 -> 1.1.0" in out
    assert "against HEAD~1: 2 dataset(s) compared, 2 change(s), 2 breaking; refused: orders" in out
    assert git(repo, "status", "--porcelain") == ""


def test_a_major_bump_and_a_new_dataset_pass(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    datasets = repo / "platform" / "datasets"
    edit_file(
        datasets / "orders" / "contract.yaml",
        prop("total", physicalType="decimal(10,2)"),
        lambda d: d.update(version="2.0.0"),
    )
    shutil.copytree(datasets / "events", datasets / "clicks", ignore=shutil.ignore_patterns("gold"))
    edit_file(datasets / "clicks" / "contract.yaml", lambda d: d.update(name="clicks"))
    commit(repo, "orders 2.0.0, clicks")
    assert check(repo, "HEAD~1") == 0
    out = capsys.readouterr().out
    assert "COMPATIBLE clicks: dataset: new dataset (version 1.0.0)" in out
    assert (
        "BREAKING (major version bumped 1 -> 2) orders: schema v1 field total: narrowed type "
        "decimal(14,2) -> decimal(10,2)" in out
    )
    assert "; ok" in out


def test_the_work_tree_is_compared_with_a_revision_and_left_alone(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    orders = repo / "platform" / "datasets" / "orders" / "contract.yaml"
    edit_file(orders, prop("country", required=False))  # uncommitted, same version
    before = git(repo, "status", "--porcelain")
    assert check(repo, "HEAD") == 1
    out = capsys.readouterr().out
    assert "COMPATIBLE orders: schema v1 field country: no longer required" in out
    assert "REFUSED orders: the dataset changed but its version 1.0.0 did not; bump MINOR" in out
    assert git(repo, "status", "--porcelain") == before


def test_a_folder_missing_at_the_revision_makes_every_dataset_new(repo: Path) -> None:
    (repo / "README").write_text("first\n")
    git(repo, "checkout", "-q", "--orphan", "empty")
    git(repo, "rm", "-rq", "--cached", "platform")
    git(repo, "add", "README")
    git(repo, "commit", "-q", "-m", "no datasets yet")
    baseline = read_revision("empty", repo / "platform" / "datasets")
    assert baseline.datasets == {}
    assert baseline.covers("orders")


def test_an_old_contract_error_names_the_revision_and_path(repo: Path) -> None:
    orders = repo / "platform" / "datasets" / "orders" / "contract.yaml"
    edit_file(orders, prop("total", physicalType="money"))
    commit(repo, "bad")
    with pytest.raises(ContractError) as error:
        read_revision("HEAD", repo / "platform" / "datasets")
    assert str(error.value).startswith(
        "HEAD:platform/datasets/orders/contract.yaml: schema v1.total: physicalType 'money'"
    )


@pytest.mark.parametrize("rev", ["no-such-branch", "HEAD~5"])
def test_an_unknown_revision_is_one_line(
    repo: Path, capsys: pytest.CaptureFixture[str], rev: str
) -> None:
    assert check(repo, rev) == 2
    err = capsys.readouterr().err
    assert f"--against {rev!r} is neither a file, a folder nor a git revision of" in err
    assert "fetch-depth: 0" in err


def test_a_revision_is_never_read_as_an_option(repo: Path) -> None:
    with pytest.raises(ContractError, match="is neither a file, a folder nor a git revision"):
        read_revision("--output=x", repo / "platform" / "datasets")
    assert not (repo / "x").exists()
