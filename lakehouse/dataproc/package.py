"""Build the release a Dataproc job runs, and stage it to ``gs://`` (or ``file://``).

A release is four kinds of files, staged together under ``<staging_uri>/<release id>/``:

- ``lakehouse.zip``: the ``lakehouse`` package (``python_file_uris``, i.e. ``--py-files``);
- ``jobs/<name>.py``: the main Python files (``main_python_file_uri``);
- ``expectations.zip``: the suites, extracted by Dataproc into ``./expectations``
  (``archive_uris`` with ``#expectations``);
- ``datasets.zip``: the dataset folders (contracts, gold SQL), extracted into ``./datasets``;
- the configuration file, placed in the driver's working directory (``file_uris``).

The release id is the package version and a digest of every file, so staging the same code
twice writes the same objects, and a running job never sees its files change.
"""

from __future__ import annotations

import hashlib
import shutil
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from lakehouse.config import LakehouseConfig
from lakehouse.errors import SubmitError

__all__ = [
    "JOB_FILES",
    "Bundle",
    "Release",
    "build_bundle",
    "check_job_config",
    "project_root",
    "release_uris",
    "stage",
]

JOB_FILES = {
    "bronze": "bronze_ingest.py",
    "silver": "silver_refine.py",
    "gold": "gold_aggregate.py",
}
SUITE_FOLDER = "expectations"  # where the suites are in the job's working directory
DATASETS_FOLDER = "datasets"  # where the dataset contracts and gold SQL are
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # fixed timestamps: the same code gives the same bytes


@dataclass(frozen=True)
class Bundle:
    """The local files of a release, before staging."""

    release_id: str
    package_zip: Path
    expectations_zip: Path
    jobs: Mapping[str, Path]  # job name -> main Python file
    config: Path
    datasets_zip: Path

    def files(self) -> dict[str, Path]:
        """Object name under the release folder -> local file."""
        names = {
            self.package_zip.name: self.package_zip,
            self.expectations_zip.name: self.expectations_zip,
            self.datasets_zip.name: self.datasets_zip,
            self.config.name: self.config,
        }
        names.update({f"jobs/{path.name}": path for path in self.jobs.values()})
        return names


@dataclass(frozen=True)
class Release:
    """Where a staged release is: the URIs a Dataproc request names."""

    base_uri: str
    package_uri: str
    expectations_uri: str
    config_uri: str
    datasets_uri: str
    main_uris: Mapping[str, str]

    @property
    def config_name(self) -> str:
        """The configuration's file name, as the job finds it in its working directory."""
        return self.config_uri.rsplit("/", 1)[1]


def project_root() -> Path:
    """The checkout that holds the package, ``jobs/`` and ``expectations/``."""
    root = Path(__file__).resolve().parents[2]
    missing = [
        d for d in ("lakehouse", "jobs", SUITE_FOLDER, DATASETS_FOLDER) if not (root / d).is_dir()
    ]
    if missing:
        raise SubmitError(
            f"cannot package a release from {str(root)!r}: no {', '.join(missing)} folder; "
            "run lakehouse submit from a checkout of the repository"
        )
    return root


def check_job_config(config: LakehouseConfig, config_file: Path) -> None:
    """Refuse a configuration that cannot work on Dataproc, before anything is staged."""
    if config.spark.mode != "dataproc":
        raise SubmitError(
            f"{config_file}: spark.mode is {config.spark.mode!r}; the jobs run with the "
            'cluster\'s Spark: set [spark] mode = "dataproc" in the file you submit'
        )
    expected = (config_file.resolve().parent / SUITE_FOLDER).resolve()
    if config.quality.enabled and Path(config.quality.suite_dir).resolve() != expected:
        raise SubmitError(
            f"{config_file}: quality.suite_dir is {config.quality.suite_dir!r}; on Dataproc the "
            f"suites are in ./{SUITE_FOLDER} next to the configuration: set "
            f'suite_dir = "{SUITE_FOLDER}"'
        )
    datasets = (config_file.resolve().parent / DATASETS_FOLDER).resolve()
    if Path(config.datasets.dir).resolve() != datasets:
        raise SubmitError(
            f"{config_file}: datasets.dir is {config.datasets.dir!r}; on Dataproc the dataset "
            f"folders are in ./{DATASETS_FOLDER} next to the configuration: set "
            f'dir = "{DATASETS_FOLDER}" in [datasets]'
        )


