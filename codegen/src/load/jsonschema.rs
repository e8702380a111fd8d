//! JSON Schema (as ClearML HOCON schemas and OpenAPI 3.0 schemas write it) into IR schemas.
//! Shared by the ClearML and OpenAPI loaders; both hand over a `serde_json::Value`.

use serde_json::{Map, Value};

use crate::ir::{Additional, Alternatives, Kind, ObjectSchema, Property, Schema};

/// How one spec dialect writes the things JSON Schema leaves open.
pub struct Dialect {
    /// Prefix of local references (`#/definitions/`, `#/components/schemas/`).
    pub ref_prefix: &'static str,
    /// What objects do with members they do not name when `additionalProperties` is absent.
    pub default_additional: fn() -> Additional,
}

pub fn convert(v: &Value, d: &Dialect, at: &str) -> Result<Schema, String> {
    Cx { d, root: None, warnings: None, depth: 0, expanding: Vec::new() }.convert(v, at)
}

/// [`convert`] for documents people ship (OpenAPI): `root` is the whole document, where
/// `allOf` parts and references outside `d.ref_prefix` are looked up; what cannot be
/// represented (a non-string `enum`, a pattern the regex engine rejects, an unknown `type`)
/// is dropped with a line in `warnings` instead of failing the document.
pub fn convert_lenient(v: &Value, d: &Dialect, at: &str, root: &Value, warnings: &mut Vec<String>) -> Result<Schema, String> {
    let mut cx = Cx { d, root: Some(root), warnings: Some(Vec::new()), depth: 0, expanding: Vec::new() };
    let out = cx.convert(v, at);
    warnings.extend(cx.warnings.unwrap_or_default());
    out
}

/// One conversion: strict (`warnings: None`, every problem is an error) or lenient.
struct Cx<'a> {
    d: &'a Dialect,
    root: Option<&'a Value>,
    warnings: Option<Vec<String>>,
    depth: usize,
    /// The references whose `allOf` merge is being converted (a schema that contains itself
    /// through `allOf: [{$ref: itself}, …]` stops there as a reference).
    expanding: Vec<String>,
}

