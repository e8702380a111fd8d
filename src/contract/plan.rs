//! The cases of every operation version, built from the IR alone: a minimal and a full valid
//! request, and the negative ones (`specmill_codegen::cases`), each as the HTTP request that
//! API's protocol sends (ClearML `/vX.Y/service.action`, AWS method and URI, OpenAPI path,
//! query, JSON or form body).

use serde_json::Value;
use specmill_codegen::cases::{self, BodyCase, ParamCase, Rule, Skip};
use specmill_codegen::example;
use specmill_codegen::ir::{Api, Body, Schema, Operation, OperationVersion, Param, ParamLocation, Protocol, Service, Version};

use super::send::Prepared;

/// Which operation version a case belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OpId {
    pub api: String,
    pub operation: String,
    /// `-` for unversioned APIs.
    pub version: String,
}

impl std::fmt::Display for OpId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {} {}", self.api, self.operation, self.version)
    }
}

/// What a case expects.
#[derive(Debug, Clone, PartialEq)]
pub enum Expect {
    /// A valid request: a 2xx whose body matches the response schema, or a refusal that is
    /// not about validity (an unknown task).
    Valid,
    /// An invalid request: a 4xx in the API's native format, store unchanged.
    Invalid { rule: Rule, at: String },
}

/// When a valid case runs: writes first so reads find data, deletes last.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Phase {
    Write,
    Read,
    Delete,
}

#[derive(Debug, Clone)]
pub struct Case {
    pub op: OpId,
    /// `minimal`, `full`, or `<rule> at <member>`.
    pub label: String,
    pub expect: Expect,
    pub phase: Phase,
    pub request: Prepared,
    /// The request body as JSON (for checking a negative case against the JSON Schema).
    pub body: Option<Value>,
    /// The value a negative parameter case sends, with its parameter.
    pub param: Option<(Param, Option<String>)>,
    /// The schema `body` follows (for JSON lines: one line's).
    pub body_schema: Option<Schema>,
    /// The schema of a successful reply, and whether it is sent raw (not JSON).
    pub response: Option<Schema>,
    pub raw_response: bool,
}

/// Every case of one API, with what could not be varied.
pub struct ApiPlan {
    pub op_versions: Vec<OpId>,
    pub cases: Vec<Case>,
    pub skips: Vec<(OpId, Skip)>,
}

/// The request of one operation version before it is put on the wire.
#[derive(Clone)]
struct Request {
    /// Parameter values by name (`None`: left out).
    params: Vec<(Param, Option<String>)>,
    body: Option<Value>,
}

pub fn plan(api: &Api) -> ApiPlan {
    let mut out = ApiPlan { op_versions: Vec::new(), cases: Vec::new(), skips: Vec::new() };
    for (service, op, v) in api.operation_versions() {
        let id = OpId {
            api: api.name.clone(),
            operation: op.name.clone(),
            version: v.version.map(|x| x.to_string()).unwrap_or_else(|| "-".into()),
        };
        out.op_versions.push(id.clone());
        let phase = phase(op, v);
        let Some(body_schema) = body_schema(api, service, v) else {
            out.skips.push((id.clone(), Skip { at: "(body)".into(), reason: "the JSON-lines item operation is not in the spec" }));
            continue;
        };
        let minimal = Request {
            params: v
                .params
                .iter()
                .filter(|p| p.location != ParamLocation::Header)
                .map(|p| (p.clone(), (p.required || p.location == ParamLocation::Path).then(|| param_value(api, p, false))))
                .collect(),
            body: body_schema.map(|s| example::minimal(s, &api.types)),
        };
        let full = Request {
            params: v
                .params
                .iter()
                .filter(|p| p.location != ParamLocation::Header)
                .map(|p| (p.clone(), Some(param_value(api, p, true))))
                .collect(),
            body: body_schema.map(|s| cases::full(s, &api.types)),
        };
        for (label, r) in [("minimal", &minimal), ("full", &full)] {
            out.cases.push(Case {
                op: id.clone(),
                label: label.into(),
                expect: Expect::Valid,
                phase,
                request: prepare(api, v, r),
                body: r.body.clone(),
                param: None,
                body_schema: body_schema.cloned(),
                response: v.response.clone(),
                raw_response: v.raw_response,
            });
        }
        if let (Some(schema), Some(base), Some(full_body)) = (body_schema, &minimal.body, &full.body) {
            let (body_cases, skips) = cases::body_negatives(schema, &api.types);
            out.skips.extend(skips.into_iter().map(|s| (id.clone(), s)));
            for c in body_cases {
                let mut r = minimal.clone();
                r.body = Some(cases::apply(base, full_body, &c));
                out.cases.push(negative(api, v, &id, phase, &r, c.rule, body_member(&c), Some(schema)));
            }
        }
        for p in v.params.iter() {
            let (param_cases, skips) = cases::param_negatives(p, &api.types);
            out.skips.extend(skips.into_iter().map(|s| (id.clone(), s)));
            for c in param_cases {
                let r = with_param(&minimal, &c);
                let at = format!("{} parameter `{}`", cases::location_name(c.location), c.name);
                let mut case = negative(api, v, &id, phase, &r, c.rule, at, body_schema);
                case.param = Some((p.clone(), c.text.clone()));
                out.cases.push(case);
            }
        }
    }
    out
}

fn body_member(c: &BodyCase) -> String {
    cases::path_text(&c.path)
}

