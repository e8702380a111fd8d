//! Dioptra's error bodies: `{"error","message","detail","originating_path"}` for service
//! errors, `{"errors":{field:[msg]}}` for body validation (plus `"message"` for query
//! parameters), `{"message"}` for undecodable bodies.

use actix_web::HttpResponse;
use serde_json::{json, Map, Value};

use super::params::Location;
use super::{json_reply, NativeError, OpInfo, RequestContext, RequestProblem};

#[derive(Debug, Clone, PartialEq)]
pub enum Error {
    /// A DioptraError subclass: `{"error": name, "message": "<HTTP phrase> - <msg>", "detail", "originating_path"}`.
    Service { status: u16, error: String, message: String, detail: Value },
    /// Field validation: `{"errors": {field: [msg]}}`, with `"message"` when set.
    Fields { errors: Map<String, Value>, message: Option<String> },
    /// `{"message": …}`.
    Message { status: u16, message: String },
    /// A `sortBy` query value the spec's pattern refuses: 400 `SortParameterValidationError`
    /// naming the value as sent (read from the request when the reply is made).
    NotSortable { entity_type: String },
}

fn phrase(status: u16) -> &'static str {
    actix_web::http::StatusCode::from_u16(status).ok().and_then(|s| s.canonical_reason()).unwrap_or("Error")
}

