//! ClearML: `/[vX.Y/]service.action` with any method, a JSON (or JSON-lines) body, version
//! resolution, and the `meta`/`data` envelope with `result_code`/`result_subcode`.

use std::sync::LazyLock;

use actix_web::http::{Method, StatusCode};
use actix_web::{HttpRequest, HttpResponse};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{json, Map, Value};

use super::{NativeError, OpInfo, RequestContext, RequestProblem};
use crate::auth::{Auth, Refusal};
use crate::validate::{validate, Validate};

/// A ClearML error: HTTP status (= `result_code`), subcode and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub code: u16,
    pub subcode: u32,
    pub msg: String,
}

impl Error {
    pub fn new(code: u16, subcode: u32, msg: impl Into<String>) -> Error {
        Error { code, subcode, msg: msg.into() }
    }
    /// 400/11 `Missing required fields: missing=(a, b)`.
    pub fn missing_fields(fields: &[&str]) -> Error {
        Error::new(400, 11, format!("Missing required fields: missing=({})", fields.join(", ")))
    }
    /// 400/12 `Validation error (…)`.
    pub fn validation(detail: impl std::fmt::Display) -> Error {
        Error::new(400, 12, format!("Validation error ({detail})"))
    }
    /// 400/101 `Invalid task id: ids=(…)`.
    pub fn invalid_task_id(id: &str) -> Error {
        Error::new(400, 101, format!("Invalid task id: ids=({id})"))
    }
    /// 400/1104 `Invalid scroll id: scroll_id=…`.
    pub fn invalid_scroll_id(id: &str) -> Error {
        Error::new(400, 1104, format!("Invalid scroll id: scroll_id={id}"))
    }
    pub fn internal(msg: impl Into<String>) -> Error {
        Error::new(500, 0, msg)
    }
    /// 503/0: the store is out of reach (the SDK retries a 503 until it passes).
    pub fn unavailable() -> Error {
        Error::new(503, 0, super::UNAVAILABLE)
    }
    fn from_problem(problem: RequestProblem) -> Error {
        match problem {
            RequestProblem::MissingMember(m) => Error::missing_fields(&[m.as_str()]),
            RequestProblem::Malformed(m) => Error::new(400, 0, format!("Failed to decode JSON object: {m}")),
            other => Error::validation(other.describe()),
        }
    }
}

impl From<super::StoreFailure> for Error {
    fn from(f: super::StoreFailure) -> Error {
        if f.unavailable { Error::unavailable() } else { Error::internal(f.message) }
    }
}

impl NativeError for Error {
    /// ClearML's envelope with HTTP and result code 501 (a code the SDK does not retry).
    fn not_implemented(op: &OpInfo) -> Error {
        Error::new(
            501,
            0,
            format!(
                "Not implemented: endpoint {} version {} is defined by the spec but has no implementation on this server",
                op.path.trim_start_matches('/'),
                op.version.unwrap_or("?")
            ),
        )
    }
    fn bad_request(_op: &OpInfo, problem: RequestProblem) -> Error {
        Error::from_problem(problem)
    }
    fn into_response(self, ctx: &RequestContext) -> HttpResponse {
        envelope::<Value>(ctx, None, "", None, None, Err(self))
    }
}

/// A JSON-lines batch: each line decoded on its own, a line that does not fit reported, not fatal.
#[derive(Debug, Clone, PartialEq)]
pub struct Batch<T> {
    pub items: Vec<Result<T, ItemError>>,
}

/// A batch line that does not fit the request type: why, and the object as sent (so the
/// service can word the error in its own terms).
#[derive(Debug, Clone, PartialEq)]
pub struct ItemError {
    pub message: String,
    pub raw: Value,
}

impl<T> Validate for Batch<T> {
    fn validate(&self, _: &mut crate::validate::Validator) {}
}

static PATH_VERSION: LazyLock<regex::Regex> = LazyLock::new(|| regex::Regex::new(r"^\d+(\.\d+)?$").expect("static regex"));

/// A version as ClearML compares them: numerically by part.
fn parse_version(s: &str) -> Option<(u32, u32)> {
    let (a, b) = s.split_once('.').unwrap_or((s, "0"));
    Some((a.parse().ok()?, b.parse().ok()?))
}

