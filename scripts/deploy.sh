#!/usr/bin/env bash
# Ships new code onto the two functions Terraform created: one `gcloud functions deploy` per
# function, with the settings Terraform applied (runtime, entry point, sizing, service accounts,
# environment, secret references, ingress, build account and repository), read from
# `terraform output -json`. It creates and changes nothing else: topics, subscriptions, IAM,
# secrets, Firestore and alerts are Terraform's alone (terraform/README.md).
#
#   npm run deploy                  # both functions
#   npm run deploy -- worker        # only the worker (or: webhook)
#
# TF_DIR: the Terraform directory whose state describes the deployment (default terraform/).
# DEPLOY_OUTPUTS_FILE: read the outputs from this file instead, written on a machine that has the
# state with `terraform -chdir=terraform output -json > outputs.json`.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TF_DIR="${TF_DIR:-$ROOT/terraform}"
ROLES=(worker webhook)

die() {
  printf 'error: %s\n' "$*" >&2
  exit 1
}
log() { printf '==> %s\n' "$*" >&2; }

WORK_DIR="$(mktemp -d)"
trap 'rm -rf "$WORK_DIR"' EXIT

read_outputs() {
  if [[ -n "${DEPLOY_OUTPUTS_FILE:-}" ]]; then
    [[ -f "$DEPLOY_OUTPUTS_FILE" ]] || die "DEPLOY_OUTPUTS_FILE=$DEPLOY_OUTPUTS_FILE does not exist"
    cp "$DEPLOY_OUTPUTS_FILE" "$WORK_DIR/outputs.json"
    return
  fi
  command -v terraform >/dev/null ||
    die "terraform is not installed: install it, or set DEPLOY_OUTPUTS_FILE to the output of \`terraform -chdir=terraform output -json\`"
  terraform -chdir="$TF_DIR" output -json >"$WORK_DIR/outputs.json" 2>"$WORK_DIR/terraform.err" ||
    die "\`terraform -chdir=$TF_DIR output -json\` failed: $(cat "$WORK_DIR/terraform.err")"
}

# Prints, NUL-separated, what `gcloud functions deploy` needs for one function, in the order
# deploy_function reads them, and writes its plain environment to $3 for --env-vars-file (JSON is
# YAML, and keeps values with commas or quotes intact). Exits 3 naming whatever is missing.
# shellcheck disable=SC2016 # JavaScript: ${...} are its template literals, not shell expansions.
EXTRACT_FUNCTION='
  const fs = require("node:fs");
  const [file, role, envFile] = process.argv.slice(1);
  const outputs = JSON.parse(fs.readFileSync(file, "utf8"));
  const missing = (what) => { process.stderr.write(what); process.exit(3); };
  if (Object.keys(outputs).length === 0) missing("none");
  const project = outputs.project_id?.value;
  const fn = outputs.functions?.value?.[role];
  if (!project || !fn) missing("the outputs `project_id` and `functions`");
  const build = fn.build_config ?? {};
  const service = fn.service_config ?? {};
  const required = { name: fn.name, location: fn.location, runtime: build.runtime, entry_point: build.entry_point,
    service_account_email: service.service_account_email, ingress_settings: service.ingress_settings,
    timeout_seconds: service.timeout_seconds, available_memory: service.available_memory,
    available_cpu: service.available_cpu, max_instance_request_concurrency: service.max_instance_request_concurrency,
    min_instance_count: service.min_instance_count, max_instance_count: service.max_instance_count };
  const absent = Object.keys(required).filter((key) => required[key] === undefined || required[key] === null || required[key] === "");
  if (absent.length > 0) missing(`functions.${role}: ${absent.join(", ")}`);
  fs.writeFileSync(envFile, JSON.stringify(service.environment_variables ?? {}, null, 2));
  const secrets = (service.secret_environment_variables ?? [])
    .map((s) => `${s.key}=projects/${s.project_id}/secrets/${s.secret}:${s.version}`).join(",");
  const ingress = String(service.ingress_settings).toLowerCase().replace(/^allow_/, "").replaceAll("_", "-");
  const fields = [project, fn.name, fn.location, build.runtime, build.entry_point, build.service_account ?? "",
    build.docker_repository ?? "", service.service_account_email, ingress, service.timeout_seconds,
    service.available_memory, service.available_cpu, service.max_instance_request_concurrency,
    service.min_instance_count, service.max_instance_count, service.all_traffic_on_latest_revision === false ? "" : "latest",
    secrets, outputs.callback_url?.value ?? ""];
  process.stdout.write(fields.map(String).join("\0") + "\0");