#[allow(clippy::too_many_arguments)]
fn negative(api: &Api, v: &OperationVersion, id: &OpId, phase: Phase, r: &Request, rule: Rule, at: String, body_schema: Option<&Schema>) -> Case {
    Case {
        op: id.clone(),
        label: format!("{} at {at}", rule.label()),
        expect: Expect::Invalid { rule, at },
        phase,
        request: prepare(api, v, r),
        body: r.body.clone(),
        param: None,
        body_schema: body_schema.cloned(),
        response: v.response.clone(),
        raw_response: v.raw_response,
    }
}

fn with_param(base: &Request, c: &ParamCase) -> Request {
    let mut r = base.clone();
    for (p, value) in r.params.iter_mut() {
        if p.name == c.name && p.location == c.location {
            *value = c.text.clone();
        }
    }
    r
}

/// The JSON schema a body is built from: the operation's own, or for a JSON-lines body the
/// one of the operation each line is a request of (the highest version not above the one
/// named, else the lowest, as the generated server picks it). `Some(None)`: no body.
fn body_schema<'a>(api: &'a Api, service: &'a Service, v: &'a OperationVersion) -> Option<Option<&'a Schema>> {
    match &v.body {
        Body::None => Some(None),
        Body::Json { schema, .. } => Some(Some(schema)),
        Body::JsonLines { operation, version } => {
            let _ = api;
            let op = service.operations.iter().find(|o| &o.name == operation)?;
            let item = pick_version(op, *version)?;
            match &item.body {
                Body::Json { schema, .. } => Some(Some(schema)),
                _ => None,
            }
        }
    }
}

fn pick_version(op: &Operation, version: Option<Version>) -> Option<&OperationVersion> {
    match version {
        None => op.versions.last(),
        Some(want) => op.versions.iter().rfind(|v| v.version.map(|x| x <= want).unwrap_or(true)).or_else(|| op.versions.first()),
    }
}

fn param_value(api: &Api, p: &Param, full: bool) -> String {
    if p.location == ParamLocation::Path || !full {
        return example::path_value(&p.schema, &api.types);
    }
    cases::param_text(&cases::full(&p.schema, &api.types))
}

/// Writes before reads, deletes last: by method where the spec binds one (POST/PUT/PATCH
/// write, DELETE deletes), else by the operation's verb (`add`, `create`, `set`, `log`, …).
fn phase(op: &Operation, v: &OperationVersion) -> Phase {
    let name = op.name.to_ascii_lowercase();
    if name.starts_with("delete") || name.contains("logout") || v.http.method.as_deref() == Some("DELETE") {
        return Phase::Delete;
    }
    match v.http.method.as_deref() {
        Some("POST" | "PUT" | "PATCH") => Phase::Write,
        Some(_) => Phase::Read,
        None => {
            const WRITE_VERBS: &[&str] = &["add", "create", "set", "log", "append", "attach", "upload", "put", "update", "write"];
            if WRITE_VERBS.iter().any(|w| name == *w || name.starts_with(&format!("{w}_"))) {
                Phase::Write
            } else {
                Phase::Read
            }
        }
    }
}

/// The boundary of form bodies.
const BOUNDARY: &str = "specmill-contract-boundary";

fn prepare(api: &Api, v: &OperationVersion, r: &Request) -> Prepared {
    let method = v.http.method.clone().unwrap_or_else(|| "POST".into());
    let mut path = v.http.path.clone();
    let mut query = Vec::new();
    let mut form = Vec::new();
    for (p, value) in &r.params {
        let Some(value) = value else { continue };
        match p.location {
            ParamLocation::Path => path = path.replace(&format!("{{{}}}", p.name), &encode(value)),
            ParamLocation::Query => query.push(format!("{}={}", encode(&p.name), encode(value))),
            ParamLocation::Form => form.push((p, value)),
            ParamLocation::Header => {}
        }
    }
    let mount = api.mounts.first().cloned().unwrap_or_default();
    let version = match (api.protocol, v.version) {
        (Protocol::ClearMl, Some(ver)) => format!("/v{ver}"),
        _ => String::new(),
    };
    let mut url = format!("{mount}{version}{path}");
    if !query.is_empty() {
        url = format!("{url}?{}", query.join("&"));
    }
    let has_form = v.params.iter().any(|p| p.location == ParamLocation::Form);
    let (content_type, body) = if has_form {
        let mut b = String::new();
        for (p, value) in form {
            let file = matches!(&p.schema.kind, specmill_codegen::ir::Kind::String { format: Some(f), .. } if f == "binary");
            let filename = if file { "; filename=\"example.txt\"" } else { "" };
            b.push_str(&format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{}\"{filename}\r\n\r\n{value}\r\n", p.name));
        }
        b.push_str(&format!("--{BOUNDARY}--\r\n"));
        (Some(format!("multipart/form-data; boundary={BOUNDARY}")), b.into_bytes())
    } else {
        match (&v.body, &r.body) {
            (Body::JsonLines { .. }, Some(line)) => (Some("application/json".to_string()), format!("{line}\n").into_bytes()),
            (_, Some(b)) => (Some("application/json".to_string()), b.to_string().into_bytes()),
            (_, None) => (None, Vec::new()),
        }
    };
    Prepared { api: api.name.clone(), method, path: url, content_type, body }
}

/// Percent-encoding of a path segment or query component (everything but unreserved
/// characters), as the client's transport encodes them.
fn encode(s: &str) -> String {
    specmill_client::sigv4::uri_encode(s, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoding_keeps_unreserved_characters_only() {
        assert_eq!(encode("a b/c-1.x"), "a%20b%2Fc-1.x");
        assert_eq!(encode(""), "");
    }
}
