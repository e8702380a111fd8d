//! Protocol plumbing shared by the generated handlers: the request context, operation and
//! route descriptions, the problems a request can have, and the trait each API's native
//! error implements.

pub mod body;
pub mod clearml;
pub mod comet;
pub mod dioptra;
pub mod fallback;
pub mod lens;
pub mod params;
pub mod problem;
pub mod sagemaker;
/// AWS rest-json errors and SigV4 (the `native` module of every AWS service model).
pub use sagemaker as aws;
pub mod strict;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};
use serde::Serialize;
use serde_json::Value;

use crate::validate::Violation;

/// What generated code knows about one operation version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpInfo {
    pub api: &'static str,
    pub operation: &'static str,
    pub version: Option<&'static str>,
    /// `None`: any method.
    pub method: Option<&'static str>,
    /// Path template relative to the API's mounts.
    pub path: &'static str,
}

/// One generated route (one operation version under one mount).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RouteInfo {
    pub api: &'static str,
    pub service: &'static str,
    pub operation: &'static str,
    pub version: Option<&'static str>,
    pub method: Option<&'static str>,
    /// Full path template.
    pub path: &'static str,
    pub trait_method: &'static str,
    pub request_type: &'static str,
    pub response_type: &'static str,
    /// A concrete path (placeholders filled, required query parameters set) for a minimal request.
    pub example_path: &'static str,
    /// A minimal valid body, or empty.
    pub example_body: &'static str,
    /// The content type of `example_body`.
    pub example_content_type: &'static str,
}

/// Who is asking and about what; handed to every service method.
#[derive(Debug, Clone)]
pub struct RequestContext {
    /// The tenant whose runs the request may see and change.
    pub tenant: String,
    pub request_id: String,
    pub method: String,
    /// Path and query as received (`/api/v1/jobs/1/metrics?`), as Dioptra reports it.
    pub full_path: String,
    /// HTTP Basic credentials the caller sent (user, password), if any.
    pub basic: Option<(String, String)>,
    /// The worker the caller names (ClearML's `X-ClearML-Worker` / `X-Trains-Worker`).
    pub worker: Option<String>,
    /// The authenticated user, where the API names one (a Dioptra user name).
    pub user: Option<String>,
    /// Headers a service adds to its reply (e.g. a session cookie).
    pub reply_headers: std::cell::RefCell<Vec<(String, String)>>,
}

pub const DEFAULT_TENANT: &str = "default";

impl RequestContext {
    pub fn from_request(req: &HttpRequest) -> RequestContext {
        RequestContext {
            tenant: DEFAULT_TENANT.to_string(),
            request_id: uuid::Uuid::new_v4().to_string(),
            method: req.method().to_string(),
            full_path: format!("{}?{}", req.path(), req.query_string()),
            basic: req
                .headers()
                .get("authorization")
                .and_then(|h| h.to_str().ok())
                .and_then(crate::auth::basic_credentials),
            worker: ["x-clearml-worker", "x-trains-worker"]
                .iter()
                .find_map(|h| req.headers().get(*h).and_then(|v| v.to_str().ok()).map(str::to_string)),
            user: None,
            reply_headers: Default::default(),
        }
    }

    /// Add a header to the reply (every value of a repeated name is sent).
    pub fn add_reply_header(&self, name: &str, value: String) {
        self.reply_headers.borrow_mut().push((name.to_string(), value));
    }

    /// The reply with the headers services added.
    pub fn finish(&self, mut reply: HttpResponse) -> HttpResponse {
        for (k, v) in self.reply_headers.borrow().iter() {
            if let (Ok(name), Ok(value)) =
                (actix_web::http::header::HeaderName::try_from(k.as_str()), actix_web::http::header::HeaderValue::from_str(v))
            {
                reply.headers_mut().append(name, value);
            }
        }
        reply
    }
}

/// A parameter that could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamError {
    pub name: String,
    pub location: params::Location,
    pub message: String,
}

