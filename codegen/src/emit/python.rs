//! IR → one Python client module (`generated/python/specmill_client.py`), rendered with askama
//! from `templates/specmill_client.py`.
//!
//! This emitter decides every name, type annotation, docstring and conversion; the template
//! only lays them out, plus a hand-written part with the per-protocol framing (the ClearML
//! envelope and login, AWS Signature V4, OpenAPI REST) that every generated method calls.
//!
//! - Each object schema becomes a `@dataclass` (keyword-only fields, optional members default
//!   to `None` and are left out of `to_dict()`, unknown reply members kept in `extra`); other
//!   named schemas become type aliases (`Literal[...]` for enums). Names follow the Rust types
//!   of `emit::types`; a name that two APIs (or the hand-written part) define gets its API's
//!   name in front, in every API that defines it.
//! - Each IR service becomes a class with one method per operation version, named like the
//!   server's trait methods (`get_task_log_v1_7`, `batch_put_metrics`).

use std::collections::{BTreeMap, BTreeSet};

use askama::Template;
use serde_json::Value;

use super::server::trait_method;
use super::types::{batch_item, op_base, params_object};
use super::types::field_doc;
use crate::ir::{Additional, Api, Body, Kind, ObjectSchema, Operation, OperationVersion, ParamLocation, Protocol, Schema, Service};
use crate::names::{field_name, type_name, unique};

/// Where the module goes, relative to `generated/`.
pub const PATH: &str = "python/specmill_client.py";

const PY_KEYWORDS: &[&str] = &[
    "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class", "continue", "def", "del", "elif", "else",
    "except", "finally", "for", "from", "global", "if", "import", "in", "is", "lambda", "nonlocal", "not", "or", "pass", "raise",
    "return", "try", "while", "with", "yield", "self", "cls",
];

/// Top-level names of the hand-written part of the template (and its imports): a spec type
/// with one of these names gets its API's name in front.
const MODULE_NAMES: &[&str] = &[
    "Any", "BinaryIO", "Dict", "List", "Literal", "Optional", "Tuple", "Union", "Mapping", "base64", "dataclass", "dataclasses",
    "hashlib", "hmac", "json", "math", "time", "quote", "unquote", "urlsplit", "requests", "File", "Client", "ClientError", "ClearMLError", "AwsError",
    "ApiError",
];

/// Attributes of `Client` that are not services.
const CLIENT_ATTRS: &[&str] = &[
    "base_url", "session", "timeout", "clearml_key", "clearml_secret", "aws_access_key_id", "aws_secret_access_key", "aws_region",
];

fn py_ident(name: String) -> String {
    if PY_KEYWORDS.contains(&name.as_str()) {
        format!("{name}_")
    } else {
        name
    }
}

/// A Python string literal (JSON's escapes are all valid in Python).
fn py_str(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

/// The text of a description as Python's `inspect.cleandoc` would leave it: the first line
/// trimmed, the common indentation of the others removed, blank lines at both ends dropped.
fn clean_text(text: &str) -> Vec<String> {
    let lines: Vec<&str> = text.lines().collect();
    let indent = lines
        .iter()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.len() - l.trim_start().len())
        .min()
        .unwrap_or(0);
    let mut out: Vec<String> = lines
        .iter()
        .enumerate()
        .map(|(i, l)| if i == 0 { l.trim().to_string() } else { l.get(indent..).unwrap_or("").trim_end().to_string() })
        .collect();
    while out.last().is_some_and(|l| l.is_empty()) {
        out.pop();
    }
    while out.first().is_some_and(|l| l.is_empty()) {
        out.remove(0);
    }
    out
}

