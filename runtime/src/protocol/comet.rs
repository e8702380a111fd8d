//! Comet REST v2 as comet_ml's REST client parses it: errors `{"msg","code","sdk_error_code"}`,
//! successful replies `200` with exactly `Content-Type: application/json`, callers named by the
//! raw API key in `Authorization`.

use actix_web::HttpResponse;
use serde_json::json;
use sha2::{Digest, Sha256};

use super::{json_reply, NativeError, OpInfo, RequestContext, RequestProblem};
use crate::auth::Auth;

/// `sdk_error_code` of a missing or refused API key (comet_ml's `API_KEY_NOT_REGISTERED`).
pub const API_KEY_NOT_REGISTERED: i64 = 90212;

/// The backend version the version check announces: at or above 3.20.60 the client reads all
/// metrics with `metrics/get-all`.
pub const BACKEND_VERSION: &str = "3.62.294";

/// The path of the version check, which the client calls without a key.
pub const VERSION_CHECK_PATH: &str = "/clientlib/isAlive/ver";

#[derive(Debug)]
pub enum Error {
    /// `{"msg","code","sdk_error_code"}` with HTTP status `code`.
    Api { code: u16, msg: String, sdk_error_code: i64 },
}

impl Error {
    /// An error whose `sdk_error_code` is the HTTP status.
    pub fn new(code: u16, msg: impl Into<String>) -> Error {
        Error::Api {
            code,
            msg: msg.into(),
            sdk_error_code: code as i64,
        }
    }
    pub fn bad_request(msg: impl Into<String>) -> Error {
        Error::new(400, msg)
    }
    pub fn not_found(msg: impl Into<String>) -> Error {
        Error::new(404, msg)
    }
    /// A store failure. The client retries 5xx replies, writes included; only failures
    /// that may pass (the database) are reported this way.
    pub fn internal(msg: impl Into<String>) -> Error {
        Error::new(500, msg)
    }
    /// 503: the store is out of reach (comet_ml retries it, as every 5xx).
    pub fn unavailable() -> Error {
        Error::new(503, super::UNAVAILABLE)
    }
    pub fn unauthorized(msg: impl Into<String>) -> Error {
        Error::Api {
            code: 401,
            msg: msg.into(),
            sdk_error_code: API_KEY_NOT_REGISTERED,
        }
    }
    /// The HTTP status this error is sent with.
    pub fn status(&self) -> u16 {
        match self {
            Error::Api { code, .. } => *code,
        }
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
    fn bad_request(_op: &OpInfo, problem: RequestProblem) -> Error {
        Error::bad_request(problem.describe())
    }
    fn into_response(self, _ctx: &RequestContext) -> HttpResponse {
        match self {
            Error::Api { code, msg, sdk_error_code } => {
                json_reply(code, &json!({ "msg": msg, "code": code, "sdk_error_code": sdk_error_code }))
            }
        }
    }
}

/// The tenant of Comet API key `key` (`[[tenant.comet]] api_key` in the config).
fn tenant_of_key(auth: &Auth, key: &str) -> Option<String> {
    auth.comet_tenant(key)
}

/// Who is calling. The version check needs no key. With no credentials configured the server
/// is open and every caller is the default tenant; otherwise `Authorization` must carry an API
/// key (raw, as comet_ml sends it), whose tenant becomes the caller's. A missing or unknown key
/// is a 401 with `sdk_error_code` 90212.
pub fn authenticate(req: &actix_web::HttpRequest, _body: &[u8], _authorize: bool) -> Result<RequestContext, Error> {
    let mut ctx = RequestContext::from_request(req);
    if req.path() == VERSION_CHECK_PATH {
        return Ok(ctx);
    }
    let Some(auth) = req.app_data::<actix_web::web::Data<Auth>>() else {
        return Ok(ctx);
    };
    if auth.is_open() {
        return Ok(ctx);
    }
    let key = req
        .headers()
        .get("authorization")
        .and_then(|h| h.to_str().ok())
        .map(str::trim)
        .unwrap_or("");
    if key.is_empty() {
        return Err(Error::unauthorized("No API key was sent (header Authorization)"));
    }
    match tenant_of_key(auth, key) {
        Some(tenant) => {
            ctx.tenant = tenant;
            Ok(ctx)
        }
        None => Err(Error::unauthorized("Invalid API key")),
    }
}

/// A stable project id: 32 hex characters of a hash of (tenant, workspace, project).
pub fn project_id(tenant: &str, workspace: &str, project: &str) -> String {
    let mut h = Sha256::new();
    for part in [tenant, workspace, project] {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part.as_bytes());
    }
    h.finalize()[..16].iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn project_ids_are_stable_and_distinct() {
        let a = project_id("t", "ws", "p");
        assert_eq!(a.len(), 32);
        assert_eq!(a, project_id("t", "ws", "p"));
        assert_ne!(a, project_id("t", "wsp", ""));
        assert_ne!(a, project_id("u", "ws", "p"));
    }
}
