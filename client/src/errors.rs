//! Typed errors: each API's native error reply decoded into its own type, plus what can go
//! wrong around it (transport, encoding, decoding), in one [`Error`].
//!
//! Every native error type has a public `from_reply` that returns `None` when a reply is
//! not an error in that API's format, so a generic harness can check which format a reply
//! is in.

use serde_json::{Map, Value};
use specmill_wire::validate::Violation;

use crate::transport::RawResponse;

fn violations(v: &[Violation]) -> String {
    v.iter().map(|v| if v.path.is_empty() { v.message.clone() } else { format!("{}: {}", v.path, v.message) }).collect::<Vec<_>>().join("; ")
}

/// Everything a call can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A ClearML error envelope.
    #[error(transparent)]
    ClearMl(#[from] ClearMlError),
    /// An AWS (rest-json) error.
    #[error(transparent)]
    Aws(#[from] AwsError),
    #[error(transparent)]
    Lens(#[from] LensError),
    #[error(transparent)]
    Dioptra(#[from] DioptraError),
    #[error(transparent)]
    Comet(#[from] CometError),
    /// An error reply that is not in the API's native format (a proxy's page, say).
    #[error("HTTP {status}: {}", String::from_utf8_lossy(body))]
    Status { status: u16, body: Vec<u8> },
    /// A successful reply whose body does not decode as the generated response type.
    #[error("decoding the HTTP {status} reply: {message}")]
    Decode { status: u16, message: String, body: Vec<u8> },
    /// The request breaks the spec's constraints (checked before sending when the client
    /// validates requests, [`crate::Client::with_request_validation`]).
    #[error("the request breaks the spec's constraints: {}", violations(.0))]
    Invalid(Vec<Violation>),
    /// The request could not be encoded.
    #[error("encoding the request: {0}")]
    Encode(String),
    #[error("bad URL: {0}")]
    Url(String),
    /// No HTTP exchange (connection refused, timeout, …).
    #[error("transport: {0}")]
    Transport(#[from] reqwest::Error),
}

impl Error {
    /// The HTTP status of the reply, when there was one.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::ClearMl(e) => Some(e.status),
            Error::Aws(e) => Some(e.status),
            Error::Lens(e) => Some(e.status),
            Error::Dioptra(e) => Some(e.status),
            Error::Comet(e) => Some(e.status),
            Error::Status { status, .. } | Error::Decode { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The native error of API `api` in `reply`, or [`Error::Status`] when the reply is not
    /// in that API's format.
    pub fn from_reply(api: &str, reply: &RawResponse) -> Error {
        let native = match api {
            "clearml" => ClearMlError::from_reply(reply).map(Error::from),
            "sagemaker" => AwsError::from_reply(reply).map(Error::from),
            "lens" => LensError::from_reply(reply).map(Error::from),
            "dioptra" => DioptraError::from_reply(reply).map(Error::from),
            "comet" => CometError::from_reply(reply).map(Error::from),
            _ => None,
        };
        native.unwrap_or_else(|| Error::Status { status: reply.status, body: reply.body.clone() })
    }
}

fn object(reply: &RawResponse) -> Option<Map<String, Value>> {
    match reply.json()? {
        Value::Object(m) => Some(m),
        _ => None,
    }
}

fn text(m: &Map<String, Value>, key: &str) -> Option<String> {
    m.get(key).and_then(Value::as_str).map(str::to_string)
}

/// A ClearML error: the `meta` of the envelope (`result_code` ≠ 200).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("ClearML {endpoint} failed: HTTP {status}, {result_code}/{result_subcode}: {result_msg}")]
pub struct ClearMlError {
    pub status: u16,
    pub result_code: i64,
    pub result_subcode: i64,
    pub result_msg: String,
    /// `meta.error_data`, `{}` when absent.
    pub error_data: Value,
    /// `meta.endpoint.name`.
    pub endpoint: String,
    /// `meta.endpoint.requested_version` / `actual_version` as sent (strings or numbers).
    pub requested_version: Value,
    pub actual_version: Value,
    pub trx: String,
}

impl ClearMlError {
    /// The error in a ClearML envelope (`{"meta": {"result_code": …}, "data": …}`) whose
    /// result code is not 200; `None` for a success or a reply that is not an envelope.
    pub fn from_reply(reply: &RawResponse) -> Option<ClearMlError> {
        let body = object(reply)?;
        let meta = body.get("meta")?.as_object()?;
        let result_code = meta.get("result_code")?.as_i64()?;
        if result_code == 200 && reply.is_success() {
            return None;
        }
        let endpoint = meta.get("endpoint").and_then(Value::as_object);
        let field = |k: &str| endpoint.and_then(|e| e.get(k)).cloned().unwrap_or(Value::Null);
        Some(ClearMlError {
            status: reply.status,
            result_code,
            result_subcode: meta.get("result_subcode").and_then(Value::as_i64).unwrap_or(0),
            result_msg: text(meta, "result_msg").unwrap_or_default(),
            error_data: meta.get("error_data").cloned().unwrap_or_else(|| Value::Object(Map::new())),
            endpoint: field("name").as_str().unwrap_or_default().to_string(),
            requested_version: field("requested_version"),
            actual_version: field("actual_version"),
            trx: text(meta, "trx").unwrap_or_default(),
        })
    }
}

/// An AWS rest-json error: the code (`x-amzn-ErrorType` or `__type`, without the
/// namespace and the `:`-suffix) and the message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("AWS error HTTP {status} {code}: {message}")]
pub struct AwsError {
    pub status: u16,
    /// `ValidationException`, `InvalidSignatureException`, …
    pub code: String,
    pub message: String,
}

impl AwsError {
    /// The AWS error of an error reply; `None` for a success or a reply without an error code.
    pub fn from_reply(reply: &RawResponse) -> Option<AwsError> {
        if reply.is_success() {
            return None;
        }
        let body = object(reply);
        let from_header = reply.header("x-amzn-errortype").map(|v| v.split(':').next().unwrap_or(v).to_string());
        let from_body = body.as_ref().and_then(|b| text(b, "__type").or_else(|| text(b, "code")).or_else(|| text(b, "Code")));
        let code = from_header.or(from_body)?;
        let code = code.rsplit('#').next().unwrap_or(&code).trim().to_string();
        if code.is_empty() {
            return None;
        }
        let message = body.as_ref().and_then(|b| text(b, "message").or_else(|| text(b, "Message"))).unwrap_or_default();
        Some(AwsError { status: reply.status, code, message })
    }
}

/// A Lens error: `{"error": "…"}` with a 4xx/5xx status.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Lens error HTTP {status}: {error}")]
pub struct LensError {
    pub status: u16,
    pub error: String,
}

impl LensError {
    pub fn from_reply(reply: &RawResponse) -> Option<LensError> {
        if reply.is_success() {
            return None;
        }
        Some(LensError { status: reply.status, error: text(&object(reply)?, "error")? })
    }
}

/// A Dioptra error: `{"error", "message", "detail", "originating_path"}` (its
/// `EntityDoesNotExistError`-style errors), `{"errors": {field: [messages]}}` (bad input)
/// or `{"message"}` (Flask-Login's 401).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("Dioptra error HTTP {status}: {}", self.summary())]
pub struct DioptraError {
    pub status: u16,
    /// The error class (`EntityDoesNotExistError`, `SearchParseError`, …).
    pub error: Option<String>,
    pub message: Option<String>,
    pub detail: Option<Value>,
    /// Problems per request field.
    pub errors: Option<Map<String, Value>>,
    pub originating_path: Option<String>,
}

impl DioptraError {
    pub fn from_reply(reply: &RawResponse) -> Option<DioptraError> {
        if reply.is_success() {
            return None;
        }
        let b = object(reply)?;
        let e = DioptraError {
            status: reply.status,
            error: text(&b, "error"),
            message: text(&b, "message"),
            detail: b.get("detail").cloned(),
            errors: b.get("errors").and_then(Value::as_object).cloned(),
            originating_path: text(&b, "originating_path"),
        };
        (e.error.is_some() || e.message.is_some() || e.errors.is_some()).then_some(e)
    }

    fn summary(&self) -> String {
        let mut parts: Vec<String> = self.error.iter().chain(self.message.iter()).cloned().collect();
        if let Some(errors) = &self.errors {
            parts.push(Value::Object(errors.clone()).to_string());
        }
        parts.join(": ")
    }
}

/// A Comet error: `{"msg", "code", "sdk_error_code"}`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Comet error HTTP {status}: {msg}")]
pub struct CometError {
    pub status: u16,
    pub msg: String,
    pub code: Option<i64>,
    pub sdk_error_code: Option<i64>,
}

impl CometError {
    pub fn from_reply(reply: &RawResponse) -> Option<CometError> {
        if reply.is_success() {
            return None;
        }
        let b = object(reply)?;
        Some(CometError {
            status: reply.status,
            msg: text(&b, "msg")?,
            code: b.get("code").and_then(Value::as_i64),
            sdk_error_code: b.get("sdk_error_code").and_then(Value::as_i64),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(status: u16, headers: &[(&str, &str)], body: &str) -> RawResponse {
        RawResponse { status, headers: headers.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(), body: body.as_bytes().to_vec() }
    }

    #[test]
    fn clearml_envelopes() {
        let r = reply(400, &[], r#"{"meta":{"result_code":400,"result_subcode":12,"result_msg":"Validation error","endpoint":{"name":"events.add","requested_version":"2.1","actual_version":"2.1"},"trx":"t"},"data":{}}"#);
        let e = ClearMlError::from_reply(&r).unwrap();
        assert_eq!((e.status, e.result_code, e.result_subcode, e.endpoint.as_str()), (400, 400, 12, "events.add"));
        assert!(ClearMlError::from_reply(&reply(200, &[], r#"{"meta":{"result_code":200},"data":{}}"#)).is_none());
        assert!(ClearMlError::from_reply(&reply(400, &[], r#"{"error":"x"}"#)).is_none());
    }

    #[test]
    fn aws_codes_from_header_or_body() {
        let e = AwsError::from_reply(&reply(400, &[("x-amzn-ErrorType", "ValidationException:http://internal")], r#"{"message":"bad"}"#)).unwrap();
        assert_eq!((e.code.as_str(), e.message.as_str()), ("ValidationException", "bad"));
        let e = AwsError::from_reply(&reply(403, &[], r#"{"__type":"com.amazon.coral#InvalidSignatureException","Message":"no"}"#)).unwrap();
        assert_eq!((e.code.as_str(), e.message.as_str()), ("InvalidSignatureException", "no"));
        assert!(AwsError::from_reply(&reply(400, &[], r#"{"error":"x"}"#)).is_none());
        assert!(AwsError::from_reply(&reply(200, &[("x-amzn-ErrorType", "X")], "{}")).is_none());
    }

    #[test]
    fn openapi_error_bodies() {
        assert_eq!(LensError::from_reply(&reply(400, &[], r#"{"error":"invalid start time format"}"#)).unwrap().error, "invalid start time format");
        assert!(LensError::from_reply(&reply(400, &[], r#"{"msg":"x"}"#)).is_none());
        let d = DioptraError::from_reply(&reply(404, &[], r#"{"error":"EntityDoesNotExistError","message":"gone","detail":{}}"#)).unwrap();
        assert_eq!(d.error.as_deref(), Some("EntityDoesNotExistError"));
        assert!(DioptraError::from_reply(&reply(400, &[], "not json")).is_none());
        let c = CometError::from_reply(&reply(401, &[], r#"{"msg":"no key","code":401,"sdk_error_code":90212}"#)).unwrap();
        assert_eq!((c.code, c.sdk_error_code), (Some(401), Some(90212)));
        assert!(matches!(Error::from_reply("comet", &reply(502, &[], "<html>")), Error::Status { status: 502, .. }));
    }
}
