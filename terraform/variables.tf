# Every input of the deployment. Only project_id and agent_engine have no default; the
# rest are chosen for a small production bot and explained where they matter.

# ---------------------------------------------------------------- project and agent

variable "project_id" {
  description = "Google Cloud project id that hosts the functions, Pub/Sub, Firestore and the secrets."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.project_id))
    error_message = "project_id must be a project id (6-30 chars: lowercase letters, digits, hyphens), not a project number or name."
  }
}

variable "region" {
  description = "Region of the functions, the source bucket and the Cloud Run services behind them (e.g. us-central1, europe-west1)."
  type        = string
  default     = "us-central1"

  validation {
    condition     = can(regex("^[a-z]+-[a-z]+[0-9]+$", var.region))
    error_message = "region must look like us-central1 or europe-west4."
  }
}

variable "agent_engine" {
  description = "Full resource name of the deployed ADK agent on Vertex AI Agent Engine: projects/PROJECT/locations/LOCATION/reasoningEngines/ID. The project may differ from project_id."
  type        = string

  validation {
    condition     = can(regex("^projects/[^/\\s]+/locations/[a-z0-9-]+/reasoningEngines/[A-Za-z0-9_-]+$", var.agent_engine))
    error_message = "agent_engine must be projects/PROJECT/locations/LOCATION/reasoningEngines/ID (copy it from the Agent Engine page or `gcloud ai reasoning-engines list`)."
  }
}

variable "agent_engine_by_number" {
  description = "The agent of each business number, for one deployment serving several WhatsApp numbers: { \"<phone_number_id>\" = \"projects/P/locations/L/reasoningEngines/ID\" }. Numbers not in it are served by agent_engine. Agents may be in any project and region; the worker (and, with the admin routes on, the webhook) gets roles/aiplatform.user on every one of them (agent_iam_scope)."
  type        = map(string)
  default     = {}

  validation {
    condition     = alltrue([for number in keys(var.agent_engine_by_number) : can(regex("^[0-9]{1,32}$", number))])
    error_message = "agent_engine_by_number keys must be phone_number_id values (digits only: the id Meta shows beside the number in WhatsApp Manager, not the phone number). Bad keys: ${join(", ", [for number in keys(var.agent_engine_by_number) : "\"${number}\"" if !can(regex("^[0-9]{1,32}$", number))])}."
  }

  validation {
    condition     = alltrue([for engine in values(var.agent_engine_by_number) : can(regex("^projects/[^/\\s]+/locations/[a-z0-9-]+/reasoningEngines/[A-Za-z0-9_-]+$", engine))])
    error_message = "agent_engine_by_number values must be projects/PROJECT/locations/LOCATION/reasoningEngines/ID. Bad entries: ${join(", ", [for number, engine in var.agent_engine_by_number : "${number} = \"${engine}\"" if !can(regex("^projects/[^/\\s]+/locations/[a-z0-9-]+/reasoningEngines/[A-Za-z0-9_-]+$", engine))])}."
  }
}

