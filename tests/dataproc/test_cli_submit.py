"""``lakehouse submit`` on the command line: the dry run prints the request, errors are one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lakehouse.cli import main
from tests.dataproc.conftest import PROJECT, REGION, write_job_config


def test_dry_run_prints_the_request_and_stages_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_job_config(tmp_path)
    argv = ["--config", str(config), "submit", "gold", "--serverless", "--id", "g-1"]
    assert main([*argv, "--trigger", "5 minutes", "--dry-run"]) == 0
    request = json.loads(capsys.readouterr().out)
    assert request["parent"] == f"projects/{PROJECT}/locations/{REGION}"
    assert request["batchId"] == "g-1"
    batch = request["batch"]["pysparkBatch"]
    assert batch["mainPythonFileUri"].endswith("/jobs/gold_aggregate.py")
    assert batch["args"] == ["--config", "job.toml", "--trigger", "5 minutes"]
    assert not (tmp_path / "staging").exists()


@pytest.mark.parametrize(
    ("case", "error"),
    [
        (
            ({"LAKEHOUSE_DATAPROC_RUNTIME_VERSION": "9.9"}, ["--serverless"]),
            "dataproc.runtime_version: Serverless runtime '9.9' is not supported; "
            "known versions are 3.0",
        ),
        (
            ({"LAKEHOUSE_DATAPROC_STAGING_URI": "s3://bucket"}, ["--serverless"]),
            "dataproc.staging_uri: 's3://bucket' is not valid; give a gs://bucket/prefix "
            "(or a file:// folder)",
        ),
        (
            ({"LAKEHOUSE_DATAPROC_CLUSTER": ""}, ["--cluster"]),
            "no cluster: give --cluster NAME or set dataproc.cluster",
        ),
        (
            ({"LAKEHOUSE_DATAPROC_MAX_FAILURES_PER_HOUR": "11"}, ["--cluster"]),
            "dataproc.max_failures_per_hour: 11 must be 1 to 10",
        ),
    ],
)
def test_errors_are_one_line_before_anything_is_staged(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    case: tuple[dict[str, str], list[str]],
    error: str,
) -> None:
    env, args = case
    config = write_job_config(tmp_path)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert main(["--config", str(config), "submit", "bronze", *args]) == 2
    assert capsys.readouterr().err == f"lakehouse: error: {error}\n"
    assert not (tmp_path / "staging").exists()
