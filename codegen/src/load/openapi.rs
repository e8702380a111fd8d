//! OpenAPI 3.0 documents (parsed with `openapiv3`).
//!
//! The document's `servers` URLs are the mount prefixes (relative paths), `paths` are
//! relative to them. Each operation needs an `operationId`. Parameters are `in: path` or
//! `in: query`; the body is `application/json`. `x-specmill-api` names the API family
//! (and so its native error format); without it the file stem names the API and its errors
//! are RFC 9457 problem details.

use std::path::Path;

use openapiv3::{OpenAPI, Operation as OaOperation, Parameter, ParameterSchemaOrContent, ReferenceOr, StatusCode};
use serde_json::Value;

use super::jsonschema::{self, Dialect};
use super::LoadError;
use crate::ir::{
    Additional, Api, Body, ErrorReply, HttpBinding, Operation, OperationVersion, Param, ParamLocation, Protocol, Schema, Service,
    StreamedReply, TypeSpace,
};

/// OpenAPI objects drop members they do not name unless `additionalProperties` says otherwise.
const DIALECT: Dialect = Dialect { ref_prefix: "#/components/schemas/", default_additional: || Additional::Ignore };

pub fn load_file(file: &Path, rel: &str) -> Result<Api, LoadError> {
    let text = std::fs::read_to_string(file).map_err(|e| LoadError::new(file, e.to_string()))?;
    let stem = file.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    load_str(&text, rel, &stem).map_err(|e| LoadError::new(file, e))
}

pub fn load_str(text: &str, rel: &str, stem: &str) -> Result<Api, String> {
    let raw: Value = serde_yaml::from_str(text).map_err(|e| match e.location() {
        Some(l) => format!("line {}: {e}", l.line()),
        None => e.to_string(),
    })?;
    let doc: OpenAPI = serde_json::from_value(raw.clone()).map_err(|e| format!("not an OpenAPI 3.0 document: {e}"))?;
    if !doc.openapi.starts_with("3.0") {
        return Err(format!("OpenAPI version {} is not supported (3.0.x)", doc.openapi));
    }
    let family = raw.get("x-specmill-api").and_then(Value::as_str);
    let name = family.unwrap_or(stem).to_string();

    let mut types = TypeSpace::default();
    if let Some(schemas) = raw.pointer("/components/schemas").and_then(Value::as_object) {
        for (n, s) in schemas {
            types.named.insert(n.clone(), jsonschema::convert(s, &DIALECT, &format!("components.schemas.{n}"))?);
        }
    }
    let mut mounts: Vec<String> = doc.servers.iter().map(|s| s.url.trim_end_matches('/').to_string()).collect();
    if mounts.is_empty() {
        mounts.push(String::new());
    }
    if let Some(bad) = mounts.iter().find(|m| !m.is_empty() && !m.starts_with('/')) {
        return Err(format!("server url `{bad}` must be a path starting with `/`"));
    }

    let mut operations = Vec::new();
    for (path, item) in doc.paths.paths.iter() {
        let item = match item {
            ReferenceOr::Item(i) => i,
            ReferenceOr::Reference { reference } => return Err(format!("{path}: path item references ({reference}) are not supported")),
        };
        for (method, op) in item.iter() {
            // Parameters of the path item, then of the operation, `$ref`s to
            // `#/components/parameters/…` resolved.
            let mut params = Vec::new();
            for p in item.parameters.iter().chain(op.parameters.iter()) {
                params.push(ReferenceOr::Item(resolve_parameter(p, &doc).map_err(|e| format!("{} {path}: {e}", method.to_uppercase()))?));
            }
            operations.push(operation(path, method, op, &params, &types).map_err(|e| format!("{} {path}: {e}", method.to_uppercase()))?);
        }
    }
    let mut seen = std::collections::BTreeSet::new();
    for op in &operations {
        if !seen.insert(op.name.clone()) {
            return Err(format!("operationId `{}` is used twice", op.name));
        }
    }
    Ok(Api {
        name: name.clone(),
        title: doc.info.title.clone(),
        description: doc.info.description.clone().unwrap_or_default().trim().to_string(),
        protocol: Protocol::OpenApi,
        native: family.unwrap_or("problem").to_string(),
        source: rel.to_string(),
        mounts,
        signing_name: None,
        services: vec![Service { name, description: String::new(), operations }],
        types,
    })
}

