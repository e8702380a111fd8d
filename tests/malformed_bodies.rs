//! Malformed input over every route the specs define (`specmill::generated::ROUTES`, each
//! matched to its operation version in the IR the specs load into): truncated JSON, every
//! member given every wrong JSON type, numbers no Rust type holds, nesting 100,000 deep,
//! invalid UTF-8, empty bodies, broken JSON lines, bodies that are not JSON under other
//! content types, and malformed path and query parameters. Every case must be refused with a
//! 4xx in the API's own error format (or, where the API refuses items one by one, a 2xx that
//! refuses every item), the store must be unchanged after all of them, and the server must
//! still answer. Then a body of about 100 MB per API family gets that API's 413 at once,
//! without the server reading it (declared length) or after reading only up to the limit
//! (chunked).

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{Backend, Server};
use serde_json::{json, Value};
use specmill::contract::check::Checker;
use specmill::contract::plan::{self, Case, Expect, Phase};
use specmill_codegen::ir::{Api, Body, Kind, OperationVersion, ParamLocation, Protocol, Schema, TypeSpace};
use specmill_runtime::protocol::clearml::query_value;

per_backend! {
    every_route_refuses_malformed_input_natively => every_route_refuses_malformed_input_natively;
    hundred_megabyte_bodies_get_native_413s_unread => hundred_megabyte_bodies_get_native_413s_unread;
}

fn apis() -> Vec<Api> {
    specmill_codegen::load::load_dir(&std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("specs")).expect("the specs load")
}

/// One step into a JSON value.
#[derive(Debug, Clone, PartialEq)]
enum Seg {
    Key(String),
    Index(usize),
}

fn path_text(path: &[Seg]) -> String {
    let mut out = String::new();
    for s in path {
        match s {
            Seg::Key(k) if out.is_empty() => out.push_str(k),
            Seg::Key(k) => out.push_str(&format!(".{k}")),
            Seg::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    if out.is_empty() {
        "(body)".into()
    } else {
        out
    }
}

fn resolve<'a>(mut s: &'a Schema, types: &'a TypeSpace) -> &'a Schema {
    while let Kind::Ref(r) = &s.kind {
        match types.named.get(r) {
            Some(n) => s = n,
            None => break,
        }
    }
    s
}

/// The schema of the member at `path` of a value of `s`.
fn schema_at<'a>(s: &'a Schema, path: &[Seg], types: &'a TypeSpace) -> Option<&'a Schema> {
    let s = resolve(s, types);
    let Some((first, rest)) = path.split_first() else { return Some(s) };
    match (&s.kind, first) {
        (Kind::Object(o), Seg::Key(k)) => o.properties.iter().find(|p| &p.name == k).and_then(|p| schema_at(&p.schema, rest, types)),
        (Kind::Map(v), Seg::Key(_)) => schema_at(v, rest, types),
        (Kind::Array { items, .. }, Seg::Index(_)) => schema_at(items, rest, types),
        (Kind::Union { variants, .. }, _) => variants.iter().find_map(|v| schema_at(v, path, types)),
        _ => None,
    }
}

/// Every member of `v` (object members, the first item of arrays), outermost first.
fn members(v: &Value, at: &mut Vec<Seg>, out: &mut Vec<Vec<Seg>>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                at.push(Seg::Key(k.clone()));
                out.push(at.clone());
                members(x, at, out);
                at.pop();
            }
        }
        Value::Array(a) if !a.is_empty() => {
            at.push(Seg::Index(0));
            out.push(at.clone());
            members(&a[0], at, out);
            at.pop();
        }
        _ => {}
    }
}

fn get<'a>(v: &'a Value, path: &[Seg]) -> &'a Value {
    path.iter().fold(v, |v, s| match s {
        Seg::Key(k) => &v[k.as_str()],
        Seg::Index(i) => &v[*i],
    })
}

fn replaced(v: &Value, path: &[Seg], with: Value) -> Value {
    let mut out = v.clone();
    let mut at = &mut out;
    for s in path {
        at = match s {
            Seg::Key(k) => &mut at[k.as_str()],
            Seg::Index(i) => &mut at[*i],
        };
    }
    *at = with;
    out
}

/// The body text of `v` with the member at `path` written as `raw` (bytes that need not be
/// JSON, or not even UTF-8).
fn with_raw(v: &Value, path: &[Seg], raw: &[u8]) -> Vec<u8> {
    const MARK: &str = "\u{1}specmill-raw-member\u{1}";
    let text = replaced(v, path, json!(MARK)).to_string();
    let quoted = serde_json::to_string(MARK).unwrap();
    let at = text.find(&quoted).expect("the marked member");
    let mut out = text.as_bytes()[..at].to_vec();
    out.extend_from_slice(raw);
    out.extend_from_slice(&text.as_bytes()[at + quoted.len()..]);
    out
}

/// The JSON type name of a value.
fn type_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// One request of the malformed run.
struct Sent {
    /// What kind of malformation, as excluded by [`ACCEPTED`]: `truncated`, `wrong type
    /// <type>`, `huge number`, `deep nesting`, `invalid UTF-8`, `empty body`, `broken JSON
    /// line`, `not JSON`, `malformed parameter`.
    kind: &'static str,
    what: String,
    method: String,
    path: String,
    content_type: Option<String>,
    body: Vec<u8>,
}

