project_id  = "lakehouse-prod"
environment = "prod"
region      = "europe-west1"

lake_bucket       = "lakehouse-prod-lake"
checkpoint_bucket = "lakehouse-prod-checkpoints"
staging_bucket    = "lakehouse-prod-staging"
access_log_bucket = "lakehouse-prod-access-logs"

pubsublite_reservation         = "lakehouse-prod-events"
pubsublite_throughput_capacity = 8
pubsublite_topic               = "lakehouse-prod-events"
pubsublite_subscription        = "lakehouse-prod-bronze"
pubsublite_partitions          = 8

pubsub_topic        = "lakehouse-prod-events"
pubsub_subscription = "lakehouse-prod-bronze"

kafka_cluster_id = "lakehouse-prod"
kafka_topic      = "product-events"
kafka_partitions = 12
kafka_vcpu_count = 6
kafka_memory_gib = 12

cluster_name        = "lakehouse-prod"
worker_machine_type = "n4-standard-8"
min_workers         = 3
max_workers         = 10
metastore_tier      = "ENTERPRISE"
