#!/usr/bin/env bash
# Deploys the WhatsApp bridge with plain gcloud, for projects managed without Terraform:
# APIs, service accounts and their roles, secrets (ids only), topics, Firestore TTL, both
# functions, the ordered push subscription with its dead-letter topic, log-based metrics and
# alert policies. Safe to re-run: existing resources are updated, not duplicated.
#
# Settings come from the environment, then from deploy.env (KEY=VALUE lines; the environment
# wins). They have the same names as the Terraform variables, upper-cased. Required:
# PROJECT_ID and AGENT_ENGINE. See terraform/README.md, "Deploy with gcloud".
#
#   npm run deploy                 # or: bash scripts/deploy.sh
#   DEPLOY_ENV_FILE=prod.env npm run deploy
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
warn() { printf '\033[33mwarning: %s\033[0m\n' "$*" >&2; }
die() {
  printf '\033[31merror: %s\033[0m\n' "$*" >&2
  exit 1
}

# ---------------------------------------------------------------- settings

load_env_file() {
  local file="$1" line key value
  [[ -f "$file" ]] || return 0
  log "reading settings from $file"
  while IFS= read -r line || [[ -n "$line" ]]; do
    line="${line#"${line%%[![:space:]]*}"}"
    [[ -z "$line" || "$line" == \#* ]] && continue
    line="${line#export }"
    [[ "$line" == *=* ]] || die "$file: not a KEY=VALUE line: $line"
    key="${line%%=*}"
    value="${line#*=}"
    [[ "$key" =~ ^[A-Z_][A-Z0-9_]*$ ]] || die "$file: bad variable name: $key"
    if [[ "$value" =~ ^\"(.*)\"$ || "$value" =~ ^\'(.*)\'$ ]]; then value="${BASH_REMATCH[1]}"; fi
    # The environment wins over the file.
    if [[ -z "${!key+set}" ]]; then export "$key=$value"; fi
  done <"$file"
}

load_env_file "${DEPLOY_ENV_FILE:-$ROOT/deploy.env}"

PROJECT_ID="${PROJECT_ID:-${GOOGLE_CLOUD_PROJECT:-}}"
[[ -n "$PROJECT_ID" ]] || die "set PROJECT_ID (in the environment or deploy.env)"
[[ -n "${AGENT_ENGINE:-}" ]] || die "set AGENT_ENGINE=projects/P/locations/L/reasoningEngines/ID"

REGION="${REGION:-us-central1}"
RUNTIME="${RUNTIME:-nodejs22}"
GRAPH_API_VERSION="${GRAPH_API_VERSION:-v25.0}"
PUBSUB_TOPIC="${PUBSUB_TOPIC:-whatsapp-inbound}"
WEBHOOK_FUNCTION_NAME="${WEBHOOK_FUNCTION_NAME:-whatsapp-webhook}"
WORKER_FUNCTION_NAME="${WORKER_FUNCTION_NAME:-whatsapp-worker}"
ENABLE_ADMIN_API="${ENABLE_ADMIN_API:-false}"
AGENT_IAM_SCOPE="${AGENT_IAM_SCOPE:-engine}"
CREATE_BUILD_SERVICE_ACCOUNT="${CREATE_BUILD_SERVICE_ACCOUNT:-true}"
CREATE_FIRESTORE_DATABASE="${CREATE_FIRESTORE_DATABASE:-true}"
FIRESTORE_LOCATION="${FIRESTORE_LOCATION:-$REGION}"
LOG_LEVEL="${LOG_LEVEL:-info}"

WEBHOOK_TIMEOUT_SECONDS="${WEBHOOK_TIMEOUT_SECONDS:-60}"
WEBHOOK_MEMORY="${WEBHOOK_MEMORY:-256Mi}"
# V8 heap cap kept well inside the instance memory (measured in bench/README.md).
WEBHOOK_HEAP_MB="${WEBHOOK_HEAP_MB:-96}"
WEBHOOK_CONCURRENCY="${WEBHOOK_CONCURRENCY:-80}"
WEBHOOK_MIN_INSTANCES="${WEBHOOK_MIN_INSTANCES:-0}"
WEBHOOK_MAX_INSTANCES="${WEBHOOK_MAX_INSTANCES:-20}"
WORKER_TIMEOUT_SECONDS="${WORKER_TIMEOUT_SECONDS:-300}"
WORKER_MEMORY="${WORKER_MEMORY:-1Gi}"
WORKER_HEAP_MB="${WORKER_HEAP_MB:-512}"
WORKER_CONCURRENCY="${WORKER_CONCURRENCY:-20}"
WORKER_MIN_INSTANCES="${WORKER_MIN_INSTANCES:-0}"
WORKER_MAX_INSTANCES="${WORKER_MAX_INSTANCES:-10}"
WORKER_INGRESS="${WORKER_INGRESS:-all}"
AGENT_TIMEOUT_SECONDS="${AGENT_TIMEOUT_SECONDS:-240}"

ACK_DEADLINE_SECONDS="${ACK_DEADLINE_SECONDS:-600}"
MAX_DELIVERY_ATTEMPTS="${MAX_DELIVERY_ATTEMPTS:-5}"
RETRY_MINIMUM_BACKOFF_SECONDS="${RETRY_MINIMUM_BACKOFF_SECONDS:-10}"
RETRY_MAXIMUM_BACKOFF_SECONDS="${RETRY_MAXIMUM_BACKOFF_SECONDS:-300}"

SESSION_TTL_HOURS="${SESSION_TTL_HOURS:-24}"
USER_RATE_LIMIT_PER_MINUTE="${USER_RATE_LIMIT_PER_MINUTE:-10}"
INBOUND_RECORD_TTL_DAYS="${INBOUND_RECORD_TTL_DAYS:-7}"

NOTIFICATION_CHANNELS="${NOTIFICATION_CHANNELS:-}"
WORKER_ERROR_RATE_THRESHOLD="${WORKER_ERROR_RATE_THRESHOLD:-0.1}"
SIGNATURE_FAILURE_THRESHOLD="${SIGNATURE_FAILURE_THRESHOLD:-5}"

# Optional settings passed through to the functions when set (the code has defaults).
WEBHOOK_OPTIONAL_ENV=(PUBLISH_TIMEOUT_MS VERTEX_API_ENDPOINT)
WORKER_OPTIONAL_ENV=(GRAPH_API_BASE_URL GRAPH_TIMEOUT_MS VERTEX_API_ENDPOINT MAX_REPLY_CHARS APOLOGY_TEXT
  UNSUPPORTED_TEXT SLOW_DOWN_TEXT MEDIA_UNSUPPORTED_TEXT AGENT_ACCEPTS_MEDIA MAX_MEDIA_BYTES RESET_COMMANDS
  RESET_CONFIRM_TEXT)

SECRET_ACCESS_TOKEN="whatsapp-access-token"
SECRET_APP_SECRET="whatsapp-app-secret"
SECRET_VERIFY_TOKEN="whatsapp-verify-token"
SECRET_ADMIN_API_TOKEN="whatsapp-admin-api-token"

DEAD_LETTER_TOPIC="${PUBSUB_TOPIC}-dlq"
DEAD_LETTER_SUBSCRIPTION="${PUBSUB_TOPIC}-dlq-sub"
PUSH_SUBSCRIPTION="${PUBSUB_TOPIC}-worker"
TTL_COLLECTIONS=(whatsapp_sessions inbound_messages rate_limits)

WEBHOOK_SA="whatsapp-webhook@${PROJECT_ID}.iam.gserviceaccount.com"
WORKER_SA="whatsapp-worker@${PROJECT_ID}.iam.gserviceaccount.com"
PUSH_SA="whatsapp-push@${PROJECT_ID}.iam.gserviceaccount.com"
BUILD_SA="whatsapp-build@${PROJECT_ID}.iam.gserviceaccount.com"

is_uint() { [[ "$1" =~ ^[0-9]+$ ]]; }

validate_settings() {
  local name
  for name in WEBHOOK_TIMEOUT_SECONDS WEBHOOK_CONCURRENCY WEBHOOK_MIN_INSTANCES WEBHOOK_MAX_INSTANCES \
    WORKER_TIMEOUT_SECONDS WORKER_CONCURRENCY WORKER_MIN_INSTANCES WORKER_MAX_INSTANCES AGENT_TIMEOUT_SECONDS \
    ACK_DEADLINE_SECONDS MAX_DELIVERY_ATTEMPTS RETRY_MINIMUM_BACKOFF_SECONDS RETRY_MAXIMUM_BACKOFF_SECONDS \
    SESSION_TTL_HOURS USER_RATE_LIMIT_PER_MINUTE INBOUND_RECORD_TTL_DAYS SIGNATURE_FAILURE_THRESHOLD; do
    is_uint "${!name}" || die "$name must be a whole number (got '${!name}')"
  done
  [[ "$PROJECT_ID" =~ ^[a-z][a-z0-9-]{4,28}[a-z0-9]$ ]] || die "PROJECT_ID must be a project id"
  [[ "$AGENT_ENGINE" =~ ^projects/[^/]+/locations/[^/]+/reasoningEngines/[^/]+$ ]] ||
    die "AGENT_ENGINE must be projects/P/locations/L/reasoningEngines/ID"
  for name in WEBHOOK_FUNCTION_NAME WORKER_FUNCTION_NAME; do
    [[ "${!name}" =~ ^[a-z]([-a-z0-9]{0,38}[a-z0-9])?$ ]] || die "$name: lowercase letters, digits, hyphens, at most 40 chars"
  done
  [[ "$PUBSUB_TOPIC" =~ ^[a-zA-Z][-a-zA-Z0-9_.~+%]{2,200}$ ]] || die "PUBSUB_TOPIC is not a valid topic id"
  [[ "$RUNTIME" == nodejs22 || "$RUNTIME" == nodejs24 ]] || die "RUNTIME must be nodejs22 or nodejs24"
  [[ "$AGENT_IAM_SCOPE" == engine || "$AGENT_IAM_SCOPE" == project ]] || die "AGENT_IAM_SCOPE must be engine or project"
  [[ "$WORKER_INGRESS" == all || "$WORKER_INGRESS" == internal-only ]] || die "WORKER_INGRESS must be all or internal-only"
  ((MAX_DELIVERY_ATTEMPTS >= 5 && MAX_DELIVERY_ATTEMPTS <= 100)) || die "MAX_DELIVERY_ATTEMPTS must be 5..100"
  ((ACK_DEADLINE_SECONDS <= 600)) || die "ACK_DEADLINE_SECONDS must be at most 600"
  ((ACK_DEADLINE_SECONDS > WORKER_TIMEOUT_SECONDS)) ||
    die "ACK_DEADLINE_SECONDS ($ACK_DEADLINE_SECONDS) must exceed WORKER_TIMEOUT_SECONDS ($WORKER_TIMEOUT_SECONDS)"
  ((AGENT_TIMEOUT_SECONDS < WORKER_TIMEOUT_SECONDS)) ||
    die "AGENT_TIMEOUT_SECONDS ($AGENT_TIMEOUT_SECONDS) must be below WORKER_TIMEOUT_SECONDS ($WORKER_TIMEOUT_SECONDS)"
  ((RETRY_MINIMUM_BACKOFF_SECONDS <= RETRY_MAXIMUM_BACKOFF_SECONDS)) || die "retry backoff: minimum above maximum"
  [[ "$WORKER_ERROR_RATE_THRESHOLD" =~ ^(0\.[0-9]*[1-9][0-9]*|1(\.0+)?)$ ]] ||
    die "WORKER_ERROR_RATE_THRESHOLD must be a fraction in (0, 1]"
  if [[ -n "$NOTIFICATION_CHANNELS" ]]; then
    local channel channel_list
    IFS=',' read -r -a channel_list <<<"$NOTIFICATION_CHANNELS"
    for channel in "${channel_list[@]}"; do
      [[ "$channel" =~ ^projects/[^/]+/notificationChannels/[0-9]+$ ]] ||
        die "NOTIFICATION_CHANNELS entries must be projects/P/notificationChannels/ID (got '$channel')"
    done
  fi
}

# ---------------------------------------------------------------- helpers

WORK_DIR="$(mktemp -d)"
trap 'rm -rf "$WORK_DIR"' EXIT

gc() { gcloud --project="$PROJECT_ID" --quiet "$@"; }

project_binding() {
  gc projects add-iam-policy-binding "$PROJECT_ID" --member="$1" --role="$2" --condition=None >/dev/null
}

ensure_service_account() {
  local email="$1" display="$2"
  if ! gc iam service-accounts describe "$email" >/dev/null 2>&1; then
    gc iam service-accounts create "${email%%@*}" --display-name="$display"
  fi
}

ensure_topic() {
  gc pubsub topics describe "$1" >/dev/null 2>&1 || gc pubsub topics create "$1"
}

ensure_secret() {
  local id="$1" used_by="$2"
  if ! gc secrets describe "$id" >/dev/null 2>&1; then
    gc secrets create "$id" --replication-policy=automatic --labels="used-by=$used_by"
  fi
  if [[ -z "$(gc secrets versions list "$id" --filter=state:enabled --limit=1 --format='value(name)')" ]]; then
    MISSING_SECRETS+=("$id")
  fi
}

secret_binding() {
  gc secrets add-iam-policy-binding "$1" --member="serviceAccount:$2" --role=roles/secretmanager.secretAccessor >/dev/null
}

# roles/aiplatform.user on the reasoning engine itself (gcloud has no command for its IAM policy,
# so this is a read-modify-write of the policy over REST).
agent_binding() {
  local member="$1" location endpoint policy updated
  if [[ "$AGENT_IAM_SCOPE" == project ]]; then
    gcloud --quiet projects add-iam-policy-binding "$AGENT_PROJECT" --member="$member" \
      --role=roles/aiplatform.user --condition=None >/dev/null
    return
  fi
  location="$(cut -d/ -f4 <<<"$AGENT_ENGINE")"
  endpoint="https://${location}-aiplatform.googleapis.com/v1/${AGENT_ENGINE}"
  (
    umask 077
    printf 'Authorization: Bearer %s\n' "$(gcloud auth print-access-token)" >"$WORK_DIR/auth-header"
  )
  policy="$(curl -fsS -X POST -H @"$WORK_DIR/auth-header" -H 'Content-Type: application/json' \
    -d '{"options":{"requestedPolicyVersion":3}}' "${endpoint}:getIamPolicy")"
  updated="$(POLICY="$policy" MEMBER="$member" node -e '
    const policy = JSON.parse(process.env.POLICY || "{}");
    const role = "roles/aiplatform.user";
    const member = process.env.MEMBER;
    policy.bindings = policy.bindings || [];
    let binding = policy.bindings.find((b) => b.role === role && !b.condition);
    if (binding && binding.members.includes(member)) { process.stdout.write(""); process.exit(0); }
    if (!binding) { binding = { role, members: [] }; policy.bindings.push(binding); }
    binding.members.push(member);
    process.stdout.write(JSON.stringify({ policy }));
  ')"
  if [[ -n "$updated" ]]; then
    curl -fsS -X POST -H @"$WORK_DIR/auth-header" -H 'Content-Type: application/json' \
      -d "$updated" "${endpoint}:setIamPolicy" >/dev/null
  fi
  rm -f "$WORK_DIR/auth-header"
}

# Writes the function's plain environment as a JSON (= YAML) file for --env-vars-file, so values
# with commas or quotes (APOLOGY_TEXT) survive. Empty values are left out.
write_env_file() {
  local file="$1"
  shift
  node -e '
    const env = {};
    for (const name of process.argv.slice(1)) {
      const value = process.env[name];
      if (value !== undefined && value !== "") env[name] = value;
    }
    process.stdout.write(JSON.stringify(env, null, 2));
  ' "$@" >"$file"
}

# ---------------------------------------------------------------- steps

enable_apis() {
  log "enabling APIs"
  gc services enable aiplatform.googleapis.com artifactregistry.googleapis.com cloudbuild.googleapis.com \
    cloudfunctions.googleapis.com cloudresourcemanager.googleapis.com firestore.googleapis.com iam.googleapis.com \
    logging.googleapis.com monitoring.googleapis.com pubsub.googleapis.com run.googleapis.com \
    secretmanager.googleapis.com storage.googleapis.com
}

create_identities() {
  log "service accounts"
  ensure_service_account "$WEBHOOK_SA" "WhatsApp bridge webhook (verifies Meta's requests, publishes to Pub/Sub)"
  ensure_service_account "$WORKER_SA" "WhatsApp bridge worker (Firestore, Vertex AI agent, Graph API token)"
  ensure_service_account "$PUSH_SA" "Pub/Sub push identity: may only invoke the worker"
  if [[ "$CREATE_BUILD_SERVICE_ACCOUNT" == true ]]; then
    ensure_service_account "$BUILD_SA" "Builds the WhatsApp bridge functions (Cloud Build)"
    local role
    for role in roles/logging.logWriter roles/artifactregistry.writer roles/storage.objectViewer; do
      project_binding "serviceAccount:$BUILD_SA" "$role"
    done
  fi
}

create_secrets() {
  log "secrets (ids only; values are added with gcloud secrets versions add)"
  MISSING_SECRETS=()
  ensure_secret "$SECRET_ACCESS_TOKEN" worker
  ensure_secret "$SECRET_APP_SECRET" webhook
  ensure_secret "$SECRET_VERIFY_TOKEN" webhook
  if [[ "$ENABLE_ADMIN_API" == true ]]; then ensure_secret "$SECRET_ADMIN_API_TOKEN" webhook; fi
  if ((${#MISSING_SECRETS[@]} > 0)); then
    local id
    for id in "${MISSING_SECRETS[@]}"; do
      printf "  printf '%%s' \"\$VALUE\" | gcloud secrets versions add %s --project=%s --data-file=-\n" "$id" "$PROJECT_ID" >&2
    done
    die "these secrets have no value yet; add them with the commands above and re-run"
  fi
  secret_binding "$SECRET_ACCESS_TOKEN" "$WORKER_SA"
  secret_binding "$SECRET_APP_SECRET" "$WEBHOOK_SA"
  secret_binding "$SECRET_VERIFY_TOKEN" "$WEBHOOK_SA"
  if [[ "$ENABLE_ADMIN_API" == true ]]; then secret_binding "$SECRET_ADMIN_API_TOKEN" "$WEBHOOK_SA"; fi
}

create_topics() {
  log "topics $PUBSUB_TOPIC and $DEAD_LETTER_TOPIC"
  ensure_topic "$PUBSUB_TOPIC"
  ensure_topic "$DEAD_LETTER_TOPIC"
  gc pubsub topics add-iam-policy-binding "$PUBSUB_TOPIC" --member="serviceAccount:$WEBHOOK_SA" \
    --role=roles/pubsub.publisher >/dev/null
  # The Pub/Sub service agent dead-letters: it publishes to the DLQ topic (and acks on the source
  # subscription, granted after the subscription exists) and mints the push OIDC token.
  gcloud beta services identity create --service=pubsub.googleapis.com --project="$PROJECT_ID" >/dev/null 2>&1 ||
    warn "could not ensure the Pub/Sub service agent exists (gcloud beta missing?); continuing"
  gc pubsub topics add-iam-policy-binding "$DEAD_LETTER_TOPIC" --member="serviceAccount:$PUBSUB_AGENT" \
    --role=roles/pubsub.publisher >/dev/null
  gc iam service-accounts add-iam-policy-binding "$PUSH_SA" --member="serviceAccount:$PUBSUB_AGENT" \
    --role=roles/iam.serviceAccountTokenCreator >/dev/null
}

create_firestore() {
  log "Firestore (default) database and TTL policies"
  if ! gc firestore databases describe --database='(default)' >/dev/null 2>&1; then
    if [[ "$CREATE_FIRESTORE_DATABASE" == true ]]; then
      gc firestore databases create --database='(default)' --location="$FIRESTORE_LOCATION" \
        --type=firestore-native --delete-protection
    else
      die "the project has no (default) Firestore database and CREATE_FIRESTORE_DATABASE is not true"
    fi
  fi
  local collection
  for collection in "${TTL_COLLECTIONS[@]}"; do
    gc firestore fields ttls update expiresAt --collection-group="$collection" --enable-ttl --async >/dev/null ||
      warn "TTL on $collection.expiresAt not updated (an earlier change may still be running); re-run later"
  done
}

grant_data_access() {
  log "Firestore and agent access (worker; webhook only with the admin API)"
  project_binding "serviceAccount:$WORKER_SA" roles/datastore.user
  agent_binding "serviceAccount:$WORKER_SA"
  if [[ "$ENABLE_ADMIN_API" == true ]]; then
    project_binding "serviceAccount:$WEBHOOK_SA" roles/datastore.user
    agent_binding "serviceAccount:$WEBHOOK_SA"
  fi
}

deploy_functions() {
  local build_flags=() webhook_secrets
  if [[ "$CREATE_BUILD_SERVICE_ACCOUNT" == true ]]; then
    build_flags=(--build-service-account="projects/$PROJECT_ID/serviceAccounts/$BUILD_SA")
  fi

  export GOOGLE_CLOUD_PROJECT="$PROJECT_ID" PUBSUB_TOPIC LOG_LEVEL AGENT_ENGINE GRAPH_API_VERSION \
    MAX_DELIVERY_ATTEMPTS SESSION_TTL_HOURS USER_RATE_LIMIT_PER_MINUTE INBOUND_RECORD_TTL_DAYS
  export PROCESSING_LEASE_SECONDS=$((WORKER_TIMEOUT_SECONDS + 30))
  export AGENT_TIMEOUT_MS=$((AGENT_TIMEOUT_SECONDS * 1000))
  export PUSH_AUDIENCE="$WORKER_URL" PUSH_SERVICE_ACCOUNT="$PUSH_SA"

  NODE_OPTIONS="--max-old-space-size=$WORKER_HEAP_MB" \
    write_env_file "$WORK_DIR/worker-env.yaml" NODE_OPTIONS GOOGLE_CLOUD_PROJECT AGENT_ENGINE GRAPH_API_VERSION MAX_DELIVERY_ATTEMPTS \
    PROCESSING_LEASE_SECONDS AGENT_TIMEOUT_MS PUSH_AUDIENCE PUSH_SERVICE_ACCOUNT SESSION_TTL_HOURS \
    USER_RATE_LIMIT_PER_MINUTE INBOUND_RECORD_TTL_DAYS LOG_LEVEL "${WORKER_OPTIONAL_ENV[@]}"
  NODE_OPTIONS="--max-old-space-size=$WEBHOOK_HEAP_MB" \
    write_env_file "$WORK_DIR/webhook-env.yaml" NODE_OPTIONS GOOGLE_CLOUD_PROJECT PUBSUB_TOPIC LOG_LEVEL AGENT_ENGINE \
    "${WEBHOOK_OPTIONAL_ENV[@]}"

  log "deploying $WORKER_FUNCTION_NAME (private, entry point worker)"
  gc functions deploy "$WORKER_FUNCTION_NAME" --gen2 --region="$REGION" --runtime="$RUNTIME" --source="$ROOT" \
    --entry-point=worker --trigger-http --no-allow-unauthenticated --ingress-settings="$WORKER_INGRESS" \
    --run-service-account="$WORKER_SA" "${build_flags[@]}" \
    --timeout="${WORKER_TIMEOUT_SECONDS}s" --memory="$WORKER_MEMORY" --cpu=1 --concurrency="$WORKER_CONCURRENCY" \
    --min-instances="$WORKER_MIN_INSTANCES" --max-instances="$WORKER_MAX_INSTANCES" \
    --env-vars-file="$WORK_DIR/worker-env.yaml" \
    --set-secrets="WHATSAPP_ACCESS_TOKEN=${SECRET_ACCESS_TOKEN}:latest"
  gc functions add-invoker-policy-binding "$WORKER_FUNCTION_NAME" --region="$REGION" \
    --member="serviceAccount:$PUSH_SA" >/dev/null

  webhook_secrets="WHATSAPP_APP_SECRET=${SECRET_APP_SECRET}:latest,WHATSAPP_VERIFY_TOKEN=${SECRET_VERIFY_TOKEN}:latest"
  if [[ "$ENABLE_ADMIN_API" == true ]]; then webhook_secrets+=",ADMIN_API_TOKEN=${SECRET_ADMIN_API_TOKEN}:latest"; fi

  log "deploying $WEBHOOK_FUNCTION_NAME (public, entry point webhook)"
  gc functions deploy "$WEBHOOK_FUNCTION_NAME" --gen2 --region="$REGION" --runtime="$RUNTIME" --source="$ROOT" \
    --entry-point=webhook --trigger-http --allow-unauthenticated --ingress-settings=all \
    --run-service-account="$WEBHOOK_SA" "${build_flags[@]}" \
    --timeout="${WEBHOOK_TIMEOUT_SECONDS}s" --memory="$WEBHOOK_MEMORY" --cpu=1 --concurrency="$WEBHOOK_CONCURRENCY" \
    --min-instances="$WEBHOOK_MIN_INSTANCES" --max-instances="$WEBHOOK_MAX_INSTANCES" \
    --env-vars-file="$WORK_DIR/webhook-env.yaml" \
    --set-secrets="$webhook_secrets"
}

create_subscriptions() {
  log "push subscription $PUSH_SUBSCRIPTION -> $WORKER_URL, dead-letter subscription $DEAD_LETTER_SUBSCRIPTION"
  local dlq_flags=(--message-retention-duration=7d --expiration-period=never --ack-deadline=60)
  if gc pubsub subscriptions describe "$DEAD_LETTER_SUBSCRIPTION" >/dev/null 2>&1; then
    gc pubsub subscriptions update "$DEAD_LETTER_SUBSCRIPTION" "${dlq_flags[@]}" >/dev/null
  else
    gc pubsub subscriptions create "$DEAD_LETTER_SUBSCRIPTION" --topic="$DEAD_LETTER_TOPIC" "${dlq_flags[@]}"
  fi

  local push_flags=(
    --push-endpoint="$WORKER_URL"
    --push-auth-service-account="$PUSH_SA"
    --push-auth-token-audience="$WORKER_URL"
    --ack-deadline="$ACK_DEADLINE_SECONDS"
    --min-retry-delay="${RETRY_MINIMUM_BACKOFF_SECONDS}s"
    --max-retry-delay="${RETRY_MAXIMUM_BACKOFF_SECONDS}s"
    --dead-letter-topic="projects/$PROJECT_ID/topics/$DEAD_LETTER_TOPIC"
    --max-delivery-attempts="$MAX_DELIVERY_ATTEMPTS"
    --message-retention-duration=7d
    --expiration-period=never
  )
  if gc pubsub subscriptions describe "$PUSH_SUBSCRIPTION" >/dev/null 2>&1; then
    local ordering
    ordering="$(gc pubsub subscriptions describe "$PUSH_SUBSCRIPTION" --format='value(enableMessageOrdering)')"
    [[ "$ordering" == True ]] ||
      die "$PUSH_SUBSCRIPTION exists without message ordering, which cannot be turned on later; delete it and re-run"
    gc pubsub subscriptions update "$PUSH_SUBSCRIPTION" "${push_flags[@]}" >/dev/null
  else
    gc pubsub subscriptions create "$PUSH_SUBSCRIPTION" --topic="$PUBSUB_TOPIC" --enable-message-ordering "${push_flags[@]}"
  fi
  gc pubsub subscriptions add-iam-policy-binding "$PUSH_SUBSCRIPTION" --member="serviceAccount:$PUBSUB_AGENT" \
    --role=roles/pubsub.subscriber >/dev/null
}

ensure_log_metric() {
  local name="$1" description="$2" filter="$3"
  if gc logging metrics describe "$name" >/dev/null 2>&1; then
    gc logging metrics update "$name" --description="$description" --log-filter="$filter" >/dev/null
  else
    gc logging metrics create "$name" --description="$description" --log-filter="$filter"
  fi
}

ensure_alert_policy() {
  local display_name="$1" file="$2" existing
  existing="$(gc monitoring policies list --filter="displayName=\"$display_name\"" --format='value(name)' | head -n1)"
  if [[ -n "$existing" ]]; then
    gc monitoring policies update "$existing" --policy-from-file="$file" >/dev/null
  else
    gc monitoring policies create --policy-from-file="$file" >/dev/null
  fi
}

# Same policies as terraform/monitoring.tf. Names interpolated below were validated above.
create_alerts() {
  log "log-based metrics and alert policies"
  ensure_log_metric whatsapp_graph_token_errors \
    "Worker log lines with Graph API error code 190 (access token invalid or expired)." \
    "resource.type=\"cloud_run_revision\" AND resource.labels.service_name=\"$WORKER_FUNCTION_NAME\" AND jsonPayload.graphErrorCode=190"
  ensure_log_metric whatsapp_webhook_signature_failures \
    "Webhook requests rejected because X-Hub-Signature-256 was missing or wrong." \
    "resource.type=\"cloud_run_revision\" AND resource.labels.service_name=\"$WEBHOOK_FUNCTION_NAME\" AND severity=WARNING AND jsonPayload.message=\"webhook signature rejected\""

  local channels=""
  if [[ -n "$NOTIFICATION_CHANNELS" ]]; then channels="\"${NOTIFICATION_CHANNELS//,/\",\"}\""; fi

  cat >"$WORK_DIR/alert-dead-letters.json" <<EOF
{
  "displayName": "WhatsApp bridge: messages dead-lettered",
  "combiner": "OR",
  "severity": "ERROR",
  "notificationChannels": [$channels],
  "conditions": [
    {
      "displayName": "Messages moved to $DEAD_LETTER_TOPIC",
      "conditionThreshold": {
        "filter": "resource.type=\"pubsub_subscription\" AND resource.labels.subscription_id=\"$PUSH_SUBSCRIPTION\" AND metric.type=\"pubsub.googleapis.com/subscription/dead_letter_message_count\"",
        "comparison": "COMPARISON_GT", "thresholdValue": 0, "duration": "0s",
        "aggregations": [{ "alignmentPeriod": "60s", "perSeriesAligner": "ALIGN_DELTA", "crossSeriesReducer": "REDUCE_SUM" }]
      }
    },
    {
      "displayName": "Messages waiting in $DEAD_LETTER_SUBSCRIPTION",
      "conditionThreshold": {
        "filter": "resource.type=\"pubsub_subscription\" AND resource.labels.subscription_id=\"$DEAD_LETTER_SUBSCRIPTION\" AND metric.type=\"pubsub.googleapis.com/subscription/num_undelivered_messages\"",
        "comparison": "COMPARISON_GT", "thresholdValue": 0, "duration": "300s",
        "aggregations": [{ "alignmentPeriod": "300s", "perSeriesAligner": "ALIGN_MAX" }]
      }
    }
  ],
  "alertStrategy": { "autoClose": "86400s" },
  "documentation": { "mimeType": "text/markdown", "content": "A user's message failed $MAX_DELIVERY_ATTEMPTS deliveries. Find the cause in the worker logs (filter by wamid), fix it, then npm run dlq -- list / replay (terraform/README.md, Operate)." }
}
EOF

  local worker_filter="resource.type=\\\"cloud_run_revision\\\" AND resource.labels.service_name=\\\"$WORKER_FUNCTION_NAME\\\" AND metric.type=\\\"run.googleapis.com/request_count\\\""
  cat >"$WORK_DIR/alert-worker-errors.json" <<EOF
{
  "displayName": "WhatsApp bridge: worker error rate",
  "combiner": "OR",
  "severity": "WARNING",
  "notificationChannels": [$channels],
  "conditions": [
    {
      "displayName": "5xx share of $WORKER_FUNCTION_NAME requests above $WORKER_ERROR_RATE_THRESHOLD",
      "conditionThreshold": {
        "filter": "$worker_filter AND metric.labels.response_code_class=\"5xx\"",
        "denominatorFilter": "$worker_filter",
        "comparison": "COMPARISON_GT", "thresholdValue": $WORKER_ERROR_RATE_THRESHOLD, "duration": "300s",
        "aggregations": [{ "alignmentPeriod": "300s", "perSeriesAligner": "ALIGN_DELTA", "crossSeriesReducer": "REDUCE_SUM" }],
        "denominatorAggregations": [{ "alignmentPeriod": "300s", "perSeriesAligner": "ALIGN_DELTA", "crossSeriesReducer": "REDUCE_SUM" }]
      }
    }
  ],
  "alertStrategy": { "autoClose": "3600s" },
  "documentation": { "mimeType": "text/markdown", "content": "The worker answers 5xx (retryable failures) to many deliveries; Pub/Sub retries them with backoff. Check the worker logs at severity>=WARNING." }
}
EOF

  cat >"$WORK_DIR/alert-graph-token.json" <<EOF
{
  "displayName": "WhatsApp bridge: Graph API access token rejected (190)",
  "combiner": "OR",
  "severity": "CRITICAL",
  "notificationChannels": [$channels],
  "conditions": [
    {
      "displayName": "Graph API error 190 in worker logs",
      "conditionThreshold": {
        "filter": "resource.type=\"cloud_run_revision\" AND metric.type=\"logging.googleapis.com/user/whatsapp_graph_token_errors\"",
        "comparison": "COMPARISON_GT", "thresholdValue": 0, "duration": "0s",
        "aggregations": [{ "alignmentPeriod": "300s", "perSeriesAligner": "ALIGN_DELTA", "crossSeriesReducer": "REDUCE_SUM" }]
      }
    }
  ],
  "alertStrategy": { "autoClose": "3600s" },
  "documentation": { "mimeType": "text/markdown", "content": "WhatsApp refuses the access token: no reply reaches any user. Rotate secret $SECRET_ACCESS_TOKEN (terraform/README.md, Rotate the access token)." }
}
EOF

  cat >"$WORK_DIR/alert-signature.json" <<EOF
{
  "displayName": "WhatsApp bridge: webhook signature failures",
  "combiner": "OR",
  "severity": "WARNING",
  "notificationChannels": [$channels],
  "conditions": [
    {
      "displayName": "More than $SIGNATURE_FAILURE_THRESHOLD rejected signatures in 5 minutes",
      "conditionThreshold": {
        "filter": "resource.type=\"cloud_run_revision\" AND metric.type=\"logging.googleapis.com/user/whatsapp_webhook_signature_failures\"",
        "comparison": "COMPARISON_GT", "thresholdValue": $SIGNATURE_FAILURE_THRESHOLD, "duration": "0s",
        "aggregations": [{ "alignmentPeriod": "300s", "perSeriesAligner": "ALIGN_DELTA", "crossSeriesReducer": "REDUCE_SUM" }]
      }
    }
  ],
  "alertStrategy": { "autoClose": "3600s" },
  "documentation": { "mimeType": "text/markdown", "content": "Requests to the public webhook fail the X-Hub-Signature-256 check. If they come from Meta, secret $SECRET_APP_SECRET no longer matches the App Secret in the App Dashboard." }
}
EOF

  ensure_alert_policy "WhatsApp bridge: messages dead-lettered" "$WORK_DIR/alert-dead-letters.json"
  ensure_alert_policy "WhatsApp bridge: worker error rate" "$WORK_DIR/alert-worker-errors.json"
  ensure_alert_policy "WhatsApp bridge: Graph API access token rejected (190)" "$WORK_DIR/alert-graph-token.json"
  ensure_alert_policy "WhatsApp bridge: webhook signature failures" "$WORK_DIR/alert-signature.json"
}

summary() {
  local callback
  callback="$(gc functions describe "$WEBHOOK_FUNCTION_NAME" --region="$REGION" --format='value(url)')"
  cat >&2 <<EOF

Deployed. Register the webhook in Meta's App Dashboard (WhatsApp > Configuration):
  Callback URL:  $callback
  Verify token:  gcloud secrets versions access latest --secret=$SECRET_VERIFY_TOKEN --project=$PROJECT_ID
  then subscribe to the "messages" webhook field.
Dead-letter subscription: $DEAD_LETTER_SUBSCRIPTION  (npm run dlq -- list | replay)
EOF
}

main() {
  command -v gcloud >/dev/null || die "gcloud is not installed (https://cloud.google.com/sdk/docs/install)"
  command -v node >/dev/null || die "node is needed to write the functions' environment files"
  if [[ "$AGENT_IAM_SCOPE" == engine ]]; then command -v curl >/dev/null || die "curl is needed (or set AGENT_IAM_SCOPE=project)"; fi
  validate_settings

  AGENT_PROJECT="$(cut -d/ -f2 <<<"$AGENT_ENGINE")"
  PROJECT_NUMBER="$(gc projects describe "$PROJECT_ID" --format='value(projectNumber)')"
  [[ "$PROJECT_NUMBER" =~ ^[0-9]+$ ]] || die "could not read the project number of $PROJECT_ID"
  PUBSUB_AGENT="service-${PROJECT_NUMBER}@gcp-sa-pubsub.iam.gserviceaccount.com"
  # The worker's deterministic run.app URL: push endpoint, OIDC audience and PUSH_AUDIENCE alike.
  WORKER_URL="https://${WORKER_FUNCTION_NAME}-${PROJECT_NUMBER}.${REGION}.run.app"

  enable_apis
  create_identities
  create_secrets
  create_topics
  create_firestore
  grant_data_access
  deploy_functions
  create_subscriptions
  create_alerts
  summary
}

main "$@"
