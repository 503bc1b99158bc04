# The Dataproc cluster of the streaming jobs (image 3.0: Spark 4.1, Delta 4.2 component) with
# an autoscaling policy, and the metastore it shares. Serverless batches need no cluster: the
# subnetwork (network.tf) and the runtime service account (iam.tf) are their prerequisites.

resource "google_dataproc_autoscaling_policy" "lakehouse" {
  policy_id = "${var.cluster_name}-autoscaling"
  location  = var.region

  worker_config {
    min_instances = var.min_workers
    max_instances = var.max_workers
  }

  secondary_worker_config {
    max_instances = 0
  }

  basic_algorithm {
    cooldown_period = "300s"
    yarn_config {
      graceful_decommission_timeout = "3600s"
      scale_up_factor               = 0.5
      scale_down_factor             = 0.5
    }
  }
}

resource "google_dataproc_metastore_service" "lakehouse" {
  service_id = "lakehouse-${var.environment}"
  location   = var.region
  tier       = var.metastore_tier
  network    = google_compute_network.lakehouse.id
  labels     = local.labels

  hive_metastore_config {
    version = "3.1.2"
  }

  encryption_config {
    kms_key = google_kms_crypto_key.lakehouse.id
  }

  depends_on = [google_kms_crypto_key_iam_member.service_agents]
}

resource "google_dataproc_cluster" "lakehouse" {
  name   = var.cluster_name
  region = var.region
  labels = local.labels

  cluster_config {
    staging_bucket = google_storage_bucket.staging.name

    gce_cluster_config {
      subnetwork             = google_compute_subnetwork.dataproc.id
      internal_ip_only       = true
      service_account        = google_service_account.runtime.email
      service_account_scopes = ["cloud-platform"]

      shielded_instance_config {
        enable_secure_boot          = true
        enable_vtpm                 = true
        enable_integrity_monitoring = true
      }
    }

    master_config {
      num_instances = 1
      machine_type  = var.master_machine_type
      disk_config {
        boot_disk_type    = "hyperdisk-balanced"
        boot_disk_size_gb = 100
      }
    }

    worker_config {
      num_instances = var.min_workers
      machine_type  = var.worker_machine_type
      disk_config {
        boot_disk_type    = "hyperdisk-balanced"
        boot_disk_size_gb = 200
      }
    }

    software_config {
      image_version       = var.image_version
      optional_components = ["DELTA"]
      override_properties = {
        "spark:spark.sql.extensions"                = "io.delta.sql.DeltaSparkSessionExtension"
        "spark:spark.sql.catalog.spark_catalog"     = "org.apache.spark.sql.delta.catalog.DeltaCatalog"
        "dataproc:dataproc.logging.stackdriver.enable" = "true"
      }
    }

    autoscaling_config {
      policy_uri = google_dataproc_autoscaling_policy.lakehouse.id
    }

    metastore_config {
      dataproc_metastore_service = google_dataproc_metastore_service.lakehouse.id
    }

    encryption_config {
      kms_key_name = google_kms_crypto_key.lakehouse.id
    }

    endpoint_config {
      enable_http_port_access = false
    }
  }

  depends_on = [
    google_project_iam_member.runtime,
    google_storage_bucket_iam_member.runtime,
    google_kms_crypto_key_iam_member.service_agents,
  ]
}
