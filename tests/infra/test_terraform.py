"""The Terraform in infra/ parses, agrees with the job configuration, keeps table data out of
bucket lifecycle, grants least privilege, and passes checkov."""

from __future__ import annotations

import json
import os
import re
import subprocess
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import hcl2
import pytest

from lakehouse.config import LakehouseConfig, load_config

INFRA = Path(__file__).resolve().parents[2] / "infra"
CHECKOV = INFRA.parent / ".venv-infra" / "bin" / "checkov"
_OPTIONS = hcl2.SerializationOptions(
    strip_string_quotes=True, explicit_blocks=False, with_comments=False
)
_VAR = re.compile(r"\$\{var\.(\w+)\}")


def _load(path: Path) -> dict[str, Any]:
    with path.open() as handle:
        return dict(hcl2.load(handle, serialization_options=_OPTIONS))


@cache
def _terraform() -> dict[str, Any]:
    """Every block of infra/*.tf: resources by type and name, variables, locals."""
    merged: dict[str, Any] = {"resource": {}, "variable": {}, "locals": {}}
    for path in sorted(INFRA.glob("*.tf")):
        parsed = _load(path)
        for block in parsed.get("resource", []):
            for kind, named in block.items():
                merged["resource"].setdefault(kind, {}).update(named)
        for block in parsed.get("variable", []):
            merged["variable"].update(block)
        for block in parsed.get("locals", []):
            merged["locals"].update(block)
    return merged


def _resource(kind: str, name: str) -> dict[str, Any]:
    return dict(_terraform()["resource"][kind][name])


def _tfvars(environment: str) -> dict[str, Any]:
    return _load(INFRA / "environments" / f"{environment}.tfvars")