/// One route of the generated tables, with its full valid request (every member and
/// parameter set) built from its operation version in the IR.
struct Route<'a> {
    api: &'a Api,
    info: &'static specmill_runtime::protocol::RouteInfo,
    v: &'a OperationVersion,
    /// Operation and version, as the contract harness names it (`clearml add 2.1`).
    id: String,
    method: String,
    /// The route's path template under its mount (`/lens/v1/workloads/{uid}/metrics/data`).
    template: String,
    /// The full request's path and query under this route's mount.
    path: String,
    content_type: Option<String>,
    body: Vec<u8>,
    /// The body as JSON and its schema (one line's for a JSON-lines body).
    json: Option<Value>,
    schema: Option<Schema>,
    json_lines: bool,
    form: bool,
}

/// Every route of every API with its full valid request, and the valid write requests of the
/// contract plan (sent first, so the malformed run meets a store with data in it).
fn routes(apis: &[Api]) -> (Vec<Route<'_>>, Vec<(String, Case)>) {
    let plans: Vec<(&Api, Vec<Case>)> = apis.iter().map(|a| (a, plan::plan(a).cases)).collect();
    let mut writes = Vec::new();
    for (_, cases) in &plans {
        for c in cases.iter().filter(|c| c.expect == Expect::Valid && c.phase == Phase::Write) {
            writes.push((c.op.to_string(), c.clone()));
        }
    }
    let mut out = Vec::new();
    for info in specmill::generated::ROUTES.iter().flat_map(|t| t.iter()) {
        let (api, cases) = plans.iter().find(|(a, _)| a.name == info.api).expect("the route's API is in the specs");
        let api: &Api = api;
        let version = info.version.map(str::to_string).unwrap_or_else(|| "-".into());
        let (_, _, v) = api
            .operation_versions()
            .find(|(_, o, v)| o.name == info.operation && v.version.map(|x| x.to_string()).unwrap_or_else(|| "-".into()) == version)
            .expect("the route's operation version is in the IR");
        let full = cases
            .iter()
            .find(|c| c.label == "full" && c.op.operation == info.operation && c.op.version == version)
            .unwrap_or_else(|| panic!("no full case of {} {}", info.api, info.operation));
        // The plan puts every request under the API's first mount; this route may be under another.
        let first = api.mounts.first().cloned().unwrap_or_default();
        let mount = api.mounts.iter().filter(|m| info.path.starts_with(m.as_str())).max_by_key(|m| m.len()).cloned().unwrap_or_default();
        let path = format!("{mount}{}", full.request.path.strip_prefix(first.as_str()).expect("a path under the first mount"));
        let json_lines = matches!(v.body, Body::JsonLines { .. });
        let form = v.params.iter().any(|p| p.location == ParamLocation::Form);
        out.push(Route {
            api,
            info,
            v,
            id: full.op.to_string(),
            method: full.request.method.clone(),
            template: info.path.to_string(),
            path,
            content_type: full.request.content_type.clone(),
            body: full.request.body.clone(),
            json: if form { None } else { full.body.clone() },
            schema: if form { None } else { full.body_schema.clone() },
            json_lines,
            form,
        });
    }
    (out, writes)
}

/// Case kinds a route accepts on purpose, so they are not malformed there and not sent:
/// (API, operation or `*`, kind, member the case is about or `*`). Every other case of
/// these routes is still sent.
const ACCEPTED: &[(&str, &str, &str, &str)] = &[
    // clearml-server drops null members before it reads a request: null is an absent member.
    ("clearml", "*", "wrong type null", "*"),
    // Go's encoding/json leaves a field as it was for a JSON null (the telemetry-processor's
    // binding), so Lens reads null as absent.
    ("lens", "*", "wrong type null", "*"),
    // AWS JSON protocols read a null member as an absent one.
    ("sagemaker", "*", "wrong type null", "*"),
    // marshmallow's DateTime with load_default None takes null: the server's time, as when absent.
    ("dioptra", "append_job_metric", "wrong type null", "timestamp"),
    // The spec: `artifactValues` is accepted and ignored (its wrong types are still refused).
    ("dioptra", "create_experiment_job", "wrong type null", "artifactValues."),
];

/// Whether `route` accepts a case of `kind` about `what` (`<member> = …`) on purpose.
fn accepted(route: &Route, kind: &str, what: &str) -> bool {
    ACCEPTED.iter().any(|(api, op, k, member)| {
        *api == route.info.api
            && (*op == "*" || *op == route.info.operation)
            && kind == *k
            && (*member == "*" || what.split(" = ").next().is_some_and(|m| m == *member || (member.ends_with('.') && m.starts_with(member))))
    })
}

/// Numbers no JSON parser here turns into an f64: malformed wherever they stand.
const OUT_OF_RANGE: &[&str] = &["1e400", "-1e400", "123e99999"];
/// Numbers an f64 holds (rounded) but an integer member does not.
const NOT_AN_I64: &[&str] = &[
    "18446744073709551616",
    "-9223372036854775809",
    "9223372036854775808",
    "1e-400",
    "123456789012345678901234567890",
    "1.5",
];

