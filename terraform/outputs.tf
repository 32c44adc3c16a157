# Names and URLs only: no output holds a secret value.

output "callback_url" {
  description = "Paste into Meta App Dashboard > WhatsApp > Configuration > Callback URL. The cloudfunctions.net URL reaches the webhook at path `/`, which behaves like /webhook."
  value       = google_cloudfunctions2_function.webhook.url
}

output "webhook_service_url" {
  description = "The webhook's run.app URL; \"<this>/webhook\" is an equivalent callback URL."
  value       = google_cloudfunctions2_function.webhook.service_config[0].uri
}

output "verify_token_secret" {
  description = "Secret Manager secret holding the verify token to paste into Meta next to the callback URL. Read it with the command in verify_token_command."
  value       = google_secret_manager_secret.verify_token.secret_id
}

output "verify_token_command" {
  description = "Prints the verify token (run it yourself; Terraform never reads secret values)."
  value       = "gcloud secrets versions access latest --secret=${google_secret_manager_secret.verify_token.secret_id} --project=${var.project_id}"
}

output "secrets" {
  description = "Secret ids to fill with `gcloud secrets versions add SECRET --data-file=-` before the first apply of the functions."
  value = concat(
    [
      google_secret_manager_secret.access_token.secret_id,
      google_secret_manager_secret.app_secret.secret_id,
      google_secret_manager_secret.verify_token.secret_id,
    ],
    google_secret_manager_secret.admin_api_token[*].secret_id,
  )
}

output "dlq_subscription" {
  description = "Dead-letter pull subscription (7 days retention) read by `npm run dlq -- list|replay`."
  value       = google_pubsub_subscription.dead_letter["inbound"].name
}

output "dlq_subscription_path" {
  description = "Full resource path of the dead-letter subscription."
  value       = google_pubsub_subscription.dead_letter["inbound"].id
}

output "inbound_topic" {
  description = "Topic the webhook publishes to (and `npm run dlq -- replay` re-publishes to)."
  value       = google_pubsub_topic.inbound.name
}

output "push_subscription" {
  description = "Ordered push subscription that delivers to the worker."
  value       = google_pubsub_subscription.push["inbound"].name
}

output "worker_url" {
  description = "Push endpoint and OIDC audience of the worker (its deterministic run.app URL)."
  value       = local.worker_url
}

output "service_accounts" {
  description = "Runtime identities."
  value = {
    webhook = google_service_account.webhook.email
    worker  = google_service_account.worker.email
    push    = google_service_account.push.email
  }
}

output "project_id" {
  description = "Project the bridge runs in (read by npm run deploy)."
  value       = var.project_id
}

# scripts/deploy.sh (npm run deploy) ships new code onto these functions with exactly these
# settings; test/deploy checks that every setting becomes the matching gcloud flag.
output "functions" {
  description = "Each function as applied: name, region, build settings and service settings (environment, secret references: no secret values). Read by npm run deploy."
  value = {
    webhook = {
      name           = google_cloudfunctions2_function.webhook.name
      location       = google_cloudfunctions2_function.webhook.location
      build_config   = google_cloudfunctions2_function.webhook.build_config[0]
      service_config = google_cloudfunctions2_function.webhook.service_config[0]
    }
    worker = {
      name           = google_cloudfunctions2_function.worker.name
      location       = google_cloudfunctions2_function.worker.location
      build_config   = google_cloudfunctions2_function.worker.build_config[0]
      service_config = google_cloudfunctions2_function.worker.service_config[0]
    }
  }
}