impl Cx<'_> {
    /// A problem that is an error in strict mode and a warning in lenient mode.
    fn problem(&mut self, msg: String) -> Result<(), String> {
        match &mut self.warnings {
            Some(w) => {
                w.push(msg);
                Ok(())
            }
            None => Err(msg),
        }
    }

    /// The schema a local `#/…` reference points at, in lenient mode.
    fn pointer(&self, r: &str) -> Option<&Value> {
        self.root?.pointer(r.strip_prefix('#')?)
    }

    fn convert(&mut self, v: &Value, at: &str) -> Result<Schema, String> {
        let obj = match v {
            Value::Object(o) => o,
            Value::Bool(true) => return Ok(Schema::new(Kind::Any)),
            other => return Err(format!("{at}: a schema must be an object, found {other}")),
        };
        if self.root.is_some() && obj.contains_key("allOf") {
            let refs = all_of_refs(obj);
            if let Some(r) = refs.iter().find(|r| self.expanding.contains(r)) {
                // the schema contains itself: this place refers to it instead of inlining it again
                let mut own: Map<String, Value> = obj.iter().filter(|(k, _)| *k != "allOf").map(|(k, v)| (k.clone(), v.clone())).collect();
                own.insert("$ref".into(), Value::String(r.clone()));
                self.problem(format!("{at}: allOf of `{r}` inside `{r}`: the other parts are not merged here"))?;
                return self.convert(&Value::Object(own), at);
            }
            if let Some(merged) = self.merge_all_of(obj, at)? {
                let before = self.expanding.len();
                self.expanding.extend(refs);
                let out = self.convert(&Value::Object(merged), at);
                self.expanding.truncate(before);
                return out;
            }
        }
        let description = obj.get("description").and_then(Value::as_str).unwrap_or("").trim().to_string();
        let default = obj.get("default").cloned();
        let mut nullable = obj.get("nullable").and_then(Value::as_bool).unwrap_or(false);
        let kind = self.kind_of(obj, at, &mut nullable)?;
        Ok(Schema { description, kind, default, nullable })
    }

    /// `allOf` merged into one schema: properties merged (later parts win), `required`
    /// unioned, references followed; the schema's own members win over its parts'. `None`
    /// for `allOf: [{$ref}]` alone (a described or nullable reference), which stays a reference.
    fn merge_all_of(&mut self, obj: &Map<String, Value>, at: &str) -> Result<Option<Map<String, Value>>, String> {
        let parts = obj.get("allOf").and_then(Value::as_array).ok_or_else(|| format!("{at}: allOf must be a list"))?;
        let own: Map<String, Value> = obj.iter().filter(|(k, _)| *k != "allOf").map(|(k, v)| (k.clone(), v.clone())).collect();
        let only_notes = own.keys().all(|k| matches!(k.as_str(), "description" | "nullable" | "title" | "default" | "readOnly" | "writeOnly" | "example" | "deprecated"));
        if parts.len() == 1 && only_notes && parts[0].get("$ref").is_some() {
            let mut out = own;
            out.insert("$ref".into(), parts[0]["$ref"].clone());
            return Ok(Some(out));
        }
        self.depth += 1;
        if self.depth > 64 {
            return Err(format!("{at}: allOf nests too deep (a reference cycle?)"));
        }
        let mut out = Map::new();
        for (i, part) in parts.iter().enumerate() {
            let mut part = part.clone();
            let mut hops = 0;
            while let Some(r) = part.get("$ref").and_then(Value::as_str).map(str::to_string) {
                hops += 1;
                match self.pointer(&r) {
                    Some(t) if hops < 32 => part = t.clone(),
                    _ => {
                        self.problem(format!("{at}.allOf[{i}]: reference `{r}` cannot be merged"))?;
                        part = Value::Object(Map::new());
                    }
                }
            }
            let Value::Object(mut p) = part else { continue };
            if p.contains_key("allOf") {
                p = self.merge_all_of(&p, &format!("{at}.allOf[{i}]"))?.unwrap_or(p);
            }
            // A parent's discriminator describes the parent's family, not this merged schema.
            p.remove("discriminator");
            merge_into(&mut out, p, false);
        }
        merge_into(&mut out, own, true);
        self.depth -= 1;
        Ok(Some(out))
    }

    fn kind_of(&mut self, obj: &Map<String, Value>, at: &str, nullable: &mut bool) -> Result<Kind, String> {
        if let Some(r) = obj.get("$ref") {
            let r = r.as_str().ok_or_else(|| format!("{at}: $ref must be a string"))?;
            if let Some(name) = r.strip_prefix(self.d.ref_prefix) {
                return Ok(Kind::Ref(name.to_string()));
            }
            if self.root.is_some() {
                // Another place of the document (a response's schema, a property of a named
                // schema): converted where it is used.
                if let Some(target) = self.pointer(r).cloned() {
                    self.depth += 1;
                    if self.depth > 32 {
                        return Err(format!("{at}: reference `{r}` nests too deep"));
                    }
                    let s = self.convert(&target, at);
                    self.depth -= 1;
                    return s.map(|s| s.kind);
                }
                self.problem(format!("{at}: reference `{r}` does not resolve; any value is accepted"))?;
                return Ok(Kind::Any);
            }
            return Err(format!("{at}: unsupported reference `{r}` (expected {}<name>)", self.d.ref_prefix));
        }
        for (key, exclusive) in [("oneOf", true), ("anyOf", false)] {
            if let Some(list) = obj.get(key).filter(|_| required_alternatives(obj).is_none()) {
                let list = list.as_array().ok_or_else(|| format!("{at}: {key} must be a list"))?;
                let mut variants = Vec::new();
                for (i, v) in list.iter().enumerate() {
                    variants.push(self.convert(v, &format!("{at}.{key}[{i}]"))?);
                }
                let (names, tag) = variant_names(obj, list);
                // `oneOf: [X, {type: "null"}]`: a nullable X.
                if let Some(i) = variants.iter().position(|v| v.kind == Kind::Const(Value::Null)) {
                    if variants.len() == 2 && self.root.is_some() {
                        *nullable = true;
                        return Ok(variants.swap_remove(1 - i).kind);
                    }
                }
                return Ok(Kind::Union { variants, exclusive, names, tag });
            }
        }
        if let Some(c) = obj.get("const") {
            return Ok(Kind::Const(c.clone()));
        }
        if let Some(values) = obj.get("enum") {
            let values = values.as_array().ok_or_else(|| format!("{at}: enum must be a list"))?;
            let mut strings = Vec::new();
            let mut others = Vec::new();
            for v in values {
                match v {
                    // a value listed twice (documents do that) is one variant
                    Value::String(s) if self.root.is_some() && strings.contains(s) => {}
                    Value::String(s) => strings.push(s.clone()),
                    Value::Null if self.root.is_some() => *nullable = true,
                    other => others.push(other),
                }
            }
            if others.is_empty() && !strings.is_empty() {
                return Ok(Kind::Enum(strings));
            }
            if let Some(other) = others.first() {
                self.problem(format!("{at}: only string enums are supported, found {other}; the values are not checked"))?;
            }
        }
        let ty = match obj.get("type") {
            Some(Value::String(t)) => Some(t.as_str()),
            None => None,
            Some(other) => {
                self.problem(format!("{at}: unsupported type `{other}`; any value is accepted"))?;
                return Ok(Kind::Any);
            }
        };
        let int = |k: &str| obj.get(k).and_then(Value::as_i64);
        let uint = |k: &str| obj.get(k).and_then(Value::as_u64);
        let float = |k: &str| obj.get(k).and_then(Value::as_f64);
        Ok(match ty {
            None if obj.contains_key("properties") => self.object(obj, at)?,
            None => Kind::Any,
            Some("object") => self.object(obj, at)?,
            Some("array") => {
                let items = match obj.get("items") {
                    Some(items) => self.convert(items, &format!("{at}.items"))?,
                    None => Schema::new(Kind::Any),
                };
                Kind::Array { items: Box::new(items), min_items: uint("minItems"), max_items: uint("maxItems") }
            }
            Some("string") => {
                let mut pattern = obj.get("pattern").and_then(Value::as_str).map(str::to_string);
                if let Some(p) = pattern.clone() {
                    if let Err(e) = regex_check(&p) {
                        self.problem(format!("{at}: pattern `{p}` does not compile: {e}"))?;
                        pattern = None;
                    }
                }
                Kind::String {
                    min_length: uint("minLength"),
                    max_length: uint("maxLength"),
                    pattern,
                    format: obj.get("format").and_then(Value::as_str).map(str::to_string),
                }
            }
            Some("integer") => Kind::Integer {
                minimum: int("minimum"),
                maximum: int("maximum"),
                bits: if obj.get("format").and_then(Value::as_str) == Some("int32") { 32 } else { 64 },
            },
            Some("number") => Kind::Number { minimum: float("minimum"), maximum: float("maximum"), nonfinite_as_strings: false },
            Some("boolean") => Kind::Boolean,
            Some("null") => Kind::Const(Value::Null),
            Some(other) => {
                self.problem(format!("{at}: unsupported type `{other}`; any value is accepted"))?;
                Kind::Any
            }
        })
    }}

