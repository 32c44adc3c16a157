data "google_project" "this" {
  project_id = var.project_id
}

locals {
  agent_parts    = regex("^projects/([^/]+)/locations/([^/]+)/reasoningEngines/([^/]+)$", var.agent_engine)
  agent_project  = local.agent_parts[0]
  agent_location = local.agent_parts[1]
  agent_id       = local.agent_parts[2]

  # The worker's deterministic Cloud Run URL. It is known before the function exists, which
  # lets the same value be the push endpoint, the OIDC audience Pub/Sub puts in its token,
  # and PUSH_AUDIENCE, the audience the worker checks, without a dependency cycle.
  worker_url = "https://${var.worker_function_name}-${data.google_project.this.number}.${var.region}.run.app"

  # A delivery owns its inbound_messages record for this long: longer than any attempt can run,
  # so a lease is never taken over while its first attempt could still succeed or fail.
  processing_lease_seconds = var.worker_timeout_seconds + 30
  agent_timeout_ms         = var.agent_timeout_seconds * 1000

  pubsub_service_agent = "serviceAccount:service-${data.google_project.this.number}@gcp-sa-pubsub.iam.gserviceaccount.com"

  firestore_location = var.firestore_location == "" ? var.region : var.firestore_location

  # Collections whose documents carry an `expiresAt` timestamp for Firestore TTL.
  # opt_outs has no TTL on purpose: an opt-out lasts until the user opts back in.
  ttl_collections = toset(["whatsapp_sessions", "inbound_messages", "rate_limits", "outbound_messages", "held_replies", "conversation_windows", "proactive_requests", "burst_buffers", "handoffs"])

  # Plain (non-secret) environment of each function. Secrets are in *_secret_env below.
  webhook_env = {
    # V8 heap cap kept well inside the instance memory (sizing.tf).
    NODE_OPTIONS = local.webhook_node_options
    # Express (inside functions-framework) answers errors with a stack trace and file paths
    # unless NODE_ENV is production.
    NODE_ENV             = "production"
    GOOGLE_CLOUD_PROJECT = var.project_id
    PUBSUB_TOPIC         = var.pubsub_topic
    LOG_LEVEL            = var.log_level
    # Read only by the admin routes (they delete the user's agent session, on their number's agent,
    # and send proactive and staff messages on the worker's Graph API version).
    AGENT_ENGINE           = var.agent_engine
    AGENT_ENGINE_BY_NUMBER = jsonencode(var.agent_engine_by_number)
    GRAPH_API_VERSION      = var.graph_api_version
  }

  worker_env = {
    NODE_OPTIONS               = local.worker_node_options
    NODE_ENV                   = "production"
    GOOGLE_CLOUD_PROJECT       = var.project_id
    AGENT_ENGINE               = var.agent_engine
    AGENT_ENGINE_BY_NUMBER     = jsonencode(var.agent_engine_by_number)
    TEXTS_BY_NUMBER            = jsonencode(var.texts_by_number)
    GRAPH_API_VERSION          = var.graph_api_version
    MAX_DELIVERY_ATTEMPTS      = tostring(var.max_delivery_attempts)
    PROCESSING_LEASE_SECONDS   = tostring(local.processing_lease_seconds)
    AGENT_TIMEOUT_MS           = tostring(local.agent_timeout_ms)
    WORKER_TIMEOUT_SECONDS     = tostring(var.worker_timeout_seconds)
    PUSH_AUDIENCE              = local.worker_url
    PUSH_SERVICE_ACCOUNT       = google_service_account.push.email
    SESSION_TTL_HOURS          = tostring(var.session_ttl_hours)
    USER_RATE_LIMIT_PER_MINUTE = tostring(var.user_rate_limit_per_minute)
    INBOUND_RECORD_TTL_DAYS    = tostring(var.inbound_record_ttl_days)
    BURST_WINDOW_MS            = tostring(var.burst_window_ms)
    BURST_MAX_WAIT_MS          = tostring(var.burst_max_wait_ms)
    PUBSUB_TURNS_TOPIC         = var.pubsub_turns_topic
    AGENT_ACCEPTS_MEDIA        = tostring(var.agent_accepts_media)
    MEDIA_BUCKET               = google_storage_bucket.media.name
    LOG_LEVEL                  = var.log_level
  }

  # Secret environment of each function: variable -> Secret Manager secret and version. Each
  # service account may read only its own secrets (secrets.tf).
  webhook_secret_env = {
    WHATSAPP_APP_SECRET   = { secret = google_secret_manager_secret.app_secret.secret_id, version = var.secret_versions.app_secret }
    WHATSAPP_VERIFY_TOKEN = { secret = google_secret_manager_secret.verify_token.secret_id, version = var.secret_versions.verify_token }
  }
  # Bound to the webhook only with the admin routes on (the secret exists only then).
  admin_secret_env = {
    ADMIN_API_TOKEN = { secret = one(google_secret_manager_secret.admin_api_token[*].secret_id), version = var.secret_versions.admin_api_token }
    # Proactive messages (POST /whatsapp/messages) leave from the webhook's admin routes.
    WHATSAPP_ACCESS_TOKEN = { secret = google_secret_manager_secret.access_token.secret_id, version = var.secret_versions.access_token }
  }
  worker_secret_env = {
    WHATSAPP_ACCESS_TOKEN = { secret = google_secret_manager_secret.access_token.secret_id, version = var.secret_versions.access_token }
  }

  # What *_extra_env may not set: every variable Terraform sets for that function, plain or
  # secret, and the switches that turn a deployed function into a local test double. The admin
  # token is reserved even with the admin routes off, so no plain-text token can switch them on.
  test_switch_env   = ["ALLOW_UNSIGNED_WEBHOOKS", "PUBSUB_EMULATOR_HOST", "FIRESTORE_EMULATOR_HOST", "STORAGE_EMULATOR_HOST"]
  webhook_owned_env = setunion(keys(local.webhook_env), keys(local.webhook_secret_env), keys(local.admin_secret_env), local.test_switch_env)
  worker_owned_env  = setunion(keys(local.worker_env), keys(local.worker_secret_env), local.test_switch_env)

  # What the source archive leaves out: dependencies are installed, and the TypeScript type-checked
  # and bundled into dist/functions/index.js (esbuild.config.mjs), by the build on deploy
  # (gcp-build), so only package files, tsconfigs, esbuild.config.mjs, functions/ and shared/ are
  # uploaded. Keep in step with ../.gcloudignore.
  source_excludes = [
    ".git", ".git/**", ".github", ".github/**", ".ci", ".ci/**",
    ".vscode", ".vscode/**", ".idea", ".idea/**",
    "node_modules", "node_modules/**", "dist", "dist/**",
    "coverage", "coverage/**", "test-results", "test-results/**", "bench", "bench/**",
    "test", "test/**", "local", "local/**", "scripts", "scripts/**", "terraform", "terraform/**",
    "**/*.test.ts", "**/*.spec.ts", "**/*.md", "**/*.log",
    ".env", ".env.*", "deploy.env", "vitest.config.ts", ".gcloudignore", ".gitignore",
  ]
}

