//! What a spec change does to the served API (`specmill codegen --diff OLD NEW`), worked out
//! on the IR alone: APIs, operations (routes) and versions added or removed, and request and
//! response fields added, removed or retyped, each marked breaking or not for existing clients.
//!
//! A request schema that accepts fewer values than before (narrower) breaks clients, and so
//! does a response schema that may send more (wider); a change that is neither (integer →
//! string) breaks both. Descriptions are ignored.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::ir::{Additional, Alternatives, Api, Body, Kind, ObjectSchema, OperationVersion, Param, ParamLocation, Schema, TypeSpace};

/// Every change between two loads of a spec directory, in API, operation and version order.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SpecDiff {
    pub changes: Vec<Change>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Change {
    pub api: String,
    /// The route: `events.get_task_log` (ClearML) or `METHOD /path`; empty for a change of the API itself.
    pub operation: String,
    /// The operation version (ClearML); `None` for unversioned APIs and whole operations.
    pub version: Option<String>,
    /// Where in the operation version: `request.task`, `response.events[].timestamp`,
    /// `query.limit` (`[]` an array's items, `.*` a map's values); empty for the version itself.
    pub location: String,
    pub kind: ChangeKind,
    /// What changed: `integer → string`, `now required`, `added, optional string`.
    pub detail: String,
    /// Existing clients may fail.
    pub breaking: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ChangeKind {
    Added,
    Removed,
    Changed,
}

impl ChangeKind {
    fn as_str(self) -> &'static str {
        match self {
            ChangeKind::Added => "added",
            ChangeKind::Removed => "removed",
            ChangeKind::Changed => "changed",
        }
    }
}

impl SpecDiff {
    pub fn is_breaking(&self) -> bool {
        self.changes.iter().any(|c| c.breaking)
    }

    /// An aligned table, one block per API, then a summary line (`3 changes, 1 breaking`).
    pub fn render_text(&self) -> String {
        let cells = |c: &Change| {
            let op = if c.operation.is_empty() { "(api)".to_string() } else { c.operation.clone() };
            let flag = if c.breaking { "BREAKING" } else { "" };
            [op, c.version.clone().unwrap_or_default(), c.location.clone(), c.kind.as_str().into(), flag.into()]
        };
        let mut widths = [0usize; 5];
        for c in &self.changes {
            for (w, cell) in widths.iter_mut().zip(cells(c)) {
                *w = (*w).max(cell.chars().count());
            }
        }
        let mut out = String::new();
        let mut api = None;
        for c in &self.changes {
            if api != Some(&c.api) {
                out.push_str(&c.api);
                out.push('\n');
                api = Some(&c.api);
            }
            let mut line = String::from("  ");
            for (w, cell) in widths.iter().zip(cells(c)) {
                if *w > 0 {
                    line.push_str(&format!("{cell:<w$}  "));
                }
            }
            line.push_str(&c.detail);
            out.push_str(line.trim_end());
            out.push('\n');
        }
        let n = self.changes.len();
        let breaking = self.changes.iter().filter(|c| c.breaking).count();
        match n {
            0 => out.push_str("no changes\n"),
            1 => out.push_str(&format!("1 change, {breaking} breaking\n")),
            _ => out.push_str(&format!("{n} changes, {breaking} breaking\n")),
        }
        out
    }
}

/// The changes from `old` to `new` (each a [`crate::load::load_dir`] result).
pub fn diff(old: &[Api], new: &[Api]) -> SpecDiff {
    let mut changes = Vec::new();
    let names: std::collections::BTreeSet<&str> = old.iter().chain(new).map(|a| a.name.as_str()).collect();
    for name in names {
        let mut cx = Cx { api: name, operation: String::new(), version: None, old: &NO_TYPES, new: &NO_TYPES, stack: Vec::new(), out: &mut changes };
        match (old.iter().find(|a| a.name == name), new.iter().find(|a| a.name == name)) {
            (Some(a), Some(b)) => cx.api(a, b),
            (Some(_), None) => cx.push("", ChangeKind::Removed, "API removed", true),
            (None, _) => cx.push("", ChangeKind::Added, "new API", false),
        }
    }
    SpecDiff { changes }
}

static NO_TYPES: TypeSpace = TypeSpace { named: BTreeMap::new() };

/// Which side of the wire a schema describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dir {
    Request,
    Response,
}

/// How the set of values a schema accepts changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Compat {
    Narrower,
    Wider,
    /// Neither: breaks both sides.
    Other,
    /// The same values on the wire.
    Same,
}

impl Compat {
    fn breaks(self, dir: Dir) -> bool {
        match self {
            Compat::Other => true,
            Compat::Same => false,
            Compat::Narrower => dir == Dir::Request,
            Compat::Wider => dir == Dir::Response,
        }
    }
}

/// The route an operation version is served at: `events.get_task_log` for ClearML (any
/// method), `METHOD /path` otherwise.
fn route(v: &OperationVersion) -> String {
    match &v.http.method {
        Some(m) => format!("{m} {}", v.http.path),
        None => v.http.path.trim_start_matches('/').to_string(),
    }
}

