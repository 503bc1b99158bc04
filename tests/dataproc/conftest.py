"""A job configuration for Dataproc submissions, staged to a local ``file://`` folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from lakehouse.config import LakehouseConfig, load_config

PROJECT = "lake-dev"
REGION = "europe-west1"
RUNTIME_SA = "lakehouse-runtime@lake-dev.iam.gserviceaccount.com"
SUBNETWORK = "projects/lake-dev/regions/europe-west1/subnetworks/lakehouse-dev"
KEY_SECRET = "projects/lake-dev/secrets/lakehouse-pseudonym-key/versions/latest"


def write_job_config(folder: Path, extra: str = "") -> Path:
    """A configuration as one submits it: Dataproc Spark, suites in ./expectations."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "job.toml"
    path.write_text(
        '[lake]\nroot = "lake"\ncheckpoint_root = "checkpoints"\n'
        '[source]\nlanding_path = "landing"\n'
        '[trigger]\nmode = "processing-time"\ninterval = "30 seconds"\n'
        '[spark]\nmode = "dataproc"\nshuffle_partitions = 2\n'
        '[quality]\nsuite_dir = "expectations"\n'
        f'[dataproc]\nproject = "{PROJECT}"\nregion = "{REGION}"\n'
        f'staging_uri = "file://{folder / "staging"}"\n'
        f'service_account = "{RUNTIME_SA}"\nsubnetwork = "{SUBNETWORK}"\n'
        'cluster = "lakehouse-dev"\n'
        f'[privacy]\npseudonym_key_secret = "{KEY_SECRET}"\n' + extra
    )
    return path


@pytest.fixture
def job_config(tmp_path: Path) -> tuple[LakehouseConfig, Path]:
    path = write_job_config(tmp_path / "conf")
    return load_config(path, env={}), path


def staged_base(config: LakehouseConfig) -> str:
    """The one release folder under the configured file:// staging URI."""
    staging = Path(config.dataproc.staging_uri.removeprefix("file://"))
    (release,) = staging.iterdir()
    return f"file://{release}"
