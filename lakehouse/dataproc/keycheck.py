"""The pseudonym key of a job on Dataproc comes from Secret Manager, never with the job.

The configuration file is staged with the job as it is (to a bucket, readable by whoever
reads the staging prefix); environment overrides apply to the submitting process only. So
the file a job runs with must name the key's secret version, and must not hold the key or a
local key file. Nothing of the submitting process's own key (``LAKEHOUSE_PRIVACY_PSEUDONYM_KEY``)
is staged, sent in the request, passed as an argument or Spark property, or printed.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from lakehouse.errors import SubmitError

__all__ = ["KEY_JOBS", "check_key_config"]

KEY_JOBS = ("silver",)  # the jobs that pseudonymize
_EXAMPLE = 'pseudonym_key_secret = "projects/PROJECT/secrets/NAME/versions/VERSION"'


def _privacy(config_file: Path) -> dict[str, Any]:
    with config_file.open("rb") as handle:
        section = tomllib.load(handle).get("privacy", {})
    return dict(section) if isinstance(section, dict) else {}


def check_key_config(config_file: Path, job: str) -> None:
    """Refuse a job configuration that would stage the key, or give a key job none."""
    privacy = _privacy(config_file)
    if privacy.get("pseudonym_key"):
        raise SubmitError(
            f"{config_file}: [privacy] pseudonym_key is the key in plain text and would be "
            f"staged with the job; delete it and set [privacy] {_EXAMPLE}"
        )
    if privacy.get("pseudonym_key_file"):
        raise SubmitError(
            f"{config_file}: [privacy] pseudonym_key_file names a file of this machine the job "
            f"cannot read on Dataproc; delete it and set [privacy] {_EXAMPLE}"
        )
    if privacy.get("secret_manager_insecure") or privacy.get("secret_manager_endpoint"):
        raise SubmitError(
            f"{config_file}: [privacy] secret_manager_endpoint / secret_manager_insecure are "
            "for local fakes; delete them (jobs use secretmanager.googleapis.com with the "
            "runtime service account)"
        )
    if job in KEY_JOBS and not privacy.get("pseudonym_key_secret"):
        raise SubmitError(
            f"{config_file}: the {job} job needs the pseudonym key, which on Dataproc comes "
            f"from Secret Manager: set [privacy] {_EXAMPLE} (a key in the environment stays on "
            "this machine)"
        )
