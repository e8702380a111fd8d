//! IR schemas → serde types with rustdoc from the spec, plus generated validation
//! (`specmill_wire::validate::Validate`) from the constraints, and the request/response
//! types of every operation version. One emitter for both ends: a [`Target`] says whether
//! the types are the server's (`generated/`) or the client's (`client/src/generated/`),
//! which differ only where the server has server-only types.

use std::collections::BTreeMap;

use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use serde_json::Value;

use crate::ir::{Additional, Api, Body, Kind, ObjectSchema, Operation, OperationVersion, Param, Property, Schema, Service, TimestampFormat, Version};
use super::{doc_attrs, opt_tokens};
use crate::names::{field_name, ident, type_name, unique, variant_name, version_suffix};

/// Which end the types are generated for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Target {
    /// The server (`specmill-runtime` plumbing: raw replies, JSON-lines batches that keep bad lines).
    Server,
    /// The client crate (`specmill-wire` only: raw replies are bytes, batches are lists).
    Client,
}

impl Target {
    /// The crate that holds `validate` and `wire` for this end.
    fn support(self) -> TokenStream {
        match self {
            Target::Server => quote!(::specmill_runtime),
            Target::Client => quote!(::specmill_wire),
        }
    }

    /// A reply sent as it is (a file, a text).
    fn raw_reply(self) -> TokenStream {
        match self {
            Target::Server => quote!(::specmill_runtime::protocol::RawReply),
            Target::Client => quote!(::std::vec::Vec<u8>),
        }
    }

