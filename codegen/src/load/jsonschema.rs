//! JSON Schema (as ClearML HOCON schemas and OpenAPI 3.0 schemas write it) into IR schemas.
//! Shared by the ClearML and OpenAPI loaders; both hand over a `serde_json::Value`.

use serde_json::Value;

use crate::ir::{Additional, Alternatives, Kind, ObjectSchema, Property, Schema};

/// How one spec dialect writes the things JSON Schema leaves open.
pub struct Dialect {
    /// Prefix of local references (`#/definitions/`, `#/components/schemas/`).
    pub ref_prefix: &'static str,
    /// What objects do with members they do not name when `additionalProperties` is absent.
    pub default_additional: fn() -> Additional,
}

pub fn convert(v: &Value, d: &Dialect, at: &str) -> Result<Schema, String> {
    let obj = match v {
        Value::Object(o) => o,
        Value::Bool(true) => return Ok(Schema::new(Kind::Any)),
        other => return Err(format!("{at}: a schema must be an object, found {other}")),
    };
    let description = obj.get("description").and_then(Value::as_str).unwrap_or("").trim().to_string();
    let default = obj.get("default").cloned();
    let nullable = obj.get("nullable").and_then(Value::as_bool).unwrap_or(false);
    let kind = kind_of(obj, d, at)?;
    Ok(Schema { description, kind, default, nullable })
}

fn kind_of(obj: &serde_json::Map<String, Value>, d: &Dialect, at: &str) -> Result<Kind, String> {
    if let Some(r) = obj.get("$ref") {
        let r = r.as_str().ok_or_else(|| format!("{at}: $ref must be a string"))?;
        let name = r
            .strip_prefix(d.ref_prefix)
            .ok_or_else(|| format!("{at}: unsupported reference `{r}` (expected {}<name>)", d.ref_prefix))?;
        return Ok(Kind::Ref(name.to_string()));
    }
    for (key, exclusive) in [("oneOf", true), ("anyOf", false)] {
        if let Some(list) = obj.get(key).filter(|_| required_alternatives(obj).is_none()) {
            let list = list.as_array().ok_or_else(|| format!("{at}: {key} must be a list"))?;
            let variants = list
                .iter()
                .enumerate()
                .map(|(i, v)| convert(v, d, &format!("{at}.{key}[{i}]")))
                .collect::<Result<Vec<_>, _>>()?;
            return Ok(Kind::Union { variants, exclusive });
        }
    }
    if let Some(c) = obj.get("const") {
        return Ok(Kind::Const(c.clone()));
    }
    if let Some(values) = obj.get("enum") {
        let values = values.as_array().ok_or_else(|| format!("{at}: enum must be a list"))?;
        let strings = values
            .iter()
            .map(|v| match v {
                Value::String(s) => Ok(s.clone()),
                other => Err(format!("{at}: only string enums are supported, found {other}")),
            })
            .collect::<Result<Vec<_>, _>>()?;
        return Ok(Kind::Enum(strings));
    }
    let ty = obj.get("type").and_then(Value::as_str);
    let int = |k: &str| obj.get(k).and_then(Value::as_i64);
    let uint = |k: &str| obj.get(k).and_then(Value::as_u64);
    let float = |k: &str| obj.get(k).and_then(Value::as_f64);
    Ok(match ty {
        None if obj.contains_key("properties") => object(obj, d, at)?,
        None => Kind::Any,
        Some("object") => object(obj, d, at)?,
        Some("array") => {
            let items = match obj.get("items") {
                Some(items) => convert(items, d, &format!("{at}.items"))?,
                None => Schema::new(Kind::Any),
            };
            Kind::Array { items: Box::new(items), min_items: uint("minItems"), max_items: uint("maxItems") }
        }
        Some("string") => {
            let pattern = obj.get("pattern").and_then(Value::as_str).map(str::to_string);
            if let Some(p) = &pattern {
                regex_check(p).map_err(|e| format!("{at}: pattern `{p}` does not compile: {e}"))?;
            }
            Kind::String {
                min_length: uint("minLength"),
                max_length: uint("maxLength"),
                pattern,
                format: obj.get("format").and_then(Value::as_str).map(str::to_string),
            }
        }
        Some("integer") => Kind::Integer {
            minimum: int("minimum"),
            maximum: int("maximum"),
            bits: if obj.get("format").and_then(Value::as_str) == Some("int32") { 32 } else { 64 },
        },
        Some("number") => Kind::Number { minimum: float("minimum"), maximum: float("maximum"), nonfinite_as_strings: false },
        Some("boolean") => Kind::Boolean,
        Some("null") => Kind::Const(Value::Null),
        Some(other) => return Err(format!("{at}: unsupported type `{other}`")),
    })
}

