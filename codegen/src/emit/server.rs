//! IR operations → the server surface of one API: the request/response types of every
//! operation version, one service trait per service whose methods default to the API's
//! native "not implemented" error, the handlers that bind HTTP to those methods, and an
//! actix route table. Per protocol, not per spec format.

use proc_macro2::TokenStream;
use quote::quote;

use super::types::{batch_item, op_stem, params_object, request_name, OperationTypes, TypeGen};
use super::{doc_attrs, opt_tokens};
use crate::example;
use crate::ir::{Api, Body, Kind, Operation, OperationVersion, ParamLocation, Protocol, Schema, Service};
use crate::names::{field_name, ident, type_name};

/// One row of the route reference: what a route is and which Rust items serve it.
#[derive(Debug, Clone)]
pub struct RouteRow {
    pub api: String,
    pub service: String,
    pub operation: String,
    pub version: Option<String>,
    pub method: Option<String>,
    pub path: String,
    pub trait_name: String,
    pub trait_method: String,
    pub request_type: String,
    pub response_type: String,
    pub example_path: String,
    pub example_body: String,
    pub example_content_type: String,
}

pub fn trait_method(op: &Operation, v: &OperationVersion) -> String {
    match v.version {
        Some(ver) => format!("{}_v{}_{}", field_name(&op.name), ver.major, ver.minor),
        None => field_name(&op.name),
    }
}

pub fn trait_name(s: &Service) -> String {
    format!("{}Service", type_name(&s.name))
}

/// `OP_GET_TASK_LOG_V2_9`: the [`OpInfo`](::specmill_runtime::protocol::OpInfo) constant of an operation version.
fn op_const(api: &Api, service: &Service, op: &Operation, v: &OperationVersion) -> proc_macro2::Ident {
    let version = v.version.map(|x| format!("_V{}_{}", x.major, x.minor)).unwrap_or_default();
    ident(&format!("OP_{}{version}", field_name(&op_stem(api, service, op)).to_uppercase()))
}

pub struct ServerOutput {
    pub tokens: TokenStream,
    pub routes: Vec<RouteRow>,
}

