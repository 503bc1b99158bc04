# Buckets of the lake, the checkpoints and the staged releases.
#
# Table data is NOT expired by bucket lifecycle: a Delta table is its transaction log plus data
# files that the log references, and deleting data files by age corrupts the table (and a
# checkpoint folder likewise). Retention per table (bronze raw, silver, quarantine) is enforced
# by the retention job: DELETE, REORG ... APPLY (PURGE), then VACUUM. Bucket lifecycle only
# aborts incomplete uploads and removes noncurrent versions: what VACUUM deleted is physically
# gone noncurrent_version_days later. Only the staging bucket expires live objects (releases).

locals {
  labels = {
    app         = "lakehouse"
    environment = var.environment
  }
}

resource "google_storage_bucket" "access_logs" {
  #checkov:skip=CKV_GCP_62:this bucket receives the usage logs of the others; logging it to itself would loop
  name                        = var.access_log_bucket
  location                    = var.region
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  labels                      = local.labels

  versioning {
    enabled = true
  }

  encryption {
    default_kms_key_name = google_kms_crypto_key.lakehouse.id
  }

  lifecycle_rule {
    condition {
      age = 365
    }
    action {
      type = "Delete"
    }
  }

  depends_on = [google_kms_crypto_key_iam_member.service_agents]
}

resource "google_storage_bucket" "lake" {
  name                        = var.lake_bucket
  location                    = var.region
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  labels                      = local.labels

  versioning {
    enabled = true
  }

  encryption {
    default_kms_key_name = google_kms_crypto_key.lakehouse.id
  }

  logging {
    log_bucket = google_storage_bucket.access_logs.name
  }

  lifecycle_rule {
    condition {
      age = 1
    }
    action {
      type = "AbortIncompleteMultipartUpload"
    }
  }

  lifecycle_rule {
    condition {
      days_since_noncurrent_time = var.noncurrent_version_days
      with_state                 = "ARCHIVED"
    }
    action {
      type = "Delete"
    }
  }

  depends_on = [google_kms_crypto_key_iam_member.service_agents]
}

resource "google_storage_bucket" "checkpoints" {
  name                        = var.checkpoint_bucket
  location                    = var.region
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  labels                      = local.labels

  versioning {
    enabled = true
  }

  encryption {
    default_kms_key_name = google_kms_crypto_key.lakehouse.id
  }

  logging {
    log_bucket = google_storage_bucket.access_logs.name
  }

  lifecycle_rule {
    condition {
      age = 1
    }
    action {
      type = "AbortIncompleteMultipartUpload"
    }
  }

  lifecycle_rule {
    condition {
      days_since_noncurrent_time = var.noncurrent_version_days
      with_state                 = "ARCHIVED"
    }
    action {
      type = "Delete"
    }
  }

  depends_on = [google_kms_crypto_key_iam_member.service_agents]
}

resource "google_storage_bucket" "staging" {
  name                        = var.staging_bucket
  location                    = var.region
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  labels                      = local.labels

  versioning {
    enabled = true
  }

  encryption {
    default_kms_key_name = google_kms_crypto_key.lakehouse.id
  }

  logging {
    log_bucket = google_storage_bucket.access_logs.name
  }

  lifecycle_rule {
    condition {
      age = var.staging_retention_days
    }
    action {
      type = "Delete"
    }
  }

  lifecycle_rule {
    condition {
      days_since_noncurrent_time = 1
      with_state                 = "ARCHIVED"
    }
    action {
      type = "Delete"
    }
  }

  depends_on = [google_kms_crypto_key_iam_member.service_agents]
}