/// One resolved call: which endpoint, which version was asked for and which one runs,
/// and who is calling.
pub struct Call {
    ctx: RequestContext,
    endpoint: &'static str,
    requested: String,
    actual: &'static str,
    trx: Option<String>,
    body: actix_web::web::Bytes,
    json_lines: bool,
    query: String,
}

impl Call {
    /// Resolve the request: the version from the path (none: `max_version`), then the
    /// highest of `versions` not above it (below the lowest → 404 in the envelope); then,
    /// when the endpoint is `authorize`d, the caller: a bearer token (header or the
    /// `clearml_token_basic` cookie) or key/secret in HTTP Basic → the caller's tenant.
    pub fn parse(
        req: &HttpRequest,
        body: &actix_web::web::Bytes,
        endpoint: &'static str,
        versions: &'static [&'static str],
        max_version: &'static str,
        authorize: bool,
    ) -> Result<Call, HttpResponse> {
        if req.method() == Method::OPTIONS {
            return Err(HttpResponse::Ok().finish());
        }
        let mut ctx = RequestContext::from_request(req);
        let requested = match req.match_info().get("version") {
            Some(v) if PATH_VERSION.is_match(v) => v.to_string(),
            Some(_) => return Err(envelope::<Value>(&ctx, None, endpoint, None, None, Err(Error::new(400, 2, "Request path has invalid version")))),
            None => max_version.to_string(),
        };
        let want = parse_version(&requested).unwrap_or((0, 0));
        let actual = versions
            .iter()
            .filter(|v| parse_version(v).map(|x| x <= want).unwrap_or(false))
            .max_by_key(|v| parse_version(v));
        let Some(actual) = actual else {
            let msg = format!("Unable to find endpoint for name {endpoint} and version {requested}");
            return Err(envelope::<Value>(&ctx, None, endpoint, Some(&requested), None, Err(Error::new(404, 0, msg))));
        };
        if authorize {
            ctx.tenant = authenticate(req, &ctx).map_err(|e| envelope::<Value>(&ctx, None, endpoint, Some(&requested), Some(actual), Err(e)))?;
        }
        let trx = ["X-ClearML-Trx", "X-Trains-Trx"]
            .iter()
            .find_map(|h| req.headers().get(*h).and_then(|v| v.to_str().ok()).map(str::to_string));
        let json_lines = req
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .map(|ct| ct.starts_with("application/json-lines") || ct.starts_with("application/jsonlines"))
            .unwrap_or(false);
        Ok(Call { ctx, endpoint, requested, actual, trx, body: body.clone(), json_lines, query: req.query_string().to_string() })
    }

    /// The caller, authenticated.
    pub fn context(&self) -> RequestContext {
        self.ctx.clone()
    }

    /// The version that runs.
    pub fn version(&self) -> &'static str {
        self.actual
    }

    /// The request body as one JSON object; an empty body takes the query string's fields
    /// (numbers and booleans converted), as clearml-server does.
    fn object(&self) -> Result<Value, Error> {
        if self.body.iter().all(u8::is_ascii_whitespace) {
            let pairs: Vec<(String, String)> = serde_urlencoded::from_str(&self.query).unwrap_or_default();
            let mut obj = Map::new();
            for (k, v) in pairs {
                obj.insert(k, query_value(&v));
            }
            return Ok(Value::Object(obj));
        }
        let v: Value = serde_json::from_slice(&self.body).map_err(|e| Error::new(400, 0, format!("Failed to decode JSON object: {e}")))?;
        if !v.is_object() {
            return Err(Error::new(400, 0, "Data should be a dict"));
        }
        Ok(v)
    }

    /// Decode and validate the request of a plain call.
    pub fn request<T: DeserializeOwned + Validate>(&self) -> Result<T, Error> {
        let value: T = super::body::from_value(self.object()?).map_err(|e| Error::from_problem(RequestProblem::from_serde(&e)))?;
        validate(&value).map_err(|v| Error::from_problem(RequestProblem::Invalid(v)))?;
        Ok(value)
    }

    /// Decode a batch call: JSON lines (or one JSON object / a JSON array). A line that is
    /// not JSON or not an object fails the whole call; an object that does not fit `T`
    /// becomes an item error.
    pub fn batch<T: DeserializeOwned + Validate>(&self) -> Result<Batch<T>, Error> {
        decode_batch(&self.body, self.json_lines)
    }

    /// The reply in the envelope.
    pub fn respond<T: Serialize>(&self, ctx: &RequestContext, result: Result<T, Error>) -> HttpResponse {
        envelope(ctx, self.trx.as_deref(), self.endpoint, Some(&self.requested), Some(self.actual), result)
    }

    /// A raw reply (a file): sent as it is; errors still in the envelope.
    pub fn respond_raw(&self, ctx: &RequestContext, result: Result<super::RawReply, Error>) -> HttpResponse {
        match result {
            Ok(raw) => raw.into_response(),
            Err(e) => self.respond::<Value>(ctx, Err(e)),
        }
    }

    /// A resolved version with no handler (cannot happen with generated tables).
    pub fn unresolved(&self, ctx: &RequestContext) -> HttpResponse {
        self.respond::<Value>(ctx, Err(Error::internal(format!("version {} of {} has no handler", self.actual, self.endpoint))))
    }
}


