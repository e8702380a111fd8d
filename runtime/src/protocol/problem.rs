//! Errors of an OpenAPI document that names no API family of its own (no `x-specmill-api`):
//! RFC 9457 problem details, `application/problem+json` with `type`, `title`, `status` and
//! `detail`. Such an API is open on an open server (no credentials configured) and otherwise
//! takes HTTP Basic credentials of any configured ClearML key pair, whose tenant it acts as.

use actix_web::http::StatusCode;
use actix_web::HttpResponse;
use serde_json::json;

use super::{NativeError, OpInfo, RequestContext, RequestProblem};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub status: u16,
    pub detail: String,
}

impl Error {
    pub fn new(status: u16, detail: impl Into<String>) -> Error {
        Error { status, detail: detail.into() }
    }
    /// 503: the store is out of reach.
    pub fn unavailable() -> Error {
        Error::new(503, super::UNAVAILABLE)
    }
}

impl From<super::StoreFailure> for Error {
    fn from(f: super::StoreFailure) -> Error {
        if f.unavailable { Error::unavailable() } else { Error::new(500, "internal server error") }
    }
}

impl NativeError for Error {
    fn not_implemented(op: &OpInfo) -> Error {
        Error::new(501, format!("{} {} is defined by the spec but not implemented by this server", op.method.unwrap_or("GET"), op.path))
    }
    fn bad_request(_op: &OpInfo, problem: RequestProblem) -> Error {
        Error::new(400, problem.describe())
    }
    fn into_response(self, _ctx: &RequestContext) -> HttpResponse {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = json!({
            "type": "about:blank",
            "title": status.canonical_reason().unwrap_or("Error"),
            "status": status.as_u16(),
            "detail": self.detail,
        });
        HttpResponse::build(status).content_type("application/problem+json").body(body.to_string())
    }
}

/// Who is calling: anyone on an open server, else a caller with HTTP Basic credentials the
/// server knows (a 401 problem otherwise).
pub fn authenticate(req: &actix_web::HttpRequest, _body: &[u8], authorize: bool) -> Result<RequestContext, Error> {
    let mut ctx = RequestContext::from_request(req);
    let Some(auth) = req.app_data::<actix_web::web::Data<crate::auth::Auth>>() else {
        return Ok(ctx);
    };
    if auth.is_open() || !authorize {
        return Ok(ctx);
    }
    match auth.clearml_identity(ctx.basic.as_ref()) {
        Ok(identity) => {
            ctx.tenant = identity.company;
            Ok(ctx)
        }
        Err(_) => Err(Error::new(401, "send HTTP Basic credentials of a configured key pair")),
    }
}