def _resolve(value: str, environment: str = "dev") -> str:
    """``${var.x}`` replaced by the environment's value (or the variable's default)."""
    values = _tfvars(environment)

    def lookup(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in values:
            return str(values[name])
        return str(_terraform()["variable"][name]["default"])

    return _VAR.sub(lookup, value)


def _bucket(uri: str) -> str:
    parsed = urlparse(uri)
    assert parsed.scheme == "gs", uri
    return parsed.netloc


@pytest.fixture(scope="module")
def job_config() -> LakehouseConfig:
    return load_config(INFRA / "lakehouse.dataproc.toml", env={})


def test_every_terraform_file_parses_and_declares_the_platform() -> None:
    files = [*INFRA.glob("*.tf"), *INFRA.glob("environments/*.tfvars")]
    assert len(files) >= 10
    for path in files:
        assert _load(path), path
    resources = {
        f"{kind}.{name}" for kind, named in _terraform()["resource"].items() for name in named
    }
    assert {
        "google_storage_bucket.lake",
        "google_storage_bucket.checkpoints",
        "google_storage_bucket.staging",
        "google_pubsub_lite_reservation.events",
        "google_pubsub_lite_topic.events",
        "google_pubsub_lite_subscription.bronze",
        "google_managed_kafka_cluster.events",
        "google_managed_kafka_topic.events",
        "google_pubsub_topic.events",
        "google_pubsub_topic.dead_letter",
        "google_pubsub_subscription.bronze",
        "google_pubsub_subscription.dead_letter",
        "google_dataproc_cluster.lakehouse",
        "google_dataproc_autoscaling_policy.lakehouse",
        "google_dataproc_metastore_service.lakehouse",
        "google_compute_subnetwork.dataproc",
        "google_compute_router_nat.lakehouse",
        "google_service_account.runtime",
        "google_service_account.submitter",
        "google_secret_manager_secret.pseudonym_key",
    } <= resources


@pytest.mark.parametrize("environment", ["dev", "prod"])
def test_each_environment_sets_every_required_variable_and_nothing_unknown(
    environment: str,
) -> None:
    variables = _terraform()["variable"]
    values = _tfvars(environment)
    required = {name for name, spec in variables.items() if "default" not in spec}
    assert required <= set(values), f"{environment}.tfvars misses {required - set(values)}"
    assert set(values) <= set(variables), f"unknown in {environment}.tfvars"


def test_subnetwork_has_private_google_access_and_nat() -> None:
    subnet = _resource("google_compute_subnetwork", "dataproc")
    assert subnet["private_ip_google_access"] is True
    nat = _resource("google_compute_router_nat", "lakehouse")
    assert nat["subnetwork"][0]["name"] == "${google_compute_subnetwork.dataproc.id}"


def test_bucket_names_agree_with_the_job_config(job_config: LakehouseConfig) -> None:
    def name(bucket: str) -> str:
        return _resolve(_resource("google_storage_bucket", bucket)["name"])

    assert _bucket(job_config.lake.root) == name("lake")
    assert _bucket(job_config.source.landing_path) == name("lake")
    assert _bucket(job_config.lake.checkpoint_root) == name("checkpoints")
    assert _bucket(job_config.dataproc.staging_uri) == name("staging")


def test_source_names_agree_with_the_job_config(job_config: LakehouseConfig) -> None:
    project, region = _tfvars("dev")["project_id"], _tfvars("dev")["region"]
    topic = _resource("google_pubsub_lite_topic", "events")
    subscription = _resource("google_pubsub_lite_subscription", "bronze")
    assert subscription["topic"] == "${google_pubsub_lite_topic.events.name}"
    assert job_config.source.pubsublite_subscription == (
        f"projects/{project}/locations/{region}/subscriptions/{_resolve(subscription['name'])}"
    )
    assert _resolve(topic["name"]) == "lakehouse-dev-events"
    pubsub = _resource("google_pubsub_subscription", "bronze")
    assert job_config.source.pubsub_subscription == (
        f"projects/{project}/subscriptions/{_resolve(pubsub['name'])}"
    )
    kafka_cluster = _resource("google_managed_kafka_cluster", "events")
    kafka_topic = _resource("google_managed_kafka_topic", "events")
    assert kafka_topic["cluster"] == "${google_managed_kafka_cluster.events.cluster_id}"
    assert job_config.source.kafka_topics == _resolve(kafka_topic["topic_id"])
    cluster_id = _resolve(kafka_cluster["cluster_id"])
    assert job_config.source.kafka_bootstrap_servers == (
        f"bootstrap.{cluster_id}.{region}.managedkafka.{project}.cloud.goog:9092"
    )


def test_pubsub_subscription_delivers_exactly_once_and_keeps_dead_letters() -> None:
    bronze = _resource("google_pubsub_subscription", "bronze")
    assert bronze["topic"] == "${google_pubsub_topic.events.id}"
    assert bronze["enable_exactly_once_delivery"] is True
    assert bronze["enable_message_ordering"] is True
    assert bronze["retain_acked_messages"] is False
    assert bronze["expiration_policy"] == [{"ttl": ""}]
    assert bronze["dead_letter_policy"] == [
        {
            "dead_letter_topic": "${google_pubsub_topic.dead_letter.id}",
            "max_delivery_attempts": "${var.pubsub_max_delivery_attempts}",
        }
    ]
    # a dead-letter topic without a subscription would drop what it receives
    dead = _resource("google_pubsub_subscription", "dead_letter")
    assert dead["topic"] == "${google_pubsub_topic.dead_letter.id}"
    retention = "${var.source_retention_days * 86400}s"
    for name in ("events", "dead_letter"):
        topic = _resource("google_pubsub_topic", name)
        assert topic["kms_key_name"] == "${google_kms_crypto_key.lakehouse.id}"
        assert topic["message_retention_duration"] == retention
        assert topic["message_storage_policy"] == [
            {"allowed_persistence_regions": ["${var.region}"]}
        ]
    assert bronze["message_retention_duration"] == retention
    assert "pubsub" in _terraform()["locals"]["kms_users"]


def test_pubsub_access_is_granted_on_the_topic_and_subscription_only() -> None:
    resources = _terraform()["resource"]
    on_subscription = resources["google_pubsub_subscription_iam_member"]
    runtime = on_subscription["runtime"]
    assert runtime["subscription"] == "${google_pubsub_subscription.bronze.name}"
    assert runtime["for_each"] == '${toset(["roles/pubsub.subscriber", "roles/pubsub.viewer"])}'
    assert runtime["member"] == "serviceAccount:${google_service_account.runtime.email}"
    publishers = resources["google_pubsub_topic_iam_member"]["publishers"]
    assert publishers["topic"] == "${google_pubsub_topic.events.name}"
    assert publishers["role"] == "roles/pubsub.publisher"
    # the service agent forwards dead letters: publisher on the dead-letter topic only
    agent = resources["google_pubsub_topic_iam_member"]["dead_letter_publisher"]
    assert agent["topic"] == "${google_pubsub_topic.dead_letter.name}"
    assert on_subscription["dead_letter_forwarder"]["role"] == "roles/pubsub.subscriber"
    assert not {"google_pubsub_topic_iam_binding", "google_pubsub_subscription_iam_binding"} & set(
        resources
    )
    roles = "\n".join(p.read_text() for p in INFRA.glob("*.tf"))
    assert "roles/pubsub.admin" not in roles and "roles/pubsub.editor" not in roles


def test_dataproc_settings_agree_with_the_job_config(job_config: LakehouseConfig) -> None:
    project, region = _tfvars("dev")["project_id"], _tfvars("dev")["region"]
    dataproc = job_config.dataproc
    assert (dataproc.project, dataproc.region) == (project, region)
    runtime = _resolve(_resource("google_service_account", "runtime")["account_id"])
    assert dataproc.service_account == f"{runtime}@{project}.iam.gserviceaccount.com"
    subnet = _resolve(_resource("google_compute_subnetwork", "dataproc")["name"])
    assert dataproc.subnetwork == f"projects/{project}/regions/{region}/subnetworks/{subnet}"
    cluster = _resource("google_dataproc_cluster", "lakehouse")
    assert dataproc.cluster == _resolve(cluster["name"])
    software = cluster["cluster_config"][0]["software_config"][0]
    assert _resolve(software["image_version"]).startswith(f"{dataproc.image_version}-")
    assert software["optional_components"] == ["DELTA"]
    gce = cluster["cluster_config"][0]["gce_cluster_config"][0]
    assert gce["service_account"] == "${google_service_account.runtime.email}"
    assert gce["internal_ip_only"] is True
    assert "autoscaling_config" in cluster["cluster_config"][0]
    assert "metastore_config" in cluster["cluster_config"][0]


def test_the_pseudonym_key_secret_agrees_with_the_job_config_and_uses_the_cmek(
    job_config: LakehouseConfig,
) -> None:
    project = _tfvars("dev")["project_id"]
    secret = _resource("google_secret_manager_secret", "pseudonym_key")
    secret_id = _resolve(secret["secret_id"])
    assert re.fullmatch(
        rf"projects/{project}/secrets/{secret_id}/versions/\d+",
        job_config.privacy.pseudonym_key_secret,
    )
    (replica,) = secret["replication"][0]["user_managed"][0]["replicas"]
    assert replica["location"] == "${var.region}"
    assert replica["customer_managed_encryption"] == [
        {"kms_key_name": "${google_kms_crypto_key.lakehouse.id}"}
    ]
    bucket = _resource("google_storage_bucket", "lake")
    assert (
        bucket["encryption"][0]["default_kms_key_name"]
        == replica["customer_managed_encryption"][0]["kms_key_name"]
    )
    # Secret Manager's service agent may use the key; nothing holds the secret's value
    agents = _terraform()["locals"]["kms_users"]
    assert agents["secrets"].endswith("@gcp-sa-secretmanager.iam.gserviceaccount.com")
    assert "google_secret_manager_secret_version" not in _terraform()["resource"]
    assert not job_config.privacy.pseudonym_key and not job_config.privacy.pseudonym_key_file


@pytest.mark.parametrize("bucket", ["lake", "checkpoints"])
def test_table_buckets_never_delete_live_objects_by_age(bucket: str) -> None:
    """Retention of table data is the retention job's (Delta VACUUM): deleting data files or
    checkpoint files by age would corrupt tables and streams. Only noncurrent versions (what
    VACUUM already deleted) and incomplete uploads are cleaned up by the bucket."""
    rules = _resource("google_storage_bucket", bucket)["lifecycle_rule"]
    actions = sorted(rule["action"][0]["type"] for rule in rules)
    assert actions == ["AbortIncompleteMultipartUpload", "Delete"]
    for rule in rules:
        if rule["action"][0]["type"] == "Delete":
            assert rule["condition"] == [
                {
                    "days_since_noncurrent_time": "${var.noncurrent_version_days}",
                    "with_state": "ARCHIVED",
                }
            ]
    assert _resource("google_storage_bucket", bucket)["versioning"] == [{"enabled": True}]


def test_staging_bucket_expires_old_releases() -> None:
    rules = _resource("google_storage_bucket", "staging")["lifecycle_rule"]
    assert {
        "condition": [{"age": "${var.staging_retention_days}"}],
        "action": [{"type": "Delete"}],
    } in rules


def test_service_accounts_have_least_privilege() -> None:
    resources = _terraform()["resource"]
    assert _terraform()["locals"]["runtime_project_roles"] == [
        "roles/dataproc.worker",
        "roles/pubsublite.subscriber",
        "roles/pubsublite.viewer",
        "roles/managedkafka.client",
    ]
    bucket_roles = _terraform()["locals"]["runtime_bucket_roles"]
    assert {k: v["role"] for k, v in bucket_roles.items()} == {
        "lake": "roles/storage.objectUser",
        "checkpoints": "roles/storage.objectUser",
        "staging": "roles/storage.objectUser",
    }
    # the runtime account reads the one secret of the pseudonym key, and no other
    (secret_member,) = resources["google_secret_manager_secret_iam_member"].values()
    assert secret_member == {
        "secret_id": "${google_secret_manager_secret.pseudonym_key.id}",
        "role": "roles/secretmanager.secretAccessor",
        "member": "serviceAccount:${google_service_account.runtime.email}",
    }
    project_members = resources["google_project_iam_member"]
    assert set(project_members) == {"runtime", "submitter_dataproc", "runtime_monitoring"}
    # Cloud Monitoring grants timeSeries.list per project: the Pub/Sub backlog, read only
    assert project_members["runtime_monitoring"]["role"] == "roles/monitoring.viewer"
    assert project_members["submitter_dataproc"]["role"] == "roles/dataproc.editor"
    acts_as = resources["google_service_account_iam_member"]["submitter_acts_as_runtime"]
    assert acts_as["role"] == "roles/iam.serviceAccountUser"
    assert acts_as["service_account_id"] == "${google_service_account.runtime.name}"
    text = "\n".join(p.read_text() for p in INFRA.glob("*.tf"))
    for broad in (
        "roles/owner",
        "roles/editor",
        "roles/storage.admin",
        "roles/secretmanager.admin",
        "google_secret_manager_secret_iam_binding",
        "google_project_iam_binding",
    ):
        assert broad not in text


def test_checkov_finds_no_failed_check() -> None:
    if not CHECKOV.exists():
        pytest.skip("checkov is not installed: `make infra-tools` installs it in .venv-infra")
    for environment in ("dev", "prod"):
        result = subprocess.run(
            [
                str(CHECKOV),
                "--directory",
                str(INFRA),
                "--framework",
                "terraform",
                "--var-file",
                str(INFRA / "environments" / f"{environment}.tfvars"),
                "--skip-download",
                "--output",
                "json",
            ],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
            env={**os.environ, "BC_SKIP_MAPPING": "TRUE"},
        )
        report = json.loads(result.stdout)
        summary = report["summary"]
        failed = [c["check_id"] for c in report["results"]["failed_checks"]]
        assert summary["failed"] == 0, f"{environment}: failed checks {failed}"
        assert summary["parsing_errors"] == 0
        assert summary["passed"] > 50
        for skipped in report["results"]["skipped_checks"]:
            reason = skipped["check_result"].get("suppress_comment", "")
            assert len(reason) > 20, f"{skipped['check_id']} skipped without a reason"
        assert result.returncode == 0