def _write_zip(target: Path, members: Iterable[tuple[str, Path]]) -> None:
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, path in sorted(members):
            info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, path.read_bytes())


def _package_members(root: Path) -> list[tuple[str, Path]]:
    package = root / "lakehouse"
    return [
        (path.relative_to(root).as_posix(), path)
        for path in package.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
    ]


def build_bundle(root: Path, config_file: Path, out_dir: Path) -> Bundle:
    """Write the release files of the checkout ``root`` and ``config_file`` into ``out_dir``."""
    if not config_file.is_file():
        raise SubmitError(f"config file {str(config_file)!r} does not exist or is not a file")
    out_dir.mkdir(parents=True, exist_ok=True)
    package_zip = out_dir / "lakehouse.zip"
    _write_zip(package_zip, _package_members(root))
    suites = sorted((root / SUITE_FOLDER).glob("*.json"))
    if not suites:
        raise SubmitError(f"no expectation suites (*.json) in {str(root / SUITE_FOLDER)!r}")
    expectations_zip = out_dir / "expectations.zip"
    _write_zip(expectations_zip, [(p.name, p) for p in suites])
    folder = root / DATASETS_FOLDER
    contracts = [p for p in sorted(folder.rglob("*")) if p.is_file()]
    if not any(p.name == "contract.yaml" for p in contracts):
        raise SubmitError(f"no dataset contracts (*/contract.yaml) in {str(folder)!r}")
    datasets_zip = out_dir / "datasets.zip"
    _write_zip(datasets_zip, [(p.relative_to(folder).as_posix(), p) for p in contracts])
    (out_dir / "jobs").mkdir(exist_ok=True)
    jobs = {}
    for job, name in JOB_FILES.items():
        jobs[job] = out_dir / "jobs" / name
        shutil.copyfile(root / "jobs" / name, jobs[job])
    config = out_dir / config_file.name
    shutil.copyfile(config_file, config)
    digest = hashlib.sha256()
    for path in (package_zip, expectations_zip, datasets_zip, *jobs.values(), config):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    release_id = f"lakehouse-{version('lakehouse')}-{digest.hexdigest()[:12]}"
    return Bundle(release_id, package_zip, expectations_zip, jobs, config, datasets_zip)


def release_uris(bundle: Bundle, staging_uri: str) -> Release:
    """The URIs the files of ``bundle`` have once staged under ``staging_uri``."""
    if not staging_uri.startswith(("gs://", "file://")):
        raise SubmitError(
            f"dataproc.staging_uri: {staging_uri!r} is not valid; "
            "give a gs://bucket/prefix (or a file:// folder)"
        )
    base = f"{staging_uri.rstrip('/')}/{bundle.release_id}"
    return Release(
        base_uri=base,
        package_uri=f"{base}/{bundle.package_zip.name}",
        expectations_uri=f"{base}/{bundle.expectations_zip.name}",
        config_uri=f"{base}/{bundle.config.name}",
        datasets_uri=f"{base}/{bundle.datasets_zip.name}",
        main_uris={job: f"{base}/jobs/{path.name}" for job, path in bundle.jobs.items()},
    )


def stage(bundle: Bundle, staging_uri: str, storage_client: Any | None = None) -> Release:
    """Copy the files of ``bundle`` to ``staging_uri`` and return their URIs.

    ``file://`` copies locally; ``gs://`` uploads with google-cloud-storage (``storage_client``,
    default ``google.cloud.storage.Client()`` with the application default credentials).
    """
    release = release_uris(bundle, staging_uri)
    parsed = urlparse(release.base_uri)
    if parsed.scheme == "file":
        base = Path(parsed.path)
        for name, path in bundle.files().items():
            (base / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, base / name)
        return release
    _upload(bundle, parsed.netloc, parsed.path.lstrip("/"), storage_client)
    return release


def _upload(bundle: Bundle, bucket_name: str, prefix: str, client: Any | None) -> None:
    from google.api_core.exceptions import GoogleAPICallError
    from google.auth.exceptions import GoogleAuthError

    try:
        if client is None:
            from google.cloud import storage

            client = storage.Client()
        bucket = client.bucket(bucket_name)
        for name, path in bundle.files().items():
            bucket.blob(f"{prefix}/{name}").upload_from_filename(str(path))
    except (GoogleAPICallError, GoogleAuthError) as exc:
        raise SubmitError(
            f"staging to gs://{bucket_name}/{prefix} failed: {str(exc).splitlines()[0]}"
        ) from exc
