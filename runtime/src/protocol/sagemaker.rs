//! AWS rest-json errors as botocore parses them: `x-amzn-ErrorType`, `x-amzn-RequestId`
//! and a `{"__type","message"}` body.

use actix_web::http::StatusCode;
use actix_web::HttpResponse;
use serde_json::json;

use super::{NativeError, OpInfo, RequestContext, RequestProblem};

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
}

impl NativeError for Error {
    fn not_implemented(op: &OpInfo) -> Error {
        Error::new(501, "NotImplemented", format!("The operation {} is defined by the service model but not implemented by this server.", op.operation))
    }
    fn bad_request(_op: &OpInfo, problem: RequestProblem) -> Error {
        match problem {
            RequestProblem::Invalid(v) => {
                let n = v.len();
                let list = v
                    .iter()
                    .map(|x| format!("Value at '{}' failed to satisfy constraint: {}", x.path, x.message))
                    .collect::<Vec<_>>()
                    .join("; ");
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

/// Who is calling: every caller is the default tenant until this API authenticates.
pub fn authenticate(req: &actix_web::HttpRequest, _body: &[u8]) -> Result<RequestContext, Error> {
    Ok(RequestContext::from_request(req))
}
