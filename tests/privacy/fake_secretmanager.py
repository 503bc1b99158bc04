"""An in-process gRPC server that answers like Secret Manager's AccessSecretVersion, with
its real error statuses, and remembers every request it received.

The methods are registered as generic handlers with the paths and (de)serializers of the
client's transport, as tests/dataproc/fake_dataproc.py does for Dataproc.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent import futures
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import google_crc32c
import grpc
from google.cloud import secretmanager_v1 as sm

__all__ = ["FakeSecretManager", "serve"]


@dataclass
class FakeSecretManager:
    """``versions`` maps a version name (``projects/P/secrets/S/versions/N``) to its data;
    ``latest`` resolves to the highest number. ``disabled`` / ``destroyed`` hold version
    names in those states; ``denied`` holds secret names the caller may not read."""

    versions: dict[str, bytes] = field(default_factory=dict)
    disabled: set[str] = field(default_factory=set)
    destroyed: set[str] = field(default_factory=set)
    denied: set[str] = field(default_factory=set)
    requests: list[sm.AccessSecretVersionRequest] = field(default_factory=list)

    def _resolve(self, name: str) -> str | None:
        secret, _, version = name.partition("/versions/")
        if version != "latest":
            return name if name in self.versions else None
        numbers = [int(v.rsplit("/", 1)[1]) for v in self.versions if v.startswith(secret + "/")]
        return f"{secret}/versions/{max(numbers)}" if numbers else None

    def access(
        self, request: sm.AccessSecretVersionRequest, context: grpc.ServicerContext
    ) -> sm.AccessSecretVersionResponse:
        self.requests.append(request)
        name = request.name
        parts = name.split("/")
        if len(parts) != 6 or parts[0] != "projects" or parts[2] != "secrets":
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"Invalid resource field value {name}")
        secret = "/".join(parts[:4])
        if secret in self.denied:
            context.abort(
                grpc.StatusCode.PERMISSION_DENIED,
                f"Permission 'secretmanager.versions.access' denied for resource '{name}' "
                "(or it may not exist).",
            )
        resolved = self._resolve(name)
        if resolved is None:
            context.abort(
                grpc.StatusCode.NOT_FOUND, f"Secret [{secret}] not found or has no versions."
            )
        assert resolved is not None
        for state, names in (("DISABLED", self.disabled), ("DESTROYED", self.destroyed)):
            if resolved in names:
                context.abort(
                    grpc.StatusCode.FAILED_PRECONDITION,
                    f"Secret Version [{resolved}] is in {state} state.",
                )
        data = self.versions[resolved]
        payload = sm.SecretPayload(data=data, data_crc32c=google_crc32c.value(data))
        return sm.AccessSecretVersionResponse(name=resolved, payload=payload)

    def handler(self) -> grpc.GenericRpcHandler:
        method: Any = grpc.unary_unary_rpc_method_handler(
            self.access,
            request_deserializer=sm.AccessSecretVersionRequest.deserialize,
            response_serializer=sm.AccessSecretVersionResponse.serialize,
        )
        return grpc.method_handlers_generic_handler(
            "google.cloud.secretmanager.v1.SecretManagerService", {"AccessSecretVersion": method}
        )


@contextmanager
def serve(fake: FakeSecretManager) -> Iterator[str]:
    """Run ``fake`` on a free local port; yield its endpoint (``127.0.0.1:PORT``)."""
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    server.add_generic_rpc_handlers((fake.handler(),))
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        yield f"127.0.0.1:{port}"
    finally:
        server.stop(grace=None)