/// A docstring literal for `text`, continuation lines indented by `indent`.
fn docstring(text: &str, indent: &str) -> String {
    let lines: Vec<String> = clean_text(text).iter().map(|l| l.replace('\\', "\\\\").replace("\"\"\"", "\"\"\\\"")).collect();
    match lines.as_slice() {
        [] => "\"\"\"\"\"\"".into(),
        [one] if !one.ends_with('"') => format!("\"\"\"{one}\"\"\""),
        _ => {
            let mut s = String::from("\"\"\"");
            for (i, l) in lines.iter().enumerate() {
                if i > 0 {
                    s.push('\n');
                    if !l.is_empty() {
                        s.push_str(indent);
                    }
                }
                s.push_str(l);
            }
            s.push('\n');
            s.push_str(indent);
            s.push_str("\"\"\"");
            s
        }
    }
}

/// `#: ` comment lines documenting a field.
fn comment_lines(text: &str) -> Vec<String> {
    clean_text(text).into_iter().map(|l| if l.is_empty() { "#:".to_string() } else { format!("#: {l}") }).collect()
}

fn optional(annotation: String) -> String {
    if annotation == "Any" || annotation.starts_with("Optional[") {
        annotation
    } else {
        format!("Optional[{annotation}]")
    }
}

/// A Python tuple literal of string literals.
fn py_tuple(items: &[String]) -> String {
    match items {
        [] => "()".into(),
        [one] => format!("({one},)"),
        many => format!("({})", many.join(", ")),
    }
}

pub struct FieldView {
    pub name: String,
    /// The member's wire name as a Python string literal.
    pub wire: String,
    pub annotation: String,
    /// `= …` default, when the field has one.
    pub default: Option<String>,
    /// Sent even when `None` (a required member that may be null, a constant).
    pub always: bool,
    /// Expression turning the wire value `v` into the field's value (`None`: as it is).
    pub decode: Option<String>,
    pub comments: Vec<String>,
}

pub struct ClassView {
    pub name: String,
    pub doc: String,
    pub fields: Vec<FieldView>,
    /// Tuple literal of the wire names of required members.
    pub required: String,
    /// Dict literal of members with a constant value.
    pub consts: String,
}

pub struct AliasView {
    pub name: String,
    pub annotation: String,
    pub comments: Vec<String>,
}

enum Item {
    /// Being defined (so recursive schemas terminate).
    Pending,
    Class(ClassView),
    Alias(AliasView),
}

pub struct MethodView {
    pub name: String,
    pub doc: String,
    /// The request parameter with its annotation (and default).
    pub request_param: String,
    /// The request class, when the method also takes its fields as keyword arguments.
    pub request_class: Option<String>,
    pub returns: String,
    /// Statements that fill `call` and return the decoded reply.
    pub statements: Vec<String>,
}

pub struct ServiceView {
    pub attr: String,
    pub class_name: String,
    pub doc: String,
    pub summary: String,
    pub transport: String,
    pub methods: Vec<MethodView>,
}

pub struct TransportView {
    pub var: String,
    pub expr: String,
}

pub struct ApiView {
    pub name: String,
    pub title: String,
    pub source: String,
    pub classes: Vec<ClassView>,
    pub aliases: Vec<AliasView>,
}

#[derive(Template)]
#[template(path = "specmill_client.py", escape = "none")]
struct Module {
    apis: Vec<ApiView>,
    transports: Vec<TransportView>,
    services: Vec<ServiceView>,
}

/// The types of one API as Python, plus its service classes.
struct PyGen<'a> {
    api: &'a Api,
    prefix: String,
    /// Local names that get the API's prefix.
    rename: &'a BTreeSet<String>,
    items: BTreeMap<String, Item>,
}

/// The request of an operation version: its annotation, and its class when it is one.
struct RequestType {
    annotation: String,
    class: Option<String>,
}

