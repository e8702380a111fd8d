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
///
/// Each service file is read the way clearml-server reads it with pyhocon: `include
/// "file.conf"` relative to the directory (files starting with `_` exist only to be
/// included), `${path}` substitutions and object concatenation (`"2.9": ${get_task_log."1.7"}
/// {…}`) resolved over the whole file with its includes, and backslashes before characters
/// that are not JSON escapes kept as they are (`"\>"` is the two characters `\>`). The hocon
/// parser reads included files itself, so it reads copies of the directory's files with
/// those backslashes doubled ([`keep_unknown_escapes`], which keeps every line where it was);
/// its errors name the original file and line.
pub fn load_dir(dir: &Path, rel: &str, name: &str) -> Result<Api, LoadError> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| LoadError::new(dir, e.to_string()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().and_then(|e| e.to_str()) == Some("conf"))
        .collect();
    files.sort();
    let copy = EscapedCopy::of(dir, &files)?;
    let mut api = Api {
        name: name.to_string(),
        title: "ClearML".into(),
        description: String::new(),
        protocol: Protocol::ClearMl,
        native: "clearml".into(),
        source: rel.to_string(),
        mounts: vec![String::new()],
        signing_name: None,
        services: Vec::new(),
        types: TypeSpace::default(),
    };
    for file in files.iter().filter(|p| !p.file_name().map(|n| n.to_string_lossy().starts_with('_')).unwrap_or(true)) {
        let service_name = file.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        let root = copy.parse(file)?;
        let (mut service, mut types) = load_root(&root, &service_name).map_err(|e| LoadError::new(file, e))?;
        // Definitions several services include (`_common.conf`) are one type; a name two
        // services define differently gets the service's name in front, in that service.
        let clashes: Vec<String> =
            types.named.iter().filter(|(k, v)| api.types.named.get(*k).is_some_and(|have| have != *v)).map(|(k, _)| k.clone()).collect();
        for k in clashes {
            rename_type(&mut service, &mut types, &k, &format!("{service_name}_{k}"));
        }
        api.types.named.extend(types.named);
        api.services.push(service);
    }
    api.description = api.services.iter().map(|s| format!("{}: {}", s.name, s.description)).collect::<Vec<_>>().join("\n");
    Ok(api)
}

/// The `.conf` files of a spec directory copied into a temporary directory with unknown
/// escapes kept ([`keep_unknown_escapes`]), for the hocon parser to read with their includes.
struct EscapedCopy {
    original: std::path::PathBuf,
    dir: tempfile::TempDir,
}

impl EscapedCopy {
    fn of(dir: &Path, files: &[std::path::PathBuf]) -> Result<EscapedCopy, LoadError> {
        let tmp = tempfile::Builder::new().prefix("specmill-hocon-").tempdir().map_err(|e| LoadError::new(dir, format!("temporary directory: {e}")))?;
        for f in files {
            let text = std::fs::read_to_string(f).map_err(|e| LoadError::new(f, e.to_string()))?;
            let text = keep_unknown_escapes(&text);
            check_brackets(&text).map_err(|e| LoadError::new(f, e))?;
            let to = tmp.path().join(f.file_name().unwrap_or_default());
            std::fs::write(&to, text).map_err(|e| LoadError::new(&to, e.to_string()))?;
        }
        Ok(EscapedCopy { original: dir.to_path_buf(), dir: tmp })
    }

    /// One file with its includes and substitutions resolved, as JSON.
    fn parse(&self, file: &Path) -> Result<Value, LoadError> {
        let copy = self.dir.path().join(file.file_name().unwrap_or_default());
        // no environment: a spec means the same on every machine
        let cfg = hocon::parse_file_with_env(&copy, &Default::default()).map_err(|e| self.error(file, &e.to_string()))?;
        cfg.deserialize().map_err(|e| self.error(file, &format!("HOCON: {e}")))
    }

