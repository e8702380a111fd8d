//! OpenAPI 3.0 documents, read from the document as it is (a `serde_json::Value`, so no
//! member a typed model drops is lost: `const`, non-string `enum`s, extensions).
//!
//! - The document's `servers` URLs give the mount prefixes (their paths, variables at their
//!   defaults); `paths` are relative to them.
//! - `$ref`s: to `#/components/{schemas,parameters,requestBodies,responses}`, to path items,
//!   and to other files relative to the document (`common.yaml#/components/schemas/X`, or
//!   a whole file), whose schemas join the API's named schemas (a clashing name gets a
//!   numeric suffix, in document order).
//! - An operation without an `operationId` is named after its method and path.
//! - Bodies: `multipart/form-data` parts become form parameters; otherwise `application/json`
//!   (or another `…+json`/`…/json` type); other media types are skipped with a warning.
//!   Several 2xx replies make a reply enum ([`Kind::Replies`]).
//! - What cannot be served (cookie parameters, unknown media types, a non-string `enum`) is a
//!   warning, not an error, when the rest of the document still can be.
//!
//! `x-specmill-api` names the API family (and so its native error format); without it the
//! file stem names the API and its errors are RFC 9457 problem details.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::jsonschema::{self, Dialect};
use super::LoadError;
use crate::ir::{
    Additional, Api, Body, ErrorReply, HttpBinding, Kind, Operation, OperationVersion, Param, ParamLocation, Protocol, Reply, Schema, Service,
    StreamedReply, TypeSpace,
};

/// OpenAPI objects drop members they do not name unless `additionalProperties` says otherwise.
const DIALECT: Dialect = Dialect { ref_prefix: "#/components/schemas/", default_additional: || Additional::Ignore };

const METHODS: [&str; 8] = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

pub fn load_file(file: &Path, rel: &str) -> Result<Api, LoadError> {
    load_file_reporting(file, rel, &mut Vec::new())
}

/// [`load_file`], adding what was skipped to `warnings` (each line names the file).
pub fn load_file_reporting(file: &Path, rel: &str, warnings: &mut Vec<String>) -> Result<Api, LoadError> {
    let text = std::fs::read_to_string(file).map_err(|e| LoadError::new(file, e.to_string()))?;
    let stem = file.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    load_str_reporting(&text, rel, &stem, file.parent(), warnings).map_err(|e| LoadError::new(file, e))
}

pub fn load_str(text: &str, rel: &str, stem: &str) -> Result<Api, String> {
    load_str_reporting(text, rel, stem, None, &mut Vec::new())
}