fn routes(api: &Api) -> BTreeMap<String, Vec<&OperationVersion>> {
    let mut map: BTreeMap<String, Vec<&OperationVersion>> = BTreeMap::new();
    for (_, _, v) in api.operation_versions() {
        map.entry(route(v)).or_default().push(v);
    }
    map
}

fn version_label(v: &OperationVersion) -> Option<String> {
    v.version.map(|v| v.to_string())
}

/// The comparison of one API: where changes go and what they are about.
struct Cx<'a> {
    api: &'a str,
    operation: String,
    version: Option<String>,
    old: &'a TypeSpace,
    new: &'a TypeSpace,
    /// The named types (old, new) being compared on the way here: a recursive type stops here.
    stack: Vec<(String, String)>,
    out: &'a mut Vec<Change>,
}

impl<'a> Cx<'a> {
    fn push(&mut self, location: &str, kind: ChangeKind, detail: impl Into<String>, breaking: bool) {
        self.out.push(Change {
            api: self.api.to_string(),
            operation: self.operation.clone(),
            version: self.version.clone(),
            location: location.to_string(),
            kind,
            detail: detail.into(),
            breaking,
        });
    }

    fn changed(&mut self, at: &str, detail: impl Into<String>, compat: Compat, dir: Dir) {
        self.push(at, ChangeKind::Changed, detail, compat.breaks(dir));
    }

    fn api(&mut self, a: &'a Api, b: &'a Api) {
        self.old = &a.types;
        self.new = &b.types;
        for m in a.mounts.iter().filter(|m| !b.mounts.contains(m)) {
            self.push("mount", ChangeKind::Removed, format!("{m}/"), true);
        }
        for m in b.mounts.iter().filter(|m| !a.mounts.contains(m)) {
            self.push("mount", ChangeKind::Added, format!("{m}/"), false);
        }
        let (ra, rb) = (routes(a), routes(b));
        let keys: std::collections::BTreeSet<&String> = ra.keys().chain(rb.keys()).collect();
        for key in keys {
            self.operation = key.clone();
            self.version = None;
            match (ra.get(key), rb.get(key)) {
                (Some(va), Some(vb)) => {
                    for v in va.iter().filter(|v| !vb.iter().any(|w| w.version == v.version)) {
                        self.version = version_label(v);
                        self.push("", ChangeKind::Removed, "version removed", true);
                    }
                    for v in vb {
                        self.version = version_label(v);
                        match va.iter().find(|w| w.version == v.version) {
                            Some(w) => self.operation_version(w, v),
                            None => self.push("", ChangeKind::Added, "new version", false),
                        }
                    }
                }
                (Some(_), None) => self.push("", ChangeKind::Removed, "operation removed", true),
                (None, _) => self.push("", ChangeKind::Added, "new operation", false),
            }
        }
    }

    fn operation_version(&mut self, a: &OperationVersion, b: &OperationVersion) {
        match (a.authorize, b.authorize) {
            (true, false) => self.changed("", "no longer needs credentials", Compat::Wider, Dir::Request),
            (false, true) => self.changed("", "now needs credentials", Compat::Narrower, Dir::Request),
            _ => {}
        }
        self.params(&a.params, &b.params);
        match (&a.body, &b.body) {
            (Body::None, Body::None) => {}
            (Body::Json { schema: sa, required: ra }, Body::Json { schema: sb, required: rb }) => {
                if ra != rb {
                    self.required("request", *ra, *rb, Dir::Request);
                }
                self.schema("request", sa, sb, Dir::Request);
            }
            (Body::JsonLines { operation: oa, version: va }, Body::JsonLines { operation: ob, version: vb }) => {
                if (oa, va) != (ob, vb) {
                    let lines = |o: &str, v: &Option<crate::ir::Version>| format!("{o}{}", v.map(|v| format!(" {v}")).unwrap_or_default());
                    self.changed("request", format!("JSON lines of {} → {}", lines(oa, va), lines(ob, vb)), Compat::Other, Dir::Request);
                }
            }
            (Body::None, Body::Json { required, .. }) => {
                let what = if *required { "required" } else { "optional" };
                self.push("request", ChangeKind::Added, format!("added, {what} body"), *required);
            }
            (_, Body::None) => self.push("request", ChangeKind::Removed, "body removed", true),
            (_, _) => self.changed("request", format!("{} → {}", body_name(&a.body), body_name(&b.body)), Compat::Other, Dir::Request),
        }
        match (&a.response, &b.response) {
            (Some(sa), Some(sb)) => {
                if a.raw_response != b.raw_response {
                    let detail = if b.raw_response { "now sent as it is, not as JSON" } else { "now sent as JSON" };
                    self.changed("response", detail, Compat::Other, Dir::Response);
                }
                self.schema("response", sa, sb, Dir::Response);
            }
            (None, Some(_)) => self.push("response", ChangeKind::Added, "added", false),
            (Some(_), None) => self.push("response", ChangeKind::Removed, "removed", true),
            (None, None) => {}
        }
    }