impl Error {
    pub fn service(status: u16, error: &str, message: impl std::fmt::Display, detail: Value) -> Error {
        Error::Service { status, error: error.into(), message: format!("{} - {message}", phrase(status)), detail }
    }
    /// 404 `EntityDoesNotExistError` for a missing `entity_type` with `key` = `value`.
    pub fn not_found(entity_type: &str, key: &str, value: Value) -> Error {
        let shown = match &value {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        Error::service(
            404,
            "EntityDoesNotExistError",
            format!("Failed to locate {entity_type} with {key} having value ({shown})."),
            json!({ "entity_type": entity_type, key: value }),
        )
    }
    pub fn field(field: &str, message: &str) -> Error {
        let mut errors = Map::new();
        errors.insert(field.into(), json!([message]));
        Error::Fields { errors, message: None }
    }
    /// Flask-Login's 401 for a request without a valid session.
    pub fn not_logged_in() -> Error {
        Error::Message {
            status: 401,
            message: "The server could not verify that you are authorized to access the URL requested. You either supplied the wrong credentials (e.g. a bad password), or your browser doesn't understand how to supply the credentials required.".into(),
        }
    }
    pub fn internal() -> Error {
        Error::Message { status: 500, message: "Internal Server Error".into() }
    }
    /// Flask's 503 `{"message"}`: the store is out of reach.
    pub fn unavailable() -> Error {
        Error::Message { status: 503, message: format!("Service Unavailable - {}", super::UNAVAILABLE) }
    }
    /// 409 `EntityExistsError`.
    pub fn exists(message: impl std::fmt::Display, detail: Value) -> Error {
        Error::service(409, "EntityExistsError", message, detail)
    }
    /// 422 `SearchParseError` for the `search` text `query`.
    pub fn search_parse(query: &str, reason: &str) -> Error {
        Error::service(
            422,
            "SearchParseError",
            "The provided search query could not be parsed.",
            json!({ "query": query, "reason": reason }),
        )
    }
    /// 400 `SortParameterValidationError` for a `sortBy` value of `entity_type` that is not sortable.
    pub fn not_sortable(entity_type: &str, sort_by: &str) -> Error {
        Error::service(
            400,
            "SortParameterValidationError",
            format!("The sort parameter, {sort_by}, for {entity_type} is not sortable."),
            json!({}),
        )
    }
}

/// The message marshmallow (Dioptra's validator) gives for a broken constraint, from the
/// generic one of the generated validation.
fn marshmallow_message(field: &str, message: &str) -> String {
    let bound = |prefix: &str| message.split_once(prefix).map(|(_, b)| b.trim().to_string());
    if message.starts_with("length ") {
        match (bound("less than the minimum"), bound("more than the maximum")) {
            (Some(b), _) => format!("Shorter than minimum length {b}."),
            (_, Some(b)) => format!("Longer than maximum length {b}."),
            _ => message.to_string(),
        }
    } else if let Some(b) = bound("is less than the minimum") {
        format!("Must be greater than or equal to {b}.")
    } else if let Some(b) = bound("is more than the maximum") {
        format!("Must be <= {b}")
    } else if message.starts_with("value does not match the pattern") {
        if field == "value" {
            "Not a valid number.".into()
        } else {
            "String does not match expected pattern.".into()
        }
    } else {
        message.to_string()
    }
}

impl From<super::StoreFailure> for Error {
    /// The store's message stays in the log: Dioptra's 500 says only "Internal Server Error".
    fn from(f: super::StoreFailure) -> Error {
        if f.unavailable { Error::unavailable() } else { Error::internal() }
    }
}

impl NativeError for Error {
    fn not_implemented(op: &OpInfo) -> Error {
        Error::service(
            501,
            "NotImplementedError",
            format!("{} {} is defined by the spec but not implemented by this server.", op.method.unwrap_or("GET"), op.path),
            json!({}),
        )
    }
    fn bad_request(_op: &OpInfo, problem: RequestProblem) -> Error {
        match problem {
            // A metric value that is neither a number nor a string (`true`, `null`).
            RequestProblem::Malformed(m) if m.contains("untagged enum MetricValueIn") => Error::field("value", "Not a valid number."),
            RequestProblem::Malformed(m) => Error::Message { status: 400, message: format!("Failed to decode JSON object: {m}") },
            RequestProblem::MissingMember(m) => Error::field(&m, "Missing data for required field."),
            RequestProblem::UnknownMember(m) => Error::field(&m, "Unknown field."),
            RequestProblem::Param(p) => {
                let mut e = Error::field(&p.name, &p.message);
                if let Error::Fields { message, .. } = &mut e {
                    if p.location == Location::Query {
                        *message = Some("Input payload validation failed".into());
                    }
                }
                e
            }
            RequestProblem::Invalid(violations) if violations.iter().any(|v| v.path == SORT_PARAMETER) => {
                Error::NotSortable { entity_type: "job".into() }
            }
            RequestProblem::Invalid(violations) => {
                let mut errors = Map::new();
                for v in violations {
                    let key = v.path.trim_start_matches("body.").trim_start_matches("body").to_string();
                    let key = if key.is_empty() { "_schema".to_string() } else { key };
                    let message = marshmallow_message(&key, &v.message);
                    let entry = errors.entry(key).or_insert_with(|| json!([]));
                    if let Some(list) = entry.as_array_mut() {
                        list.push(json!(message));
                    }
                }
                Error::Fields { errors, message: None }
            }
        }
    }
    fn into_response(self, ctx: &RequestContext) -> HttpResponse {
        match self {
            Error::Service { status, error, message, detail } => {
                json_reply(status, &json!({ "error": error, "message": message, "detail": detail, "originating_path": ctx.full_path }))
            }
            Error::Fields { errors, message } => {
                let mut body = json!({ "errors": errors });
                if let Some(m) = message {
                    body["message"] = json!(m);
                }
                json_reply(400, &body)
            }
            Error::Message { status, message } => json_reply(status, &json!({ "message": message })),
            Error::NotSortable { entity_type } => {
                let query = ctx.full_path.split_once('?').map(|(_, q)| q).unwrap_or("");
                let sort_by = serde_urlencoded::from_str::<Vec<(String, String)>>(query)
                    .ok()
                    .and_then(|pairs| pairs.into_iter().find(|(k, _)| k == SORT_PARAMETER).map(|(_, v)| v))
                    .unwrap_or_default();
                Error::not_sortable(&entity_type, &sort_by).into_response(ctx)
            }
        }
    }
}

/// The query parameter that names the sort field.
const SORT_PARAMETER: &str = "sortBy";

/// The session cookie Dioptra's Flask server sets at login.
pub const SESSION_COOKIE: &str = "session";

/// Who is calling. With no credentials configured the server is open (tenant `default`);
/// otherwise every operation but login needs the session cookie `POST /auth/login` set, and
/// its tenant becomes the caller's. A missing or bad session is Flask-Login's 401.
pub fn authenticate(req: &actix_web::HttpRequest, _body: &[u8], authorize: bool) -> Result<RequestContext, Error> {
    let mut ctx = RequestContext::from_request(req);
    let Some(auth) = req.app_data::<actix_web::web::Data<crate::auth::Auth>>() else {
        return Ok(ctx);
    };
    if auth.is_open() || !authorize {
        return Ok(ctx);
    }
    match super::cookie(req, SESSION_COOKIE).and_then(|c| auth.dioptra_session(&c)) {
        Some(session) => {
            ctx.tenant = session.tenant;
            ctx.user = Some(session.username);
            Ok(ctx)
        }
        None => Err(Error::not_logged_in()),
    }
}
