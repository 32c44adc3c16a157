# Alerts for the four ways this bridge fails users silently: messages dead-lettered, the worker
# failing, the WhatsApp access token rejected, and Meta's (or someone's) requests failing the
# signature check. Every policy notifies var.notification_channels plus the optional e-mail channel.

resource "google_monitoring_notification_channel" "email" {
  count        = var.alert_email == "" ? 0 : 1
  display_name = "WhatsApp bridge alerts (${var.alert_email})"
  type         = "email"
  labels = {
    email_address = var.alert_email
  }
  depends_on = [google_project_service.apis]
}

locals {
  notification_channels = concat(var.notification_channels, google_monitoring_notification_channel.email[*].id)
}

# ---------------------------------------------------------------- log-based metrics

# The worker logs Graph API errors as JSON with `graphErrorCode`; 190 = the access token is
# expired or revoked, and no retry can fix that.
resource "google_logging_metric" "graph_token_errors" {
  name        = "whatsapp_graph_token_errors"
  description = "Worker log lines with Graph API error code 190 (access token invalid or expired)."
  filter      = "resource.type=\"cloud_run_revision\" AND resource.labels.service_name=\"${var.worker_function_name}\" AND jsonPayload.graphErrorCode=190"

  metric_descriptor {
    metric_kind  = "DELTA"
    value_type   = "INT64"
    unit         = "1"
    display_name = "WhatsApp Graph API token errors (190)"
  }

  depends_on = [google_project_service.apis]
}

resource "google_logging_metric" "webhook_signature_failures" {
  name        = "whatsapp_webhook_signature_failures"
  description = "Webhook requests rejected because X-Hub-Signature-256 was missing or wrong."
  filter      = "resource.type=\"cloud_run_revision\" AND resource.labels.service_name=\"${var.webhook_function_name}\" AND severity=WARNING AND jsonPayload.message=\"webhook signature rejected\""

  metric_descriptor {
    metric_kind  = "DELTA"
    value_type   = "INT64"
    unit         = "1"
    display_name = "WhatsApp webhook signature failures"
  }

  depends_on = [google_project_service.apis]
}

# What the dashboard (dashboard.tf) charts. Each one counts or measures a log line the code writes;
# the line's message or field names are part of the contract with these filters.

resource "google_logging_metric" "messages_in" {
  name        = "whatsapp_messages_in"
  description = "Inbound WhatsApp messages the webhook queued in Pub/Sub, by message type."
  filter      = "resource.type=\"cloud_run_revision\" AND resource.labels.service_name=\"${var.webhook_function_name}\" AND jsonPayload.message=\"inbound message queued\""

  metric_descriptor {
    metric_kind  = "DELTA"
    value_type   = "INT64"
    unit         = "1"
    display_name = "WhatsApp messages in"
    labels {
      key         = "type"
      value_type  = "STRING"
      description = "text, media, location, interactive, reaction, ..."
    }
    labels {
      key         = "phone_number_id"
      value_type  = "STRING"
      description = "the business number (metadata.phone_number_id): one number's traffic"
    }
  }
  label_extractors = {
    type            = "EXTRACT(jsonPayload.type)"
    phone_number_id = "EXTRACT(jsonPayload.phoneNumberId)"
  }

  depends_on = [google_project_service.apis]
}

resource "google_logging_metric" "replies_out" {
  name        = "whatsapp_replies_out"
  description = "Messages the worker answered: every chunk of the reply accepted by the Graph API."
  filter      = "resource.type=\"cloud_run_revision\" AND resource.labels.service_name=\"${var.worker_function_name}\" AND jsonPayload.message=\"reply sent\""

  metric_descriptor {
    metric_kind  = "DELTA"
    value_type   = "INT64"
    unit         = "1"
    display_name = "WhatsApp replies out"
    labels {
      key         = "phone_number_id"
      value_type  = "STRING"
      description = "the business number (metadata.phone_number_id): one number's traffic"
    }
  }
  label_extractors = {
    phone_number_id = "EXTRACT(jsonPayload.phoneNumberId)"
  }

  depends_on = [google_project_service.apis]
}