    /// Path, query, header and form parameters, named `query.limit`. Unknown parameters are
    /// ignored by the server, so a removed one breaks no request.
    fn params(&mut self, a: &[Param], b: &[Param]) {
        let key = |p: &Param| {
            let loc = match p.location {
                ParamLocation::Path => "path",
                ParamLocation::Query => "query",
                ParamLocation::Header => "header",
                ParamLocation::Form => "form",
            };
            format!("{loc}.{}", p.name)
        };
        for p in a.iter().filter(|p| !b.iter().any(|q| key(q) == key(p))) {
            self.push(&key(p), ChangeKind::Removed, "removed (unknown parameters are ignored)", false);
        }
        for q in b {
            let at = key(q);
            match a.iter().find(|p| key(p) == at) {
                Some(p) => {
                    self.required(&at, p.required, q.required, Dir::Request);
                    self.schema(&at, &p.schema, &q.schema, Dir::Request);
                }
                None => self.added(&at, q.required, &q.schema, Dir::Request),
            }
        }
    }

    fn added(&mut self, at: &str, required: bool, s: &Schema, dir: Dir) {
        match dir {
            Dir::Request => {
                let what = if required { "required" } else { "optional" };
                self.push(at, ChangeKind::Added, format!("added, {what} {}", type_name(s)), required);
            }
            Dir::Response => self.push(at, ChangeKind::Added, format!("added, {}", type_name(s)), false),
        }
    }

    fn required(&mut self, at: &str, a: bool, b: bool, dir: Dir) {
        match (a, b) {
            (false, true) => self.changed(at, "now required", Compat::Narrower, dir),
            (true, false) => self.changed(at, "now optional", Compat::Wider, dir),
            _ => {}
        }
    }

    fn schema(&mut self, at: &str, a: &Schema, b: &Schema, dir: Dir) {
        let (sa, na, ra) = resolved(a, self.old);
        let (sb, nb, rb) = resolved(b, self.new);
        let refs = (ra.is_some() || rb.is_some()).then(|| (ra.unwrap_or_default().to_string(), rb.unwrap_or_default().to_string()));
        if let Some(pair) = &refs {
            if self.stack.contains(pair) {
                return;
            }
            self.stack.push(pair.clone());
        }
        match (na, nb) {
            (true, false) => self.changed(at, "no longer nullable", Compat::Narrower, dir),
            (false, true) => self.changed(at, "now nullable", Compat::Wider, dir),
            _ => {}
        }
        let (da, db) = (a.default.as_ref().or(sa.default.as_ref()), b.default.as_ref().or(sb.default.as_ref()));
        if dir == Dir::Request && da != db {
            let show = |d: Option<&serde_json::Value>| d.map(|v| v.to_string()).unwrap_or_else(|| "none".into());
            self.changed(at, format!("default {} → {}", show(da), show(db)), Compat::Same, dir);
        }
        self.kind(at, &sa.kind, &sb.kind, dir);
        if refs.is_some() {
            self.stack.pop();
        }
    }

