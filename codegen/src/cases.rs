//! Contract-test cases derived from IR schemas: a *full* example (every member, optional ones
//! included, each satisfying its constraints) and the *negative* cases a server must refuse
//! (a required member removed, a wrong type, a bound exceeded, an enum or const or pattern
//! violated, a member the schema forbids). Nothing here knows about HTTP: the contract
//! harness sends what these functions build.

use serde_json::{json, Map, Value};

use crate::example;
use crate::ir::{Additional, Kind, Param, ParamLocation, Schema, TypeSpace};

/// How deep negative cases look into nested members.
const MAX_DEPTH: usize = 6;
/// Bounds above this are not exceeded (the request would be huge).
const MAX_BUILT_LENGTH: u64 = 100_000;

/// An example value with every member, optional ones included, satisfying the constraints.
/// Strings are the same as in [`example::minimal`] (`"example"` where the pattern allows), so
/// the identifiers of minimal and full requests line up.
pub fn full(schema: &Schema, types: &TypeSpace) -> Value {
    full_at(schema, types, 0)
}

fn full_at(schema: &Schema, types: &TypeSpace, depth: usize) -> Value {
    if depth > MAX_DEPTH + 2 {
        return example::minimal(schema, types);
    }
    match &schema.kind {
        Kind::Array { items, min_items, .. } => {
            Value::Array((0..min_items.unwrap_or(0).max(1)).map(|_| full_at(items, types, depth + 1)).collect())
        }
        Kind::Map(values) => json!({ "example": full_at(values, types, depth + 1) }),
        Kind::Object(obj) => {
            // With exclusive alternatives only the first set's members are given.
            let left_out: Vec<&str> = match &obj.alternatives {
                Some(alt) if alt.exclusive => {
                    let first = alt.sets.first().cloned().unwrap_or_default();
                    alt.members().into_iter().filter(|m| !first.iter().any(|f| f == m)).collect()
                }
                _ => Vec::new(),
            };
            Value::Object(
                obj.properties
                    .iter()
                    .filter(|p| !left_out.contains(&p.name.as_str()))
                    .map(|p| (p.name.clone(), full_at(&p.schema, types, depth + 1)))
                    .collect(),
            )
        }
        Kind::Union { variants, .. } => variants.first().map(|v| full_at(v, types, depth + 1)).unwrap_or(Value::Null),
        Kind::Ref(r) => types.named.get(r).map(|s| full_at(s, types, depth + 1)).unwrap_or(Value::Null),
        _ => example::minimal(schema, types),
    }
}

/// Which rule of the schema a negative case breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Rule {
    RequiredRemoved,
    WrongType,
    AboveMaximum,
    BelowMinimum,
    TooLong,
    TooShort,
    TooManyItems,
    TooFewItems,
    NotInEnum,
    ConstViolated,
    PatternViolated,
    UnknownMember,
    /// None of the alternative sets of members is given.
    NoAlternative,
    /// Two sets of exclusive alternatives are given.
    TwoAlternatives,
}

impl Rule {
    pub fn label(self) -> &'static str {
        match self {
            Rule::RequiredRemoved => "required member removed",
            Rule::WrongType => "wrong type",
            Rule::AboveMaximum => "above maximum",
            Rule::BelowMinimum => "below minimum",
            Rule::TooLong => "longer than maxLength",
            Rule::TooShort => "shorter than minLength",
            Rule::TooManyItems => "more than maxItems",
            Rule::TooFewItems => "fewer than minItems",
            Rule::NotInEnum => "not in enum",
            Rule::ConstViolated => "const violated",
            Rule::PatternViolated => "pattern violated",
            Rule::UnknownMember => "member the schema forbids",
            Rule::NoAlternative => "no alternative given",
            Rule::TwoAlternatives => "two exclusive alternatives given",
        }
    }
}

/// One step into a JSON value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seg {
    Key(String),
    Index(usize),
}