variable "texts_by_number" {
  description = "Per business number, what it says and understands differently from the worker's settings (e.g. a Brazilian number answering in Portuguese and opting out on SAIR): { \"<phone_number_id>\" = { APOLOGY_TEXT = \"…\", OPT_OUT_COMMANDS = \"sair,parar\" } }. Names: APOLOGY_TEXT, UNSUPPORTED_TEXT, MEDIA_UNSUPPORTED_TEXT, MEDIA_TOO_LARGE_TEXT, SLOW_DOWN_TEXT, RESET_CONFIRM_TEXT, WELCOME_TEXT (\"\" = no welcome on that number), OPT_OUT_CONFIRM_TEXT, OPT_IN_CONFIRM_TEXT; the comma-separated word lists RESET_COMMANDS (\"\" = none on that number), OPT_OUT_COMMANDS, OPT_IN_COMMANDS (they replace the deployment's on that number); REENGAGE_TEMPLATE (\"\" = none on that number) and REENGAGE_TEMPLATE_LANGUAGE. Passed to the worker as TEXTS_BY_NUMBER."
  type        = map(map(string))
  default     = {}

  validation {
    condition     = alltrue([for number in keys(var.texts_by_number) : can(regex("^[0-9]{1,32}$", number))])
    error_message = "texts_by_number keys must be phone_number_id values (digits only). Bad keys: ${join(", ", [for number in keys(var.texts_by_number) : "\"${number}\"" if !can(regex("^[0-9]{1,32}$", number))])}."
  }

  validation {
    condition = alltrue(flatten([for number, texts in var.texts_by_number : [
      for name in keys(texts) : contains(["APOLOGY_TEXT", "UNSUPPORTED_TEXT", "MEDIA_UNSUPPORTED_TEXT", "MEDIA_TOO_LARGE_TEXT", "SLOW_DOWN_TEXT", "RESET_CONFIRM_TEXT", "WELCOME_TEXT", "OPT_OUT_CONFIRM_TEXT", "OPT_IN_CONFIRM_TEXT", "RESET_COMMANDS", "OPT_OUT_COMMANDS", "OPT_IN_COMMANDS", "REENGAGE_TEMPLATE", "REENGAGE_TEMPLATE_LANGUAGE"], name)
    ]]))
    error_message = "texts_by_number may set only APOLOGY_TEXT, UNSUPPORTED_TEXT, MEDIA_UNSUPPORTED_TEXT, MEDIA_TOO_LARGE_TEXT, SLOW_DOWN_TEXT, RESET_CONFIRM_TEXT, WELCOME_TEXT, OPT_OUT_CONFIRM_TEXT, OPT_IN_CONFIRM_TEXT, RESET_COMMANDS, OPT_OUT_COMMANDS, OPT_IN_COMMANDS, REENGAGE_TEMPLATE and REENGAGE_TEMPLATE_LANGUAGE. Unknown: ${join(", ", flatten([for number, texts in var.texts_by_number : [for name in keys(texts) : "${number}.${name}" if !contains(["APOLOGY_TEXT", "UNSUPPORTED_TEXT", "MEDIA_UNSUPPORTED_TEXT", "MEDIA_TOO_LARGE_TEXT", "SLOW_DOWN_TEXT", "RESET_CONFIRM_TEXT", "WELCOME_TEXT", "OPT_OUT_CONFIRM_TEXT", "OPT_IN_CONFIRM_TEXT", "RESET_COMMANDS", "OPT_OUT_COMMANDS", "OPT_IN_COMMANDS", "REENGAGE_TEMPLATE", "REENGAGE_TEMPLATE_LANGUAGE"], name)]]))}."
  }

  validation {
    condition     = alltrue(flatten([for number, texts in var.texts_by_number : [for name, text in texts : contains(["WELCOME_TEXT", "REENGAGE_TEMPLATE", "RESET_COMMANDS"], name) || trimspace(replace(text, ",", "")) != ""]]))
    error_message = "texts_by_number: every text and word list but WELCOME_TEXT, REENGAGE_TEMPLATE and RESET_COMMANDS must say something. Empty: ${join(", ", flatten([for number, texts in var.texts_by_number : [for name, text in texts : "${number}.${name}" if !contains(["WELCOME_TEXT", "REENGAGE_TEMPLATE", "RESET_COMMANDS"], name) && trimspace(replace(text, ",", "")) == ""]]))}."
  }

  validation {
    condition     = alltrue([for number, texts in var.texts_by_number : can(regex("^[a-z]{2,3}(_[A-Z]{2})?$", lookup(texts, "REENGAGE_TEMPLATE_LANGUAGE", "en")))])
    error_message = "texts_by_number: REENGAGE_TEMPLATE_LANGUAGE must be a language code like es or en_US. Bad: ${join(", ", [for number, texts in var.texts_by_number : "${number}.REENGAGE_TEMPLATE_LANGUAGE" if !can(regex("^[a-z]{2,3}(_[A-Z]{2})?$", lookup(texts, "REENGAGE_TEMPLATE_LANGUAGE", "en")))])}."
  }
}

variable "agent_iam_scope" {
  description = "Where the functions get roles/aiplatform.user: \"engine\" binds it on the agent only (least privilege, default); \"project\" binds it on the agent's project (fallback if your org blocks resource-level IAM on reasoning engines)."
  type        = string
  default     = "engine"

  validation {
    condition     = contains(["engine", "project"], var.agent_iam_scope)
    error_message = "agent_iam_scope must be \"engine\" or \"project\"."
  }
}