    fn kind(&mut self, at: &str, a: &Kind, b: &Kind, dir: Dir) {
        let retyped = |cx: &mut Cx, compat| cx.changed(at, format!("{} → {}", kind_name(a), kind_name(b)), compat, dir);
        match (a, b) {
            (Kind::Any, Kind::Any) | (Kind::Boolean, Kind::Boolean) | (Kind::Timestamp(_), Kind::Timestamp(_)) => {}
            (Kind::Any, _) => retyped(self, Compat::Narrower),
            (_, Kind::Any) => retyped(self, Compat::Wider),
            (Kind::Integer { minimum: mina, maximum: maxa, bits: ba }, Kind::Integer { minimum: minb, maximum: maxb, bits: bb }) => {
                if ba != bb {
                    let compat = if bb > ba { Compat::Wider } else { Compat::Narrower };
                    self.changed(at, format!("{ba}-bit → {bb}-bit integer"), compat, dir);
                }
                self.bounds(at, "minimum", "maximum", ints(mina, maxa), ints(minb, maxb), dir);
            }
            (
                Kind::Number { minimum: mina, maximum: maxa, nonfinite_as_strings: sa },
                Kind::Number { minimum: minb, maximum: maxb, nonfinite_as_strings: sb },
            ) => {
                if sa != sb {
                    let detail = if *sb { "NaN and ±Infinity now sent as strings" } else { "NaN and ±Infinity no longer sent as strings" };
                    self.changed(at, detail, Compat::Other, dir);
                }
                self.bounds(at, "minimum", "maximum", [*mina, *maxa], [*minb, *maxb], dir);
            }
            (Kind::Integer { minimum: mina, maximum: maxa, .. }, Kind::Number { minimum: minb, maximum: maxb, .. }) => {
                retyped(self, Compat::Wider);
                self.bounds(at, "minimum", "maximum", ints(mina, maxa), [*minb, *maxb], dir);
            }
            (Kind::Number { minimum: mina, maximum: maxa, .. }, Kind::Integer { minimum: minb, maximum: maxb, .. }) => {
                retyped(self, Compat::Narrower);
                self.bounds(at, "minimum", "maximum", [*mina, *maxa], ints(minb, maxb), dir);
            }
            (Kind::Timestamp(_), Kind::Number { .. }) | (Kind::Number { .. }, Kind::Timestamp(_)) => retyped(self, Compat::Same),
            (
                Kind::String { min_length: mina, max_length: maxa, pattern: pa, format: fa },
                Kind::String { min_length: minb, max_length: maxb, pattern: pb, format: fb },
            ) => {
                self.bounds(at, "minLength", "maxLength", counts(mina, maxa), counts(minb, maxb), dir);
                self.constraint(at, "pattern", pa, pb, dir);
                self.constraint(at, "format", fa, fb, dir);
            }
            (Kind::Enum(va), Kind::Enum(vb)) => {
                let gone: Vec<&str> = va.iter().filter(|v| !vb.contains(v)).map(String::as_str).collect();
                let new: Vec<&str> = vb.iter().filter(|v| !va.contains(v)).map(String::as_str).collect();
                if !gone.is_empty() {
                    self.changed(at, format!("enum values removed: {}", gone.join(", ")), Compat::Narrower, dir);
                }
                if !new.is_empty() {
                    self.changed(at, format!("enum values added: {}", new.join(", ")), Compat::Wider, dir);
                }
            }
            (Kind::String { .. }, Kind::Enum(_) | Kind::Const(_)) | (Kind::Enum(_), Kind::Const(_)) => retyped(self, Compat::Narrower),
            (Kind::Enum(_) | Kind::Const(_), Kind::String { .. }) | (Kind::Const(_), Kind::Enum(_)) => retyped(self, Compat::Wider),
            (Kind::Const(x), Kind::Const(y)) => {
                if x != y {
                    retyped(self, Compat::Other);
                }
            }
            (Kind::Array { items: ia, min_items: mina, max_items: maxa }, Kind::Array { items: ib, min_items: minb, max_items: maxb }) => {
                self.bounds(at, "minItems", "maxItems", counts(mina, maxa), counts(minb, maxb), dir);
                self.schema(&format!("{at}[]"), ia, ib, dir);
            }
            (Kind::Map(va), Kind::Map(vb)) => self.schema(&format!("{at}.*"), va, vb, dir),
            (Kind::Object(oa), Kind::Object(ob)) => self.object(at, oa, ob, dir),
            // an object that names no members is a map (ClearML's `type: object`)
            (Kind::Map(v), Kind::Object(ob)) => self.object(at, &map_object(v), ob, dir),
            (Kind::Object(oa), Kind::Map(v)) => self.object(at, oa, &map_object(v), dir),
            (Kind::Union { variants: va, exclusive: ea, .. }, Kind::Union { variants: vb, exclusive: eb, .. }) => self.union(at, (va, *ea), (vb, *eb), dir),
            // several success replies: each status's body compared, a status gone narrows, a new one widens
            (Kind::Replies(ra), Kind::Replies(rb)) => {
                for x in ra {
                    match rb.iter().find(|y| y.status == x.status) {
                        Some(y) => {
                            if let (Some(sa), Some(sb)) = (&x.schema, &y.schema) {
                                self.schema(&format!("{at}[{}]", x.status), sa, sb, dir);
                            } else if x.schema.is_some() != y.schema.is_some() {
                                self.changed(&format!("{at}[{}]", x.status), "body added or removed", Compat::Other, dir);
                            }
                        }
                        None => self.changed(at, format!("reply {} removed", x.status), Compat::Narrower, dir),
                    }
                }
                for y in rb.iter().filter(|y| !ra.iter().any(|x| x.status == y.status)) {
                    self.changed(at, format!("reply {} added", y.status), Compat::Wider, dir);
                }
            }
            (Kind::Union { variants, .. }, _) if variants.iter().any(|v| kind_name(&resolved(v, self.old).0.kind) == kind_name(b)) => {
                retyped(self, Compat::Narrower)
            }
            (_, Kind::Union { variants, .. }) if variants.iter().any(|v| kind_name(&resolved(v, self.new).0.kind) == kind_name(a)) => {
                retyped(self, Compat::Wider)
            }
            (Kind::Ref(x), Kind::Ref(y)) if x == y => {}
            _ => retyped(self, Compat::Other),
        }
    }

    /// Lower and upper bounds: a raised minimum or lowered maximum narrows, the reverse widens.
    fn bounds(&mut self, at: &str, low: &str, high: &str, a: [Option<f64>; 2], b: [Option<f64>; 2], dir: Dir) {
        let show = |v: Option<f64>| v.map(|v| v.to_string()).unwrap_or_else(|| "none".into());
        for (i, name) in [low, high].into_iter().enumerate() {
            let (x, y) = (a[i], b[i]);
            if x == y {
                continue;
            }
            // a bound that is there, or tighter, narrows
            let tighter = match (x, y) {
                (None, Some(_)) => true,
                (Some(_), None) => false,
                (Some(x), Some(y)) => if i == 0 { y > x } else { y < x },
                (None, None) => continue,
            };
            self.changed(at, format!("{name} {} → {}", show(x), show(y)), if tighter { Compat::Narrower } else { Compat::Wider }, dir);
        }
    }