/// Why a request was refused before it reached the service.
#[derive(Debug, Clone, PartialEq)]
pub enum RequestProblem {
    /// The body is not the JSON the operation takes.
    Malformed(String),
    /// A required member is absent (from serde's decode).
    MissingMember(String),
    /// A member the schema forbids.
    UnknownMember(String),
    Param(ParamError),
    /// Decoded, but constraints are broken.
    Invalid(Vec<Violation>),
}

impl RequestProblem {
    /// Classify a serde decode error.
    pub fn from_serde(e: &serde_json::Error) -> RequestProblem {
        let msg = e.to_string();
        if let Some(rest) = msg.strip_prefix("missing field `") {
            return RequestProblem::MissingMember(rest.split('`').next().unwrap_or_default().to_string());
        }
        if let Some(rest) = msg.strip_prefix("unknown field `") {
            return RequestProblem::UnknownMember(rest.split('`').next().unwrap_or_default().to_string());
        }
        RequestProblem::Malformed(msg)
    }

    /// One line for messages.
    pub fn describe(&self) -> String {
        match self {
            RequestProblem::Malformed(m) => m.clone(),
            RequestProblem::MissingMember(m) => format!("missing required member `{m}`"),
            RequestProblem::UnknownMember(m) => format!("unknown member `{m}`"),
            RequestProblem::Param(p) => format!("parameter `{}`: {}", p.name, p.message),
            RequestProblem::Invalid(v) => v
                .iter()
                .map(|x| if x.path.is_empty() { x.message.clone() } else { format!("{}: {}", x.path, x.message) })
                .collect::<Vec<_>>()
                .join("; "),
        }
    }
}

impl From<ParamError> for RequestProblem {
    fn from(p: ParamError) -> Self {
        RequestProblem::Param(p)
    }
}

/// The bytes of a raw reply: whole, or produced as they are sent.
pub enum RawBody {
    Bytes(Vec<u8>),
    /// Chunks sent as they come (a large file read from the store in pages).
    Stream(std::pin::Pin<Box<dyn futures_core::Stream<Item = Result<actix_web::web::Bytes, std::io::Error>>>>),
}

impl std::fmt::Debug for RawBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RawBody::Bytes(b) => write!(f, "Bytes({} bytes)", b.len()),
            RawBody::Stream(_) => f.write_str("Stream"),
        }
    }
}

/// A reply sent as it is rather than as JSON: a downloaded file, a text.
#[derive(Debug)]
pub struct RawReply {
    pub content_type: String,
    /// Offered as an attachment with this file name when set.
    pub filename: Option<String>,
    pub body: RawBody,
}

impl RawReply {
    pub fn into_response(self) -> HttpResponse {
        let mut r = HttpResponse::Ok();
        r.content_type(self.content_type);
        if let Some(name) = self.filename {
            r.insert_header(("Content-Disposition", format!("attachment; filename={name}")));
        }
        match self.body {
            RawBody::Bytes(b) => r.body(b),
            RawBody::Stream(s) => r.streaming(s),
        }
    }
}

/// A store call that failed, as an API layer answers it: the message, and whether the
/// database was out of reach (down, restarting). Each API turns an unavailable store into
/// its own "service unavailable" (HTTP 503, which every client of these APIs retries) and
/// anything else into its internal error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreFailure {
    pub message: String,
    pub unavailable: bool,
}

impl From<crate::store::StoreError> for StoreFailure {
    fn from(e: crate::store::StoreError) -> StoreFailure {
        StoreFailure { unavailable: e.is_unavailable(), message: e.to_string() }
    }
}

/// The message of an unavailable store as the APIs show it.
pub const UNAVAILABLE: &str = "the metrics store is unavailable, retry later";

