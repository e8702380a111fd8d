//! Replies for requests no route handler answers (an unknown path, a body over the size
//! limit), in the format of the API the path belongs to.

use actix_web::{HttpRequest, HttpResponse};
use serde_json::json;

use super::{json_reply, NativeError, RequestContext, RouteInfo};

/// The app's default service: ClearML-shaped paths get the ClearML envelope 404; everything
/// else a JSON 404 naming the method and path.
pub fn not_found(req: &HttpRequest, clearml_max_version: &str) -> HttpResponse {
    if let Some(reply) = super::clearml::unknown_endpoint(req, clearml_max_version) {
        return reply;
    }
    json_reply(404, &json!({ "error": format!("endpoint not found: {} {}", req.method(), req.path()) }))
}

/// The API (`RouteInfo::api`) whose route `pattern` (actix's matched pattern) is, if any.
fn api_of_pattern(routes: &[&[RouteInfo]], pattern: &str) -> Option<&'static str> {
    routes.iter().flat_map(|r| r.iter()).find(|r| r.path == pattern).map(|r| r.api)
}

/// The reply to a request whose body is over `limit` bytes: a 413 in the native error format
/// of the API the path belongs to (ClearML's envelope, an AWS JSON error, Dioptra's and
/// Flask's `{"message"}`, Lens's `{"error"}`, Comet's `{"msg","code"}`).
pub fn payload_too_large(req: &HttpRequest, routes: &[&[RouteInfo]], clearml_max_version: &str, limit: usize) -> HttpResponse {
    if let Some(reply) = super::clearml::payload_too_large(req, clearml_max_version, limit) {
        return reply;
    }
    let ctx = RequestContext::from_request(req);
    match req.match_pattern().and_then(|p| api_of_pattern(routes, &p)) {
        Some("sagemaker") => super::sagemaker::Error::new(
            413,
            "RequestEntityTooLargeException",
            format!("Request body must be no larger than {limit} bytes"),
        )
        .into_response(&ctx),
        // what Flask (werkzeug's RequestEntityTooLarge) answers
        Some("dioptra") => super::dioptra::Error::Message {
            status: 413,
            message: "The data value transmitted exceeds the capacity limit.".into(),
        }
        .into_response(&ctx),
        // what Go's http.MaxBytesReader reports
        Some("lens") => super::lens::Error::new(413, "http: request body too large").into_response(&ctx),
        Some("comet") => {
            super::comet::Error::new(413, format!("the request body is larger than the {limit} bytes allowed")).into_response(&ctx)
        }
        _ => json_reply(413, &json!({ "error": format!("request body larger than {limit} bytes") })),
    }
}