/// `oneOf`/`anyOf` beside `properties` whose every entry is only a `required` list: the sets
/// of members of which exactly one / at least one must be present.
fn required_alternatives(obj: &Map<String, Value>) -> Option<(Vec<Vec<String>>, bool)> {
    if !obj.contains_key("properties") {
        return None;
    }
    for (key, exclusive) in [("oneOf", true), ("anyOf", false)] {
        let Some(list) = obj.get(key).and_then(Value::as_array) else { continue };
        let sets: Option<Vec<Vec<String>>> = list
            .iter()
            .map(|entry| {
                let e = entry.as_object().filter(|e| e.len() == 1)?;
                e.get("required")?.as_array()?.iter().map(|m| m.as_str().map(str::to_string)).collect()
            })
            .collect();
        return sets.filter(|s| !s.is_empty()).map(|s| (s, exclusive));
    }
    None
}

impl Cx<'_> {
    fn object(&mut self, obj: &Map<String, Value>, at: &str) -> Result<Kind, String> {
        let required: Vec<&str> = obj
            .get("required")
            .and_then(Value::as_array)
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let additional = match obj.get("additionalProperties") {
            None => (self.d.default_additional)(),
            Some(Value::Bool(true)) => Additional::Keep(Box::new(Schema::new(Kind::Any))),
            Some(Value::Bool(false)) => Additional::Forbid,
            Some(s) => Additional::Keep(Box::new(self.convert(s, &format!("{at}.additionalProperties"))?)),
        };
        let props = match obj.get("properties") {
            Some(Value::Object(p)) => p,
            Some(_) => return Err(format!("{at}: properties must be an object")),
            None => {
                // An object that names no members is a map of whatever it allows.
                return Ok(match additional {
                    Additional::Keep(values) => Kind::Map(values),
                    Additional::Ignore => Kind::Map(Box::new(Schema::new(Kind::Any))),
                    Additional::Forbid => Kind::Object(ObjectSchema { properties: vec![], additional, alternatives: None }),
                });
            }
        };
        for r in &required {
            if !props.contains_key(*r) {
                self.problem(format!("{at}: required member `{r}` is not among the properties"))?;
            }
        }
        let mut properties = Vec::new();
        for (name, s) in props {
            let schema = self.convert(s, &format!("{at}.{name}"))?;
            properties.push(Property { name: name.clone(), required: required.contains(&name.as_str()), schema });
        }
        let alternatives = match required_alternatives(obj) {
            Some((sets, exclusive)) => {
                for m in sets.iter().flatten() {
                    if !props.contains_key(m) {
                        return Err(format!("{at}: alternative member `{m}` is not among the properties"));
                    }
                }
                Some(Alternatives { sets, exclusive })
            }
            None => None,
        };
        Ok(Kind::Object(ObjectSchema { properties, additional, alternatives }))
    }
}

