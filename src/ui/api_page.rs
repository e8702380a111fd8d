//! `GET /ui/api`: the API surface generated from the specs: families → operations →
//! versions, with each version's routes, request and response types, their members and an
//! example curl. Everything comes from the generated route tables (`generated::ROUTES`) and
//! the generated OpenAPI document (`crate::docs::OPENAPI_JSON`), both compiled in, so the
//! view is built once.
//!
//! `GET /ui/api/diff?old=NAME&new=NAME`: `codegen --diff` of two spec directories under
//! `serve --spec-versions DIR` (its immediate subdirectories), as a table.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;
use serde_json::{Map, Value};
use specmill_codegen::diff::ChangeKind;
use specmill_runtime::protocol::RouteInfo;

use super::{html, message, Ui, Viewer};
use crate::generated;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/api", web::get().to(page)).route("/api/diff", web::get().to(diff_page));
}

// ---------------------------------------------------------------------------------------
// The API page

/// One API (a tag of the OpenAPI document, one table of `generated::ROUTES`).
struct ApiView {
    name: &'static str,
    title: String,
    anchor: String,
    operations: usize,
    versions: usize,
    routes: usize,
    ops: Vec<OpView>,
}

/// One operation (`events.get_task_log`), all its versions and routes.
struct OpView {
    id: String,
    label: String,
    summary: String,
    description: Option<String>,
    routes: Vec<RouteRow>,
    versions: Vec<VersionView>,
}

/// One route of an operation version (a version may be mounted at several paths).
struct RouteRow {
    version: String,
    version_anchor: String,
    method: &'static str,
    path: &'static str,
    trait_method: &'static str,
    request_type: &'static str,
    response_type: &'static str,
}

/// One version of an operation: what it takes and answers, and how to call it.
struct VersionView {
    anchor: String,
    /// `2.9`, or empty for an unversioned API.
    label: String,
    /// The version's own description, where it differs from the operation's.
    description: Option<String>,
    request_type: &'static str,
    response_type: &'static str,
    request: Shape,
    response: Shape,
    /// `curl -X POST ` (the base URL goes between head and tail).
    curl_head: String,
    curl_tail: String,
}

/// A request or response: its content type, a note on its form, its members.
#[derive(Default)]
struct Shape {
    content_type: String,
    note: String,
    members: Vec<Member>,
}

struct Member {
    name: String,
    /// `body`, `path`, `query`, `header`.
    location: &'static str,
    ty: String,
    required: bool,
    description: String,
}

fn view() -> &'static [ApiView] {
    static VIEW: OnceLock<Vec<ApiView>> = OnceLock::new();
    VIEW.get_or_init(|| {
        let doc: Value = serde_json::from_str(crate::docs::OPENAPI_JSON).unwrap_or_else(|e| {
            tracing::error!(error = %e, "generated/openapi.json does not parse");
            Value::Null
        });
        generated::ROUTES.iter().filter(|t| !t.is_empty()).map(|t| api_view(&doc, t)).collect()
    })
}

fn api_view(doc: &Value, routes: &'static [RouteInfo]) -> ApiView {
    let name = routes[0].api;
    let title = doc["tags"]
        .as_array()
        .and_then(|tags| tags.iter().find(|t| t["name"] == name))
        .and_then(|t| t["description"].as_str())
        .and_then(|d| d.lines().next())
        .filter(|l| !l.trim().is_empty())
        .unwrap_or(name)
        .trim()
        .to_string();
    let mut services: Vec<&str> = routes.iter().map(|r| r.service).collect();
    services.sort_unstable();
    services.dedup();
    let qualified = services.len() > 1;
    // operations in the order the table lists them; within each, versions likewise
    let mut groups: Vec<((&str, &str), Vec<&'static RouteInfo>)> = Vec::new();
    for r in routes {
        let key = (r.service, r.operation);
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, list)) => list.push(r),
            None => groups.push((key, vec![r])),
        }
    }
    let ops: Vec<OpView> = groups.into_iter().map(|((service, operation), list)| op_view(doc, name, service, operation, qualified, &list)).collect();
    ApiView {
        name,
        title,
        anchor: format!("api-{}", ident(name)),
        operations: ops.len(),
        versions: ops.iter().map(|o| o.versions.len()).sum(),
        routes: routes.len(),
        ops,
    }
}