    /// A pattern or format: one that appears narrows, one that goes widens, another one is neither.
    fn constraint(&mut self, at: &str, name: &str, a: &Option<String>, b: &Option<String>, dir: Dir) {
        let compat = match (a, b) {
            (None, Some(_)) => Compat::Narrower,
            (Some(_), None) => Compat::Wider,
            (Some(x), Some(y)) if x != y => Compat::Other,
            _ => return,
        };
        let show = |v: &Option<String>| v.as_deref().map(|v| format!("`{v}`")).unwrap_or_else(|| "none".into());
        self.changed(at, format!("{name} {} → {}", show(a), show(b)), compat, dir);
    }

    fn object(&mut self, at: &str, a: &ObjectSchema, b: &ObjectSchema, dir: Dir) {
        for p in a.properties.iter().filter(|p| !b.properties.iter().any(|q| q.name == p.name)) {
            let loc = format!("{at}.{}", p.name);
            match dir {
                Dir::Response => self.push(&loc, ChangeKind::Removed, "removed", true),
                Dir::Request if matches!(b.additional, Additional::Forbid) => {
                    self.push(&loc, ChangeKind::Removed, "removed, and unknown members are rejected", true)
                }
                Dir::Request => self.push(&loc, ChangeKind::Removed, "removed (now ignored as unknown)", false),
            }
        }
        for q in &b.properties {
            let loc = format!("{at}.{}", q.name);
            match a.properties.iter().find(|p| p.name == q.name) {
                Some(p) => {
                    self.required(&loc, p.required, q.required, dir);
                    self.schema(&loc, &p.schema, &q.schema, dir);
                }
                None => self.added(&loc, q.required, &q.schema, dir),
            }
        }
        match (&a.additional, &b.additional) {
            (Additional::Forbid, Additional::Forbid) => {}
            (_, Additional::Forbid) => self.changed(at, "unknown members now rejected", Compat::Narrower, dir),
            (Additional::Forbid, _) => self.changed(at, "unknown members now accepted", Compat::Wider, dir),
            (Additional::Keep(x), Additional::Keep(y)) => self.schema(&format!("{at}.*"), x, y, dir),
            _ => {}
        }
        if a.alternatives != b.alternatives {
            let show = |x: &Option<Alternatives>| match x {
                None => "none".to_string(),
                Some(x) => {
                    let sets: Vec<String> = x.sets.iter().map(|s| format!("[{}]", s.join(", "))).collect();
                    format!("{} {}", if x.exclusive { "exactly one of" } else { "one of" }, sets.join(" "))
                }
            };
            let within = |x: &Alternatives, y: &Alternatives| x.sets.iter().all(|s| y.sets.contains(s));
            let compat = match (&a.alternatives, &b.alternatives) {
                (None, _) => Compat::Narrower,
                (_, None) => Compat::Wider,
                (Some(x), Some(y)) if within(x, y) && (x.exclusive || !y.exclusive) => Compat::Wider,
                (Some(x), Some(y)) if within(y, x) && (y.exclusive || !x.exclusive) => Compat::Narrower,
                _ => Compat::Other,
            };
            self.changed(at, format!("required members {} → {}", show(&a.alternatives), show(&b.alternatives)), compat, dir);
        }
    }

    /// Variants are matched by name (a named type) or else by type (`number`, `object`), in
    /// order; matched ones are compared at `at<name>`.
    fn union(&mut self, at: &str, (va, ea): (&[Schema], bool), (vb, eb): (&[Schema], bool), dir: Dir) {
        let names = |vs: &[Schema]| vs.iter().map(type_name).collect::<Vec<_>>();
        let (na, nb) = (names(va), names(vb));
        let mut matched = vec![false; vb.len()];
        for (i, n) in na.iter().enumerate() {
            match (0..vb.len()).find(|&j| !matched[j] && &nb[j] == n) {
                Some(j) => {
                    matched[j] = true;
                    self.schema(&format!("{at}<{n}>"), &va[i], &vb[j], dir)
                }
                None => self.changed(at, format!("variant {n} removed"), Compat::Narrower, dir),
            }
        }
        for (n, _) in nb.iter().zip(&matched).filter(|(_, m)| !**m) {
            self.changed(at, format!("variant {n} added"), Compat::Wider, dir);
        }
        if ea != eb {
            let detail = if eb { "anyOf → oneOf" } else { "oneOf → anyOf" };
            self.changed(at, detail, if eb { Compat::Narrower } else { Compat::Wider }, dir);
        }
    }
}

/// `s` with `Ref`s followed (a name the type space lacks stays a `Ref`), whether null is
/// accepted anywhere on the way, and the last name followed.
fn resolved<'t>(mut s: &'t Schema, types: &'t TypeSpace) -> (&'t Schema, bool, Option<&'t str>) {
    let mut nullable = s.nullable;
    let mut last = None;
    for _ in 0..64 {
        let Kind::Ref(name) = &s.kind else { break };
        let Some(t) = types.named.get(name) else { break };
        s = t;
        nullable |= t.nullable;
        last = Some(name.as_str());
    }
    (s, nullable, last)
}

/// Integer bounds as floats, to compare them with number bounds.
fn ints(min: &Option<i64>, max: &Option<i64>) -> [Option<f64>; 2] {
    [min.map(|v| v as f64), max.map(|v| v as f64)]
}

