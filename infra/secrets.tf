# The pseudonym key of the jobs (HMAC-SHA256 of user and session ids). Terraform declares the
# secret, never its value: the value would sit in the state file. Add a version by hand:
#   python -c "import secrets; print(secrets.token_hex(32))" | \
#     gcloud secrets versions add lakehouse-pseudonym-key-ENV --data-file=-
# The job configuration names the version ([privacy] pseudonym_key_secret); README: rotation.

resource "google_secret_manager_secret" "pseudonym_key" {
  secret_id = "lakehouse-pseudonym-key-${var.environment}"
  labels = {
    app         = "lakehouse"
    environment = var.environment
  }

  # one replica in the lake's region, encrypted with the customer-managed key of the buckets
  replication {
    user_managed {
      replicas {
        location = var.region
        customer_managed_encryption {
          kms_key_name = google_kms_crypto_key.lakehouse.id
        }
      }
    }
  }

  lifecycle {
    prevent_destroy = true # a lost key leaves every pseudonym unmatched by new ones
  }

  depends_on = [google_kms_crypto_key_iam_member.service_agents]
}

# the jobs read this one secret, nothing else in Secret Manager
resource "google_secret_manager_secret_iam_member" "runtime_reads_pseudonym_key" {
  secret_id = google_secret_manager_secret.pseudonym_key.id
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:${google_service_account.runtime.email}"
}
