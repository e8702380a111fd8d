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

/// Properties (issue 10): parameter text reads back the value written, whatever the
/// whitespace around it; anything else is a parameter error, never a panic. Lens's
/// `start`/`end` (epoch ms) are integer query parameters read here.
#[cfg(test)]
mod props {
    use super::*;
    use crate::protocol::{NativeError, OpInfo};
    use proptest::prelude::*;

    const LENS_DATA: OpInfo = OpInfo { api: "lens", operation: "get_workload_metrics_data", version: None, method: Some("GET"), path: "/workloads/{uid}/metrics/data" };

    fn ws() -> impl Strategy<Value = String> {
        "[ \t\n]{0,2}"
    }

    proptest! {
        #[test]
        fn integers_read_back(n in any::<i64>(), before in ws(), after in ws()) {
            let text = format!("{before}{n}{after}");
            prop_assert_eq!(parse::<i64>(Some(&text), "start", Location::Query, Kind::Integer).unwrap(), Some(n));
        }

        #[test]
        fn numbers_read_back(v in any::<f64>().prop_filter("finite", |v| v.is_finite()), exp in any::<bool>(), before in ws()) {
            let text = if exp { format!("{before}{v:e}") } else { format!("{before}{v}") };
            let got = parse::<f64>(Some(&text), "x", Location::Query, Kind::Number).unwrap().unwrap();
            prop_assert_eq!(got.to_bits(), v.to_bits(), "{}", text);
        }

        #[test]
        fn booleans_read_in_every_form(word in prop::sample::select(vec!["true", "1", "yes", "on", "t", "y", "false", "0", "no", "off", "f", "n"]), upper in any::<bool>(), before in ws()) {
            let text = format!("{before}{}", if upper { word.to_ascii_uppercase() } else { word.to_string() });
            let want = ["true", "1", "yes", "on", "t", "y"].contains(&word);
            prop_assert_eq!(parse::<bool>(Some(&text), "b", Location::Query, Kind::Boolean).unwrap(), Some(want));
        }

        #[test]
        fn any_text_is_read_or_refused(text in "\\PC{0,12}|[0-9 +.eE-]{0,12}", location in prop::sample::select(vec![Location::Path, Location::Query, Location::Header])) {
            for kind in [Kind::String, Kind::Integer, Kind::Number, Kind::Boolean, Kind::Json] {
                match parse::<serde_json::Value>(Some(&text), "p", location, kind) {
                    Ok(v) => {
                        let v = v.expect("a given parameter has a value");
                        match kind {
                            Kind::String => prop_assert_eq!(v.as_str(), Some(text.as_str())),
                            Kind::Integer => prop_assert_eq!(v.as_i64(), text.trim().parse::<i64>().ok()),
                            Kind::Number => prop_assert!(v.as_f64().is_some_and(f64::is_finite)),
                            Kind::Boolean => prop_assert!(v.is_boolean()),
                            Kind::Json => prop_assert_eq!(Some(v), serde_json::from_str::<serde_json::Value>(&text).ok()),
                        }
                    }
                    Err(RequestProblem::Param(p)) => prop_assert!(p.name == "p" && p.location == location && !p.message.is_empty()),
                    Err(other) => prop_assert!(false, "{:?}", other),
                }
            }
        }

        #[test]
        fn lens_times_that_are_not_integers_get_lens_message(text in "\\PC{0,12}|[0-9 .eE+-]{1,12}", which in prop::sample::select(vec!["start", "end"])) {
            match parse::<i64>(Some(&text), which, Location::Query, Kind::Integer) {
                Ok(ms) => prop_assert_eq!(ms, text.trim().parse::<i64>().ok()),
                Err(problem) => {
                    let e = <crate::protocol::lens::Error as NativeError>::bad_request(&LENS_DATA, problem);
                    prop_assert_eq!((e.status, e.message), (400, format!("invalid {which} time format")));
                }
            }
        }

        #[test]
        fn query_strings_decode_what_was_encoded(pairs in prop::collection::vec((".{1,6}", ".{0,6}"), 0..6), junk in "[^#]{0,30}") {
            let qs = serde_urlencoded::to_string(&pairs).unwrap();
            let q = Query::parse(&qs).unwrap();
            for (k, _) in &pairs {
                let first = pairs.iter().find(|(k2, _)| k2 == k).map(|(_, v)| v.as_str());
                prop_assert_eq!(q.get(k), first);
            }
            let _ = Query::parse(&junk);
        }
    }
}
