# The network of the cluster, the Serverless batches and the Kafka clients: no external IPs,
# Private Google Access for Google APIs, Cloud NAT for Maven Central (Serverless batches
# resolve the Delta jars at start).

resource "google_compute_network" "lakehouse" {
  name                    = "lakehouse-${var.environment}"
  auto_create_subnetworks = false
}

resource "google_compute_subnetwork" "dataproc" {
  name                     = "lakehouse-${var.environment}"
  region                   = var.region
  network                  = google_compute_network.lakehouse.id
  ip_cidr_range            = var.subnet_cidr
  private_ip_google_access = true

  log_config {
    aggregation_interval = "INTERVAL_5_MIN"
    flow_sampling        = 0.5
    metadata             = "INCLUDE_ALL_METADATA"
  }
}

# Dataproc nodes and Serverless executors talk to each other on any port inside the subnet.
resource "google_compute_firewall" "internal" {
  name          = "lakehouse-${var.environment}-internal"
  network       = google_compute_network.lakehouse.id
  direction     = "INGRESS"
  source_ranges = [var.subnet_cidr]

  allow {
    protocol = "tcp"
  }
  allow {
    protocol = "udp"
  }
  allow {
    protocol = "icmp"
  }

  log_config {
    metadata = "INCLUDE_ALL_METADATA"
  }
}

resource "google_compute_router" "lakehouse" {
  name    = "lakehouse-${var.environment}"
  region  = var.region
  network = google_compute_network.lakehouse.id
}

resource "google_compute_router_nat" "lakehouse" {
  name                               = "lakehouse-${var.environment}"
  router                             = google_compute_router.lakehouse.name
  region                             = var.region
  nat_ip_allocate_option             = "AUTO_ONLY"
  source_subnetwork_ip_ranges_to_nat = "LIST_OF_SUBNETWORKS"

  subnetwork {
    name                    = google_compute_subnetwork.dataproc.id
    source_ip_ranges_to_nat = ["ALL_IP_RANGES"]
  }

  log_config {
    enable = true
    filter = "ERRORS_ONLY"
  }
}