impl<'a> PyGen<'a> {
    fn new(api: &'a Api, rename: &'a BTreeSet<String>) -> PyGen<'a> {
        let mut gen = PyGen { api, prefix: type_name(&api.name), rename, items: BTreeMap::new() };
        for (name, schema) in &api.types.named {
            gen.define(&local_type_name(name), schema);
        }
        gen
    }

    /// The module-level name of the local type name `local`.
    fn name(&self, local: &str) -> String {
        if self.rename.contains(local) {
            format!("{}{local}", self.prefix)
        } else {
            local.to_string()
        }
    }

    fn named(&self, r: &str) -> Option<&'a Schema> {
        self.api.types.named.get(r)
    }

    /// Whether `schema` is generated as a dataclass (an object with members, or a reference to one).
    fn is_class(&self, schema: &Schema, depth: u32) -> bool {
        match &schema.kind {
            Kind::Object(obj) => !obj.properties.is_empty(),
            Kind::Ref(r) if depth < 16 => self.named(r).is_some_and(|t| self.is_class(t, depth + 1)),
            _ => false,
        }
    }

    /// Define a class (objects with members) or an alias named `local` for `schema`.
    fn define(&mut self, local: &str, schema: &Schema) {
        if self.items.contains_key(local) {
            return;
        }
        if let Kind::Ref(r) = &schema.kind {
            if local_type_name(r) == local {
                return;
            }
        }
        self.items.insert(local.to_string(), Item::Pending);
        let item = match &schema.kind {
            Kind::Object(obj) if !obj.properties.is_empty() => Item::Class(self.class(local, &schema.description, obj)),
            _ => {
                let annotation = self.alias_target(schema, local, 0);
                Item::Alias(AliasView { name: self.name(local), annotation, comments: comment_lines(&schema.description) })
            }
        };
        self.items.insert(local.to_string(), item);
    }

    /// Define `local` as a class of `obj` even when it has no members (requests of operations).
    fn define_class(&mut self, local: &str, description: &str, obj: &ObjectSchema) {
        if self.items.contains_key(local) {
            return;
        }
        self.items.insert(local.to_string(), Item::Pending);
        let class = self.class(local, description, obj);
        self.items.insert(local.to_string(), Item::Class(class));
    }

    fn define_alias(&mut self, local: &str, annotation: String, description: &str) {
        if !self.items.contains_key(local) {
            let view = AliasView { name: self.name(local), annotation, comments: comment_lines(description) };
            self.items.insert(local.to_string(), Item::Alias(view));
        }
    }

    /// The right-hand side of an alias: evaluated when the module loads (after every class),
    /// so names inside generics are quoted and a reference to another alias is followed.
    fn alias_target(&mut self, schema: &Schema, ctx: &str, depth: u32) -> String {
        if let Kind::Ref(r) = &schema.kind {
            let target = self.named(r);
            let text = match target {
                Some(t) if !self.is_class(t, 0) && depth < 16 => self.alias_target(t, &local_type_name(r), depth + 1),
                _ => self.name(&local_type_name(r)),
            };
            return if schema.nullable { optional(text) } else { text };
        }
        self.annotation(schema, ctx, true)
    }

    /// The annotation of `schema`; inline objects become classes named after `ctx`.
    fn annotation(&mut self, schema: &Schema, ctx: &str, quoted: bool) -> String {
        let q = |n: String| if quoted { format!("\"{n}\"") } else { n };
        let base = match &schema.kind {
            Kind::Any | Kind::Replies(_) => "Any".to_string(),
            Kind::Boolean => "bool".into(),
            Kind::Integer { .. } => "int".into(),
            Kind::Number { .. } | Kind::Timestamp(_) => "float".into(),
            Kind::String { format: Some(f), .. } if f == "binary" => "File".into(),
            Kind::String { .. } => "str".into(),
            Kind::Enum(values) => format!("Literal[{}]", values.iter().map(|v| py_str(v)).collect::<Vec<_>>().join(", ")),
            Kind::Const(Value::String(s)) => format!("Literal[{}]", py_str(s)),
            Kind::Const(_) => "Any".into(),
            Kind::Array { items, .. } => format!("List[{}]", self.annotation(items, &format!("{ctx}Item"), quoted)),
            Kind::Map(values) => format!("Dict[str, {}]", self.annotation(values, &format!("{ctx}Value"), quoted)),
            Kind::Object(obj) if obj.properties.is_empty() => match &obj.additional {
                Additional::Keep(values) => format!("Dict[str, {}]", self.annotation(values, &format!("{ctx}Value"), quoted)),
                _ => "Dict[str, Any]".into(),
            },
            Kind::Object(_) => {
                self.define(ctx, schema);
                q(self.name(ctx))
            }
            Kind::Union { variants, .. } => {
                let mut parts: Vec<String> = Vec::new();
                for (i, v) in variants.iter().enumerate() {
                    let a = self.annotation(v, &format!("{ctx}Variant{i}"), quoted);
                    if !parts.contains(&a) {
                        parts.push(a);
                    }
                }
                match parts.len() {
                    0 => "Any".into(),
                    1 => parts.remove(0),
                    _ => format!("Union[{}]", parts.join(", ")),
                }
            }
            Kind::Ref(r) => q(self.name(&local_type_name(r))),
        };
        if schema.nullable {
            optional(base)
        } else {
            base
        }
    }

    /// An expression that turns the wire value `expr` into the Python value of `schema`, or
    /// `None` when the JSON value is already it.
    fn decode(&mut self, schema: &Schema, ctx: &str, expr: &str, depth: u32) -> Option<String> {
        if depth > 16 {
            return None;
        }
        match &schema.kind {
            Kind::Number { nonfinite_as_strings: true, .. } => Some(format!("_float_in({expr})")),
            Kind::Object(obj) if !obj.properties.is_empty() => {
                self.define(ctx, schema);
                Some(format!("{}.from_dict({expr})", self.name(ctx)))
            }
            Kind::Object(ObjectSchema { additional: Additional::Keep(values), .. }) | Kind::Map(values) => {
                let (k, x) = (format!("k{depth}"), format!("x{depth}"));
                self.decode(values, &format!("{ctx}Value"), &x, depth + 1)
                    .map(|e| format!("{{{k}: None if {x} is None else {e} for {k}, {x} in {expr}.items()}}"))
            }
            Kind::Array { items, .. } => {
                let x = format!("x{depth}");
                self.decode(items, &format!("{ctx}Item"), &x, depth + 1).map(|e| format!("[None if {x} is None else {e} for {x} in {expr}]"))
            }
            Kind::Ref(r) => {
                let target = self.named(r)?;
                if self.is_class(target, 0) {
                    Some(format!("{}.from_dict({expr})", self.name(&local_type_name(r))))
                } else {
                    self.decode(target, &local_type_name(r), expr, depth + 1)
                }
            }
            Kind::Union { variants, .. } => {
                let v = format!("v{depth}");
                let mut any = false;
                let mut parts = Vec::new();
                for (i, variant) in variants.iter().enumerate() {
                    let vctx = format!("{ctx}Variant{i}");
                    let check = self.union_check(variant, &vctx, 0);
                    let decode = self.decode(variant, &vctx, &v, depth + 1);
                    any |= decode.is_some();
                    parts.push(format!("({check}, {})", decode.map(|e| format!("lambda {v}: {e}")).unwrap_or_else(|| "None".into())));
                }
                any.then(|| format!("_decode_union({expr}, {})", py_tuple(&parts)))
            }
            _ => None,
        }
    }

    /// What `_decode_union` checks a value against for this variant: a Python type, a class,
    /// or `None` (anything).
    fn union_check(&mut self, schema: &Schema, ctx: &str, depth: u32) -> String {
        match &schema.kind {
            Kind::Boolean => "bool".into(),
            Kind::Integer { .. } => "int".into(),
            Kind::Number { .. } | Kind::Timestamp(_) => "float".into(),
            Kind::String { .. } | Kind::Enum(_) | Kind::Const(Value::String(_)) => "str".into(),
            Kind::Array { .. } => "list".into(),
            Kind::Map(_) => "dict".into(),
            Kind::Object(obj) if obj.properties.is_empty() => "dict".into(),
            Kind::Object(_) => {
                self.define(ctx, schema);
                self.name(ctx)
            }
            Kind::Ref(r) if depth < 16 => match self.named(r) {
                Some(t) if self.is_class(t, 0) => self.name(&local_type_name(r)),
                Some(t) => self.union_check(t, &local_type_name(r), depth + 1),
                None => "None".into(),
            },
            _ => "None".into(),
        }
    }

    fn class(&mut self, local: &str, description: &str, obj: &ObjectSchema) -> ClassView {
        let mut taken: Vec<String> = ["extra", "to_dict", "from_dict"].iter().map(|s| s.to_string()).collect();
        let mut fields = Vec::new();
        let mut required = Vec::new();
        let mut consts = Vec::new();
        for p in &obj.properties {
            let name = unique(py_ident(field_name(&p.name)), &mut taken);
            let ctx = format!("{local}{}", type_name(&p.name));
            let wire = py_str(&p.name);
            let annotation = self.annotation(&p.schema, &ctx, false);
            let constant = match &p.schema.kind {
                Kind::Const(Value::String(s)) => Some(py_str(s)),
                _ => None,
            };
            let (annotation, default, always) = match (&constant, p.required, p.schema.nullable) {
                (Some(c), _, _) => (annotation, Some(c.clone()), true),
                (None, true, false) => (annotation, None, false),
                (None, true, true) => (annotation, None, true),
                (None, false, _) => (optional(annotation), Some("None".to_string()), false),
            };
            if p.required {
                required.push(wire.clone());
            }
            if let Some(c) = &constant {
                consts.push(format!("{wire}: {c}"));
            }
            let decode = self.decode(&p.schema, &ctx, "v", 0);
            fields.push(FieldView { name, wire, annotation, default, always, decode, comments: comment_lines(&field_doc(&p.schema)) });
        }
        let doc = if description.trim().is_empty() { format!("`{local}` of {}.", self.api.title) } else { description.to_string() };
        ClassView { name: self.name(local), doc: docstring(&doc, "    "), fields, required: py_tuple(&required), consts: format!("{{{}}}", consts.join(", ")) }
    }

    /// The request type of an operation version (as the server emitter shapes it): the JSON
    /// body's type, a list of items for JSON lines, or a class with one member per parameter
    /// plus `body`.
    fn request_type(&mut self, service: &Service, op: &Operation, v: &OperationVersion) -> Result<RequestType, String> {
        let local = format!("{}Request", op_base(self.api, service, op, v));
        match (&v.body, v.params.is_empty()) {
            (Body::JsonLines { operation, version }, _) => {
                let (iop, iv) =
                    batch_item(service, operation, *version).ok_or_else(|| format!("{}: batch_request names unknown action `{operation}`", op.name))?;
                let item = self.request_type(service, iop, iv)?;
                let item_name = item.class.unwrap_or(item.annotation);
                self.define_alias(&local, format!("List[\"{item_name}\"]"), &format!("`{}` requests, sent one JSON object per line.", iop.name));
                Ok(RequestType { annotation: self.name(&local), class: None })
            }
            (Body::Json { schema, .. }, true) => {
                let described = Schema {
                    description: if schema.description.is_empty() { v.description.clone() } else { schema.description.clone() },
                    ..schema.clone()
                };
                self.define(&local, &described);
                let name = match &schema.kind {
                    Kind::Ref(r) if local_type_name(r) == local => self.name(&local_type_name(r)),
                    _ => self.name(&local),
                };
                let class = self.is_class(schema, 0).then(|| name.clone());
                Ok(RequestType { annotation: name, class })
            }
            (body, _) => {
                self.define_class(&local, &format!("Request of `{}`.", op.name), &params_object(&v.params, body));
                let name = self.name(&local);
                Ok(RequestType { annotation: name.clone(), class: Some(name) })
            }
        }
    }

    /// The reply type's annotation and the expression that decodes `data` into it.
    fn response_type(&mut self, service: &Service, op: &Operation, v: &OperationVersion) -> (String, Option<String>) {
        if v.raw_response {
            return ("bytes".into(), None);
        }
        let local = format!("{}Response", op_base(self.api, service, op, v));
        let response = v.response.clone().unwrap_or_else(|| Schema::new(Kind::Any));
        let described = Schema {
            description: if response.description.is_empty() { format!("Reply of `{}`.", op.name) } else { response.description.clone() },
            ..response.clone()
        };
        self.define(&local, &described);
        let name = match &response.kind {
            Kind::Ref(r) if local_type_name(r) == local => self.name(&local_type_name(r)),
            _ => self.name(&local),
        };
        let decode = self.decode(&described, &local, "data", 0);
        (name, decode)
    }

    fn method(&mut self, service: &Service, op: &Operation, v: &OperationVersion) -> Result<MethodView, String> {
        let request = self.request_type(service, op, v)?;
        let (returns, decode) = self.response_type(service, op, v);
        let http_method = v.http.method.clone().unwrap_or_else(|| "POST".into()).to_uppercase();
        let path = match (self.api.protocol, v.version) {
            (Protocol::ClearMl, Some(ver)) => format!("/v{ver}{}", v.http.path),
            (Protocol::ClearMl, None) => v.http.path.clone(),
            _ => format!("{}{}", self.api.mounts.first().map(String::as_str).unwrap_or(""), v.http.path),
        };
        let mut call_args = vec![py_str(&http_method), py_str(&path)];
        if !v.authorize {
            call_args.push("authorize=False".into());
        }
        if v.raw_response {
            call_args.push("raw=True".into());
        }
        let mut statements = vec![format!("call = _Call({})", call_args.join(", "))];
        match (&v.body, v.params.is_empty()) {
            (Body::JsonLines { .. }, _) => statements.push("call.lines = [_to_wire(item) for item in request]".into()),
            (Body::Json { .. }, true) => statements.push("call.json = _to_wire(request)".into()),
            (body, _) => {
                let obj = params_object(&v.params, body);
                let mut taken: Vec<String> = ["extra", "to_dict", "from_dict"].iter().map(|s| s.to_string()).collect();
                for (i, p) in obj.properties.iter().enumerate() {
                    let field = unique(py_ident(field_name(&p.name)), &mut taken);
                    let wire = py_str(&p.name);
                    // Parameters come first, in order; the member after them is the body.
                    let Some(param) = v.params.get(i) else {
                        statements.push(format!("call.json = _to_wire(request.{field})"));
                        continue;
                    };
                    statements.push(match param.location {
                        ParamLocation::Path => format!("call.path_param({wire}, request.{field})"),
                        ParamLocation::Query => format!("call.query({wire}, request.{field})"),
                        ParamLocation::Header => format!("call.header({wire}, request.{field})"),
                        ParamLocation::Form if is_file(&param.schema) => format!("call.file({wire}, request.{field})"),
                        ParamLocation::Form => format!("call.form_field({wire}, request.{field})"),
                    });
                }
            }
        }
        match decode {
            Some(e) => {
                statements.push("data = self._transport.send(call)".into());
                statements.push(format!("return None if data is None else {e}"));
            }
            None => statements.push("return self._transport.send(call)".into()),
        }

        let mut doc = if v.description.trim().is_empty() { op.description.clone() } else { v.description.clone() };
        if doc.trim().is_empty() {
            doc = format!("`{}`.", op.name);
        }
        let mut notes = Vec::new();
        if let Some(ver) = v.version {
            notes.push(format!("Version {ver} of `{}.{}`: `{http_method} {path}`.", service.name, op.name));
        } else {
            notes.push(format!("`{http_method} {path}`."));
        }
        if v.raw_response {
            notes.push("The reply is returned as it is sent (bytes).".into());
        }
        notes.push(format!("Raises `{}` when the server refuses the request.", error_class(self.api.protocol)));
        let doc = docstring(&format!("{}\n\n{}", clean_text(&doc).join("\n"), notes.join("\n")), "        ");
        let request_param = match &request.class {
            Some(c) => format!("request: Optional[{c}] = None"),
            None => format!("request: {}", request.annotation),
        };
        Ok(MethodView { name: py_ident(trait_method(op, v)), doc, request_param, request_class: request.class, returns, statements })
    }

    fn finish(self) -> (Vec<ClassView>, Vec<AliasView>) {
        let mut classes = Vec::new();
        let mut aliases = Vec::new();
        for item in self.items.into_values() {
            match item {
                Item::Class(c) => classes.push(c),
                Item::Alias(a) => aliases.push(a),
                Item::Pending => {}
            }
        }
        classes.sort_by(|a, b| a.name.cmp(&b.name));
        aliases.sort_by(|a, b| a.name.cmp(&b.name));
        (classes, aliases)
    }
}

