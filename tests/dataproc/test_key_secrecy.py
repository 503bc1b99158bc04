"""The pseudonym key of the submitting process never travels with a Dataproc job: not in a
staged file, the request, a job argument, a Spark property or a line ``submit`` prints; the
job names its Secret Manager version instead, and a file that would stage a key is refused."""

from __future__ import annotations

import logging
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from google.cloud import dataproc_v1

from lakehouse.cli import main
from lakehouse.config import KEY_ENV_VAR, load_config
from lakehouse.dataproc.launch import Submission, launch
from lakehouse.errors import SubmitError
from tests.dataproc.conftest import KEY_SECRET, write_job_config
from tests.dataproc.fake_dataproc import FakeDataproc, serve

KEY = "submitter-key-0123456789abcdef0123456789"


def _staged_bytes(staging: Path) -> Iterator[tuple[str, bytes]]:
    """Every staged file's bytes, and every member of the staged zips, decompressed."""
    for path in sorted(p for p in staging.rglob("*") if p.is_file()):
        yield str(path), path.read_bytes()
        if path.suffix == ".zip":
            with zipfile.ZipFile(path) as archive:
                for name in archive.namelist():
                    yield f"{path}!{name}", archive.read(name)


def _request_bytes(request: object) -> bytes:
    if hasattr(type(request), "serialize"):
        return bytes(type(request).serialize(request))  # type: ignore[attr-defined]
    return bytes(request.SerializeToString())  # type: ignore[attr-defined]


def test_the_key_reaches_no_staged_file_request_argument_property_or_log_line(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv(KEY_ENV_VAR, KEY)  # the submitter has a key in its environment
    path = write_job_config(tmp_path / "conf")
    config = load_config(path)
    assert config.privacy.pseudonym_key == KEY
    fake = FakeDataproc(polls_until_done=1)
    for submission in (
        Submission("silver", serverless=True, workload_id="lakehouse-silver-1"),
        Submission("silver", serverless=False, workload_id="lakehouse-silver-2"),
    ):
        with serve(fake) as channel:
            launch(config, path, submission, say=print, channel=channel, poll_seconds=0.01)
    assert main(["--config", str(path), "submit", "silver", "--serverless", "--dry-run"]) == 0

    creates = [
        r
        for r in fake.requests
        if isinstance(r, dataproc_v1.CreateBatchRequest | dataproc_v1.SubmitJobRequest)
    ]
    assert len(creates) == 2 and len(fake.requests) > 2
    batch, job = creates
    assert isinstance(batch, dataproc_v1.CreateBatchRequest)
    assert isinstance(job, dataproc_v1.SubmitJobRequest)
    arguments = [*batch.batch.pyspark_batch.args, *job.job.pyspark_job.args]
    properties = {**batch.batch.runtime_config.properties, **job.job.pyspark_job.properties}
    assert arguments and properties
    assert not any(KEY in a for a in arguments)
    assert not any(KEY in k or KEY in v for k, v in properties.items())
    for request in fake.requests:
        assert KEY.encode() not in _request_bytes(request), request
    staged = dict(_staged_bytes(tmp_path / "conf" / "staging"))
    assert any(name.endswith("job.toml") for name in staged)
    for name, data in staged.items():
        assert KEY.encode() not in data, name
    # the staged configuration names the secret the job reads its key from
    (config_text,) = [d for n, d in staged.items() if n.endswith("job.toml") and "!" not in n][:1]
    assert KEY_SECRET.encode() in config_text
    out = capsys.readouterr()
    assert "submitted batch" in out.out and "lakehouse-silver-2" in out.out
    assert KEY not in out.out + out.err + caplog.text


@pytest.mark.parametrize(
    ("privacy", "job", "error"),
    [
        (f'pseudonym_key = "{KEY}"', "bronze", "pseudonym_key is the key in plain text"),
        ('pseudonym_key_file = "key.txt"', "gold", "names a file of this machine"),
        (
            'secret_manager_insecure = true\nsecret_manager_endpoint = "127.0.0.1:1"',
            "bronze",
            "are for local fakes",
        ),
        ("", "silver", "the silver job needs the pseudonym key"),
    ],
    ids=["key", "key-file", "fake-endpoint", "no-secret"],
)
def test_a_file_that_would_stage_a_key_or_gives_silver_none_is_refused(
    tmp_path: Path, privacy: str, job: str, error: str
) -> None:
    path = write_job_config(tmp_path / "conf")
    text = path.read_text().replace(f'pseudonym_key_secret = "{KEY_SECRET}"\n', privacy + "\n")
    path.write_text(text)
    config = load_config(path, env={})
    with pytest.raises(SubmitError, match=error) as refused:
        launch(config, path, Submission(job, serverless=True), say=print)
    assert "\n" not in str(refused.value)
    assert not (tmp_path / "conf" / "staging").exists()