variable "graph_api_version" {
  description = "WhatsApp Cloud API (Graph API) version both functions call (the worker's replies, the admin routes' proactive messages), e.g. v25.0."
  type        = string
  default     = "v25.0"

  validation {
    condition     = can(regex("^v[0-9]+\\.[0-9]+$", var.graph_api_version))
    error_message = "graph_api_version must look like v25.0."
  }
}

variable "enable_admin_api" {
  description = "Turn on the webhook's admin routes (GET /whatsapp/sessions, DELETE /whatsapp/sessions/{phone}). Creates the admin-token secret and gives the webhook's service account Firestore and agent access; off keeps the webhook publish-only."
  type        = bool
  default     = false
}

# ---------------------------------------------------------------- names

variable "webhook_function_name" {
  description = "Name of the public webhook function (also its Cloud Run service name and the last segment of the callback URL)."
  type        = string
  default     = "whatsapp-webhook"

  validation {
    condition     = can(regex("^[a-z]([-a-z0-9]{0,38}[a-z0-9])?$", var.webhook_function_name))
    error_message = "webhook_function_name: lowercase letters, digits and hyphens, at most 40 characters, starting with a letter."
  }
}

variable "worker_function_name" {
  description = "Name of the private worker function. Kept short: its deterministic run.app URL (NAME-PROJECT_NUMBER.REGION.run.app) is the push endpoint and OIDC audience."
  type        = string
  default     = "whatsapp-worker"

  validation {
    condition     = can(regex("^[a-z]([-a-z0-9]{0,38}[a-z0-9])?$", var.worker_function_name))
    error_message = "worker_function_name: lowercase letters, digits and hyphens, at most 40 characters, starting with a letter."
  }
}

variable "pubsub_topic" {
  description = "Inbound topic the webhook publishes to. The dead-letter topic is TOPIC-dlq, its subscription TOPIC-dlq-sub, the worker's push subscription TOPIC-worker."
  type        = string
  default     = "whatsapp-inbound"

  validation {
    condition     = can(regex("^[a-zA-Z][-a-zA-Z0-9_.~+%]{2,200}$", var.pubsub_topic)) && !startswith(var.pubsub_topic, "goog")
    error_message = "pubsub_topic must be a valid Pub/Sub topic id (3-201 chars, starts with a letter, not with \"goog\")."
  }
}

variable "pubsub_turns_topic" {
  description = "Topic where the worker queues \"a turn may be due\" per conversation (bursts). Its dead-letter topic is TOPIC-dlq, its subscription TOPIC-dlq-sub, the worker's push subscription TOPIC-worker."
  type        = string
  default     = "whatsapp-turns"

  validation {
    condition     = can(regex("^[a-zA-Z][-a-zA-Z0-9_.~+%]{2,200}$", var.pubsub_turns_topic)) && !startswith(var.pubsub_turns_topic, "goog")
    error_message = "pubsub_turns_topic must be a valid Pub/Sub topic id (3-201 chars, starts with a letter, not with \"goog\")."
  }
}

variable "burst_window_ms" {
  description = "BURST_WINDOW_MS: a user's messages that follow each other within this quiet time become one agent turn; 0 = one turn per message."
  type        = number
  default     = 2000

  validation {
    condition     = var.burst_window_ms >= 0 && var.burst_window_ms <= 60000
    error_message = "burst_window_ms must be between 0 and 60000."
  }
}

variable "burst_max_wait_ms" {
  description = "BURST_MAX_WAIT_MS: the longest a burst waits from its first message; at least burst_window_ms, and far below worker_timeout_seconds (the wait and the agent share one delivery)."
  type        = number
  default     = 8000

  validation {
    condition     = var.burst_max_wait_ms >= 0 && var.burst_max_wait_ms <= 120000
    error_message = "burst_max_wait_ms must be between 0 and 120000."
  }
}

# ---------------------------------------------------------------- runtime and sizing

variable "runtime" {
  description = "Cloud Functions runtime. nodejs22 matches package.json engines (>=22.19); nodejs24 also works."
  type        = string
  default     = "nodejs22"

  validation {
    condition     = contains(["nodejs22", "nodejs24"], var.runtime)
    error_message = "runtime must be nodejs22 or nodejs24 (nodejs20 is decommissioned and too old for @google-cloud/pubsub 6)."
  }
}