/// The `Client` attribute of a service: its name's words lowercased and joined by `_`
/// (`SageMaker Metrics` → `sagemaker_metrics`, `events` → `events`).
fn service_attr(name: &str) -> String {
    let words: Vec<String> = name.split(|c: char| !c.is_ascii_alphanumeric()).filter(|w| !w.is_empty()).map(|w| w.to_ascii_lowercase()).collect();
    py_ident(field_name(&words.join("_")))
}

/// A spec type name as a Python class name (the Rust type's name unless that is a keyword).
fn local_type_name(spec_name: &str) -> String {
    py_ident(type_name(spec_name))
}

fn is_file(schema: &Schema) -> bool {
    matches!(&schema.kind, Kind::String { format: Some(f), .. } if f == "binary")
}

fn error_class(protocol: Protocol) -> &'static str {
    match protocol {
        Protocol::ClearMl => "ClearMLError",
        Protocol::AwsRestJson => "AwsError",
        Protocol::OpenApi => "ApiError",
    }
}

/// How the client frames the calls of `api`: a constructor of one transport class of the
/// template's hand-written part.
fn transport(api: &Api) -> Result<String, String> {
    Ok(match api.protocol {
        Protocol::ClearMl => {
            // The login endpoint is the spec's operation open to callers without a token.
            let login = api
                .services
                .iter()
                .flat_map(|s| s.operations.iter().map(move |o| (s, o)))
                .find(|(_, o)| o.versions.iter().all(|v| !v.authorize))
                .and_then(|(_, o)| o.versions.last())
                .map(|v| match v.version {
                    Some(ver) => py_str(&format!("/v{ver}{}", v.http.path)),
                    None => py_str(&v.http.path),
                })
                .unwrap_or_else(|| "None".into());
            format!("_ClearMLTransport(self, login_path={login})")
        }
        Protocol::AwsRestJson => {
            let name = api.signing_name.as_deref().ok_or_else(|| format!("{}: an AWS API without a signing name", api.name))?;
            format!("_AwsTransport(self, signing_name={})", py_str(name))
        }
        // Comet's spec declares no security scheme: its API key travels raw in
        // `Authorization` (runtime/src/protocol/comet.rs), the client's `comet_api_key`.
        Protocol::OpenApi if api.name == "comet" => "_OpenApiTransport(self, api_key=comet_api_key)".into(),
        // Lens takes the config's bearer token (runtime/src/protocol/lens.rs), the client's `lens_token`.
        Protocol::OpenApi if api.name == "lens" => "_OpenApiTransport(self, api_key=None if lens_token is None else \"Bearer \" + lens_token)".into(),
        Protocol::OpenApi => "_OpenApiTransport(self)".into(),
    })
}

