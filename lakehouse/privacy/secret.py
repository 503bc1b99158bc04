"""The pseudonym key from Secret Manager: one AccessSecretVersion call at job start.

Production uses Application Default Credentials (on Dataproc, the runtime service account,
which Terraform grants ``roles/secretmanager.secretAccessor`` on that one secret) and
``secretmanager.googleapis.com:443``; ``insecure`` opens a plaintext channel without
credentials to a local fake, for tests only. Every failure is one line naming the secret
and the fix; no message ever holds the secret's value.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import google_crc32c
import grpc
from google.api_core import exceptions as api_exceptions
from google.api_core import retry as api_retry
from google.auth import exceptions as auth_exceptions
from google.cloud import secretmanager_v1 as sm
from google.cloud.secretmanager_v1.services.secret_manager_service.transports import (
    SecretManagerServiceGrpcTransport,
)

from lakehouse.config import MIN_KEY_BYTES
from lakehouse.errors import ConfigError

__all__ = ["DEFAULT_ENDPOINT", "SecretValue", "access_secret"]

DEFAULT_ENDPOINT = "secretmanager.googleapis.com:443"
_SETTING = "privacy.pseudonym_key_secret"


@dataclass(frozen=True)
class SecretValue:
    """A secret version's bytes and the version's full name (``.../versions/3`` even when
    ``latest`` was asked for)."""

    data: bytes = field(repr=False)
    version: str


def _first_line(exc: BaseException) -> str:
    text = getattr(exc, "message", None) or str(exc)
    cause = getattr(exc, "cause", None)  # a RetryError's last error
    if isinstance(exc, api_exceptions.RetryError) and cause is not None:
        text = f"{text}; last error: {getattr(cause, 'message', None) or cause}"
    return " ".join(str(text).split())[:300]


def _secret_of(name: str) -> str:
    """``projects/P/secrets/S`` of a version name."""
    return name.split("/versions/", 1)[0]


def _error(name: str, endpoint: str, exc: BaseException) -> ConfigError:
    secret = _secret_of(name)
    short = secret.rsplit("/", 1)[-1]
    version = name.rsplit("/", 1)[-1]
    detail = _first_line(exc)
    if isinstance(exc, api_exceptions.NotFound):
        fix = (
            f"create the secret and a version ('gcloud secrets versions add {short} "
            f"--data-file=KEYFILE') or fix {_SETTING}"
        )
        return ConfigError(f"{_SETTING}: {name!r} not found ({detail}); {fix}")
    if isinstance(exc, api_exceptions.FailedPrecondition):
        fix = (
            f"enable it ('gcloud secrets versions enable {version} --secret {short}') or point "
            f"{_SETTING} at an enabled version (a destroyed version is gone for good)"
        )
        return ConfigError(f"{_SETTING}: {name!r} cannot be read ({detail}); {fix}")
    if isinstance(exc, api_exceptions.PermissionDenied | api_exceptions.Unauthenticated):
        fix = (
            f"grant roles/secretmanager.secretAccessor on {secret} to the job's service "
            "account (infra/iam.tf grants it to the runtime account)"
        )
        return ConfigError(f"{_SETTING}: {name!r}: permission denied ({detail}); {fix}")
    if isinstance(exc, api_exceptions.InvalidArgument):
        return ConfigError(
            f"{_SETTING}: {name!r} is not a valid secret version name ({detail}); give "
            "projects/PROJECT/secrets/NAME/versions/VERSION"
        )
    if isinstance(exc, auth_exceptions.DefaultCredentialsError):
        return ConfigError(
            f"{_SETTING}: {name!r}: no usable Application Default Credentials ({detail}); run "
            "'gcloud auth application-default login' or run as a service account"
        )
    return ConfigError(
        f"{_SETTING}: {name!r}: Secret Manager at {endpoint} failed ({detail}); check the "
        "network path to it and retry"
    )


def access_secret(
    name: str, endpoint: str = "", insecure: bool = False, timeout: float = 60.0
) -> SecretValue:
    """Read the secret version ``name``; a :class:`ConfigError` in one line when it cannot."""
    endpoint = endpoint or DEFAULT_ENDPOINT
    channel: grpc.Channel | None = None
    try:
        if insecure:
            channel = grpc.insecure_channel(endpoint)
            client = sm.SecretManagerServiceClient(
                transport=SecretManagerServiceGrpcTransport(channel=channel)
            )
        else:
            client = sm.SecretManagerServiceClient(client_options={"api_endpoint": endpoint})
        # the client's retry of an unavailable service, within ``timeout`` in all
        retry = api_retry.Retry(
            initial=1.0,
            maximum=10.0,
            multiplier=2.0,
            predicate=api_retry.if_exception_type(
                api_exceptions.ServiceUnavailable, api_exceptions.ResourceExhausted
            ),
            timeout=timeout,
        )
        response = client.access_secret_version(name=name, retry=retry, timeout=timeout)
    except (api_exceptions.GoogleAPIError, auth_exceptions.GoogleAuthError) as exc:
        raise _error(name, endpoint, exc) from None  # the cause may quote the request
    finally:
        if channel is not None:
            channel.close()
    data = bytes(response.payload.data)
    if response.payload.data_crc32c and (google_crc32c.value(data) != response.payload.data_crc32c):
        raise ConfigError(
            f"{_SETTING}: {name!r}: the payload's CRC32C does not match (corrupted on the way); "
            "retry the job"
        )
    key = data.strip()
    if len(key) < MIN_KEY_BYTES:
        raise ConfigError(
            f"{_SETTING}: {response.name or name!r} holds {len(key)} bytes; the key needs at "
            f"least {MIN_KEY_BYTES}: add a version with a random key "
            "(e.g. 'python -c \"import secrets; print(secrets.token_hex(32))\"')"
        )
    return SecretValue(key, response.name or name)
