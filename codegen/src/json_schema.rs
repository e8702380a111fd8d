//! IR schemas as JSON Schema: the OpenAPI 3.0 flavour for the exported document and a plain
//! JSON Schema flavour that a validator can check replies against.
//!
//! Named schemas become `#/components/schemas/<api>.<name>` in both flavours, so one
//! components map serves the OpenAPI export and, embedded in a root document, the validator.

use serde_json::{json, Map, Value};

use crate::ir::{Additional, Api, Kind, Schema};

/// Which JSON Schema the output must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// OpenAPI 3.0 Schema Objects: `nullable: true`, no `type` arrays, no `const`.
    OpenApi30,
    /// JSON Schema (draft 2020-12 keywords that draft 4+ validators share): `null` as a type.
    JsonSchema,
}

/// The component name of the named schema `name` of `api`: `<api>.<name>` with every
/// character OpenAPI does not allow in a component key replaced by `_`.
pub fn component_name(api: &Api, name: &str) -> String {
    let raw = format!("{}.{}", api.name, name);
    raw.chars().map(|c| if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') { c } else { '_' }).collect()
}

/// `schema` of `api` as a JSON Schema object of `dialect`.
pub fn schema(api: &Api, schema: &Schema, dialect: Dialect) -> Value {
    let mut out = kind(api, schema, dialect);
    if let Value::Object(map) = &mut out {
        if !schema.description.is_empty() && !map.contains_key("$ref") {
            map.insert("description".into(), json!(schema.description));
        }
        if let Some(d) = &schema.default {
            if !map.contains_key("$ref") {
                map.insert("default".into(), d.clone());
            }
        }
    }
    if schema.nullable {
        out = nullable(out, dialect);
    }
    out
}

/// Every named schema of `api`, keyed by [`component_name`].
pub fn components(api: &Api, dialect: Dialect) -> Map<String, Value> {
    api.types.named.iter().map(|(name, s)| (component_name(api, name), schema(api, s, dialect))).collect()
}

/// A self-contained JSON Schema document for `s`: the schema itself with every named schema
/// of `api` under `components/schemas`, where its `$ref`s point.
pub fn validation_document(api: &Api, s: &Schema) -> Value {
    let root = schema(api, s, Dialect::JsonSchema);
    let mut doc = match root {
        Value::Object(m) if !m.contains_key("components") => m,
        other => {
            let mut m = Map::new();
            m.insert("allOf".into(), json!([other]));
            m
        }
    };
    doc.insert("components".into(), json!({ "schemas": components(api, Dialect::JsonSchema) }));
    Value::Object(doc)
}

fn nullable(v: Value, dialect: Dialect) -> Value {
    match dialect {
        Dialect::OpenApi30 => match v {
            Value::Object(mut m) if !m.contains_key("$ref") && !m.is_empty() => {
                m.insert("nullable".into(), json!(true));
                Value::Object(m)
            }
            Value::Object(m) if m.is_empty() => Value::Object(m),
            other => json!({ "allOf": [other], "nullable": true }),
        },
        Dialect::JsonSchema => match v {
            Value::Object(m) if m.is_empty() => Value::Object(m),
            other => json!({ "anyOf": [other, { "type": "null" }] }),
        },
    }
}

fn kind(api: &Api, s: &Schema, dialect: Dialect) -> Value {
    match &s.kind {
        Kind::Any | Kind::Replies(_) => json!({}),
        Kind::Boolean => json!({ "type": "boolean" }),
        Kind::Integer { minimum, maximum, bits } => {
            let mut m = typed("integer");
            m.insert("format".into(), json!(if *bits <= 32 { "int32" } else { "int64" }));
            put(&mut m, "minimum", minimum.map(Value::from));
            put(&mut m, "maximum", maximum.map(Value::from));
            Value::Object(m)
        }
        Kind::Number { minimum, maximum, nonfinite_as_strings } => {
            let mut m = typed("number");
            m.insert("format".into(), json!("double"));
            put(&mut m, "minimum", minimum.map(Value::from));
            put(&mut m, "maximum", maximum.map(Value::from));
            if *nonfinite_as_strings {
                json!({ "anyOf": [Value::Object(m), { "type": "string", "enum": ["NaN", "Infinity", "-Infinity"] }] })
            } else {
                Value::Object(m)
            }
        }
        Kind::String { min_length, max_length, pattern, format } => {
            let mut m = typed("string");
            put(&mut m, "minLength", min_length.map(Value::from));
            put(&mut m, "maxLength", max_length.map(Value::from));
            put(&mut m, "pattern", pattern.clone().map(Value::from));
            put(&mut m, "format", format.clone().map(Value::from));
            Value::Object(m)
        }
        Kind::Timestamp(_) => json!({ "type": "number", "description": "Seconds since the epoch." }),
        Kind::Enum(values) => json!({ "type": "string", "enum": values }),
        Kind::Const(c) => {
            let mut m = Map::new();
            if let Some(t) = json_type(c) {
                m.insert("type".into(), json!(t));
            }
            m.insert("enum".into(), json!([c]));
            Value::Object(m)
        }
        Kind::Array { items, min_items, max_items } => {
            let mut m = typed("array");
            m.insert("items".into(), schema(api, items, dialect));
            put(&mut m, "minItems", min_items.map(Value::from));
            put(&mut m, "maxItems", max_items.map(Value::from));
            Value::Object(m)
        }
        Kind::Map(values) => {
            let mut m = typed("object");
            m.insert("additionalProperties".into(), schema(api, values, dialect));
            Value::Object(m)
        }
        Kind::Object(obj) => {
            let mut m = typed("object");
            let props: Map<String, Value> =
                obj.properties.iter().map(|p| (p.name.clone(), schema(api, &p.schema, dialect))).collect();
            if !props.is_empty() {
                m.insert("properties".into(), Value::Object(props));
            }
            let required: Vec<&str> = obj.properties.iter().filter(|p| p.required).map(|p| p.name.as_str()).collect();
            if !required.is_empty() {
                m.insert("required".into(), json!(required));
            }
            if let Some(alt) = &obj.alternatives {
                let key = if alt.exclusive { "oneOf" } else { "anyOf" };
                m.insert(key.into(), Value::Array(alt.sets.iter().map(|s| json!({ "required": s })).collect()));
            }
            match &obj.additional {
                Additional::Ignore => {}
                Additional::Keep(values) => {
                    m.insert("additionalProperties".into(), schema(api, values, dialect));
                }
                Additional::Forbid => {
                    m.insert("additionalProperties".into(), json!(false));
                }
            }
            Value::Object(m)
        }
        Kind::Union { variants, exclusive, .. } => {
            let key = if *exclusive { "oneOf" } else { "anyOf" };
            json!({ key: variants.iter().map(|v| schema(api, v, dialect)).collect::<Vec<_>>() })
        }
        Kind::Ref(name) => json!({ "$ref": format!("#/components/schemas/{}", component_name(api, name)) }),
    }
}

fn typed(t: &str) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("type".into(), json!(t));
    m
}