variable "webhook_timeout_seconds" {
  description = "Webhook request timeout. The handler only verifies and publishes (PUBLISH_TIMEOUT_MS defaults to 10 s), so 60 s is generous."
  type        = number
  default     = 60

  validation {
    condition     = var.webhook_timeout_seconds >= 15 && var.webhook_timeout_seconds <= 300
    error_message = "webhook_timeout_seconds must be between 15 and 300."
  }
}

variable "webhook_memory" {
  description = "Webhook memory. It loads no Firestore or aiplatform code, so 256Mi is enough even for a 4 MiB batch from Meta."
  type        = string
  default     = "256Mi"

  validation {
    condition     = can(regex("^[0-9]+(Mi|Gi)$", var.webhook_memory))
    error_message = "webhook_memory must be like 256Mi or 1Gi."
  }
}

variable "webhook_concurrency" {
  description = "Concurrent requests per webhook instance. The work is I/O (one publish per message), so one instance serves many requests; needs 1 vCPU."
  type        = number
  default     = 80

  validation {
    condition     = var.webhook_concurrency >= 1 && var.webhook_concurrency <= 1000
    error_message = "webhook_concurrency must be between 1 and 1000."
  }
}

variable "webhook_min_instances" {
  description = "Warm webhook instances. 0 costs nothing idle; 1 removes the cold start from Meta's first request after a quiet period."
  type        = number
  default     = 0

  validation {
    condition     = var.webhook_min_instances >= 0 && var.webhook_min_instances <= 10
    error_message = "webhook_min_instances must be between 0 and 10."
  }
}

variable "webhook_max_instances" {
  description = "Upper bound on webhook instances (x concurrency = requests in flight). Caps cost under a flood of forged requests, which are rejected cheaply."
  type        = number
  default     = 20

  validation {
    condition     = var.webhook_max_instances >= 1 && var.webhook_max_instances <= 1000
    error_message = "webhook_max_instances must be between 1 and 1000."
  }
}

variable "worker_timeout_seconds" {
  description = "Worker request timeout: one delivery must finish in it. Below ack_deadline_seconds, above the worker's time budget (a burst's wait + media lookup and copy + the agent + the first reply, timeBudget.tf); PROCESSING_LEASE_SECONDS is set 30 s above it."
  type        = number
  default     = 300

  validation {
    condition     = var.worker_timeout_seconds >= 60 && var.worker_timeout_seconds <= 540
    error_message = "worker_timeout_seconds must be between 60 and 540 (the push ack deadline cannot exceed 600 s and must stay above it)."
  }
}

variable "webhook_heap_mb" {
  description = "V8 heap cap of the webhook (NODE_OPTIONS --max-old-space-size), well inside webhook_memory: uncapped, the heap grows past 256Mi under saturation (bench/README.md)."
  type        = number
  default     = 96

  validation {
    condition     = var.webhook_heap_mb >= 64
    error_message = "webhook_heap_mb must be at least 64."
  }
}

variable "worker_heap_mb" {
  description = "V8 heap cap of the worker (NODE_OPTIONS --max-old-space-size). null: worker_memory minus 320 MiB for what lives outside the old space (sizing.tf, bench/README.md Memory), 192 at 512Mi."
  type        = number
  default     = null

  validation {
    condition     = var.worker_heap_mb == null || try(var.worker_heap_mb >= 128, false)
    error_message = "worker_heap_mb must be null (follow worker_memory) or at least 128."
  }
}

variable "worker_memory" {
  description = "Worker memory. The bench measured a 191 MiB peak at worker_concurrency 20 with the heap capped at 192 MiB (bench/README.md, Memory); the heap cap follows this setting (worker_heap_mb)."
  type        = string
  default     = "512Mi"

  validation {
    condition     = can(regex("^[0-9]+(Mi|Gi)$", var.worker_memory)) && try(tonumber(regex("^[0-9]+", var.worker_memory)) * (endswith(var.worker_memory, "Gi") ? 1024 : 1) >= 512, false)
    error_message = "worker_memory must be like 512Mi or 1Gi, and at least 512Mi (code, clients and 20 deliveries' buffers need about 320 MiB besides the heap)."
  }
}

variable "worker_concurrency" {
  description = "Concurrent deliveries per worker instance. Each one mostly waits on the agent, so 20 streams share one vCPU well; ordering already serialises each user's messages."
  type        = number
  default     = 20

  validation {
    condition     = var.worker_concurrency >= 1 && var.worker_concurrency <= 250
    error_message = "worker_concurrency must be between 1 and 250."
  }
}

