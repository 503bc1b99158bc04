# Values per environment come from environments/<environment>.tfvars. The names of buckets,
# topics and subscriptions must match the job configuration (lakehouse.dataproc.toml); a test
# compares them.

variable "project_id" {
  description = "GCP project of the environment."
  type        = string
}

variable "environment" {
  description = "Environment name (dev, prod): used in resource names and labels."
  type        = string
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,15}$", var.environment))
    error_message = "environment must be 2-16 lowercase letters, digits or dashes."
  }
}

variable "region" {
  description = "Region of every regional resource (Dataproc, buckets, Pub/Sub Lite, Kafka)."
  type        = string
}

variable "lake_bucket" {
  description = "Bucket of the Delta tables (lake.root = gs://<lake_bucket>/lake)."
  type        = string
}

variable "checkpoint_bucket" {
  description = "Bucket of the stream checkpoints (lake.checkpoint_root)."
  type        = string
}

variable "staging_bucket" {
  description = "Bucket of the releases that lakehouse submit stages (dataproc.staging_uri)."
  type        = string
}

variable "access_log_bucket" {
  description = "Bucket that receives the usage logs of the three buckets."
  type        = string
}

variable "noncurrent_version_days" {
  description = "Days a deleted or replaced object of the lake or checkpoint bucket is kept as a noncurrent version. Data removed by the retention job (Delta VACUUM) is physically gone this many days later."
  type        = number
  default     = 7
}

variable "staging_retention_days" {
  description = "Days a staged release is kept. Resubmit long-running jobs (a new release) more often than this."
  type        = number
  default     = 90
}

variable "subnet_cidr" {
  description = "Range of the Dataproc subnetwork (cluster, Serverless batches, Kafka clients)."
  type        = string
  default     = "10.10.0.0/20"
}

variable "pubsublite_reservation" {
  description = "Pub/Sub Lite reservation id."
  type        = string
}

variable "pubsublite_throughput_capacity" {
  description = "Throughput units of the reservation (1 unit = 1 MiB/s publish, 2 MiB/s subscribe)."
  type        = number
  default     = 2
}

variable "pubsublite_topic" {
  description = "Pub/Sub Lite topic of the product events."
  type        = string
}

variable "pubsublite_subscription" {
  description = "Pub/Sub Lite subscription the bronze job reads (source.pubsublite_subscription)."
  type        = string
}

variable "pubsublite_partitions" {
  description = "Partitions of the Pub/Sub Lite topic."
  type        = number
  default     = 2
}

variable "source_retention_days" {
  description = "Days the sources (Pub/Sub Lite, Kafka, Pub/Sub) keep events: the longest outage of the bronze job that loses nothing."
  type        = number
  default     = 7
  validation {
    condition     = var.source_retention_days >= 1 && var.source_retention_days <= 7
    error_message = "source_retention_days must be 1 to 7: a Pub/Sub subscription keeps unacknowledged messages 7 days at most."
  }
}

variable "pubsub_topic" {
  description = "Pub/Sub topic of the product events (its dead-letter topic is <name>-dead-letter)."
  type        = string
}

variable "pubsub_subscription" {
  description = "Pub/Sub subscription the bronze job reads (source.pubsub_subscription)."
  type        = string
}

variable "pubsub_max_delivery_attempts" {
  description = "Deliveries of a message before Pub/Sub moves it to the dead-letter topic (5 to 100)."
  type        = number
  default     = 5
}

variable "pubsub_publishers" {
  description = "Members (serviceAccount:...) that may publish to the events topic."
  type        = list(string)
  default     = []
}

variable "kafka_cluster_id" {
  description = "Managed Service for Apache Kafka cluster id."
  type        = string
}

variable "kafka_topic" {
  description = "Kafka topic of the product events (source.kafka_topics)."
  type        = string
}

variable "kafka_partitions" {
  description = "Partitions of the Kafka topic."
  type        = number
  default     = 6
}

variable "kafka_vcpu_count" {
  description = "vCPUs of the Kafka cluster (at least 3)."
  type        = number
  default     = 3
}

variable "kafka_memory_gib" {
  description = "Memory of the Kafka cluster in GiB (1 to 8 per vCPU)."
  type        = number
  default     = 3
}

variable "cluster_name" {
  description = "Dataproc cluster of the streaming jobs (dataproc.cluster)."
  type        = string
}

variable "image_version" {
  description = "Dataproc image: 3.0 runs Spark 4.1 and ships Delta 4.2 as the DELTA component (dataproc.image_version)."
  type        = string
  default     = "3.0-debian12"
}

variable "master_machine_type" {
  description = "Machine type of the master."
  type        = string
  default     = "n4-standard-4"
}

variable "worker_machine_type" {
  description = "Machine type of the workers."
  type        = string
  default     = "n4-standard-4"
}

variable "min_workers" {
  description = "Primary workers the streams always have."
  type        = number
  default     = 2
}

variable "max_workers" {
  description = "Primary workers autoscaling may add up to."
  type        = number
  default     = 6
}

variable "metastore_tier" {
  description = "Dataproc Metastore tier: DEVELOPER or ENTERPRISE."
  type        = string
  default     = "DEVELOPER"
}