# Once per answered message the worker logs the time from the webhook's receipt of Meta's
# callback to the first reply chunk the Graph API accepted (replyLatencyMs), the part of it spent
# waiting for the agent (agentMs) and the outcome. Exponential buckets from 100 ms, 30 % apart,
# up to 100 ms x 1.3^30 = 262 s: a p95 read off them is within ~15 % of the true value.
resource "google_logging_metric" "reply_latency" {
  name        = "whatsapp_reply_latency"
  description = "Time from the webhook's receipt of a message to the first reply chunk accepted by the Graph API, in ms, by outcome."
  filter      = "resource.type=\"cloud_run_revision\" AND resource.labels.service_name=\"${var.worker_function_name}\" AND jsonPayload.message=\"first reply chunk accepted\" AND jsonPayload.replyLatencyMs:*"

  metric_descriptor {
    metric_kind  = "DELTA"
    value_type   = "DISTRIBUTION"
    unit         = "ms"
    display_name = "WhatsApp reply latency"
    labels {
      key         = "outcome"
      value_type  = "STRING"
      description = "answered (the agent's answer), fixed_reply (a configured text, no agent) or apology"
    }
    labels {
      key         = "phone_number_id"
      value_type  = "STRING"
      description = "the business number (metadata.phone_number_id): one number's traffic"
    }
  }
  value_extractor = "EXTRACT(jsonPayload.replyLatencyMs)"
  label_extractors = {
    outcome         = "EXTRACT(jsonPayload.outcome)"
    phone_number_id = "EXTRACT(jsonPayload.phoneNumberId)"
  }
  bucket_options {
    exponential_buckets {
      num_finite_buckets = 30
      growth_factor      = 1.3
      scale              = 100
    }
  }

  depends_on = [google_project_service.apis]
}

resource "google_logging_metric" "agent_latency" {
  name        = "whatsapp_agent_latency"
  description = "The agent's share of the reply latency: time spent in the Agent Engine call of an answered message, in ms."
  filter      = "resource.type=\"cloud_run_revision\" AND resource.labels.service_name=\"${var.worker_function_name}\" AND jsonPayload.message=\"first reply chunk accepted\" AND jsonPayload.agentMs:*"

  metric_descriptor {
    metric_kind  = "DELTA"
    value_type   = "DISTRIBUTION"
    unit         = "ms"
    display_name = "WhatsApp agent latency"
  }
  value_extractor = "EXTRACT(jsonPayload.agentMs)"
  bucket_options {
    exponential_buckets {
      num_finite_buckets = 30
      growth_factor      = 1.3
      scale              = 100
    }
  }

  depends_on = [google_project_service.apis]
}

# A failed agent call carries its gRPC status code (grpcCode, a number: 4 = DEADLINE_EXCEEDED,
# 8 = RESOURCE_EXHAUSTED, 14 = UNAVAILABLE, ...) on the worker's one failure line per attempt.
resource "google_logging_metric" "agent_errors" {
  name        = "whatsapp_agent_errors"
  description = "Failed Agent Engine calls, by gRPC status code."
  filter      = "resource.type=\"cloud_run_revision\" AND resource.labels.service_name=\"${var.worker_function_name}\" AND severity>=WARNING AND jsonPayload.grpcCode:*"

  metric_descriptor {
    metric_kind  = "DELTA"
    value_type   = "INT64"
    unit         = "1"
    display_name = "WhatsApp agent errors"
    labels {
      key         = "grpc_code"
      value_type  = "STRING"
      description = "gRPC status code number of the failed agent call"
    }
  }
  label_extractors = {
    grpc_code = "EXTRACT(jsonPayload.grpcCode)"
  }

  depends_on = [google_project_service.apis]
}

resource "google_logging_metric" "graph_errors" {
  name        = "whatsapp_graph_errors"
  description = "Graph API calls the worker saw fail, by Graph error code (190 token, 131047 outside the window, 130429 rate limit, ...)."
  filter      = "resource.type=\"cloud_run_revision\" AND resource.labels.service_name=\"${var.worker_function_name}\" AND severity>=WARNING AND jsonPayload.graphErrorCode:*"

  metric_descriptor {
    metric_kind  = "DELTA"
    value_type   = "INT64"
    unit         = "1"
    display_name = "WhatsApp Graph API errors"
    labels {
      key         = "graph_error_code"
      value_type  = "STRING"
      description = "Graph API error code"
    }
  }
  label_extractors = {
    graph_error_code = "EXTRACT(jsonPayload.graphErrorCode)"
  }

  depends_on = [google_project_service.apis]
}

# ---------------------------------------------------------------- alert policies