/// Merge schema `p` into `out`: properties merged, `required` unioned; other members kept
/// from the first part that has them, unless `own` (the schema's own members win).
fn merge_into(out: &mut Map<String, Value>, p: Map<String, Value>, own: bool) {
    for (k, v) in p {
        match (k.as_str(), out.get_mut(&k), v) {
            ("properties", Some(Value::Object(have)), Value::Object(add)) => have.extend(add),
            ("required", Some(Value::Array(have)), Value::Array(add)) => {
                for r in add {
                    if !have.contains(&r) {
                        have.push(r);
                    }
                }
            }
            (_, Some(_), v) if own => {
                out.insert(k, v);
            }
            (_, Some(_), _) => {}
            (_, None, v) => {
                out.insert(k, v);
            }
        }
    }
}

/// Readable names of the variants of a `oneOf`/`anyOf` (`""` where the emitter picks one),
/// and the discriminator's property. With a discriminator, a variant's name is its tag
/// value: the mapping key that points at it, else the referenced schema's name.
fn variant_names(obj: &Map<String, Value>, list: &[Value]) -> (Vec<String>, Option<String>) {
    let disc = obj.get("discriminator");
    let tag = disc.and_then(|d| d.get("propertyName")).and_then(Value::as_str).map(str::to_string);
    let mapping = disc.and_then(|d| d.get("mapping")).and_then(Value::as_object);
    let names = list
        .iter()
        .map(|v| {
            if let Some(r) = v.get("$ref").and_then(Value::as_str) {
                if let Some((key, _)) = mapping.and_then(|m| m.iter().find(|(_, target)| target.as_str() == Some(r))) {
                    return key.clone();
                }
                return r.rsplit('/').next().unwrap_or(r).to_string();
            }
            v.get("title").and_then(Value::as_str).unwrap_or("").to_string()
        })
        .collect();
    (names, tag)
}

/// Patterns are checked at generation time so generated code never meets a bad one.
pub(crate) fn regex_check(p: &str) -> Result<(), String> {
    regex::Regex::new(p).map(|_| ()).map_err(|e| e.to_string())
}

/// The references an `allOf` names directly (`allOf: [{$ref: …}, …]`).
fn all_of_refs(obj: &Map<String, Value>) -> Vec<String> {
    obj.get("allOf").and_then(Value::as_array).into_iter().flatten().filter_map(|p| p.get("$ref").and_then(Value::as_str)).map(str::to_string).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const D: Dialect = Dialect { ref_prefix: "#/components/schemas/", default_additional: || Additional::Ignore };

    #[test]
    fn required_alternatives_beside_properties_are_not_a_union() {
        let s = convert(
            &json!({"type": "object", "properties": {"id": {"type": "integer"}, "uid": {"type": "string"}}, "oneOf": [{"required": ["id"]}, {"required": ["uid"]}]}),
            &D,
            "t",
        )
        .unwrap();
        let Kind::Object(obj) = s.kind else { panic!("{s:?}") };
        assert_eq!(obj.alternatives, Some(Alternatives { sets: vec![vec!["id".into()], vec!["uid".into()]], exclusive: true }));
        // A oneOf of schemas stays a union; an alternative naming no property is an error.
        let u = convert(&json!({"oneOf": [{"type": "string"}, {"type": "integer"}]}), &D, "t").unwrap();
        assert!(matches!(u.kind, Kind::Union { exclusive: true, .. }));
        let bad = json!({"type": "object", "properties": {"id": {"type": "integer"}}, "anyOf": [{"required": ["x"]}]});
        assert!(convert(&bad, &D, "t").unwrap_err().contains("alternative member `x`"));
    }
}