/// `oneOf`/`anyOf` beside `properties` whose every entry is only a `required` list: the sets
/// of members of which exactly one / at least one must be present.
fn required_alternatives(obj: &serde_json::Map<String, Value>) -> Option<(Vec<Vec<String>>, bool)> {
    if !obj.contains_key("properties") {
        return None;
    }
    for (key, exclusive) in [("oneOf", true), ("anyOf", false)] {
        let Some(list) = obj.get(key).and_then(Value::as_array) else { continue };
        let sets: Option<Vec<Vec<String>>> = list
            .iter()
            .map(|entry| {
                let e = entry.as_object().filter(|e| e.len() == 1)?;
                e.get("required")?.as_array()?.iter().map(|m| m.as_str().map(str::to_string)).collect()
            })
            .collect();
        return sets.filter(|s| !s.is_empty()).map(|s| (s, exclusive));
    }
    None
}

fn object(obj: &serde_json::Map<String, Value>, d: &Dialect, at: &str) -> Result<Kind, String> {
    let required: Vec<&str> = obj
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let additional = match obj.get("additionalProperties") {
        None => (d.default_additional)(),
        Some(Value::Bool(true)) => Additional::Keep(Box::new(Schema::new(Kind::Any))),
        Some(Value::Bool(false)) => Additional::Forbid,
        Some(s) => Additional::Keep(Box::new(convert(s, d, &format!("{at}.additionalProperties"))?)),
    };
    let props = match obj.get("properties") {
        Some(Value::Object(p)) => p,
        Some(_) => return Err(format!("{at}: properties must be an object")),
        None => {
            // An object that names no members is a map of whatever it allows.
            return Ok(match additional {
                Additional::Keep(values) => Kind::Map(values),
                Additional::Ignore => Kind::Map(Box::new(Schema::new(Kind::Any))),
                Additional::Forbid => Kind::Object(ObjectSchema { properties: vec![], additional, alternatives: None }),
            });
        }
    };
    for r in &required {
        if !props.contains_key(*r) {
            return Err(format!("{at}: required member `{r}` is not among the properties"));
        }
    }
    let properties = props
        .iter()
        .map(|(name, s)| {
            Ok(Property {
                name: name.clone(),
                required: required.contains(&name.as_str()),
                schema: convert(s, d, &format!("{at}.{name}"))?,
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    let alternatives = match required_alternatives(obj) {
        Some((sets, exclusive)) => {
            for m in sets.iter().flatten() {
                if !props.contains_key(m) {
                    return Err(format!("{at}: alternative member `{m}` is not among the properties"));
                }
            }
            Some(Alternatives { sets, exclusive })
        }
        None => None,
    };
    Ok(Kind::Object(ObjectSchema { properties, additional, alternatives }))
}

/// Patterns are checked at generation time so generated code never meets a bad one.
pub(crate) fn regex_check(p: &str) -> Result<(), String> {
    regex::Regex::new(p).map(|_| ()).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const D: Dialect = Dialect { ref_prefix: "#/components/schemas/", default_additional: || Additional::Ignore };

    #[test]
    fn required_alternatives_beside_properties_are_not_a_union() {
        let s = convert(
            &json!({"type": "object", "properties": {"id": {"type": "integer"}, "uid": {"type": "string"}}, "oneOf": [{"required": ["id"]}, {"required": ["uid"]}]}),
            &D,
            "t",
        )
        .unwrap();
        let Kind::Object(obj) = s.kind else { panic!("{s:?}") };
        assert_eq!(obj.alternatives, Some(Alternatives { sets: vec![vec!["id".into()], vec!["uid".into()]], exclusive: true }));
        // A oneOf of schemas stays a union; an alternative naming no property is an error.
        let u = convert(&json!({"oneOf": [{"type": "string"}, {"type": "integer"}]}), &D, "t").unwrap();
        assert!(matches!(u.kind, Kind::Union { exclusive: true, .. }));
        let bad = json!({"type": "object", "properties": {"id": {"type": "integer"}}, "anyOf": [{"required": ["x"]}]});
        assert!(convert(&bad, &D, "t").unwrap_err().contains("alternative member `x`"));
    }
}
