"""Loading dataset folders: ``datasets/<name>/contract.yaml`` (+ ``gold/*.sql``) -> Dataset.

A contract is checked three times, each failure one line naming the file and the key:
against the standard's JSON schema (unknown keys anywhere, wrong types), with the standard's
own pydantic model (``open-data-contract-standard``), and with the platform's checks (every
field classified, the id, event-time and version fields, durations, SLAs, servers, the
suites and the columns they name).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from lakehouse.config import parse_duration
from lakehouse.contracts.fields import custom_properties, parse_fields
from lakehouse.contracts.gold import load_gold
from lakehouse.contracts.model import Dataset, SchemaVersion, Servers, Sla
from lakehouse.errors import ConfigError, ContractError

__all__ = [
    "CONTRACT_FILE",
    "DATASET_PROPERTIES",
    "STATUSES",
    "load_dataset",
    "load_datasets",
    "parse_contract",
]

CONTRACT_FILE = "contract.yaml"
STATUSES = ("proposed", "draft", "active", "deprecated", "retired")
DATASET_PROPERTIES = (
    "eventTimeField",
    "versionField",
    "subjectField",
    "dedupWindow",
    "maxLateness",
    "maxFutureSkew",
    "silverSuite",
    "rescuedDropKeys",
    "monitoring",
)
SCHEMA_PROPERTIES = ("schemaVersion",)
SLA_PROPERTIES = ("freshness", "retention")
RETENTION_ELEMENTS = ("bronze", "silver", "quarantine")
_UNIT_SECONDS = {"s": 1, "m": 60, "min": 60, "h": 3600, "d": 86400, "day": 86400, "days": 86400}
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_SEMVER = re.compile(r"^\d+\.\d+\.\d+$")
_PUBSUB_SUBSCRIPTION = re.compile(r"^projects/([^/\s]+)/subscriptions/([^/\s]+)$")
_RESERVED_COLUMNS = ("event_date", "rescued_data", "_source", "_partition", "_offset")


@lru_cache(maxsize=1)
def _validator() -> Any:
    import jsonschema

    text = resources.files("open_data_contract_standard").joinpath("schema.json").read_text()
    return jsonschema.Draft201909Validator(json.loads(text))


def _check_standard(data: Any, file: Path) -> None:
    """The standard's JSON schema, then its pydantic model."""
    if not isinstance(data, Mapping):
        raise ContractError(f"{file}: a contract is a YAML mapping (apiVersion, kind, id, ...)")
    errors = sorted(_validator().iter_errors(data), key=lambda e: list(e.absolute_path))
    if errors:
        error = min(errors, key=lambda e: len(list(e.absolute_path)))
        where = ".".join(str(p) for p in error.absolute_path) or "(top level)"
        raise ContractError(f"{file}: {where}: {error.message} (ODCS v3 schema)")
    from open_data_contract_standard.model import OpenDataContractStandard
    from pydantic import ValidationError

    try:
        OpenDataContractStandard(**data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ContractError(f"{file}: {where}: {first['msg']} (ODCS v3 model)") from exc


def _text(data: Mapping[str, Any], key: str, file: Path) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ContractError(f"{file}: {key}: required, a non-empty string")
    return value.strip()


def _owner(data: Mapping[str, Any], file: Path) -> tuple[str, str]:
    team = data.get("team")
    owner = ""
    if isinstance(team, Mapping):
        owner = str(team.get("name") or "")
        members = team.get("members") or []
    else:
        members = team or []
    if not owner:
        owner = next((str(m.get("username")) for m in members if m.get("role") == "owner"), "")
    if not owner:
        raise ContractError(
            f"{file}: team: name the owner (team.name, or a member with role: owner): the team "
            "that answers for the dataset"
        )
    support = data.get("support") or []
    contact = next((str(s.get("url") or s.get("channel")) for s in support if s), "")
    if not contact:
        raise ContractError(f"{file}: support: give a contact (url or channel) of the owner")
    return owner, contact


def _duration(value: Any, what: str) -> str | None:
    """A duration the contract gives (None when it gives none: ``[silver]``'s default)."""
    if value is None:
        return None
    try:
        parse_duration(str(value), what)
    except ConfigError as exc:
        raise ContractError(str(exc)) from None
    return str(value)


def _sla(data: Mapping[str, Any], file: Path) -> Sla:
    freshness: int | None = None
    retention: dict[str, int] = {}
    for index, item in enumerate(data.get("slaProperties") or []):
        where = f"{file}: slaProperties[{index}]"
        prop = item.get("property")
        if prop not in SLA_PROPERTIES:
            raise ContractError(
                f"{where}: property {prop!r} is not enforced by the pipeline; use one of "
                f"{', '.join(SLA_PROPERTIES)}"
            )
        value, unit = item.get("value"), str(item.get("unit") or "").lower()
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ContractError(f"{where}: value {value!r} must be a whole number above 0")
        if unit not in _UNIT_SECONDS:
            raise ContractError(
                f"{where}: unit {unit!r} is not valid; choose one of {', '.join(_UNIT_SECONDS)}"
            )
        seconds = value * _UNIT_SECONDS[unit]
        if prop == "freshness":
            freshness = seconds
            continue
        element = item.get("element")
        if element not in RETENTION_ELEMENTS:
            raise ContractError(
                f"{where}: retention element {element!r} is not valid; choose one of "
                f"{', '.join(RETENTION_ELEMENTS)}"
            )
        if seconds % 86400:
            raise ContractError(f"{where}: retention is in whole days (unit d)")
        retention[str(element)] = seconds // 86400
    return Sla(freshness_seconds=freshness, retention_days=retention)


def _servers(data: Mapping[str, Any], file: Path) -> Servers:
    landing: str | None = None
    topics: tuple[str, ...] = ()
    subscription: str | None = None
    pubsub: str | None = None
    for index, server in enumerate(data.get("servers") or []):
        where = f"{file}: servers[{index}]"
        kind = server.get("type")
        custom = custom_properties(
            server.get("customProperties"),
            where,
            ("topics", "pubsubliteSubscription", "subscription"),
        )
        if kind == "local":
            landing = str(server.get("path"))
        elif kind == "kafka":
            raw = custom.get("topics") or []
            if not isinstance(raw, list) or not raw or not all(isinstance(t, str) for t in raw):
                raise ContractError(f"{where}: a kafka server needs customProperties topics: [..]")
            topics = tuple(raw)
        elif kind == "pubsub":
            pubsub = _pubsub_subscription(server, custom.get("subscription"), where)
        elif kind == "custom" and custom.get("pubsubliteSubscription"):
            subscription = str(custom["pubsubliteSubscription"])
        else:
            raise ContractError(
                f"{where}: server type {kind!r} is not a source the platform reads; use local "
                "(landing files), kafka, pubsub, or custom with pubsubliteSubscription"
            )
    return Servers(
        landing_path=landing,
        kafka_topics=topics,
        pubsublite_subscription=subscription,
        pubsub_subscription=pubsub,
    )


def _pubsub_subscription(server: Mapping[str, Any], value: Any, where: str) -> str:
    """A pubsub server's ``customProperties`` subscription: ``projects/P/subscriptions/S``
    in the server's ``project`` (ODCS requires the project)."""
    key = f"{where}.customProperties.subscription"
    if not isinstance(value, str) or not value:
        raise ContractError(
            f"{key}: a pubsub server needs its subscription, projects/PROJECT/subscriptions/NAME"
        )
    match = _PUBSUB_SUBSCRIPTION.match(value)
    if match is None:
        raise ContractError(
            f"{key}: {value!r} is not a Pub/Sub subscription path; write "
            "projects/PROJECT/subscriptions/NAME"
        )
    project = server.get("project")
    if match.group(1) != project:
        raise ContractError(
            f"{key}: {value!r} is not in the server's project {project!r}; name a subscription "
            f"of projects/{project} or fix {where}.project"
        )
    return value


def _versions(data: Mapping[str, Any], file: Path) -> tuple[SchemaVersion, ...]:
    objects = data.get("schema") or []
    if not objects:
        raise ContractError(f"{file}: schema: declare the event schema (one object per version)")
    versions = []
    for index, obj in enumerate(objects):
        where = f"{file}: schema[{index}]"
        custom = custom_properties(obj.get("customProperties"), where, SCHEMA_PROPERTIES)
        number = custom.get("schemaVersion", 1 if len(objects) == 1 else None)
        if not isinstance(number, int) or isinstance(number, bool) or number < 1:
            raise ContractError(
                f"{where}: customProperties schemaVersion {number!r} must be a whole number "
                "of 1 or more (the value of the version field this schema parses)"
            )
        fields = parse_fields(obj.get("properties"), f"{where}.properties")
        reserved = [f.name for f in fields if f.name in _RESERVED_COLUMNS]
        if reserved:
            raise ContractError(
                f"{where}: field(s) {', '.join(reserved)} are columns the platform adds; "
                "rename them"
            )
        versions.append(SchemaVersion(version=number, name=str(obj.get("name")), fields=fields))
    numbers = [v.version for v in versions]
    if len(set(numbers)) != len(numbers):
        raise ContractError(f"{file}: schema: schemaVersion values {numbers} must be unique")
    return tuple(versions)


def _key_field(
    versions: Iterable[SchemaVersion],
    name: str | None,
    what: str,
    kinds: tuple[str, ...],
    file: Path,
) -> str:
    if not name:
        raise ContractError(f"{file}: customProperties {what}: name the field")
    for version in versions:
        f = version.field(name)
        if f is None or f.logical_type not in kinds or not f.required:
            raise ContractError(
                f"{file}: {what} {name!r} must be a required {' or '.join(kinds)} field of "
                f"every schema version (schemaVersion {version.version})"
            )
    return name


def parse_contract(
    data: Any, file: Path, content: bytes = b"", suite_dir: Path | None = None
) -> Dataset:
    """A contract's YAML data as a :class:`Dataset` (gold tables read from ``file``'s folder)."""
    _check_standard(data, file)
    name = _text(data, "name", file)
    if _NAME.match(name) is None:
        raise ContractError(f"{file}: name {name!r} must be lowercase letters, digits and _")
    if file.parent.name != name:
        raise ContractError(
            f"{file}: name {name!r} differs from its folder {file.parent.name!r}; a dataset "
            "lives in datasets/<name>/"
        )
    version = _text(data, "version", file)
    if _SEMVER.match(version) is None:
        raise ContractError(f"{file}: version {version!r} must be MAJOR.MINOR.PATCH")
    status = _text(data, "status", file)
    if status not in STATUSES:
        raise ContractError(
            f"{file}: status {status!r} is not valid; choose one of {', '.join(STATUSES)}"
        )
    purpose = str((data.get("description") or {}).get("purpose") or "").strip()
    if not purpose:
        raise ContractError(f"{file}: description.purpose: say which decision the dataset serves")
    owner, contact = _owner(data, file)
    custom = custom_properties(data.get("customProperties"), str(file), DATASET_PROPERTIES)
    versions = _versions(data, file)
    ids = {f.name for v in versions for f in v.fields if f.primary_key}
    if len(ids) != 1:
        raise ContractError(
            f"{file}: schema: mark exactly one field primaryKey: true (the event id, the "
            f"duplicate key); found {sorted(ids) or 'none'}"
        )
    id_field = _key_field(versions, ids.pop(), "primaryKey", ("string",), file)
    event_time = _key_field(
        versions, custom.get("eventTimeField"), "eventTimeField", ("timestamp",), file
    )
    version_field = _key_field(
        versions, custom.get("versionField"), "versionField", ("integer",), file
    )
    subject = custom.get("subjectField")
    if subject is not None:
        _key_field(versions, subject, "subjectField", ("string",), file)
    drop_keys = custom.get("rescuedDropKeys") or []
    if not isinstance(drop_keys, list) or not all(isinstance(k, str) for k in drop_keys):
        raise ContractError(f"{file}: customProperties rescuedDropKeys must be a list of keys")
    monitoring = custom.get("monitoring") or {}
    if not isinstance(monitoring, Mapping):
        raise ContractError(f"{file}: customProperties monitoring must be a mapping")
    dataset = Dataset(
        name=name,
        version=version,
        status=status,
        owner=owner,
        contact=contact,
        purpose=purpose,
        folder=file.parent,
        id_field=id_field,
        event_time_field=event_time,
        version_field=version_field,
        subject_field=subject,
        versions=versions,
        servers=_servers(data, file),
        sla=_sla(data, file),
        dedup_window=_duration(custom.get("dedupWindow"), f"{file}: dedupWindow"),
        max_lateness=_duration(custom.get("maxLateness"), f"{file}: maxLateness"),
        max_future_skew=_duration(custom.get("maxFutureSkew"), f"{file}: maxFutureSkew"),
        silver_suite=str(custom.get("silverSuite") or f"{name}_bronze_to_silver"),
        rescued_drop_keys=tuple(drop_keys),
        gold=load_gold(file.parent / "gold", owner),
        monitoring=dict(monitoring),
        content=content,
    )
    if suite_dir is not None:
        from lakehouse.contracts.suites import check_suites

        check_suites(dataset, suite_dir)
    return dataset


def load_dataset(folder: Path, suite_dir: Path | None = None) -> Dataset:
    """The dataset of one folder (its ``contract.yaml``)."""
    file = folder / CONTRACT_FILE
    try:
        content = file.read_bytes()
    except OSError as exc:
        raise ContractError(f"{file}: cannot be read ({exc.strerror})") from exc
    try:
        data = yaml.safe_load(content)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ContractError(f"{file}{line}: not valid YAML: {problem}") from exc
    return parse_contract(data, file, content, suite_dir)


def load_datasets(root: Path, suite_dir: Path | None = None) -> dict[str, Dataset]:
    """Every dataset under ``root`` (one folder each), by name; gold table names must be
    unique across datasets."""
    if not root.is_dir():
        raise ContractError(
            f"datasets folder {str(root)!r} does not exist; create datasets/<name>/contract.yaml "
            "(see README 'Add a dataset')"
        )
    datasets: dict[str, Dataset] = {}
    gold_owner: dict[str, str] = {}
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        if not (folder / CONTRACT_FILE).is_file():
            raise ContractError(f"{folder}: no {CONTRACT_FILE}; every dataset folder holds one")
        dataset = load_dataset(folder, suite_dir)
        if dataset.name in datasets:
            raise ContractError(f"{folder}: dataset {dataset.name!r} is declared twice")
        for gold in dataset.gold:
            if gold.name in gold_owner:
                raise ContractError(
                    f"{gold.path}: gold table {gold.name!r} is declared by datasets "
                    f"{gold_owner[gold.name]!r} and {dataset.name!r}; gold names are global"
                )
            gold_owner[gold.name] = dataset.name
        datasets[dataset.name] = dataset
    if not datasets:
        raise ContractError(f"datasets folder {str(root)!r} holds no dataset")
    return datasets