resource "google_monitoring_alert_policy" "dead_letters" {
  display_name          = "WhatsApp bridge: messages dead-lettered"
  combiner              = "OR"
  notification_channels = local.notification_channels
  severity              = "ERROR"

  conditions {
    display_name = "Messages moved to ${local.push_queues.inbound.dead_letter_topic}"
    condition_threshold {
      filter          = "resource.type=\"pubsub_subscription\" AND resource.labels.subscription_id=\"${google_pubsub_subscription.push["inbound"].name}\" AND metric.type=\"pubsub.googleapis.com/subscription/dead_letter_message_count\""
      comparison      = "COMPARISON_GT"
      threshold_value = 0
      duration        = "0s"
      aggregations {
        alignment_period     = "60s"
        per_series_aligner   = "ALIGN_DELTA"
        cross_series_reducer = "REDUCE_SUM"
      }
    }
  }

  conditions {
    display_name = "Turns (bursts) moved to ${local.push_queues.turns.dead_letter_topic}"
    condition_threshold {
      filter          = "resource.type=\"pubsub_subscription\" AND resource.labels.subscription_id=\"${google_pubsub_subscription.push["turns"].name}\" AND metric.type=\"pubsub.googleapis.com/subscription/dead_letter_message_count\""
      comparison      = "COMPARISON_GT"
      threshold_value = 0
      duration        = "0s"
      aggregations {
        alignment_period     = "60s"
        per_series_aligner   = "ALIGN_DELTA"
        cross_series_reducer = "REDUCE_SUM"
      }
    }
  }

  conditions {
    display_name = "Messages waiting in ${local.push_queues.inbound.dead_letter_subscription}"
    condition_threshold {
      filter          = "resource.type=\"pubsub_subscription\" AND resource.labels.subscription_id=\"${google_pubsub_subscription.dead_letter["inbound"].name}\" AND metric.type=\"pubsub.googleapis.com/subscription/num_undelivered_messages\""
      comparison      = "COMPARISON_GT"
      threshold_value = 0
      duration        = "300s"
      aggregations {
        alignment_period   = "300s"
        per_series_aligner = "ALIGN_MAX"
      }
    }
  }

  alert_strategy {
    auto_close = "86400s"
  }

  documentation {
    mime_type = "text/markdown"
    content   = "A user's message failed ${var.max_delivery_attempts} deliveries; the user got the apology. Find the cause in the worker logs (filter by the message's `wamid`), fix it, then `npm run dlq -- list` and `npm run dlq -- replay` (terraform/README.md, Operate)."
  }
}

resource "google_monitoring_alert_policy" "worker_errors" {
  display_name          = "WhatsApp bridge: worker error rate"
  combiner              = "OR"
  notification_channels = local.notification_channels
  severity              = "WARNING"

  conditions {
    display_name = "5xx share of ${var.worker_function_name} requests above ${var.worker_error_rate_threshold}"
    condition_threshold {
      filter             = "resource.type=\"cloud_run_revision\" AND resource.labels.service_name=\"${var.worker_function_name}\" AND metric.type=\"run.googleapis.com/request_count\" AND metric.labels.response_code_class=\"5xx\""
      denominator_filter = "resource.type=\"cloud_run_revision\" AND resource.labels.service_name=\"${var.worker_function_name}\" AND metric.type=\"run.googleapis.com/request_count\""
      comparison         = "COMPARISON_GT"
      threshold_value    = var.worker_error_rate_threshold
      duration           = "300s"
      aggregations {
        alignment_period     = "300s"
        per_series_aligner   = "ALIGN_DELTA"
        cross_series_reducer = "REDUCE_SUM"
      }
      denominator_aggregations {
        alignment_period     = "300s"
        per_series_aligner   = "ALIGN_DELTA"
        cross_series_reducer = "REDUCE_SUM"
      }
    }
  }

  alert_strategy {
    auto_close = "3600s"
  }

  documentation {
    mime_type = "text/markdown"
    content   = "The worker answers 5xx (retryable failure: agent or Graph API timeouts, 5xx, rate limits) to many deliveries. Pub/Sub retries them with backoff; persistent failures end in the dead-letter topic. Check the worker logs at severity>=WARNING."
  }
}

# Alerts on the count of a log-based metric in 5 minutes: alike but for the metric, the
# threshold, how bad it is and what to do.
locals {
  log_metric_alerts = {
    graph_token_errors = {
      title     = "Graph API access token rejected (190)"
      severity  = "CRITICAL"
      condition = "Graph API error 190 in worker logs"
      metric    = google_logging_metric.graph_token_errors.name
      threshold = 0
      advice    = "WhatsApp refuses the access token: no reply reaches any user. Create a new System User token in Meta Business Settings and rotate it into secret `${google_secret_manager_secret.access_token.secret_id}` (terraform/README.md, Rotate the access token)."
    }
    webhook_signature_failures = {
      title     = "webhook signature failures"
      severity  = "WARNING"
      condition = "More than ${var.signature_failure_threshold} rejected signatures in 5 minutes"
      metric    = google_logging_metric.webhook_signature_failures.name
      threshold = var.signature_failure_threshold
      advice    = "Requests to the public webhook fail the X-Hub-Signature-256 check. If they come from Meta, secret `${google_secret_manager_secret.app_secret.secret_id}` no longer matches the App Secret in the App Dashboard (Settings > Basic) and every user message is being refused; otherwise someone is probing the URL."
    }
  }
}