variable "worker_min_instances" {
  description = "Warm worker instances. 1 spares the first reply after idle the worker's start (seconds: it loads the Google clients) for at most about $65 a month at the default size (terraform/README.md, Scaling and cost)."
  type        = number
  default     = 0

  validation {
    condition     = var.worker_min_instances >= 0 && var.worker_min_instances <= 10
    error_message = "worker_min_instances must be between 0 and 10."
  }
}

variable "worker_max_instances" {
  description = "Upper bound on worker instances. worker_max_instances x worker_concurrency = conversations answered at once; keep it within your Agent Engine quota. Excess deliveries wait in Pub/Sub."
  type        = number
  default     = 10

  validation {
    condition     = var.worker_max_instances >= 1 && var.worker_max_instances <= 1000
    error_message = "worker_max_instances must be between 1 and 1000."
  }
}

variable "worker_ingress" {
  description = "Ingress of the worker. ALLOW_ALL plus IAM (only the push service account may invoke) is the safe default; ALLOW_INTERNAL_ONLY also works where Pub/Sub push counts as internal traffic for your project."
  type        = string
  default     = "ALLOW_ALL"

  validation {
    condition     = contains(["ALLOW_ALL", "ALLOW_INTERNAL_ONLY"], var.worker_ingress)
    error_message = "worker_ingress must be ALLOW_ALL or ALLOW_INTERNAL_ONLY."
  }
}

variable "agent_timeout_seconds" {
  description = "Deadline of one agent call (AGENT_TIMEOUT_MS). Must leave time, within worker_timeout_seconds, for a burst's wait, the media and the reply (timeBudget.tf)."
  type        = number
  default     = 240

  validation {
    condition     = var.agent_timeout_seconds >= 10 && var.agent_timeout_seconds <= 530
    error_message = "agent_timeout_seconds must be between 10 and 530."
  }
}

# ---------------------------------------------------------------- delivery

variable "ack_deadline_seconds" {
  description = "Push subscription ack deadline = Pub/Sub's HTTP timeout for one push. Must exceed worker_timeout_seconds or Pub/Sub re-pushes a message whose first attempt is still running."
  type        = number
  default     = 600

  validation {
    condition     = var.ack_deadline_seconds >= 10 && var.ack_deadline_seconds <= 600
    error_message = "ack_deadline_seconds must be between 10 and 600 (Pub/Sub limits)."
  }
}

variable "max_delivery_attempts" {
  description = "Deliveries before a message moves to the dead-letter topic. Also passed to the worker as MAX_DELIVERY_ATTEMPTS so its last attempt sends the apology."
  type        = number
  default     = 5

  validation {
    condition     = var.max_delivery_attempts >= 5 && var.max_delivery_attempts <= 100
    error_message = "max_delivery_attempts must be between 5 and 100 (Pub/Sub limits)."
  }
}

variable "retry_minimum_backoff_seconds" {
  description = "First retry delay of the push subscription's exponential backoff."
  type        = number
  default     = 10

  validation {
    condition     = var.retry_minimum_backoff_seconds >= 0 && var.retry_minimum_backoff_seconds <= 600
    error_message = "retry_minimum_backoff_seconds must be between 0 and 600."
  }
}

variable "retry_maximum_backoff_seconds" {
  description = "Largest retry delay of the push subscription's exponential backoff."
  type        = number
  default     = 300

  validation {
    condition     = var.retry_maximum_backoff_seconds >= 0 && var.retry_maximum_backoff_seconds <= 600
    error_message = "retry_maximum_backoff_seconds must be between 0 and 600."
  }
}

# ---------------------------------------------------------------- behaviour of the worker

variable "session_ttl_hours" {
  description = "Inactivity after which a user's next message starts a new agent session (SESSION_TTL_HOURS)."
  type        = number
  default     = 24

  validation {
    condition     = var.session_ttl_hours >= 1 && floor(var.session_ttl_hours) == var.session_ttl_hours
    error_message = "session_ttl_hours must be a whole number >= 1."
  }
}

