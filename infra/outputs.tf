output "runtime_service_account" {
  description = "dataproc.service_account"
  value       = google_service_account.runtime.email
}

output "submitter_service_account" {
  description = "The account that runs lakehouse submit."
  value       = google_service_account.submitter.email
}

output "subnetwork" {
  description = "dataproc.subnetwork"
  value       = google_compute_subnetwork.dataproc.id
}

output "cluster" {
  description = "dataproc.cluster"
  value       = google_dataproc_cluster.lakehouse.name
}

output "staging_uri" {
  description = "dataproc.staging_uri"
  value       = "gs://${google_storage_bucket.staging.name}/releases"
}

output "pubsublite_subscription" {
  description = "source.pubsublite_subscription"
  value       = "projects/${var.project_id}/locations/${var.region}/subscriptions/${google_pubsub_lite_subscription.bronze.name}"
}

output "pubsub_subscription" {
  description = "source.pubsub_subscription"
  value       = google_pubsub_subscription.bronze.id
}

output "kafka_bootstrap_servers" {
  description = "source.kafka_bootstrap_servers"
  value       = "bootstrap.${google_managed_kafka_cluster.events.cluster_id}.${var.region}.managedkafka.${var.project_id}.cloud.goog:9092"
}

output "metastore" {
  description = "Dataproc Metastore service attached to the cluster."
  value       = google_dataproc_metastore_service.lakehouse.id
}

output "pseudonym_key_secret" {
  description = "privacy.pseudonym_key_secret (append /versions/N; add versions by hand)"
  value       = google_secret_manager_secret.pseudonym_key.id
}
