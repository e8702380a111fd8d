//! ClearML service schemas: HOCON files as clearml-server ships them
//! (`apiserver/schema/services/*.conf`).
//!
//! A file is one service. `_description` documents it, `_definitions` holds JSON-Schema
//! definitions referenced as `#/definitions/<name>`, and every other top-level key is an
//! endpoint whose keys `"<major>.<minor>"` are its versions, each with `description`,
//! `request` (or `batch_request: {action, version}`) and `response`. The endpoint-group
//! keys `internal`, `allow_roles` and `authorize` are not endpoints.

use std::path::Path;

use serde_json::{Map, Value};

use super::jsonschema::{self, Dialect};
use super::LoadError;
use crate::ir::{Additional, Api, Body, HttpBinding, Kind, Operation, OperationVersion, Protocol, Schema, Service, TypeSpace, Version};

/// ClearML's server keeps event fields it does not know (the SDK adds `"method": "get"`
/// to every request), so objects keep unknown members unless a schema says otherwise.
const DIALECT: Dialect =
    Dialect { ref_prefix: "#/definitions/", default_additional: || Additional::Keep(Box::new(Schema::new(Kind::Any))) };

const GROUP_KEYS: &[&str] = &["internal", "allow_roles", "authorize"];

/// Load every service file (`*.conf` not starting with `_`) of one directory as one API.
pub fn load_dir(dir: &Path, rel: &str, name: &str) -> Result<Api, LoadError> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| LoadError::new(dir, e.to_string()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().and_then(|e| e.to_str()) == Some("conf"))
        .filter(|p| !p.file_name().map(|n| n.to_string_lossy().starts_with('_')).unwrap_or(true))
        .collect();
    files.sort();
    let mut api = Api {
        name: name.to_string(),
        title: "ClearML".into(),
        description: String::new(),
        protocol: Protocol::ClearMl,
        source: rel.to_string(),
        mounts: vec![String::new()],
        signing_name: None,
        services: Vec::new(),
        types: TypeSpace::default(),
    };
    for file in files {
        let text = std::fs::read_to_string(&file).map_err(|e| LoadError::new(&file, e.to_string()))?;
        let service_name = file.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        let (service, types) = load_service(&text, &service_name).map_err(|e| LoadError::new(&file, e))?;
        for (k, v) in types.named {
            if api.types.named.insert(k.clone(), v).is_some() {
                return Err(LoadError::new(&file, format!("definition `{k}` is defined by two services")));
            }
        }
        api.services.push(service);
    }
    api.description = api.services.iter().map(|s| format!("{}: {}", s.name, s.description)).collect::<Vec<_>>().join("\n");
    Ok(api)
}

/// Every `{`/`[` closed by its own kind, checked on the HOCON lexer's tokens (so braces in
/// strings and comments do not count). The parser itself forgives a missing closing brace
/// at the end of a file, which would silently drop what the file meant to say.
fn check_brackets(text: &str) -> Result<(), String> {
    use hocon::TokenKind::*;
    let tokens = hocon::tokenize(text).map_err(|e| format!("HOCON: {e}"))?;
    let mut open: Vec<(char, usize)> = Vec::new();
    for t in tokens {
        let (closing, opening) = match t.kind {
            LBrace => {
                open.push(('{', t.line));
                continue;
            }
            LBracket => {
                open.push(('[', t.line));
                continue;
            }
            RBrace => ('}', '{'),
            RBracket => (']', '['),
            _ => continue,
        };
        match open.pop() {
            Some((o, _)) if o == opening => {}
            Some((o, line)) => return Err(format!("HOCON: line {}: `{closing}` closes the `{o}` opened at line {line}", t.line)),
            None => return Err(format!("HOCON: line {}: `{closing}` closes nothing", t.line)),
        }
    }
    match open.pop() {
        Some((o, line)) => Err(format!("HOCON: line {line}: `{o}` is never closed")),
        None => Ok(()),
    }
}

