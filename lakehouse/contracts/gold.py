"""Gold tables as Spark SQL files: ``datasets/<name>/gold/<table>.sql``.

The query reads the dataset's silver rows as ``{silver}``; its header comments declare the
table (one ``-- key: value`` per line, before the query)::

    -- description: Events per minute by event type and country.
    -- owner: product-analytics
    -- keys: window_start, event_type, country
    -- window: window_start = date_trunc('minute', event_ts)
    -- suite: silver_to_gold_events_per_minute        (optional, this is the default)
    -- classification: users=none                     (optional; every column defaults to none)

``window`` names the table's time key and the same key computed from a silver row: the gold
job recomputes, for every window a micro-batch touches, the whole window from silver.
"""

from __future__ import annotations

import re
from pathlib import Path

from lakehouse.contracts.model import GoldTable
from lakehouse.errors import ContractError
from lakehouse.policy import CLASSIFICATIONS

__all__ = ["HEADER_KEYS", "load_gold", "parse_gold"]

HEADER_KEYS = ("description", "owner", "keys", "window", "suite", "classification")
_REQUIRED = ("description", "owner", "keys", "window")
_HEADER = re.compile(r"^--\s*([A-Za-z_]+)\s*:\s*(.*?)\s*$")
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


def parse_gold(path: Path, text: str, default_owner: str) -> GoldTable:
    """The gold table a SQL file declares; a :class:`ContractError` naming file and line."""
    name = path.stem
    if _NAME.match(name) is None:
        raise ContractError(
            f"{path}: gold table name {name!r} (the file name) must be lowercase letters, "
            "digits and _"
        )
    header: dict[str, str] = {}
    body_start = None
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped:
            continue
        match = _HEADER.match(stripped)
        if match is None:
            if stripped.startswith("--"):
                continue  # a plain comment
            body_start = number
            break
        key = match.group(1)
        if key not in HEADER_KEYS:
            raise ContractError(
                f"{path}:{number}: unknown header key {key!r}; valid keys are "
                f"{', '.join(HEADER_KEYS)}"
            )
        if key in header:
            raise ContractError(f"{path}:{number}: header key {key!r} is given twice")
        header[key] = match.group(2)
    if body_start is None:
        raise ContractError(f"{path}: no query after the header")
    missing = [k for k in _REQUIRED if not header.get(k)]
    if missing:
        raise ContractError(
            f"{path}: header key(s) {', '.join(missing)} missing; e.g. "
            "'-- keys: window_start, country' and '-- window: window_start = "
            "date_trunc('minute', event_ts)'"
        )
    if "{silver}" not in text:
        raise ContractError(f"{path}: the query must read the silver rows as {{silver}}")
    keys = tuple(k.strip() for k in header["keys"].split(",") if k.strip())
    window_key, sep, window_expr = header["window"].partition("=")
    window_key, window_expr = window_key.strip(), window_expr.strip()
    if not sep or not window_key or not window_expr:
        raise ContractError(
            f"{path}: window {header['window']!r} must be 'KEY = EXPRESSION over a silver "
            "row', e.g. window_start = date_trunc('minute', event_ts)"
        )
    if window_key not in keys:
        raise ContractError(
            f"{path}: the window key {window_key!r} must be one of the keys ({', '.join(keys)})"
        )
    classification: dict[str, str] = {}
    for item in filter(None, (p.strip() for p in header.get("classification", "").split(","))):
        column, _, value = item.partition("=")
        if value.strip() not in CLASSIFICATIONS:
            raise ContractError(
                f"{path}: classification {item!r}: write COLUMN=CLASS with CLASS one of "
                f"{', '.join(CLASSIFICATIONS)}"
            )
        classification[column.strip()] = value.strip()
    return GoldTable(
        name=name,
        sql=text,
        path=path,
        description=header["description"],
        owner=header.get("owner") or default_owner,
        keys=keys,
        window_key=window_key,
        window_expr=window_expr,
        suite=header.get("suite") or f"silver_to_gold_{name}",
        classification=classification,
    )


def load_gold(folder: Path, default_owner: str) -> tuple[GoldTable, ...]:
    """Every ``*.sql`` file of ``folder`` (none when the folder does not exist), by name."""
    if not folder.is_dir():
        return ()
    tables = []
    for path in sorted(folder.glob("*.sql")):
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ContractError(f"{path}: cannot be read as UTF-8 text ({exc})") from exc
        tables.append(parse_gold(path, text, default_owner))
    return tuple(tables)