/// [`load_str`] for a document in directory `base` (where references to other files are
/// read; `None`: such references are errors), adding what was skipped to `warnings`.
pub fn load_str_reporting(text: &str, rel: &str, stem: &str, base: Option<&Path>, warnings: &mut Vec<String>) -> Result<Api, String> {
    let mut raw = parse(text)?;
    let version = raw.get("openapi").and_then(Value::as_str).ok_or("not an OpenAPI 3.0 document: `openapi` is missing")?;
    if !version.starts_with("3.0") {
        return Err(format!("OpenAPI version {version} is not supported (3.0.x)"));
    }
    let mut found = Vec::new();
    Bundler { base: base.map(Path::to_path_buf), files: BTreeMap::new(), names: BTreeMap::new(), added: Vec::new(), taken: BTreeSet::new() }
        .bundle(&mut raw)?;
    let family = raw.get("x-specmill-api").and_then(Value::as_str).map(str::to_string);
    // The file stem names the API (and its module): letters, digits and `_` only.
    let name = family.clone().unwrap_or_else(|| stem.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect());
    let info = raw.get("info").cloned().unwrap_or_default();

    let mut types = TypeSpace::default();
    if let Some(schemas) = raw.pointer("/components/schemas").and_then(Value::as_object) {
        for (n, s) in schemas {
            types.named.insert(n.clone(), jsonschema::convert_lenient(s, &DIALECT, &format!("components.schemas.{n}"), &raw, &mut found)?);
        }
    }
    let mounts = mounts(&raw, &mut found)?;

    let mut operations = Vec::new();
    let mut derived = BTreeSet::new();
    if let Some(paths) = raw.get("paths").and_then(Value::as_object) {
        for (path, item) in paths {
            let item = deref(&raw, item).map_err(|e| format!("{path}: {e}"))?;
            for method in METHODS {
                let Some(op) = item.get(method) else { continue };
                let at = format!("{} {path}", method.to_uppercase());
                let mut params: Vec<Value> = Vec::new();
                // Parameters of the path item, then of the operation (which override the
                // item's of the same name and place), `$ref`s resolved.
                for p in item.get("parameters").and_then(Value::as_array).into_iter().flatten().chain(op.get("parameters").and_then(Value::as_array).into_iter().flatten()) {
                    let p = deref_param(&raw, p).map_err(|e| format!("{at}: {e}"))?.clone();
                    let key = |v: &Value| (v.get("name").cloned(), v.get("in").cloned());
                    match params.iter().position(|q| key(q) == key(&p)) {
                        Some(i) => params[i] = p,
                        None => params.push(p),
                    }
                }
                let mut ctx = OpCtx { raw: &raw, types: &types, warnings: &mut found, at: &at };
                let mut operation = ctx.operation(path, method, op, &params).map_err(|e| format!("{at}: {e}"))?;
                if op.get("operationId").and_then(Value::as_str).is_none() {
                    let mut n = operation.name.clone();
                    let mut i = 2;
                    while derived.contains(&n) || operations.iter().any(|o: &Operation| o.name == n) {
                        n = format!("{}_{i}", operation.name);
                        i += 1;
                    }
                    operation.name = n.clone();
                    derived.insert(n);
                }
                operations.push(operation);
            }
        }
    }
    let mut seen = BTreeSet::new();
    for op in &operations {
        if !seen.insert(op.name.clone()) {
            return Err(format!("operationId `{}` is used twice", op.name));
        }
    }
    warnings.extend(found.into_iter().map(|w| format!("{rel}: {w}")));
    let text = |v: Option<&Value>| v.and_then(Value::as_str).unwrap_or_default().trim().to_string();
    Ok(Api {
        name: name.clone(),
        title: info.get("title").and_then(Value::as_str).unwrap_or_default().to_string(),
        description: text(info.get("description")),
        protocol: Protocol::OpenApi,
        native: family.unwrap_or_else(|| "problem".into()),
        source: rel.to_string(),
        mounts,
        signing_name: None,
        services: vec![Service { name, description: String::new(), operations }],
        types,
    })
}

/// YAML (or JSON) into a JSON value; YAML keys that are not strings (`200:`) become strings.
fn parse(text: &str) -> Result<Value, String> {
    let yaml: serde_yaml::Value = serde_yaml::from_str(text).map_err(|e| match e.location() {
        Some(l) => format!("line {}: {e}", l.line()),
        None => e.to_string(),
    })?;
    Ok(yaml_to_json(yaml))
}

fn yaml_to_json(v: serde_yaml::Value) -> Value {
    use serde_yaml::Value as Y;
    match v {
        Y::Null => Value::Null,
        Y::Bool(b) => Value::Bool(b),
        Y::Number(n) => serde_json::to_value(&n).unwrap_or(Value::Null),
        Y::String(s) => Value::String(s),
        Y::Sequence(items) => Value::Array(items.into_iter().map(yaml_to_json).collect()),
        Y::Mapping(m) => Value::Object(
            m.into_iter()
                .map(|(k, v)| {
                    let key = match k {
                        Y::String(s) => s,
                        Y::Bool(b) => b.to_string(),
                        Y::Number(n) => n.to_string(),
                        other => serde_yaml::to_string(&other).unwrap_or_default().trim().to_string(),
                    };
                    (key, yaml_to_json(v))
                })
                .collect(),
        ),
        Y::Tagged(t) => yaml_to_json(t.value),
    }
}

