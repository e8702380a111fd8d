//! Replies for paths no generated route matched, in the format of the API the path belongs to.

use actix_web::{HttpRequest, HttpResponse};
use serde_json::json;

use super::json_reply;

/// The app's default service: ClearML-shaped paths get the ClearML envelope 404; everything
/// else a JSON 404 naming the method and path.
pub fn not_found(req: &HttpRequest, clearml_max_version: &str) -> HttpResponse {
    if let Some(reply) = super::clearml::unknown_endpoint(req, clearml_max_version) {
        return reply;
    }
    json_reply(404, &json!({ "error": format!("endpoint not found: {} {}", req.method(), req.path()) }))
}
