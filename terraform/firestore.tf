resource "google_firestore_database" "default" {
  count       = var.create_firestore_database ? 1 : 0
  project     = var.project_id
  name        = "(default)"
  location_id = local.firestore_location
  type        = "FIRESTORE_NATIVE"

  # Conversation state must survive a mistaken `terraform destroy`: the database is left in
  # place (ABANDON) and cannot be deleted while protection is on.
  delete_protection_state = "DELETE_PROTECTION_ENABLED"
  deletion_policy         = "ABANDON"

  depends_on = [google_project_service.apis]
}

# TTL policies: Firestore deletes a document some time (typically within 24 h) after its
# `expiresAt` timestamp. The code also checks expiresAt itself, since expired documents stay
# readable until then and the emulator has no TTL.
resource "google_firestore_field" "expires_at_ttl" {
  for_each = local.ttl_collections

  project    = var.project_id
  database   = "(default)"
  collection = each.value
  field      = "expiresAt"

  ttl_config {}

  # No single-field index on expiresAt: nothing queries by it, and an index on an ever-increasing
  # timestamp only adds write cost and hot-spotting.
  index_config {}

  depends_on = [google_firestore_database.default]
}

# GET /whatsapp/sessions?number=…: one business number's sessions, newest activity first.
resource "google_firestore_index" "sessions_by_number" {
  project    = var.project_id
  database   = "(default)"
  collection = "whatsapp_sessions"

  fields {
    field_path = "phoneNumberId"
    order      = "ASCENDING"
  }
  fields {
    field_path = "lastMessageAt"
    order      = "DESCENDING"
  }
  fields {
    field_path = "__name__"
    order      = "DESCENDING"
  }

  depends_on = [google_firestore_database.default]
}