/// The mount prefixes: the path of each server URL (`https://host/api` → `/api`), its
/// variables at their defaults.
fn mounts(raw: &Value, warnings: &mut Vec<String>) -> Result<Vec<String>, String> {
    let mut mounts: Vec<String> = Vec::new();
    for s in raw.get("servers").and_then(Value::as_array).into_iter().flatten() {
        let mut url = s.get("url").and_then(Value::as_str).unwrap_or_default().to_string();
        for (var, def) in s.get("variables").and_then(Value::as_object).into_iter().flatten() {
            url = url.replace(&format!("{{{var}}}"), def.get("default").and_then(Value::as_str).unwrap_or_default());
        }
        if let Some((_, rest)) = url.split_once("://") {
            url = rest.find('/').map(|i| rest[i..].to_string()).unwrap_or_default();
        }
        let mut url = url.split(['?', '#']).next().unwrap_or_default().trim_end_matches('/').to_string();
        if !url.is_empty() && !url.starts_with('/') {
            url.insert(0, '/');
        }
        if url.contains(['{', '}']) {
            warnings.push(format!("server url `{url}` has a variable without a default; mounted at the root"));
            url.clear();
        }
        if !mounts.contains(&url) {
            mounts.push(url);
        }
    }
    if mounts.is_empty() {
        mounts.push(String::new());
    }
    Ok(mounts)
}

/// `v`, or what its local `$ref` chain points at.
fn deref<'v>(raw: &'v Value, mut v: &'v Value) -> Result<&'v Value, String> {
    for _ in 0..32 {
        let Some(r) = v.get("$ref").and_then(Value::as_str) else { return Ok(v) };
        v = r.strip_prefix('#').and_then(|p| raw.pointer(p)).ok_or_else(|| format!("reference `{r}` does not resolve"))?;
    }
    Err("a reference chain is too long (a cycle?)".into())
}

/// A parameter, its reference resolved (`#/components/parameters/<name>`).
fn deref_param<'v>(raw: &'v Value, p: &'v Value) -> Result<&'v Value, String> {
    if let Some(r) = p.get("$ref").and_then(Value::as_str) {
        if let Some(name) = r.strip_prefix("#/components/parameters/") {
            if raw.pointer("/components/parameters").and_then(|ps| ps.get(name)).is_none() {
                return Err(format!("parameter `{name}` is not defined in components.parameters"));
            }
        }
    }
    deref(raw, p)
}

/// The media type of a `content` map that a JSON body or reply uses: `application/json`,
/// else another JSON type (`application/problem+json`, `text/json`).
fn json_media(content: &Map<String, Value>) -> Option<(&String, &Value)> {
    content.get_key_value("application/json").or_else(|| {
        content.iter().find(|(k, _)| {
            let base = k.split(';').next().unwrap_or_default().trim();
            base.ends_with("+json") || base.ends_with("/json") || base == "*/*"
        })
    })
}

struct OpCtx<'a> {
    raw: &'a Value,
    types: &'a TypeSpace,
    warnings: &'a mut Vec<String>,
    at: &'a str,
}

