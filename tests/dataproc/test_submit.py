"""``launch`` against a fake Dataproc over a real gRPC channel: the exact requests that reach
the server, waiting with progress, and clear errors when the server says no."""

from __future__ import annotations

import zipfile
from pathlib import Path

import grpc
import pytest
from google.auth.credentials import AnonymousCredentials
from google.cloud import dataproc_v1
from google.longrunning import operations_pb2
from google.protobuf import duration_pb2

from lakehouse.config import LakehouseConfig
from lakehouse.dataproc.launch import Submission, launch
from lakehouse.dataproc.submit import batch_client, job_client, regional_endpoint
from lakehouse.errors import SubmitError
from tests.dataproc.conftest import PROJECT, REGION, RUNTIME_SA, SUBNETWORK, staged_base
from tests.dataproc.fake_dataproc import FakeDataproc, serve

REPO = Path(__file__).resolve().parents[2]
DELTA = {
    "spark.sql.extensions": "io.delta.sql.DeltaSparkSessionExtension",
    "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.delta.catalog.DeltaCatalog",
}
JobConfig = tuple[LakehouseConfig, Path]


def _launch(
    job_config: JobConfig, fake: FakeDataproc, submission: Submission, said: list[str]
) -> None:
    config, path = job_config
    with serve(fake) as channel:
        launch(config, path, submission, say=said.append, channel=channel, poll_seconds=0.01)


@pytest.mark.parametrize("bounded", [False, True], ids=["streaming", "available-now"])
def test_serverless_batch_request_reaches_the_server(job_config: JobConfig, bounded: bool) -> None:
    fake, said = FakeDataproc(polls_until_done=2), list[str]()
    submission = Submission(
        "bronze",
        serverless=True,
        trigger=None if bounded else "1 minute",
        available_now=bounded,
        workload_id="lakehouse-bronze-1",
    )
    _launch(job_config, fake, submission, said)

    base = staged_base(job_config[0])
    execution = dataproc_v1.ExecutionConfig(service_account=RUNTIME_SA, subnetwork_uri=SUBNETWORK)
    if not bounded:  # a streaming batch runs up to 14 days instead of the 4-hour default
        execution.ttl = duration_pb2.Duration(seconds=14 * 86400)
    expected = dataproc_v1.CreateBatchRequest(
        parent=f"projects/{PROJECT}/locations/{REGION}",
        batch_id="lakehouse-bronze-1",
        request_id="lakehouse-bronze-1",
        batch=dataproc_v1.Batch(
            pyspark_batch=dataproc_v1.PySparkBatch(
                main_python_file_uri=f"{base}/jobs/bronze_ingest.py",
                args=["--config", "job.toml"]
                + (["--available-now"] if bounded else ["--trigger", "1 minute"]),
                python_file_uris=[f"{base}/lakehouse.zip"],
                file_uris=[f"{base}/job.toml"],
                archive_uris=[
                    f"{base}/expectations.zip#expectations",
                    f"{base}/datasets.zip#datasets",
                ],
            ),
            runtime_config=dataproc_v1.RuntimeConfig(
                version="3.0",
                properties={**DELTA, "spark.jars.packages": "io.delta:delta-spark_4.0_2.13:4.2.0"},
            ),
            environment_config=dataproc_v1.EnvironmentConfig(execution_config=execution),
            labels={"app": "lakehouse", "job": "bronze"},
        ),
    )
    create, *polls = fake.requests
    assert create == expected
    assert (
        polls
        == [
            operations_pb2.GetOperationRequest(
                name=f"projects/{PROJECT}/locations/{REGION}/operations/op-1"
            )
        ]
        * 2
    )
    assert said[0].startswith("staged file://")
    assert (
        said[1]
        == f"submitted batch projects/{PROJECT}/locations/{REGION}/batches/lakehouse-bronze-1"
    )
    assert said[-1] == "batch lakehouse-bronze-1: SUCCEEDED"
    # what the request names is there: the job's main file and the package
    assert (
        Path(f"{base}/jobs/bronze_ingest.py".removeprefix("file://")).read_text()
        == (REPO / "jobs" / "bronze_ingest.py").read_text()
    )
    with zipfile.ZipFile(f"{base}/lakehouse.zip".removeprefix("file://")) as package:
        assert "lakehouse/cli/__init__.py" in package.namelist()