fn put(m: &mut Map<String, Value>, key: &str, v: Option<Value>) {
    if let Some(v) = v {
        m.insert(key.into(), v);
    }
}

fn json_type(v: &Value) -> Option<&'static str> {
    Some(match v {
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
        Value::Null => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::{ObjectSchema, Property, TypeSpace};

    fn api() -> Api {
        let mut types = TypeSpace::default();
        types.named.insert("point value".into(), Schema::new(Kind::Number { minimum: None, maximum: None, nonfinite_as_strings: true }));
        Api {
            name: "t".into(),
            title: String::new(),
            description: String::new(),
            protocol: crate::ir::Protocol::OpenApi,
            native: "problem".into(),
            source: String::new(),
            mounts: vec![],
            signing_name: None,
            services: vec![],
            types,
        }
    }

    #[test]
    fn objects_refs_and_nullability_in_both_dialects() {
        let api = api();
        let obj = Schema::new(Kind::Object(ObjectSchema {
            properties: vec![
                Property { name: "v".into(), required: true, schema: Schema::new(Kind::Ref("point value".into())) },
                Property {
                    name: "n".into(),
                    required: false,
                    schema: Schema { nullable: true, ..Schema::new(Kind::Integer { minimum: Some(1), maximum: None, bits: 32 }) },
                },
            ],
            additional: Additional::Forbid,
            alternatives: None,
        }));
        let oa = schema(&api, &obj, Dialect::OpenApi30);
        assert_eq!(oa["properties"]["v"]["$ref"], "#/components/schemas/t.point_value");
        assert_eq!(oa["properties"]["n"]["nullable"], true);
        assert_eq!(oa["required"], json!(["v"]));
        assert_eq!(oa["additionalProperties"], false);
        let js = schema(&api, &obj, Dialect::JsonSchema);
        assert_eq!(js["properties"]["n"]["anyOf"][1], json!({"type": "null"}));
        let doc = validation_document(&api, &obj);
        assert!(doc["components"]["schemas"]["t.point_value"]["anyOf"].is_array());
    }

    #[test]
    fn required_alternatives_become_one_of_required_lists() {
        let obj = Schema::new(Kind::Object(ObjectSchema {
            properties: vec![
                Property { name: "id".into(), required: false, schema: Schema::new(Kind::Integer { minimum: None, maximum: None, bits: 64 }) },
                Property { name: "uid".into(), required: false, schema: Schema::new(Kind::Any) },
            ],
            additional: Additional::Ignore,
            alternatives: Some(crate::ir::Alternatives { sets: vec![vec!["id".into()], vec!["uid".into()]], exclusive: true }),
        }));
        let js = schema(&api(), &obj, Dialect::JsonSchema);
        assert_eq!(js["oneOf"], json!([{"required": ["id"]}, {"required": ["uid"]}]));
    }
}