impl OpCtx<'_> {
    fn warn(&mut self, msg: impl std::fmt::Display) {
        self.warnings.push(format!("{}: {msg}", self.at));
    }

    fn schema(&mut self, v: &Value, at: &str) -> Result<Schema, String> {
        jsonschema::convert_lenient(v, &DIALECT, at, self.raw, self.warnings)
    }

    fn operation(&mut self, path: &str, method: &str, op: &Value, params: &[Value]) -> Result<Operation, String> {
        let name = match op.get("operationId").and_then(Value::as_str) {
            Some(id) => id.to_string(),
            None => {
                // `GET /pets/{id}` → `get_pets_id`
                let words: Vec<&str> = path.split(|c: char| !c.is_ascii_alphanumeric()).filter(|w| !w.is_empty()).collect();
                format!("{method}_{}", if words.is_empty() { "root".to_string() } else { words.join("_") })
            }
        };
        let text = |k: &str| op.get(k).and_then(Value::as_str).map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
        let description = [text("summary"), text("description")].into_iter().flatten().collect::<Vec<_>>().join("\n\n");
        let mut ir_params = Vec::new();
        for p in params {
            let pname = p.get("name").and_then(Value::as_str).ok_or("a parameter has no name")?.to_string();
            let location = match p.get("in").and_then(Value::as_str) {
                Some("path") => ParamLocation::Path,
                Some("query") => ParamLocation::Query,
                Some("header") => ParamLocation::Header,
                other => {
                    self.warn(format!("{} parameter `{pname}` is not supported; skipped", other.unwrap_or("unplaced")));
                    continue;
                }
            };
            let schema = match (p.get("schema"), p.get("content").and_then(Value::as_object)) {
                (Some(s), _) => self.schema(s, &format!("parameter {pname}"))?,
                (None, Some(content)) => match content.values().next().and_then(|m| m.get("schema")) {
                    Some(s) => self.schema(s, &format!("parameter {pname}"))?,
                    None => Schema::new(Kind::Any),
                },
                (None, None) => Schema::new(Kind::String { min_length: None, max_length: None, pattern: None, format: None }),
            };
            // A `format: binary` string is a file only as a form part; elsewhere it is text.
            let schema = match schema.kind {
                Kind::String { min_length, max_length, pattern, format: Some(f) } if f == "binary" => {
                    Schema { kind: Kind::String { min_length, max_length, pattern, format: None }, ..schema }
                }
                _ => schema,
            };
            let description = p.get("description").and_then(Value::as_str).unwrap_or_default().trim().to_string();
            let required = p.get("required").and_then(Value::as_bool).unwrap_or(false) || location == ParamLocation::Path;
            ir_params.push(Param { name: pname, location, required, description, schema });
        }
        for placeholder in path.split('{').skip(1).filter_map(|s| s.split('}').next()) {
            if !ir_params.iter().any(|p| p.location == ParamLocation::Path && p.name == placeholder) {
                return Err(format!("path parameter `{placeholder}` is not declared"));
            }
        }
        let body = match op.get("requestBody") {
            None => Body::None,
            Some(rb) => {
                let rb = deref(self.raw, rb)?;
                let required = rb.get("required").and_then(Value::as_bool).unwrap_or(false);
                let content = rb.get("content").and_then(Value::as_object).cloned().unwrap_or_default();
                if let Some(media) = content.get("multipart/form-data") {
                    // The parts of a form become parameters of their own, each typed by its
                    // property (a `format: binary` string is a file).
                    let schema = media.get("schema").ok_or("the form body has no schema")?;
                    let schema = resolve_ref(self.schema(schema, "requestBody")?, self.types)?;
                    let Kind::Object(obj) = schema.kind else {
                        return Err("a multipart/form-data body must be an object".into());
                    };
                    for p in obj.properties {
                        ir_params.push(Param { name: p.name, location: ParamLocation::Form, required: p.required, description: p.schema.description.clone(), schema: p.schema });
                    }
                    self.skipped(&content, "multipart/form-data", "request body");
                    Body::None
                } else if let Some((media, m)) = json_media(&content) {
                    self.skipped(&content, media, "request body");
                    let schema = match m.get("schema") {
                        Some(s) => self.schema(s, "requestBody")?,
                        None => Schema::new(Kind::Any),
                    };
                    Body::Json { schema, required }
                } else {
                    self.warn(format!("request body media types {:?} are not supported; the body is ignored", content.keys().collect::<Vec<_>>()));
                    Body::None
                }
            }
        };
        let mut successes: Vec<(u16, String, Option<Schema>, bool)> = Vec::new();
        let mut errors = Vec::new();
        let responses = op.get("responses").and_then(Value::as_object).cloned().unwrap_or_default();
        for (status, resp) in &responses {
            let code: u16 = match status.as_str() {
                "default" => {
                    self.warn("the `default` reply is not modelled");
                    continue;
                }
                s if s.len() == 3 && (s.ends_with("XX") || s.ends_with("xx")) => {
                    let code = s[..1].parse::<u16>().map_err(|_| format!("response status `{s}` is not a status"))? * 100;
                    self.warn(format!("reply range {s} is taken as {code}"));
                    code
                }
                s => s.parse().map_err(|_| format!("response status `{s}` is not a status"))?,
            };
            let resp = deref(self.raw, resp)?;
            let description = resp.get("description").and_then(Value::as_str).unwrap_or_default().trim().to_string();
            let content = resp.get("content").and_then(Value::as_object).cloned().unwrap_or_default();
            let (schema, raw) = match json_media(&content) {
                Some((media, m)) => {
                    if (200..300).contains(&code) {
                        self.skipped(&content, media, &format!("reply {code}"));
                    }
                    (m.get("schema").map(|s| self.schema(s, &format!("response {code}"))).transpose()?, false)
                }
                // A success that is not JSON (a file) is sent as it is.
                None => (None, !content.is_empty()),
            };
            if (200..300).contains(&code) {
                successes.push((code, description, schema, raw));
            } else {
                errors.push(ErrorReply { status: code, description, schema });
            }
        }
        let (response, raw_response) = match successes.len() {
            0 => (None, false),
            1 => {
                let (_, _, schema, raw) = successes.remove(0);
                (Some(schema.unwrap_or_default()), raw)
            }
            _ => {
                let mut replies = Vec::new();
                for (status, description, schema, raw) in successes {
                    if raw {
                        self.warn(format!("reply {status} is not JSON; it is sent without a body"));
                    }
                    replies.push(Reply { status, description, schema });
                }
                (Some(Schema::new(Kind::Replies(replies))), false)
            }
        };
        let streamed = streamed_reply(op, response.as_ref(), self.types)?;
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
                authorize: !matches!(op.get("security"), Some(Value::Array(reqs)) if reqs.is_empty()),
                errors,
            }],
        })
    }

    /// Warn about the media types of `content` other than the one used.
    fn skipped(&mut self, content: &Map<String, Value>, used: &str, what: &str) {
        let others: Vec<&String> = content.keys().filter(|k| *k != used).collect();
        if !others.is_empty() {
            self.warn(format!("{what}: media types {others:?} skipped (`{used}` is used)"));
        }
    }
}