def test_streaming_cluster_job_request_reaches_the_server(job_config: JobConfig) -> None:
    state = dataproc_v1.JobStatus.State
    fake, said = FakeDataproc(job_states=[state.RUNNING, state.RUNNING, state.DONE]), list[str]()
    submission = Submission("silver", serverless=False, workload_id="lakehouse-silver-1")
    _launch(job_config, fake, submission, said)

    base = staged_base(job_config[0])
    expected = dataproc_v1.SubmitJobRequest(
        project_id=PROJECT,
        region=REGION,
        request_id="lakehouse-silver-1",
        job=dataproc_v1.Job(
            reference=dataproc_v1.JobReference(project_id=PROJECT, job_id="lakehouse-silver-1"),
            placement=dataproc_v1.JobPlacement(cluster_name="lakehouse-dev"),
            pyspark_job=dataproc_v1.PySparkJob(
                main_python_file_uri=f"{base}/jobs/silver_refine.py",
                args=["--config", "job.toml"],  # the file's trigger: processing-time
                python_file_uris=[f"{base}/lakehouse.zip"],
                file_uris=[f"{base}/job.toml"],
                archive_uris=[
                    f"{base}/expectations.zip#expectations",
                    f"{base}/datasets.zip#datasets",
                ],
                # image 3.0 has the Delta component: no jars, the extension and catalog only
                properties={**DELTA, "spark.submit.deployMode": "cluster"},
            ),
            scheduling=dataproc_v1.JobScheduling(max_failures_per_hour=5, max_failures_total=50),
            labels={"app": "lakehouse", "job": "silver"},
        ),
    )
    submit, *gets = fake.requests
    assert submit == expected
    get = dataproc_v1.GetJobRequest(project_id=PROJECT, region=REGION, job_id="lakehouse-silver-1")
    assert gets == [get] * 3
    assert said[1:] == [
        "submitted job lakehouse-silver-1 on cluster lakehouse-dev",
        "  lakehouse-silver-1: PENDING",
        "  lakehouse-silver-1: RUNNING",
        "  lakehouse-silver-1: DONE",
    ]


def test_cluster_named_on_the_command_line_and_no_wait(job_config: JobConfig) -> None:
    fake, said = FakeDataproc(), list[str]()
    submission = Submission(
        "gold", serverless=False, cluster="other", available_now=True, workload_id="g-1"
    )
    config, path = job_config
    with serve(fake) as channel:
        request = launch(config, path, submission, say=said.append, channel=channel, wait=False)
    (submit,) = fake.requests
    assert submit == request
    assert isinstance(request, dataproc_v1.SubmitJobRequest)
    assert request.job.placement.cluster_name == "other"
    assert "scheduling" not in request.job  # a bounded run is not restarted
    assert list(request.job.pyspark_job.args) == ["--config", "job.toml", "--available-now"]


@pytest.mark.parametrize("serverless", [True, False], ids=["batch", "cluster-job"])
def test_an_error_status_from_the_server_is_a_clear_error(
    job_config: JobConfig, serverless: bool
) -> None:
    denied = "Permission 'dataproc.batches.create' denied on resource"
    fake = FakeDataproc(error=(grpc.StatusCode.PERMISSION_DENIED, denied))
    submission = Submission("bronze", serverless=serverless, workload_id="b-1")
    with pytest.raises(SubmitError) as error:
        _launch(job_config, fake, submission, [])
    what = (
        f"batch projects/{PROJECT}/locations/{REGION}/batches/b-1"
        if serverless
        else "job b-1 on cluster lakehouse-dev"
    )
    assert str(error.value) == f"Dataproc refused {what}: PERMISSION_DENIED: {denied}"
    assert len(fake.requests) == 1  # not retried


def test_a_batch_whose_operation_fails_is_a_clear_error(job_config: JobConfig) -> None:
    fake = FakeDataproc(operation_error=(9, "Batch failed: driver exited with code 2"))
    submission = Submission("bronze", serverless=True, workload_id="b-2")
    with pytest.raises(SubmitError) as error:
        _launch(job_config, fake, submission, [])
    assert str(error.value) == (
        f"Dataproc refused batch projects/{PROJECT}/locations/{REGION}/batches/b-2: "
        "FAILED_PRECONDITION: Batch failed: driver exited with code 2"
    )


def test_a_job_ending_in_error_is_a_clear_error(job_config: JobConfig) -> None:
    state = dataproc_v1.JobStatus.State
    fake = FakeDataproc(job_states=[state.ERROR], job_details="Job failed with message [boom]")
    submission = Submission("bronze", serverless=False, workload_id="j-3")
    with pytest.raises(SubmitError) as error:
        _launch(job_config, fake, submission, [])
    assert str(error.value) == (
        "job j-3 on cluster lakehouse-dev ended ERROR: Job failed with message [boom]"
    )


def test_production_clients_call_the_regional_endpoint() -> None:
    assert regional_endpoint("us-central1") == "us-central1-dataproc.googleapis.com:443"
    anonymous = AnonymousCredentials()  # type: ignore[no-untyped-call]
    batches = batch_client("europe-west4", credentials=anonymous)
    jobs = job_client("europe-west4", credentials=anonymous)
    assert batches.api_endpoint == "europe-west4-dataproc.googleapis.com:443"
    assert jobs.api_endpoint == "europe-west4-dataproc.googleapis.com:443"
