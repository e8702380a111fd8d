//! AWS service models (botocore `service-2.json`), protocol `rest-json`.
//!
//! Every structure, list, map and enum shape becomes a named IR schema; strings, numbers,
//! booleans and timestamps are inlined where they are used, with their constraints.
//! Operations bind by `http.method` and `http.requestUri`; members with a `location`
//! (`uri`, `querystring`, `header`) become parameters, the rest form the JSON body (or, with
//! a `payload` member, that member is the body).
//!
//! Real models use more than the server can serve. The loader normalises what it can
//! (unions, documents, timestamp formats, renamed members, shape names that collide once
//! they are Rust names) and lists the rest per model in a [`Report`]
//! ([`load_model_report`]) instead of failing: it fails only when the model is not a
//! rest-json model or is inconsistent (a member names an undefined shape).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde_json::{Map, Value};

use super::{html_to_text, LoadError};
use crate::ir::{
    Additional, Alternatives, Api, Body, HttpBinding, Kind, ObjectSchema, Operation, OperationVersion, Param, ParamLocation, Property,
    Protocol, Schema, Service, TimestampFormat, TypeSpace,
};
use crate::names::type_name;

pub fn load_file(file: &Path, rel: &str, name: &str) -> Result<Api, LoadError> {
    let text = std::fs::read_to_string(file).map_err(|e| LoadError::new(file, e.to_string()))?;
    let model: Value = serde_json::from_str(&text)
        .map_err(|e| LoadError::new(file, format!("line {}: {e}", e.line())))?;
    load_model(&model, rel, name).map_err(|e| LoadError::new(file, e))
}

pub fn load_model(model: &Value, rel: &str, name: &str) -> Result<Api, String> {
    load_model_report(model, rel, name).map(|(api, _)| api)
}

/// A model feature the loader meets: how it is mapped, and whether the server can serve it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Feature {
    NestedStructure,
    ListOfStructures,
    Map,
    Enum,
    Timestamp,
    TimestampText,
    Blob,
    Document,
    Union,
    ByteShort,
    BigNumber,
    JsonValue,
    RenamedMember,
    KeywordMember,
    Recursive,
    NameCollision,
    StructurePayload,
    RawRequestPayload,
    RawResponsePayload,
    Streaming,
    EventStream,
    GreedyLabel,
    QueryLiteral,
    RouteCollision,
    HeaderMap,
    QueryMap,
    ListParameter,
    ResponseBinding,
    UnsupportedPattern,
    NoAuth,
    BearerAuth,
    HttpChecksum,
    HostPrefix,
    IdempotencyToken,
    Deprecated,
}

/// Whether the generated server serves a feature.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Support {
    Yes,
    /// Served with a stated limitation.
    Partly,
    No,
}

impl Feature {
    pub const ALL: [Feature; 35] = [
        Feature::NestedStructure,
        Feature::ListOfStructures,
        Feature::Map,
        Feature::Enum,
        Feature::Timestamp,
        Feature::TimestampText,
        Feature::Blob,
        Feature::Document,
        Feature::Union,
        Feature::ByteShort,
        Feature::BigNumber,
        Feature::JsonValue,
        Feature::RenamedMember,
        Feature::KeywordMember,
        Feature::Recursive,
        Feature::NameCollision,
        Feature::StructurePayload,
        Feature::RawRequestPayload,
        Feature::RawResponsePayload,
        Feature::Streaming,
        Feature::EventStream,
        Feature::GreedyLabel,
        Feature::QueryLiteral,
        Feature::RouteCollision,
        Feature::HeaderMap,
        Feature::QueryMap,
        Feature::ListParameter,
        Feature::ResponseBinding,
        Feature::UnsupportedPattern,
        Feature::NoAuth,
        Feature::BearerAuth,
        Feature::HttpChecksum,
        Feature::HostPrefix,
        Feature::IdempotencyToken,
        Feature::Deprecated,
    ];

