"""The pseudonym key of a job and its version; the local demo's key file.

The key comes from, in this order: ``privacy.pseudonym_key`` (in practice the environment,
``LAKEHOUSE_PRIVACY_PSEUDONYM_KEY``), ``privacy.pseudonym_key_secret`` (Secret Manager; how
jobs on Dataproc get it) or ``privacy.pseudonym_key_file`` (a local file). Its version names
the key without revealing it: the secret version's full name, or for a key from the
environment or a file ``local:`` and the first 12 hex digits of an HMAC of a fixed label
under the key (a fingerprint: equal keys, equal versions; nothing about the key is learnt).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from lakehouse.config import PrivacyConfig

__all__ = ["PseudonymKey", "ensure_demo_key", "fingerprint", "load_key"]

_FINGERPRINT_LABEL = b"lakehouse pseudonym key fingerprint v1"


@dataclass(frozen=True)
class PseudonymKey:
    """The key bytes (never printed: ``repr`` leaves them out) and their version."""

    value: bytes = field(repr=False)
    version: str


def fingerprint(key: bytes) -> str:
    """The version of a key given directly: ``local:`` and 12 hex digits."""
    return "local:" + hmac.new(key, _FINGERPRINT_LABEL, hashlib.sha256).hexdigest()[:12]


def load_key(privacy: PrivacyConfig) -> PseudonymKey:
    """The configured key and its version; a :class:`~lakehouse.errors.ConfigError` in one
    line (naming the setting, the secret and the fix) when it cannot be had."""
    if not privacy.pseudonym_key and privacy.pseudonym_key_secret:
        from lakehouse.privacy.secret import access_secret

        secret = access_secret(
            privacy.pseudonym_key_secret,
            privacy.secret_manager_endpoint,
            privacy.secret_manager_insecure,
        )
        return PseudonymKey(secret.data, secret.version)
    key = privacy.key()
    return PseudonymKey(key, fingerprint(key))


def ensure_demo_key(privacy: PrivacyConfig) -> str | None:
    """Create ``privacy.pseudonym_key_file`` with a random key when no key is configured and
    the file does not exist; return a notice saying so (None when nothing was done).

    Only the demo does this: a production key comes from a secret store, and a lost key
    makes every existing pseudonym unmatched by new ones.
    """
    if privacy.pseudonym_key or privacy.pseudonym_key_secret or not privacy.pseudonym_key_file:
        return None
    path = Path(privacy.pseudonym_key_file)
    if path.exists():
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(secrets.token_hex(32) + "\n")
    return (
        f"created a random pseudonym key in {path} (local demo only; keep it out of version "
        "control; production jobs read theirs from Secret Manager: privacy.pseudonym_key_secret)"
    )
