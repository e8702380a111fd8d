//! Minimal valid example values for IR schemas: required members only, values that satisfy
//! the constraints. Used for the route reference and for the not-implemented route check.

use serde_json::{json, Map, Value};

use crate::ir::{Kind, Schema, TypeSpace};

const STRING_CANDIDATES: &[&str] = &["example", "a", "a1", "x-1", "1", "arn:aws:sagemaker:us-east-1:123456789012:experiment-trial-component/example", "{}", ""];

pub fn minimal(schema: &Schema, types: &TypeSpace) -> Value {
    minimal_at(schema, types, 0)
}

fn minimal_at(schema: &Schema, types: &TypeSpace, depth: usize) -> Value {
    if depth > 16 {
        return Value::Null;
    }
    if let Some(d) = &schema.default {
        return d.clone();
    }
    match &schema.kind {
        Kind::Any => json!({}),
        Kind::Replies(replies) => replies.iter().find_map(|r| r.schema.as_ref()).map(|s| minimal_at(s, types, depth + 1)).unwrap_or(Value::Null),
        Kind::Boolean => json!(false),
        Kind::Integer { minimum, maximum, .. } => json!(clamp(0, *minimum, *maximum)),
        Kind::Number { minimum, maximum, .. } => json!(clamp(1, minimum.map(|m| m.ceil() as i64), maximum.map(|m| m.floor() as i64))),
        Kind::String { min_length, max_length, pattern, format } => {
            match format.as_deref() {
                Some("date-time") => return json!("2024-01-15T08:30:00+00:00"),
                Some("date") => return json!("2024-01-15"),
                Some("uuid") => return json!("00000000-0000-4000-8000-000000000000"),
                Some("email") => return json!("user@example.com"),
                Some("uri") => return json!("https://example.com/"),
                _ => {}
            }
            let re = pattern.as_ref().and_then(|p| regex::Regex::new(p).ok());
            let min = min_length.unwrap_or(0) as usize;
            let max = max_length.map(|m| m as usize).unwrap_or(usize::MAX);
            let pick = STRING_CANDIDATES
                .iter()
                .map(|s| s.to_string())
                .find(|s| (min..=max).contains(&s.chars().count()) && re.as_ref().map(|r| r.is_match(s)).unwrap_or(true))
                .unwrap_or_else(|| "a".repeat(min.max(1).min(max)));
            json!(pick)
        }
        Kind::Timestamp(_) => json!(1704164645),
        Kind::Enum(values) => values.first().map(|v| json!(v)).unwrap_or(Value::Null),
        Kind::Const(c) => c.clone(),
        Kind::Array { items, min_items, .. } => {
            Value::Array((0..min_items.unwrap_or(0).max(1)).map(|_| minimal_at(items, types, depth + 1)).collect())
        }
        Kind::Map(_) => json!({}),
        Kind::Object(obj) => {
            let mut out = Map::new();
            let first: &[String] = obj.alternatives.as_ref().and_then(|a| a.sets.first()).map(Vec::as_slice).unwrap_or(&[]);
            for p in obj.properties.iter().filter(|p| p.required || first.contains(&p.name)) {
                out.insert(p.name.clone(), minimal_at(&p.schema, types, depth + 1));
            }
            Value::Object(out)
        }
        Kind::Union { variants, .. } => variants.first().map(|v| minimal_at(v, types, depth + 1)).unwrap_or(Value::Null),
        Kind::Ref(r) => types.named.get(r).map(|s| minimal_at(s, types, depth + 1)).unwrap_or(Value::Null),
    }
}

fn clamp(v: i64, min: Option<i64>, max: Option<i64>) -> i64 {
    let v = min.map(|m| v.max(m)).unwrap_or(v);
    max.map(|m| v.min(m)).unwrap_or(v)
}

/// A path parameter value as text.
pub fn path_value(schema: &Schema, types: &TypeSpace) -> String {
    match minimal(schema, types) {
        Value::String(s) => s,
        Value::Number(n) if n.as_i64() == Some(0) => "1".into(),
        other => other.to_string(),
    }
}