    /// What the feature is, and how the loader maps it.
    pub fn describe(self) -> (&'static str, &'static str) {
        match self {
            Feature::NestedStructure => ("structures inside structures", "named structs"),
            Feature::ListOfStructures => ("lists of structures", "Vec of named structs"),
            Feature::Map => ("map shapes", "BTreeMap"),
            Feature::Enum => ("string enums", "Rust enums"),
            Feature::Timestamp => ("timestamps (epoch seconds)", "EpochSeconds"),
            Feature::TimestampText => ("iso8601/rfc822 timestamps (timestampFormat, headers, query)", "strings, not parsed"),
            Feature::Blob => ("blob members in a JSON body", "base64 strings, not decoded"),
            Feature::Document => ("document shapes", "any JSON value"),
            Feature::Union => ("union structures", "struct, exactly one member checked"),
            Feature::ByteShort => ("byte/short shapes", "i32 with the type's range"),
            Feature::BigNumber => ("bigInteger/bigDecimal shapes", "any JSON value, not range-checked"),
            Feature::JsonValue => ("jsonvalue strings", "strings, JSON (base64 in headers) not decoded"),
            Feature::RenamedMember => ("body members renamed by locationName", "serde rename"),
            Feature::KeywordMember => ("member names that are Rust keywords", "`type_` fields"),
            Feature::Recursive => ("recursive shapes", "boxed fields"),
            Feature::NameCollision => ("shape names colliding as Rust names", "renamed `…Shape`"),
            Feature::StructurePayload => ("structure payload (the body is one member)", "body = that member"),
            Feature::RawRequestPayload => ("blob/string request payload (raw body)", "body not bound"),
            Feature::RawResponsePayload => ("blob/string response payload", "raw reply"),
            Feature::Streaming => ("streaming blobs", "buffered, not streamed"),
            Feature::EventStream => ("event streams", "not served (plain JSON struct)"),
            Feature::GreedyLabel => ("greedy path labels `{Key+}`", "match one path segment only"),
            Feature::QueryLiteral => ("literal query in requestUri (`/x?tagging`)", "literal dropped"),
            Feature::RouteCollision => ("operations sharing method and path", "first registered wins"),
            Feature::HeaderMap => ("prefixed header maps (location headers)", "not bound"),
            Feature::QueryMap => ("query-string maps", "not bound"),
            Feature::ListParameter => ("list-valued query/header parameters", "parsed as JSON, not repeated keys"),
            Feature::ResponseBinding => ("response members in headers/status code", "sent in the JSON body"),
            Feature::UnsupportedPattern => ("Java-only regex patterns (look-around, \\p{Is…}, surrogates)", "pattern not checked"),
            Feature::NoAuth => ("unauthenticated operations (authtype none)", "no signature required"),
            Feature::BearerAuth => ("bearer-token auth (signatureVersion bearer)", "SigV4 expected instead"),
            Feature::HttpChecksum => ("httpChecksum", "checksum not verified"),
            Feature::HostPrefix => ("hostPrefix endpoints", "ignored (client side)"),
            Feature::IdempotencyToken => ("idempotencyToken members", "plain members"),
            Feature::Deprecated => ("deprecated shapes/members/operations", "served as the others"),
        }
    }

    pub fn support(self) -> Support {
        match self {
            Feature::TimestampText
            | Feature::Blob
            | Feature::BigNumber
            | Feature::JsonValue
            | Feature::Streaming
            | Feature::GreedyLabel
            | Feature::ListParameter
            | Feature::UnsupportedPattern
            | Feature::HttpChecksum => Support::Partly,
            Feature::RawRequestPayload
            | Feature::EventStream
            | Feature::QueryLiteral
            | Feature::RouteCollision
            | Feature::HeaderMap
            | Feature::QueryMap
            | Feature::ResponseBinding
            | Feature::BearerAuth => Support::No,
            _ => Support::Yes,
        }
    }
}

/// The features one model uses, each with the first place it was met.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub features: BTreeMap<Feature, String>,
}

