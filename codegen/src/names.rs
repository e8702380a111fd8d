//! The one name sanitizer: spec names in, Rust identifiers out. The wire name always
//! travels next to the Rust name; `#[serde(rename)]` is emitted only where they differ.

use heck::{ToSnakeCase, ToUpperCamelCase};
use proc_macro2::{Ident, Span};

use crate::ir::Version;

const RESERVED: &[&str] = &[
    "as", "async", "await", "break", "const", "continue", "crate", "dyn", "else", "enum", "extern", "false", "fn", "for", "if",
    "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub", "ref", "return", "self", "Self", "static", "struct",
    "super", "trait", "true", "type", "unsafe", "use", "where", "while", "abstract", "become", "box", "do", "final", "macro",
    "override", "priv", "typeof", "unsized", "virtual", "yield", "try", "gen",
];

fn clean(s: &str) -> String {
    s.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect()
}

/// `metrics_scalar_event` → `MetricsScalarEvent`; a leading digit gets a `T` prefix.
pub fn type_name(s: &str) -> String {
    let mut n = clean(s).to_upper_camel_case();
    if n.is_empty() {
        n = "Unnamed".into();
    }
    if n.starts_with(|c: char| c.is_ascii_digit()) {
        n.insert(0, 'T');
    }
    if RESERVED.contains(&n.as_str()) {
        n.push('_');
    }
    n
}

/// `pageLength` → `page_length`, `type` → `type_`, `@timestamp` → `timestamp`.
pub fn field_name(s: &str) -> String {
    let mut n = clean(s).to_snake_case();
    if n.is_empty() {
        n = "field".into();
    }
    if n.starts_with(|c: char| c.is_ascii_digit()) {
        n.insert(0, '_');
    }
    if RESERVED.contains(&n.as_str()) {
        n.push('_');
    }
    n
}

/// An enum variant for a wire value: `asc` → `Asc`, `-inf` → `Inf`, `2.9` → `V2_9`.
pub fn variant_name(s: &str) -> String {
    let sign = if s.starts_with('-') { "Neg" } else { "" };
    let n = format!("{sign}{}", clean(s).to_upper_camel_case());
    if n.is_empty() {
        "Empty".into()
    } else if n.starts_with(|c: char| c.is_ascii_digit()) {
        format!("V{n}")
    } else if n == "Self" {
        "Self_".into()
    } else {
        n
    }
}

/// `2.9` → `V2_9`: the suffix that versioned names carry.
pub fn version_suffix(v: Option<Version>) -> String {
    v.map(|v| format!("V{}_{}", v.major, v.minor)).unwrap_or_default()
}

pub fn ident(s: &str) -> Ident {
    Ident::new(s, Span::call_site())
}

/// Make `name` unique among `taken` by appending a counter.
pub fn unique(name: String, taken: &mut Vec<String>) -> String {
    let mut candidate = name.clone();
    let mut i = 2;
    while taken.contains(&candidate) {
        candidate = format!("{name}{i}");
        i += 1;
    }
    taken.push(candidate.clone());
    candidate
}
