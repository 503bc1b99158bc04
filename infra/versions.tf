terraform {
  required_version = ">= 1.6"

  required_providers {
    google = {
      source  = "hashicorp/google"
      version = "~> 6.20"
    }
  }

  # State per environment: terraform init -backend-config="bucket=<state bucket>" \
  #   -backend-config="prefix=lakehouse/<environment>"
  backend "gcs" {}
}

provider "google" {
  project = var.project_id
  region  = var.region
}
