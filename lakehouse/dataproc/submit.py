"""Dataproc requests for a staged release, and the calls that submit them and wait.

``--serverless`` is a Serverless batch (``BatchController.CreateBatch``, a long-running
operation); ``--cluster`` is a job on a cluster (``JobController.SubmitJob``, then ``GetJob``
until it ends). Both go to the regional endpoint ``{region}-dataproc.googleapis.com:443``;
tests pass a ``channel`` to a local server instead.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from google.api_core.exceptions import GoogleAPICallError
from google.cloud import dataproc_v1
from google.cloud.dataproc_v1.services.batch_controller.transports import (
    BatchControllerGrpcTransport,
)
from google.cloud.dataproc_v1.services.job_controller.transports import JobControllerGrpcTransport
from google.protobuf import duration_pb2

from lakehouse.config import DataprocConfig
from lakehouse.dataproc.package import JOB_FILES, Release
from lakehouse.dataproc.properties import cluster_runtime, job_properties, serverless_runtime
from lakehouse.errors import SubmitError

if TYPE_CHECKING:
    import grpc
    from google.auth.credentials import Credentials

__all__ = [
    "batch_client",
    "batch_request",
    "cluster_request",
    "job_args",
    "job_client",
    "regional_endpoint",
    "run_batch",
    "run_cluster_job",
]

Say = Callable[[str], None]
_JOB_DONE = {
    dataproc_v1.JobStatus.State.DONE,
    dataproc_v1.JobStatus.State.ERROR,
    dataproc_v1.JobStatus.State.CANCELLED,
}


def regional_endpoint(region: str) -> str:
    """The Dataproc API endpoint of ``region`` (batches and regional jobs need it)."""
    return f"{region}-dataproc.googleapis.com:443"


def batch_client(
    region: str, channel: grpc.Channel | None = None, credentials: Credentials | None = None
) -> dataproc_v1.BatchControllerClient:
    """A BatchController client for ``region`` (application default credentials unless
    ``credentials``), or on ``channel`` when given (a local server in tests)."""
    if channel is not None:
        transport = BatchControllerGrpcTransport(channel=channel)
        return dataproc_v1.BatchControllerClient(transport=transport)
    return dataproc_v1.BatchControllerClient(
        credentials=credentials, client_options={"api_endpoint": regional_endpoint(region)}
    )


def job_client(
    region: str, channel: grpc.Channel | None = None, credentials: Credentials | None = None
) -> dataproc_v1.JobControllerClient:
    """A JobController client for ``region``, or on ``channel`` when given (tests)."""
    if channel is not None:
        transport = JobControllerGrpcTransport(channel=channel)
        return dataproc_v1.JobControllerClient(transport=transport)
    return dataproc_v1.JobControllerClient(
        credentials=credentials, client_options={"api_endpoint": regional_endpoint(region)}
    )


def job_args(config_name: str, trigger: str | None, available_now: bool) -> list[str]:
    """The driver arguments: the same as ``lakehouse run <layer>`` takes."""
    args = ["--config", config_name]
    if available_now:
        args.append("--available-now")
    elif trigger:
        args += ["--trigger", trigger]
    return args


def _require(config: DataprocConfig, *names: str) -> None:
    missing = [f"dataproc.{n}" for n in names if not getattr(config, n)]
    if missing:
        raise SubmitError(
            f"{', '.join(missing)} not set; give it in [dataproc] of the configuration file or "
            f"as LAKEHOUSE_DATAPROC_{missing[0].split('.')[1].upper()}"
        )


def _main_uri(release: Release, job: str) -> str:
    try:
        return release.main_uris[job]
    except KeyError:
        raise SubmitError(f"unknown job {job!r}; choose one of {', '.join(JOB_FILES)}") from None


def _labels(job: str) -> dict[str, str]:
    return {"app": "lakehouse", "job": job}


def batch_request(
    config: DataprocConfig,
    release: Release,
    job: str,
    args: Sequence[str],
    *,
    streaming: bool,
    batch_id: str,
) -> dataproc_v1.CreateBatchRequest:
    """A Serverless batch running ``job`` of ``release``.

    A streaming job gets ``dataproc.streaming_ttl`` (without a ttl a batch stops after 4 hours).
    """
    _require(config, "project", "service_account")
    runtime = serverless_runtime(config.runtime_version)
    execution = dataproc_v1.ExecutionConfig(service_account=config.service_account)
    if config.subnetwork:
        execution.subnetwork_uri = config.subnetwork
    if streaming:
        execution.ttl = duration_pb2.Duration(seconds=config.streaming_ttl_seconds)
    batch = dataproc_v1.Batch(
        pyspark_batch=dataproc_v1.PySparkBatch(
            main_python_file_uri=_main_uri(release, job),
            args=list(args),
            python_file_uris=[release.package_uri],
            file_uris=[release.config_uri],
            archive_uris=[
                f"{release.expectations_uri}#expectations",
                f"{release.datasets_uri}#datasets",
            ],
        ),
        runtime_config=dataproc_v1.RuntimeConfig(
            version=runtime.version, properties=job_properties(runtime, serverless=True)
        ),
        environment_config=dataproc_v1.EnvironmentConfig(execution_config=execution),
        labels=_labels(job),
    )
    return dataproc_v1.CreateBatchRequest(
        parent=f"projects/{config.project}/locations/{config.region}",
        batch=batch,
        batch_id=batch_id,
        request_id=batch_id,
    )


def cluster_request(
    config: DataprocConfig,
    release: Release,
    job: str,
    args: Sequence[str],
    *,
    streaming: bool,
    cluster: str,
    job_id: str,
) -> dataproc_v1.SubmitJobRequest:
    """A job running ``job`` of ``release`` on ``cluster``; a streaming job is restartable."""
    _require(config, "project")
    if not cluster:
        raise SubmitError("no cluster: give --cluster NAME or set dataproc.cluster")
    runtime = cluster_runtime(config.image_version)
    dataproc_job = dataproc_v1.Job(
        reference=dataproc_v1.JobReference(project_id=config.project, job_id=job_id),
        placement=dataproc_v1.JobPlacement(cluster_name=cluster),
        pyspark_job=dataproc_v1.PySparkJob(
            main_python_file_uri=_main_uri(release, job),
            args=list(args),
            python_file_uris=[release.package_uri],
            file_uris=[release.config_uri],
            archive_uris=[
                f"{release.expectations_uri}#expectations",
                f"{release.datasets_uri}#datasets",
            ],
            properties=job_properties(runtime, serverless=False),
        ),
        labels=_labels(job),
    )
    if streaming:
        dataproc_job.scheduling = dataproc_v1.JobScheduling(
            max_failures_per_hour=config.max_failures_per_hour,
            max_failures_total=config.max_failures_total,
        )
    return dataproc_v1.SubmitJobRequest(
        project_id=config.project, region=config.region, job=dataproc_job, request_id=job_id
    )


def _refused(what: str, exc: GoogleAPICallError) -> SubmitError:
    code = exc.grpc_status_code.name if exc.grpc_status_code is not None else exc.code
    return SubmitError(f"Dataproc refused {what}: {code}: {exc.message}")


def run_batch(
    client: dataproc_v1.BatchControllerClient,
    request: dataproc_v1.CreateBatchRequest,
    say: Say,
    *,
    wait: bool = True,
    poll_seconds: float = 10.0,
) -> dataproc_v1.Batch | None:
    """Create the batch; with ``wait``, poll its operation until it ends and return the batch.

    A batch that ends FAILED or CANCELLED is a SubmitError with Dataproc's message.
    """
    name = f"{request.parent}/batches/{request.batch_id}"
    try:
        operation = client.create_batch(request=request)
        say(f"submitted batch {name}")
        if not wait:
            return None
        started = time.monotonic()
        while not operation.done():  # type: ignore[no-untyped-call]
            say(f"  waiting for batch {request.batch_id}: {time.monotonic() - started:.0f}s")
            time.sleep(poll_seconds)
        batch: dataproc_v1.Batch = operation.result()  # type: ignore[no-untyped-call]
    except GoogleAPICallError as exc:
        raise _refused(f"batch {name}", exc) from exc
    state = dataproc_v1.Batch.State(batch.state).name
    say(f"batch {request.batch_id}: {state}")
    if batch.state != dataproc_v1.Batch.State.SUCCEEDED:
        raise SubmitError(f"batch {name} ended {state}: {batch.state_message or 'no message'}")
    return batch


def run_cluster_job(
    client: dataproc_v1.JobControllerClient,
    request: dataproc_v1.SubmitJobRequest,
    say: Say,
    *,
    wait: bool = True,
    poll_seconds: float = 10.0,
) -> dataproc_v1.Job:
    """Submit the job; with ``wait``, poll it until it ends, saying each state it reaches.

    A job that ends in ERROR or CANCELLED is a SubmitError with Dataproc's details.
    """
    what = f"job {request.job.reference.job_id} on cluster {request.job.placement.cluster_name}"
    try:
        job = client.submit_job(request=request)
        say(f"submitted {what}")
        last = None
        while wait:
            state = dataproc_v1.JobStatus.State(job.status.state)
            if state != last:
                say(f"  {request.job.reference.job_id}: {state.name}")
                last = state
            if state in _JOB_DONE:
                break
            time.sleep(poll_seconds)
            job = client.get_job(
                project_id=request.project_id,
                region=request.region,
                job_id=request.job.reference.job_id,
            )
    except GoogleAPICallError as exc:
        raise _refused(what, exc) from exc
    if wait and job.status.state != dataproc_v1.JobStatus.State.DONE:
        state_name = dataproc_v1.JobStatus.State(job.status.state).name
        raise SubmitError(f"{what} ended {state_name}: {job.status.details or 'no details'}")
    return job
