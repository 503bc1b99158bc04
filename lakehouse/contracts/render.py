"""A draft dataset as ODCS v3 YAML text, with a comment on every suggestion.

Written by hand rather than by a YAML dumper: comments carry the profile of each field (null
rate, distinct values, range; sample values only for fields classified none) and what to
review. Owner, contact and purpose are obvious placeholders (``TODO-owner``) that still
validate, so the draft loads and ``status: draft`` says it is not reviewed yet.
"""

from __future__ import annotations

import re
import textwrap
from datetime import UTC, datetime

import yaml

from lakehouse.contracts.draft import Draft, suite_name
from lakehouse.contracts.suggest import DraftField

__all__ = ["TODO_OWNER", "render_contract", "review_checklist", "scalar"]

TODO_OWNER = "TODO-owner"
_PLAIN = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-/]*$")
_WIDTH = 98
_DEFAULT_RETENTION = (("bronze", 7), ("silver", 400), ("quarantine", 30))


def scalar(value: str | int | bool) -> str:
    """A YAML scalar that reads back as ``value`` (strings quoted unless plainly safe)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if _PLAIN.match(value) and yaml.safe_load(value) == value:
        return value
    text: str = yaml.safe_dump(value, default_style='"', allow_unicode=True, width=10**9)
    return text.strip().removesuffix("...").strip()


def _comment(text: str, indent: str) -> list[str]:
    flat = " ".join(text.split())
    width = max(_WIDTH - len(indent) - 2, 40)
    return [
        f"{indent}# {line}"
        for line in textwrap.wrap(flat, width, break_long_words=False, break_on_hyphens=False)
        or [""]
    ]


def _field(f: DraftField, indent: str, item: bool = False) -> list[str]:
    """Lines of one field: comments, then ``- name:`` (or the keys of ``items:``)."""
    lines = _comment(f.profile, indent) if f.profile else []
    for note in f.notes:
        lines += _comment(note, indent)
    body = [f"name: {scalar(f.name)}", f"logicalType: {f.logical_type}"]
    if f.physical_type:
        body.append(f"physicalType: {f.physical_type}")
    if f.primary_key:
        body.append("primaryKey: true")
    if f.required and not item:
        body.append("required: true")
    body.append(f"classification: {f.classification}")
    if f.allowed:
        body.append("enum:")
        body += [f"  - value: {scalar(v)}" for v in f.allowed]
    if f.logical_type == "map":
        body += [
            "map:",
            "  key: {name: key, logicalType: string}",
            f"  value: {{name: value, logicalType: {f.map_value or 'string'}}}",
        ]
    if f.items is not None:
        body.append("items:")
        body += [line.removeprefix(indent) for line in _field(f.items, indent + "  ", True)]
    if f.children:
        body.append("properties:")
        for child in f.children:
            body += [line.removeprefix(indent) for line in _field(child, indent + "  ")]
    custom = [
        (key, value)
        for key, value in (
            ("normalize", f.normalize),
            ("minimize", f.minimize),
            ("keys", "[" + ", ".join(scalar(k) for k in f.keys) + "]" if f.keys else None),
            ("monitor", f.monitor),
        )
        if value
    ]
    if custom:
        body.append("customProperties:")
        for key, value in custom:
            body += [f"  - property: {key}", f"    value: {value}"]
    lead = "" if item else "- "
    rest = "" if item else "  "
    lines.append(f"{indent}{lead}{body[0]}")
    lines += [f"{indent}{rest}{line}" for line in body[1:]]
    return lines


def _header(draft: Draft) -> list[str]:
    sample = draft.sample
    lines = [
        f"# DRAFT data contract of {draft.name}, written by `lakehouse datasets new` on "
        f"{datetime.now(UTC):%Y-%m-%d}",
        *_comment(
            f"from {sample.source}: {sample.records} record(s) profiled, {sample.bad} line(s) "
            "skipped (not JSON objects).",
            "",
        ),
        "# Every suggestion below says why in a comment; notes marked REVIEW need a decision.",
        "# Open Data Contract Standard v3; the lakehouse's keys are customProperties (README).",
    ]
    lines += [
        line
        for number, reason in sample.bad_lines[:5]
        for line in _comment(f"skipped line {number}: {reason}", "")
    ]
    lines += [line for note in draft.notes for line in _comment(note, "")]
    if draft.checklist:
        lines.append("# Review checklist (then set status: active and version: 1.0.0):")
        lines += [line for item in review_checklist(draft) for line in _comment(f"- {item}", "")]
    return lines


def review_checklist(draft: Draft) -> list[str]:
    """What a person must review before the draft is used (the command prints it too)."""
    return [
        f"team, support: {TODO_OWNER} is a placeholder; name the team that answers for it",
        "description.purpose: say which decision the dataset serves",
        *draft.checklist,
        "slaProperties, dedupWindow, maxLateness, maxFutureSkew: platform defaults; set what "
        "the purpose needs",
        f"expectations/{suite_name(draft.name)}.json: ranges and allowed values come from the "
        "sample (severity warning); confirm them and raise what must quarantine to critical",
    ]


def render_contract(draft: Draft) -> str:
    """The contract file's text."""
    name = scalar(draft.name)
    lines = [
        *_header(draft),
        "apiVersion: v3.1.0",
        "kind: DataContract",
        f"id: urn:lakehouse:dataset:{draft.name}",
        f"name: {name}",
        "version: 0.1.0",
        "status: draft",
        "description:",
        f"  purpose: {scalar('TODO: which decision does ' + draft.name + ' serve?')}",
        f"  usage: {scalar('TODO: who reads it, which gold tables')}",
        "team:",
        f"  name: {TODO_OWNER}",
        "  members:",
        f"    - username: {TODO_OWNER}-oncall",
        "      role: owner",
        "support:",
        f"  - channel: {TODO_OWNER}",
        f"    url: mailto:{TODO_OWNER}@example.com",
        "    tool: email",
        "servers:",
        "  - server: landing",
        "    type: local",
        f"    path: {name}            # under [source] landing_path",
        "    format: json",
        "slaProperties:             # the platform's default retention, in days per layer",
    ]
    for layer, days in _DEFAULT_RETENTION:
        lines += [
            "  - property: retention",
            f"    value: {days}",
            "    unit: d",
            f"    element: {layer}",
        ]
    custom = [
        ("eventTimeField", draft.event_time_field),
        ("versionField", draft.version_field),
        ("subjectField", draft.subject_field),
        ("dedupWindow", "48 hours"),
        ("maxLateness", "48 hours"),
        ("maxFutureSkew", "5 minutes"),
        ("silverSuite", suite_name(draft.name)),
    ]
    lines.append("customProperties:")
    for key, value in custom:
        if value is not None:
            lines += [f"  - property: {key}", f"    value: {scalar(value)}"]
    keys = ", ".join(scalar(k) for k in draft.rescued_drop_keys)
    lines += [
        "  - property: rescuedDropKeys  # unknown keys that never reach silver's rescued_data",
        f"    value: [{keys}]",
        "schema:",
        f"  - name: {name}",
        "    physicalType: topic",
        f"    description: {scalar(f'{draft.name}, schema version {draft.schema_version}.')}",
        "    customProperties:",
        "      - property: schemaVersion",
        f"        value: {draft.schema_version}",
        "    properties:",
    ]
    for f in draft.fields:
        lines += _field(f, "      ")
    return "\n".join(lines) + "\n"