/// A schema with a top-level `$ref` replaced by the named schema.
fn resolve_ref(schema: Schema, types: &TypeSpace) -> Result<Schema, String> {
    match &schema.kind {
        Kind::Ref(r) => types.named.get(r).cloned().ok_or_else(|| format!("schema `{r}` is not defined")),
        _ => Ok(schema),
    }
}

/// `x-specmill-stream: {items: <array member>, count: <integer member>}` on an operation:
/// its reply is streamed (see [`StreamedReply`]). Both members must be properties of the
/// success reply, `items` an array and `count` an integer.
fn streamed_reply(op: &Value, response: Option<&Schema>, types: &TypeSpace) -> Result<Option<StreamedReply>, String> {
    let Some(ext) = op.get("x-specmill-stream") else { return Ok(None) };
    let member = |key: &str| ext.get(key).map(|v| v.as_str().map(str::to_string).ok_or(format!("x-specmill-stream.{key} must be a string"))).transpose();
    let items = member("items")?.ok_or("x-specmill-stream needs `items`, the streamed array member")?;
    let count = member("count")?;
    let response = response.cloned().map(|r| resolve_ref(r, types)).transpose()?;
    let Some(Kind::Object(obj)) = response.map(|r| r.kind) else {
        return Err("x-specmill-stream needs a success reply that is an object".into());
    };
    let prop = |name: &str| obj.properties.iter().find(|p| p.name == name).map(|p| &p.schema.kind);
    if !matches!(prop(&items), Some(Kind::Array { .. })) {
        return Err(format!("x-specmill-stream.items `{items}` is not an array member of the reply"));
    }
    if let Some(count) = &count {
        if !matches!(prop(count), Some(Kind::Integer { .. })) {
            return Err(format!("x-specmill-stream.count `{count}` is not an integer member of the reply"));
        }
    }
    Ok(Some(StreamedReply { items, count }))
}

/// Brings references to other files into the document: a schema joins
/// `components.schemas` under its name (a clash gets `_2`, `_3`, … in document order),
/// anything else (a parameter, a path item, a reply) is copied in place.
struct Bundler {
    base: Option<PathBuf>,
    files: BTreeMap<PathBuf, Value>,
    /// (file, pointer) → the schema name it was given.
    names: BTreeMap<(PathBuf, String), String>,
    added: Vec<(String, Value)>,
    taken: BTreeSet<String>,
}