impl Report {
    fn note(&mut self, feature: Feature, at: impl FnOnce() -> String) {
        self.features.entry(feature).or_insert_with(at);
    }

    /// Features the server does not serve at all.
    pub fn unsupported(&self) -> impl Iterator<Item = (Feature, &str)> {
        self.features.iter().filter(|(f, _)| f.support() == Support::No).map(|(f, at)| (*f, at.as_str()))
    }
}

/// Load a rest-json model and report the features it uses.
pub fn load_model_report(model: &Value, rel: &str, name: &str) -> Result<(Api, Report), String> {
    let meta = model.get("metadata").and_then(Value::as_object).ok_or("no `metadata` object: not an AWS service model")?;
    let protocol = meta.get("protocol").and_then(Value::as_str).unwrap_or("");
    if protocol != "rest-json" {
        return Err(format!("protocol `{protocol}` is not supported (only rest-json)"));
    }
    let shapes = model.get("shapes").and_then(Value::as_object).ok_or("no `shapes` object")?;
    let mut cx = Cx { shapes, report: Report::default() };
    if meta.get("signatureVersion").and_then(Value::as_str) == Some("bearer") {
        cx.report.note(Feature::BearerAuth, || "metadata.signatureVersion".into());
    }
    let mut types = TypeSpace::default();
    for (shape_name, shape) in shapes {
        // Every shape is converted (so a broken one fails the load even if unused); only
        // structures, lists, maps and enums become named types.
        let schema = cx.shape_schema(shape_name, shape)?;
        if named_kind(shape) {
            types.named.insert(shape_name.clone(), schema);
        }
    }
    let mut operations = Vec::new();
    let ops = model.get("operations").and_then(Value::as_object).ok_or("no `operations` object")?;
    for (op_name, op) in ops {
        operations.push(cx.operation(op_name, op)?);
    }
    let mut routes = BTreeSet::new();
    for op in &operations {
        let h = &op.versions[0].http;
        if !routes.insert((h.method.clone(), h.path.clone())) {
            cx.report.note(Feature::RouteCollision, || format!("{} {:?} {}", op.name, h.method, h.path));
        }
    }
    if let Some(at) = recursive_shape(shapes) {
        cx.report.note(Feature::Recursive, || at);
    }
    let mut report = cx.report;
    rename_colliding(&mut types, &mut operations, &mut report);
    let service_id = meta.get("serviceId").and_then(Value::as_str).unwrap_or(name);
    let title = meta.get("serviceFullName").and_then(Value::as_str).unwrap_or(service_id).to_string();
    let description = model.get("documentation").and_then(Value::as_str).map(html_to_text).unwrap_or_else(|| title.clone());
    let api = Api {
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
    };
    Ok((api, report))
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

fn flag(v: &Value, k: &str) -> bool {
    v.get(k).and_then(Value::as_bool).unwrap_or(false)
}

fn required_of(shape: &Value) -> Vec<&str> {
    shape.get("required").and_then(Value::as_array).map(|r| r.iter().filter_map(Value::as_str).collect()).unwrap_or_default()
}

/// The wire name of a member in a JSON body: its `locationName`, else its name.
fn wire_name<'v>(member: &'v str, m: &'v Value) -> &'v str {
    m.get("locationName").and_then(Value::as_str).unwrap_or(member)
}

struct Cx<'a> {
    shapes: &'a Map<String, Value>,
    report: Report,
}

