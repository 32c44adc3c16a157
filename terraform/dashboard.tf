# The operators' dashboard: is the bot answering, how fast, and what goes wrong. Cloud Console >
# Monitoring > Dashboards > "WhatsApp bridge", or the URL in output dashboard_url.
#
# To add a chart, append it to local.dashboard_charts below: the grid places charts in order,
# two per row, so nothing else changes. A chart may read any built-in metric (a series with its
# own filter) or a log-based metric defined in monitoring.tf (a series with metric = its name;
# test/deploy/dashboard.test.ts checks that every metric a chart or alert names is defined).

locals {
  dashboard_name = "WhatsApp bridge"

  # A chart: its series drawn as plot (LINE or STACKED_BAR), each aligned per period (default
  # 60s). A series counts a log-based metric of the functions (metric, optionally narrowed by
  # where and grouped by one label, group_by) or reads the filter it gives; reducer defaults to
  # REDUCE_SUM, aligner to ALIGN_DELTA.
  dashboard_charts = [
    {
      title  = "Messages in (webhook) and replies out (worker), per minute"
      plot   = "LINE"
      y_axis = "messages per minute"
      series = [
        { legend = "messages in", metric = google_logging_metric.messages_in.name },
        { legend = "replies out", metric = google_logging_metric.replies_out.name },
      ]
    },
    {
      # The gap between the reply and the agent lines is the bridge's own share: queueing, retries, Graph API.
      title      = "Reply latency, Meta's callback to the first reply chunk (p50, p95), and the agent's share"
      plot       = "LINE"
      period     = "300s"
      y_axis     = "ms"
      thresholds = [{ value = var.reply_latency_p95_threshold_ms, label = "p95 alert", color = "RED", direction = "ABOVE" }]
      series = [
        { legend = "reply p50", metric = google_logging_metric.reply_latency.name, where = "metric.label.outcome=\"answered\"", reducer = "REDUCE_PERCENTILE_50" },
        { legend = "reply p95", metric = google_logging_metric.reply_latency.name, where = "metric.label.outcome=\"answered\"", reducer = "REDUCE_PERCENTILE_95" },
        { legend = "agent p50", metric = google_logging_metric.agent_latency.name, reducer = "REDUCE_PERCENTILE_50" },
        { legend = "agent p95", metric = google_logging_metric.agent_latency.name, reducer = "REDUCE_PERCENTILE_95" },
      ]
    },
    {
      title  = "Agent errors by gRPC code, per minute (14 UNAVAILABLE, 4 DEADLINE_EXCEEDED, 8 RESOURCE_EXHAUSTED, 7 PERMISSION_DENIED)"
      plot   = "STACKED_BAR"
      y_axis = "failed calls per minute"
      series = [{ legend = "gRPC $${metric.labels.grpc_code}", metric = google_logging_metric.agent_errors.name, group_by = "grpc_code" }]
    },
    {
      title  = "Graph API errors by code, per minute (190 token, 131047 outside the 24 h window, 130429 rate limit)"
      plot   = "STACKED_BAR"
      y_axis = "failed calls per minute"
      series = [{ legend = "Graph $${metric.labels.graph_error_code}", metric = google_logging_metric.graph_errors.name, group_by = "graph_error_code" }]
    },
    {
      title  = "Dead-letter backlog: messages waiting in ${local.push_queues.inbound.dead_letter_subscription} (npm run dlq -- list)"
      plot   = "LINE"
      y_axis = "messages"
      series = [{
        legend  = "waiting"
        filter  = "metric.type=\"pubsub.googleapis.com/subscription/num_undelivered_messages\" AND resource.type=\"pubsub_subscription\" AND resource.label.subscription_id=\"${google_pubsub_subscription.dead_letter["inbound"].name}\""
        aligner = "ALIGN_MAX"
      }]
    },
    {
      title  = "Webhook signature failures, per minute"
      plot   = "STACKED_BAR"
      y_axis = "requests per minute"
      series = [{ legend = "rejected", metric = google_logging_metric.webhook_signature_failures.name }]
    },
    {
      title  = "Delivery failures Meta reported, by class, per minute (window, undeliverable, ecosystem, template, rate_limit, auth_or_policy)"
      plot   = "STACKED_BAR"
      y_axis = "messages per minute"
      series = [{ legend = "$${metric.labels.failure_class}", metric = google_logging_metric.delivery_failures.name, group_by = "failure_class" }]
    },
    {
      title  = "Hand-offs to a person started, by who asked, per hour (agent, admin, business_app)"
      plot   = "STACKED_BAR"
      period = "3600s"
      y_axis = "hand-offs per hour"
      series = [{ legend = "$${metric.labels.by}", metric = google_logging_metric.handoffs_started.name, group_by = "by" }]
    },
    {
      title  = "User messages waiting for staff (the bot is paused for them), per 10 minutes"
      plot   = "STACKED_BAR"
      period = "600s"
      y_axis = "messages per 10 minutes"
      series = [{ legend = "waiting", metric = google_logging_metric.messages_waiting_for_staff.name }]
    },
    {
      title  = "Replies out by business number, per minute"
      plot   = "STACKED_BAR"
      y_axis = "replies per minute"
      series = [{ legend = "$${metric.labels.phone_number_id}", metric = google_logging_metric.replies_out.name, group_by = "phone_number_id" }]
    },
    {
      title  = "Reply latency p95 by business number (answered messages)"
      plot   = "LINE"
      period = "300s"
      y_axis = "ms"
      series = [{
        legend   = "$${metric.labels.phone_number_id}"
        metric   = google_logging_metric.reply_latency.name
        where    = "metric.label.outcome=\"answered\""
        reducer  = "REDUCE_PERCENTILE_95"
        group_by = "phone_number_id"
      }]
    },
    # New charts go here.
  ]

  # Monitoring's widget JSON for each chart.
  dashboard_widgets = [for chart in local.dashboard_charts : {
    title = chart.title
    xyChart = merge({
      dataSets = [for series in chart.series : {
        plotType       = chart.plot
        legendTemplate = series.legend
        timeSeriesQuery = {
          timeSeriesFilter = {
            filter = try(series.filter, "metric.type=\"logging.googleapis.com/user/${series.metric}\" AND resource.type=\"cloud_run_revision\"${try(" AND ${series.where}", "")}")
            aggregation = merge(
              { alignmentPeriod = try(chart.period, "60s"), perSeriesAligner = try(series.aligner, "ALIGN_DELTA"), crossSeriesReducer = try(series.reducer, "REDUCE_SUM") },
              try({ groupByFields = ["metric.label.${series.group_by}"] }, {}),
            )
          }
        }
      }]
      yAxis = { label = chart.y_axis, scale = "LINEAR" }
    }, try({ thresholds = chart.thresholds }, {}))
  }]
}

resource "google_monitoring_dashboard" "bridge" {
  dashboard_json = jsonencode({
    displayName = local.dashboard_name
    # A pinned filter in the toolbar: pick one business number and every chart whose metric has
    # the label (messages in, replies out, reply latency) shows that number alone; unset, all.
    dashboardFilters = [{ labelKey = "phone_number_id", filterType = "METRIC_LABEL" }]
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