/// Numbers an i64 holds but a 32-bit integer member does not.
const NOT_AN_I32: &[&str] = &["2147483648", "-2147483649", "4294967296"];

/// The values a parameter of this kind cannot take (raw query or path text).
fn bad_param_values(kind: &Kind) -> &'static [&'static str] {
    match kind {
        Kind::Integer { .. } => &[
            "abc",
            "1.5",
            "1e400",
            "18446744073709551616",
            "-9223372036854775809",
            "123456789012345678901234567890",
            "0x10",
            "%FF%FE",
            "NaN",
            "%5B%5D",
        ],
        Kind::Number { .. } | Kind::Timestamp(_) => &["abc", "1e400", "-1e400", "NaN", "inf", "%FF%FE", "%7B%7D"],
        Kind::Boolean => &["maybe", "2", "%FF%FE", "truee"],
        Kind::Enum(_) => &["not-a-member-%FF", "%00"],
        _ => &[],
    }
}

/// `path` with query parameter `name` set to `raw` (already encoded).
fn with_query(path: &str, name: &str, raw: &str) -> String {
    let (base, query) = path.split_once('?').unwrap_or((path, ""));
    let mut pairs: Vec<String> = query.split('&').filter(|p| !p.is_empty() && p.split('=').next() != Some(name)).map(str::to_string).collect();
    pairs.push(format!("{name}={raw}"));
    format!("{base}?{}", pairs.join("&"))
}

/// `path` with path parameter `name` (a `{name}` segment of `template`) set to `raw`.
fn with_path_param(path: &str, template: &str, name: &str, raw: &str) -> String {
    let (base, query) = path.split_once('?').map(|(b, q)| (b, format!("?{q}"))).unwrap_or((path, String::new()));
    let at = template.split('/').position(|s| s == format!("{{{name}}}")).expect("the parameter's segment");
    let mut segs: Vec<&str> = base.split('/').collect();
    segs[at] = raw;
    format!("{}{query}", segs.join("/"))
}

/// Percent-encoding of a query value (everything but unreserved characters).
fn encode(s: &str) -> String {
    specmill_runtime::sigv4::uri_encode(s, false)
}

