# One customer-managed key encrypts the buckets, the cluster disks, Kafka, the Pub/Sub topics,
# the metastore and the pseudonym key's secret.
# The service agents that use it on the project's behalf get encrypt/decrypt on this key only.

data "google_project" "this" {}

data "google_storage_project_service_account" "gcs" {}

resource "google_kms_key_ring" "lakehouse" {
  name     = "lakehouse-${var.environment}"
  location = var.region
}

resource "google_kms_crypto_key" "lakehouse" {
  name            = "lakehouse-${var.environment}"
  key_ring        = google_kms_key_ring.lakehouse.id
  rotation_period = "7776000s" # 90 days
  purpose         = "ENCRYPT_DECRYPT"

  lifecycle {
    prevent_destroy = true
  }
}

locals {
  project_number = data.google_project.this.number
  kms_users = {
    storage   = "serviceAccount:${data.google_storage_project_service_account.gcs.email_address}"
    compute   = "serviceAccount:service-${local.project_number}@compute-system.iam.gserviceaccount.com"
    dataproc  = "serviceAccount:service-${local.project_number}@dataproc-accounts.iam.gserviceaccount.com"
    metastore = "serviceAccount:service-${local.project_number}@gcp-sa-metastore.iam.gserviceaccount.com"
    kafka     = "serviceAccount:service-${local.project_number}@gcp-sa-managedkafka.iam.gserviceaccount.com"
    secrets   = "serviceAccount:service-${local.project_number}@gcp-sa-secretmanager.iam.gserviceaccount.com"
    pubsub    = "serviceAccount:service-${local.project_number}@gcp-sa-pubsub.iam.gserviceaccount.com"
  }
}

resource "google_kms_crypto_key_iam_member" "service_agents" {
  for_each      = local.kms_users
  crypto_key_id = google_kms_crypto_key.lakehouse.id
  role          = "roles/cloudkms.cryptoKeyEncrypterDecrypter"
  member        = each.value
}
