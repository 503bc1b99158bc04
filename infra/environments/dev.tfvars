project_id  = "lakehouse-dev"
environment = "dev"
region      = "europe-west1"

lake_bucket       = "lakehouse-dev-lake"
checkpoint_bucket = "lakehouse-dev-checkpoints"
staging_bucket    = "lakehouse-dev-staging"
access_log_bucket = "lakehouse-dev-access-logs"

pubsublite_reservation  = "lakehouse-dev-events"
pubsublite_topic        = "lakehouse-dev-events"
pubsublite_subscription = "lakehouse-dev-bronze"

pubsub_topic        = "lakehouse-dev-events"
pubsub_subscription = "lakehouse-dev-bronze"

kafka_cluster_id = "lakehouse-dev"
kafka_topic      = "product-events"

cluster_name = "lakehouse-dev"
min_workers  = 2
max_workers  = 4
