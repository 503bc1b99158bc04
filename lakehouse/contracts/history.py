"""The old side of ``lakehouse contracts check --against``: the contracts of a git revision,
of a contract file, or of a dataset or datasets folder.

A git revision is read from the repository that holds the datasets folder with ``git
ls-tree`` and ``git show REV:path`` (the work tree and index are never touched); its files
are loaded from a temporary folder with the same loader as today's, and errors name
``REV:path``. A dataset folder that did not exist at the revision is a new dataset.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import yaml

from lakehouse.contracts.load import CONTRACT_FILE, load_dataset, load_datasets
from lakehouse.contracts.model import Dataset
from lakehouse.contracts.types import struct_of
from lakehouse.errors import ContractError

__all__ = ["Baseline", "read_baseline", "read_file", "read_folder", "read_revision"]


@dataclass(frozen=True)
class Baseline:
    """The old contracts to compare with, by dataset name.

    ``scope`` names the datasets the baseline speaks for (``None``: all of them, a dataset
    missing from it is new); ``gold`` is False when the old side's gold tables are unknown
    (a lone contract file with no ``gold/`` folder beside it)."""

    label: str
    datasets: dict[str, Dataset]
    scope: frozenset[str] | None = None
    gold: bool = True

    def covers(self, name: str) -> bool:
        return self.scope is None or name in self.scope


def read_baseline(against: str, datasets_dir: Path) -> Baseline:
    """``against`` as an existing file or folder, else as a git revision of the repository
    holding ``datasets_dir``."""
    path = Path(against)
    if path.is_file():
        return read_file(path)
    if path.is_dir():
        return read_folder(path)
    return read_revision(against, datasets_dir)


def read_folder(folder: Path) -> Baseline:
    """A dataset folder (with a contract.yaml) or a datasets folder."""
    if (folder / CONTRACT_FILE).is_file():
        dataset = _load(folder)
        return Baseline(str(folder), {dataset.name: dataset}, frozenset((dataset.name,)))
    datasets = {name: _typed(d) for name, d in load_datasets(folder).items()}
    return Baseline(str(folder), datasets)


def read_file(file: Path) -> Baseline:
    """A lone contract file; its gold tables are those of a ``gold/`` folder beside it."""
    if file.name == CONTRACT_FILE and file.parent.name == _name_in(file):
        return read_folder(file.parent)
    name = _name_in(file)
    with tempfile.TemporaryDirectory(prefix="lakehouse-contract-") as tmp:
        folder = Path(tmp) / name
        folder.mkdir()
        shutil.copyfile(file, folder / CONTRACT_FILE)
        gold = file.parent / "gold"
        if gold.is_dir():
            shutil.copytree(gold, folder / "gold")
        dataset = _load_as(
            folder, {str(folder / CONTRACT_FILE): str(file), str(folder): str(file.parent)}
        )
    return Baseline(str(file), {name: dataset}, frozenset((name,)), gold=gold.is_dir())


def _name_in(file: Path) -> str:
    """The contract's name (the folder it must live in), or ``_`` when it has none: the
    loader then says what is wrong."""
    try:
        data = yaml.safe_load(file.read_bytes())
    except (OSError, yaml.YAMLError):
        return "_"
    name = data.get("name") if isinstance(data, dict) else None
    return name if isinstance(name, str) and name.isidentifier() else "_"


def _typed(dataset: Dataset) -> Dataset:
    """``dataset`` once its field types are checked (the comparison reads them)."""
    for version in dataset.versions:
        where = f"{dataset.folder / CONTRACT_FILE}: schema v{version.version}"
        struct_of(version.fields, where)
    return dataset


def _load(folder: Path) -> Dataset:
    return _typed(load_dataset(folder))


def _load_as(folder: Path, names: dict[str, str]) -> Dataset:
    """The dataset of a temporary ``folder``; an error names the original files."""
    try:
        return _load(folder)
    except ContractError as exc:
        message = str(exc)
        for tmp, real in sorted(names.items(), key=lambda item: -len(item[0])):
            message = message.replace(tmp, real)
        raise ContractError(message) from None


def _git(repo: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    try:
        return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, check=False)
    except FileNotFoundError:
        raise ContractError(
            "--against needs git to read a revision; git is not installed"
        ) from None


def _repository(datasets_dir: Path, against: str) -> tuple[Path, str]:
    """The top of the repository holding ``datasets_dir`` and the folder's path in it."""
    if not datasets_dir.is_dir():
        raise ContractError(f"datasets folder {str(datasets_dir)!r} does not exist")
    top = _git(datasets_dir, "rev-parse", "--show-toplevel")
    prefix = _git(datasets_dir, "rev-parse", "--show-prefix")
    if top.returncode or prefix.returncode:
        raise ContractError(
            f"--against {against!r} is neither a file nor a folder, and {str(datasets_dir)!r} "
            "is not in a git repository; give a contract file, a datasets folder or a git "
            "revision"
        )
    return Path(top.stdout.decode().strip()), prefix.stdout.decode().strip().rstrip("/")


def read_revision(rev: str, datasets_dir: Path) -> Baseline:
    """The datasets folder as it was at git revision ``rev``."""
    top, prefix = _repository(datasets_dir, rev)
    if (
        rev.startswith("-")
        or _git(top, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}").returncode
    ):
        raise ContractError(
            f"--against {rev!r} is neither a file, a folder nor a git revision of {str(top)!r} "
            "(in CI, fetch the history: actions/checkout with fetch-depth: 0)"
        )
    listing = _git(top, "ls-tree", "-r", "-z", "--name-only", rev, "--", prefix or ".")
    if listing.returncode:
        raise ContractError(f"git ls-tree {rev}: {_first_line(listing.stderr)}")
    files = _dataset_files(listing.stdout.decode().split("\0"), prefix)
    shown = f"{rev}:{prefix}/" if prefix else f"{rev}:"
    datasets: dict[str, Dataset] = {}
    with tempfile.TemporaryDirectory(prefix="lakehouse-contracts-") as tmp:
        root = Path(tmp)
        for name, paths in sorted(files.items()):
            if f"{name}/{CONTRACT_FILE}" not in paths:
                continue  # no contract at the revision: not a dataset yet
            for relative in paths:
                blob = _git(top, "show", f"{rev}:{_join(prefix, relative)}")
                if blob.returncode:
                    raise ContractError(
                        f"git show {rev}:{_join(prefix, relative)}: {_first_line(blob.stderr)}"
                    )
                target = root / relative
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(blob.stdout)
            dataset = _load_as(root / name, {f"{root}/": shown})
            datasets[dataset.name] = dataset
    return Baseline(rev, datasets)


def _dataset_files(paths: list[str], prefix: str) -> dict[str, list[str]]:
    """``<name>/contract.yaml`` and ``<name>/gold/*.sql`` (relative to the datasets folder)
    by dataset name."""
    files: dict[str, list[str]] = {}
    for path in filter(None, paths):
        relative = PurePosixPath(path).relative_to(prefix) if prefix else PurePosixPath(path)
        parts = relative.parts
        wanted = (len(parts) == 2 and parts[1] == CONTRACT_FILE) or (
            len(parts) == 3 and parts[1] == "gold" and parts[2].endswith(".sql")
        )
        if wanted and not parts[0].startswith("."):
            files.setdefault(parts[0], []).append(str(relative))
    return files


def _join(prefix: str, relative: str) -> str:
    return f"{prefix}/{relative}" if prefix else relative


def _first_line(stderr: bytes) -> str:
    lines = [line.strip() for line in stderr.decode(errors="replace").splitlines() if line.strip()]
    return lines[0] if lines else "failed"