impl<'a> Cx<'a> {
    fn shape(&self, target: &str) -> Result<&'a Value, String> {
        self.shapes.get(target).ok_or_else(|| format!("shape `{target}` is not defined"))
    }

    /// The schema of a use of shape `target` (a member, a list item, a map value).
    fn use_of(&mut self, target: &str) -> Result<Schema, String> {
        let shape = self.shape(target)?;
        if named_kind(shape) {
            Ok(Schema::new(Kind::Ref(target.to_string())))
        } else {
            self.shape_schema(target, shape)
        }
    }

    /// The schema of member `member` (spec `m`) of structure `owner`, where it travels in
    /// `location` (`None`: a JSON body).
    fn member(&mut self, owner: &str, member: &str, m: &Value, location: Option<ParamLocation>) -> Result<Schema, String> {
        let at = || format!("{owner}.{member}");
        let t = m.get("shape").and_then(Value::as_str).ok_or_else(|| format!("{}: no shape", at()))?;
        let target = self.shape(t)?;
        let mut schema = self.use_of(t)?;
        if shape_type(target) == "timestamp" {
            // Bodies default to epoch seconds, headers to rfc822 and query/path to iso8601.
            let format = m.get("timestampFormat").or_else(|| target.get("timestampFormat")).and_then(Value::as_str);
            let format = match (format, location) {
                (Some(f), _) => f,
                (None, None) => "unixTimestamp",
                (None, Some(ParamLocation::Header)) => "rfc822",
                (None, Some(_)) => "iso8601",
            };
            if format != "unixTimestamp" {
                self.report.note(Feature::TimestampText, at);
                schema.kind = Kind::String { min_length: None, max_length: None, pattern: None, format: Some(text_timestamp(format)) };
            }
        }
        if location.is_none() && wire_name(member, m) != member {
            self.report.note(Feature::RenamedMember, at);
        }
        if crate::names::field_name(member).ends_with('_') {
            self.report.note(Feature::KeywordMember, at);
        }
        if flag(m, "jsonvalue") || flag(target, "jsonvalue") {
            self.report.note(Feature::JsonValue, at);
        }
        if flag(m, "idempotencyToken") {
            self.report.note(Feature::IdempotencyToken, at);
        }
        if flag(m, "deprecated") {
            self.report.note(Feature::Deprecated, at);
        }
        if flag(m, "hostLabel") {
            self.report.note(Feature::HostPrefix, at);
        }
        if flag(m, "streaming") || flag(target, "streaming") {
            self.report.note(Feature::Streaming, at);
        }
        if flag(target, "eventstream") {
            self.report.note(Feature::EventStream, at);
        }
        match shape_type(target) {
            "structure" if location.is_none() && !flag(target, "eventstream") && !flag(target, "document") => {
                self.report.note(Feature::NestedStructure, at)
            }
            "blob" if location.is_none() => self.report.note(Feature::Blob, at),
            _ => {}
        }
        let d = doc(m);
        if !d.is_empty() {
            schema.description = d;
        }
        Ok(schema)
    }

    fn shape_schema(&mut self, name: &str, shape: &Value) -> Result<Schema, String> {
        let num = |k: &str| shape.get(k).and_then(Value::as_f64);
        let uint = |k: &str| shape.get(k).and_then(Value::as_u64);
        let target = |k: &str| -> Result<&str, String> {
            shape.get(k).and_then(|m| m.get("shape")).and_then(Value::as_str).ok_or_else(|| format!("shape `{name}`: `{k}` missing"))
        };
        if flag(shape, "deprecated") {
            self.report.note(Feature::Deprecated, || name.to_string());
        }
        let kind = match shape_type(shape) {
            // botocore writes Smithy's document type as a structure flagged `document`
            "structure" | "document" if flag(shape, "document") || shape_type(shape) == "document" => {
                self.report.note(Feature::Document, || name.to_string());
                Kind::Any
            }
            "structure" => {
                let required = required_of(shape);
                let members = shape.get("members").and_then(Value::as_object).cloned().unwrap_or_default();
                let mut properties = Vec::new();
                for (member, m) in &members {
                    let schema = self.member(name, member, m, None)?;
                    let required = required.contains(&member.as_str());
                    properties.push(Property { name: wire_name(member, m).to_string(), required, schema });
                }
                // A union: exactly one member is set.
                let alternatives = if flag(shape, "union") || flag(shape, "eventstream") {
                    if flag(shape, "union") {
                        self.report.note(Feature::Union, || name.to_string());
                    }
                    for p in &mut properties {
                        p.required = false;
                    }
                    let sets = properties.iter().map(|p| vec![p.name.clone()]).collect();
                    Some(Alternatives { sets, exclusive: true })
                } else {
                    None
                };
                Kind::Object(ObjectSchema { properties, additional: Additional::Ignore, alternatives })
            }
            "list" => {
                let item = target("member")?;
                if shape_type(self.shape(item)?) == "structure" {
                    self.report.note(Feature::ListOfStructures, || name.to_string());
                }
                Kind::Array { items: Box::new(self.use_of(item)?), min_items: uint("min"), max_items: uint("max") }
            }
            "map" => {
                self.report.note(Feature::Map, || name.to_string());
                Kind::Map(Box::new(self.use_of(target("value")?)?))
            }
            "string" => match shape.get("enum").and_then(Value::as_array) {
                Some(values) => {
                    self.report.note(Feature::Enum, || name.to_string());
                    Kind::Enum(values.iter().filter_map(Value::as_str).map(str::to_string).collect())
                }
                None => {
                    let mut pattern = shape.get("pattern").and_then(Value::as_str).map(str::to_string);
                    if let Some(p) = &pattern {
                        match super::jsonschema::regex_check(p) {
                            Ok(()) => {}
                            // Java regex syntax Rust's regex lacks: the pattern is not checked.
                            Err(e) if JAVA_ONLY.iter().any(|m| e.contains(m)) => {
                                self.report.note(Feature::UnsupportedPattern, || format!("{name}: {p}"));
                                pattern = None;
                            }
                            Err(e) => return Err(format!("shape `{name}`: pattern `{p}`: {e}")),
                        }
                    }
                    Kind::String { min_length: uint("min"), max_length: uint("max"), pattern, format: None }
                }
            },
            "integer" | "long" => Kind::Integer {
                minimum: num("min").map(|v| v as i64),
                maximum: num("max").map(|v| v as i64),
                bits: if shape_type(shape) == "integer" { 32 } else { 64 },
            },
            "byte" | "short" => {
                self.report.note(Feature::ByteShort, || name.to_string());
                let (lo, hi) = if shape_type(shape) == "byte" { (i8::MIN as i64, i8::MAX as i64) } else { (i16::MIN as i64, i16::MAX as i64) };
                Kind::Integer { minimum: Some(num("min").map_or(lo, |v| v as i64)), maximum: Some(num("max").map_or(hi, |v| v as i64)), bits: 32 }
            }
            "double" | "float" => Kind::Number { minimum: num("min"), maximum: num("max"), nonfinite_as_strings: true },
            "bigInteger" | "bigDecimal" => {
                self.report.note(Feature::BigNumber, || name.to_string());
                Kind::Any
            }
            "boolean" => Kind::Boolean,
            "timestamp" => {
                self.report.note(Feature::Timestamp, || name.to_string());
                Kind::Timestamp(TimestampFormat::EpochSeconds)
            }
            "blob" => Kind::String { min_length: None, max_length: None, pattern: None, format: Some("byte".into()) },
            other => return Err(format!("shape `{name}`: type `{other}` is not supported")),
        };
        Ok(Schema { description: doc(shape), kind, default: None, nullable: false })
    }

    fn operation(&mut self, op_name: &str, op: &Value) -> Result<Operation, String> {
        let http = op.get("http").ok_or_else(|| format!("operation {op_name}: no `http`"))?;
        let method = http.get("method").and_then(Value::as_str).ok_or_else(|| format!("operation {op_name}: no http.method"))?;
        let uri = http.get("requestUri").and_then(Value::as_str).ok_or_else(|| format!("operation {op_name}: no http.requestUri"))?;
        let (path, query) = uri.split_once('?').unwrap_or((uri, ""));
        if !query.is_empty() {
            self.report.note(Feature::QueryLiteral, || format!("{op_name}: {uri}"));
        }
        if path.contains("+}") {
            self.report.note(Feature::GreedyLabel, || format!("{op_name}: {uri}"));
        }
        let path = path.replace('+', "");
        if op.get("httpChecksum").is_some() || flag(op, "httpChecksumRequired") {
            self.report.note(Feature::HttpChecksum, || op_name.to_string());
        }
        if op.get("endpoint").and_then(|e| e.get("hostPrefix")).is_some() {
            self.report.note(Feature::HostPrefix, || op_name.to_string());
        }
        if flag(op, "deprecated") {
            self.report.note(Feature::Deprecated, || op_name.to_string());
        }
        let no_auth = op.get("authtype").and_then(Value::as_str) == Some("none")
            || op.get("auth").and_then(Value::as_array).is_some_and(|a| a.iter().any(|x| x.as_str() == Some("smithy.api#noAuth")));
        if no_auth {
            self.report.note(Feature::NoAuth, || op_name.to_string());
        }
        let mut params = Vec::new();
        let mut body = Body::None;
        if let Some(input) = op.get("input").and_then(|i| i.get("shape")).and_then(Value::as_str) {
            let shape = self.shape(input).map_err(|e| format!("operation {op_name}: input: {e}"))?;
            let members = shape.get("members").and_then(Value::as_object).cloned().unwrap_or_default();
            let required = required_of(shape);
            let payload = shape.get("payload").and_then(Value::as_str);
            let mut body_members = Vec::new();
            for (member, m) in &members {
                let at = || format!("{input}.{member}");
                let location = match m.get("location").and_then(Value::as_str) {
                    Some("uri") => ParamLocation::Path,
                    Some("querystring") => ParamLocation::Query,
                    Some("header") => ParamLocation::Header,
                    Some("headers") => {
                        self.report.note(Feature::HeaderMap, at);
                        continue;
                    }
                    Some(_) => continue,
                    None => {
                        body_members.push((member, m));
                        continue;
                    }
                };
                let t = m.get("shape").and_then(Value::as_str).unwrap_or_default();
                match shape_type(self.shape(t)?) {
                    "map" => {
                        self.report.note(Feature::QueryMap, at);
                        continue;
                    }
                    "list" => self.report.note(Feature::ListParameter, at),
                    _ => {}
                }
                let schema = self.member(input, member, m, Some(location))?;
                params.push(Param {
                    name: wire_name(member, m).to_string(),
                    location,
                    required: required.contains(&member.as_str()) || location == ParamLocation::Path,
                    description: schema.description.clone(),
                    schema: Schema { description: String::new(), ..schema },
                });
            }
            if let Some(p) = payload {
                // The body is this one member.
                let m = members.get(p).ok_or_else(|| format!("operation {op_name}: payload `{p}` is not a member of `{input}`"))?;
                let t = m.get("shape").and_then(Value::as_str).unwrap_or_default();
                let target = self.shape(t)?;
                match shape_type(target) {
                    "structure" if !flag(target, "eventstream") => {
                        self.report.note(Feature::StructurePayload, || format!("{op_name}: {p}"));
                        let mut schema = self.member(input, p, m, None)?;
                        schema.description = String::new();
                        body = Body::Json { schema, required: required.contains(&p) };
                    }
                    "structure" => {}
                    "document" => body = Body::Json { schema: Schema::new(Kind::Any), required: required.contains(&p) },
                    _ => self.report.note(Feature::RawRequestPayload, || format!("{op_name}: {p}")),
                }
                // the member itself is reported by `member` (streaming, event streams)
                self.member(input, p, m, None)?;
            } else if params.len() == members.len() && body_members.is_empty() {
                // every member is a parameter: no body
            } else if !body_members.is_empty() && body_members.len() == members.len() {
                body = Body::Json { schema: Schema::new(Kind::Ref(input.to_string())), required: false };
            } else if !body_members.is_empty() {
                // The body is the input without its bound members.
                let mut properties = Vec::new();
                for (member, m) in body_members {
                    let schema = self.member(input, member, m, None)?;
                    properties.push(Property { name: wire_name(member, m).to_string(), required: required.contains(&member.as_str()), schema });
                }
                let obj = ObjectSchema { properties, additional: Additional::Ignore, alternatives: None };
                body = Body::Json { schema: Schema::new(Kind::Object(obj)).described(format!("Body of `{op_name}`.")), required: false };
            }
        }
        let mut response = None;
        let mut raw_response = false;
        if let Some(output) = op.get("output").and_then(|o| o.get("shape")).and_then(Value::as_str) {
            let shape = self.shape(output).map_err(|e| format!("operation {op_name}: output: {e}"))?;
            let members = shape.get("members").and_then(Value::as_object).cloned().unwrap_or_default();
            if let Some((member, _)) = members.iter().find(|(_, m)| m.get("location").is_some()) {
                self.report.note(Feature::ResponseBinding, || format!("{output}.{member}"));
            }
            response = Some(Schema::new(Kind::Ref(output.to_string())));
            if let Some(p) = shape.get("payload").and_then(Value::as_str) {
                let m = members.get(p).ok_or_else(|| format!("operation {op_name}: payload `{p}` is not a member of `{output}`"))?;
                let t = m.get("shape").and_then(Value::as_str).unwrap_or_default();
                let target = self.shape(t)?;
                match shape_type(target) {
                    "structure" if flag(target, "eventstream") => {}
                    "structure" | "document" | "list" | "map" => {
                        self.report.note(Feature::StructurePayload, || format!("{op_name}: {p}"));
                        response = Some(self.use_of(t)?);
                    }
                    _ => {
                        self.report.note(Feature::RawResponsePayload, || format!("{op_name}: {p}"));
                        raw_response = true;
                    }
                }
                self.member(output, p, m, None)?;
            }
        }
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
                raw_response,
                streamed: None,
                authorize: !no_auth,
                errors: Vec::new(),
            }],
        })
    }
}

