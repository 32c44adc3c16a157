# One identity per job, each with only what that job does. No basic roles (owner/editor/viewer)
# anywhere; a test in test/deploy fails if one appears.

resource "google_service_account" "webhook" {
  account_id   = "whatsapp-webhook"
  display_name = "WhatsApp bridge webhook (verifies Meta's requests, publishes to Pub/Sub)"
  depends_on   = [google_project_service.apis]
}

resource "google_service_account" "worker" {
  account_id   = "whatsapp-worker"
  display_name = "WhatsApp bridge worker (Firestore, Vertex AI agent, Graph API token)"
  depends_on   = [google_project_service.apis]
}

resource "google_service_account" "push" {
  account_id   = "whatsapp-push"
  display_name = "Pub/Sub push identity: may only invoke the worker"
  depends_on   = [google_project_service.apis]
}

resource "google_service_account" "build" {
  count        = var.create_build_service_account ? 1 : 0
  account_id   = "whatsapp-build"
  display_name = "Builds the WhatsApp bridge functions (Cloud Build)"
  depends_on   = [google_project_service.apis]
}

# ---------------------------------------------------------------- webhook

resource "google_pubsub_topic_iam_member" "webhook_publisher" {
  topic  = google_pubsub_topic.inbound.id
  role   = "roles/pubsub.publisher"
  member = google_service_account.webhook.member
}

# The admin routes read and delete whatsapp_sessions and delete the user's agent session, so the
# webhook gets Firestore and agent access only when they are switched on.
resource "google_project_iam_member" "webhook_firestore" {
  count   = var.enable_admin_api ? 1 : 0
  project = var.project_id
  # Firestore has no collection-level IAM; datastore.user is the narrowest role that reads and writes documents.
  role   = "roles/datastore.user"
  member = google_service_account.webhook.member
}

resource "google_vertex_ai_reasoning_engine_iam_member" "webhook_agent" {
  count            = var.enable_admin_api && var.agent_iam_scope == "engine" ? 1 : 0
  project          = local.agent_project
  region           = local.agent_location
  reasoning_engine = local.agent_id
  role             = "roles/aiplatform.user"
  member           = google_service_account.webhook.member
}

resource "google_project_iam_member" "webhook_agent_project" {
  count   = var.enable_admin_api && var.agent_iam_scope == "project" ? 1 : 0
  project = local.agent_project
  role    = "roles/aiplatform.user"
  member  = google_service_account.webhook.member
}

# ---------------------------------------------------------------- worker

resource "google_project_iam_member" "worker_firestore" {
  project = var.project_id
  role    = "roles/datastore.user"
  member  = google_service_account.worker.member
}

# roles/aiplatform.user on the engine itself covers streamQuery and the engine's sessions
# (sub-resources), and nothing else in Vertex AI.
resource "google_vertex_ai_reasoning_engine_iam_member" "worker_agent" {
  count            = var.agent_iam_scope == "engine" ? 1 : 0
  project          = local.agent_project
  region           = local.agent_location
  reasoning_engine = local.agent_id
  role             = "roles/aiplatform.user"
  member           = google_service_account.worker.member
}

resource "google_project_iam_member" "worker_agent_project" {
  count   = var.agent_iam_scope == "project" ? 1 : 0
  project = local.agent_project
  role    = "roles/aiplatform.user"
  member  = google_service_account.worker.member
}

# ---------------------------------------------------------------- push identity

# Pub/Sub mints the push request's OIDC token as the push service account. Projects created
# before April 2021 need this grant for the Pub/Sub service agent; newer ones have it implicitly.
resource "google_service_account_iam_member" "pubsub_agent_token_creator" {
  service_account_id = google_service_account.push.name
  role               = "roles/iam.serviceAccountTokenCreator"
  member             = local.pubsub_service_agent
  depends_on         = [google_pubsub_topic.inbound]
}

# ---------------------------------------------------------------- build identity

resource "google_project_iam_member" "build" {
  for_each = var.create_build_service_account ? toset([
    "roles/logging.logWriter",
    "roles/artifactregistry.writer",
    "roles/storage.objectViewer",
  ]) : toset([])

  project = var.project_id
  role    = each.value
  member  = google_service_account.build[0].member
}