/// The native error of one API family. Generated handlers build it and turn it into a reply.
pub trait NativeError: Sized {
    /// The operation is in the spec but nothing implements it yet.
    fn not_implemented(op: &OpInfo) -> Self;
    /// The request was refused before reaching the service.
    fn bad_request(op: &OpInfo, problem: RequestProblem) -> Self;
    fn into_response(self, ctx: &RequestContext) -> HttpResponse;
    /// A successful reply carrying `json`.
    fn ok_response(_ctx: &RequestContext, json: Vec<u8>) -> HttpResponse {
        HttpResponse::Ok().content_type("application/json").body(json)
    }
}

/// `value` as another type with the same JSON form: a request or reply of one operation
/// version as the one of another (`None` when it does not fit).
pub fn convert<T: Serialize, U: serde::de::DeserializeOwned>(value: &T) -> Option<U> {
    serde_json::to_value(value).ok().and_then(|v| serde_json::from_value(v).ok())
}

/// Turn a service result into the reply: 200 with the JSON body, or the native error.
pub fn respond<T: Serialize, E: NativeError>(ctx: &RequestContext, result: Result<T, E>) -> HttpResponse {
    let reply = match result {
        Ok(value) => json_ok::<E>(ctx, &value),
        Err(e) => e.into_response(ctx),
    };
    ctx.finish(reply)
}

/// The API's success reply carrying `value` as JSON (a 500 when it does not serialize).
fn json_ok<E: NativeError>(ctx: &RequestContext, value: &impl Serialize) -> HttpResponse {
    match serde_json::to_vec(value) {
        Ok(json) => E::ok_response(ctx, json),
        Err(e) => {
            tracing::error!(error = %e, "reply does not serialize");
            HttpResponse::build(StatusCode::INTERNAL_SERVER_ERROR).finish()
        }
    }
}

/// The reply of an operation with several success statuses (a generated enum, one variant
/// per status): the status it is sent with.
pub trait StatusReply: Serialize {
    fn status(&self) -> u16;
}

/// [`respond`] for a reply that names its own success status; `204`, `205` and `304`
/// go out without a body.
pub fn respond_status<T: StatusReply, E: NativeError>(ctx: &RequestContext, result: Result<T, E>) -> HttpResponse {
    let reply = match result {
        Ok(value) => {
            let status = StatusCode::from_u16(value.status()).unwrap_or(StatusCode::OK);
            if matches!(status.as_u16(), 204 | 205 | 304) {
                HttpResponse::build(status).finish()
            } else {
                let mut reply = json_ok::<E>(ctx, &value);
                if reply.status().is_success() {
                    *reply.status_mut() = status;
                }
                reply
            }
        }
        Err(e) => e.into_response(ctx),
    };
    ctx.finish(reply)
}

/// A reply whose one array member is sent page by page as the handler produces it, so a
/// long reply is never held in memory (`x-specmill-stream` in an OpenAPI spec).
pub struct Streamed<H> {
    /// The reply with the streamed array (and its count) left empty: every other member,
    /// as it is sent.
    pub head: H,
    /// The array's items, a page at a time. An error after the first page ends the reply
    /// early: the status line is already out, so the connection is closed mid-body and
    /// the client sees a truncated reply rather than a wrong one.
    pub pages: std::pin::Pin<Box<dyn futures_core::Stream<Item = Result<StreamPage, String>>>>,
}

/// Some items of a [`Streamed`] reply, already serialised.
pub struct StreamPage {
    json: Vec<u8>,
    count: u64,
}

impl StreamPage {
    /// `items` serialised as JSON array elements (comma-separated, no brackets).
    pub fn of<T: Serialize>(items: &[T]) -> Result<StreamPage, String> {
        let mut json = Vec::new();
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                json.push(b',');
            }
            serde_json::to_writer(&mut json, item).map_err(|e| e.to_string())?;
        }
        Ok(StreamPage { json, count: items.len() as u64 })
    }
}

/// The body of a [`Streamed`] reply: the head's members and `"<items>":[`, the pages, then
/// `]`, the count member and `}`.
struct StreamedBody {
    head: Option<Vec<u8>>,
    pages: std::pin::Pin<Box<dyn futures_core::Stream<Item = Result<StreamPage, String>>>>,
    count_member: Option<&'static str>,
    sent: u64,
    done: bool,
}

