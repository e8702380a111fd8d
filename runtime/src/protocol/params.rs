//! Path, query and header parameters: read as text, converted by the kind the spec gives.

use serde::de::DeserializeOwned;
use serde_json::Value;

use super::{ParamError, RequestProblem};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Location {
    Path,
    Query,
    Header,
    /// A part of a `multipart/form-data` body.
    Form,
}

impl Location {
    pub fn as_str(&self) -> &'static str {
        match self {
            Location::Path => "path",
            Location::Query => "query",
            Location::Header => "header",
            Location::Form => "form",
        }
    }
}

/// How a parameter's text becomes a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    String,
    Integer,
    Number,
    Boolean,
    Json,
}

/// A decoded query string (repeated keys keep their first value).
#[derive(Debug, Default)]
pub struct Query(Vec<(String, String)>);

impl Query {
    pub fn parse(qs: &str) -> Result<Query, RequestProblem> {
        serde_urlencoded::from_str::<Vec<(String, String)>>(qs)
            .map(Query)
            .map_err(|e| RequestProblem::Malformed(format!("query string: {e}")))
    }
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

fn err(name: &str, location: Location, message: impl Into<String>) -> RequestProblem {
    RequestProblem::Param(ParamError { name: name.to_string(), location, message: message.into() })
}

/// Convert a parameter's text (if present) to `T`.
pub fn parse<T: DeserializeOwned>(raw: Option<&str>, name: &str, location: Location, kind: Kind) -> Result<Option<T>, RequestProblem> {
    let Some(raw) = raw else { return Ok(None) };
    let value = match kind {
        Kind::String => Value::String(raw.to_string()),
        Kind::Integer => raw.trim().parse::<i64>().map(Value::from).map_err(|_| err(name, location, "Not a valid integer."))?,
        Kind::Number => raw
            .trim()
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map(Value::Number)
            .ok_or_else(|| err(name, location, "Not a valid number."))?,
        Kind::Boolean => match raw.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" | "t" | "y" => Value::Bool(true),
            "false" | "0" | "no" | "off" | "f" | "n" => Value::Bool(false),
            _ => return Err(err(name, location, "Not a valid boolean.")),
        },
        Kind::Json => serde_json::from_str(raw).map_err(|e| err(name, location, e.to_string()))?,
    };
    super::body::from_value(value).map(Some).map_err(|e| err(name, location, e.to_string()))
}

/// A required parameter.
pub fn required<T>(value: Option<T>, name: &str, location: Location) -> Result<T, RequestProblem> {
    value.ok_or_else(|| err(name, location, "Missing data for required field."))
}