'

# A function Terraform has not created yet is named as such; any other gcloud error is shown as is.
require_function() {
  local project="$1" name="$2" region="$3" error
  if ! error="$(gcloud --project="$project" --quiet functions describe "$name" --region="$region" --format='value(name)' 2>&1 >/dev/null)"; then
    if grep -qiE 'not[ _]found|does not exist' <<<"$error"; then
      die "function $name does not exist in project $project, region $region: run \`terraform apply\` in terraform/ first (terraform/README.md, Deploy with Terraform)"
    fi
    die "could not read function $name: $error"
  fi
}

deploy_function() {
  local role="$1" status=0 fields
  node -e "$EXTRACT_FUNCTION" "$WORK_DIR/outputs.json" "$role" "$WORK_DIR/$role-env.yaml" \
    >"$WORK_DIR/$role.fields" 2>"$WORK_DIR/$role.missing" || status=$?
  if ((status == 3)); then
    if [[ "$(cat "$WORK_DIR/$role.missing")" == none ]]; then
      die "Terraform has no outputs in $TF_DIR: the infrastructure does not exist yet (or this is not the directory with its state). Create it first: cd terraform && terraform init && terraform apply (terraform/README.md)"
    fi
    die "Terraform's outputs lack $(cat "$WORK_DIR/$role.missing"): run \`terraform apply\` in terraform/ with this checkout, then deploy again"
  fi
  ((status == 0)) || die "could not read Terraform's outputs: $(cat "$WORK_DIR/$role.missing")"
  mapfile -d '' -t fields <"$WORK_DIR/$role.fields"

  local project="${fields[0]}" name="${fields[1]}" region="${fields[2]}" build_account="${fields[5]}"
  local repository="${fields[6]}" traffic="${fields[15]}" secrets="${fields[16]}"
  CALLBACK_URL="${fields[17]}"
  require_function "$project" "$name" "$region"

  local flags=(
    --gen2 --region="$region" --source="$ROOT" --trigger-http
    --runtime="${fields[3]}" --entry-point="${fields[4]}"
    --run-service-account="${fields[7]}" --ingress-settings="${fields[8]}"
    --timeout="${fields[9]}s" --memory="${fields[10]}" --cpu="${fields[11]}" --concurrency="${fields[12]}"
    --min-instances="${fields[13]}" --max-instances="${fields[14]}"
    --env-vars-file="$WORK_DIR/$role-env.yaml"
  )
  if [[ -n "$secrets" ]]; then flags+=(--set-secrets="$secrets"); else flags+=(--clear-secrets); fi
  if [[ -n "$build_account" ]]; then flags+=(--build-service-account="$build_account"); fi
  if [[ -n "$repository" ]]; then flags+=(--docker-repository="$repository"); fi
  if [[ -n "$traffic" ]]; then flags+=(--serve-all-traffic-latest-revision); fi

  log "deploying $name (entry point ${fields[4]}) to $project/$region"
  gcloud --project="$project" --quiet functions deploy "$name" "${flags[@]}"
}

main() {
  local roles=("$@") role
  ((${#roles[@]} > 0)) || roles=("${ROLES[@]}")
  for role in "${roles[@]}"; do
    [[ " ${ROLES[*]} " == *" $role "* ]] || die "unknown function '$role': expected ${ROLES[*]}"
  done
  command -v gcloud >/dev/null || die "gcloud is not installed (https://cloud.google.com/sdk/docs/install)"
  command -v node >/dev/null || die "node is needed to read Terraform's outputs"
  read_outputs
  for role in "${roles[@]}"; do deploy_function "$role"; done
  if [[ -n "${CALLBACK_URL:-}" ]]; then log "done. Callback URL for Meta: $CALLBACK_URL"; fi
}

main "$@"
