# Delivery: webhook -> inbound topic -> ordered push subscription -> worker; after
# max_delivery_attempts failed deliveries Pub/Sub moves the message to the dead-letter topic,
# whose pull subscription keeps it 7 days for `npm run dlq -- list|replay`.
#
# Bursts: for every buffered message the worker publishes "a turn may be due" to the turns
# topic, ordered per conversation (business number + user). Its push subscription brings it
# back to the worker, which waits out the burst's window, then runs the burst as one turn. A
# turn is retried, apologised for and dead-lettered like a message, so both queues are one
# description below (local.push_queues), alike but for their topic and names.
#
# An explicit push subscription, not a function event_trigger: Eventarc's trigger has no
# dead-letter policy, ack deadline or ordering setting.

resource "google_pubsub_topic" "inbound" {
  name       = var.pubsub_topic
  depends_on = [google_project_service.apis]
}

resource "google_pubsub_topic" "turns" {
  name       = var.pubsub_turns_topic
  depends_on = [google_project_service.apis]
}

locals {
  push_queues = {
    inbound = {
      topic                    = google_pubsub_topic.inbound.id
      push_subscription        = "${var.pubsub_topic}-worker"
      dead_letter_topic        = "${var.pubsub_topic}-dlq"
      dead_letter_subscription = "${var.pubsub_topic}-dlq-sub"
    }
    turns = {
      topic                    = google_pubsub_topic.turns.id
      push_subscription        = "${var.pubsub_turns_topic}-worker"
      dead_letter_topic        = "${var.pubsub_turns_topic}-dlq"
      dead_letter_subscription = "${var.pubsub_turns_topic}-dlq-sub"
    }
  }
}

resource "google_pubsub_topic" "dead_letter" {
  for_each   = local.push_queues
  name       = each.value.dead_letter_topic
  depends_on = [google_project_service.apis]
}

resource "google_pubsub_subscription" "push" {
  for_each = local.push_queues
  name     = each.value.push_subscription
  topic    = each.value.topic

  push_config {
    push_endpoint = local.worker_url
    oidc_token {
      service_account_email = google_service_account.push.email
      audience              = local.worker_url
    }
  }

  # Messages are published with orderingKey = user id, turns with the conversation: one user's
  # messages reach the agent one at a time, in order, while different users run in parallel.
  # Cannot be changed after creation.
  enable_message_ordering = true

  # For push this is the HTTP timeout of one delivery. Above the worker's timeout, so Pub/Sub
  # never re-pushes a message whose first attempt is still running; a burst's wait (at most
  # burst_max_wait_ms) and the agent share one delivery.
  ack_deadline_seconds = var.ack_deadline_seconds

  retry_policy {
    minimum_backoff = "${var.retry_minimum_backoff_seconds}s"
    maximum_backoff = "${var.retry_maximum_backoff_seconds}s"
  }

  dead_letter_policy {
    dead_letter_topic = google_pubsub_topic.dead_letter[each.key].id
    # Must equal the worker's MAX_DELIVERY_ATTEMPTS (both read this variable) so its last attempt
    # is the one that sends the apology.
    max_delivery_attempts = var.max_delivery_attempts
  }

  message_retention_duration = "604800s"

  expiration_policy {
    ttl = ""
  }

  lifecycle {
    precondition {
      condition     = var.ack_deadline_seconds > var.worker_timeout_seconds
      error_message = "ack_deadline_seconds must exceed worker_timeout_seconds, or Pub/Sub re-pushes messages that are still being processed."
    }
    precondition {
      condition     = var.retry_minimum_backoff_seconds <= var.retry_maximum_backoff_seconds
      error_message = "retry_minimum_backoff_seconds must not exceed retry_maximum_backoff_seconds."
    }
    precondition {
      condition     = var.burst_max_wait_ms >= var.burst_window_ms || var.burst_window_ms == 0
      error_message = "burst_max_wait_ms must be at least burst_window_ms."
    }
  }

  depends_on = [
    google_cloud_run_v2_service_iam_member.worker_push_invoker,
    google_service_account_iam_member.pubsub_agent_token_creator,
    google_pubsub_topic_iam_member.dead_letter_publisher,
  ]
}

# Without a subscription, messages published to the dead-letter topic are lost.
resource "google_pubsub_subscription" "dead_letter" {
  for_each = local.push_queues
  name     = each.value.dead_letter_subscription
  topic    = google_pubsub_topic.dead_letter[each.key].id

  message_retention_duration = "604800s"
  retain_acked_messages      = false
  ack_deadline_seconds       = 60

  expiration_policy {
    ttl = ""
  }
}

# Dead-lettering is done by the Pub/Sub service agent: it publishes to the dead-letter topic
# and acknowledges the message on the source subscription.
resource "google_pubsub_topic_iam_member" "dead_letter_publisher" {
  for_each = local.push_queues
  topic    = google_pubsub_topic.dead_letter[each.key].id
  role     = "roles/pubsub.publisher"
  member   = local.pubsub_service_agent
}

resource "google_pubsub_subscription_iam_member" "dead_letter_source_subscriber" {
  for_each     = local.push_queues
  subscription = google_pubsub_subscription.push[each.key].id
  role         = "roles/pubsub.subscriber"
  member       = local.pubsub_service_agent
}

# The addresses these had before the two queues became one description: an existing deployment
# keeps its subscriptions (and their messages) instead of destroying and re-creating them.
moved {
  from = google_pubsub_subscription.worker
  to   = google_pubsub_subscription.push["inbound"]
}

moved {
  from = google_pubsub_subscription.turns_worker
  to   = google_pubsub_subscription.push["turns"]
}

moved {
  from = google_pubsub_topic.dead_letter
  to   = google_pubsub_topic.dead_letter["inbound"]
}

moved {
  from = google_pubsub_topic.turns_dead_letter
  to   = google_pubsub_topic.dead_letter["turns"]
}

moved {
  from = google_pubsub_subscription.dead_letter
  to   = google_pubsub_subscription.dead_letter["inbound"]
}

moved {
  from = google_pubsub_subscription.turns_dead_letter
  to   = google_pubsub_subscription.dead_letter["turns"]
}

moved {
  from = google_pubsub_topic_iam_member.dead_letter_publisher
  to   = google_pubsub_topic_iam_member.dead_letter_publisher["inbound"]
}

moved {
  from = google_pubsub_topic_iam_member.turns_dead_letter_publisher
  to   = google_pubsub_topic_iam_member.dead_letter_publisher["turns"]
}

moved {
  from = google_pubsub_subscription_iam_member.dead_letter_source_subscriber
  to   = google_pubsub_subscription_iam_member.dead_letter_source_subscriber["inbound"]
}

moved {
  from = google_pubsub_subscription_iam_member.turns_dead_letter_source_subscriber
  to   = google_pubsub_subscription_iam_member.dead_letter_source_subscriber["turns"]
}
