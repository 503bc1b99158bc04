# Two service accounts with least privilege:
# - runtime: what the jobs run as (cluster VMs and Serverless batches). Reads and writes the
#   lake and checkpoint buckets, reads and writes the staging bucket (Dataproc stages driver
#   output there), reads the sources.
# - submitter: what CI or an operator uses for `lakehouse submit`. Submits jobs and batches,
#   acts as the runtime account, uploads releases to the staging bucket.

resource "google_service_account" "runtime" {
  account_id   = "lakehouse-runtime-${var.environment}"
  display_name = "lakehouse jobs (${var.environment})"
}

resource "google_service_account" "submitter" {
  account_id   = "lakehouse-submit-${var.environment}"
  display_name = "lakehouse submit (${var.environment})"
}

locals {
  runtime_project_roles = [
    "roles/dataproc.worker",
    "roles/pubsublite.subscriber",
    "roles/pubsublite.viewer",
    "roles/managedkafka.client",
  ]
  runtime_bucket_roles = {
    lake        = { bucket = google_storage_bucket.lake.name, role = "roles/storage.objectUser" }
    checkpoints = { bucket = google_storage_bucket.checkpoints.name, role = "roles/storage.objectUser" }
    staging     = { bucket = google_storage_bucket.staging.name, role = "roles/storage.objectUser" }
  }
}

resource "google_project_iam_member" "runtime" {
  for_each = toset(local.runtime_project_roles)
  project  = var.project_id
  role     = each.value
  member   = "serviceAccount:${google_service_account.runtime.email}"
}

resource "google_storage_bucket_iam_member" "runtime" {
  for_each = local.runtime_bucket_roles
  bucket   = each.value.bucket
  role     = each.value.role
  member   = "serviceAccount:${google_service_account.runtime.email}"
}

resource "google_project_iam_member" "submitter_dataproc" {
  project = var.project_id
  role    = "roles/dataproc.editor"
  member  = "serviceAccount:${google_service_account.submitter.email}"
}

resource "google_service_account_iam_member" "submitter_acts_as_runtime" {
  service_account_id = google_service_account.runtime.name
  role               = "roles/iam.serviceAccountUser"
  member             = "serviceAccount:${google_service_account.submitter.email}"
}

resource "google_storage_bucket_iam_member" "submitter_staging" {
  bucket = google_storage_bucket.staging.name
  role   = "roles/storage.objectUser"
  member = "serviceAccount:${google_service_account.submitter.email}"
}