/// Length and item-count bounds as floats.
fn counts(min: &Option<u64>, max: &Option<u64>) -> [Option<f64>; 2] {
    [min.map(|v| v as f64), max.map(|v| v as f64)]
}

/// A map as the object with no named members that keeps every other one.
fn map_object(values: &Schema) -> ObjectSchema {
    ObjectSchema { additional: Additional::Keep(Box::new(values.clone())), ..ObjectSchema::default() }
}

fn body_name(b: &Body) -> &'static str {
    match b {
        Body::None => "no body",
        Body::Json { .. } => "JSON body",
        Body::JsonLines { .. } => "JSON lines",
    }
}

fn kind_name(k: &Kind) -> String {
    match k {
        Kind::Any => "any".into(),
        Kind::Boolean => "boolean".into(),
        Kind::Integer { .. } => "integer".into(),
        Kind::Number { .. } => "number".into(),
        Kind::String { .. } => "string".into(),
        Kind::Timestamp(_) => "timestamp".into(),
        Kind::Enum(_) => "enum".into(),
        Kind::Const(v) => format!("const {v}"),
        Kind::Array { items, .. } => format!("{}[]", type_name(items)),
        Kind::Map(v) => format!("map of {}", type_name(v)),
        Kind::Object(_) => "object".into(),
        Kind::Union { exclusive: true, .. } => "oneOf".into(),
        Kind::Union { exclusive: false, .. } => "anyOf".into(),
        Kind::Ref(n) => n.clone(),
        Kind::Replies(r) => format!("replies {}", r.iter().map(|r| r.status.to_string()).collect::<Vec<_>>().join("/")),
    }
}

