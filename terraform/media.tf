# Inbound media (photos, voice notes, documents, videos, stickers): the worker copies each one
# from WhatsApp into this bucket and passes the agent a file_data part with its gs:// URI, which
# Gemini reads directly. Objects are named by a hash of the message id (nothing about the user)
# and are deleted by the lifecycle rule after media_retention_days.

locals {
  default_media_bucket = "${var.project_id}-whatsapp-media"
  media_bucket         = var.media_bucket_name != "" ? var.media_bucket_name : local.default_media_bucket
}

resource "google_storage_bucket" "media" {
  name                        = local.media_bucket
  location                    = var.region
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  # Only short-lived copies of what users sent: nothing here outlives its retention anyway.
  force_destroy = true
  labels        = var.labels

  lifecycle_rule {
    condition {
      age = var.media_retention_days
    }
    action {
      type = "Delete"
    }
  }

  # A deleted (expired) object is gone at once, not kept recoverable for another week.
  soft_delete_policy {
    retention_duration_seconds = 0
  }

  depends_on = [google_project_service.apis]
}

# The worker creates objects, reads their metadata (a retry reuses the object) and replaces an
# incomplete one: roles/storage.objectUser on this bucket only.
resource "google_storage_bucket_iam_member" "worker_media_writer" {
  bucket = google_storage_bucket.media.name
  role   = "roles/storage.objectUser"
  member = google_service_account.worker.member
}

# The agent reads the objects: Agent Engine runs it as the Reasoning Engine service agent of the
# project the engine lives in (agent_engine's, and each of agent_engine_by_number's).
data "google_project" "agent_projects" {
  for_each   = local.agent_projects
  project_id = each.value
}

resource "google_storage_bucket_iam_member" "agent_engine_media_reader" {
  for_each = data.google_project.agent_projects
  bucket   = google_storage_bucket.media.name
  role     = "roles/storage.objectViewer"
  member   = "serviceAccount:service-${each.value.number}@gcp-sa-aiplatform-re.iam.gserviceaccount.com"
}

# Agents deployed with their own service account (or models reading as another identity).
resource "google_storage_bucket_iam_member" "media_extra_readers" {
  for_each = toset(var.media_bucket_readers)
  bucket   = google_storage_bucket.media.name
  role     = "roles/storage.objectViewer"
  member   = each.value
}