fn op_view(doc: &Value, api: &str, service: &str, operation: &str, qualified: bool, routes: &[&'static RouteInfo]) -> OpView {
    let id = format!("op-{}-{}-{}", ident(api), ident(service), ident(operation));
    let mut versions: Vec<(Option<&str>, Vec<&'static RouteInfo>)> = Vec::new();
    for r in routes {
        match versions.iter_mut().find(|(v, _)| *v == r.version) {
            Some((_, list)) => list.push(r),
            None => versions.push((r.version, vec![r])),
        }
    }
    // the operation reads as its latest version does
    let latest = versions.last().map(|(_, l)| openapi_op(doc, l[0])).unwrap_or(&Value::Null);
    let summary = text(&latest["summary"]);
    let description = text(&latest["description"]);
    let summary = if summary.is_empty() { description.lines().next().unwrap_or_default().to_string() } else { summary };
    let op_description = (!same_text(&description, &summary)).then(|| description.clone());
    let version_anchor = |v: Option<&str>| match v {
        Some(v) => format!("{id}-v{}", ident(v)),
        None => format!("{id}-route"),
    };
    let rows = routes
        .iter()
        .map(|r| RouteRow {
            version: r.version.unwrap_or("").to_string(),
            version_anchor: version_anchor(r.version),
            method: r.method.unwrap_or("any"),
            path: r.path,
            trait_method: r.trait_method,
            request_type: r.request_type,
            response_type: r.response_type,
        })
        .collect();
    let versions = versions
        .into_iter()
        .map(|(v, list)| {
            let r = list[0];
            let op = openapi_op(doc, r);
            let own = text(&op["description"]);
            let own = if own.is_empty() { text(&op["summary"]) } else { own };
            let description = (!own.is_empty() && own != description && !same_text(&own, &summary)).then_some(own);
            let (curl_head, curl_tail) = curl(r);
            VersionView {
                anchor: version_anchor(v),
                label: v.unwrap_or("").to_string(),
                description,
                request_type: r.request_type,
                response_type: r.response_type,
                request: request_shape(doc, op),
                response: response_shape(doc, op),
                curl_head,
                curl_tail,
            }
        })
        .collect();
    OpView {
        id,
        label: if qualified { format!("{service}.{operation}") } else { operation.to_string() },
        summary,
        description: op_description,
        routes: rows,
        versions,
    }
}

/// The OpenAPI operation of a route: by path and method (ClearML's any-method routes are
/// exported as `post`).
fn openapi_op<'a>(doc: &'a Value, r: &RouteInfo) -> &'a Value {
    let method = r.method.unwrap_or("post").to_ascii_lowercase();
    &doc["paths"][r.path][method.as_str()]
}

fn text(v: &Value) -> String {
    v.as_str().unwrap_or_default().trim().to_string()
}

/// `a` says no more than `b` (the same words, give or take a final period).
fn same_text(a: &str, b: &str) -> bool {
    a.trim().trim_end_matches('.') == b.trim().trim_end_matches('.')
}

/// `text` with every character outside `[A-Za-z0-9_-]` as `_` (for id attributes).
fn ident(text: &str) -> String {
    text.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' || c == '-' { c } else { '_' }).collect()
}

/// The example request as a curl command, split around the base URL.
fn curl(r: &RouteInfo) -> (String, String) {
    let method = r.method.unwrap_or("POST");
    let mut tail = r.example_path.to_string();
    if !r.example_body.is_empty() {
        tail.push_str(&format!(" -H {} ", shell_quote(&format!("Content-Type: {}", r.example_content_type))));
        let flag = if r.example_body.contains(['\n', '\r']) { "--data-binary" } else { "-d" };
        tail.push_str(&format!("{flag} {}", shell_quote(r.example_body)));
    }
    (format!("curl -X {method} "), tail)
}

