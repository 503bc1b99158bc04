"""``lakehouse submit``: package, stage, build the request, submit it and wait."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from google.cloud import dataproc_v1

from lakehouse.config import LakehouseConfig, parse_duration
from lakehouse.dataproc import package, submit
from lakehouse.dataproc.keycheck import check_key_config
from lakehouse.errors import SubmitError

if TYPE_CHECKING:
    import grpc

__all__ = ["Request", "Submission", "launch", "workload_id"]

Request = dataproc_v1.CreateBatchRequest | dataproc_v1.SubmitJobRequest


@dataclass(frozen=True)
class Submission:
    """What to run where: a job, Serverless or a cluster, and how it is triggered."""

    job: str
    serverless: bool
    cluster: str = ""  # with serverless=False; empty: dataproc.cluster
    trigger: str | None = None  # a processing-time interval: a streaming job
    available_now: bool = False  # drain what is there and stop: a bounded job
    workload_id: str = ""  # batch or job id; empty: lakehouse-<job>-<UTC time>

    def __post_init__(self) -> None:
        if self.job not in package.JOB_FILES:
            raise SubmitError(
                f"unknown job {self.job!r}; choose one of {', '.join(package.JOB_FILES)}"
            )
        if self.trigger is not None:
            parse_duration(self.trigger, "--trigger")


def workload_id(job: str, now: datetime | None = None) -> str:
    """A batch or job id Dataproc accepts (``[a-z0-9-]``, at most 63 characters)."""
    now = now or datetime.now(UTC)
    return f"lakehouse-{job}-{now:%Y%m%d-%H%M%S}"


def _streaming(config: LakehouseConfig, submission: Submission) -> bool:
    if submission.available_now:
        return False
    return submission.trigger is not None or config.trigger.mode == "processing-time"


def launch(
    config: LakehouseConfig,
    config_file: Path,
    submission: Submission,
    *,
    dry_run: bool = False,
    wait: bool = True,
    say: submit.Say = print,
    channel: grpc.Channel | None = None,
    storage_client: Any | None = None,
    poll_seconds: float = 10.0,
    root: Path | None = None,
) -> Request:
    """Build the release and the request; unless ``dry_run``, stage and submit it.

    Everything that can be refused locally (configuration, runtime version, missing
    settings) is refused before anything is staged. Returns the request.
    """
    package.check_job_config(config, config_file)
    check_key_config(config_file, submission.job)
    dataproc = config.dataproc
    if not dataproc.staging_uri:
        raise SubmitError(
            "dataproc.staging_uri not set; give a gs://bucket/prefix in [dataproc] "
            "or as LAKEHOUSE_DATAPROC_STAGING_URI"
        )
    ident = submission.workload_id or workload_id(submission.job)
    args = submit.job_args(config_file.name, submission.trigger, submission.available_now)
    streaming = _streaming(config, submission)
    with tempfile.TemporaryDirectory(prefix="lakehouse-release-") as tmp:
        bundle = package.build_bundle(root or package.project_root(), config_file, Path(tmp))
        release = package.release_uris(bundle, dataproc.staging_uri)
        request: Request
        if submission.serverless:
            request = submit.batch_request(
                dataproc, release, submission.job, args, streaming=streaming, batch_id=ident
            )
        else:
            request = submit.cluster_request(
                dataproc,
                release,
                submission.job,
                args,
                streaming=streaming,
                cluster=submission.cluster or dataproc.cluster,
                job_id=ident,
            )
        if dry_run:
            return request
        package.stage(bundle, dataproc.staging_uri, storage_client)
    say(f"staged {release.base_uri}")
    if isinstance(request, dataproc_v1.CreateBatchRequest):
        client = submit.batch_client(dataproc.region, channel)
        submit.run_batch(client, request, say, wait=wait, poll_seconds=poll_seconds)
    else:
        jobs = submit.job_client(dataproc.region, channel)
        submit.run_cluster_job(jobs, request, say, wait=wait, poll_seconds=poll_seconds)
    return request
