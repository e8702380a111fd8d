//! IR → one OpenAPI 3.0 document describing every route the server serves: ClearML
//! operations once per version path, AWS operations by method and URI, the OpenAPI families
//! as written under each of their mounts. Served at `GET /openapi.json`.
//!
//! Protocol framing the IR leaves implicit is made explicit here: the ClearML `meta`/`data`
//! envelope around every reply and the AWS JSON error shape.

use serde_json::{json, Map, Value};

use crate::ir::{Api, Body, Operation, OperationVersion, ParamLocation, Protocol, Service};
use crate::json_schema::{self, Dialect};

/// Component names of the protocol schemas this emitter adds.
const CLEARML_META: &str = "clearml._envelope_meta";
const AWS_ERROR: &str = "sagemaker._error";

/// The document as pretty JSON (stable key order: the order of the specs).
pub fn document_json(apis: &[Api], version: &str) -> Result<String, String> {
    serde_json::to_string_pretty(&document(apis, version)).map(|s| s + "\n").map_err(|e| format!("openapi.json: {e}"))
}

pub fn document(apis: &[Api], version: &str) -> Value {
    let mut paths = Map::new();
    let mut schemas = Map::new();
    let mut tags = Vec::new();
    for api in apis {
        tags.push(json!({ "name": api.name, "description": format!("{}\n\n{}", api.title, api.description).trim() }));
        schemas.extend(json_schema::components(api, Dialect::OpenApi30));
        if api.protocol == Protocol::ClearMl {
            schemas.insert(CLEARML_META.into(), clearml_meta());
        }
        if api.protocol == Protocol::AwsRestJson {
            schemas.insert(AWS_ERROR.into(), aws_error());
        }
        for (service, op, v) in api.operation_versions() {
            for (mount_index, path) in route_paths(api, v).into_iter().enumerate() {
                let method = v.http.method.as_deref().unwrap_or("POST").to_ascii_lowercase();
                let item = paths.entry(path).or_insert_with(|| json!({}));
                item[method.as_str()] = operation(api, service, op, v, mount_index);
            }
        }
    }
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "specmill",
            "version": version,
            "description": "Every route this specmill server serves, generated from the spec files in `specs/`. \
                ClearML operations are listed once per version path (`/vX.Y/service.action`; any HTTP method is accepted, POST is shown); \
                a request for version R is answered by the highest version ≤ R.",
        },
        "tags": tags,
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "clearml_bearer": { "type": "http", "scheme": "bearer", "description": "A token from `auth.login`." },
                "clearml_basic": { "type": "http", "scheme": "basic", "description": "A ClearML access key and secret key." },
                "aws_sigv4": { "type": "apiKey", "in": "header", "name": "Authorization", "description": "AWS Signature Version 4." },
            },
        },
    })
}

/// The concrete paths one operation version is served under.
fn route_paths(api: &Api, v: &OperationVersion) -> Vec<String> {
    match api.protocol {
        Protocol::ClearMl => vec![format!("/v{}{}", v.version.map(|x| x.to_string()).unwrap_or_default(), v.http.path)],
        _ => api.mounts.iter().map(|m| format!("{m}{}", v.http.path)).collect(),
    }
}

fn operation(api: &Api, service: &Service, op: &Operation, v: &OperationVersion, mount_index: usize) -> Value {
    let mut id = format!("{}.{}.{}", api.name, service.name, op.name);
    if let Some(ver) = v.version {
        id.push_str(&format!(".v{}_{}", ver.major, ver.minor));
    }
    if mount_index > 0 {
        id.push_str(&format!(".mount{mount_index}"));
    }
    let description = if v.description.is_empty() { &op.description } else { &v.description };
    let mut out = Map::new();
    out.insert("operationId".into(), json!(id));
    out.insert("tags".into(), json!([api.name]));
    if let Some(first) = description.lines().map(str::trim).find(|l| !l.is_empty()) {
        out.insert("summary".into(), json!(first.trim_end_matches('.')));
    }
    if !description.trim().is_empty() {
        out.insert("description".into(), json!(description.trim()));
    }
    let params: Vec<Value> = v
        .params
        .iter()
        .filter_map(|p| {
            let location = match p.location {
                ParamLocation::Path => "path",
                ParamLocation::Query => "query",
                ParamLocation::Header => "header",
                ParamLocation::Form => return None,
            };
            let mut param = json!({
                "name": p.name,
                "in": location,
                "required": p.required || p.location == ParamLocation::Path,
                "schema": json_schema::schema(api, &p.schema, Dialect::OpenApi30),
            });
            if !p.description.is_empty() {
                param["description"] = json!(p.description);
            }
            Some(param)
        })
        .collect();
    if !params.is_empty() {
        out.insert("parameters".into(), json!(params));
    }
    if let Some(body) = request_body(api, v) {
        out.insert("requestBody".into(), body);
    }
    out.insert("responses".into(), responses(api, v));
    match api.protocol {
        _ if !v.authorize => {
            out.insert("security".into(), json!([]));
        }
        Protocol::ClearMl => {
            out.insert("security".into(), json!([{ "clearml_bearer": [] }, { "clearml_basic": [] }]));
        }
        Protocol::AwsRestJson => {
            out.insert("security".into(), json!([{ "aws_sigv4": [] }]));
        }
        Protocol::OpenApi => {}
    }
    Value::Object(out)
}

