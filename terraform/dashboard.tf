# The operators' dashboard: is the bot answering, how fast, and what goes wrong. Cloud Console >
# Monitoring > Dashboards > "WhatsApp bridge", or the URL in output dashboard_url.
#
# To add a chart, append a widget to local.dashboard_widgets below: the grid places widgets in
# order, two per row, so nothing else changes. A chart may read any built-in metric or a
# log-based metric defined in monitoring.tf (test/deploy/dashboard.test.ts checks that every
# logging.googleapis.com/user/... metric a chart or alert names is defined here).

locals {
  dashboard_name = "WhatsApp bridge"

  dashboard_widgets = [
    {
      title = "Messages in (webhook) and replies out (worker), per minute"
      xyChart = {
        dataSets = [
          {
            plotType       = "LINE"
            legendTemplate = "messages in"
            timeSeriesQuery = {
              timeSeriesFilter = {
                filter      = "metric.type=\"logging.googleapis.com/user/${google_logging_metric.messages_in.name}\" AND resource.type=\"cloud_run_revision\""
                aggregation = { alignmentPeriod = "60s", perSeriesAligner = "ALIGN_DELTA", crossSeriesReducer = "REDUCE_SUM" }
              }
            }
          },
          {
            plotType       = "LINE"
            legendTemplate = "replies out"
            timeSeriesQuery = {
              timeSeriesFilter = {
                filter      = "metric.type=\"logging.googleapis.com/user/${google_logging_metric.replies_out.name}\" AND resource.type=\"cloud_run_revision\""
                aggregation = { alignmentPeriod = "60s", perSeriesAligner = "ALIGN_DELTA", crossSeriesReducer = "REDUCE_SUM" }
              }
            }
          },
        ]
        yAxis = { label = "messages per minute", scale = "LINEAR" }
      }
    },
    {
      # The gap between the reply and the agent lines is the bridge's own share: queueing, retries, Graph API.
      title = "Reply latency, Meta's callback to the first reply chunk (p50, p95), and the agent's share"
      xyChart = {
        dataSets = [
          {
            plotType       = "LINE"
            legendTemplate = "reply p50"
            timeSeriesQuery = {
              timeSeriesFilter = {
                filter = "metric.type=\"logging.googleapis.com/user/${google_logging_metric.reply_latency.name}\" AND resource.type=\"cloud_run_revision\" AND metric.label.outcome=\"answered\""
                aggregation = {
                  alignmentPeriod    = "300s"
                  perSeriesAligner   = "ALIGN_DELTA"
                  crossSeriesReducer = "REDUCE_PERCENTILE_50"
                }
              }
            }
          },
          {
            plotType       = "LINE"
            legendTemplate = "reply p95"
            timeSeriesQuery = {
              timeSeriesFilter = {
                filter = "metric.type=\"logging.googleapis.com/user/${google_logging_metric.reply_latency.name}\" AND resource.type=\"cloud_run_revision\" AND metric.label.outcome=\"answered\""
                aggregation = {
                  alignmentPeriod    = "300s"
                  perSeriesAligner   = "ALIGN_DELTA"
                  crossSeriesReducer = "REDUCE_PERCENTILE_95"
                }
              }
            }
          },
          {
            plotType       = "LINE"
            legendTemplate = "agent p50"
            timeSeriesQuery = {
              timeSeriesFilter = {
                filter = "metric.type=\"logging.googleapis.com/user/${google_logging_metric.agent_latency.name}\" AND resource.type=\"cloud_run_revision\""
                aggregation = {
                  alignmentPeriod    = "300s"
                  perSeriesAligner   = "ALIGN_DELTA"
                  crossSeriesReducer = "REDUCE_PERCENTILE_50"
                }
              }
            }
          },
          {
            plotType       = "LINE"
            legendTemplate = "agent p95"
            timeSeriesQuery = {
              timeSeriesFilter = {
                filter = "metric.type=\"logging.googleapis.com/user/${google_logging_metric.agent_latency.name}\" AND resource.type=\"cloud_run_revision\""
                aggregation = {
                  alignmentPeriod    = "300s"
                  perSeriesAligner   = "ALIGN_DELTA"
                  crossSeriesReducer = "REDUCE_PERCENTILE_95"
                }
              }
            }
          },
        ]
        yAxis      = { label = "ms", scale = "LINEAR" }
        thresholds = [{ value = var.reply_latency_p95_threshold_ms, label = "p95 alert", color = "RED", direction = "ABOVE" }]
      }
    },
    {
      title = "Agent errors by gRPC code, per minute (14 UNAVAILABLE, 4 DEADLINE_EXCEEDED, 8 RESOURCE_EXHAUSTED, 7 PERMISSION_DENIED)"
      xyChart = {
        dataSets = [
          {
            plotType       = "STACKED_BAR"
            legendTemplate = "gRPC $${metric.labels.grpc_code}"
            timeSeriesQuery = {
              timeSeriesFilter = {
                filter = "metric.type=\"logging.googleapis.com/user/${google_logging_metric.agent_errors.name}\" AND resource.type=\"cloud_run_revision\""
                aggregation = {
                  alignmentPeriod    = "60s"
                  perSeriesAligner   = "ALIGN_DELTA"
                  crossSeriesReducer = "REDUCE_SUM"
                  groupByFields      = ["metric.label.grpc_code"]
                }
              }
            }
          },
        ]
        yAxis = { label = "failed calls per minute", scale = "LINEAR" }
      }
    },
    {
      title = "Graph API errors by code, per minute (190 token, 131047 outside the 24 h window, 130429 rate limit)"
      xyChart = {
        dataSets = [
          {
            plotType       = "STACKED_BAR"
            legendTemplate = "Graph $${metric.labels.graph_error_code}"
            timeSeriesQuery = {
              timeSeriesFilter = {
                filter = "metric.type=\"logging.googleapis.com/user/${google_logging_metric.graph_errors.name}\" AND resource.type=\"cloud_run_revision\""
                aggregation = {
                  alignmentPeriod    = "60s"
                  perSeriesAligner   = "ALIGN_DELTA"
                  crossSeriesReducer = "REDUCE_SUM"
                  groupByFields      = ["metric.label.graph_error_code"]
                }
              }
            }
          },
        ]
        yAxis = { label = "failed calls per minute", scale = "LINEAR" }
      }
    },
    {
      title = "Dead-letter backlog: messages waiting in ${local.push_queues.inbound.dead_letter_subscription} (npm run dlq -- list)"
      xyChart = {
        dataSets = [
          {
            plotType       = "LINE"
            legendTemplate = "waiting"
            timeSeriesQuery = {
              timeSeriesFilter = {
                filter = "metric.type=\"pubsub.googleapis.com/subscription/num_undelivered_messages\" AND resource.type=\"pubsub_subscription\" AND resource.label.subscription_id=\"${google_pubsub_subscription.dead_letter["inbound"].name}\""
                aggregation = {
                  alignmentPeriod    = "60s"
                  perSeriesAligner   = "ALIGN_MAX"
                  crossSeriesReducer = "REDUCE_SUM"
                }
              }
            }
          },
        ]
        yAxis = { label = "messages", scale = "LINEAR" }
      }
    },
    {
      title = "Webhook signature failures, per minute"
      xyChart = {
        dataSets = [
          {
            plotType       = "STACKED_BAR"
            legendTemplate = "rejected"
            timeSeriesQuery = {
              timeSeriesFilter = {
                filter      = "metric.type=\"logging.googleapis.com/user/${google_logging_metric.webhook_signature_failures.name}\" AND resource.type=\"cloud_run_revision\""
                aggregation = { alignmentPeriod = "60s", perSeriesAligner = "ALIGN_DELTA", crossSeriesReducer = "REDUCE_SUM" }
              }
            }
          },
        ]
        yAxis = { label = "requests per minute", scale = "LINEAR" }
      }
    },
    {
      title = "Delivery failures Meta reported, by class, per minute (window, undeliverable, ecosystem, template, rate_limit, auth_or_policy)"
      xyChart = {
        dataSets = [
          {
            plotType       = "STACKED_BAR"
            legendTemplate = "$${metric.labels.failure_class}"
            timeSeriesQuery = {
              timeSeriesFilter = {
                filter = "metric.type=\"logging.googleapis.com/user/${google_logging_metric.delivery_failures.name}\" AND resource.type=\"cloud_run_revision\""
                aggregation = {
                  alignmentPeriod    = "60s"
                  perSeriesAligner   = "ALIGN_DELTA"
                  crossSeriesReducer = "REDUCE_SUM"
                  groupByFields      = ["metric.label.failure_class"]
                }
              }
            }
          },
        ]
        yAxis = { label = "messages per minute", scale = "LINEAR" }
      }
    },
    {
      title = "Hand-offs to a person started, by who asked, per hour (agent, admin, business_app)"
      xyChart = {
        dataSets = [
          {
            plotType       = "STACKED_BAR"
            legendTemplate = "$${metric.labels.by}"
            timeSeriesQuery = {
              timeSeriesFilter = {
                filter = "metric.type=\"logging.googleapis.com/user/${google_logging_metric.handoffs_started.name}\" AND resource.type=\"cloud_run_revision\""
                aggregation = {
                  alignmentPeriod    = "3600s"
                  perSeriesAligner   = "ALIGN_DELTA"
                  crossSeriesReducer = "REDUCE_SUM"
                  groupByFields      = ["metric.label.by"]
                }
              }
            }
          },
        ]
        yAxis = { label = "hand-offs per hour", scale = "LINEAR" }
      }
    },
    {
      title = "User messages waiting for staff (the bot is paused for them), per 10 minutes"
      xyChart = {
        dataSets = [
          {
            plotType       = "STACKED_BAR"
            legendTemplate = "waiting"
            timeSeriesQuery = {
              timeSeriesFilter = {
                filter      = "metric.type=\"logging.googleapis.com/user/${google_logging_metric.messages_waiting_for_staff.name}\" AND resource.type=\"cloud_run_revision\""
                aggregation = { alignmentPeriod = "600s", perSeriesAligner = "ALIGN_DELTA", crossSeriesReducer = "REDUCE_SUM" }
              }
            }
          },
        ]
        yAxis = { label = "messages per 10 minutes", scale = "LINEAR" }
      }
    },
    # New charts go here.
  ]
}

resource "google_monitoring_dashboard" "bridge" {
  dashboard_json = jsonencode({
    displayName = local.dashboard_name
    gridLayout = {
      columns = "2"
      widgets = local.dashboard_widgets
    }
  })

  depends_on = [google_project_service.apis]
}

output "dashboard_url" {
  description = "The operators' dashboard: messages in and out, reply latency, agent and Graph errors, dead letters, signature failures."
  value       = "https://console.cloud.google.com/monitoring/dashboards/builder/${element(split("/", google_monitoring_dashboard.bridge.id), 3)}?project=${var.project_id}"
}