/// Errors of Rust's regex on patterns that are valid Java regexes (what AWS models are
/// written in): look-around, surrogate escapes (`\uD800`), Java's Unicode properties
/// (`\p{IsAlphabetic}`), class shorthands as range ends (`[\w-.]`), sheer size.
const JAVA_ONLY: &[&str] =
    &["is not supported", "not a Unicode scalar value", "Unicode property not found", "invalid range boundary", "exceeds size limit"];

/// The `format` of a timestamp sent as text.
fn text_timestamp(format: &str) -> String {
    match format {
        "iso8601" => "date-time".into(),
        other => other.into(),
    }
}

/// A shape that reaches itself through its members, if any.
fn recursive_shape(shapes: &Map<String, Value>) -> Option<String> {
    fn refs(shape: &Value) -> Vec<&str> {
        let mut out: Vec<&str> = ["member", "key", "value"].iter().filter_map(|k| shape.get(*k)?.get("shape")?.as_str()).collect();
        if let Some(members) = shape.get("members").and_then(Value::as_object) {
            out.extend(members.values().filter_map(|m| m.get("shape")?.as_str()));
        }
        out
    }
    // Depth-first search with colours: 1 = on the stack, 2 = done.
    let mut colour: BTreeMap<&str, u8> = BTreeMap::new();
    for start in shapes.keys() {
        if colour.contains_key(start.as_str()) {
            continue;
        }
        let mut stack: Vec<(&str, Vec<&str>)> = vec![(start, refs(&shapes[start]))];
        colour.insert(start, 1);
        while let Some((node, next)) = stack.last_mut() {
            let node = *node;
            match next.pop() {
                Some(n) => match colour.get(n) {
                    Some(1) => return Some(n.to_string()),
                    Some(_) => {}
                    None => {
                        if let Some(s) = shapes.get(n) {
                            colour.insert(n, 1);
                            stack.push((n, refs(s)));
                        }
                    }
                },
                None => {
                    colour.insert(node, 2);
                    stack.pop();
                }
            }
        }
    }
    None
}