fn schema_value<T: serde::Serialize>(s: &T, at: &str) -> Result<Schema, String> {
    let v = serde_json::to_value(s).map_err(|e| format!("{at}: {e}"))?;
    jsonschema::convert(&v, &DIALECT, at)
}

fn resolve_parameter(p: &ReferenceOr<Parameter>, doc: &OpenAPI) -> Result<Parameter, String> {
    match p {
        ReferenceOr::Item(p) => Ok(p.clone()),
        ReferenceOr::Reference { reference } => {
            let name = reference
                .strip_prefix("#/components/parameters/")
                .ok_or_else(|| format!("unsupported parameter reference `{reference}`"))?;
            match doc.components.as_ref().and_then(|c| c.parameters.get(name)) {
                Some(ReferenceOr::Item(p)) => Ok(p.clone()),
                Some(ReferenceOr::Reference { reference: r }) => Err(format!("parameter `{name}` is itself a reference ({r})")),
                None => Err(format!("parameter `{name}` is not defined in components.parameters")),
            }
        }
    }
}

/// A schema with a top-level `$ref` replaced by the named schema.
fn resolve_ref(schema: Schema, types: &TypeSpace) -> Result<Schema, String> {
    match &schema.kind {
        crate::ir::Kind::Ref(r) => types.named.get(r).cloned().ok_or_else(|| format!("schema `{r}` is not defined")),
        _ => Ok(schema),
    }
}