variable "user_rate_limit_per_minute" {
  description = "Agent calls per user per minute before the polite slow-down reply (USER_RATE_LIMIT_PER_MINUTE)."
  type        = number
  default     = 10

  validation {
    condition     = var.user_rate_limit_per_minute >= 1 && floor(var.user_rate_limit_per_minute) == var.user_rate_limit_per_minute
    error_message = "user_rate_limit_per_minute must be a whole number >= 1."
  }
}

variable "inbound_record_ttl_days" {
  description = "Days an inbound_messages idempotency record is kept before Firestore TTL deletes it (INBOUND_RECORD_TTL_DAYS). Longer than Meta's retry window."
  type        = number
  default     = 7

  validation {
    condition     = var.inbound_record_ttl_days >= 1 && floor(var.inbound_record_ttl_days) == var.inbound_record_ttl_days
    error_message = "inbound_record_ttl_days must be a whole number >= 1."
  }
}

variable "agent_accepts_media" {
  description = "Pass photos, voice notes, documents, videos and stickers to the agent (AGENT_ACCEPTS_MEDIA), as file_data parts naming their copy in the media bucket. Off: the user is told the bot reads text only (MEDIA_UNSUPPORTED_TEXT)."
  type        = bool
  default     = false
}

variable "media_bucket_name" {
  description = "Name of the bucket for inbound media (MEDIA_BUCKET); empty = \"<project_id>-whatsapp-media\". Bucket names are global."
  type        = string
  default     = ""

  validation {
    condition     = var.media_bucket_name == "" || can(regex("^[a-z0-9][a-z0-9_.-]{1,61}[a-z0-9]$", var.media_bucket_name))
    error_message = "media_bucket_name must be empty or a bucket name: 3-63 lower-case letters, digits, -, _ or ., starting and ending with a letter or digit."
  }
}

variable "media_retention_days" {
  description = "Days a copy of an inbound media object is kept in the media bucket before the lifecycle rule deletes it. The agent reads it during the turn; a session replayed later than this sees the file no more."
  type        = number
  default     = 7

  validation {
    condition     = var.media_retention_days >= 1 && var.media_retention_days <= 365 && floor(var.media_retention_days) == var.media_retention_days
    error_message = "media_retention_days must be a whole number from 1 to 365."
  }
}

variable "media_bucket_readers" {
  description = "Extra IAM members given roles/storage.objectViewer on the media bucket, e.g. \"serviceAccount:my-agent@PROJECT.iam.gserviceaccount.com\" for an agent deployed with its own service account. The Agent Engine service agent of every agent project is granted already."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for member in var.media_bucket_readers : can(regex("^(serviceAccount|user|group|domain):", member))])
    error_message = "media_bucket_readers entries must be IAM members such as serviceAccount:NAME@PROJECT.iam.gserviceaccount.com."
  }
}

variable "log_level" {
  description = "LOG_LEVEL of both functions."
  type        = string
  default     = "info"

  validation {
    condition     = contains(["fatal", "error", "warn", "info", "debug", "trace", "silent"], var.log_level)
    error_message = "log_level must be one of fatal, error, warn, info, debug, trace, silent."
  }
}

variable "webhook_extra_env" {
  description = "Additional plain environment variables for the webhook (e.g. PUBLISH_TIMEOUT_MS). May not set any variable Terraform sets for the webhook, plain or secret (a precondition in functions.tf lists them), nor test switches such as ALLOW_UNSIGNED_WEBHOOKS."
  type        = map(string)
  default     = {}

  validation {
    condition     = alltrue([for key in keys(var.webhook_extra_env) : can(regex("^[A-Z_][A-Z0-9_]*$", key))])
    error_message = "webhook_extra_env keys must be environment variable names (upper case, digits, underscores)."
  }
}

variable "worker_extra_env" {
  description = "Additional plain environment variables for the worker, e.g. APOLOGY_TEXT, UNSUPPORTED_TEXT, SLOW_DOWN_TEXT, MAX_REPLY_CHARS, GRAPH_TIMEOUT_MS, MEDIA_COPY_TIMEOUT_MS, VERTEX_API_ENDPOINT. May not set any variable Terraform sets for the worker, plain or secret (a precondition in functions.tf lists them), nor test switches such as emulator hosts."
  type        = map(string)
  default     = {}

  validation {
    condition     = alltrue([for key in keys(var.worker_extra_env) : can(regex("^[A-Z_][A-Z0-9_]*$", key))])
    error_message = "worker_extra_env keys must be environment variable names (upper case, digits, underscores)."
  }
}

