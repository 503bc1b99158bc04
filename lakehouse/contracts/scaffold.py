"""``lakehouse datasets new``: profile a sample, write the draft contract and suite.

The draft is written to a staging folder first and loaded there as any dataset is
(:func:`lakehouse.contracts.load_dataset` with the suite): only a draft that loads reaches
``datasets/<name>/`` and ``expectations/``. An existing dataset folder or suite is kept unless
``force``; with ``force`` the contract and the suite are replaced and the folder's other files
(gold SQL) are left as they are.
"""

from __future__ import annotations

import json
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from lakehouse.contracts.draft import Draft, build_draft, draft_suite, suite_name
from lakehouse.contracts.load import CONTRACT_FILE, load_dataset
from lakehouse.contracts.profile import profile_file
from lakehouse.contracts.render import render_contract, review_checklist
from lakehouse.errors import ContractError

__all__ = ["Drafted", "check_name", "new_dataset"]

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class Drafted:
    """What ``new_dataset`` wrote, and what a person must review."""

    contract: Path
    suite: Path
    draft: Draft
    checklist: tuple[str, ...]


def check_name(name: str) -> str:
    if _NAME.match(name) is None:
        raise ContractError(
            f"dataset name {name!r} is not valid: use lowercase letters, digits and _, "
            "starting with a letter (it names the folder and the tables)"
        )
    return name


def _refuse_existing(paths: tuple[Path, ...], force: bool) -> None:
    existing = [p for p in paths if p.exists()]
    if existing and not force:
        raise ContractError(
            f"{existing[0]} exists; pass --force to replace the contract and the suite "
            "(other files of the folder are kept)"
        )


def new_dataset(
    name: str, sample: Path, datasets_dir: Path, suite_dir: Path, force: bool = False
) -> Drafted:
    """Profile ``sample`` and write ``datasets_dir/name/contract.yaml`` and
    ``suite_dir/<name>_bronze_to_silver.json``."""
    check_name(name)
    folder = datasets_dir / name
    suite_path = suite_dir / f"{suite_name(name)}.json"
    _refuse_existing((folder, suite_path), force)
    if folder.exists() and not folder.is_dir():
        raise ContractError(f"{folder} is a file; a dataset is a folder")
    draft = build_draft(name, profile_file(sample))
    contract_text = render_contract(draft)
    suite_text = json.dumps(draft_suite(draft), indent=2) + "\n"
    with tempfile.TemporaryDirectory(prefix="lakehouse-draft-") as tmp:
        staged, staged_suites = Path(tmp) / name, Path(tmp) / "expectations"
        staged.mkdir()
        staged_suites.mkdir()
        (staged / CONTRACT_FILE).write_text(contract_text, encoding="utf-8")
        (staged_suites / suite_path.name).write_text(suite_text, encoding="utf-8")
        try:
            load_dataset(staged, staged_suites)
        except ContractError as exc:  # a bug of the drafting, not of the sample
            raise ContractError(
                f"the draft of {name!r} does not load (please report): {exc}"
            ) from exc
    folder.mkdir(parents=True, exist_ok=True)
    suite_dir.mkdir(parents=True, exist_ok=True)
    (folder / CONTRACT_FILE).write_text(contract_text, encoding="utf-8")
    suite_path.write_text(suite_text, encoding="utf-8")
    return Drafted(folder / CONTRACT_FILE, suite_path, draft, tuple(review_checklist(draft)))