fn request_body(api: &Api, v: &OperationVersion) -> Option<Value> {
    let form: Vec<_> = v.params.iter().filter(|p| p.location == ParamLocation::Form).collect();
    if !form.is_empty() {
        let properties: Map<String, Value> =
            form.iter().map(|p| (p.name.clone(), json_schema::schema(api, &p.schema, Dialect::OpenApi30))).collect();
        let required: Vec<&str> = form.iter().filter(|p| p.required).map(|p| p.name.as_str()).collect();
        let mut schema = json!({ "type": "object", "properties": properties });
        if !required.is_empty() {
            schema["required"] = json!(required);
        }
        return Some(json!({ "required": true, "content": { "multipart/form-data": { "schema": schema } } }));
    }
    match &v.body {
        Body::None => None,
        Body::Json { schema, required } => Some(json!({
            "required": required,
            "content": { "application/json": { "schema": json_schema::schema(api, schema, Dialect::OpenApi30) } },
        })),
        Body::JsonLines { operation, version } => Some(json!({
            "required": true,
            "description": format!(
                "One JSON object per line, each a request of `{operation}`{}.",
                version.map(|x| format!(" version {x}")).unwrap_or_default()
            ),
            // Text, one object per line: any content type is accepted (the SDK sends
            // `application/json`), and `text/plain` is what generic tools can produce.
            "content": { "text/plain": { "schema": { "type": "string" } } },
        })),
    }
}

fn responses(api: &Api, v: &OperationVersion) -> Value {
    let mut out = Map::new();
    let success = v.response.clone().unwrap_or_default();
    let success = if v.raw_response {
        json!({
            "description": "The content, sent as it is.",
            "content": { "application/octet-stream": { "schema": { "type": "string", "format": "binary" } } },
        })
    } else {
        let body = match api.protocol {
            Protocol::ClearMl => envelope(json_schema::schema(api, &success, Dialect::OpenApi30)),
            _ => json_schema::schema(api, &success, Dialect::OpenApi30),
        };
        json!({ "description": "Success.", "content": { "application/json": { "schema": body } } })
    };
    out.insert("200".into(), success);
    for e in &v.errors {
        let mut reply = json!({ "description": if e.description.is_empty() { "Error." } else { e.description.as_str() } });
        if let Some(s) = &e.schema {
            let schema = match api.protocol {
                Protocol::ClearMl => envelope(json!({ "type": "object" })),
                _ => json_schema::schema(api, s, Dialect::OpenApi30),
            };
            reply["content"] = json!({ "application/json": { "schema": schema } });
        }
        out.insert(e.status.to_string(), reply);
    }
    let native = match api.protocol {
        Protocol::ClearMl => Some(envelope(json!({ "type": "object" }))),
        Protocol::AwsRestJson => Some(json!({ "$ref": format!("#/components/schemas/{AWS_ERROR}") })),
        Protocol::OpenApi => None,
    };
    if let Some(schema) = native {
        out.insert(
            "default".into(),
            json!({ "description": "An error, in the API's native format.", "content": { "application/json": { "schema": schema } } }),
        );
    }
    Value::Object(out)
}

/// The ClearML reply envelope around `data`.
fn envelope(data: Value) -> Value {
    json!({
        "type": "object",
        "required": ["meta", "data"],
        "properties": {
            "meta": { "$ref": format!("#/components/schemas/{CLEARML_META}") },
            "data": data,
        },
    })
}

fn clearml_meta() -> Value {
    json!({
        "type": "object",
        "description": "ClearML reply metadata. The HTTP status equals `result_code`.",
        "required": ["id", "endpoint", "result_code", "result_subcode", "result_msg"],
        "properties": {
            "id": { "type": "string" },
            "trx": { "type": "string" },
            "endpoint": {
                "type": "object",
                "properties": {
                    "name": { "type": "string" },
                    "requested_version": { "nullable": true, "oneOf": [{ "type": "string" }, { "type": "number" }] },
                    "actual_version": { "nullable": true, "oneOf": [{ "type": "string" }, { "type": "number" }] },
                },
            },
            "result_code": { "type": "integer" },
            "result_subcode": { "type": "integer" },
            "result_msg": { "type": "string" },
            "error_stack": { "type": "string", "nullable": true },
            "error_data": { "type": "object" },
        },
    })
}

fn aws_error() -> Value {
    json!({
        "type": "object",
        "description": "An AWS JSON error: the error code in `__type` (also in the `x-amzn-ErrorType` header).",
        "required": ["__type"],
        "properties": { "__type": { "type": "string" }, "message": { "type": "string" } },
    })
}
