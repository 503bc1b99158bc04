"""The local demo's pseudonym key: created once, at random, where the configuration says."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from lakehouse.config import PrivacyConfig

__all__ = ["ensure_demo_key"]


def ensure_demo_key(privacy: PrivacyConfig) -> str | None:
    """Create ``privacy.pseudonym_key_file`` with a random key when no key is configured and
    the file does not exist; return a notice saying so (None when nothing was done).

    Only the demo does this: a production key comes from a secret store, and a lost key
    makes every existing pseudonym unmatched by new ones.
    """
    if privacy.pseudonym_key or not privacy.pseudonym_key_file:
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
        "control, and give production jobs their key in LAKEHOUSE_PRIVACY_PSEUDONYM_KEY)"
    )