/// Rename named shapes whose Rust names would collide: with each other once case-converted
/// (`FooBAR`, `FooBar`), or with the request/response types the emitters make per operation
/// (`GetFooRequest` when `GetFoo` has parameters and so gets a request struct of its own).
fn rename_colliding(types: &mut TypeSpace, operations: &mut [Operation], report: &mut Report) {
    // Rust names the emitters define per operation, unless the operation's type is an alias
    // of the shape that carries that very name.
    let mut reserved: BTreeMap<String, Option<String>> = BTreeMap::new();
    for op in operations.iter() {
        let v = &op.versions[0];
        let base = type_name(&op.name);
        let own = |s: Option<&Schema>| match s.map(|s| &s.kind) {
            Some(Kind::Ref(r)) => Some(r.clone()),
            _ => None,
        };
        let req = match (&v.body, v.params.is_empty()) {
            (Body::Json { schema, .. }, true) => own(Some(schema)),
            _ => None,
        };
        reserved.insert(format!("{base}Request"), req);
        reserved.insert(format!("{base}RequestBody"), None);
        reserved.insert(format!("{base}Response"), if v.raw_response { None } else { own(v.response.as_ref()) });
    }
    let mut renames: BTreeMap<String, String> = BTreeMap::new();
    let mut used: BTreeSet<String> = BTreeSet::new();
    // Shapes that keep their name first, so a rename never takes a name a later shape owns.
    let keys: Vec<String> = types.named.keys().cloned().collect();
    let mut order: Vec<&String> = keys.iter().filter(|k| reserved.get(&type_name(k)).is_none_or(|o| o.as_deref() == Some(k.as_str()))).collect();
    order.extend(keys.iter().filter(|k| reserved.get(&type_name(k)).is_some_and(|o| o.as_deref() != Some(k.as_str()))));
    for key in order {
        let rust = type_name(key);
        let clash = used.contains(&rust) || reserved.get(&rust).is_some_and(|o| o.as_deref() != Some(key.as_str()));
        if !clash {
            used.insert(rust);
            continue;
        }
        let mut n = 1;
        let new = loop {
            let candidate = if n == 1 { format!("{key}Shape") } else { format!("{key}Shape{n}") };
            let r = type_name(&candidate);
            if !used.contains(&r) && !reserved.contains_key(&r) && !types.named.contains_key(&candidate) {
                break candidate;
            }
            n += 1;
        };
        report.note(Feature::NameCollision, || format!("{key} → {new}"));
        used.insert(type_name(&new));
        renames.insert(key.clone(), new);
    }
    if renames.is_empty() {
        return;
    }
    let named = std::mem::take(&mut types.named);
    for (k, mut s) in named {
        rename_refs(&mut s, &renames);
        types.named.insert(renames.get(&k).cloned().unwrap_or(k), s);
    }
    for v in operations.iter_mut().flat_map(|o| o.versions.iter_mut()) {
        for p in &mut v.params {
            rename_refs(&mut p.schema, &renames);
        }
        if let Body::Json { schema, .. } = &mut v.body {
            rename_refs(schema, &renames);
        }
        if let Some(r) = &mut v.response {
            rename_refs(r, &renames);
        }
    }
}

fn rename_refs(schema: &mut Schema, renames: &BTreeMap<String, String>) {
    match &mut schema.kind {
        Kind::Ref(r) => {
            if let Some(n) = renames.get(r) {
                *r = n.clone();
            }
        }
        Kind::Array { items, .. } => rename_refs(items, renames),
        Kind::Map(v) => rename_refs(v, renames),
        Kind::Object(o) => o.properties.iter_mut().for_each(|p| rename_refs(&mut p.schema, renames)),
        Kind::Union { variants, .. } => variants.iter_mut().for_each(|v| rename_refs(v, renames)),
        _ => {}
    }
}
