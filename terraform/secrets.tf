# The secrets exist here; their values never do. Add each value once with
#   printf '%s' "$VALUE" | gcloud secrets versions add SECRET_ID --data-file=-
# (see README.md). Terraform state, code and outputs only ever hold the secret ids.

resource "google_secret_manager_secret" "access_token" {
  secret_id = "whatsapp-access-token"
  labels    = { used-by = "worker" }
  replication {
    auto {}
  }
  depends_on = [google_project_service.apis]
}

resource "google_secret_manager_secret" "app_secret" {
  secret_id = "whatsapp-app-secret"
  labels    = { used-by = "webhook" }
  replication {
    auto {}
  }
  depends_on = [google_project_service.apis]
}

resource "google_secret_manager_secret" "verify_token" {
  secret_id = "whatsapp-verify-token"
  labels    = { used-by = "webhook" }
  replication {
    auto {}
  }
  depends_on = [google_project_service.apis]
}

resource "google_secret_manager_secret" "admin_api_token" {
  count     = var.enable_admin_api ? 1 : 0
  secret_id = "whatsapp-admin-api-token"
  labels    = { used-by = "webhook" }
  replication {
    auto {}
  }
  depends_on = [google_project_service.apis]
}

# Each function reads only its own secrets.

resource "google_secret_manager_secret_iam_member" "worker_access_token" {
  secret_id = google_secret_manager_secret.access_token.id
  role      = "roles/secretmanager.secretAccessor"
  member    = google_service_account.worker.member
}

resource "google_secret_manager_secret_iam_member" "webhook_app_secret" {
  secret_id = google_secret_manager_secret.app_secret.id
  role      = "roles/secretmanager.secretAccessor"
  member    = google_service_account.webhook.member
}

resource "google_secret_manager_secret_iam_member" "webhook_verify_token" {
  secret_id = google_secret_manager_secret.verify_token.id
  role      = "roles/secretmanager.secretAccessor"
  member    = google_service_account.webhook.member
}

resource "google_secret_manager_secret_iam_member" "webhook_access_token" {
  count     = var.enable_admin_api ? 1 : 0
  secret_id = google_secret_manager_secret.access_token.id
  role      = "roles/secretmanager.secretAccessor"
  member    = google_service_account.webhook.member
}

resource "google_secret_manager_secret_iam_member" "webhook_admin_api_token" {
  count     = var.enable_admin_api ? 1 : 0
  secret_id = google_secret_manager_secret.admin_api_token[0].id
  role      = "roles/secretmanager.secretAccessor"
  member    = google_service_account.webhook.member
}
