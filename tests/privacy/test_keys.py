"""The pseudonym key from Secret Manager (a fake over a real gRPC channel), from the
environment or a file, and its version."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from lakehouse.config import PrivacyConfig, load_config
from lakehouse.errors import ConfigError
from lakehouse.privacy.keys import PseudonymKey, ensure_demo_key, fingerprint, load_key
from lakehouse.privacy.versions import describe_key_source
from tests.privacy.fake_secretmanager import FakeSecretManager, serve

SECRET = "projects/lake-dev/secrets/pseudonym-key"
KEY_V1 = b"k1-0123456789abcdef0123456789abcdef"
KEY_V2 = b"k2-0123456789abcdef0123456789abcdef"


@pytest.fixture
def fake() -> FakeSecretManager:
    return FakeSecretManager(
        versions={f"{SECRET}/versions/1": KEY_V1 + b"\n", f"{SECRET}/versions/2": KEY_V2},
        disabled={f"{SECRET}/versions/1"},
    )


@pytest.fixture
def endpoint(fake: FakeSecretManager) -> Iterator[str]:
    with serve(fake) as address:
        yield address


def _privacy(endpoint: str, version: str) -> PrivacyConfig:
    return PrivacyConfig(
        pseudonym_key_secret=f"{SECRET}/versions/{version}",
        secret_manager_endpoint=endpoint,
        secret_manager_insecure=True,
    )


def test_the_key_and_its_resolved_version_come_from_secret_manager(
    fake: FakeSecretManager, endpoint: str
) -> None:
    key = load_key(_privacy(endpoint, "latest"))
    assert key == PseudonymKey(KEY_V2, f"{SECRET}/versions/2")
    assert KEY_V2.decode() not in repr(key)
    assert [r.name for r in fake.requests] == [f"{SECRET}/versions/latest"]


@pytest.mark.parametrize(
    ("secret", "version", "says"),
    [
        ("projects/lake-dev/secrets/missing", "1", "not found"),
        (SECRET, "7", "not found"),
        (SECRET, "1", "DISABLED state"),
        ("projects/lake-dev/secrets/denied", "1", "permission denied"),
    ],
    ids=["missing-secret", "missing-version", "disabled", "denied"],
)
def test_secret_manager_errors_name_the_secret_and_the_fix(
    fake: FakeSecretManager, endpoint: str, secret: str, version: str, says: str
) -> None:
    fake.denied.add("projects/lake-dev/secrets/denied")
    privacy = PrivacyConfig(
        pseudonym_key_secret=f"{secret}/versions/{version}",
        secret_manager_endpoint=endpoint,
        secret_manager_insecure=True,
    )
    with pytest.raises(ConfigError) as error:
        load_key(privacy)
    message = str(error.value)
    assert "\n" not in message
    assert f"{secret}/versions/{version}" in message and says in message
    fix = {
        "not found": "gcloud secrets versions add",
        "DISABLED state": "gcloud secrets versions enable 1",
        "permission denied": f"roles/secretmanager.secretAccessor on {secret}",
    }[says]
    assert fix in message


def test_a_destroyed_version_and_a_short_key_are_refused(
    fake: FakeSecretManager, endpoint: str
) -> None:
    fake.destroyed.add(f"{SECRET}/versions/2")
    with pytest.raises(ConfigError, match=r"DESTROYED state.*destroyed version is gone"):
        load_key(_privacy(endpoint, "2"))
    fake.versions[f"{SECRET}/versions/3"] = b"short"
    with pytest.raises(ConfigError, match=r"versions/3' holds 5 bytes; the key needs at least 32"):
        load_key(_privacy(endpoint, "latest"))


def test_an_unreachable_secret_manager_is_one_line() -> None:
    privacy = PrivacyConfig(
        pseudonym_key_secret=f"{SECRET}/versions/1",
        secret_manager_endpoint="127.0.0.1:9",  # discard: nothing listens
        secret_manager_insecure=True,
    )
    from lakehouse.privacy.secret import access_secret

    with pytest.raises(ConfigError, match=r"Secret Manager at 127\.0\.0\.1:9 failed") as error:
        access_secret(privacy.pseudonym_key_secret, "127.0.0.1:9", True, timeout=2.0)
    assert "\n" not in str(error.value)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"pseudonym_key_secret": "pseudonym-key"}, "is not a secret version name"),
        ({"pseudonym_key_secret": f"{SECRET}"}, "projects/PROJECT/secrets/NAME/versions/VERSION"),
        (
            {"pseudonym_key_secret": f"{SECRET}/versions/1", "secret_manager_insecure": True},
            "is not on this machine",
        ),
    ],
    ids=["bare-name", "no-version", "insecure-remote"],
)
def test_malformed_secret_settings_are_refused(values: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        PrivacyConfig(**values)  # type: ignore[arg-type]


def test_the_secret_is_read_from_toml_and_env(tmp_path: Path) -> None:
    path = tmp_path / "job.toml"
    path.write_text(f'[privacy]\npseudonym_key_secret = "{SECRET}/versions/3"\n')
    env = {"LAKEHOUSE_PRIVACY_SECRET_MANAGER_ENDPOINT": "127.0.0.1:1"}
    privacy = load_config(path, env=env).privacy
    assert privacy.pseudonym_key_secret == f"{SECRET}/versions/3"
    assert privacy.secret_manager_endpoint == "127.0.0.1:1"
    assert describe_key_source(privacy) == f"Secret Manager {SECRET}/versions/3"


def test_a_local_key_has_a_fingerprint_version_that_is_not_the_key(tmp_path: Path) -> None:
    key = "local-0123456789abcdef0123456789abcdef"
    loaded = load_key(PrivacyConfig(pseudonym_key=key))
    assert loaded.version == fingerprint(key.encode())
    assert loaded.version.startswith("local:") and len(loaded.version) == len("local:") + 12
    assert key not in loaded.version and loaded.version != fingerprint(KEY_V1)
    # the environment's key wins over a secret; a file's key has the same kind of version
    both = PrivacyConfig(pseudonym_key=key, pseudonym_key_secret=f"{SECRET}/versions/1")
    assert load_key(both).value == key.encode()
    file = PrivacyConfig(pseudonym_key_file=str(tmp_path / "key"))
    assert ensure_demo_key(file) is not None
    assert load_key(file).version == fingerprint((tmp_path / "key").read_bytes().strip())
    assert describe_key_source(file) == f"file {tmp_path / 'key'}, version {load_key(file).version}"
    # the demo never writes a key file when the key comes from Secret Manager
    secret_and_file = PrivacyConfig(
        pseudonym_key_secret=f"{SECRET}/versions/1", pseudonym_key_file=str(tmp_path / "k2")
    )
    assert ensure_demo_key(secret_and_file) is None
