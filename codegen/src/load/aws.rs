//! AWS service models (botocore `service-2.json`), protocol `rest-json`.
//!
//! Every structure, list, map and enum shape becomes a named IR schema; strings, numbers,
//! booleans and timestamps are inlined where they are used, with their constraints.
//! Operations bind by `http.method` and `http.requestUri`; members with a `location`
//! (`uri`, `querystring`, `header`) become parameters, the rest form the JSON body.

use std::path::Path;

use serde_json::{Map, Value};

use super::{html_to_text, LoadError};
use crate::ir::{
    Additional, Api, Body, HttpBinding, Kind, ObjectSchema, Operation, OperationVersion, Param, ParamLocation, Property, Protocol,
    Schema, Service, TimestampFormat, TypeSpace,
};

pub fn load_file(file: &Path, rel: &str, name: &str) -> Result<Api, LoadError> {
    let text = std::fs::read_to_string(file).map_err(|e| LoadError::new(file, e.to_string()))?;
    let model: Value = serde_json::from_str(&text)
        .map_err(|e| LoadError::new(file, format!("line {}: {e}", e.line())))?;
    load_model(&model, rel, name).map_err(|e| LoadError::new(file, e))
}

pub fn load_model(model: &Value, rel: &str, name: &str) -> Result<Api, String> {
    let meta = model.get("metadata").and_then(Value::as_object).ok_or("no `metadata` object: not an AWS service model")?;
    let protocol = meta.get("protocol").and_then(Value::as_str).unwrap_or("");
    if protocol != "rest-json" {
        return Err(format!("protocol `{protocol}` is not supported (only rest-json)"));
    }
    let shapes = model.get("shapes").and_then(Value::as_object).ok_or("no `shapes` object")?;
    let mut types = TypeSpace::default();
    for (shape_name, shape) in shapes {
        // Every shape is converted (so a broken one fails the load even if unused); only
        // structures, lists, maps and enums become named types.
        let schema = shape_schema(shape_name, shape, shapes)?;
        if named_kind(shape) {
            types.named.insert(shape_name.clone(), schema);
        }
    }
    let mut operations = Vec::new();
    let ops = model.get("operations").and_then(Value::as_object).ok_or("no `operations` object")?;
    for (op_name, op) in ops {
        operations.push(operation(op_name, op, shapes)?);
    }
    let service_id = meta.get("serviceId").and_then(Value::as_str).unwrap_or(name);
    let title = meta.get("serviceFullName").and_then(Value::as_str).unwrap_or(service_id).to_string();
    let description = model.get("documentation").and_then(Value::as_str).map(html_to_text).unwrap_or_else(|| title.clone());
    Ok(Api {
        name: name.to_string(),
        title,
        description,
        protocol: Protocol::AwsRestJson,
        native: "aws".into(),
        source: rel.to_string(),
        mounts: vec![String::new()],
        // botocore signs with `signingName`, else with `endpointPrefix`.
        signing_name: meta.get("signingName").or_else(|| meta.get("endpointPrefix")).and_then(Value::as_str).map(str::to_string),
        services: vec![Service { name: service_id.to_string(), description: String::new(), operations }],
        types,
    })
}

fn shape_type(shape: &Value) -> &str {
    shape.get("type").and_then(Value::as_str).unwrap_or("")
}

/// Shapes generated as named types; the others are inlined at their use.
fn named_kind(shape: &Value) -> bool {
    matches!(shape_type(shape), "structure" | "list" | "map") || shape.get("enum").is_some()
}

fn doc(v: &Value) -> String {
    v.get("documentation").and_then(Value::as_str).map(html_to_text).unwrap_or_default()
}

/// The schema of a use of shape `target` (a member, a list item, a map value).
fn use_of(target: &str, shapes: &Map<String, Value>) -> Result<Schema, String> {
    let shape = shapes.get(target).ok_or_else(|| format!("shape `{target}` is not defined"))?;
    if named_kind(shape) {
        Ok(Schema::new(Kind::Ref(target.to_string())))
    } else {
        shape_schema(target, shape, shapes)
    }
}

