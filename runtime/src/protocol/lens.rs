//! Lens (legacy handlers): bodies as they are, errors `{"error": "…"}` with 400/500.

use actix_web::HttpResponse;
use serde_json::json;

use super::params::Location;
use super::{json_reply, NativeError, OpInfo, RequestContext, RequestProblem};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub status: u16,
    pub message: String,
}

impl Error {
    pub fn new(status: u16, message: impl Into<String>) -> Error {
        Error { status, message: message.into() }
    }
    pub fn internal(message: impl Into<String>) -> Error {
        Error::new(500, message)
    }
    pub fn bad_request(message: impl Into<String>) -> Error {
        Error::new(400, message)
    }
    /// 503: the store is out of reach.
    pub fn unavailable() -> Error {
        Error::new(503, super::UNAVAILABLE)
    }
    /// A failed store call: 503 when the store is out of reach, else a 500 saying only
    /// what failed, as Lens does (e.g. "failed to process metrics").
    pub fn store(f: super::StoreFailure, what: &str) -> Error {
        if f.unavailable { Error::unavailable() } else { Error::internal(what) }
    }
}

impl From<super::StoreFailure> for Error {
    fn from(f: super::StoreFailure) -> Error {
        if f.unavailable { Error::unavailable() } else { Error::internal(f.message) }
    }
}

impl NativeError for Error {
    fn not_implemented(op: &OpInfo) -> Error {
        Error::new(501, format!("not implemented: {} {}", op.method.unwrap_or("GET"), op.path))
    }
    fn bad_request(op: &OpInfo, problem: RequestProblem) -> Error {
        match problem {
            // The messages Lens itself gives for these parameters.
            RequestProblem::Param(p) if p.location == Location::Query && (p.name == "start" || p.name == "end") => {
                Error::new(400, format!("invalid {} time format", p.name))
            }
            RequestProblem::Param(p) if p.location == Location::Path && p.name == "uid" => Error::new(400, "workload_uid is required"),
            RequestProblem::Invalid(v) if v.iter().any(|v| v.path == "uid") => Error::new(400, "workload_uid is required"),
            // The telemetry-processor's message for a body naming no workload (the schema's
            // `anyOf` of `workload_uid` and `pod_name`).
            RequestProblem::Invalid(v) if v.iter().any(|v| v.message.starts_with("either ")) => {
                Error::new(400, v.iter().find(|v| v.message.starts_with("either ")).map(|v| v.message.clone()).unwrap_or_default())
            }
            // The ingest routes (the telemetry-processor's message for a body it cannot bind).
            other if op.method == Some("POST") => Error::new(400, format!("invalid request format: {}", other.describe())),
            other => Error::new(400, other.describe()),
        }
    }
    fn into_response(self, _ctx: &RequestContext) -> HttpResponse {
        json_reply(self.status, &json!({ "error": self.message }))
    }
}

/// Who is calling. Lens has no authentication of its own: on an open server (no credentials
/// configured) every caller is the default tenant. Otherwise every request (reads and the
/// W&B ingest routes) must carry `Authorization: Bearer <token>` of a `[[tenant.lens]]` and
/// acts as that token's tenant; a missing or unknown token is a 401 in Lens's error body.
pub fn authenticate(req: &actix_web::HttpRequest, _body: &[u8], _authorize: bool) -> Result<RequestContext, Error> {
    let mut ctx = RequestContext::from_request(req);
    let Some(auth) = req.app_data::<actix_web::web::Data<crate::auth::Auth>>() else {
        return Ok(ctx);
    };
    if !auth.lens_requires_token() {
        return Ok(ctx);
    }
    let token = req
        .headers()
        .get("authorization")
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
        .filter(|t| !t.is_empty());
    let Some(token) = token else {
        return Err(Error::new(401, "authorization required: send Authorization: Bearer <token>"));
    };
    match auth.lens_tenant(token) {
        Some(tenant) => {
            ctx.tenant = tenant;
            Ok(ctx)
        }
        None => Err(Error::new(401, "invalid token")),
    }
}