/// `text` as one shell word: single-quoted, or `$'…'` when it holds control characters.
fn shell_quote(text: &str) -> String {
    if text.chars().any(|c| c.is_control()) {
        let mut out = String::from("$'");
        for c in text.chars() {
            match c {
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                '\\' => out.push_str("\\\\"),
                '\'' => out.push_str("\\'"),
                c if c.is_control() => out.push_str(&format!("\\x{:02x}", c as u32)),
                c => out.push(c),
            }
        }
        out.push('\'');
        out
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

/// The schema `$ref` names, else the schema itself.
fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str().and_then(|r| r.strip_prefix("#/components/schemas/")) {
        Some(name) => &doc["components"]["schemas"][name],
        None => schema,
    }
}

/// The name a `$ref` gives its schema (`clearml.task_log_event` → `task_log_event`).
fn ref_name(schema: &Value) -> Option<&str> {
    let name = schema["$ref"].as_str()?.rsplit('/').next()?;
    Some(name.split_once('.').map_or(name, |(_, n)| n))
}

/// A schema's type as one cell: `string`, `integer (int64)`, `array of task_log_event`,
/// `map of string`, `object`, `a | b`, `string: asc, desc`.
fn type_name(schema: &Value) -> String {
    if let Some(name) = ref_name(schema) {
        return name.to_string();
    }
    for key in ["anyOf", "oneOf", "allOf"] {
        if let Some(alts) = schema[key].as_array() {
            let sep = if key == "allOf" { " & " } else { " | " };
            return alts.iter().map(type_name).collect::<Vec<_>>().join(sep);
        }
    }
    let mut ty = match schema["type"].as_str() {
        Some("array") => format!("array of {}", type_name(&schema["items"])),
        Some("object") if schema.get("properties").is_none() && schema["additionalProperties"].as_object().is_some_and(|m| !m.is_empty()) => {
            format!("map of {}", type_name(&schema["additionalProperties"]))
        }
        Some(t) => match schema["format"].as_str() {
            Some(f) => format!("{t} ({f})"),
            None => t.to_string(),
        },
        None if schema.get("properties").is_some() => "object".into(),
        None => "any".into(),
    };
    if let Some(values) = schema["enum"].as_array() {
        let values: Vec<String> = values.iter().map(|v| v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string())).collect();
        ty.push_str(": ");
        ty.push_str(&values.join(", "));
    }
    if schema["nullable"] == true {
        ty.push_str(" or null");
    }
    ty
}

/// The members of an object schema (resolved one `$ref` deep), or a note on its form.
fn members_of(doc: &Value, schema: &Value, location: &'static str) -> (String, Vec<Member>) {
    let target = resolve(doc, schema);
    if let Some(props) = target["properties"].as_object() {
        let note = ref_name(schema).map(|n| format!("schema {n}")).unwrap_or_default();
        return (note, properties(doc, target, props, location));
    }
    let ty = type_name(schema);
    if target["type"] == "array" {
        let items = resolve(doc, &target["items"]);
        if let Some(props) = items["properties"].as_object() {
            return (format!("{ty}, each with:"), properties(doc, items, props, location));
        }
    }
    let shown = if ref_name(schema).is_some() { format!("{ty}: {}", type_name(target)) } else { ty };
    (shown, Vec::new())
}

fn properties(doc: &Value, object: &Value, props: &Map<String, Value>, location: &'static str) -> Vec<Member> {
    let required: Vec<&str> = object["required"].as_array().map(|r| r.iter().filter_map(Value::as_str).collect()).unwrap_or_default();
    props
        .iter()
        .map(|(name, s)| {
            let description = match text(&s["description"]) {
                d if d.is_empty() && s.get("$ref").is_some() => text(&resolve(doc, s)["description"]),
                d => d,
            };
            Member { name: name.clone(), location, ty: type_name(s), required: required.contains(&name.as_str()), description }
        })
        .collect()
}

/// The request: its parameters (path, query, header), then the members of its body.
fn request_shape(doc: &Value, op: &Value) -> Shape {
    let mut shape = Shape::default();
    for p in op["parameters"].as_array().into_iter().flatten() {
        let p = resolve(doc, p);
        let location = match p["in"].as_str() {
            Some("path") => "path",
            Some("query") => "query",
            Some("header") => "header",
            _ => "cookie",
        };
        shape.members.push(Member {
            name: text(&p["name"]),
            location,
            ty: type_name(&p["schema"]),
            required: p["required"] == true,
            description: text(&p["description"]),
        });
    }
    if let Some((ct, media)) = op["requestBody"]["content"].as_object().and_then(|c| c.iter().next()) {
        let (note, members) = members_of(doc, &media["schema"], "body");
        shape.content_type = ct.clone();
        shape.note = note;
        shape.members.extend(members);
    }
    shape
}