/// A JSON path as `a.b[0].c` (`(body)` for the root).
pub fn path_text(path: &[Seg]) -> String {
    let mut out = String::new();
    for s in path {
        match s {
            Seg::Key(k) if out.is_empty() => out.push_str(k),
            Seg::Key(k) => {
                out.push('.');
                out.push_str(k);
            }
            Seg::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    if out.is_empty() {
        "(body)".into()
    } else {
        out
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Mutation {
    Remove,
    Set(Value),
    /// Leave these members of the object out.
    RemoveMembers(Vec<String>),
    /// Add these members to the object.
    AddMembers(Map<String, Value>),
}

/// A negative case on a JSON body: change the value at `path`.
#[derive(Debug, Clone, PartialEq)]
pub struct BodyCase {
    pub path: Vec<Seg>,
    pub rule: Rule,
    pub mutation: Mutation,
}

/// A negative case on a parameter: `text: None` leaves it out.
#[derive(Debug, Clone, PartialEq)]
pub struct ParamCase {
    pub name: String,
    pub location: ParamLocation,
    pub rule: Rule,
    pub text: Option<String>,
}

/// A member (or parameter) for which some rule cannot be broken, and why.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Skip {
    pub at: String,
    pub reason: &'static str,
}

pub const SKIP_ANY: &str = "accepts any value (no wrong type)";
pub const SKIP_IGNORED_EXTRA: &str = "members the schema does not name are ignored (no forbidden member)";
pub const SKIP_KEPT_EXTRA: &str = "members the schema does not name are kept (no forbidden member)";
pub const SKIP_UNION: &str = "inside a union (which variant applies is ambiguous)";
pub const SKIP_DEPTH: &str = "nested too deep";
pub const SKIP_PATH_REMOVED: &str = "a path parameter cannot be left out (another route)";
pub const SKIP_TEXT_TYPE: &str = "sent as text: every text is a string (no wrong type)";
pub const SKIP_PATTERN: &str = "no probe string violates the pattern";
pub const SKIP_HEADER: &str = "header parameters are not varied";
pub const SKIP_ARRAY_PARAM: &str = "array parameters are not varied";
pub const SKIP_HUGE: &str = "bound too large to exceed";

fn resolve<'a>(schema: &'a Schema, types: &'a TypeSpace) -> (&'a Schema, bool) {
    let mut s = schema;
    let mut nullable = schema.nullable;
    for _ in 0..16 {
        match &s.kind {
            Kind::Ref(r) => match types.named.get(r) {
                Some(next) => {
                    nullable |= next.nullable;
                    s = next;
                }
                None => break,
            },
            _ => break,
        }
    }
    (s, nullable)
}

/// Whether the JSON type of `v` is one `schema` accepts (constraints aside).
pub fn type_accepts(schema: &Schema, v: &Value, types: &TypeSpace) -> bool {
    let (s, nullable) = resolve(schema, types);
    if v.is_null() && nullable {
        return true;
    }
    match &s.kind {
        Kind::Any | Kind::Ref(_) | Kind::Replies(_) => true,
        Kind::Boolean => v.is_boolean(),
        Kind::Integer { .. } => v.is_i64() || v.is_u64(),
        Kind::Number { nonfinite_as_strings, .. } => v.is_number() || (*nonfinite_as_strings && v.is_string()),
        Kind::String { .. } | Kind::Enum(_) => v.is_string(),
        Kind::Timestamp(_) => v.is_number(),
        Kind::Const(c) => std::mem::discriminant(c) == std::mem::discriminant(v),
        Kind::Array { .. } => v.is_array(),
        Kind::Map(_) | Kind::Object(_) => v.is_object(),
        Kind::Union { variants, .. } => variants.iter().any(|x| type_accepts(x, v, types)),
    }
}

const PATTERN_PROBES: &[&str] = &["", "!", " ", "#%&", "-", "A B", "\u{e9}", "0", "_"];

/// The negative values of one value (not of its members): wrong type, bounds, enum, const,
/// pattern. Returns the cases and the reasons some could not be built.
fn value_cases(schema: &Schema, types: &TypeSpace) -> (Vec<(Rule, Value)>, Vec<&'static str>) {
    let (s, _) = resolve(schema, types);
    let mut cases = Vec::new();
    let mut skips = Vec::new();
    let wrong = [json!("wrong-type"), json!(12345), json!(true), json!([]), json!({})];
    match wrong.iter().find(|v| !type_accepts(schema, v, types)) {
        Some(v) => cases.push((Rule::WrongType, v.clone())),
        None => skips.push(SKIP_ANY),
    }
    match &s.kind {
        Kind::Integer { minimum, maximum, .. } => {
            if let Some(m) = maximum.and_then(|m| m.checked_add(1)) {
                cases.push((Rule::AboveMaximum, json!(m)));
            }
            if let Some(m) = minimum.and_then(|m| m.checked_sub(1)) {
                cases.push((Rule::BelowMinimum, json!(m)));
            }
        }
        Kind::Number { minimum, maximum, .. } => {
            if let Some(m) = maximum {
                cases.push((Rule::AboveMaximum, json!(m + 1.0)));
            }
            if let Some(m) = minimum {
                cases.push((Rule::BelowMinimum, json!(m - 1.0)));
            }
        }
        Kind::String { min_length, max_length, pattern, .. } => {
            match max_length {
                Some(m) if *m < MAX_BUILT_LENGTH => cases.push((Rule::TooLong, json!("a".repeat(*m as usize + 1)))),
                Some(_) => skips.push(SKIP_HUGE),
                None => {}
            }
            if let Some(m) = min_length.filter(|m| *m > 0) {
                cases.push((Rule::TooShort, json!("a".repeat(m as usize - 1))));
            }
            if let Some(p) = pattern {
                let min = min_length.unwrap_or(0) as usize;
                let max = max_length.map(|m| m as usize).unwrap_or(usize::MAX);
                let re = regex::Regex::new(p).ok();
                let probe = re.as_ref().and_then(|re| {
                    PATTERN_PROBES.iter().find(|c| !re.is_match(c) && (min..=max).contains(&c.chars().count()))
                });
                match probe {
                    Some(c) => cases.push((Rule::PatternViolated, json!(c))),
                    None => skips.push(SKIP_PATTERN),
                }
            }
        }
        Kind::Enum(values) => {
            let mut v = "not-a-member".to_string();
            while values.contains(&v) {
                v.push('x');
            }
            cases.push((Rule::NotInEnum, json!(v)));
        }
        Kind::Const(c) => {
            let other = match c {
                Value::String(t) => Some(json!(format!("not-{t}"))),
                Value::Bool(b) => Some(json!(!b)),
                Value::Number(n) => n.as_f64().map(|f| json!(f + 1.0)),
                _ => None,
            };
            if let Some(o) = other {
                cases.push((Rule::ConstViolated, o));
            }
        }
        Kind::Array { items, min_items, max_items } => {
            let item = full(items, types);
            match max_items {
                Some(m) if *m < MAX_BUILT_LENGTH => {
                    cases.push((Rule::TooManyItems, Value::Array(vec![item.clone(); *m as usize + 1])))
                }
                Some(_) => skips.push(SKIP_HUGE),
                None => {}
            }
            if let Some(m) = min_items.filter(|m| *m > 0) {
                cases.push((Rule::TooFewItems, Value::Array(vec![item; m as usize - 1])));
            }
        }
        _ => {}
    }
    (cases, skips)
}

/// Every negative case of a JSON body of `schema`, with what was skipped. The cases are
/// meant to be applied with [`apply`] to a valid request.
pub fn body_negatives(schema: &Schema, types: &TypeSpace) -> (Vec<BodyCase>, Vec<Skip>) {
    let mut cases = Vec::new();
    let mut skips = Vec::new();
    walk(schema, types, &mut Vec::new(), &mut cases, &mut skips);
    (cases, skips)
}

fn walk(schema: &Schema, types: &TypeSpace, path: &mut Vec<Seg>, cases: &mut Vec<BodyCase>, skips: &mut Vec<Skip>) {
    let at = path_text(path);
    if path.len() > MAX_DEPTH {
        skips.push(Skip { at, reason: SKIP_DEPTH });
        return;
    }
    let (values, why) = value_cases(schema, types);
    cases.extend(values.into_iter().map(|(rule, v)| BodyCase { path: path.clone(), rule, mutation: Mutation::Set(v) }));
    skips.extend(why.into_iter().map(|reason| Skip { at: at.clone(), reason }));
    let (s, _) = resolve(schema, types);
    match &s.kind {
        Kind::Object(obj) => {
            for p in &obj.properties {
                path.push(Seg::Key(p.name.clone()));
                if p.required {
                    cases.push(BodyCase { path: path.clone(), rule: Rule::RequiredRemoved, mutation: Mutation::Remove });
                }
                walk(&p.schema, types, path, cases, skips);
                path.pop();
            }
            if let Some(alt) = &obj.alternatives {
                let all: Vec<String> = alt.members().into_iter().map(str::to_string).collect();
                cases.push(BodyCase { path: path.clone(), rule: Rule::NoAlternative, mutation: Mutation::RemoveMembers(all) });
                if alt.exclusive && alt.sets.len() > 1 {
                    let second: Map<String, Value> = obj
                        .properties
                        .iter()
                        .filter(|p| alt.sets[1].contains(&p.name))
                        .map(|p| (p.name.clone(), full(&p.schema, types)))
                        .collect();
                    cases.push(BodyCase { path: path.clone(), rule: Rule::TwoAlternatives, mutation: Mutation::AddMembers(second) });
                }
            }
            match &obj.additional {
                Additional::Forbid => {
                    let mut name = "specmill_unknown_member".to_string();
                    while obj.properties.iter().any(|p| p.name == name) {
                        name.push('_');
                    }
                    path.push(Seg::Key(name));
                    cases.push(BodyCase { path: path.clone(), rule: Rule::UnknownMember, mutation: Mutation::Set(json!(1)) });
                    path.pop();
                }
                Additional::Ignore => skips.push(Skip { at, reason: SKIP_IGNORED_EXTRA }),
                Additional::Keep(_) => skips.push(Skip { at, reason: SKIP_KEPT_EXTRA }),
            }
        }
        Kind::Array { items, .. } => {
            path.push(Seg::Index(0));
            walk(items, types, path, cases, skips);
            path.pop();
        }
        Kind::Map(values) => {
            path.push(Seg::Key("example".into()));
            walk(values, types, path, cases, skips);
            path.pop();
        }
        Kind::Union { .. } => skips.push(Skip { at, reason: SKIP_UNION }),
        _ => {}
    }
}

/// `base` with `case` applied. Members on the way to the changed one that `base` lacks are
/// taken from `full` (a full example of the same schema), so a change deep inside an
/// optional member has a valid context around it.
pub fn apply(base: &Value, full: &Value, case: &BodyCase) -> Value {
    let mut out = base.clone();
    if let Mutation::RemoveMembers(_) | Mutation::AddMembers(_) = &case.mutation {
        let mut out = base.clone();
        let target = graft_path(&mut out, full, &case.path);
        if let Value::Object(m) = target {
            match &case.mutation {
                Mutation::RemoveMembers(names) => names.iter().for_each(|n| {
                    m.shift_remove(n);
                }),
                Mutation::AddMembers(add) => m.extend(add.clone()),
                _ => {}
            }
        }
        return out;
    }
    if case.path.is_empty() {
        return match &case.mutation {
            Mutation::Set(v) => v.clone(),
            _ => Value::Null,
        };
    }
    let (last, parents) = case.path.split_last().expect("not empty");
    let cur = graft_path(&mut out, full, parents);
    match (last, &case.mutation, cur) {
        (Seg::Key(k), Mutation::Remove, Value::Object(m)) => {
            m.shift_remove(k);
        }
        (Seg::Key(k), Mutation::Set(v), Value::Object(m)) => {
            m.insert(k.clone(), v.clone());
        }
        (Seg::Index(i), Mutation::Remove, Value::Array(a)) if *i < a.len() => {
            a.remove(*i);
        }
        (Seg::Index(i), Mutation::Set(v), Value::Array(a)) => {
            if *i < a.len() {
                a[*i] = v.clone();
            } else {
                a.push(v.clone());
            }
        }
        _ => {}
    }
    out
}

/// The value at `path` inside `out`, creating what is missing on the way from `full`.
fn graft_path<'a>(out: &'a mut Value, full: &Value, path: &[Seg]) -> &'a mut Value {
    let mut cur = out;
    let mut model = Some(full);
    for seg in path {
        let next_model = model.and_then(|m| step(m, seg));
        if step(cur, seg).is_none() {
            let graft = next_model.cloned().unwrap_or(Value::Null);
            match (seg, &mut *cur) {
                (Seg::Key(k), Value::Object(m)) => {
                    m.insert(k.clone(), graft);
                }
                (Seg::Index(_), Value::Array(a)) => a.push(graft),
                (Seg::Key(k), other) => {
                    let mut m = Map::new();
                    m.insert(k.clone(), graft);
                    *other = Value::Object(m);
                }
                (Seg::Index(_), other) => *other = Value::Array(vec![graft]),
            }
        }
        cur = step_mut(cur, seg).expect("grafted");
        model = next_model;
    }
    cur
}