resource "google_monitoring_alert_policy" "log_metric" {
  for_each = local.log_metric_alerts

  display_name          = "WhatsApp bridge: ${each.value.title}"
  combiner              = "OR"
  notification_channels = local.notification_channels
  severity              = each.value.severity

  conditions {
    display_name = each.value.condition
    condition_threshold {
      filter          = "resource.type=\"cloud_run_revision\" AND metric.type=\"logging.googleapis.com/user/${each.value.metric}\""
      comparison      = "COMPARISON_GT"
      threshold_value = each.value.threshold
      duration        = "0s"
      aggregations {
        alignment_period     = "300s"
        per_series_aligner   = "ALIGN_DELTA"
        cross_series_reducer = "REDUCE_SUM"
      }
    }
  }

  alert_strategy {
    auto_close = "3600s"
  }

  documentation {
    mime_type = "text/markdown"
    content   = each.value.advice
  }
}

moved {
  from = google_monitoring_alert_policy.graph_token_errors
  to   = google_monitoring_alert_policy.log_metric["graph_token_errors"]
}

moved {
  from = google_monitoring_alert_policy.webhook_signature_failures
  to   = google_monitoring_alert_policy.log_metric["webhook_signature_failures"]
}

# ---------------------------------------------------------------- failed deliveries, by code class

# The worker logs every delivery failure Meta reports in a status webhook ("delivery failure
# recorded") with `failureClass`: what an operator does depends on the class, so each class has
# its own alert and advice. Classes and codes: shared/core/deliveryStatus.ts (failureClassOf).
resource "google_logging_metric" "delivery_failures" {
  name        = "whatsapp_delivery_failures"
  description = "Outbound WhatsApp messages Meta reported as failed, labelled by failure class."
  filter      = "resource.type=\"cloud_run_revision\" AND resource.labels.service_name=\"${var.worker_function_name}\" AND jsonPayload.message=\"delivery failure recorded\""

  metric_descriptor {
    metric_kind  = "DELTA"
    value_type   = "INT64"
    unit         = "1"
    display_name = "WhatsApp delivery failures"
    labels {
      key         = "failure_class"
      value_type  = "STRING"
      description = "window, undeliverable, ecosystem, template, rate_limit, auth_or_policy or other"
    }
  }
  label_extractors = {
    failure_class = "EXTRACT(jsonPayload.failureClass)"
  }

  depends_on = [google_project_service.apis]
}

locals {
  delivery_failure_alerts = {
    window = {
      severity  = "WARNING"
      threshold = var.delivery_failure_threshold
      advice    = "Replies reached users after their 24-hour window (131047). They are held and the re-engagement template goes out; if REENGAGE_TEMPLATE is unset nothing invites the users back. Many of these mean slow turns or late replays."
    }
    undeliverable = {
      severity  = "WARNING"
      threshold = var.delivery_failure_threshold
      advice    = "Messages could not be delivered (131026: not on WhatsApp, old app, or the user has not accepted the terms). Check the numbers proactive messages go to."
    }
    ecosystem = {
      severity  = "WARNING"
      threshold = var.delivery_failure_threshold
      advice    = "Meta held back messages to protect its ecosystem (131049) or the user stopped marketing messages (131050). Send fewer marketing templates to these users."
    }
    template = {
      severity  = "ERROR"
      threshold = 0
      advice    = "A template was refused (132xxx: missing, not approved in this language, or wrong parameters). Check REENGAGE_TEMPLATE / REENGAGE_TEMPLATE_LANGUAGE and the templates callers of POST /whatsapp/messages use, in the WhatsApp Manager."
    }
    rate_limit = {
      severity  = "WARNING"
      threshold = var.delivery_failure_threshold
      advice    = "Messages failed on Meta's rate or spam limits (130429, 131048, 131056, 4, 80007). Spread proactive sends out; check the number's messaging limit tier."
    }
    auth_or_policy = {
      severity  = "CRITICAL"
      threshold = 0
      advice    = "Messages failed on the token, a permission or a policy block (190, 10, 368, 131031). Check the access token and the account's status in Meta Business Settings."
    }
  }
}