/// A query value decoded as the server's form decoding does it (invalid UTF-8 replaced).
fn percent_decoded(raw: &str) -> String {
    let (b, mut out, mut i) = (raw.as_bytes(), Vec::new(), 0);
    while i < b.len() {
        match (b[i], b.get(i + 1..i + 3).and_then(|h| u8::from_str_radix(std::str::from_utf8(h).ok()?, 16).ok())) {
            (b'%', Some(x)) => {
                out.push(x);
                i += 3;
            }
            (b'+', _) => {
                out.push(b' ');
                i += 1;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}


/// Whether every line of a (cut) body is JSON: then it is not malformed.
fn parses(body: &[u8], json_lines: bool) -> bool {
    if json_lines {
        let Ok(text) = std::str::from_utf8(body) else { return false };
        let lines: Vec<&str> = text.trim_end_matches(['\n', '\r']).split('\n').collect();
        return lines.iter().all(|l| serde_json::from_str::<Value>(l).is_ok());
    }
    serde_json::from_slice::<Value>(body).is_ok()
}

/// Every malformed case of one route, and how many cases [`ACCEPTED`] left out.
fn cases(route: &Route, checker: &mut Checker) -> (Vec<Sent>, usize) {
    let (mut out, mut left_out): (Vec<Sent>, usize) = (Vec::new(), 0);
    let json_ct = Some("application/json".to_string());
    let mut push = |kind: &'static str, what: String, path: &str, content_type: Option<String>, body: Vec<u8>| {
        if accepted(route, kind, &what) {
            left_out += 1;
        } else {
            out.push(Sent { kind, what, method: route.method.clone(), path: path.to_string(), content_type, body });
        }
    };
    let types = &route.api.types;
    // Parameters: each typed one given text its kind cannot be.
    for p in route.v.params.iter().filter(|p| matches!(p.location, ParamLocation::Query | ParamLocation::Path)) {
        let kind = &resolve(&p.schema, types).kind;
        for raw in bad_param_values(kind) {
            let path = match p.location {
                ParamLocation::Query => with_query(&route.path, &p.name, raw),
                _ => with_path_param(&route.path, &route.template, &p.name, raw),
            };
            let what = format!("{} parameter `{}` = {raw}", if p.location == ParamLocation::Query { "query" } else { "path" }, p.name);
            push("malformed parameter", what, &path, route.content_type.clone(), route.body.clone());
        }
    }
    if route.form {
        form_cases(route, &mut push);
        return (out, left_out);
    }
    let (Some(body), Some(schema)) = (&route.json, &route.schema) else { return (out, left_out) };
    let key = format!("{} request", route.id);
    let mut invalid = |v: &Value| checker.check(&key, route.api, schema, v).is_err();

    // ClearML also reads a request from the query string when the body is empty (numbers and
    // booleans converted, as clearml-server does): the full request's scalar members as a
    // query, each typed one given text that converts to nothing its schema takes.
    if route.api.protocol == Protocol::ClearMl && !route.json_lines {
        let scalars: Vec<(&String, &Value)> = body.as_object().into_iter().flatten().filter(|(_, v)| !v.is_array() && !v.is_object()).collect();
        let text = |v: &Value| v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string());
        for (name, _) in &scalars {
            let Some(member) = schema_at(schema, &[Seg::Key(name.to_string())], types) else { continue };
            for raw in bad_param_values(&member.kind) {
                let query: Vec<String> = scalars
                    .iter()
                    .map(|(k, v)| if k == name { format!("{k}={raw}") } else { format!("{k}={}", encode(&text(v))) })
                    .collect();
                let mut read = body.clone();
                read[name.as_str()] = query_value(&percent_decoded(raw));
                if invalid(&read) {
                    let path = format!("{}?{}", route.path, query.join("&"));
                    let what = format!("query member `{name}` = {raw}");
                    push("malformed parameter", what, &path, None, Vec::new());
                }
            }
        }
    }
    let encode = |v: &Value| -> Vec<u8> {
        let mut b = v.to_string().into_bytes();
        if route.json_lines {
            b.push(b'\n');
        }
        b
    };
    let path = route.path.as_str();

    // Truncated: the full body cut at several points.
    let full = &route.body;
    let mut cuts: BTreeSet<usize> = (1..8).map(|k| full.len() * k / 8).collect();
    cuts.extend([1, full.len().saturating_sub(1), full.len().saturating_sub(2)]);
    for cut in cuts.into_iter().filter(|c| *c > 0 && *c < full.len()) {
        let b = full[..cut].to_vec();
        if !parses(&b, route.json_lines) {
            push("truncated", format!("cut at byte {cut} of {}", full.len()), path, route.content_type.clone(), b);
        }
    }

    // Wrong types: the whole body and every member as each other JSON type, where the
    // request schema refuses it.
    let others = [json!("wrong-type"), json!(12345), json!(-0.5), json!(true), json!([]), json!(["x", 1]), json!({}), json!({"k": [1]}), Value::Null];
    let mut paths = vec![Vec::new()];
    members(body, &mut Vec::new(), &mut paths);
    for at in &paths {
        let original = get(body, at);
        for other in &others {
            if type_of(other) == type_of(original) {
                continue;
            }
            let changed = replaced(body, at, other.clone());
            if !invalid(&changed) {
                continue;
            }
            let kind = match type_of(other) {
                "null" => "wrong type null",
                "boolean" => "wrong type boolean",
                "number" => "wrong type number",
                "string" => "wrong type string",
                "array" => "wrong type array",
                _ => "wrong type object",
            };
            push(kind, format!("{} = {other}", path_text(at)), path, route.content_type.clone(), encode(&changed));
        }
    }

    // Numbers no type holds: anywhere out of the f64 range; at integer members, beyond i64.
    for at in paths.iter().filter(|at| !at.is_empty()) {
        let original = get(body, at);
        let kind = schema_at(schema, at, types).map(|s| &s.kind);
        let integer = matches!(kind, Some(Kind::Integer { .. }));
        if !original.is_number() && !integer {
            continue;
        }
        let int32 = matches!(kind, Some(Kind::Integer { bits: 32, .. }));
        let raws = OUT_OF_RANGE.iter().chain(if integer { NOT_AN_I64 } else { &[] }).chain(if int32 { NOT_AN_I32 } else { &[] });
        for raw in raws {
            let mut b = with_raw(body, at, raw.as_bytes());
            if route.json_lines {
                b.push(b'\n');
            }
            push("huge number", format!("{} = {raw}", path_text(at)), path, route.content_type.clone(), b);
        }
    }

    // Nesting 100,000 deep: unclosed, closed, and as a member.
    const DEPTH: usize = 100_000;
    push("deep nesting", "[ × 100000".into(), path, json_ct.clone(), "[".repeat(DEPTH).into_bytes());
    push("deep nesting", "{\"a\": × 100000".into(), path, json_ct.clone(), "{\"a\":".repeat(DEPTH).into_bytes());
    let closed = format!("{}{}", "[".repeat(DEPTH), "]".repeat(DEPTH));
    push("deep nesting", "[…] 100000 deep".into(), path, json_ct.clone(), closed.clone().into_bytes());
    if let Some(first) = paths.get(1) {
        let mut b = with_raw(body, first, closed.as_bytes());
        if route.json_lines {
            b.push(b'\n');
        }
        push("deep nesting", format!("{} = […] 100000 deep", path_text(first)), path, route.content_type.clone(), b);
    }

    // Invalid UTF-8 (and an escaped lone surrogate) in every string member, and raw bytes
    // before the body.
    const BAD_TEXT: &[(&str, &[u8])] = &[
        ("bytes ff fe", b"\"\xff\xfe\""),
        ("overlong /", b"\"\xc0\xaf\""),
        ("encoded surrogate", b"\"a\xed\xa0\x80b\""),
        ("truncated sequence", b"\"\xe2\x82\""),
        ("Latin-1 e-acute", b"\"caf\xe9\""),
        ("escaped lone surrogate", b"\"\\ud800\""),
    ];
    for at in paths.iter().filter(|at| get(body, at).is_string()) {
        for (name, raw) in BAD_TEXT {
            let mut b = with_raw(body, at, raw);
            if route.json_lines {
                b.push(b'\n');
            }
            push("invalid UTF-8", format!("{} = {name}", path_text(at)), path, route.content_type.clone(), b);
        }
    }
    let mut b = b"\xff\xfe".to_vec();
    b.extend_from_slice(full);
    push("invalid UTF-8", "ff fe before the body".into(), path, route.content_type.clone(), b);
    let utf16: Vec<u8> = String::from_utf8_lossy(full).encode_utf16().flat_map(|u| u.to_le_bytes()).collect();
    push("invalid UTF-8", "the body in UTF-16".into(), path, route.content_type.clone(), utf16);

    // Empty: where the schema needs members (an empty body reads as `{}`).
    if invalid(&json!({})) || route.json_lines {
        push("empty body", "no bytes".into(), path, route.content_type.clone(), Vec::new());
        push("empty body", "whitespace".into(), path, route.content_type.clone(), b" \r\n\t ".to_vec());
    }

    // JSON lines with a broken line (the other lines valid).
    if route.json_lines {
        let line = body.to_string();
        let broken = [
            ("a truncated line", format!("{line}\n{}\n{line}\n", &line[..line.len() / 2])),
            ("a blank line between", format!("{line}\n\n{line}\n")),
            ("a line that is an array", format!("{line}\n[1, 2]\n")),
            ("a line that is null", format!("{line}\nnull\n")),
            ("a line that is a number", format!("{line}\n12345\n")),
            ("two objects on one line", format!("{line} {line}\n")),
            ("a line 100000 deep", format!("{line}\n{}\n", "[".repeat(DEPTH))),
        ];
        for (what, b) in broken {
            for ct in ["application/json-lines", "application/json"] {
                push("broken JSON line", format!("{what} ({ct})"), path, Some(ct.into()), b.clone().into_bytes());
            }
        }
        let mut b = line.clone().into_bytes();
        b.extend_from_slice(b"\n{\"type\": \"log\", \"task\": \"\xff\"}\n");
        push("broken JSON line", "a line with invalid UTF-8".into(), path, Some("application/json-lines".into()), b);
    }

    // Bodies that are not JSON, under the content types they would have. (A JSON body under
    // another content type is not malformed: every API here reads the body as JSON whatever
    // the header says, as clearml-server, Gin and the AWS services do, so it is not sent.)
    let task = "example";
    for (ct, b) in [
        (Some("text/plain"), "hello, world".to_string()),
        (Some("application/x-www-form-urlencoded"), format!("task={task}&metric=m&value=1")),
        (Some("application/xml"), "<?xml version=\"1.0\"?><event task=\"example\"/>".into()),
        (Some("multipart/form-data; boundary=b0"), "--b0\r\nContent-Disposition: form-data; name=\"task\"\r\n\r\nexample\r\n--b0--\r\n".into()),
        (Some("application/json"), "task=example".into()),
        (Some("application/octet-stream"), "\u{0}\u{1}\u{2}binary".into()),
        (None, "not json at all".into()),
        (Some("application/json"), "{'single': 'quotes'}".into()),
        (Some("application/json"), "{\"trailing\": 1,}".into()),
        (Some("application/json"), "{\"nan\": NaN}".into()),
        (Some("application/json"), "// comment\n{}".into()),
    ] {
        push("not JSON", format!("{} as {}", b.escape_debug(), ct.unwrap_or("(none)")), path, ct.map(str::to_string), b.into_bytes());
    }
    (out, left_out)
}

/// Cases of a `multipart/form-data` route: broken forms, and the form's content under
/// other content types.
fn form_cases(route: &Route, push: &mut impl FnMut(&'static str, String, &str, Option<String>, Vec<u8>)) {
    let path = route.path.as_str();
    let ct = route.content_type.clone();
    let full = &route.body;
    let mut cuts: BTreeSet<usize> = (1..8).map(|k| full.len() * k / 8).collect();
    cuts.extend([1, full.len().saturating_sub(8)]);
    for cut in cuts.into_iter().filter(|c| *c > 0 && *c < full.len()) {
        push("truncated", format!("form cut at byte {cut} of {}", full.len()), path, ct.clone(), full[..cut].to_vec());
    }
    push("empty body", "no bytes".into(), path, ct.clone(), Vec::new());
    for (what, content_type) in [
        ("JSON content type", "application/json"),
        ("no boundary", "multipart/form-data"),
        ("another boundary", "multipart/form-data; boundary=not-the-one"),
        ("text/plain", "text/plain"),
    ] {
        push("not JSON", format!("the form as {what}"), path, Some(content_type.into()), full.clone());
    }
    let unnamed = ct.as_deref().and_then(|c| c.split("boundary=").nth(1)).map(|b| {
        format!("--{b}\r\nContent-Disposition: form-data\r\n\r\nv\r\n--{b}--\r\n").into_bytes()
    });
    if let Some(b) = unnamed {
        push("not JSON", "a part without a name".into(), path, ct.clone(), b);
    }
    push("deep nesting", "[ × 100000".into(), path, Some("application/json".into()), "[".repeat(100_000).into_bytes());

    // Form parts that carry a JSON object as text, given text that is no JSON object.
    let boundary = ct.as_deref().and_then(|c| c.split("boundary=").nth(1)).expect("a boundary");
    let form_params: Vec<&str> = route.v.params.iter().filter(|p| p.location == ParamLocation::Form).map(|p| p.name.as_str()).collect();
    for (_, _, part) in JSON_PARTS.iter().filter(|(api, op, _)| *api == route.info.api && *op == route.info.operation) {
        assert!(form_params.contains(part), "{}: no form part {part}", route.id);
        let deep = "[".repeat(100_000);
        let variants: [(&'static str, &str, &[u8]); 8] = [
            ("truncated", "cut", b"{\"kind\": \"wei"),
            ("wrong type array", "an array", b"[1, 2]"),
            ("wrong type string", "a JSON string", b"\"text\""),
            ("wrong type number", "a number", b"12345"),
            ("huge number", "1e400", b"{\"k\": 1e400}"),
            ("deep nesting", "[ × 100000", deep.as_bytes()),
            ("invalid UTF-8", "bytes ff fe", b"{\"k\": \"\xff\xfe\"}"),
            ("invalid UTF-8", "a lone surrogate", b"{\"k\": \"\\ud800\"}"),
        ];
        for (kind, what, text) in variants {
            let mut b = format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"example.txt\"\r\n\r\nexample\r\n").into_bytes();
            b.extend_from_slice(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{part}\"\r\n\r\n").as_bytes());
            b.extend_from_slice(text);
            b.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
            push(kind, format!("form part `{part}` = {what}"), path, ct.clone(), b);
        }
    }
}

/// Form parts whose text is a JSON object (API, operation, part): Comet's asset `metadata`
/// (the spec: the metadata dict as a JSON string; anything else is a 400).
const JSON_PARTS: &[(&str, &str, &str)] = &[("comet", "upload_experiment_asset", "metadata")];

/// A reply as it came.
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
    fn text(&self) -> String {
        let t = String::from_utf8_lossy(&self.body);
        t.chars().take(300).collect()
    }
}