fn step<'a>(v: &'a Value, seg: &Seg) -> Option<&'a Value> {
    match seg {
        Seg::Key(k) => v.as_object().and_then(|m| m.get(k)),
        Seg::Index(i) => v.as_array().and_then(|a| a.get(*i)),
    }
}

fn step_mut<'a>(v: &'a mut Value, seg: &Seg) -> Option<&'a mut Value> {
    match seg {
        Seg::Key(k) => v.as_object_mut().and_then(|m| m.get_mut(k)),
        Seg::Index(i) => v.as_array_mut().and_then(|a| a.get_mut(*i)),
    }
}

/// A parameter value as text on the wire.
pub fn param_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Every negative case of one parameter, with what was skipped.
pub fn param_negatives(param: &Param, types: &TypeSpace) -> (Vec<ParamCase>, Vec<Skip>) {
    let at = format!("{} parameter `{}`", location_name(param.location), param.name);
    let mut cases = Vec::new();
    let mut skips = Vec::new();
    let case = |rule, text| ParamCase { name: param.name.clone(), location: param.location, rule, text };
    if param.location == ParamLocation::Header {
        skips.push(Skip { at, reason: SKIP_HEADER });
        return (cases, skips);
    }
    let (s, _) = resolve(&param.schema, types);
    if matches!(s.kind, Kind::Array { .. } | Kind::Map(_) | Kind::Object(_)) {
        skips.push(Skip { at, reason: SKIP_ARRAY_PARAM });
        return (cases, skips);
    }
    if param.required {
        if param.location == ParamLocation::Path {
            skips.push(Skip { at: at.clone(), reason: SKIP_PATH_REMOVED });
        } else {
            cases.push(case(Rule::RequiredRemoved, None));
        }
    }
    // On the wire every value is text: a wrong type is a text that does not parse as the
    // parameter's type, which only exists for non-string types.
    if type_accepts(&param.schema, &json!("text"), types) {
        skips.push(Skip { at: at.clone(), reason: SKIP_TEXT_TYPE });
    } else {
        cases.push(case(Rule::WrongType, Some("wrong-type".into())));
    }
    let (values, why) = value_cases(&param.schema, types);
    for (rule, v) in values.into_iter().filter(|(r, _)| *r != Rule::WrongType) {
        cases.push(case(rule, Some(param_text(&v))));
    }
    skips.extend(why.into_iter().filter(|r| *r != SKIP_ANY).map(|reason| Skip { at: at.clone(), reason }));
    (cases, skips)
}