pub fn emit(api: &Api, gen: &mut TypeGen) -> Result<ServerOutput, String> {
    let error = {
        let m = ident(&api.native);
        quote!(::specmill_runtime::protocol::#m::Error)
    };
    let mut out = quote!();
    let mut routes = Vec::new();
    let mut unimplemented = Vec::new();
    let mut unimplemented_registrations = Vec::new();
    let max_version = api.max_version().map(|v| v.to_string()).unwrap_or_default();
    if api.protocol == Protocol::ClearMl {
        out.extend(quote! {
            /// The highest version any endpoint of this API defines: the version of requests
            /// that name none, and the API version the server announces.
            pub const MAX_VERSION: &str = #max_version;
        });
    }
    for service in &api.services {
        let tname = trait_name(service);
        let tid = ident(&tname);
        let mut methods = Vec::new();
        let mut consts = Vec::new();
        let mut handlers = Vec::new();
        let mut registrations = Vec::new();
        for op in &service.operations {
            // the previous version's method and request type (versions are sorted)
            let mut earlier: Option<(&OperationVersion, proc_macro2::Ident, proc_macro2::Ident)> = None;
            for v in &op.versions {
                // Types of this version.
                let OperationTypes { request: req_ty, response: resp_ty } = gen.operation(service, op, v)?;

                // Trait method.
                let m = trait_method(op, v);
                let mid = ident(&m);
                // a streamed reply: the reply with its array left empty, and the array's pages
                let reply_ty = match &v.streamed {
                    Some(_) => quote!(::specmill_runtime::protocol::Streamed<types::#resp_ty>),
                    None => quote!(types::#resp_ty),
                };
                let cid = op_const(api, service, op, v);
                let version_doc = v.version.map(|x| format!("\n\nVersion {x} of `{}.{}`.", service.name, op.name)).unwrap_or_default();
                let not_implemented = quote!(::specmill_runtime::protocol::NativeError::not_implemented(&#cid));
                // A version nothing implements runs the version before it, its request and
                // reply converted through JSON (clearml-server serves a version with the
                // handler of the highest version below it), so a spec that adds a version
                // serves it at once. Streamed and raw replies are not converted.
                let plain = |v: &OperationVersion| v.streamed.is_none() && !v.raw_response;
                let delegate = earlier.as_ref().filter(|(e, _, _)| plain(e) && plain(v));
                let (default_doc, body) = match delegate {
                    Some((e, emid, ereq)) => (
                        format!(
                            "\n\nBy default it runs version {} ([`Self::{emid}`]) with the request and the reply\nconverted through JSON, and answers the API's \"not implemented\" error when they do not convert.",
                            e.version.map(|x| x.to_string()).unwrap_or_default()
                        ),
                        quote! {
                            match ::specmill_runtime::protocol::convert::<_, types::#ereq>(&request) {
                                ::std::option::Option::Some(earlier) => {
                                    let reply = self.#emid(ctx, earlier).await?;
                                    ::specmill_runtime::protocol::convert(&reply).ok_or_else(|| #not_implemented)
                                }
                                ::std::option::Option::None => ::std::result::Result::Err(#not_implemented),
                            }
                        },
                    ),
                    None => (String::new(), quote! {
                        let _ = (ctx, request);
                        ::std::result::Result::Err(#not_implemented)
                    }),
                };
                let docs = doc_attrs(&format!("{}{version_doc}{default_doc}", v.description));
                methods.push(quote! {
                    #docs
                    async fn #mid(&self, ctx: &::specmill_runtime::protocol::RequestContext, request: types::#req_ty)
                        -> ::std::result::Result<#reply_ty, #error> {
                        #body
                    }
                });
                earlier = Some((v, mid.clone(), req_ty.clone()));
                if has_invalid_hook(api) {
                    let hid = ident(&format!("{m}_invalid"));
                    let hdoc = format!(
                        " Called instead of [`Self::{m}`] when the request decodes but breaks constraints of the\n model (AWS batch operations report per-item problems in their reply). By default the\n whole request is refused with the API's native validation error."
                    );
                    methods.push(quote! {
                        #[doc = #hdoc]
                        async fn #hid(
                            &self,
                            ctx: &::specmill_runtime::protocol::RequestContext,
                            request: types::#req_ty,
                            violations: ::std::vec::Vec<::specmill_runtime::validate::Violation>,
                        ) -> ::std::result::Result<#reply_ty, #error> {
                            let _ = (ctx, request);
                            ::std::result::Result::Err(::specmill_runtime::protocol::NativeError::bad_request(
                                &#cid,
                                ::specmill_runtime::protocol::RequestProblem::Invalid(violations),
                            ))
                        }
                    });
                }
                let api_name = &api.name;
                let op_name = &op.name;
                let version = opt_tokens(v.version.map(|x| x.to_string()));
                let method = opt_tokens(v.http.method.as_deref());
                let path = &v.http.path;
                consts.push(quote! {
                    pub const #cid: ::specmill_runtime::protocol::OpInfo = ::specmill_runtime::protocol::OpInfo {
                        api: #api_name, operation: #op_name, version: #version, method: #method, path: #path,
                    };
                });

                // Route rows.
                let (example_path, example_body, example_content_type) = example_request(api, service, v);
                let shown_paths: Vec<String> = match api.protocol {
                    Protocol::ClearMl => vec![format!("/v{}{}", v.version.map(|x| x.to_string()).unwrap_or_default(), v.http.path)],
                    _ => api.mounts.iter().map(|mnt| format!("{mnt}{}", v.http.path)).collect(),
                };
                for p in shown_paths {
                    let ex_path = match api.protocol {
                        Protocol::ClearMl => p.clone(),
                        _ => format!("{}{}", p.strip_suffix(&v.http.path).unwrap_or(""), example_path),
                    };
                    routes.push(RouteRow {
                        api: api.name.clone(),
                        service: service.name.clone(),
                        operation: op.name.clone(),
                        version: v.version.map(|x| x.to_string()),
                        method: v.http.method.clone(),
                        path: p,
                        trait_name: tname.clone(),
                        trait_method: m.clone(),
                        request_type: req_ty.to_string(),
                        response_type: resp_ty.to_string(),
                        example_path: ex_path,
                        example_body: example_body.clone(),
                        example_content_type: example_content_type.clone(),
                    });
                }
            }

            // Handlers and registrations.
            match api.protocol {
                Protocol::ClearMl => {
                    let (h, r) = clearml_handler(api, service, op, &tid);
                    handlers.push(h);
                    registrations.push(r);
                }
                _ => {
                    for v in &op.versions {
                        let (h, r) = rest_handler(api, service, op, v, &tid, &error);
                        handlers.push(h);
                        registrations.push(r);
                    }
                }
            }
        }
        let tdocs = doc_attrs(&format!(
            "The `{}` service of {}.\n\nOne method per operation version. Every method answers the API's native\n\"not implemented\" error until an implementation overrides it.",
            service.name, api.title
        ));
        let configure = ident(&format!("configure_{}", field_name(&service.name)));
        let sname = &service.name;
        unimplemented.push(quote! {
            impl #tid for Unimplemented {}
        });
        unimplemented_registrations.push(quote! {
            if !implemented.contains(&#sname) {
                #configure::<Unimplemented>(cfg);
            }
        });
        let cdoc = format!(" Register every route of `{tname}` (the implementation is taken from `web::Data<S>`).");
        out.extend(quote! {
            #(#consts)*
            #tdocs
            #[allow(async_fn_in_trait)]
            pub trait #tid: 'static { #(#methods)* }
            #(#handlers)*
            #[doc = #cdoc]
            pub fn #configure<S: #tid>(cfg: &mut ::actix_web::web::ServiceConfig) { #(#registrations)* }
        });
    }
    let rows = routes.iter().map(|r| {
        let RouteRow { api, service, operation, path, trait_method, request_type, response_type, example_path, example_body, example_content_type, .. } = r;
        let version = opt_tokens(r.version.as_deref());
        let method = opt_tokens(r.method.as_deref());
        quote! {
            ::specmill_runtime::protocol::RouteInfo {
                api: #api, service: #service, operation: #operation, version: #version, method: #method, path: #path,
                trait_method: #trait_method, request_type: #request_type, response_type: #response_type,
                example_path: #example_path, example_body: #example_body, example_content_type: #example_content_type,
            },
        }
    });
    out.extend(quote! {
        /// Every service of this API with nothing but the default bodies: each method answers
        /// the API's native "not implemented" error (or runs the version before it).
        pub struct Unimplemented;
        #(#unimplemented)*
        /// Register the routes of every service whose name is not in `implemented` with
        /// [`Unimplemented`], so that a service a spec gains is served (with the API's native
        /// "not implemented" error) before anything implements it.
        pub fn configure_unimplemented(cfg: &mut ::actix_web::web::ServiceConfig, implemented: &[&str]) {
            cfg.app_data(::actix_web::web::Data::new(Unimplemented));
            #(#unimplemented_registrations)*
        }
        /// Every route of this API, one row per operation version and mount.
        pub const ROUTES: &[::specmill_runtime::protocol::RouteInfo] = &[#(#rows)*];
    });
    Ok(ServerOutput { tokens: out, routes })
}


/// The boundary of example form bodies.
const EXAMPLE_BOUNDARY: &str = "specmill-example-boundary";

fn example_request(api: &Api, service: &Service, v: &OperationVersion) -> (String, String, String) {
    let mut path = v.http.path.clone();
    let mut query = Vec::new();
    let mut form = String::new();
    for p in &v.params {
        let value = example::path_value(&p.schema, &api.types);
        match p.location {
            ParamLocation::Path => path = path.replace(&format!("{{{}}}", p.name), &value),
            ParamLocation::Query if p.required => query.push(format!("{}={}", p.name, value)),
            ParamLocation::Form if p.required => {
                let file = if is_file(&p.schema) { "; filename=\"example.txt\"" } else { "" };
                let value = if is_file(&p.schema) { "example" } else { value.as_str() };
                form.push_str(&format!("--{EXAMPLE_BOUNDARY}\r\nContent-Disposition: form-data; name=\"{}\"{file}\r\n\r\n{value}\r\n", p.name));
            }
            _ => {}
        }
    }
    if v.params.iter().any(|p| p.location == ParamLocation::Form) {
        form.push_str(&format!("--{EXAMPLE_BOUNDARY}--\r\n"));
        return (path, form, format!("multipart/form-data; boundary={EXAMPLE_BOUNDARY}"));
    }
    if !query.is_empty() {
        path = format!("{path}?{}", query.join("&"));
    }
    let body = match &v.body {
        Body::None => String::new(),
        Body::Json { schema, .. } => example::minimal(schema, &api.types).to_string(),
        Body::JsonLines { operation, version } => batch_item(service, operation, *version)
            .and_then(|(_, iv)| match &iv.body {
                Body::Json { schema, .. } => Some(example::minimal(schema, &api.types).to_string()),
                _ => None,
            })
            .unwrap_or_default(),
    };
    (path, body, "application/json".to_string())
}

fn clearml_handler(api: &Api, service: &Service, op: &Operation, tid: &proc_macro2::Ident) -> (TokenStream, TokenStream) {
    let endpoint = format!("{}.{}", service.name, op.name);
    let hid = ident(&format!("handle_{}", field_name(&op_stem(api, service, op))));
    let versions: Vec<String> = op.versions.iter().filter_map(|v| v.version.map(|x| x.to_string())).collect();
    let arms = op.versions.iter().map(|v| {
        let vs = v.version.map(|x| x.to_string()).unwrap_or_default();
        let mid = ident(&trait_method(op, v));
        let parse = match &v.body {
            Body::JsonLines { .. } => quote!(call.batch()),
            _ => quote!(call.request()),
        };
        let respond = if v.raw_response { quote!(call.respond_raw(&ctx, result)) } else { quote!(call.respond(&ctx, result)) };
        quote! {
            #vs => {
                let result = match #parse {
                    ::std::result::Result::Ok(request) => svc.#mid(&ctx, request).await,
                    ::std::result::Result::Err(e) => ::std::result::Result::Err(e),
                };
                #respond
            }
        }
    });
    let authorize = op.versions.iter().all(|v| v.authorize);
    let doc = if authorize {
        format!(" `{endpoint}`: authenticates the caller, resolves the requested version among {versions:?} and runs it.")
    } else {
        format!(" `{endpoint}` (open to callers without credentials): resolves the requested version among {versions:?} and runs it.")
    };
    let handler = quote! {
        #[doc = #doc]
        pub async fn #hid<S: #tid>(
            svc: ::actix_web::web::Data<S>,
            req: ::actix_web::HttpRequest,
            body: ::actix_web::web::Bytes,
        ) -> ::actix_web::HttpResponse {
            let call = match ::specmill_runtime::protocol::clearml::Call::parse(&req, &body, #endpoint, &[#(#versions),*], MAX_VERSION, #authorize) {
                ::std::result::Result::Ok(call) => call,
                ::std::result::Result::Err(reply) => return reply,
            };
            let ctx = call.context();
            match call.version() {
                #(#arms)*
                _ => call.unresolved(&ctx),
            }
        }
    };
    let plain = format!("/{endpoint}");
    let plain_slash = format!("/{endpoint}/");
    let versioned = format!("/v{{version}}/{endpoint}");
    let versioned_slash = format!("/v{{version}}/{endpoint}/");
    let reg = quote! {
        for path in [#plain, #plain_slash, #versioned, #versioned_slash] {
            cfg.route(path, ::actix_web::web::route().to(#hid::<S>));
        }
    };
    (handler, reg)
}

fn rest_handler(api: &Api, service: &Service, op: &Operation, v: &OperationVersion, tid: &proc_macro2::Ident, error: &TokenStream) -> (TokenStream, TokenStream) {
    let m = trait_method(op, v);
    let hid = ident(&format!("handle_{m}"));
    let mid = ident(&m);
    let cid = op_const(api, service, op, v);
    let req_name = request_name(api, service, op, v);
    let rid = if v.params.is_empty() {
        match &v.body {
            Body::Json { schema: Schema { kind: Kind::Ref(r), .. }, .. } if type_name(r) != req_name => ident(&type_name(r)),
            _ => ident(&req_name),
        }
    } else {
        ident(&req_name)
    };
    let extract = if v.params.is_empty() {
        match &v.body {
            Body::Json { .. } => quote!(::specmill_runtime::protocol::body::json::<types::#rid>(body)),
            _ => quote!(::std::result::Result::Ok(types::#rid {})),
        }
    } else {
        let obj = params_object(&v.params, &v.body);
        let fields = TypeGen::fields(&req_name, &obj);
        let has_query = v.params.iter().any(|p| p.location == ParamLocation::Query);
        let mut query = if has_query {
            quote!(let query = params::Query::parse(req.query_string())?;)
        } else {
            quote!()
        };
        if v.params.iter().any(|p| p.location == ParamLocation::Form) {
            query.extend(quote!(let form = ::specmill_runtime::protocol::body::Form::parse(&req, body)?;));
        }
        let inits = fields.iter().enumerate().map(|(i, (info, _))| {
            let fid = ident(&info.rust);
            let wire = &info.wire;
            // Parameters come first, in order; the member after them is the body.
            let Some(param) = v.params.get(i) else {
                return quote!(#fid: ::specmill_runtime::protocol::body::json(body)?,);
            };
            let kind = match resolve(&param.schema, api).kind {
                Kind::Integer { .. } => quote!(Integer),
                Kind::Number { .. } => quote!(Number),
                Kind::Boolean => quote!(Boolean),
                Kind::String { .. } | Kind::Enum(_) | Kind::Const(_) => quote!(String),
                _ => quote!(Json),
            };
            let loc = match param.location {
                ParamLocation::Path => quote!(Location::Path),
                ParamLocation::Query => quote!(Location::Query),
                ParamLocation::Header => quote!(Location::Header),
                ParamLocation::Form => quote!(Location::Form),
            };
            if is_file(&param.schema) {
                return if info.optional {
                    quote!(#fid: form.file(#wire),)
                } else {
                    quote!(#fid: params::required(form.file(#wire), #wire, #loc)?,)
                };
            }
            let raw = match param.location {
                ParamLocation::Path => quote!(req.match_info().get(#wire)),
                ParamLocation::Query => quote!(query.get(#wire)),
                ParamLocation::Header => quote!(req.headers().get(#wire).and_then(|h| h.to_str().ok())),
                ParamLocation::Form => quote!(form.text(#wire)),
            };
            let parsed = quote! {
                params::parse(#raw, #wire, #loc, Kind::#kind)?
            };
            if let Some(dfn) = &info.default_fn {
                let d = ident(dfn);
                quote!(#fid: #parsed.unwrap_or_else(types::#d),)
            } else if info.optional {
                quote!(#fid: #parsed,)
            } else {
                quote!(#fid: params::required(#parsed, #wire, #loc)?,)
            }
        });
        quote! {
            (|| -> ::std::result::Result<types::#rid, RequestProblem> {
                #query
                ::std::result::Result::Ok(types::#rid { #(#inits)* })
            })()
        }
    };
    let uses_body = !matches!(v.body, Body::None) || v.params.iter().any(|p| p.location == ParamLocation::Form);
    let bind_body = if uses_body { quote!(let body: &[u8] = &body;) } else { quote!() };
    let protocol = {
        let m = ident(&api.native);
        quote!(::specmill_runtime::protocol::#m)
    };
    let respond = match (&v.streamed, v.raw_response) {
        (Some(s), _) => {
            let items = &s.items;
            let count = match &s.count {
                Some(c) => quote!(::std::option::Option::Some(#c)),
                None => quote!(::std::option::Option::None),
            };
            quote!(respond_streamed(&ctx, result, #items, #count))
        }
        (None, true) => quote!(respond_raw(&ctx, result)),
        // several success statuses: the reply enum names the status of each
        (None, false) if matches!(v.response.as_ref().map(|r| &r.kind), Some(Kind::Replies(_))) => quote!(respond_status(&ctx, result)),
        (None, false) => quote!(respond(&ctx, result)),
    };
    let authorize = v.authorize;
    let run = if has_invalid_hook(api) {
        let hid = ident(&format!("{m}_invalid"));
        quote! {
            let request = match #extract {
                ::std::result::Result::Ok(request) => request,
                ::std::result::Result::Err(problem) => {
                    let e: #error = ::specmill_runtime::protocol::NativeError::bad_request(&#cid, problem);
                    return ::specmill_runtime::protocol::NativeError::into_response(e, &ctx);
                }
            };
            let result = match ::specmill_runtime::validate::validate(&request) {
                ::std::result::Result::Ok(()) => svc.#mid(&ctx, request).await,
                ::std::result::Result::Err(violations) => svc.#hid(&ctx, request, violations).await,
            };
            ::specmill_runtime::protocol::#respond
        }
    } else {
        quote! {
            let request = match #extract.and_then(::specmill_runtime::validate::checked) {
                ::std::result::Result::Ok(request) => request,
                ::std::result::Result::Err(problem) => {
                    let e: #error = ::specmill_runtime::protocol::NativeError::bad_request(&#cid, problem);
                    return ::specmill_runtime::protocol::NativeError::into_response(e, &ctx);
                }
            };
            let result = svc.#mid(&ctx, request).await;
            ::specmill_runtime::protocol::#respond
        }
    };
    let method = v.http.method.clone().unwrap_or_else(|| "GET".into());
    let method_id = ident(&method.to_uppercase());
    let doc = format!(" `{method} {}`: binds the request, validates it and runs `{m}`.", v.http.path);
    let handler = quote! {
        #[doc = #doc]
        pub async fn #hid<S: #tid>(
            svc: ::actix_web::web::Data<S>,
            req: ::actix_web::HttpRequest,
            body: ::actix_web::web::Bytes,
        ) -> ::actix_web::HttpResponse {
            let ctx = match #protocol::authenticate(&req, &body, #authorize) {
                ::std::result::Result::Ok(ctx) => ctx,
                ::std::result::Result::Err(e) => {
                    return ::specmill_runtime::protocol::NativeError::into_response(e, &::specmill_runtime::protocol::RequestContext::from_request(&req));
                }
            };
            #bind_body
            #run
        }
    };
    let paths = api.mounts.iter().map(|mnt| format!("{mnt}{}", v.http.path));
    let reg = quote! {
        for path in [#(#paths),*] {
            cfg.route(path, ::actix_web::web::method(::actix_web::http::Method::#method_id).to(#hid::<S>));
        }
    };
    (handler, reg)
}

/// AWS operations get a hook for requests that decode but break constraints, so batch
/// operations can store the valid items and report the others (AWS's `Errors` lists).
fn has_invalid_hook(api: &Api) -> bool {
    api.protocol == Protocol::AwsRestJson
}

/// A form part that carries a file.
fn is_file(schema: &Schema) -> bool {
    matches!(&schema.kind, Kind::String { format: Some(f), .. } if f == "binary")
}

fn resolve<'a>(schema: &'a Schema, api: &'a Api) -> &'a Schema {
    match &schema.kind {
        Kind::Ref(r) => api.types.named.get(r).map(|s| resolve(s, api)).unwrap_or(schema),
        _ => schema,
    }
}
