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

# The admin routes read and delete whatsapp_sessions documents and delete the user's agent
# session; proactive sends (POST /whatsapp/messages) record the sent message in
# outbound_messages and claim its Idempotency-Key in proactive_requests. So the webhook gets
# Firestore and agent access only when they are switched on, and then only what those routes do.
# Firestore IAM cannot name a collection (a condition sees the database, never a document path),
# so the limits are: the verbs (get, list/query, create, update, delete) and the database. README.md here (Design decisions) says what that leaves
# open and why admin is not a separate function.
resource "google_project_iam_custom_role" "session_admin" {
  count       = var.enable_admin_api ? 1 : 0
  project     = var.project_id
  role_id     = "whatsappBridgeSessionAdmin"
  title       = "WhatsApp bridge session admin"
  description = "Read, query, write and delete Firestore documents, in transactions: what the webhook's admin routes do (sessions, proactive sends, hand-offs)."
  # datastore.databases.get: Firestore's permission to begin and roll back a transaction (the
  # Idempotency-Key claim, a pause, a status); it reads no document.
  permissions = ["datastore.entities.get", "datastore.entities.list", "datastore.entities.create", "datastore.entities.update", "datastore.entities.delete", "datastore.databases.get"]
}

resource "google_project_iam_member" "webhook_firestore" {
  count   = var.enable_admin_api ? 1 : 0
  project = var.project_id
  role    = google_project_iam_custom_role.session_admin[0].id
  member  = google_service_account.webhook.member

  condition {
    title       = "bridge-database-only"
    description = "Only the Firestore database the bridge keeps its state in."
    expression  = "resource.name == \"projects/${var.project_id}/databases/(default)\""
  }
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

# The admin routes delete a user's session on the agent of the number the session belongs to.
resource "google_vertex_ai_reasoning_engine_iam_member" "webhook_number_agents" {
  for_each         = var.enable_admin_api && var.agent_iam_scope == "engine" ? local.number_agents : {}
  project          = each.value.project
  region           = each.value.location
  reasoning_engine = each.value.id
  role             = "roles/aiplatform.user"
  member           = google_service_account.webhook.member
}

resource "google_project_iam_member" "webhook_number_agent_projects" {
  for_each = var.enable_admin_api && var.agent_iam_scope == "project" ? local.number_agent_projects : toset([])
  project  = each.value
  role     = "roles/aiplatform.user"
  member   = google_service_account.webhook.member
}

# ---------------------------------------------------------------- worker

# Bursts: the worker queues turn-due messages for its own turns subscription.
resource "google_pubsub_topic_iam_member" "worker_turns_publisher" {
  topic  = google_pubsub_topic.turns.id
  role   = "roles/pubsub.publisher"
  member = google_service_account.worker.member
}

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

# Every other agent of agent_engine_by_number (agents.tf), wherever it lives. Separate from
# worker_agent so adding a map leaves the existing grant (and its state address) untouched.
resource "google_vertex_ai_reasoning_engine_iam_member" "worker_number_agents" {
  for_each         = var.agent_iam_scope == "engine" ? local.number_agents : {}
  project          = each.value.project
  region           = each.value.location
  reasoning_engine = each.value.id
  role             = "roles/aiplatform.user"
  member           = google_service_account.worker.member
}

resource "google_project_iam_member" "worker_number_agent_projects" {
  for_each = var.agent_iam_scope == "project" ? local.number_agent_projects : toset([])
  project  = each.value
  role     = "roles/aiplatform.user"
  member   = google_service_account.worker.member
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

# The build reads the source archive, writes build logs and pushes the image: logs project-wide
# (they have no narrower scope), the source only from the two buckets it can come from, and
# images only into the bridge's own repository.
resource "google_project_iam_member" "build_log_writer" {
  count   = var.create_build_service_account ? 1 : 0
  project = var.project_id
  role    = "roles/logging.logWriter"
  member  = google_service_account.build[0].member
}

moved {
  from = google_project_iam_member.build["roles/logging.logWriter"]
  to   = google_project_iam_member.build_log_writer[0]
}

locals {
  # `gcloud functions deploy` (npm run deploy) uploads the source to the bucket Cloud Functions
  # keeps per project and region; terraform apply uploads it to google_storage_bucket.source.
  gcloud_source_bucket = "gcf-v2-sources-${data.google_project.this.number}-${var.region}"
}

resource "google_project_iam_member" "build_source_reader" {
  count   = var.create_build_service_account ? 1 : 0
  project = var.project_id
  role    = "roles/storage.objectViewer"
  member  = google_service_account.build[0].member

  condition {
    title       = "function-source-buckets"
    description = "Only the two buckets the functions' source archives are uploaded to."
    expression  = <<-EOT
      resource.name == "projects/_/buckets/${google_storage_bucket.source.name}" ||
      resource.name.startsWith("projects/_/buckets/${google_storage_bucket.source.name}/") ||
      resource.name == "projects/_/buckets/${local.gcloud_source_bucket}" ||
      resource.name.startsWith("projects/_/buckets/${local.gcloud_source_bucket}/")
    EOT
  }
}

resource "google_artifact_registry_repository_iam_member" "build_writer" {
  count      = var.create_build_service_account ? 1 : 0
  project    = google_artifact_registry_repository.functions.project
  location   = google_artifact_registry_repository.functions.location
  repository = google_artifact_registry_repository.functions.name
  role       = "roles/artifactregistry.writer"
  member     = google_service_account.build[0].member
}
