# Pub/Sub (not Lite), the other migration target from Pub/Sub Lite: the events topic, the
# bronze subscription (exactly-once delivery, ordering by user id, dead-letter policy) and a
# dead-letter topic with its own subscription, so that what the source refuses is kept for
# inspection. Topics are encrypted with the lakehouse key and stored in the region only.
# Access is granted on these resources, never on the project: the runtime account consumes
# the bronze subscription only; producers publish to the events topic only.

locals {
  pubsub_agent = "serviceAccount:service-${local.project_number}@gcp-sa-pubsub.iam.gserviceaccount.com"
}

resource "google_pubsub_topic" "events" {
  name                       = var.pubsub_topic
  kms_key_name               = google_kms_crypto_key.lakehouse.id
  message_retention_duration = "${var.source_retention_days * 86400}s"
  labels                     = local.labels

  message_storage_policy {
    allowed_persistence_regions = [var.region]
  }

  depends_on = [google_kms_crypto_key_iam_member.service_agents]
}

resource "google_pubsub_topic" "dead_letter" {
  name                       = "${var.pubsub_topic}-dead-letter"
  kms_key_name               = google_kms_crypto_key.lakehouse.id
  message_retention_duration = "${var.source_retention_days * 86400}s"
  labels                     = local.labels

  message_storage_policy {
    allowed_persistence_regions = [var.region]
  }

  depends_on = [google_kms_crypto_key_iam_member.service_agents]
}

resource "google_pubsub_subscription" "bronze" {
  name   = var.pubsub_subscription
  topic  = google_pubsub_topic.events.id
  labels = local.labels

  # the source extends the lease of what it holds until bronze has it (pubsub_ack_deadline_seconds)
  ack_deadline_seconds         = 60
  message_retention_duration   = "${var.source_retention_days * 86400}s"
  retain_acked_messages        = false
  enable_exactly_once_delivery = true
  enable_message_ordering      = true

  dead_letter_policy {
    dead_letter_topic     = google_pubsub_topic.dead_letter.id
    max_delivery_attempts = var.pubsub_max_delivery_attempts
  }

  retry_policy {
    minimum_backoff = "10s"
    maximum_backoff = "600s"
  }

  expiration_policy {
    ttl = "" # never expires, however long bronze is stopped
  }
}

resource "google_pubsub_subscription" "dead_letter" {
  name                       = "${var.pubsub_subscription}-dead-letter"
  topic                      = google_pubsub_topic.dead_letter.id
  labels                     = local.labels
  ack_deadline_seconds       = 60
  message_retention_duration = "${var.source_retention_days * 86400}s"

  expiration_policy {
    ttl = ""
  }
}

# the runtime account: consume the bronze subscription (subscriber) and read its settings
# (viewer: the source checks the subscription and its dead-letter policy at start)
resource "google_pubsub_subscription_iam_member" "runtime" {
  for_each     = toset(["roles/pubsub.subscriber", "roles/pubsub.viewer"])
  subscription = google_pubsub_subscription.bronze.name
  role         = each.value
  member       = "serviceAccount:${google_service_account.runtime.email}"
}

# producers: publish to the events topic, nothing else
resource "google_pubsub_topic_iam_member" "publishers" {
  for_each = toset(var.pubsub_publishers)
  topic    = google_pubsub_topic.events.name
  role     = "roles/pubsub.publisher"
  member   = each.value
}

# Pub/Sub's service agent forwards dead letters: it publishes to the dead-letter topic and
# acknowledges on the bronze subscription what it forwarded
resource "google_pubsub_topic_iam_member" "dead_letter_publisher" {
  topic  = google_pubsub_topic.dead_letter.name
  role   = "roles/pubsub.publisher"
  member = local.pubsub_agent
}

resource "google_pubsub_subscription_iam_member" "dead_letter_forwarder" {
  subscription = google_pubsub_subscription.bronze.name
  role         = "roles/pubsub.subscriber"
  member       = local.pubsub_agent
}

# the runtime account reads the bronze subscription's backlog and dead-letter count from
# Cloud Monitoring (status, the batch log); timeSeries.list is granted per project only, and
# the role reads metrics, it writes nothing
resource "google_project_iam_member" "runtime_monitoring" {
  project = var.project_id
  role    = "roles/monitoring.viewer"
  member  = "serviceAccount:${google_service_account.runtime.email}"
}