fn send(agent: &ureq::Agent, base: &str, s: &Sent) -> Reply {
    let mut req = agent.request(&s.method, &format!("{base}{}", s.path));
    if let Some(ct) = &s.content_type {
        req = req.set("Content-Type", ct);
    }
    let resp = match req.send_bytes(&s.body) {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("{} {} ({} {}): no reply: {e}", s.method, s.path, s.kind, s.what),
    };
    let status = resp.status();
    let headers = resp.headers_names().iter().map(|h| (h.to_ascii_lowercase(), resp.header(h).unwrap_or("").to_string())).collect();
    let mut body = Vec::new();
    resp.into_reader().read_to_end(&mut body).expect("the reply's body");
    Reply { status, headers, body }
}

/// Why `reply` is not a refusal in `api`'s own error format (`None`: it is one). The formats
/// are the ones of `runtime/src/protocol/<api>.rs` and `fallback.rs`.
fn not_native(api: &str, reply: &Reply) -> Option<String> {
    if reply.header("content-type") != Some("application/json") {
        return Some(format!("content type {:?}", reply.header("content-type")));
    }
    let Ok(v) = serde_json::from_slice::<Value>(&reply.body) else { return Some("not JSON".into()) };
    let keys: BTreeSet<&str> = v.as_object().map(|m| m.keys().map(String::as_str).collect()).unwrap_or_default();
    let status = reply.status as i64;
    let ok = match api {
        // {"meta": {"id", "trx", "endpoint", "result_code" = status, "result_subcode", "result_msg", …}, "data": {}}
        "clearml" => {
            let m = &v["meta"];
            keys == BTreeSet::from(["meta", "data"])
                && m["result_code"].as_i64() == Some(status)
                && m["result_subcode"].is_u64()
                && m["result_msg"].as_str().is_some_and(|s| !s.is_empty())
                && m["endpoint"]["name"].is_string()
                && m["id"].is_string()
        }
        // x-amzn-ErrorType = __type, {"__type", "message"}, x-amzn-RequestId
        "sagemaker" => {
            keys == BTreeSet::from(["__type", "message"])
                && v["__type"].as_str().is_some_and(|t| !t.is_empty())
                && reply.header("x-amzn-errortype") == v["__type"].as_str()
                && v["message"].is_string()
                && reply.header("x-amzn-requestid").is_some()
        }
        // {"error": "…"}
        "lens" => keys == BTreeSet::from(["error"]) && v["error"].as_str().is_some_and(|s| !s.is_empty()),
        // {"error", "message", "detail", "originating_path"}, {"errors": {field: [msg]}[, "message"]}, {"message"}
        "dioptra" => {
            let service = keys == BTreeSet::from(["error", "message", "detail", "originating_path"]) && v["error"].is_string();
            let fields = (keys == BTreeSet::from(["errors"]) || keys == BTreeSet::from(["errors", "message"]))
                && v["errors"].as_object().is_some_and(|e| !e.is_empty() && e.values().all(|m| m.as_array().is_some_and(|a| a.iter().all(Value::is_string))));
            let message = keys == BTreeSet::from(["message"]) && v["message"].is_string();
            service || fields || message
        }
        // {"msg", "code" = status, "sdk_error_code"}
        "comet" => {
            keys == BTreeSet::from(["msg", "code", "sdk_error_code"])
                && v["msg"].as_str().is_some_and(|s| !s.is_empty())
                && v["code"].as_i64() == Some(status)
                && v["sdk_error_code"].is_i64()
        }
        other => panic!("no native error format known for API {other}"),
    };
    (!ok).then(|| format!("not {api}'s error format"))
}

