# The event sources the bronze job reads: a Pub/Sub Lite topic with its reservation and
# subscription, and a Managed Service for Apache Kafka cluster and topic. Each keeps events
# source_retention_days: the longest bronze outage that loses nothing (bronze then keeps them).

resource "google_pubsub_lite_reservation" "events" {
  name                = var.pubsublite_reservation
  region              = var.region
  throughput_capacity = var.pubsublite_throughput_capacity
}

resource "google_pubsub_lite_topic" "events" {
  name   = var.pubsublite_topic
  region = var.region

  partition_config {
    count = var.pubsublite_partitions
    capacity {
      publish_mib_per_sec   = 4
      subscribe_mib_per_sec = 8
    }
  }

  retention_config {
    per_partition_bytes = 32212254720 # 30 GiB per partition
    period              = "${var.source_retention_days * 86400}s"
  }

  reservation_config {
    throughput_reservation = google_pubsub_lite_reservation.events.name
  }
}

resource "google_pubsub_lite_subscription" "bronze" {
  name   = var.pubsublite_subscription
  region = var.region
  topic  = google_pubsub_lite_topic.events.name

  delivery_config {
    delivery_requirement = "DELIVER_AFTER_STORED"
  }
}

resource "google_managed_kafka_cluster" "events" {
  cluster_id = var.kafka_cluster_id
  location   = var.region
  labels     = local.labels

  capacity_config {
    vcpu_count   = var.kafka_vcpu_count
    memory_bytes = var.kafka_memory_gib * 1073741824
  }

  gcp_config {
    kms_key = google_kms_crypto_key.lakehouse.id
    access_config {
      network_configs {
        subnet = google_compute_subnetwork.dataproc.id
      }
    }
  }

  depends_on = [google_kms_crypto_key_iam_member.service_agents]
}

resource "google_managed_kafka_topic" "events" {
  topic_id           = var.kafka_topic
  cluster            = google_managed_kafka_cluster.events.cluster_id
  location           = var.region
  partition_count    = var.kafka_partitions
  replication_factor = 3

  configs = {
    "cleanup.policy" = "delete"
    "retention.ms"   = tostring(var.source_retention_days * 86400000)
  }
}