/// A schema's type as written (a named type by its name).
fn type_name(s: &Schema) -> String {
    kind_name(&s.kind)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load;
    use serde_json::{json, Value};

    /// An OpenAPI API `t` with `POST /things` taking `Thing` and answering `Reply` (plus `schemas`).
    fn openapi(thing: Value, reply: Value, schemas: Value) -> Vec<Api> {
        let mut all = json!({"Thing": thing, "Reply": reply});
        all.as_object_mut().unwrap().extend(schemas.as_object().cloned().unwrap_or_default());
        let doc = json!({
            "openapi": "3.0.3",
            "info": {"title": "t", "version": "1"},
            "paths": {"/things": {"post": {
                "operationId": "put_thing",
                "parameters": [{"name": "dry_run", "in": "query", "schema": {"type": "boolean"}}],
                "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Thing"}}}},
                "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Reply"}}}}}
            }}},
            "components": {"schemas": all}
        });
        vec![load::openapi::load_str(&doc.to_string(), "t.yaml", "t").unwrap()]
    }

    fn object(props: Value, required: &[&str]) -> Value {
        json!({"type": "object", "properties": props, "required": required})
    }

    /// A request change: `Thing` goes from `a` to `b`; the reply stays.
    fn request(a: Value, b: Value) -> Vec<String> {
        lines(&diff(&openapi(a, json!({"type": "object"}), json!({})), &openapi(b, json!({"type": "object"}), json!({}))))
    }

    /// A response change: `Reply` goes from `a` to `b`.
    fn response(a: Value, b: Value) -> Vec<String> {
        lines(&diff(&openapi(json!({"type": "object"}), a, json!({})), &openapi(json!({"type": "object"}), b, json!({}))))
    }

    fn lines(d: &SpecDiff) -> Vec<String> {
        d.changes
            .iter()
            .map(|c| {
                let version = c.version.as_deref().map(|v| format!(" {v}")).unwrap_or_default();
                let at = if c.location.is_empty() { String::new() } else { format!(" {}", c.location) };
                format!("{}{version}{at}: {} {}{}", c.operation, c.kind.as_str(), c.detail, if c.breaking { " BREAKING" } else { "" })
            })
            .collect()
    }

    /// A ClearML API `clearml` whose one service `events` is `text`.
    fn clearml(text: &str) -> Vec<Api> {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("events.conf"), text).unwrap();
        vec![load::clearml::load_dir(dir.path(), "clearml", "clearml").unwrap()]
    }

    const V15: &str = r#""1.5" { request { type: object, required: [task], properties { task { type: string } } }, response { type: object } }"#;
    const LOG: &str = r#"
        get_task_log {
            "1.5" { request { type: object, required: [task], properties { task { type: string } } }, response { type: object } }
            "2.9" { request { type: object, required: [task], properties { task { type: string } } }, response { type: object } }
        }
    "#;

    #[test]
    fn the_specs_against_themselves_change_nothing() {
        let specs = load::load_dir(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../specs")).unwrap();
        let d = diff(&specs, &specs);
        assert_eq!(lines(&d), Vec::<String>::new());
        assert!(!d.is_breaking());
        assert_eq!(d.render_text(), "no changes\n");
    }

    #[test]
    fn versions_and_endpoints() {
        let old = clearml(LOG);
        let dropped = clearml(&LOG.replace(V15, ""));
        assert_eq!(lines(&diff(&old, &dropped)), ["events.get_task_log 1.5: removed version removed BREAKING"]);
        assert_eq!(lines(&diff(&dropped, &old)), ["events.get_task_log 1.5: added new version"]);
        let more = clearml(&format!("{LOG} get_task_plots {{ \"2.9\" {{ request {{ type: object }} }} }}"));
        assert_eq!(lines(&diff(&old, &more)), ["events.get_task_plots: added new operation"]);
        assert_eq!(lines(&diff(&more, &old)), ["events.get_task_plots: removed operation removed BREAKING"]);
        // a whole API
        let d = diff(&old, &[]);
        assert_eq!((d.changes[0].api.as_str(), d.changes[0].detail.as_str(), d.is_breaking()), ("clearml", "API removed", true));
        assert!(!diff(&[], &old).is_breaking());
    }

    #[test]
    fn a_clearml_field_change_is_named_by_version_and_path() {
        let old = clearml(LOG);
        let new = clearml(
            &LOG.replacen("task { type: string }", "task { type: integer }", 2)
                .replace("response { type: object }", "response { type: object, properties { total { type: integer } } }"),
        );
        assert_eq!(
            lines(&diff(&old, &new)),
            [
                "events.get_task_log 1.5 request.task: changed string → integer BREAKING",
                "events.get_task_log 1.5 response.total: added added, integer",
                "events.get_task_log 2.9 request.task: changed string → integer BREAKING",
                "events.get_task_log 2.9 response.total: added added, integer",
            ]
        );
    }

    #[test]
    fn request_fields_added_removed_and_made_required() {
        let base = object(json!({"a": {"type": "string"}}), &[]);
        assert_eq!(
            request(base.clone(), object(json!({"a": {"type": "string"}, "b": {"type": "integer"}}), &[])),
            ["POST /things request.b: added added, optional integer"]
        );
        assert_eq!(
            request(base.clone(), object(json!({"a": {"type": "string"}, "b": {"type": "integer"}}), &["b"])),
            ["POST /things request.b: added added, required integer BREAKING"]
        );
        assert_eq!(request(base.clone(), object(json!({"a": {"type": "string"}}), &["a"])), ["POST /things request.a: changed now required BREAKING"]);
        assert_eq!(request(object(json!({"a": {"type": "string"}}), &["a"]), base.clone()), ["POST /things request.a: changed now optional"]);
        // removed: harmless when unknown members are dropped, breaking when they are rejected
        assert_eq!(request(base.clone(), object(json!({}), &[])), ["POST /things request.a: removed removed (now ignored as unknown)"]);
        let strict = |props| json!({"type": "object", "properties": props, "additionalProperties": false});
        assert_eq!(
            request(strict(json!({"a": {"type": "string"}})), strict(json!({}))),
            ["POST /things request.a: removed removed, and unknown members are rejected BREAKING"]
        );
        assert_eq!(request(base.clone(), strict(json!({"a": {"type": "string"}}))), ["POST /things request: changed unknown members now rejected BREAKING"]);
    }

    #[test]
    fn request_types_narrowed_break_and_widened_do_not() {
        let field = |s: Value| object(json!({ "x": s }), &[]);
        let cases = [
            (json!({"type": "number"}), json!({"type": "integer"}), "number → integer BREAKING"),
            (json!({"type": "integer"}), json!({"type": "number"}), "integer → number"),
            (json!({}), json!({"type": "string"}), "any → string BREAKING"),
            (json!({"type": "string"}), json!({}), "string → any"),
            (json!({"type": "string", "enum": ["a", "b"]}), json!({"type": "string", "enum": ["a"]}), "enum values removed: b BREAKING"),
            (json!({"type": "string", "enum": ["a"]}), json!({"type": "string", "enum": ["a", "b"]}), "enum values added: b"),
            (json!({"type": "integer", "minimum": 1}), json!({"type": "integer", "minimum": 2}), "minimum 1 → 2 BREAKING"),
            (json!({"type": "integer", "maximum": 10}), json!({"type": "integer", "maximum": 5}), "maximum 10 → 5 BREAKING"),
            (json!({"type": "integer", "maximum": 10}), json!({"type": "integer"}), "maximum 10 → none"),
            (json!({"type": "string"}), json!({"type": "string", "maxLength": 8}), "maxLength none → 8 BREAKING"),
            (json!({"type": "string"}), json!({"type": "string", "pattern": "^[a-z]+$"}), "pattern none → `^[a-z]+$` BREAKING"),
            (json!({"type": "string", "nullable": true}), json!({"type": "string"}), "no longer nullable BREAKING"),
            (json!({"type": "string"}), json!({"type": "string", "nullable": true}), "now nullable"),
            (json!({"type": "string"}), json!({"type": "boolean"}), "string → boolean BREAKING"),
            (json!({"type": "integer", "default": 1}), json!({"type": "integer", "default": 2}), "default 1 → 2"),
        ];
        for (a, b, want) in cases {
            assert_eq!(request(field(a.clone()), field(b.clone())), [format!("POST /things request.x: changed {want}")], "{a} → {b}");
        }
    }

    #[test]
    fn response_fields_removed_loosened_or_widened_break() {
        let field = |s: Value, required: &[&str]| object(json!({ "x": s }), required);
        let int = json!({"type": "integer"});
        assert_eq!(response(field(int.clone(), &[]), object(json!({}), &[])), ["POST /things response.x: removed removed BREAKING"]);
        assert_eq!(response(field(int.clone(), &["x"]), field(int.clone(), &[])), ["POST /things response.x: changed now optional BREAKING"]);
        assert_eq!(response(field(int.clone(), &[]), field(int.clone(), &["x"])), ["POST /things response.x: changed now required"]);
        assert_eq!(
            response(field(int.clone(), &[]), field(json!({"type": "integer", "nullable": true}), &[])),
            ["POST /things response.x: changed now nullable BREAKING"]
        );
        assert_eq!(response(field(int.clone(), &[]), field(json!({"type": "number"}), &[])), ["POST /things response.x: changed integer → number BREAKING"]);
        assert_eq!(response(field(json!({"type": "number"}), &[]), field(int.clone(), &[])), ["POST /things response.x: changed number → integer"]);
        assert_eq!(
            response(field(json!({"type": "string", "enum": ["a"]}), &[]), field(json!({"type": "string", "enum": ["a", "b"]}), &[])),
            ["POST /things response.x: changed enum values added: b BREAKING"]
        );
        assert_eq!(response(field(int.clone(), &[]), field(json!({"type": "string"}), &[])), ["POST /things response.x: changed integer → string BREAKING"]);
        assert_eq!(
            response(field(int.clone(), &[]), object(json!({"x": int, "y": {"type": "string"}}), &["y"])),
            ["POST /things response.y: added added, string"]
        );
    }

    #[test]
    fn descriptions_are_ignored() {
        let a = object(json!({"x": {"type": "string", "description": "old"}}), &[]);
        let b = object(json!({"x": {"type": "string", "description": "new words"}}), &[]);
        assert_eq!(request(a.clone(), b.clone()), Vec::<String>::new());
        assert_eq!(response(a, b), Vec::<String>::new());
    }

    #[test]
    fn refs_are_followed_and_named_by_path() {
        let event = |ts: &str| json!({"Event": object(json!({"timestamp": {"type": ts}}), &[])});
        let reply = object(json!({"events": {"type": "array", "items": {"$ref": "#/components/schemas/Event"}}}), &[]);
        let obj = json!({"type": "object"});
        let d = diff(&openapi(obj.clone(), reply.clone(), event("integer")), &openapi(obj, reply, event("string")));
        assert_eq!(lines(&d), ["POST /things response.events[].timestamp: changed integer → string BREAKING"]);
    }

    #[test]
    fn recursive_types_end() {
        let node = |name: &str| {
            json!({"Node": object(json!({"name": {"type": name}, "children": {"type": "array", "items": {"$ref": "#/components/schemas/Node"}}}), &[])})
        };
        let reply = json!({"$ref": "#/components/schemas/Node"});
        let obj = json!({"type": "object"});
        let d = diff(&openapi(obj.clone(), reply.clone(), node("integer")), &openapi(obj.clone(), reply.clone(), node("number")));
        assert_eq!(lines(&d), ["POST /things response.name: changed integer → number BREAKING"]);
        assert_eq!(diff(&openapi(obj.clone(), reply.clone(), node("integer")), &openapi(obj, reply, node("integer"))).changes, vec![]);
    }

    #[test]
    fn parameters_and_routes() {
        let old = openapi(json!({"type": "object"}), json!({"type": "object"}), json!({}));
        let mut new = old.clone();
        let v = &mut new[0].services[0].operations[0].versions[0];
        v.params[0].required = true;
        let schema = Schema::new(Kind::Integer { minimum: None, maximum: None, bits: 64 });
        v.params.push(Param { name: "limit".into(), location: ParamLocation::Query, required: false, description: String::new(), schema });
        assert_eq!(
            lines(&diff(&old, &new)),
            ["POST /things query.dry_run: changed now required BREAKING", "POST /things query.limit: added added, optional integer"]
        );
        new[0].services[0].operations[0].versions[0].http.path = "/items".into();
        assert_eq!(lines(&diff(&old, &new)), ["POST /items: added new operation", "POST /things: removed operation removed BREAKING"]);
    }

    #[test]
    fn the_table_is_aligned_and_summed_up() {
        let old = clearml(LOG);
        let new = clearml(&LOG.replacen(V15, "", 1).replace("properties { task { type: string } }", "properties { task { type: string }, n { type: integer } }"));
        let d = diff(&old, &new);
        assert_eq!(
            d.render_text(),
            [
                "clearml",
                "  events.get_task_log  1.5             removed  BREAKING  version removed",
                "  events.get_task_log  2.9  request.n  added              added, optional integer",
                "2 changes, 1 breaking",
                "",
            ]
            .join("\n")
        );
        let json = serde_json::to_value(&d).unwrap();
        assert_eq!(
            json["changes"][1],
            json!({
                "api": "clearml", "operation": "events.get_task_log", "version": "2.9", "location": "request.n",
                "kind": "added", "detail": "added, optional integer", "breaking": false
            })
        );
    }
}