/// The success response (200, else the first 2xx); ClearML's `{meta, data}` envelope is
/// shown by the members of its `data`.
fn response_shape(doc: &Value, op: &Value) -> Shape {
    let Some(responses) = op["responses"].as_object() else { return Shape::default() };
    let Some((code, res)) = responses.get_key_value("200").or_else(|| responses.iter().find(|(c, _)| c.starts_with('2'))) else {
        return Shape::default();
    };
    let res = resolve(doc, res);
    let Some((ct, media)) = res["content"].as_object().and_then(|c| c.iter().next()) else {
        return Shape { note: format!("{code}, no body"), ..Shape::default() };
    };
    let schema = &media["schema"];
    let envelope = schema["properties"]["meta"]["$ref"].as_str().is_some_and(|r| r.ends_with("._envelope_meta"));
    let (note, members) = if envelope {
        let (note, members) = members_of(doc, &schema["properties"]["data"], "body");
        (if note.is_empty() { "the envelope's data".to_string() } else { format!("the envelope's data, {note}") }, members)
    } else {
        members_of(doc, schema, "body")
    };
    Shape { content_type: ct.clone(), note, members }
}

#[derive(Template)]
#[template(path = "ui/api.html")]
struct ApiPage<'a> {
    viewer: Option<&'a Viewer>,
    apis: &'static [ApiView],
    /// `http://host:port` of the request, for the curl lines.
    base: String,
    total_operations: usize,
    total_routes: usize,
}

fn base_url(req: &HttpRequest) -> String {
    let info = req.connection_info();
    format!("{}://{}", info.scheme(), info.host())
}

async fn page(req: HttpRequest, viewer: Viewer) -> HttpResponse {
    let apis = view();
    html(&ApiPage {
        viewer: Some(&viewer),
        apis,
        base: base_url(&req),
        total_operations: apis.iter().map(|a| a.operations).sum(),
        total_routes: apis.iter().map(|a| a.routes).sum(),
    })
}

// ---------------------------------------------------------------------------------------
// The diff page

#[derive(Deserialize)]
struct DiffQuery {
    old: Option<String>,
    new: Option<String>,
}

struct DiffRow {
    kind: &'static str,
    breaking: bool,
    api: String,
    operation: String,
    version: String,
    location: String,
    detail: String,
}

/// What the diff page shows below the form.
enum Outcome {
    /// No `--spec-versions`: how to enable it.
    Disabled,
    /// Nothing chosen yet.
    Choose,
    /// A directory did not load (or the root could not be read).
    Failed(String),
    Diff { rows: Vec<DiffRow>, breaking: usize },
}

#[derive(Template)]
#[template(path = "ui/api_diff.html")]
struct DiffPage<'a> {
    viewer: Option<&'a Viewer>,
    root: String,
    names: Vec<String>,
    old: String,
    new: String,
    /// No `--spec-versions`.
    disabled: bool,
    error: Option<String>,
    rows: Option<Vec<DiffRow>>,
    breaking: usize,
}

/// The names of the immediate subdirectories of `root`, sorted.
fn spec_dirs(root: &Path) -> std::io::Result<Vec<String>> {
    let mut names: Vec<String> = std::fs::read_dir(root)?
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()) || e.path().is_dir())
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| !n.starts_with('.'))
        .collect();
    names.sort();
    Ok(names)
}

/// What the blocking part found: the listed names, and the diff or why there is none.
enum Found {
    Listed(Vec<String>, Outcome),
    /// A name that is not one of the listed subdirectories.
    Unknown(String),
}

