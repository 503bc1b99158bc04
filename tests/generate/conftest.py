"""Datasets to generate from: the two declared in the repository and a third one declared
only in a temporary folder (two schema versions; a map, an optional object with an enum, an
array of strings; a suite that constrains fields beyond the contract)."""

from __future__ import annotations

from pathlib import Path

import pytest

from lakehouse.contracts import Dataset, load_dataset

ROOT = Path(__file__).resolve().parents[2]
SUITES = ROOT / "expectations"

SESSIONS_CONTRACT = """\
apiVersion: v3.1.0
kind: DataContract
id: urn:lakehouse:dataset:sessions
name: sessions
version: 1.0.0
status: draft
description:
  purpose: How long app sessions last, per plan and platform.
team:
  name: growth
support:
  - channel: growth
    url: mailto:growth@example.com
servers:
  - server: landing
    type: local
    path: sessions
    format: json
customProperties:
  - property: eventTimeField
    value: started_at
  - property: versionField
    value: v
  - property: subjectField
    value: member_id
  - property: dedupWindow
    value: 1 hours
  - property: maxLateness
    value: 6 hours
  - property: maxFutureSkew
    value: 30 seconds
  - property: silverSuite
    value: sessions_bronze_to_silver
schema:
  - name: sessions
    physicalType: topic
    customProperties:
      - property: schemaVersion
        value: 2
    properties:
      - name: session_key
        logicalType: string
        primaryKey: true
        required: true
        classification: none
      - name: started_at
        logicalType: timestamp
        required: true
        classification: none
      - name: member_id
        logicalType: string
        required: true
        classification: pii_pseudonymous
        customProperties:
          - property: minimize
            value: pseudonymize
      - name: contact_email
        logicalType: string
        classification: pii_direct
      - name: support_email
        logicalType: string
        classification: none
      - name: plan
        logicalType: string
        required: true
        classification: none
      - name: duration_s
        logicalType: integer
        physicalType: int
        required: true
        classification: none
      - name: score
        logicalType: number
        physicalType: decimal(5,3)
        classification: none
      - name: active
        logicalType: boolean
        classification: none
      - name: day
        logicalType: date
        classification: none
      - name: attributes
        logicalType: map
        map:
          key: {name: key, logicalType: string}
          value: {name: value, logicalType: integer}
        classification: pii_quasi
      - name: client
        logicalType: object
        classification: none
        properties:
          - name: os
            logicalType: string
            required: true
            classification: none
            enum:
              - value: ios
              - value: android
          - name: build
            logicalType: integer
            classification: none
      - name: tags
        logicalType: array
        classification: none
        items:
          logicalType: string
      - name: v
        logicalType: integer
        required: true
        classification: none
  - name: sessions_v1
    physicalType: topic
    customProperties:
      - property: schemaVersion
        value: 1
    properties:
      - name: session_key
        logicalType: string
        primaryKey: true
        required: true
        classification: none
      - name: started_at
        logicalType: timestamp
        required: true
        classification: none
      - name: member_id
        logicalType: string
        required: true
        classification: pii_pseudonymous
        customProperties:
          - property: minimize
            value: pseudonymize
      - name: plan
        logicalType: string
        required: true
        classification: none
      - name: duration_s
        logicalType: integer
        physicalType: int
        required: true
        classification: none
      - name: day
        logicalType: date
        required: true
        classification: none
      - name: platform
        logicalType: string
        classification: none
      - name: v
        logicalType: integer
        required: true
        classification: none
"""

SESSIONS_SUITE = """\
{
  "name": "sessions_bronze_to_silver",
  "expectations": [
    {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "session_key"},
     "meta": {}, "severity": "critical"},
    {"type": "expect_column_values_to_match_regex",
     "kwargs": {"column": "plan", "regex": "^P-[0-9]{4}(-(gold|free))?$"},
     "meta": {}, "severity": "critical"},
    {"type": "expect_column_values_to_be_between",
     "kwargs": {"column": "duration_s", "min_value": 5000, "max_value": 5010},
     "meta": {}, "severity": "critical"},
    {"type": "expect_column_values_to_be_between",
     "kwargs": {"column": "score", "min_value": 0, "max_value": 1, "strict_min": true},
     "meta": {}, "severity": "critical"},
    {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "day"},
     "meta": {}, "severity": "critical"},
    {"type": "expect_column_values_to_be_in_set",
     "kwargs": {"column": "plan", "value_set": ["never"]},
     "meta": {}, "severity": "warning"}
  ],
  "meta": {}
}
"""


def write_sessions(root: Path) -> tuple[Path, Path]:
    """The sessions dataset's folder and a suite folder holding its suite, under ``root``."""
    folder = root / "datasets" / "sessions"
    folder.mkdir(parents=True)
    (folder / "contract.yaml").write_text(SESSIONS_CONTRACT)
    suites = root / "expectations"
    suites.mkdir()
    (suites / "sessions_bronze_to_silver.json").write_text(SESSIONS_SUITE)
    return folder, suites


@pytest.fixture(scope="session")
def sessions(tmp_path_factory: pytest.TempPathFactory) -> tuple[Dataset, Path]:
    folder, suites = write_sessions(tmp_path_factory.mktemp("sessions"))
    return load_dataset(folder, suites), suites


@pytest.fixture(scope="session", params=["events", "orders", "sessions"])
def dataset(request: pytest.FixtureRequest, sessions: tuple[Dataset, Path]) -> tuple[Dataset, Path]:
    """Each dataset with its suite folder."""
    if request.param == "sessions":
        return sessions
    return load_dataset(ROOT / "datasets" / request.param, SUITES), SUITES