/// A 2xx that refuses every item of the request, where the API answers item by item:
/// ClearML `add_batch` (`added` 0, `errors` > 0), SageMaker `BatchPutMetrics` (`Errors` for
/// every item), a Lens W&B batch (`success` false).
fn refuses_every_item(route: &Route, reply: &Reply) -> bool {
    let Ok(v) = serde_json::from_slice::<Value>(&reply.body) else { return false };
    match (route.info.api, route.info.operation) {
        ("clearml", "add_batch") => v["data"]["added"] == 0 && v["data"]["errors"].as_i64().unwrap_or(0) > 0,
        ("sagemaker", "batch_put_metrics") => v["Errors"].as_array().is_some_and(|e| !e.is_empty()),
        ("lens", "post_wandb_batch") => v["success"] == false,
        _ => false,
    }
}

fn every_route_refuses_malformed_input_natively(backend: Backend) {
    let Some(s) = Server::start(backend) else { return };
    let started = Instant::now();
    let apis = apis();
    let (routes, writes) = routes(&apis);
    let agent = ureq::AgentBuilder::new().timeout(Duration::from_secs(60)).build();

    // Data first (the valid writes of every API), so "unchanged" means something.
    for (op, c) in &writes {
        let r = send(
            &agent,
            &s.base,
            &Sent {
                kind: "valid",
                what: c.label.clone(),
                method: c.request.method.clone(),
                path: c.request.path.clone(),
                content_type: c.request.content_type.clone(),
                body: c.request.body.clone(),
            },
        );
        assert!(r.status < 500, "{op} {}: {} {}", c.label, r.status, r.text());
    }
    let store = s.store();
    let before = store.fingerprint().unwrap();

    let mut checker = Checker::default();
    let (mut n, mut covered, mut refused_items, mut left_out) = (0usize, 0usize, 0usize, 0usize);
    let mut by_kind: BTreeMap<&str, usize> = BTreeMap::new();
    let mut failures = Vec::new();
    for route in &routes {
        let (sent, accepted) = cases(route, &mut checker);
        left_out += accepted;
        if !sent.is_empty() {
            covered += 1;
        }
        for case in &sent {
            let r = send(&agent, &s.base, case);
            n += 1;
            *by_kind.entry(case.kind).or_default() += 1;
            let what = || format!("{} {} [{}] {}: {} {}", case.method, case.path, case.kind, case.what, r.status, r.text());
            if (200..300).contains(&r.status) && refuses_every_item(route, &r) {
                refused_items += 1;
                continue;
            }
            if !(400..500).contains(&r.status) {
                failures.push(format!("not a 4xx: {}", what()));
            } else if let Some(why) = not_native(route.info.api, &r) {
                failures.push(format!("{why}: {}", what()));
            }
        }
    }
    let routes_n = routes.len();
    eprintln!(
        "malformed bodies: {n} cases over {routes_n} routes ({covered} with cases; {refused_items} refused item by item; \
         {left_out} accepted on purpose, not sent) in {:?}: {by_kind:?}",
        started.elapsed()
    );
    assert!(failures.is_empty(), "{} of {n} cases failed:\n{}", failures.len(), failures.iter().take(60).cloned().collect::<Vec<_>>().join("\n"));
    assert_eq!(store.fingerprint().unwrap(), before, "a malformed request changed the store");

    // Every route with a body or a typed parameter had cases; there are thousands.
    let without: Vec<&str> = routes
        .iter()
        .filter(|r| {
            let typed = r.v.params.iter().any(|p| !bad_param_values(&resolve(&p.schema, &r.api.types).kind).is_empty());
            (r.json.is_some() || r.form || typed) && cases(r, &mut checker).0.is_empty()
        })
        .map(|r| r.info.path)
        .collect();
    assert!(without.is_empty(), "routes without malformed cases: {without:?}");
    assert!(n > 3000, "only {n} cases");

    // The server is still there: a valid write answers 200 and changes the store.
    let run = store.ensure_run("default", "after-malformed", "test").unwrap();
    let r = s.json("POST", &format!("/api/v1/jobs/{}/metrics", run.id), json!({"name": "ok", "value": 1}));
    assert_eq!(r.status, 200, "{}", r.text);
    assert_ne!(store.fingerprint().unwrap(), before);
}