pub fn location_name(l: ParamLocation) -> &'static str {
    match l {
        ParamLocation::Path => "path",
        ParamLocation::Query => "query",
        ParamLocation::Header => "header",
        ParamLocation::Form => "form",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::{ObjectSchema, Property};

    fn prop(name: &str, required: bool, kind: Kind) -> Property {
        Property { name: name.into(), required, schema: Schema::new(kind) }
    }

    fn body() -> Schema {
        Schema::new(Kind::Object(ObjectSchema {
            properties: vec![
                prop("task", true, Kind::String { min_length: Some(1), max_length: None, pattern: None, format: None }),
                prop("batch", false, Kind::Integer { minimum: Some(1), maximum: Some(10), bits: 32 }),
                prop("order", false, Kind::Enum(vec!["asc".into(), "desc".into()])),
                prop(
                    "tags",
                    false,
                    Kind::Array {
                        items: Box::new(Schema::new(Kind::Object(ObjectSchema {
                            properties: vec![prop("name", true, Kind::String { min_length: None, max_length: Some(3), pattern: None, format: None })],
                            additional: Additional::Forbid,
                            alternatives: None,
                        }))),
                        min_items: None,
                        max_items: Some(2),
                    },
                ),
                prop("anything", false, Kind::Any),
            ],
            additional: Additional::Ignore,
            alternatives: None,
        }))
    }

    #[test]
    fn full_has_every_member_and_minimal_only_required_ones() {
        let types = TypeSpace::default();
        let f = full(&body(), &types);
        assert_eq!(f, json!({"task": "example", "batch": 1, "order": "asc", "tags": [{"name": "a"}], "anything": {}}));
        assert_eq!(example::minimal(&body(), &types), json!({"task": "example"}));
    }

    #[test]
    fn negatives_cover_every_rule_and_say_what_they_skip() {
        let types = TypeSpace::default();
        let (cases, skips) = body_negatives(&body(), &types);
        let found: Vec<(String, Rule)> = cases.iter().map(|c| (path_text(&c.path), c.rule)).collect();
        for want in [
            ("(body)", Rule::WrongType),
            ("task", Rule::RequiredRemoved),
            ("task", Rule::WrongType),
            ("task", Rule::TooShort),
            ("batch", Rule::AboveMaximum),
            ("batch", Rule::BelowMinimum),
            ("order", Rule::NotInEnum),
            ("tags", Rule::TooManyItems),
            ("tags[0].name", Rule::RequiredRemoved),
            ("tags[0].name", Rule::TooLong),
            ("tags[0].specmill_unknown_member", Rule::UnknownMember),
        ] {
            assert!(found.contains(&(want.0.to_string(), want.1)), "no {want:?} in {found:?}");
        }
        assert!(!found.iter().any(|(p, _)| p == "anything"), "{found:?}");
        assert!(skips.contains(&Skip { at: "anything".into(), reason: SKIP_ANY }), "{skips:?}");
        assert!(skips.contains(&Skip { at: "(body)".into(), reason: SKIP_IGNORED_EXTRA }), "{skips:?}");
        // A case deep inside an optional member gets its context from the full example.
        let full = full(&body(), &types);
        let base = example::minimal(&body(), &types);
        let deep = cases.iter().find(|c| path_text(&c.path) == "tags[0].name" && c.rule == Rule::TooLong).unwrap();
        assert_eq!(apply(&base, &full, deep), json!({"task": "example", "tags": [{"name": "aaaa"}]}));
        let gone = cases.iter().find(|c| path_text(&c.path) == "task" && c.rule == Rule::RequiredRemoved).unwrap();
        assert_eq!(apply(&base, &full, gone), json!({}));
    }

    #[test]
    fn exclusive_alternatives_give_one_set_and_break_both_ways() {
        let types = TypeSpace::default();
        let s = Schema::new(Kind::Object(ObjectSchema {
            properties: vec![
                prop("id", false, Kind::Integer { minimum: None, maximum: None, bits: 64 }),
                prop("uid", false, Kind::String { min_length: Some(1), max_length: None, pattern: None, format: None }),
                prop("note", false, Kind::String { min_length: None, max_length: None, pattern: None, format: None }),
            ],
            additional: Additional::Forbid,
            alternatives: Some(crate::ir::Alternatives { sets: vec![vec!["id".into()], vec!["uid".into()]], exclusive: true }),
        }));
        let (min, f) = (example::minimal(&s, &types), full(&s, &types));
        assert_eq!(min, json!({"id": 0}));
        assert_eq!(f, json!({"id": 0, "note": "example"}));
        let (cases, _) = body_negatives(&s, &types);
        let none = cases.iter().find(|c| c.rule == Rule::NoAlternative).unwrap();
        assert_eq!(apply(&min, &f, none), json!({}));
        let both = cases.iter().find(|c| c.rule == Rule::TwoAlternatives).unwrap();
        assert_eq!(apply(&min, &f, both), json!({"id": 0, "uid": "example"}));
    }

    #[test]
    fn parameters_are_varied_as_text() {
        let types = TypeSpace::default();
        let p = Param {
            name: "pageLength".into(),
            location: ParamLocation::Query,
            required: true,
            description: String::new(),
            schema: Schema::new(Kind::Integer { minimum: Some(1), maximum: Some(1000), bits: 32 }),
        };
        let (cases, _) = param_negatives(&p, &types);
        let texts: Vec<(Rule, Option<String>)> = cases.into_iter().map(|c| (c.rule, c.text)).collect();
        assert_eq!(
            texts,
            vec![
                (Rule::RequiredRemoved, None),
                (Rule::WrongType, Some("wrong-type".into())),
                (Rule::AboveMaximum, Some("1001".into())),
                (Rule::BelowMinimum, Some("0".into())),
            ]
        );
        let s = Param { schema: Schema::new(Kind::String { min_length: None, max_length: None, pattern: None, format: None }), location: ParamLocation::Path, ..p };
        let (cases, skips) = param_negatives(&s, &types);
        assert!(cases.is_empty(), "{cases:?}");
        assert_eq!(skips.iter().map(|s| s.reason).collect::<Vec<_>>(), vec![SKIP_PATH_REMOVED, SKIP_TEXT_TYPE]);
    }
}
