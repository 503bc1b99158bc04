"""An in-process gRPC server that answers like Dataproc's BatchController, JobController and
long-running Operations, and remembers every request it received.

google-cloud-dataproc ships no servicer base classes, so the methods are registered as generic
handlers with the same paths and (de)serializers as the client's transports.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent import futures
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import grpc
from google.cloud import dataproc_v1
from google.longrunning import operations_pb2
from google.protobuf import any_pb2
from google.rpc import status_pb2

__all__ = ["FakeDataproc", "serve"]

State = dataproc_v1.JobStatus.State


@dataclass
class FakeDataproc:
    """What the fake answers, and what it was asked.

    ``error`` makes CreateBatch and SubmitJob fail with that status; ``operation_error`` makes
    the batch operation end with that error; the batch operation is done after
    ``polls_until_done`` GetOperation calls; GetJob walks through ``job_states``.
    """

    error: tuple[grpc.StatusCode, str] | None = None
    operation_error: tuple[int, str] | None = None
    polls_until_done: int = 2
    batch_state: int = dataproc_v1.Batch.State.SUCCEEDED
    job_states: list[int] = field(default_factory=lambda: [State.RUNNING, State.DONE])
    job_details: str = ""
    requests: list[Any] = field(default_factory=list)  # every request, in order
    _batch: dataproc_v1.Batch | None = None
    _job: dataproc_v1.Job | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _record(self, request: Any, context: grpc.ServicerContext) -> None:
        with self._lock:
            self.requests.append(request)
        if self.error is not None and not isinstance(request, operations_pb2.GetOperationRequest):
            context.abort(*self.error)

    def create_batch(
        self, request: dataproc_v1.CreateBatchRequest, context: grpc.ServicerContext
    ) -> operations_pb2.Operation:
        self._record(request, context)
        name = f"{request.parent}/batches/{request.batch_id}"
        self._batch = dataproc_v1.Batch(request.batch, name=name, uuid="uuid-1")
        metadata = dataproc_v1.BatchOperationMetadata(
            batch=name, batch_uuid="uuid-1", description="Batch"
        )
        return operations_pb2.Operation(
            name=f"{request.parent}/operations/op-1", done=False, metadata=_pack(metadata)
        )

    def get_operation(
        self, request: operations_pb2.GetOperationRequest, context: grpc.ServicerContext
    ) -> operations_pb2.Operation:
        self._record(request, context)
        polls = sum(isinstance(r, operations_pb2.GetOperationRequest) for r in self.requests)
        assert self._batch is not None, "GetOperation before CreateBatch"
        metadata = dataproc_v1.BatchOperationMetadata(
            batch=self._batch.name, batch_uuid="uuid-1", description="Batch"
        )
        operation = operations_pb2.Operation(
            name=request.name, done=polls >= self.polls_until_done, metadata=_pack(metadata)
        )
        if operation.done and self.operation_error is not None:
            code, message = self.operation_error
            operation.error.CopyFrom(status_pb2.Status(code=code, message=message))
        elif operation.done:
            self._batch.state = dataproc_v1.Batch.State(self.batch_state)
            operation.response.CopyFrom(_pack(self._batch))
        return operation

    def submit_job(
        self, request: dataproc_v1.SubmitJobRequest, context: grpc.ServicerContext
    ) -> dataproc_v1.Job:
        self._record(request, context)
        self._job = dataproc_v1.Job(request.job, job_uuid="uuid-2")
        self._job.status = dataproc_v1.JobStatus(state=State.PENDING)
        return self._job

    def get_job(
        self, request: dataproc_v1.GetJobRequest, context: grpc.ServicerContext
    ) -> dataproc_v1.Job:
        self._record(request, context)
        assert self._job is not None, "GetJob before SubmitJob"
        state = self.job_states.pop(0) if len(self.job_states) > 1 else self.job_states[0]
        self._job.status = dataproc_v1.JobStatus(state=state, details=self.job_details)
        return self._job

    def handlers(self) -> list[grpc.GenericRpcHandler]:
        def unary(method: Any, request_type: Any, response_serializer: Any) -> Any:
            return grpc.unary_unary_rpc_method_handler(
                method,
                request_deserializer=request_type,
                response_serializer=response_serializer,
            )

        operation_out = operations_pb2.Operation.SerializeToString
        return [
            grpc.method_handlers_generic_handler(
                "google.cloud.dataproc.v1.BatchController",
                {
                    "CreateBatch": unary(
                        self.create_batch,
                        dataproc_v1.CreateBatchRequest.deserialize,
                        operation_out,
                    )
                },
            ),
            grpc.method_handlers_generic_handler(
                "google.cloud.dataproc.v1.JobController",
                {
                    "SubmitJob": unary(
                        self.submit_job,
                        dataproc_v1.SubmitJobRequest.deserialize,
                        dataproc_v1.Job.serialize,
                    ),
                    "GetJob": unary(
                        self.get_job,
                        dataproc_v1.GetJobRequest.deserialize,
                        dataproc_v1.Job.serialize,
                    ),
                },
            ),
            grpc.method_handlers_generic_handler(
                "google.longrunning.Operations",
                {
                    "GetOperation": unary(
                        self.get_operation,
                        operations_pb2.GetOperationRequest.FromString,
                        operation_out,
                    )
                },
            ),
        ]


def _pack(message: Any) -> any_pb2.Any:
    packed = any_pb2.Any()
    packed.Pack(type(message).pb(message))
    return packed


@contextmanager
def serve(fake: FakeDataproc) -> Iterator[grpc.Channel]:
    """Run ``fake`` on a free local port; yield an insecure channel to it."""
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    for handler in fake.handlers():
        server.add_generic_rpc_handlers((handler,))
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    try:
        yield channel
    finally:
        channel.close()
        server.stop(grace=None)