/// About 100 MB: far over the default limit of 16 MiB.
const HUGE: u64 = 100 * 1024 * 1024;

/// How a huge body is sent.
#[derive(Debug, Clone, Copy)]
enum Framing {
    /// `Content-Length: 104857600`: refused from the header, before any of it is read.
    Declared,
    /// `Transfer-Encoding: chunked`: refused once the limit is read.
    Chunked,
}

/// Send `head_json` (a JSON object's opening, e.g. `{"name":"`) followed by filler up to
/// about [`HUGE`] bytes, generated as it is written, on a connection of its own; read the
/// reply while the body is still going out. Returns the reply, how long it took, and how
/// many body bytes had been written when it came.
fn send_huge(base: &str, method: &str, path: &str, content_type: &str, head_json: &str, framing: Framing) -> (Reply, Duration, u64) {
    let addr = base.trim_start_matches("http://");
    let stream = TcpStream::connect(addr).expect("connect");
    stream.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: {content_type}\r\n");
    match framing {
        Framing::Declared => head.push_str(&format!("Content-Length: {HUGE}\r\n\r\n")),
        Framing::Chunked => head.push_str("Transfer-Encoding: chunked\r\n\r\n"),
    }
    let mut writer = stream.try_clone().unwrap();
    writer.write_all(head.as_bytes()).unwrap();
    let written = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let (w, st, head_json) = (written.clone(), stop.clone(), head_json.as_bytes().to_vec());
    let started = Instant::now();
    let thread = std::thread::spawn(move || {
        const CHUNK: usize = 64 * 1024;
        let filler = vec![b'x'; CHUNK];
        let mut sent = 0u64;
        let mut first = Some(head_json);
        while sent < HUGE && !st.load(Ordering::Relaxed) {
            let piece: Vec<u8> = match first.take() {
                Some(h) => h,
                None => filler[..CHUNK.min((HUGE - sent) as usize)].to_vec(),
            };
            let framed = match framing {
                Framing::Declared => piece.clone(),
                Framing::Chunked => {
                    let mut f = format!("{:x}\r\n", piece.len()).into_bytes();
                    f.extend_from_slice(&piece);
                    f.extend_from_slice(b"\r\n");
                    f
                }
            };
            if writer.write_all(&framed).is_err() {
                return;
            }
            sent += piece.len() as u64;
            w.store(sent, Ordering::SeqCst);
        }
        if let Framing::Chunked = framing {
            let _ = writer.write_all(b"0\r\n\r\n");
        }
    });
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line).expect("a status line");
    let elapsed = started.elapsed();
    let at_reply = written.load(Ordering::SeqCst);
    let status: u16 = line.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or_else(|| panic!("status line {line:?}"));
    let mut headers = Vec::new();
    loop {
        line.clear();
        reader.read_line(&mut line).expect("a header line");
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        if let Some((k, v)) = l.split_once(':') {
            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
    }
    let length: usize = headers.iter().find(|(k, _)| k == "content-length").and_then(|(_, v)| v.parse().ok()).expect("a content-length");
    let mut body = vec![0; length];
    reader.read_exact(&mut body).expect("the reply's body");
    stop.store(true, Ordering::Relaxed);
    let _ = reader.get_ref().shutdown(std::net::Shutdown::Both);
    thread.join().unwrap();
    (Reply { status, headers, body }, elapsed, at_reply)
}