/// Parse one service file's text.
pub fn load_service(text: &str, service: &str) -> Result<(Service, TypeSpace), String> {
    check_brackets(text)?;
    let cfg = hocon::parse(text).map_err(|e| format!("HOCON: {e}"))?;
    let root: Value = cfg.deserialize().map_err(|e| format!("HOCON: {e}"))?;
    let root = root.as_object().ok_or("the service schema must be an object")?;

    let mut types = TypeSpace::default();
    if let Some(defs) = root.get("_definitions") {
        let defs = defs.as_object().ok_or("_definitions must be an object")?;
        for (name, def) in defs {
            types.named.insert(name.clone(), jsonschema::convert(def, &DIALECT, &format!("_definitions.{name}"))?);
        }
    }

    let mut operations = Vec::new();
    for (endpoint, body) in root {
        if endpoint.starts_with('_') || GROUP_KEYS.contains(&endpoint.as_str()) {
            continue;
        }
        let versions_obj = body.as_object().ok_or_else(|| format!("{endpoint}: an endpoint must be an object"))?;
        let mut versions = Vec::new();
        let mut description = String::new();
        // `authorize: false` on the endpoint (or in the service's `_default`) opens it to
        // callers without credentials (auth.login).
        let authorize = versions_obj
            .get("authorize")
            .or_else(|| root.get("_default").and_then(|d| d.get("authorize")))
            .map(|a| a.as_bool().ok_or_else(|| format!("{endpoint}: `authorize` must be true or false")))
            .transpose()?
            .unwrap_or(true);
        for (key, def) in versions_obj {
            if GROUP_KEYS.contains(&key.as_str()) || key.starts_with('_') {
                continue;
            }
            let version = Version::parse(key).ok_or_else(|| format!("{endpoint}: `{key}` is not a version"))?;
            let def = def.as_object().ok_or_else(|| format!("{endpoint}.{key}: a version must be an object"))?;
            let mut v = load_version(service, endpoint, version, def)?;
            v.authorize = authorize;
            description = v.description.clone();
            versions.push(v);
        }
        if versions.is_empty() {
            return Err(format!("{endpoint}: no versions"));
        }
        versions.sort_by_key(|v| v.version);
        operations.push(Operation { name: endpoint.clone(), description, versions });
    }
    let description = root.get("_description").and_then(Value::as_str).unwrap_or("").trim().to_string();
    Ok((Service { name: service.to_string(), description, operations }, types))
}

fn load_version(service: &str, endpoint: &str, version: Version, def: &Map<String, Value>) -> Result<OperationVersion, String> {
    let at = format!("{endpoint}.\"{version}\"");
    let description = def.get("description").and_then(Value::as_str).unwrap_or("").trim().to_string();
    let body = if let Some(batch) = def.get("batch_request") {
        let action = batch.get("action").and_then(Value::as_str).ok_or_else(|| format!("{at}.batch_request: action missing"))?;
        let version = match batch.get("version") {
            Some(Value::Number(n)) => Version::parse(&n.to_string()),
            Some(Value::String(s)) => Version::parse(s),
            _ => None,
        };
        Body::JsonLines { operation: action.to_string(), version }
    } else {
        let schema = match def.get("request") {
            Some(r) => jsonschema::convert(r, &DIALECT, &format!("{at}.request"))?,
            None => Schema::new(Kind::Map(Box::new(Schema::new(Kind::Any)))),
        };
        Body::Json { schema, required: false }
    };
    let response = def.get("response").map(|r| jsonschema::convert(r, &DIALECT, &format!("{at}.response"))).transpose()?;
    // clearml-server sends a reply typed `string` as it is (download_task_log), not in the envelope.
    let raw_response = matches!(response, Some(Schema { kind: Kind::String { .. }, .. }));
    Ok(OperationVersion {
        version: Some(version),
        description,
        http: HttpBinding { method: None, path: format!("/{service}.{endpoint}") },
        params: Vec::new(),
        body,
        response,
        raw_response,
        streamed: None,
        authorize: true,
        errors: Vec::new(),
    })
}