fn find(root: PathBuf, old: Option<String>, new: Option<String>) -> Found {
    let names = match spec_dirs(&root) {
        Ok(n) => n,
        Err(e) => return Found::Listed(Vec::new(), Outcome::Failed(format!("{}: {e}", root.display()))),
    };
    for name in [&old, &new].into_iter().flatten() {
        if !names.contains(name) {
            return Found::Unknown(name.clone());
        }
    }
    let (Some(old), Some(new)) = (old, new) else { return Found::Listed(names, Outcome::Choose) };
    let outcome = match (specmill_codegen::load::load_dir(&root.join(&old)), specmill_codegen::load::load_dir(&root.join(&new))) {
        (Ok(a), Ok(b)) => {
            let diff = specmill_codegen::diff::diff(&a, &b);
            let breaking = diff.changes.iter().filter(|c| c.breaking).count();
            let rows = diff
                .changes
                .into_iter()
                .map(|c| DiffRow {
                    kind: match c.kind {
                        ChangeKind::Added => "added",
                        ChangeKind::Removed => "removed",
                        ChangeKind::Changed => "changed",
                    },
                    breaking: c.breaking,
                    api: c.api,
                    operation: c.operation,
                    version: c.version.unwrap_or_default(),
                    location: c.location,
                    detail: c.detail,
                })
                .collect();
            Outcome::Diff { rows, breaking }
        }
        (Err(e), _) | (_, Err(e)) => Outcome::Failed(e.to_string()),
    };
    Found::Listed(names, outcome)
}

async fn diff_page(ui: web::Data<Ui>, viewer: Viewer, q: web::Query<DiffQuery>) -> HttpResponse {
    let DiffQuery { old, new } = q.into_inner();
    let (old, new) = (old.filter(|s| !s.is_empty()), new.filter(|s| !s.is_empty()));
    let page = |root: String, names: Vec<String>, outcome: Outcome| {
        let old = old.clone().or_else(|| names.first().cloned()).unwrap_or_default();
        let new = new.clone().or_else(|| names.last().cloned()).unwrap_or_default();
        let (mut disabled, mut error, mut rows, mut breaking) = (false, None, None, 0);
        match outcome {
            Outcome::Disabled => disabled = true,
            Outcome::Choose => {}
            Outcome::Failed(e) => error = Some(e),
            Outcome::Diff { rows: r, breaking: b } => (rows, breaking) = (Some(r), b),
        }
        html(&DiffPage { viewer: Some(&viewer), root, names, old, new, disabled, error, rows, breaking })
    };
    let Some(root) = ui.spec_versions.clone() else {
        return page(String::new(), Vec::new(), Outcome::Disabled);
    };
    let shown = root.display().to_string();
    let (o, n) = (old.clone(), new.clone());
    match web::block(move || find(root, o, n)).await {
        Ok(Found::Listed(names, outcome)) => page(shown, names, outcome),
        Ok(Found::Unknown(name)) => message(
            StatusCode::BAD_REQUEST,
            Some(&viewer),
            "Bad request",
            &format!("{name:?} is not a spec directory under {shown}: choose one of the listed names."),
        ),
        Err(e) => page(shown, Vec::new(), Outcome::Failed(e.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_is_in_the_view_with_its_openapi_operation() {
        let apis = view();
        let routes: usize = apis.iter().map(|a| a.routes).sum();
        assert_eq!(routes, generated::ROUTES.iter().map(|t| t.len()).sum::<usize>());
        let doc: Value = serde_json::from_str(crate::docs::OPENAPI_JSON).unwrap();
        for r in generated::ROUTES.iter().flat_map(|t| t.iter()) {
            assert!(openapi_op(&doc, r).is_object(), "{} {:?}", r.path, r.method);
        }
        let clearml = apis.iter().find(|a| a.name == "clearml").unwrap();
        let log = clearml.ops.iter().find(|o| o.id == "op-clearml-events-get_task_log").unwrap();
        assert_eq!(log.label, "events.get_task_log");
        let v29 = log.versions.iter().find(|v| v.label == "2.9").unwrap();
        let task = v29.request.members.iter().find(|m| m.name == "task").unwrap();
        assert!(task.required && task.ty == "string" && task.description == "Task ID");
        assert!(v29.response.members.iter().any(|m| m.name == "events"), "the envelope's data is shown");
        assert_eq!(v29.curl_tail, "/v2.9/events.get_task_log -H 'Content-Type: application/json' -d '{\"task\":\"example\"}'");
    }

    #[test]
    fn shell_words() {
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote("a\r\nb'"), r"$'a\r\nb\''");
    }
}