resource "google_monitoring_alert_policy" "delivery_failures" {
  for_each = local.delivery_failure_alerts

  display_name          = "WhatsApp bridge: failed deliveries (${each.key})"
  combiner              = "OR"
  notification_channels = local.notification_channels
  severity              = each.value.severity

  conditions {
    display_name = "More than ${each.value.threshold} ${each.key} delivery failures in 5 minutes"
    condition_threshold {
      filter          = "resource.type=\"cloud_run_revision\" AND metric.type=\"logging.googleapis.com/user/${google_logging_metric.delivery_failures.name}\" AND metric.label.failure_class=\"${each.key}\""
      comparison      = "COMPARISON_GT"
      threshold_value = each.value.threshold
      duration        = "0s"
      aggregations {
        alignment_period     = "300s"
        per_series_aligner   = "ALIGN_DELTA"
        cross_series_reducer = "REDUCE_SUM"
      }
    }
  }

  alert_strategy {
    auto_close = "3600s"
  }

  documentation {
    mime_type = "text/markdown"
    content   = "${each.value.advice} Find them with the log filter jsonPayload.message=\"delivery failure recorded\" AND jsonPayload.failureClass=\"${each.key}\"; `GET /whatsapp/messages/{wamid}` shows one message's status."
  }
}

resource "google_monitoring_alert_policy" "reply_latency" {
  display_name          = "WhatsApp bridge: slow replies"
  combiner              = "OR"
  notification_channels = local.notification_channels
  severity              = "WARNING"

  conditions {
    display_name = "p95 time to the agent's first reply chunk above ${var.reply_latency_p95_threshold_ms} ms"
    condition_threshold {
      filter          = "resource.type=\"cloud_run_revision\" AND metric.type=\"logging.googleapis.com/user/${google_logging_metric.reply_latency.name}\" AND metric.label.outcome=\"answered\""
      comparison      = "COMPARISON_GT"
      threshold_value = var.reply_latency_p95_threshold_ms
      duration        = "600s"
      aggregations {
        alignment_period     = "300s"
        per_series_aligner   = "ALIGN_DELTA"
        cross_series_reducer = "REDUCE_PERCENTILE_95"
      }
    }
  }

  alert_strategy {
    auto_close = "3600s"
  }

  documentation {
    mime_type = "text/markdown"
    content   = "For 10 minutes, 1 in 20 users waited longer than ${var.reply_latency_p95_threshold_ms} ms for the agent's answer. The dashboard \"${local.dashboard_name}\" shows whether the agent's share grew (Agent Engine slow or throttled) or the rest did (Pub/Sub retries, Graph API errors, worker instances at their cap). A slow message's lines, webhook to reply, share one trace: open it from any of them in Logs Explorer."
  }
}

# A human takes over a conversation (issue 14): one line per pause that starts, from the worker
# (the agent's handoff_to_human, a Business app echo) or the webhook's admin routes (an operator).
resource "google_logging_metric" "handoffs_started" {
  name        = "whatsapp_handoffs_started"
  description = "Conversations handed to a person (the bot pauses for the user), by who asked: agent, admin or business_app."
  filter      = "resource.type=\"cloud_run_revision\" AND (resource.labels.service_name=\"${var.worker_function_name}\" OR resource.labels.service_name=\"${var.webhook_function_name}\") AND jsonPayload.message=\"hand-off started\""

  metric_descriptor {
    metric_kind  = "DELTA"
    value_type   = "INT64"
    unit         = "1"
    display_name = "WhatsApp hand-offs started"
    labels {
      key         = "by"
      value_type  = "STRING"
      description = "agent, admin or business_app"
    }
  }
  label_extractors = {
    by = "EXTRACT(jsonPayload.by)"
  }

  depends_on = [google_project_service.apis]
}

# Users writing while a person has their conversation: the bot keeps these for staff and says
# nothing. A steady count with no staff activity means hand-offs are waiting for someone.
resource "google_logging_metric" "messages_waiting_for_staff" {
  name        = "whatsapp_messages_waiting_for_staff"
  description = "User messages the worker kept for staff because the bot is paused for that conversation (a hand-off waiting)."
  filter      = "resource.type=\"cloud_run_revision\" AND resource.labels.service_name=\"${var.worker_function_name}\" AND jsonPayload.message=\"message kept for staff: the bot is paused\""

  metric_descriptor {
    metric_kind  = "DELTA"
    value_type   = "INT64"
    unit         = "1"
    display_name = "WhatsApp messages waiting for staff"
  }

  depends_on = [google_project_service.apis]
}