/// The member a query-string value makes of a ClearML request sent without a body: an
/// integer, a finite number, a boolean, else the text.
pub fn query_value(v: &str) -> Value {
    if let Ok(i) = v.parse::<i64>() {
        json!(i)
    } else if let Some(f) = v.parse::<f64>().ok().filter(|f| f.is_finite()) {
        json!(f)
    } else if v == "true" || v == "false" {
        json!(v == "true")
    } else {
        json!(v)
    }
}

/// A batch body (`Content-Type` JSON lines or not): see [`Call::batch`].
fn decode_batch<T: DeserializeOwned + Validate>(body: &[u8], json_lines: bool) -> Result<Batch<T>, Error> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(Error::new(400, 17, "Batch request contains no items"));
    }
    let mut objects = Vec::new();
    let whole = if json_lines { None } else { serde_json::from_slice::<Value>(body).ok() };
    match whole {
        Some(Value::Object(o)) => objects.push(Value::Object(o)),
        Some(Value::Array(a)) => objects.extend(a),
        _ => {
            let text = std::str::from_utf8(body).map_err(|_| Error::new(400, 0, "Failed to decode JSON object: body is not UTF-8"))?;
            let lines: Vec<&str> = text.trim_end_matches(['\n', '\r']).split('\n').collect();
            for (i, line) in lines.iter().enumerate() {
                let v: Value = serde_json::from_str(line)
                    .map_err(|e| Error::new(400, 0, format!("Failed to decode JSON object: {e} in batch item #{i}")))?;
                objects.push(v);
            }
        }
    }
    if let Some(bad) = objects.iter().find(|v| !v.is_object()) {
        let kind = match bad {
            Value::Array(_) => "list",
            Value::String(_) => "str",
            Value::Number(_) => "number",
            Value::Bool(_) => "bool",
            _ => "null",
        };
        return Err(Error::new(400, 0, format!("json lines must contain objects, found: {kind}")));
    }
    if objects.is_empty() {
        return Err(Error::new(400, 17, "Batch request contains no items"));
    }
    let items = objects
        .into_iter()
        .map(|raw| {
            let item: T = super::body::from_value(raw.clone())
                .map_err(|e| ItemError { message: RequestProblem::from_serde(&e).describe(), raw: raw.clone() })?;
            validate(&item).map_err(|v| ItemError { message: RequestProblem::Invalid(v).describe(), raw })?;
            Ok(item)
        })
        .collect();
    Ok(Batch { items })
}

/// The caller's tenant, from the server's [`Auth`] (an app without one is open).
fn authenticate(req: &HttpRequest, ctx: &RequestContext) -> Result<String, Error> {
    let Some(auth) = req.app_data::<actix_web::web::Data<Auth>>() else {
        return Ok(ctx.tenant.clone());
    };
    if auth.is_open() {
        return Ok(ctx.tenant.clone());
    }
    let header = req.headers().get("authorization").and_then(|h| h.to_str().ok());
    let bearer = header
        .and_then(|h| h.strip_prefix("Bearer ").or_else(|| h.strip_prefix("bearer ")))
        .map(str::trim)
        .map(str::to_string)
        .or_else(|| super::cookie(req, "clearml_token_basic"));
    let result = match bearer {
        Some(token) => auth.clearml_tenant_of_token(&token),
        None => auth.clearml_identity(ctx.basic.as_ref()).map(|id| id.company),
    };
    result.map_err(refusal)
}


