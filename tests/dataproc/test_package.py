"""The release: a deterministic package zip, the suites, the jobs, staging to gs:// and file://."""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

import pytest

from lakehouse.config import load_config
from lakehouse.dataproc.package import build_bundle, check_job_config, project_root, stage
from lakehouse.errors import SubmitError
from tests.dataproc.conftest import write_job_config

REPO = Path(__file__).resolve().parents[2]


def test_the_same_code_gives_the_same_release(tmp_path: Path) -> None:
    config = write_job_config(tmp_path / "conf")
    first = build_bundle(project_root(), config, tmp_path / "a")
    second = build_bundle(project_root(), config, tmp_path / "b")
    assert first.release_id == second.release_id
    assert first.package_zip.read_bytes() == second.package_zip.read_bytes()
    with zipfile.ZipFile(first.package_zip) as package:
        names = package.namelist()
    expected = sorted(
        p.relative_to(REPO).as_posix()
        for p in (REPO / "lakehouse").rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    )
    assert names == expected
    with zipfile.ZipFile(first.expectations_zip) as suites:
        assert suites.namelist() == sorted(p.name for p in (REPO / "expectations").glob("*.json"))
    with zipfile.ZipFile(first.datasets_zip) as datasets:
        assert "events/contract.yaml" in datasets.namelist()
        assert "orders/gold/revenue_per_day.sql" in datasets.namelist()


def test_stage_to_gcs_uploads_every_file_under_the_release(tmp_path: Path) -> None:
    uploads: list[tuple[str, str, str]] = []

    class Blob:
        def __init__(self, bucket: str, name: str) -> None:
            self.bucket, self.name = bucket, name

        def upload_from_filename(self, filename: str) -> None:
            uploads.append((self.bucket, self.name, Path(filename).name))

    class Bucket:
        def __init__(self, name: str) -> None:
            self.name = name

        def blob(self, name: str) -> Any:
            return Blob(self.name, name)

    class Client:
        def bucket(self, name: str) -> Any:
            return Bucket(name)

    bundle = build_bundle(project_root(), write_job_config(tmp_path / "c"), tmp_path / "b")
    release = stage(bundle, "gs://stage-bucket/releases/", Client())
    prefix = f"releases/{bundle.release_id}"
    assert sorted(uploads) == [
        ("stage-bucket", f"{prefix}/datasets.zip", "datasets.zip"),
        ("stage-bucket", f"{prefix}/expectations.zip", "expectations.zip"),
        ("stage-bucket", f"{prefix}/job.toml", "job.toml"),
        ("stage-bucket", f"{prefix}/jobs/bronze_ingest.py", "bronze_ingest.py"),
        ("stage-bucket", f"{prefix}/jobs/gold_aggregate.py", "gold_aggregate.py"),
        ("stage-bucket", f"{prefix}/jobs/silver_refine.py", "silver_refine.py"),
        ("stage-bucket", f"{prefix}/lakehouse.zip", "lakehouse.zip"),
    ]
    assert release.main_uris["gold"] == f"gs://stage-bucket/{prefix}/jobs/gold_aggregate.py"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ('[spark]\nmode = "local"\n', "spark.mode is 'local'; the jobs run with the cluster's"),
        (
            '[spark]\nmode = "dataproc"\n[quality]\nsuite_dir = "suites"\n',
            "on Dataproc the suites are in ./expectations",
        ),
        (
            '[spark]\nmode = "dataproc"\n[quality]\nsuite_dir = "expectations"\n'
            '[datasets]\ndir = "contracts"\n',
            "on Dataproc the dataset folders are in ./datasets",
        ),
    ],
)
def test_a_config_that_cannot_work_on_dataproc_is_refused(
    tmp_path: Path, extra: str, message: str
) -> None:
    path = tmp_path / "job.toml"
    path.write_text(extra)
    with pytest.raises(SubmitError, match=message):
        check_job_config(load_config(path, env={}), path)
