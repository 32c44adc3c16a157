terraform {
  # 1.5+: optional() object attributes, lifecycle preconditions and `check` blocks.
  required_version = ">= 1.5.0, < 2.0.0"

  required_providers {
    google = {
      source = "hashicorp/google"
      # 7.42+ has google_vertex_ai_reasoning_engine_iam_member (agent-scoped IAM) and the
      # `url` attribute of google_cloudfunctions2_function. Minor upgrades only; commit the
      # .terraform.lock.hcl that `terraform init` writes so every apply uses the same build.
      version = "~> 7.42"
    }
    archive = {
      source = "hashicorp/archive"
      # 2.5+ understands glob patterns (`**`) in archive_file.excludes.
      version = "~> 2.7"
    }
  }
}

provider "google" {
  project = var.project_id
  region  = var.region

  default_labels = merge({ app = "whatsapp-agent-bridge", managed-by = "terraform" }, var.labels)
}