impl futures_core::Stream for StreamedBody {
    type Item = Result<actix_web::web::Bytes, std::io::Error>;

    fn poll_next(mut self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<Option<Self::Item>> {
        use std::task::Poll;
        if let Some(head) = self.head.take() {
            return Poll::Ready(Some(Ok(head.into())));
        }
        if self.done {
            return Poll::Ready(None);
        }
        match self.pages.as_mut().poll_next(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Some(Ok(page))) => {
                let mut chunk = Vec::with_capacity(page.json.len() + 1);
                if self.sent > 0 && page.count > 0 {
                    chunk.push(b',');
                }
                chunk.extend_from_slice(&page.json);
                self.sent += page.count;
                Poll::Ready(Some(Ok(chunk.into())))
            }
            Poll::Ready(Some(Err(e))) => {
                self.done = true;
                tracing::error!(error = %e, "a streamed reply failed after it started; closing it");
                Poll::Ready(Some(Err(std::io::Error::other(e))))
            }
            Poll::Ready(None) => {
                self.done = true;
                let tail = match self.count_member {
                    Some(name) => format!("],{}:{}}}", Value::String(name.to_string()), self.sent),
                    None => "]}".to_string(),
                };
                Poll::Ready(Some(Ok(tail.into_bytes().into())))
            }
        }
    }
}

/// Turn a service result with a [`Streamed`] success into the reply: 200 with the head's
/// members, the `items` array streamed from the pages and, last, `count` (the number of
/// items sent), or the native error (which can only come before the first byte).
pub fn respond_streamed<H: Serialize, E: NativeError>(
    ctx: &RequestContext,
    result: Result<Streamed<H>, E>,
    items: &'static str,
    count: Option<&'static str>,
) -> HttpResponse {
    let streamed = match result {
        Ok(s) => s,
        Err(e) => return ctx.finish(e.into_response(ctx)),
    };
    let mut head = match serde_json::to_value(&streamed.head) {
        Ok(Value::Object(members)) => members,
        other => {
            tracing::error!(reply = ?other.map(|_| ()), "a streamed reply's head is not a JSON object");
            return ctx.finish(HttpResponse::build(StatusCode::INTERNAL_SERVER_ERROR).finish());
        }
    };
    head.remove(items);
    if let Some(c) = count {
        head.remove(c);
    }
    // `{<members>,"<items>":[`
    let mut prefix = Value::Object(head).to_string().into_bytes();
    prefix.pop();
    if prefix.len() > 1 {
        prefix.push(b',');
    }
    prefix.extend_from_slice(Value::String(items.to_string()).to_string().as_bytes());
    prefix.extend_from_slice(b":[");
    let body = StreamedBody { head: Some(prefix), pages: streamed.pages, count_member: count, sent: 0, done: false };
    ctx.finish(HttpResponse::Ok().content_type("application/json").streaming(body))
}

/// Turn a service result whose success is sent as it is (a file) into the reply.
pub fn respond_raw<E: NativeError>(ctx: &RequestContext, result: Result<RawReply, E>) -> HttpResponse {
    ctx.finish(match result {
        Ok(raw) => raw.into_response(),
        Err(e) => e.into_response(ctx),
    })
}

/// The value of cookie `name` (the `Cookie` header is `a=1; b=2`).
pub fn cookie(req: &HttpRequest, name: &str) -> Option<String> {
    req.headers()
        .get_all("cookie")
        .filter_map(|h| h.to_str().ok())
        .flat_map(|h| h.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim_matches('"').to_string())
}

/// A JSON reply with `status`.
pub(crate) fn json_reply(status: u16, body: &serde_json::Value) -> HttpResponse {
    HttpResponse::build(StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
        .content_type("application/json")
        .body(body.to_string())
}