/// A refused caller in ClearML's codes: 401/20 missing, 401/22 invalid credentials, 401/30 bad token.
pub fn refusal(r: Refusal) -> Error {
    match r {
        Refusal::Missing => Error::new(401, 20, "Unauthorized (missing credentials)"),
        Refusal::BadCredentials => Error::new(401, 22, "Unauthorized (invalid credentials)"),
        Refusal::BadToken => Error::new(401, 30, "Unauthorized (invalid token)"),
    }
}

/// Versions below 2.1 are reported as JSON floats, as clearml-server does for old clients.
fn version_value(v: &str) -> Value {
    match parse_version(v) {
        Some(x) if x < (2, 1) => v.parse::<f64>().map(|f| json!(f)).unwrap_or_else(|_| json!(v)),
        _ => json!(v),
    }
}

/// The envelope of a reply: `meta`, then `data`.
#[derive(Serialize)]
struct Envelope<T> {
    meta: Value,
    data: T,
}

/// The envelope's `meta`.
#[allow(clippy::too_many_arguments)]
fn meta(
    ctx: &RequestContext,
    trx: Option<&str>,
    endpoint: &str,
    requested: Option<&str>,
    actual: Option<&str>,
    code: u16,
    subcode: u32,
    msg: &str,
) -> Value {
    let id = ctx.request_id.replace('-', "");
    json!({
        "id": id,
        "trx": trx.unwrap_or(&id),
        "endpoint": {
            "name": endpoint,
            "requested_version": requested.map(version_value).unwrap_or(Value::Null),
            "actual_version": actual.map(version_value).unwrap_or(Value::Null),
        },
        "result_code": code,
        "result_subcode": subcode,
        "result_msg": msg,
        "error_stack": null,
        "error_data": {},
    })
}

/// Build the `meta`/`data` envelope, `data` serialised straight into the body (no JSON tree
/// in between). The HTTP status equals `result_code`; a reply that does not serialise gets
/// the envelope's 500.
pub fn envelope<T: Serialize>(
    ctx: &RequestContext,
    trx: Option<&str>,
    endpoint: &str,
    requested: Option<&str>,
    actual: Option<&str>,
    result: Result<T, Error>,
) -> HttpResponse {
    let head = |code: u16, subcode: u32, msg: &str| meta(ctx, trx, endpoint, requested, actual, code, subcode, msg);
    let sent = match &result {
        Ok(data) => framed(head(200, 0, "OK"), 200, data),
        Err(e) => framed(head(e.code, e.subcode, &e.msg), e.code, &json!({})),
    };
    sent.unwrap_or_else(|e| {
        let e = Error::internal(e.to_string());
        framed(head(e.code, e.subcode, &e.msg), e.code, &json!({})).unwrap_or_else(|_| HttpResponse::InternalServerError().finish())
    })
}

/// `meta` and `data` as the reply's body, with status `code`.
fn framed<T: Serialize>(meta: Value, code: u16, data: &T) -> serde_json::Result<HttpResponse> {
    let body = serde_json::to_vec(&Envelope { meta, data })?;
    Ok(HttpResponse::build(StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)).content_type("application/json").body(body))
}

static ENDPOINT_PATH: LazyLock<regex::Regex> = LazyLock::new(|| {
    regex::Regex::new(r"^/?(v(?P<v>\d+\.?\d+)/)?(?P<name>[a-zA-Z_]\w+\.[a-zA-Z_]\w+)/?$").expect("static regex")
});