fn hundred_megabyte_bodies_get_native_413s_unread(backend: Backend) {
    let Some(s) = Server::start(backend) else { return };
    let store = s.store();
    let run = store.ensure_run("default", "huge", "test").unwrap();
    let before = store.fingerprint().unwrap();
    let dioptra = format!("/api/v1/jobs/{}/metrics", run.id);
    let families: [(&str, &str, &str, &str, &str); 6] = [
        ("clearml", "POST", "/v2.9/events.add_batch", "application/json-lines", r#"{"type":"training_stats_scalar","task":"huge","metric":""#),
        ("sagemaker", "PUT", "/BatchPutMetrics", "application/json", r#"{"TrialComponentName":"huge","MetricData":[{"MetricName":""#),
        ("dioptra", "POST", &dioptra, "application/json", r#"{"name":""#),
        ("lens", "POST", "/v1/wandb/batch", "application/json", r#"{"metrics":{"workload_uid":""#),
        ("comet", "POST", "/api/rest/v2/write/experiment/metric", "application/json", r#"{"experimentKey":"huge","metricName":""#),
        ("comet", "POST", "/api/rest/v2/write/experiment/upload-asset?experimentKey=huge&fileName=big.bin", "multipart/form-data; boundary=b0", "--b0\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.bin\"\r\n\r\n"),
    ];
    for framing in [Framing::Declared, Framing::Chunked] {
        for (api, method, path, ct, head) in families {
            let (r, took, written) = send_huge(&s.base, method, path, ct, head, framing);
            let what = format!("{framing:?} {method} {path}: {} after {took:?}, {written} bytes written: {}", r.status, r.text());
            assert_eq!(r.status, 413, "{what}");
            assert_eq!(not_native(api, &r), None, "{what}");
            assert!(took < Duration::from_secs(10), "{what}");
            // The reply came before the body was all sent: the server did not wait for it.
            assert!(written < HUGE, "{what}");
            if let Framing::Declared = framing {
                // Refused from the declared length: at most what the socket buffers took.
                assert!(written < 16 * 1024 * 1024, "{what}");
            }
            eprintln!("{what}");
        }
    }
    assert_eq!(store.fingerprint().unwrap(), before);
    // The server is still there.
    let r = s.json("POST", &dioptra, json!({"name": "ok", "value": 1}));
    assert_eq!(r.status, 200, "{}", r.text);
}