resource "google_project_service" "apis" {
  for_each = toset([
    "aiplatform.googleapis.com",
    "artifactregistry.googleapis.com",
    "cloudbuild.googleapis.com",
    "cloudfunctions.googleapis.com",
    "cloudresourcemanager.googleapis.com",
    "firestore.googleapis.com",
    "iam.googleapis.com",
    "logging.googleapis.com",
    "monitoring.googleapis.com",
    "pubsub.googleapis.com",
    "run.googleapis.com",
    "secretmanager.googleapis.com",
    "storage.googleapis.com",
  ])

  project = var.project_id
  service = each.value
  # Other workloads in the project may use these APIs; never switch them off on destroy.
  disable_on_destroy = false
}

# ---------------------------------------------------------------- source upload

resource "google_storage_bucket" "source" {
  name                        = "${var.project_id}-whatsapp-bridge-source"
  location                    = var.region
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  # Holds only build inputs that can be re-uploaded at any time.
  force_destroy = true

  depends_on = [google_project_service.apis]
}

data "archive_file" "source" {
  type             = "zip"
  source_dir       = "${path.module}/.."
  output_path      = "${path.module}/.build/function-source.zip"
  output_file_mode = "0644"
  excludes         = local.source_excludes
}

# Images the builds produce, for both deploy paths (terraform apply and npm run deploy). A
# repository of its own lets the build account write here and nowhere else in Artifact Registry.
resource "google_artifact_registry_repository" "functions" {
  location      = var.region
  repository_id = "whatsapp-bridge-functions"
  format        = "DOCKER"
  description   = "Container images built from the WhatsApp bridge's functions."

  depends_on = [google_project_service.apis]
}

resource "google_storage_bucket_object" "source" {
  # The md5 in the name makes every code change a new object, hence a new build and revision;
  # an unchanged name would leave the functions on the old code.
  name   = "function-source-${data.archive_file.source.output_md5}.zip"
  bucket = google_storage_bucket.source.name
  source = data.archive_file.source.output_path
}