/// An unknown ClearML-shaped path (`/[vX.Y/]service.action`) gets the envelope's 404.
pub fn unknown_endpoint(req: &HttpRequest, max_version: &str) -> Option<HttpResponse> {
    let caps = ENDPOINT_PATH.captures(req.path())?;
    let name = caps.name("name")?.as_str();
    let version = caps.name("v").map(|m| m.as_str()).unwrap_or(max_version);
    let ctx = RequestContext::from_request(req);
    let msg = format!("Unable to find endpoint for name {name} and version {version}");
    Some(envelope::<Value>(&ctx, None, name, Some(version), None, Err(Error::new(404, 0, msg))))
}

/// A request to a ClearML-shaped path whose body is over the size limit: the envelope's 413.
pub fn payload_too_large(req: &HttpRequest, max_version: &str, limit: usize) -> Option<HttpResponse> {
    let caps = ENDPOINT_PATH.captures(req.path())?;
    let name = caps.name("name")?.as_str();
    let version = caps.name("v").map(|m| m.as_str()).unwrap_or(max_version);
    let ctx = RequestContext::from_request(req);
    let msg = format!("Request body too large: the limit is {limit} bytes");
    Some(envelope::<Value>(&ctx, None, name, Some(version), None, Err(Error::new(413, 0, msg))))
}

/// Properties (issue 10): a JSON-lines batch reads as the same objects as its JSON array
/// form, whatever the line endings and the whitespace around items; what clearml-server
/// refuses (a blank line between items, a line that is not an object) is refused.
#[cfg(test)]
mod props {
    use super::*;
    use proptest::prelude::*;

    /// An event as a typed batch item: `task` is required.
    #[derive(Debug, Clone, PartialEq, serde::Deserialize)]
    struct Event {
        task: String,
        iter: Option<i64>,
    }

    impl Validate for Event {
        fn validate(&self, _: &mut crate::validate::Validator) {}
    }