fn shape_schema(name: &str, shape: &Value, shapes: &Map<String, Value>) -> Result<Schema, String> {
    let num = |k: &str| shape.get(k).and_then(Value::as_f64);
    let uint = |k: &str| shape.get(k).and_then(Value::as_u64);
    let target = |k: &str| -> Result<&str, String> {
        shape.get(k).and_then(|m| m.get("shape")).and_then(Value::as_str).ok_or_else(|| format!("shape `{name}`: `{k}` missing"))
    };
    let kind = match shape_type(shape) {
        "structure" => {
            let required: Vec<&str> =
                shape.get("required").and_then(Value::as_array).map(|r| r.iter().filter_map(Value::as_str).collect()).unwrap_or_default();
            let members = shape.get("members").and_then(Value::as_object).cloned().unwrap_or_default();
            let mut properties = Vec::new();
            for (member, m) in &members {
                let t = m.get("shape").and_then(Value::as_str).ok_or_else(|| format!("{name}.{member}: no shape"))?;
                let mut schema = use_of(t, shapes)?;
                let d = doc(m);
                if !d.is_empty() {
                    schema.description = d;
                }
                properties.push(Property { name: member.clone(), required: required.contains(&member.as_str()), schema });
            }
            Kind::Object(ObjectSchema { properties, additional: Additional::Ignore, alternatives: None })
        }
        "list" => Kind::Array { items: Box::new(use_of(target("member")?, shapes)?), min_items: uint("min"), max_items: uint("max") },
        "map" => Kind::Map(Box::new(use_of(target("value")?, shapes)?)),
        "string" => match shape.get("enum").and_then(Value::as_array) {
            Some(values) => Kind::Enum(values.iter().filter_map(Value::as_str).map(str::to_string).collect()),
            None => {
                let pattern = shape.get("pattern").and_then(Value::as_str).map(str::to_string);
                if let Some(p) = &pattern {
                    super::jsonschema::regex_check(p).map_err(|e| format!("shape `{name}`: pattern `{p}`: {e}"))?;
                }
                Kind::String { min_length: uint("min"), max_length: uint("max"), pattern, format: None }
            }
        },
        "integer" | "long" => Kind::Integer {
            minimum: num("min").map(|v| v as i64),
            maximum: num("max").map(|v| v as i64),
            bits: if shape_type(shape) == "integer" { 32 } else { 64 },
        },
        "double" | "float" => Kind::Number { minimum: num("min"), maximum: num("max"), nonfinite_as_strings: true },
        "boolean" => Kind::Boolean,
        "timestamp" => Kind::Timestamp(TimestampFormat::EpochSeconds),
        "blob" => Kind::String { min_length: None, max_length: None, pattern: None, format: Some("byte".into()) },
        other => return Err(format!("shape `{name}`: type `{other}` is not supported")),
    };
    Ok(Schema { description: doc(shape), kind, default: None, nullable: false })
}

fn operation(op_name: &str, op: &Value, shapes: &Map<String, Value>) -> Result<Operation, String> {
    let http = op.get("http").ok_or_else(|| format!("operation {op_name}: no `http`"))?;
    let method = http.get("method").and_then(Value::as_str).ok_or_else(|| format!("operation {op_name}: no http.method"))?;
    let uri = http.get("requestUri").and_then(Value::as_str).ok_or_else(|| format!("operation {op_name}: no http.requestUri"))?;
    let path = uri.split('?').next().unwrap_or(uri).replace('+', "");
    let mut params = Vec::new();
    let mut body = Body::None;
    if let Some(input) = op.get("input").and_then(|i| i.get("shape")).and_then(Value::as_str) {
        let shape = shapes.get(input).ok_or_else(|| format!("operation {op_name}: input shape `{input}` is not defined"))?;
        let members = shape.get("members").and_then(Value::as_object).cloned().unwrap_or_default();
        let required: Vec<&str> =
            shape.get("required").and_then(Value::as_array).map(|r| r.iter().filter_map(Value::as_str).collect()).unwrap_or_default();
        for (member, m) in &members {
            let location = match m.get("location").and_then(Value::as_str) {
                Some("uri") => ParamLocation::Path,
                Some("querystring") => ParamLocation::Query,
                Some("header") => ParamLocation::Header,
                _ => continue,
            };
            let t = m.get("shape").and_then(Value::as_str).unwrap_or_default();
            params.push(Param {
                name: m.get("locationName").and_then(Value::as_str).unwrap_or(member).to_string(),
                location,
                required: required.contains(&member.as_str()) || location == ParamLocation::Path,
                description: doc(m),
                schema: use_of(t, shapes)?,
            });
        }
        if params.len() < members.len() {
            body = Body::Json { schema: Schema::new(Kind::Ref(input.to_string())), required: false };
        }
    }
    let response = op.get("output").and_then(|o| o.get("shape")).and_then(Value::as_str).map(|o| Schema::new(Kind::Ref(o.to_string())));
    let description = doc(op);
    Ok(Operation {
        name: op_name.to_string(),
        description: description.clone(),
        versions: vec![OperationVersion {
            version: None,
            description,
            http: HttpBinding { method: Some(method.to_string()), path },
            params,
            body,
            response,
            raw_response: false,
            streamed: None,
            authorize: true,
            errors: Vec::new(),
        }],
    })
}