impl Bundler {
    fn bundle(mut self, raw: &mut Value) -> Result<(), String> {
        if let Some(s) = raw.pointer("/components/schemas").and_then(Value::as_object) {
            self.taken.extend(s.keys().cloned());
        }
        self.walk(raw, None, 0)?;
        if self.added.is_empty() {
            return Ok(());
        }
        let root = raw.as_object_mut().ok_or("the document is not an object")?;
        let components = root.entry("components").or_insert_with(|| Value::Object(Map::new()));
        let schemas = components.as_object_mut().ok_or("components is not an object")?.entry("schemas").or_insert_with(|| Value::Object(Map::new()));
        let schemas = schemas.as_object_mut().ok_or("components.schemas is not an object")?;
        for (name, s) in self.added {
            schemas.insert(name, s);
        }
        Ok(())
    }

    /// Rewrite the references under `v`, which sits in `file` (`None`: the document itself).
    fn walk(&mut self, v: &mut Value, file: Option<&Path>, depth: usize) -> Result<(), String> {
        match v {
            Value::Object(m) => {
                if let Some(r) = m.get("$ref").and_then(Value::as_str).map(str::to_string) {
                    let (f, frag) = r.split_once('#').unwrap_or((r.as_str(), ""));
                    let target = match (f.is_empty(), file) {
                        (true, None) => return Ok(()),
                        (true, Some(file)) => file.to_path_buf(),
                        (false, _) => {
                            let dir = match file {
                                Some(file) => file.parent().map(Path::to_path_buf),
                                None => self.base.clone(),
                            };
                            let dir = dir.ok_or_else(|| format!("reference `{r}` to another file, but the document has no directory"))?;
                            dir.join(f)
                        }
                    };
                    *v = self.import(&target, frag, depth)?;
                    return Ok(());
                }
                for (_, x) in m.iter_mut() {
                    self.walk(x, file, depth)?;
                }
            }
            Value::Array(items) => {
                for x in items {
                    self.walk(x, file, depth)?;
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn import(&mut self, file: &Path, frag: &str, depth: usize) -> Result<Value, String> {
        if depth > 32 {
            return Err(format!("references to other files nest too deep at {}#{frag}", file.display()));
        }
        if !self.files.contains_key(file) {
            let text = std::fs::read_to_string(file).map_err(|e| format!("{}: {e}", file.display()))?;
            let v = parse(&text).map_err(|e| format!("{}: {e}", file.display()))?;
            self.files.insert(file.to_path_buf(), v);
        }
        let target = self.files[file].pointer(frag).cloned().ok_or_else(|| format!("{}#{frag} does not resolve", file.display()))?;
        let named = frag.starts_with("/components/schemas/") || frag.starts_with("/definitions/") || (!frag.starts_with("/components/") && !frag.starts_with("/paths") && looks_like_schema(&target));
        if !named {
            let mut t = target;
            self.walk(&mut t, Some(file), depth + 1)?;
            return Ok(t);
        }
        let key = (file.to_path_buf(), frag.to_string());
        if let Some(n) = self.names.get(&key) {
            return Ok(serde_json::json!({ "$ref": format!("#/components/schemas/{n}") }));
        }
        let base = match frag.rsplit('/').next().filter(|s| !s.is_empty()) {
            Some(last) => last.replace("~1", "/").replace("~0", "~"),
            None => file.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "Schema".into()),
        };
        let mut name = base.clone();
        let mut i = 2;
        while self.taken.contains(&name) {
            name = format!("{base}_{i}");
            i += 1;
        }
        self.taken.insert(name.clone());
        self.names.insert(key, name.clone());
        let mut t = target;
        self.walk(&mut t, Some(file), depth + 1)?;
        self.added.push((name.clone(), t));
        Ok(serde_json::json!({ "$ref": format!("#/components/schemas/{name}") }))
    }
}

/// A value that reads as a schema rather than a parameter, reply or path item.
fn looks_like_schema(v: &Value) -> bool {
    let Some(m) = v.as_object() else { return false };
    let schema_keys = ["type", "properties", "allOf", "oneOf", "anyOf", "items", "enum", "additionalProperties", "format", "$ref"];
    let other_keys = ["in", "content", "get", "put", "post", "delete", "patch", "responses", "openapi"];
    schema_keys.iter().any(|k| m.contains_key(*k)) && !other_keys.iter().any(|k| m.contains_key(*k))
}