    fn object() -> impl Strategy<Value = Map<String, Value>> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<f64>().prop_filter("JSON numbers are finite", |f| f.is_finite()).prop_map(Value::from),
            any::<String>().prop_map(Value::from),
        ];
        let value = leaf.prop_recursive(2, 12, 3, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..3).prop_map(Value::from),
                prop::collection::btree_map("[a-z]{1,4}", inner, 0..3).prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        });
        prop::collection::btree_map(prop_oneof![Just("task".to_string()), Just("iter".to_string()), "[a-z_]{1,8}"], value, 0..5)
            .prop_map(|m| m.into_iter().collect())
    }

    /// The layout of one line: whitespace before and after the item, and its line ending.
    fn layout() -> impl Strategy<Value = (String, String, &'static str)> {
        ("[ \t]{0,3}", "[ \t\r]{0,3}", prop::sample::select(vec!["\n", "\r\n"]))
    }

    /// The objects one per line, with whitespace around them.
    fn lines(objects: &[Map<String, Value>], layouts: &[(String, String, &'static str)]) -> Vec<String> {
        objects
            .iter()
            .zip(layouts.iter().cycle())
            .map(|(o, (before, after, _))| format!("{before}{}{after}", serde_json::to_string(o).unwrap()))
            .collect()
    }

    /// The lines joined by their line endings; `last` ends the body.
    fn body(lines: &[String], layouts: &[(String, String, &'static str)], last: &str) -> Vec<u8> {
        let mut out = String::new();
        for (i, (line, (_, _, end))) in lines.iter().zip(layouts.iter().cycle()).enumerate() {
            out.push_str(line);
            if i + 1 < lines.len() {
                out.push_str(end);
            }
        }
        out.push_str(last);
        out.into_bytes()
    }

    fn values(b: Batch<Value>) -> Vec<Value> {
        b.items.into_iter().map(|i| i.expect("a Value always fits")).collect()
    }

    proptest! {
        #[test]
        fn json_lines_read_as_the_array_form(objects in prop::collection::vec(object(), 1..8), layouts in prop::collection::vec(layout(), 1..8), last in prop::sample::select(vec!["", "\n", "\r\n", "\n\n", "\r\n\r\n"])) {
            let expected: Vec<Value> = objects.iter().cloned().map(Value::Object).collect();
            let array = serde_json::to_vec(&expected).unwrap();
            prop_assert_eq!(values(decode_batch(&array, false).unwrap()), expected.clone());
            let text = body(&lines(&objects, &layouts), &layouts, last);
            // with `Content-Type: application/json-lines`, and with any other (read as JSON first)
            prop_assert_eq!(values(decode_batch(&text, true).unwrap()), expected.clone());
            prop_assert_eq!(values(decode_batch(&text, false).unwrap()), expected);
        }

        #[test]
        fn items_that_do_not_fit_are_item_errors(objects in prop::collection::vec(object(), 1..8)) {
            let text = objects.iter().map(|o| serde_json::to_string(o).unwrap()).collect::<Vec<_>>().join("\n");
            let batch = decode_batch::<Event>(text.as_bytes(), true).unwrap();
            prop_assert_eq!(batch.items.len(), objects.len());
            for (item, o) in batch.items.iter().zip(&objects) {
                let fits = o.get("task").is_some_and(Value::is_string) && o.get("iter").is_none_or(|i| i.is_null() || i.is_i64());
                match item {
                    Ok(e) => {
                        prop_assert!(fits, "{:?} read from {:?}", e, o);
                        prop_assert_eq!(Some(e.task.as_str()), o.get("task").and_then(Value::as_str));
                    }
                    Err(e) => {
                        prop_assert!(!fits, "{:?} refused: {}", o, e.message);
                        prop_assert_eq!(&e.raw, &Value::Object(o.clone()));
                    }
                }
            }
        }

        #[test]
        fn a_blank_line_between_items_is_refused(objects in prop::collection::vec(object(), 1..6), at in any::<prop::sample::Index>(), blank in "[ \t]{0,2}", layouts in prop::collection::vec(layout(), 1..6)) {
            let mut ls = lines(&objects, &layouts);
            let at = at.index(ls.len());
            ls.insert(at, blank);
            let err = decode_batch::<Value>(&body(&ls, &layouts, ""), true).unwrap_err();
            prop_assert_eq!((err.code, err.subcode), (400, 0));
            prop_assert!(err.msg.starts_with("Failed to decode JSON object: ") && err.msg.ends_with(&format!(" in batch item #{at}")), "{}", err.msg);
        }

        #[test]
        fn a_line_that_is_not_an_object_is_refused(objects in prop::collection::vec(object(), 1..6), at in any::<prop::sample::Index>(), (item, kind) in prop::sample::select(vec![("[1]", "list"), ("[]", "list"), ("\"x\"", "str"), ("1.5", "number"), ("true", "bool"), ("null", "null")])) {
            let mut ls: Vec<String> = objects.iter().map(|o| serde_json::to_string(o).unwrap()).collect();
            let at = at.index(ls.len());
            ls[at] = item.to_string();
            let err = decode_batch::<Value>(ls.join("\n").as_bytes(), true).unwrap_err();
            prop_assert_eq!(err, Error::new(400, 0, format!("json lines must contain objects, found: {kind}")));
        }

        #[test]
        fn path_versions_read_back(a in any::<u32>(), b in any::<u32>(), s in "\\PC{0,8}|[0-9.]{0,8}") {
            prop_assert_eq!(parse_version(&format!("{a}.{b}")), Some((a, b)));
            prop_assert_eq!(parse_version(&a.to_string()), Some((a, 0)));
            if PATH_VERSION.is_match(&s) {
                // what the route accepts compares (u32 parts: longer digit runs do not)
                let fits = s.split('.').all(|p| p.parse::<u32>().is_ok());
                prop_assert_eq!(parse_version(&s).is_some(), fits, "{}", s);
            }
        }

        #[test]
        fn any_body_is_read_or_refused(body in prop::collection::vec(any::<u8>(), 0..64), text in "[{}\\[\\]\":,a1 \n\r\t]{0,40}", json_lines in any::<bool>()) {
            for b in [&body[..], text.as_bytes()] {
                match decode_batch::<Value>(b, json_lines) {
                    Ok(batch) => {
                        prop_assert!(!batch.items.is_empty());
                        for item in values(batch) {
                            prop_assert!(item.is_object());
                        }
                    }
                    Err(e) => prop_assert!(e.code == 400 && (e.subcode == 0 || e.subcode == 17), "{:?}", e),
                }
            }
        }
    }
}