fn operation(path: &str, method: &str, op: &OaOperation, params: &[ReferenceOr<Parameter>], types: &TypeSpace) -> Result<Operation, String> {
    let name = op.operation_id.clone().ok_or("operationId is missing")?;
    let description = [op.summary.clone(), op.description.clone()]
        .into_iter()
        .flatten()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join("\n\n");
    let mut ir_params = Vec::new();
    for p in params {
        let p = match p {
            ReferenceOr::Item(p) => p,
            ReferenceOr::Reference { reference } => return Err(format!("parameter references ({reference}) are not supported")),
        };
        let (data, location) = match p {
            Parameter::Path { parameter_data, .. } => (parameter_data, ParamLocation::Path),
            Parameter::Query { parameter_data, .. } => (parameter_data, ParamLocation::Query),
            Parameter::Header { parameter_data, .. } => (parameter_data, ParamLocation::Header),
            Parameter::Cookie { parameter_data, .. } => return Err(format!("cookie parameter `{}` is not supported", parameter_data.name)),
        };
        let schema = match &data.format {
            ParameterSchemaOrContent::Schema(s) => schema_value(s, &format!("parameter {}", data.name))?,
            ParameterSchemaOrContent::Content(_) => return Err(format!("parameter `{}`: content parameters are not supported", data.name)),
        };
        ir_params.push(Param {
            name: data.name.clone(),
            location,
            required: data.required || location == ParamLocation::Path,
            description: data.description.clone().unwrap_or_default().trim().to_string(),
            schema,
        });
    }
    for placeholder in path.split('{').skip(1).filter_map(|s| s.split('}').next()) {
        if !ir_params.iter().any(|p| p.location == ParamLocation::Path && p.name == placeholder) {
            return Err(format!("path parameter `{placeholder}` is not declared"));
        }
    }
    let body = match &op.request_body {
        None => Body::None,
        Some(ReferenceOr::Reference { reference }) => return Err(format!("request body references ({reference}) are not supported")),
        Some(ReferenceOr::Item(rb)) => {
            if let Some(media) = rb.content.get("multipart/form-data") {
                // The parts of a form become parameters of their own, each typed by its
                // property (a `format: binary` string is a file).
                let schema = media.schema.as_ref().ok_or("the form body has no schema")?;
                let schema = resolve_ref(schema_value(schema, "requestBody")?, types)?;
                let crate::ir::Kind::Object(obj) = schema.kind else {
                    return Err("a multipart/form-data body must be an object".into());
                };
                for p in obj.properties {
                    ir_params.push(Param {
                        name: p.name,
                        location: ParamLocation::Form,
                        required: p.required,
                        description: p.schema.description.clone(),
                        schema: p.schema,
                    });
                }
                Body::None
            } else {
                let media = rb.content.get("application/json").ok_or("the request body must be application/json or multipart/form-data")?;
                let schema = media.schema.as_ref().ok_or("the request body has no schema")?;
                Body::Json { schema: schema_value(schema, "requestBody")?, required: rb.required }
            }
        }
    };
    let mut response = None;
    let mut raw_response = false;
    let mut errors = Vec::new();
    for (status, resp) in op.responses.responses.iter() {
        let code = match status {
            StatusCode::Code(c) => *c,
            StatusCode::Range(r) => return Err(format!("response range {r}XX is not supported")),
        };
        let resp = match resp {
            ReferenceOr::Item(r) => r,
            ReferenceOr::Reference { reference } => return Err(format!("response references ({reference}) are not supported")),
        };
        let schema = resp
            .content
            .get("application/json")
            .and_then(|m| m.schema.as_ref())
            .map(|s| schema_value(s, &format!("response {code}")))
            .transpose()?;
        if (200..300).contains(&code) {
            if response.is_some() {
                return Err("more than one success response".into());
            }
            // A success that is not JSON (a file) is sent as it is.
            raw_response = !resp.content.is_empty() && !resp.content.contains_key("application/json");
            response = Some(schema.unwrap_or_default());
        } else {
            errors.push(ErrorReply { status: code, description: resp.description.trim().to_string(), schema });
        }
    }
    let streamed = streamed_reply(op, response.as_ref(), types)?;
    Ok(Operation {
        name,
        description: description.clone(),
        versions: vec![OperationVersion {
            version: None,
            description,
            http: HttpBinding { method: Some(method.to_uppercase()), path: path.to_string() },
            params: ir_params,
            body,
            response,
            raw_response,
            streamed,
            // `security: []` opens an operation to callers without credentials (a login).
            authorize: !matches!(&op.security, Some(reqs) if reqs.is_empty()),
            errors,
        }],
    })
}

/// `x-specmill-stream: {items: <array member>, count: <integer member>}` on an operation:
/// its reply is streamed (see [`StreamedReply`]). Both members must be properties of the
/// success reply, `items` an array and `count` an integer.
fn streamed_reply(op: &OaOperation, response: Option<&Schema>, types: &TypeSpace) -> Result<Option<StreamedReply>, String> {
    let Some(ext) = op.extensions.get("x-specmill-stream") else { return Ok(None) };
    let member = |key: &str| ext.get(key).map(|v| v.as_str().map(str::to_string).ok_or(format!("x-specmill-stream.{key} must be a string"))).transpose();
    let items = member("items")?.ok_or("x-specmill-stream needs `items`, the streamed array member")?;
    let count = member("count")?;
    let response = response.cloned().map(|r| resolve_ref(r, types)).transpose()?;
    let Some(crate::ir::Kind::Object(obj)) = response.map(|r| r.kind) else {
        return Err("x-specmill-stream needs a success reply that is an object".into());
    };
    let prop = |name: &str| obj.properties.iter().find(|p| p.name == name).map(|p| &p.schema.kind);
    if !matches!(prop(&items), Some(crate::ir::Kind::Array { .. })) {
        return Err(format!("x-specmill-stream.items `{items}` is not an array member of the reply"));
    }
    if let Some(count) = &count {
        if !matches!(prop(count), Some(crate::ir::Kind::Integer { .. })) {
            return Err(format!("x-specmill-stream.count `{count}` is not an integer member of the reply"));
        }
    }
    Ok(Some(StreamedReply { items, count }))
}