# ---------------------------------------------------------------- secrets

variable "secret_versions" {
  description = "Secret Manager version each function reads: \"latest\" (picked up by new instances) or a version number (pin it to roll every instance on rotation). Keys: access_token, app_secret, verify_token, admin_api_token."
  type = object({
    access_token    = optional(string, "latest")
    app_secret      = optional(string, "latest")
    verify_token    = optional(string, "latest")
    admin_api_token = optional(string, "latest")
  })
  default = {}

  validation {
    condition     = alltrue([for version in values(var.secret_versions) : can(regex("^(latest|[1-9][0-9]*)$", version))])
    error_message = "Each secret version must be \"latest\" or a version number."
  }
}

# ---------------------------------------------------------------- Firestore

variable "create_firestore_database" {
  description = "Create the (default) Firestore database in Native mode. Set false if the project already has one (it must be Native mode)."
  type        = bool
  default     = true
}

variable "firestore_location" {
  description = "Location of the Firestore database when Terraform creates it: a multi-region (nam5, eur3) or a region. Cannot be changed later. Empty = the functions' region."
  type        = string
  default     = ""

  validation {
    condition     = var.firestore_location == "" || can(regex("^([a-z]+-[a-z]+[0-9]+|nam[0-9]+|eur[0-9]+)$", var.firestore_location))
    error_message = "firestore_location must be empty, a region like europe-west1, or a multi-region like nam5 / eur3."
  }
}

# ---------------------------------------------------------------- build

variable "create_build_service_account" {
  description = "Build the functions with a dedicated service account (logs writer; reader of the two source buckets only; writer of the bridge's Artifact Registry repository only). false = the project's default build account, which new projects often leave without permissions."
  type        = bool
  default     = true
}

# ---------------------------------------------------------------- alerting

variable "notification_channels" {
  description = "Existing Cloud Monitoring notification channels for every alert, as projects/PROJECT/notificationChannels/ID (list them with `gcloud beta monitoring channels list`)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for channel in var.notification_channels : can(regex("^projects/[^/]+/notificationChannels/[0-9]+$", channel))])
    error_message = "notification_channels entries must be projects/PROJECT/notificationChannels/ID."
  }
}

variable "alert_email" {
  description = "Optional e-mail address: Terraform creates an e-mail notification channel for it and adds it to every alert. Empty = none."
  type        = string
  default     = ""

  validation {
    condition     = var.alert_email == "" || can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", var.alert_email))
    error_message = "alert_email must be empty or an e-mail address."
  }
}

variable "worker_error_rate_threshold" {
  description = "Alert when this fraction of worker requests answer 5xx (retryable failures) over 5 minutes."
  type        = number
  default     = 0.1

  validation {
    condition     = var.worker_error_rate_threshold > 0 && var.worker_error_rate_threshold <= 1
    error_message = "worker_error_rate_threshold must be in (0, 1]."
  }
}

variable "signature_failure_threshold" {
  description = "Alert when more webhook requests than this fail signature verification within 5 minutes (a rotated App Secret, or someone probing the public URL)."
  type        = number
  default     = 5

  validation {
    condition     = var.signature_failure_threshold >= 0
    error_message = "signature_failure_threshold must be >= 0."
  }
}

variable "delivery_failure_threshold" {
  description = "Alert when more outbound messages than this fail within 5 minutes in one failure class (window, undeliverable, ecosystem, rate_limit); template and auth/policy failures alert on the first."
  type        = number
  default     = 10

  validation {
    condition     = var.delivery_failure_threshold >= 0
    error_message = "delivery_failure_threshold must be >= 0."
  }
}

variable "reply_latency_p95_threshold_ms" {
  description = "Alert when the 95th percentile of the time from Meta's callback to the agent's first reply chunk stays above this many milliseconds for 10 minutes. Agent Engine turns with tool calls often take 5-20 s; set it from what the dashboard shows for your agent."
  type        = number
  default     = 30000

  validation {
    condition     = var.reply_latency_p95_threshold_ms >= 1000
    error_message = "reply_latency_p95_threshold_ms must be at least 1000 (1 s): the time includes the agent's turn."
  }
}

variable "labels" {
  description = "Extra labels on every resource that supports them."
  type        = map(string)
  default     = {}
}
