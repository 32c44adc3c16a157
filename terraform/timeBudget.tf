# One delivery's time budget: the longest the worker can wait, step after step, before its reply
# starts going out, each outbound call taking its whole timeout: a burst's wait, the media lookup
# (Graph metadata and the bucket's copy looked up together), the media copy (the Graph download
# streams into the upload, both cut at their timeouts), the agent turn, the first reply message.
# It must fit in worker_timeout_seconds (which ack_deadline_seconds exceeds, pubsub.tf): otherwise
# the function's timeout cuts a slow attempt off before its own deadlines do, and the message waits
# for its lease to run out before it is tried again. The worker runs the same sum against
# WORKER_TIMEOUT_SECONDS when it starts (shared/config/workerTimeBudget.ts).
#
# GRAPH_TIMEOUT_MS and MEDIA_COPY_TIMEOUT_MS are worker_extra_env settings, with the worker's
# defaults when unset (a value that is not a number stops the worker at start, naming it).
locals {
  graph_timeout_ms      = try(tonumber(var.worker_extra_env["GRAPH_TIMEOUT_MS"]), 15000)
  media_copy_timeout_ms = try(tonumber(var.worker_extra_env["MEDIA_COPY_TIMEOUT_MS"]), 15000)

  worker_time_budget_steps = concat(
    var.burst_window_ms > 0 ? [{ setting = "burst_max_wait_ms", ms = var.burst_max_wait_ms }] : [],
    var.agent_accepts_media ? [
      { setting = "media lookup max(GRAPH_TIMEOUT_MS, MEDIA_COPY_TIMEOUT_MS)", ms = max(local.graph_timeout_ms, local.media_copy_timeout_ms) },
      { setting = "media copy MEDIA_COPY_TIMEOUT_MS", ms = local.media_copy_timeout_ms },
    ] : [],
    [
      { setting = "agent_timeout_seconds", ms = var.agent_timeout_seconds * 1000 },
      { setting = "first reply GRAPH_TIMEOUT_MS", ms = local.graph_timeout_ms },
    ],
  )
  worker_time_budget_ms = sum([for step in local.worker_time_budget_steps : step.ms])

  # null when the budget fits; otherwise the precondition's message (functions.tf).
  worker_time_budget_problem = local.worker_time_budget_ms < var.worker_timeout_seconds * 1000 ? null : format(
    "The worker's time budget does not fit in worker_timeout_seconds (%d s): %s = %d ms. Lower these timeouts (GRAPH_TIMEOUT_MS and MEDIA_COPY_TIMEOUT_MS in worker_extra_env) or raise worker_timeout_seconds (below ack_deadline_seconds, %d s).",
    var.worker_timeout_seconds,
    join(" + ", [for step in local.worker_time_budget_steps : "${step.setting} ${step.ms} ms"]),
    local.worker_time_budget_ms,
    var.ack_deadline_seconds,
  )
}
