//! AWS rest-json errors as botocore parses them: `x-amzn-ErrorType`, `x-amzn-RequestId`
//! and a `{"__type","message"}` body; callers authenticated by AWS Signature V4.

use actix_web::http::StatusCode;
use actix_web::HttpResponse;
use serde_json::json;

use super::{NativeError, OpInfo, RequestContext, RequestProblem};
use crate::auth::Auth;
use crate::sigv4;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub status: u16,
    /// The error code (`ValidationException`, …).
    pub code: String,
    pub message: String,
}

impl Error {
    pub fn new(status: u16, code: impl Into<String>, message: impl Into<String>) -> Error {
        Error { status, code: code.into(), message: message.into() }
    }
    pub fn validation(message: impl Into<String>) -> Error {
        Error::new(400, "ValidationException", message)
    }
    pub fn internal(message: impl Into<String>) -> Error {
        Error::new(500, "InternalFailure", message)
    }
    /// 503 `ServiceUnavailable`, which botocore retries.
    pub fn unavailable() -> Error {
        Error::new(503, "ServiceUnavailable", super::UNAVAILABLE)
    }
}

impl From<super::StoreFailure> for Error {
    fn from(f: super::StoreFailure) -> Error {
        if f.unavailable { Error::unavailable() } else { Error::internal(f.message) }
    }
}

impl NativeError for Error {
    fn not_implemented(op: &OpInfo) -> Error {
        Error::new(
            501,
            "NotImplemented",
            format!("The operation {} is defined by the service model but not implemented by this server.", op.operation),
        )
    }
    fn bad_request(_op: &OpInfo, problem: RequestProblem) -> Error {
        match problem {
            RequestProblem::Invalid(v) => {
                let n = v.len();
                let list =
                    v.iter().map(|x| format!("Value at '{}' failed to satisfy constraint: {}", x.path, x.message)).collect::<Vec<_>>().join("; ");
                Error::validation(format!("{n} validation error{} detected: {list}", if n == 1 { "" } else { "s" }))
            }
            other => Error::validation(other.describe()),
        }
    }
    fn into_response(self, ctx: &RequestContext) -> HttpResponse {
        HttpResponse::build(StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
            .content_type("application/json")
            .insert_header(("x-amzn-ErrorType", self.code.as_str()))
            .insert_header(("x-amzn-RequestId", ctx.request_id.as_str()))
            .body(json!({"__type": self.code, "message": self.message}).to_string())
    }
    fn ok_response(ctx: &RequestContext, json: Vec<u8>) -> HttpResponse {
        HttpResponse::Ok().content_type("application/json").insert_header(("x-amzn-RequestId", ctx.request_id.as_str())).body(json)
    }
}

/// Who is calling. With no credentials configured at all the server is open and every
/// caller is the default tenant. Otherwise the request must carry a valid AWS Signature V4
/// (service `sagemaker`, any region) made with a configured `[[tenant.aws]]` key pair; the
/// key's tenant becomes the caller's. The body is hashed as received, before it is parsed.
/// Refusals are 403 `MissingAuthenticationTokenException`, `UnrecognizedClientException`
/// or `InvalidSignatureException`.
pub fn authenticate(req: &actix_web::HttpRequest, body: &[u8], _authorize: bool) -> Result<RequestContext, Error> {
    let mut ctx = RequestContext::from_request(req);
    let Some(auth) = req.app_data::<actix_web::web::Data<Auth>>() else {
        return Ok(ctx);
    };
    if auth.is_open() {
        return Ok(ctx);
    }
    let headers =
        req.headers().iter().map(|(name, value)| (name.as_str().to_string(), String::from_utf8_lossy(value.as_bytes()).into_owned())).collect();
    let request = sigv4::Request { method: req.method().as_str(), path: req.uri().path(), query: req.uri().query().unwrap_or(""), headers, body };
    match sigv4::verify(&request, SIGNING_NAME, now_s(), |akid| auth.aws_key(akid)) {
        Ok((_, tenant)) => {
            ctx.tenant = tenant;
            Ok(ctx)
        }
        Err(failure) => {
            tracing::info!(code = failure.code(), message = %failure.message(), "SigV4 refused");
            Err(Error::new(403, failure.code(), failure.message()))
        }
    }
}

/// The SigV4 service name of SageMaker Metrics (the model's `signingName`).
pub const SIGNING_NAME: &str = "sagemaker";

fn now_s() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}