    /// A JSON-lines body of `item` requests.
    fn batch(self, item: &proc_macro2::Ident) -> TokenStream {
        match self {
            Target::Server => quote!(::specmill_runtime::protocol::clearml::Batch<#item>),
            Target::Client => quote!(::std::vec::Vec<#item>),
        }
    }
}

/// Collects the generated items of one API's `types` module, keyed by name so the output
/// order is stable whatever order they were requested in.
pub struct TypeGen<'a> {
    pub api: &'a Api,
    pub target: Target,
    items: BTreeMap<String, TokenStream>,
    patterns: Vec<String>,
    /// Named types that contain themselves with no Vec or map between (recursive shapes),
    /// by Rust name, each with the number of its cycle: a field from one to another of the
    /// same cycle is boxed.
    cycles: BTreeMap<String, usize>,
}

/// The generated request and response types of one operation version.
pub struct OperationTypes {
    pub request: proc_macro2::Ident,
    pub response: proc_macro2::Ident,
}

/// One field of a generated struct, as the server emitter needs to fill it.
pub struct FieldInfo {
    pub rust: String,
    pub wire: String,
    pub optional: bool,
    pub default_fn: Option<String>,
}

impl<'a> TypeGen<'a> {
    pub fn new(api: &'a Api, target: Target) -> TypeGen<'a> {
        let mut gen = TypeGen { api, target, items: BTreeMap::new(), patterns: Vec::new(), cycles: containment_cycles(api) };
        for (name, schema) in &api.types.named {
            gen.define(&type_name(name), schema);
        }
        gen
    }

    pub fn has(&self, name: &str) -> bool {
        self.items.contains_key(name)
    }

    /// Define a named item for `schema` (struct, enum or alias) unless it exists.
    pub fn define(&mut self, name: &str, schema: &Schema) {
        if self.items.contains_key(name) {
            return;
        }
        // Reserve the name first so recursive schemas terminate.
        self.items.insert(name.to_string(), TokenStream::new());
        let docs = doc_attrs(&schema.description);
        let id = ident(name);
        let item = match &schema.kind {
            Kind::Object(obj) => self.object(name, &schema.description, obj),
            Kind::Enum(values) => self.enumeration(name, &schema.description, values),
            Kind::Const(Value::String(s)) => self.enumeration(name, &schema.description, std::slice::from_ref(s)),
            Kind::Union { variants, exclusive } => self.union(name, &schema.description, variants, *exclusive),
            _ => {
                let ty = self.rust_type(schema, name);
                if ty.to_string() == id.to_string() {
                    TokenStream::new()
                } else {
                    quote! { #docs pub type #id = #ty; }
                }
            }
        };
        self.items.insert(name.to_string(), item);
    }

    /// Add an item built elsewhere under `name`.
    pub fn define_raw(&mut self, name: &str, item: TokenStream) {
        self.items.insert(name.to_string(), item);
    }

    /// Define `alias` as another name for the type of `schema` (no item when it is the same name).
    pub fn alias(&mut self, alias: &str, schema: &Schema) {
        if let Kind::Ref(r) = &schema.kind {
            if type_name(r) == alias {
                return;
            }
        }
        self.define(alias, schema);
    }

    /// The Rust type of `schema`, defining named items for inline objects/enums/unions
    /// under names derived from `ctx`.
    pub fn rust_type(&mut self, schema: &Schema, ctx: &str) -> TokenStream {
        match &schema.kind {
            Kind::Any => quote!(::serde_json::Value),
            Kind::Boolean => quote!(bool),
            Kind::Integer { bits: 32, .. } => quote!(i32),
            Kind::Integer { .. } => quote!(i64),
            Kind::Number { nonfinite_as_strings: true, .. } => {
                let support = self.target.support();
                quote!(#support::wire::Double)
            }
            Kind::Number { .. } => quote!(f64),
            Kind::String { format: Some(f), .. } if f == "binary" => {
                let support = self.target.support();
                quote!(#support::wire::FilePart)
            }
            Kind::String { .. } => quote!(::std::string::String),
            Kind::Timestamp(TimestampFormat::EpochSeconds) => {
                let support = self.target.support();
                quote!(#support::wire::EpochSeconds)
            }
            Kind::Const(Value::String(_)) | Kind::Enum(_) | Kind::Object(_) | Kind::Union { .. } => {
                self.define(ctx, schema);
                let id = ident(ctx);
                quote!(#id)
            }
            Kind::Const(_) => quote!(::serde_json::Value),
            Kind::Array { items, .. } => {
                let inner = self.rust_type(items, &format!("{ctx}Item"));
                let inner = if items.nullable { quote!(::std::option::Option<#inner>) } else { inner };
                quote!(::std::vec::Vec<#inner>)
            }
            Kind::Map(values) => match values.kind {
                Kind::Any => quote!(::serde_json::Map<::std::string::String, ::serde_json::Value>),
                _ => {
                    let inner = self.rust_type(values, &format!("{ctx}Value"));
                    quote!(::std::collections::BTreeMap<::std::string::String, #inner>)
                }
            },
            Kind::Ref(r) => {
                let id = ident(&type_name(r));
                quote!(#id)
            }
        }
    }

    /// A member of struct `owner` of this schema is on a cycle of containment: it is boxed.
    fn boxed(&self, owner: &str, schema: &Schema) -> bool {
        match (&schema.kind, self.cycles.get(owner)) {
            (Kind::Ref(r), Some(cycle)) => self.cycles.get(&type_name(r)) == Some(cycle),
            _ => false,
        }
    }

    /// The fields a struct for `obj` gets, in order (shared with the server emitter).
    pub fn fields<'o>(struct_name: &str, obj: &'o ObjectSchema) -> Vec<(FieldInfo, &'o Property)> {
        let mut taken = vec!["extra".to_string()];
        obj.properties
            .iter()
            .map(|p| {
                let rust = unique(field_name(&p.name), &mut taken);
                let default_fn = match (&p.schema.default, p.required) {
                    (Some(d), false) if literal(&p.schema.kind, d).is_some() => Some(format!("default_{}_{}", crate::names::field_name(struct_name), rust)),
                    _ => None,
                };
                let optional = (!p.required || p.schema.nullable) && default_fn.is_none();
                (FieldInfo { rust, wire: p.name.clone(), optional, default_fn }, p)
            })
            .collect()
    }

    fn object(&mut self, name: &str, description: &str, obj: &ObjectSchema) -> TokenStream {
        let support = self.target.support();
        let docs = doc_attrs(description);
        let id = ident(name);
        let mut fields = Vec::new();
        let mut checks = Vec::new();
        let mut defaults = Vec::new();
        let mut all_optional = true;
        for (info, prop) in Self::fields(name, obj) {
            let fid = ident(&info.rust);
            let mut ty = self.rust_type(&prop.schema, &format!("{name}{}", type_name(&prop.name)));
            let fdocs = doc_attrs(&field_doc(&prop.schema));
            let wire = &info.wire;
            let rename = if info.rust != info.wire { quote!(rename = #wire,) } else { quote!() };
            let mut check = self.checks(&quote!(value), &prop.schema);
            if self.boxed(name, &prop.schema) {
                if !check.is_empty() {
                    check = quote! { let value: &#ty = value; #check };
                }
                ty = quote!(::std::boxed::Box<#ty>);
            }
            if let Some(dfn) = &info.default_fn {
                all_optional = false;
                let dfn_id = ident(dfn);
                let lit = literal(&prop.schema.kind, prop.schema.default.as_ref().unwrap_or(&Value::Null)).unwrap_or_default();
                defaults.push(quote! { #[doc = " Default of this member, from the spec."] pub fn #dfn_id() -> #ty { #lit } });
                fields.push(quote! { #fdocs #[serde(#rename default = #dfn)] pub #fid: #ty, });
                if !check.is_empty() {
                    checks.push(quote! { v.enter(#wire); { let value = &self.#fid; #check } v.leave(); });
                }
            } else if info.optional {
                // A required member that may be null is always sent (as `null` when None);
                // an optional one is left out when None.
                let skip = if prop.required { quote!() } else { quote!(skip_serializing_if = "::std::option::Option::is_none") };
                fields.push(quote! {
                    #fdocs #[serde(#rename default, #skip)]
                    pub #fid: ::std::option::Option<#ty>,
                });
                if !check.is_empty() {
                    checks.push(quote! { if let ::std::option::Option::Some(value) = &self.#fid { v.enter(#wire); #check v.leave(); } });
                }
            } else {
                all_optional = false;
                let attr = if rename.is_empty() { quote!() } else { quote!(#[serde(#rename)]) };
                fields.push(quote! { #fdocs #attr pub #fid: #ty, });
                if !check.is_empty() {
                    checks.push(quote! { v.enter(#wire); { let value = &self.#fid; #check } v.leave(); });
                }
            }
        }
        if let Some(alt) = &obj.alternatives {
            let fields = Self::fields(name, obj);
            let present = alt.sets.iter().map(|set| {
                let each = set.iter().map(|m| match fields.iter().find(|(_, p)| &p.name == m) {
                    Some((info, _)) if info.optional => {
                        let fid = ident(&info.rust);
                        quote!(self.#fid.is_some())
                    }
                    _ => quote!(true),
                });
                quote!((true #(&& #each)*))
            });
            let names: Vec<String> = alt.sets.iter().map(|s| s.join("+")).collect();
            let exclusive = alt.exclusive;
            checks.push(quote! { v.alternatives(&[#(#present),*], &[#(#names),*], #exclusive); });
        }
        let mut container = quote!();
        match &obj.additional {
            Additional::Forbid => container = quote!(#[serde(deny_unknown_fields)]),
            Additional::Ignore => {}
            Additional::Keep(values) => {
                let ty = match values.kind {
                    Kind::Any => quote!(::serde_json::Map<::std::string::String, ::serde_json::Value>),
                    _ => {
                        let inner = self.rust_type(values, &format!("{name}Extra"));
                        quote!(::std::collections::BTreeMap<::std::string::String, #inner>)
                    }
                };
                fields.push(quote! {
                    /// Members the schema does not name, kept as sent.
                    #[serde(flatten)]
                    pub extra: #ty,
                });
            }
        }
        let derive_default = if all_optional { quote!(Default,) } else { quote!() };
        quote! {
            #docs
            #[derive(Debug, Clone, PartialEq, #derive_default ::serde::Serialize, ::serde::Deserialize)]
            #container
            pub struct #id { #(#fields)* }
            #(#defaults)*
            impl #support::validate::Validate for #id {
                #[allow(unused_variables)]
                fn validate(&self, v: &mut #support::validate::Validator) { #(#checks)* }
            }
        }
    }

    fn enumeration(&mut self, name: &str, description: &str, values: &[String]) -> TokenStream {
        let support = self.target.support();
        let docs = doc_attrs(description);
        let id = ident(name);
        let mut taken = Vec::new();
        let variants: Vec<TokenStream> = values
            .iter()
            .map(|v| {
                let vname = unique(variant_name(v), &mut taken);
                let vid = ident(&vname);
                let doc = format!(" `{v}`");
                quote! { #[doc = #doc] #[serde(rename = #v)] #vid, }
            })
            .collect();
        let arms: Vec<TokenStream> = values
            .iter()
            .zip(taken.iter())
            .map(|(v, n)| {
                let vid = ident(n);
                quote!(#id::#vid => #v,)
            })
            .collect();
        quote! {
            #docs
            #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, ::serde::Serialize, ::serde::Deserialize)]
            pub enum #id { #(#variants)* }
            impl #id {
                /// The value as it travels on the wire.
                pub fn as_str(&self) -> &'static str { match self { #(#arms)* } }
            }
            impl #support::validate::Validate for #id {
                fn validate(&self, _: &mut #support::validate::Validator) {}
            }
        }
    }

    fn union(&mut self, name: &str, description: &str, variants: &[Schema], exclusive: bool) -> TokenStream {
        let support = self.target.support();
        let kind = if exclusive { "one of" } else { "any of" };
        let docs = doc_attrs(&format!("{description}\n\nOn the wire: {kind} the variants below, tried in order."));
        let id = ident(name);
        let mut taken = Vec::new();
        let mut vs = Vec::new();
        let mut arms = Vec::new();
        for (i, v) in variants.iter().enumerate() {
            let base = match &v.kind {
                Kind::Ref(r) => type_name(r),
                Kind::String { .. } => "String".into(),
                Kind::Number { .. } => "Number".into(),
                Kind::Integer { .. } => "Integer".into(),
                Kind::Boolean => "Boolean".into(),
                Kind::Array { .. } => "List".into(),
                Kind::Enum(_) => "Named".into(),
                _ => format!("Variant{i}"),
            };
            let vname = unique(base, &mut taken);
            let vid = ident(&vname);
            let ty = self.rust_type(v, &format!("{name}{vname}"));
            let vdocs = doc_attrs(&v.description);
            vs.push(quote! { #vdocs #vid(#ty), });
            let check = self.checks(&quote!(value), v);
            arms.push(quote! { #id::#vid(value) => { #check } });
        }
        quote! {
            #docs
            #[derive(Debug, Clone, PartialEq, ::serde::Serialize, ::serde::Deserialize)]
            #[serde(untagged)]
            pub enum #id { #(#vs)* }
            impl #support::validate::Validate for #id {
                #[allow(unused_variables)]
                fn validate(&self, v: &mut #support::validate::Validator) { match self { #(#arms)* } }
            }
        }
    }

    /// Checks of the constraints of `schema` on `expr` (a reference to the value).
    fn checks(&mut self, expr: &TokenStream, schema: &Schema) -> TokenStream {
        let support = self.target.support();
        match &schema.kind {
            Kind::String { min_length, max_length, pattern, .. } => {
                let mut out = quote!();
                if min_length.is_some() || max_length.is_some() {
                    let min = opt_tokens(*min_length);
                    let max = opt_tokens(*max_length);
                    out.extend(quote! { v.length(#expr.chars().count() as u64, #min, #max); });
                }
                if let Some(p) = pattern {
                    let idx = match self.patterns.iter().position(|x| x == p) {
                        Some(i) => i,
                        None => {
                            self.patterns.push(p.clone());
                            self.patterns.len() - 1
                        }
                    };
                    let stat = format_ident!("PATTERN_{}", idx);
                    out.extend(quote! { v.pattern(#expr, &#stat, #p); });
                }
                out
            }
            Kind::Integer { minimum, maximum, .. } if minimum.is_some() || maximum.is_some() => {
                let min = opt_tokens(minimum.map(|m| m as f64));
                let max = opt_tokens(maximum.map(|m| m as f64));
                quote! { v.range(*#expr as f64, #min, #max); }
            }
            Kind::Number { minimum, maximum, nonfinite_as_strings } if minimum.is_some() || maximum.is_some() => {
                let min = opt_tokens(*minimum);
                let max = opt_tokens(*maximum);
                let val = if *nonfinite_as_strings { quote!(#expr.0) } else { quote!(*#expr) };
                quote! { v.range(#val, #min, #max); }
            }
            Kind::Const(c) if !c.is_string() => {
                let text = c.to_string();
                quote! { v.equals(#expr, #text); }
            }
            Kind::Array { items, min_items, max_items } => {
                let mut out = quote!();
                if min_items.is_some() || max_items.is_some() {
                    let min = opt_tokens(*min_items);
                    let max = opt_tokens(*max_items);
                    out.extend(quote! { v.items(#expr.len() as u64, #min, #max); });
                }
                let inner = self.checks(&quote!(item), items);
                if !inner.is_empty() {
                    let inner = if items.nullable {
                        quote! { if let ::std::option::Option::Some(item) = item { #inner } }
                    } else {
                        inner
                    };
                    out.extend(quote! {
                        for (i, item) in #expr.iter().enumerate() { v.enter_index(i); #inner v.leave(); }
                    });
                }
                out
            }
            Kind::Map(values) => {
                let inner = self.checks(&quote!(item), values);
                if inner.is_empty() {
                    quote!()
                } else {
                    quote! { for (k, item) in #expr.iter() { v.enter(k); #inner v.leave(); } }
                }
            }
            // A named alias (a list, a string, …) has no Validate impl of its own: check its
            // constraints here.
            Kind::Ref(r) if self.api.types.named.get(r).is_some_and(|t| !matches!(t.kind, Kind::Object(_) | Kind::Union { .. } | Kind::Enum(_) | Kind::Ref(_))) => {
                let target = self.api.types.named[r].clone();
                self.checks(expr, &target)
            }
            Kind::Ref(_) | Kind::Object(_) | Kind::Union { .. } => {
                quote! { #support::validate::Validate::validate(#expr, v); }
            }
            _ => quote!(),
        }
    }

    /// Define the request and response types of one operation version (both ends share
    /// them): a parameterless JSON body is its schema, a REST operation with parameters gets
    /// a struct of its parameters plus `body`, a JSON-lines body is a batch of another
    /// version's requests, a raw reply is the end's raw type.
    pub fn operation(&mut self, service: &Service, op: &Operation, v: &OperationVersion) -> Result<OperationTypes, String> {
        let req_name = request_name(op, v);
        let resp_name = response_name(op, v);
        match (&v.body, v.params.is_empty()) {
            (Body::JsonLines { operation, version }, _) => {
                let (iop, iv) = batch_item(service, operation, *version).ok_or_else(|| format!("{}: batch_request names unknown action `{operation}`", op.name))?;
                let item_id = ident(&request_name(iop, iv));
                let rid = ident(&req_name);
                let doc = format!(" `{}` requests, one JSON object per line.", iop.name);
                let batch = self.target.batch(&item_id);
                self.define_raw(&req_name, quote! { #[doc = #doc] pub type #rid = #batch; });
            }
            (Body::Json { schema, .. }, true) => self.alias(
                &req_name,
                &Schema { description: if schema.description.is_empty() { v.description.clone() } else { schema.description.clone() }, ..schema.clone() },
            ),
            (body, _) => self.define(&req_name, &Schema::new(Kind::Object(params_object(&v.params, body))).described(format!("Request of `{}`.", op.name))),
        }
        let response = v.response.clone().unwrap_or_else(|| Schema::new(Kind::Any));
        let response_doc = if response.description.is_empty() { format!("Reply of `{}`.", op.name) } else { response.description.clone() };
        if v.raw_response {
            let rid = ident(&resp_name);
            let docs = doc_attrs(&format!("{response_doc}\n\nSent as it is, not as JSON."));
            let raw = self.target.raw_reply();
            self.define_raw(&resp_name, quote! { #docs pub type #rid = #raw; });
        } else {
            self.alias(&resp_name, &Schema { description: response_doc, ..response });
        }
        Ok(OperationTypes {
            request: type_ident(&req_name, self, &v.body, v.params.is_empty()),
            response: type_ident(&resp_name, self, &Body::Json { schema: v.response.clone().unwrap_or_default(), required: true }, true),
        })
    }

    /// The `types` module body.
    pub fn finish(self) -> TokenStream {
        let support = self.target.support();
        let patterns = self.patterns.iter().enumerate().map(|(i, p)| {
            let stat = format_ident!("PATTERN_{}", i);
            quote! {
                static #stat: ::std::sync::LazyLock<#support::validate::Regex> =
                    ::std::sync::LazyLock::new(|| #support::validate::Regex::new(#p).expect("pattern checked by specmill-codegen"));
            }
        });
        let items = self.items.into_values();
        quote! { #(#patterns)* #(#items)* }
    }
}

/// The cycles of direct containment among named types (a struct holding another in a field,
/// or an alias naming another; a Vec or map between breaks the cycle): Rust name → cycle
/// number, for every type on one (Tarjan's strongly connected components).
fn containment_cycles(api: &Api) -> BTreeMap<String, usize> {
    fn direct(schema: &Schema, out: &mut Vec<String>) {
        match &schema.kind {
            Kind::Ref(r) => out.push(type_name(r)),
            Kind::Object(obj) => obj.properties.iter().for_each(|p| direct(&p.schema, out)),
            _ => {}
        }
    }
    let names: Vec<String> = api.types.named.keys().map(|k| type_name(k)).collect();
    let index: BTreeMap<&str, usize> = names.iter().enumerate().map(|(i, n)| (n.as_str(), i)).collect();
    let edges: Vec<Vec<usize>> = api
        .types
        .named
        .values()
        .map(|s| {
            let mut out = Vec::new();
            direct(s, &mut out);
            out.iter().filter_map(|n| index.get(n.as_str()).copied()).collect()
        })
        .collect();
    struct Tarjan<'e> {
        edges: &'e [Vec<usize>],
        index: Vec<Option<usize>>,
        low: Vec<usize>,
        on_stack: Vec<bool>,
        stack: Vec<usize>,
        next: usize,
        sccs: Vec<Vec<usize>>,
    }
    impl Tarjan<'_> {
        fn visit(&mut self, v: usize) {
            self.index[v] = Some(self.next);
            self.low[v] = self.next;
            self.next += 1;
            self.stack.push(v);
            self.on_stack[v] = true;
            for &w in &self.edges[v] {
                match self.index[w] {
                    None => {
                        self.visit(w);
                        self.low[v] = self.low[v].min(self.low[w]);
                    }
                    Some(i) if self.on_stack[w] => self.low[v] = self.low[v].min(i),
                    Some(_) => {}
                }
            }
            if Some(self.low[v]) == self.index[v] {
                let mut scc = Vec::new();
                while let Some(w) = self.stack.pop() {
                    self.on_stack[w] = false;
                    scc.push(w);
                    if w == v {
                        break;
                    }
                }
                if scc.len() > 1 || self.edges[v].contains(&v) {
                    self.sccs.push(scc);
                }
            }
        }
    }
    let n = names.len();
    let mut t = Tarjan { edges: &edges, index: vec![None; n], low: vec![0; n], on_stack: vec![false; n], stack: Vec::new(), next: 0, sccs: Vec::new() };
    for v in 0..n {
        if t.index[v].is_none() {
            t.visit(v);
        }
    }
    let names = &names;
    t.sccs.iter().enumerate().flat_map(|(i, scc)| scc.iter().map(move |&v| (names[v].clone(), i))).collect()
}

/// `GetTaskLogV1_7`: the base of an operation version's type names.
pub fn op_base(op: &Operation, v: &OperationVersion) -> String {
    format!("{}{}", type_name(&op.name), version_suffix(v.version))
}

pub fn request_name(op: &Operation, v: &OperationVersion) -> String {
    format!("{}Request", op_base(op, v))
}

pub fn response_name(op: &Operation, v: &OperationVersion) -> String {
    format!("{}Response", op_base(op, v))
}

/// The request struct of a REST operation that has parameters: one member per parameter
/// plus `body`.
pub fn params_object(params: &[Param], body: &Body) -> ObjectSchema {
    let mut properties: Vec<Property> = params
        .iter()
        .map(|p| Property {
            name: p.name.clone(),
            required: p.required,
            schema: Schema { description: p.description.clone(), ..p.schema.clone() },
        })
        .collect();
    if let Body::Json { schema, required } = body {
        properties.push(Property { name: "body".into(), required: *required, schema: schema.clone() });
    }
    ObjectSchema { properties, additional: Additional::Ignore, alternatives: None }
}

/// Resolve the operation version a JSON-lines batch item belongs to: the highest version of
/// `operation` not above `version`, else its lowest.
pub fn batch_item<'a>(service: &'a Service, operation: &str, version: Option<Version>) -> Option<(&'a Operation, &'a OperationVersion)> {
    let op = service.operations.iter().find(|o| o.name == operation)?;
    let v = version
        .and_then(|want| op.versions.iter().rev().find(|v| v.version.map(|x| x <= want).unwrap_or(true)))
        .or_else(|| op.versions.first())?;
    Some((op, v))
}

/// The name of a generated request/response type, following aliases to the named type.
fn type_ident(name: &str, gen: &TypeGen, body: &Body, no_params: bool) -> proc_macro2::Ident {
    if gen.has(name) {
        return ident(name);
    }
    if let (Body::Json { schema, .. }, true) = (body, no_params) {
        if let Kind::Ref(r) = &schema.kind {
            return ident(&type_name(r));
        }
    }
    ident(name)
}

pub(crate) fn field_doc(schema: &Schema) -> String {
    let mut d = schema.description.clone();
    let mut notes = Vec::new();
    match &schema.kind {
        Kind::String { min_length, max_length, pattern, format } => {
            if let Some(m) = min_length {
                notes.push(format!("min length {m}"));
            }
            if let Some(m) = max_length {
                notes.push(format!("max length {m}"));
            }
            if let Some(p) = pattern {
                notes.push(format!("pattern `{p}`"));
            }
            if let Some(f) = format {
                notes.push(format!("format `{f}`"));
            }
        }
        Kind::Integer { minimum, maximum, .. } => {
            notes.extend(minimum.map(|m| format!("minimum {m}")));
            notes.extend(maximum.map(|m| format!("maximum {m}")));
        }
        Kind::Number { minimum, maximum, .. } => {
            notes.extend(minimum.map(|m| format!("minimum {m}")));
            notes.extend(maximum.map(|m| format!("maximum {m}")));
        }
        Kind::Array { min_items, max_items, .. } => {
            notes.extend(min_items.map(|m| format!("at least {m} items")));
            notes.extend(max_items.map(|m| format!("at most {m} items")));
        }
        Kind::Const(c) => notes.push(format!("always `{c}`")),
        _ => {}
    }
    if let Some(def) = &schema.default {
        notes.push(format!("default `{def}`"));
    }
    if !notes.is_empty() {
        if !d.is_empty() {
            d.push_str("\n\n");
        }
        d.push_str(&format!("Constraints: {}.", notes.join(", ")));
    }
    d
}

/// A Rust literal for a default value of a primitive schema.
pub fn literal(kind: &Kind, v: &Value) -> Option<TokenStream> {
    match (kind, v) {
        (Kind::Boolean, Value::Bool(b)) => Some(quote!(#b)),
        (Kind::Integer { bits: 32, .. }, Value::Number(n)) => n.as_i64().map(|i| {
            let i = i as i32;
            quote!(#i)
        }),
        (Kind::Integer { .. }, Value::Number(n)) => n.as_i64().map(|i| quote!(#i)),
        (Kind::Number { nonfinite_as_strings: false, .. }, Value::Number(n)) => n.as_f64().map(|f| quote!(#f)),
        (Kind::String { .. }, Value::String(s)) => Some(quote!(::std::string::String::from(#s))),
        _ => None,
    }
}