/// The local type names one API defines (for finding names two APIs share).
fn local_names(api: &Api) -> Result<BTreeSet<String>, String> {
    let none = BTreeSet::new();
    let mut gen = PyGen::new(api, &none);
    for service in &api.services {
        for op in &service.operations {
            for v in &op.versions {
                gen.method(service, op, v)?;
            }
        }
    }
    Ok(gen.items.keys().cloned().collect())
}

/// `generated/python/specmill_client.py`.
pub fn client_module(apis: &[Api]) -> Result<String, String> {
    // Service classes and attributes, unique across APIs.
    let mut class_taken: Vec<String> = Vec::new();
    let mut attr_taken: Vec<String> = CLIENT_ATTRS.iter().map(|s| s.to_string()).collect();
    let mut service_names = Vec::new();
    for api in apis {
        for s in &api.services {
            let class_name = unique(format!("{}Service", type_name(&s.name)), &mut class_taken);
            let attr = unique(service_attr(&s.name), &mut attr_taken);
            service_names.push((class_name, attr));
        }
    }
    // Type names defined by more than one API, or taken by the hand-written part or a service class.
    let mut count: BTreeMap<String, usize> = BTreeMap::new();
    for name in MODULE_NAMES.iter().map(|s| s.to_string()).chain(class_taken.iter().cloned()) {
        *count.entry(name).or_default() += 1;
    }
    for api in apis {
        for name in local_names(api).map_err(|e| format!("{}: {e}", api.source))? {
            *count.entry(name).or_default() += 1;
        }
    }
    let rename: BTreeSet<String> = count.into_iter().filter(|(_, n)| *n > 1).map(|(k, _)| k).collect();

    let mut views = Vec::new();
    let mut transports = Vec::new();
    let mut services = Vec::new();
    let mut names = service_names.into_iter();
    for api in apis {
        let mut gen = PyGen::new(api, &rename);
        let var = format!("_{}", field_name(&api.name));
        transports.push(TransportView { var: var.clone(), expr: transport(api)? });
        for service in &api.services {
            let mut methods = Vec::new();
            for op in &service.operations {
                for v in &op.versions {
                    methods.push(gen.method(service, op, v).map_err(|e| format!("{}: {e}", api.source))?);
                }
            }
            let (class_name, attr) = names.next().unwrap_or_default();
            let summary = format!("The `{}` service of {} (`{}`).", service.name, api.title, api.name);
            let doc = if service.description.trim().is_empty() {
                summary.clone()
            } else {
                format!("{summary}\n\n{}", clean_text(&service.description).join("\n"))
            };
            services.push(ServiceView { attr, class_name, doc: docstring(&doc, "    "), summary, transport: var.clone(), methods });
        }
        let (classes, aliases) = gen.finish();
        views.push(ApiView { name: api.name.clone(), title: api.title.clone(), source: api.source.clone(), classes, aliases });
    }
    Module { apis: views, transports, services }.render().map_err(|e| format!("python client: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docstrings_are_cleaned_and_escaped() {
        assert_eq!(docstring("One line.", "    "), "\"\"\"One line.\"\"\"");
        assert_eq!(docstring("Says \"hi\"", "  "), "\"\"\"Says \"hi\"\n  \"\"\"");
        assert_eq!(docstring("First\n      second\n        third\n", "    "), "\"\"\"First\n    second\n      third\n    \"\"\"");
        assert_eq!(docstring("a \"\"\" b \\ c", ""), "\"\"\"a \"\"\\\" b \\\\ c\"\"\"");
    }

    #[test]
    fn python_keywords_get_an_underscore() {
        assert_eq!(py_ident(field_name("from")), "from_");
        assert_eq!(py_ident(field_name("type")), "type_");
        assert_eq!(local_type_name("none"), "None_");
        assert_eq!(service_attr("SageMaker Metrics"), "sagemaker_metrics");
        assert_eq!(service_attr("events"), "events");
    }
}