    /// A parser error naming the original file (the one it is about, when it is an include) and line.
    fn error(&self, file: &Path, message: &str) -> LoadError {
        let tmp = self.dir.path().to_string_lossy().into_owned();
        let message = message.replace(&tmp, &self.original.to_string_lossy());
        // "ResolveError at 3:5: message (path: /dir/_common.conf)"
        let re = regex::Regex::new(r"^(?:Parse|Resolve)Error at (\d+):(\d+): (.*?)(?: \(path: (.*)\))?$").expect("pattern");
        match re.captures(&message) {
            Some(c) => {
                // `path` is the file an error is in (an include) or the key path a substitution is at
                let in_file = c.get(4).map(|p| std::path::PathBuf::from(p.as_str())).filter(|p| p.is_file());
                let line = &c[1];
                let what = c.get(4).filter(|_| in_file.is_none()).map(|p| format!(" (at `{}`)", p.as_str())).unwrap_or_default();
                let at = in_file.unwrap_or_else(|| file.to_path_buf());
                LoadError::new(at, format!("HOCON: line {line}: {}{what}", &c[3]))
            }
            None => LoadError::new(file, format!("HOCON: {message}")),
        }
    }
}

/// `text` with every backslash in a quoted string that does not start a JSON escape
/// (`\"`, `\\`, `\/`, `\b`, `\f`, `\n`, `\r`, `\t`, `\u`) doubled, so that it reads as the
/// backslash it is, as pyhocon reads it. Comments, `"""` strings and unquoted text are
/// left alone; no line moves.
pub fn keep_unknown_escapes(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        out.push(c);
        match c {
            '"' if text[i..].starts_with("\"\"\"") => {
                // a `"""` string: everything to the closing `"""` as it is
                out.push_str("\"\"");
                chars.next();
                chars.next();
                let rest = &text[i + 3..];
                let end = rest.find("\"\"\"").map(|e| e + 3).unwrap_or(rest.len());
                out.push_str(&rest[..end]);
                while chars.peek().is_some_and(|(j, _)| *j < i + 3 + end) {
                    chars.next();
                }
            }
            '"' => {
                while let Some((_, c)) = chars.next() {
                    match c {
                        '\\' => match chars.peek() {
                            Some((_, n)) if matches!(n, '"' | '\\' | '/' | 'b' | 'f' | 'n' | 'r' | 't' | 'u') => {
                                out.push('\\');
                                out.push(*n);
                                chars.next();
                            }
                            _ => out.push_str("\\\\"),
                        },
                        '"' => {
                            out.push('"');
                            break;
                        }
                        '\n' => {
                            // an unterminated string: the parser reports it
                            out.push('\n');
                            break;
                        }
                        c => out.push(c),
                    }
                }
            }
            '#' => copy_to_line_end(&mut out, &mut chars),
            '/' if chars.peek().is_some_and(|(_, n)| *n == '/') => copy_to_line_end(&mut out, &mut chars),
            _ => {}
        }
    }
    out
}

fn copy_to_line_end(out: &mut String, chars: &mut std::iter::Peekable<std::str::CharIndices<'_>>) {
    while let Some((_, c)) = chars.peek() {
        if *c == '\n' {
            break;
        }
        out.push(*c);
        chars.next();
    }
}

/// Rename the named type `from` to `to` in one service's types and everything referring to it.
fn rename_type(service: &mut Service, types: &mut TypeSpace, from: &str, to: &str) {
    if let Some(schema) = types.named.remove(from) {
        types.named.insert(to.to_string(), schema);
    }
    for schema in types.named.values_mut() {
        rename_refs(schema, from, to);
    }
    for v in service.operations.iter_mut().flat_map(|o| o.versions.iter_mut()) {
        if let Body::Json { schema, .. } = &mut v.body {
            rename_refs(schema, from, to);
        }
        if let Some(r) = &mut v.response {
            rename_refs(r, from, to);
        }
    }
}

