# Both functions are built from the same source archive; package.json `main` registers both
# functions-framework targets and entry_point picks one.

resource "google_cloudfunctions2_function" "webhook" {
  name        = var.webhook_function_name
  location    = var.region
  description = "WhatsApp webhook: GET verification, POST signature check + publish to ${var.pubsub_topic}, admin routes."

  build_config {
    runtime         = var.runtime
    entry_point     = "webhook"
    service_account = var.create_build_service_account ? google_service_account.build[0].id : null
    # npm run deploy passes the same repository (--docker-repository).
    docker_repository = google_artifact_registry_repository.functions.id
    source {
      storage_source {
        bucket = google_storage_bucket.source.name
        object = google_storage_bucket_object.source.name
      }
    }
  }

  service_config {
    service_account_email = google_service_account.webhook.email
    # Meta must reach it from the internet; requests are authenticated by X-Hub-Signature-256.
    ingress_settings               = "ALLOW_ALL"
    all_traffic_on_latest_revision = true
    timeout_seconds                = var.webhook_timeout_seconds
    available_memory               = var.webhook_memory
    # A full vCPU is what allows more than one request per instance.
    available_cpu                    = "1"
    max_instance_request_concurrency = var.webhook_concurrency
    min_instance_count               = var.webhook_min_instances
    max_instance_count               = var.webhook_max_instances

    environment_variables = merge(local.webhook_env, var.webhook_extra_env)

    dynamic "secret_environment_variables" {
      for_each = merge(local.webhook_secret_env, var.enable_admin_api ? local.admin_secret_env : {})
      content {
        key        = secret_environment_variables.key
        project_id = var.project_id
        secret     = secret_environment_variables.value.secret
        version    = secret_environment_variables.value.version
      }
    }
  }

  lifecycle {
    precondition {
      condition     = length(setintersection(keys(var.webhook_extra_env), local.webhook_owned_env)) == 0
      error_message = "webhook_extra_env may not set ${join(", ", setintersection(keys(var.webhook_extra_env), local.webhook_owned_env))}: Terraform sets these itself (or they are test switches)."
    }
  }

  depends_on = [
    google_project_service.apis,
    google_project_iam_member.build_log_writer,
    google_project_iam_member.build_source_reader,
    google_artifact_registry_repository_iam_member.build_writer,
    google_secret_manager_secret_iam_member.webhook_app_secret,
    google_secret_manager_secret_iam_member.webhook_verify_token,
    google_secret_manager_secret_iam_member.webhook_admin_api_token,
    google_secret_manager_secret_iam_member.webhook_access_token,
  ]
}

resource "google_cloudfunctions2_function" "worker" {
  name        = var.worker_function_name
  location    = var.region
  description = "WhatsApp worker: receives the Pub/Sub push envelope, asks the agent, replies on WhatsApp."

  build_config {
    runtime         = var.runtime
    entry_point     = "worker"
    service_account = var.create_build_service_account ? google_service_account.build[0].id : null
    # npm run deploy passes the same repository (--docker-repository).
    docker_repository = google_artifact_registry_repository.functions.id
    source {
      storage_source {
        bucket = google_storage_bucket.source.name
        object = google_storage_bucket_object.source.name
      }
    }
  }

  service_config {
    service_account_email = google_service_account.worker.email
    # Not public: only the push service account holds roles/run.invoker (below).
    ingress_settings               = var.worker_ingress
    all_traffic_on_latest_revision = true
    # One delivery: a burst's wait, media, the agent stream and the reply (timeBudget.tf). Below the ack deadline.
    timeout_seconds                  = var.worker_timeout_seconds
    available_memory                 = var.worker_memory
    available_cpu                    = "1"
    max_instance_request_concurrency = var.worker_concurrency
    min_instance_count               = var.worker_min_instances
    max_instance_count               = var.worker_max_instances

    environment_variables = merge(local.worker_env, var.worker_extra_env)

    dynamic "secret_environment_variables" {
      for_each = local.worker_secret_env
      content {
        key        = secret_environment_variables.key
        project_id = var.project_id
        secret     = secret_environment_variables.value.secret
        version    = secret_environment_variables.value.version
      }
    }
  }

  lifecycle {
    precondition {
      condition     = length(setintersection(keys(var.worker_extra_env), local.worker_owned_env)) == 0
      error_message = "worker_extra_env may not set ${join(", ", setintersection(keys(var.worker_extra_env), local.worker_owned_env))}: Terraform sets these itself (delivery settings must stay in step with the subscription), or they are test switches."
    }
    precondition {
      condition     = local.worker_time_budget_problem == null
      error_message = coalesce(local.worker_time_budget_problem, "The worker's time budget fits.")
    }
    precondition {
      condition     = local.processing_lease_seconds > var.worker_timeout_seconds
      error_message = "PROCESSING_LEASE_SECONDS must exceed the worker timeout."
    }
  }

  depends_on = [
    google_project_service.apis,
    google_project_iam_member.build_log_writer,
    google_project_iam_member.build_source_reader,
    google_artifact_registry_repository_iam_member.build_writer,
    google_secret_manager_secret_iam_member.worker_access_token,
    google_firestore_database.default,
  ]
}

# ---------------------------------------------------------------- who may call them

resource "google_cloud_run_v2_service_iam_member" "webhook_public" {
  project  = var.project_id
  location = var.region
  name     = google_cloudfunctions2_function.webhook.service_config[0].service
  role     = "roles/run.invoker"
  member   = "allUsers"
}

resource "google_cloud_run_v2_service_iam_member" "worker_push_invoker" {
  project  = var.project_id
  location = var.region
  name     = google_cloudfunctions2_function.worker.service_config[0].service
  role     = "roles/run.invoker"
  member   = google_service_account.push.member
}