fn rename_refs(schema: &mut Schema, from: &str, to: &str) {
    match &mut schema.kind {
        Kind::Ref(r) if r == from => *r = to.to_string(),
        Kind::Array { items, .. } => rename_refs(items, from, to),
        Kind::Map(v) => rename_refs(v, from, to),
        Kind::Union { variants, .. } => variants.iter_mut().for_each(|v| rename_refs(v, from, to)),
        Kind::Object(o) => {
            o.properties.iter_mut().for_each(|p| rename_refs(&mut p.schema, from, to));
            if let Additional::Keep(s) = &mut o.additional {
                rename_refs(s, from, to);
            }
        }
        _ => {}
    }
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

/// Parse one service file's text (no includes: see [`load_dir`]).
pub fn load_service(text: &str, service: &str) -> Result<(Service, TypeSpace), String> {
    let text = keep_unknown_escapes(text);
    check_brackets(&text)?;
    let cfg = hocon::parse_with_env(&text, &Default::default()).map_err(|e| format!("HOCON: {e}"))?;
    let root: Value = cfg.deserialize().map_err(|e| format!("HOCON: {e}"))?;
    load_root(&root, service)
}

/// One service from its resolved document.
fn load_root(root: &Value, service: &str) -> Result<(Service, TypeSpace), String> {
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

/// Properties (issue 10): a well-formed service file, written in any of HOCON's forms
/// (root braces or none, `:`/`=`/nothing before an object, commas or newlines, comments,
/// quoted or bare keys, path expressions), loads as exactly the endpoints, versions and
/// fields it was written with; text that is not one is refused, never a panic.
#[cfg(test)]
mod props {
    use super::*;
    use crate::ir::Property;
    use proptest::prelude::*;

    #[derive(Debug, Clone)]
    enum Ty {
        String { min_length: Option<u64> },
        Integer { minimum: Option<i64>, int32: bool },
        Number,
        Boolean,
        Strings,
        Enum(Vec<String>),
        Ref(usize),
    }

    #[derive(Debug, Clone)]
    struct Field {
        name: String,
        ty: Ty,
        required: bool,
        description: String,
    }

    #[derive(Debug, Clone)]
    enum Body {
        Request(Vec<Field>),
        Batch { action: String, version: Version },
    }

    #[derive(Debug, Clone)]
    struct GenVersion {
        version: Version,
        description: String,
        body: Body,
        response: bool,
    }

    #[derive(Debug, Clone)]
    struct Endpoint {
        name: String,
        authorize: Option<bool>,
        internal: bool,
        versions: Vec<GenVersion>,
    }

    #[derive(Debug, Clone)]
    struct Doc {
        description: String,
        definitions: Vec<(String, Vec<Field>)>,
        endpoints: Vec<Endpoint>,
    }

    /// How the text is laid out.
    #[derive(Debug, Clone)]
    struct Style {
        root_braces: bool,
        /// Before an object: "", ":" or "=".
        open: &'static str,
        /// Before a value: ":" or "=".
        assign: &'static str,
        /// Between members: "\n" or ", ".
        sep: &'static str,
        comments: bool,
        quote_keys: bool,
        triple_quoted: bool,
        /// 0: nested objects; 1: `endpoint."1.5" { … }`; 2: every leaf as a full path.
        paths: u8,
    }

    const RESERVED: &[&str] = &["internal", "allow_roles", "authorize", "include", "true", "false", "null", "yes", "no", "on", "off"];

    fn name() -> impl Strategy<Value = String> {
        "[a-z][a-z0-9_]{0,8}".prop_filter("not a group key or HOCON word", |n| !RESERVED.contains(&n.as_str()))
    }

    fn version() -> impl Strategy<Value = Version> {
        (1..4u32, 0..30u32).prop_map(|(major, minor)| Version { major, minor })
    }

    /// Text a description may hold (`"""` strings take no escapes, so no quotes there).
    fn text() -> impl Strategy<Value = String> {
        "[^\"\\p{Cc}]{0,16}|[a-z ]{0,10}"
    }

    fn ty(definitions: usize) -> impl Strategy<Value = Ty> {
        let mut choices: Vec<BoxedStrategy<Ty>> = vec![
            prop::option::of(0..100u64).prop_map(|min_length| Ty::String { min_length }).boxed(),
            (prop::option::of(any::<i32>().prop_map(i64::from)), any::<bool>()).prop_map(|(minimum, int32)| Ty::Integer { minimum, int32 }).boxed(),
            Just(Ty::Number).boxed(),
            Just(Ty::Boolean).boxed(),
            Just(Ty::Strings).boxed(),
            prop::collection::vec("[^\"\\\\\\p{Cc}]{0,6}", 1..4).prop_map(Ty::Enum).boxed(),
        ];
        if definitions > 0 {
            choices.push((0..definitions).prop_map(Ty::Ref).boxed());
        }
        prop::strategy::Union::new(choices)
    }

    fn fields(definitions: usize) -> impl Strategy<Value = Vec<Field>> {
        prop::collection::btree_map(name(), (ty(definitions), any::<bool>(), text()), 0..4)
            .prop_map(|m| m.into_iter().map(|(name, (ty, required, description))| Field { name, ty, required, description }).collect())
            .prop_shuffle()
    }

    fn doc() -> impl Strategy<Value = Doc> {
        (0..3usize).prop_flat_map(|ndefs| {
            let defs = prop::collection::btree_map(name(), fields(0), ndefs..=ndefs).prop_map(|m| m.into_iter().collect::<Vec<_>>());
            let body = prop_oneof![
                3 => fields(ndefs).prop_map(Body::Request),
                1 => (name(), version()).prop_map(|(action, version)| Body::Batch { action, version }),
            ];
            let versions = prop::collection::btree_map(version(), (text(), body, any::<bool>()), 1..3)
                .prop_map(|m| m.into_iter().map(|(version, (description, body, response))| GenVersion { version, description, body, response }).collect::<Vec<_>>())
                .prop_shuffle();
            let endpoints = prop::collection::btree_map(name(), (prop::option::of(any::<bool>()), any::<bool>(), versions), 1..4)
                .prop_map(|m| m.into_iter().map(|(name, (authorize, internal, versions))| Endpoint { name, authorize, internal, versions }).collect::<Vec<_>>())
                .prop_shuffle();
            (text(), defs, endpoints).prop_map(|(description, definitions, endpoints)| Doc { description, definitions, endpoints })
        })
    }

    fn style() -> impl Strategy<Value = Style> {
        (
            any::<bool>(),
            prop::sample::select(vec!["", ":", "="]),
            prop::sample::select(vec![":", "="]),
            prop::sample::select(vec!["\n", ", "]),
            any::<bool>(),
            any::<bool>(),
            any::<bool>(),
            0..3u8,
        )
            .prop_map(|(root_braces, open, assign, sep, comments, quote_keys, triple_quoted, paths)| Style {
                root_braces,
                open,
                assign,
                sep,
                comments,
                quote_keys,
                triple_quoted,
                paths,
            })
    }

    /// A HOCON value tree, written out in a [`Style`].
    enum Node {
        Obj(Vec<(String, Node)>),
        /// Already HOCON text.
        Raw(String),
    }

    fn quoted(s: &str) -> String {
        serde_json::to_string(s).unwrap()
    }

    fn obj(members: Vec<(&str, Node)>) -> Node {
        Node::Obj(members.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
    }

    fn raw(s: impl Into<String>) -> Node {
        Node::Raw(s.into())
    }

    fn schema_node(f: &Field, defs: &[(String, Vec<Field>)], st: &Style) -> Node {
        let mut m: Vec<(&str, Node)> = Vec::new();
        match &f.ty {
            Ty::String { min_length } => {
                m.push(("type", raw("string")));
                if let Some(n) = min_length {
                    m.push(("minLength", raw(n.to_string())));
                }
            }
            Ty::Integer { minimum, int32 } => {
                m.push(("type", raw("integer")));
                if let Some(n) = minimum {
                    m.push(("minimum", raw(n.to_string())));
                }
                if *int32 {
                    m.push(("format", raw("int32")));
                }
            }
            Ty::Number => m.push(("type", raw("number"))),
            Ty::Boolean => m.push(("type", raw("boolean"))),
            Ty::Strings => {
                m.push(("type", raw("array")));
                m.push(("items", obj(vec![("type", raw("string"))])));
            }
            Ty::Enum(values) => m.push(("enum", raw(format!("[{}]", values.iter().map(|v| quoted(v)).collect::<Vec<_>>().join(", "))))),
            Ty::Ref(i) => m.push(("\"$ref\"", raw(quoted(&format!("#/definitions/{}", defs[*i].0))))),
        }
        if !f.description.is_empty() {
            m.push(("description", description(&f.description, st)));
        }
        obj(m)
    }

    fn description(s: &str, st: &Style) -> Node {
        if st.triple_quoted {
            raw(format!("\"\"\"{s}\"\"\""))
        } else {
            raw(quoted(s))
        }
    }

    fn object_node(fields: &[Field], defs: &[(String, Vec<Field>)], st: &Style) -> Node {
        let required: Vec<String> = fields.iter().filter(|f| f.required).map(|f| f.name.clone()).collect();
        let mut m = vec![("type", raw("object"))];
        if !required.is_empty() {
            m.push(("required", raw(format!("[{}]", required.join(", ")))));
        }
        m.push(("properties", Node::Obj(fields.iter().map(|f| (f.name.clone(), schema_node(f, defs, st))).collect())));
        obj(m)
    }

    fn key(k: &str, st: &Style) -> String {
        if k.starts_with('"') {
            k.to_string()
        } else if Version::parse(k).is_some() || st.quote_keys {
            quoted(k)
        } else {
            k.to_string()
        }
    }

    fn doc_node(d: &Doc, st: &Style) -> Node {
        let mut root: Vec<(String, Node)> = Vec::new();
        if !d.description.is_empty() {
            root.push(("_description".into(), description(&d.description, st)));
        }
        if !d.definitions.is_empty() {
            root.push(("_definitions".into(), Node::Obj(d.definitions.iter().map(|(n, f)| (n.clone(), object_node(f, &d.definitions, st))).collect())));
        }
        for e in &d.endpoints {
            let mut members: Vec<(String, Node)> = Vec::new();
            if let Some(a) = e.authorize {
                members.push(("authorize".into(), raw(a.to_string())));
            }
            if e.internal {
                members.push(("internal".into(), raw("false")));
                members.push(("allow_roles".into(), raw("[\"*\"]")));
            }
            for v in &e.versions {
                let mut m: Vec<(&str, Node)> = Vec::new();
                if !v.description.is_empty() {
                    m.push(("description", description(&v.description, st)));
                }
                match &v.body {
                    Body::Request(fields) => m.push(("request", object_node(fields, &d.definitions, st))),
                    Body::Batch { action, version } => {
                        // a number unless HOCON would read it as another one (2.10 is 2.1)
                        let version = if version.minor % 10 != 0 { version.to_string() } else { quoted(&version.to_string()) };
                        m.push(("batch_request", obj(vec![("action", raw(quoted(action))), ("version", raw(version))])));
                    }
                }
                if v.response {
                    m.push(("response", obj(vec![("type", raw("object")), ("properties", obj(vec![("ok", obj(vec![("type", raw("boolean"))]))]))])));
                }
                members.push((v.version.to_string(), obj(m)));
            }
            root.push((e.name.clone(), Node::Obj(members)));
        }
        Node::Obj(root)
    }

    /// Writes the members of an object; `prefix` is the path above them (path styles).
    fn write_members(out: &mut String, members: &[(String, Node)], prefix: &str, depth: usize, st: &Style) {
        for (i, (k, v)) in members.iter().enumerate() {
            let path = if prefix.is_empty() { key(k, st) } else { format!("{prefix}.{}", key(k, st)) };
            if st.comments && i == 0 {
                out.push_str(if depth % 2 == 0 { "# a comment { [\n" } else { "// another } ]\n" });
            }
            match v {
                Node::Raw(text) => {
                    out.push_str(&path);
                    out.push_str(st.assign);
                    out.push(' ');
                    out.push_str(text);
                }
                // path styles: keep going down the path instead of opening an object
                Node::Obj(inner) if !inner.is_empty() && (st.paths == 2 || (st.paths == 1 && depth == 0)) => {
                    write_members(out, inner, &path, depth + 1, st);
                    continue;
                }
                Node::Obj(inner) => {
                    out.push_str(&path);
                    out.push_str(st.open);
                    out.push_str(" {\n");
                    write_members(out, inner, "", depth + 1, st);
                    out.push_str("\n}");
                }
            }
            out.push_str(st.sep);
        }
    }

    fn render(d: &Doc, st: &Style) -> String {
        let Node::Obj(members) = doc_node(d, st) else { unreachable!() };
        let mut out = String::new();
        write_members(&mut out, &members, "", 0, st);
        if st.root_braces {
            format!("{{\n{out}\n}}\n")
        } else {
            out
        }
    }

    fn check_field(p: &Property, f: &Field, defs: &[(String, Vec<Field>)]) -> Result<(), TestCaseError> {
        prop_assert_eq!(&p.name, &f.name);
        prop_assert_eq!(p.required, f.required, "{}", f.name);
        prop_assert_eq!(&p.schema.description, f.description.trim());
        let ok = match (&f.ty, &p.schema.kind) {
            (Ty::String { min_length }, Kind::String { min_length: got, .. }) => got == min_length,
            (Ty::Integer { minimum, int32 }, Kind::Integer { minimum: got, bits, .. }) => got == minimum && bits == if *int32 { &32 } else { &64 },
            (Ty::Number, Kind::Number { .. }) | (Ty::Boolean, Kind::Boolean) => true,
            (Ty::Strings, Kind::Array { items, .. }) => matches!(items.kind, Kind::String { .. }),
            (Ty::Enum(values), Kind::Enum(got)) => values == got,
            (Ty::Ref(i), Kind::Ref(got)) => got == &defs[*i].0,
            _ => false,
        };
        prop_assert!(ok, "{:?} loaded as {:?}", f.ty, p.schema.kind);
        Ok(())
    }

    fn check_object(schema: &Schema, fields: &[Field], defs: &[(String, Vec<Field>)]) -> Result<(), TestCaseError> {
        let Kind::Object(o) = &schema.kind else { return Err(TestCaseError::fail(format!("not an object: {:?}", schema.kind))) };
        prop_assert_eq!(o.properties.len(), fields.len());
        for (p, f) in o.properties.iter().zip(fields) {
            check_field(p, f, defs)?;
        }
        Ok(())
    }

    /// The endpoint/version/field structure of `d`, changed in one place: a text the
    /// loader must not take as `d`.
    fn mutate(text: &str, at: prop::sample::Index, what: u8, junk: &str) -> String {
        let mut chars: Vec<char> = text.chars().collect();
        let i = at.index(chars.len() + 1);
        match what {
            0 => {
                chars.insert(i, junk.chars().next().unwrap_or('{'));
            }
            1 if i < chars.len() => {
                chars.remove(i);
            }
            2 => chars.truncate(i),
            _ => {
                let tail: Vec<char> = junk.chars().collect();
                chars.splice(i..i, tail);
            }
        }
        chars.into_iter().collect()
    }

    /// Positions of `{`, `}`, `[`, `]` outside strings and comments.
    fn bracket_positions(text: &str) -> Vec<usize> {
        let b = text.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < b.len() {
            if text[i..].starts_with("\"\"\"") {
                i += 3 + text[i + 3..].find("\"\"\"").map(|e| e + 3).unwrap_or(text.len() - i - 3);
                continue;
            }
            match b[i] {
                b'"' => {
                    i += 1;
                    while i < b.len() && b[i] != b'"' {
                        i += if b[i] == b'\\' { 2 } else { 1 };
                    }
                }
                b'#' => i += text[i..].find('\n').unwrap_or(text.len() - i),
                b'/' if text[i..].starts_with("//") => i += text[i..].find('\n').unwrap_or(text.len() - i),
                b'{' | b'}' | b'[' | b']' => out.push(i),
                _ => {}
            }
            i += 1;
        }
        out
    }

    proptest! {
        #[test]
        fn a_missing_bracket_is_refused(d in doc(), st in style(), at in any::<prop::sample::Index>()) {
            let text = render(&d, &st);
            let brackets = bracket_positions(&text);
            prop_assume!(!brackets.is_empty());
            let i = brackets[at.index(brackets.len())];
            let broken = format!("{}{}", &text[..i], &text[i + 1..]);
            let err = load_service(&broken, "svc").unwrap_err();
            prop_assert!(err.starts_with("HOCON: "), "{}", err);
        }

        #[test]
        fn any_text_is_read_or_refused(text in "[{}\\[\\]:=,\"$#/\\\\.\n a-z0-9_]{0,60}|\\PC{0,40}") {
            if let Ok((service, _)) = load_service(&text, "svc") {
                prop_assert!(service.operations.iter().all(|o| !o.versions.is_empty()));
            }
        }

        #[test]
        fn unknown_escapes_are_kept_and_nothing_else_changes(text in "[\"\\\\#/a-z>{}\n ]{0,40}|\\PC{0,30}") {
            let out = keep_unknown_escapes(&text);
            prop_assert_eq!(out.matches('\n').count(), text.matches('\n').count(), "no line moves");
            if !text.contains('\\') {
                prop_assert_eq!(&out, &text);
            }
            prop_assert_eq!(out.replace("\\\\", "\\"), text.replace("\\\\", "\\"), "only backslashes are added");
        }

        #[test]
        fn a_string_reads_back_with_its_backslashes(s in "[a-z>.\\\\]{0,12}") {
            // `s` quoted in HOCON with its backslashes written as they are
            prop_assume!(!s.ends_with('\\') && !s.contains("\\\\") && !s.contains("\\n") && !s.contains("\\b") && !s.contains("\\f") && !s.contains("\\r") && !s.contains("\\t") && !s.contains("\\u"));
            let (service, _) = load_service(&format!("x {{ \"1.0\" {{ description: \"{s}\" }} }}"), "svc").map_err(|e| TestCaseError::fail(e))?;
            prop_assert_eq!(&service.operations[0].versions[0].description, s.trim());
        }

        #[test]
        fn versions_read_back(v in any::<(u32, u32)>(), s in "\\PC{0,8}|[0-9. ]{0,8}") {
            let v = Version { major: v.0, minor: v.1 };
            prop_assert_eq!(Version::parse(&v.to_string()), Some(v));
            if let Some(p) = Version::parse(&s) {
                let (a, b) = s.trim().split_once('.').unwrap();
                prop_assert_eq!((p.major, p.minor), (a.parse::<u32>().unwrap(), b.parse::<u32>().unwrap()));
            }
        }
    }

    proptest! {
        // the HOCON parser takes ~5 ms a document in a debug build: 128 cases keep each under 2 s
        #![proptest_config(ProptestConfig::with_cases(128))]

        #[test]
        fn well_formed_services_load_as_written(d in doc(), st in style()) {
            let text = render(&d, &st);
            let (service, types) = load_service(&text, "svc").map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
            prop_assert_eq!(&service.description, d.description.trim());
            prop_assert_eq!(types.named.keys().collect::<Vec<_>>(), d.definitions.iter().map(|(n, _)| n).collect::<std::collections::BTreeSet<_>>().into_iter().collect::<Vec<_>>());
            for (n, fields) in &d.definitions {
                check_object(&types.named[n], fields, &d.definitions)?;
            }
            prop_assert_eq!(service.operations.iter().map(|o| &o.name).collect::<Vec<_>>(), d.endpoints.iter().map(|e| &e.name).collect::<Vec<_>>(), "{}", text);
            for (op, e) in service.operations.iter().zip(&d.endpoints) {
                let mut want = e.versions.clone();
                want.sort_by_key(|v| v.version);
                prop_assert_eq!(op.versions.iter().map(|v| v.version).collect::<Vec<_>>(), want.iter().map(|v| Some(v.version)).collect::<Vec<_>>());
                for (v, w) in op.versions.iter().zip(&want) {
                    prop_assert_eq!(&v.description, w.description.trim());
                    prop_assert_eq!(v.authorize, e.authorize.unwrap_or(true));
                    prop_assert_eq!(&v.http.path, &format!("/svc.{}", e.name));
                    prop_assert_eq!(v.response.is_some(), w.response);
                    match (&v.body, &w.body) {
                        (crate::ir::Body::Json { schema, .. }, Body::Request(fields)) => check_object(schema, fields, &d.definitions)?,
                        (crate::ir::Body::JsonLines { operation, version }, Body::Batch { action, version: want }) => {
                            prop_assert_eq!(operation, action);
                            prop_assert_eq!(*version, Some(*want));
                        }
                        (got, _) => prop_assert!(false, "{:?} loaded as {:?}", w.body, got),
                    }
                }
            }
        }

        #[test]
        fn changed_text_is_read_or_refused(d in doc(), st in style(), at in any::<prop::sample::Index>(), what in 0..4u8, junk in "[{}\\[\\]:=,\"'$#/\\\\.\n a1]{1,6}|\\PC{1,4}") {
            let text = mutate(&render(&d, &st), at, what, &junk);
            match load_service(&text, "svc") {
                Ok((service, _)) => prop_assert!(service.operations.iter().all(|o| !o.versions.is_empty())),
                Err(e) => prop_assert!(!e.is_empty()),
            }
        }
    }

    proptest! {
        // two documents per case
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn every_form_loads_alike(d in doc(), a in style(), b in style()) {
            // HOCON trims nothing in `"""` strings and the loader trims descriptions: the same text either way
            let (ta, tb) = (render(&d, &a), render(&d, &b));
            prop_assert_eq!(load_service(&ta, "svc").unwrap(), load_service(&tb, "svc").unwrap(), "{}\n----\n{}", ta, tb);
        }
    }
}
