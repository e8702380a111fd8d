//! IR operations → the client surface of one API (`specmill-client`): one handle per
//! service, one async method per operation version, named as the server's trait methods
//! (`get_task_log_v2_1`, `batch_put_metrics`), taking and returning the generated types.
//! The methods only bind a request to HTTP (path, query, headers, form, body); sending,
//! signing, framing and error decoding are the client crate's hand-written protocol modules.

use proc_macro2::TokenStream;
use quote::quote;

use super::doc_attrs;
use super::server::trait_method;
use super::types::{params_object, request_name, OperationTypes, TypeGen};
use crate::ir::{Api, Body, Kind, OperationVersion, ParamLocation, Protocol, Schema, Service};
use crate::names::{field_name, ident, type_name};

/// The name of a service's handle type (`Events`, `SageMakerMetrics`).
pub fn handle_name(service: &Service) -> String {
    type_name(&service.name)
}

/// The tokens of `<api>/services.rs`: the service handles and their methods.
pub fn emit(api: &Api, gen: &mut TypeGen) -> Result<TokenStream, String> {
    let mut out = quote!();
    for service in &api.services {
        let hid = ident(&handle_name(service));
        let mut methods = Vec::new();
        for op in &service.operations {
            for v in &op.versions {
                let OperationTypes { request, response } = gen.operation(service, op, v)?;
                let mid = ident(&trait_method(op, v));
                let (method, path) = http_route(api, v);
                let version_doc = v.version.map(|x| format!("\n\nVersion {x} of `{}.{}`.", service.name, op.name)).unwrap_or_default();
                let docs = doc_attrs(&format!("{}{version_doc}\n\n`{} {path}`", v.description, method.as_deref().unwrap_or("POST")));
                let api_name = &api.name;
                let body = match api.protocol {
                    Protocol::ClearMl => clearml_call(api, v, &path),
                    Protocol::AwsRestJson if v.params.is_empty() => {
                        let method = method.unwrap_or_else(|| "POST".into());
                        quote! {
                            let mut call = crate::transport::Request::new(#api_name, #method, #path);
                            call.json(request)?;
                            crate::protocol::aws::call(self.client, call).await
                        }
                    }
                    _ => rest_call(api, v, &request_name(api, service, op, v), &response, method.unwrap_or_else(|| "GET".into()), &path),
                };
                methods.push(quote! {
                    #docs
                    pub async fn #mid(&self, request: &types::#request) -> ::std::result::Result<types::#response, crate::Error> {
                        self.client.check(request)?;
                        #body
                    }
                });
            }
        }
        let about = [format!("The `{}` service of {}.", service.name, api.title), service.description.trim().to_string()];
        let docs = doc_attrs(&format!(
            "{}\n\nOne method per operation version; [`crate::Client`] hands it out.",
            about.iter().filter(|s| !s.is_empty()).cloned().collect::<Vec<_>>().join("\n\n")
        ));
        out.extend(quote! {
            #docs
            #[derive(Debug, Clone, Copy)]
            pub struct #hid<'c> { client: &'c crate::Client }
            impl<'c> #hid<'c> {
                pub(crate) fn new(client: &'c crate::Client) -> #hid<'c> { #hid { client } }
                #(#methods)*
            }
        });
    }
    Ok(out)
}

/// Method (`None`: any) and full path of an operation version as the client calls it.
fn http_route(api: &Api, v: &OperationVersion) -> (Option<String>, String) {
    match api.protocol {
        // A versioned call names its version, so the server runs exactly this one.
        Protocol::ClearMl => (None, format!("{}{}", v.version.map(|x| format!("/v{x}")).unwrap_or_default(), v.http.path)),
        _ => (v.http.method.clone(), format!("{}{}", api.mounts.first().map(String::as_str).unwrap_or(""), v.http.path)),
    }
}

fn clearml_call(api: &Api, v: &OperationVersion, path: &str) -> TokenStream {
    let api_name = &api.name;
    let body = match &v.body {
        Body::JsonLines { .. } => quote!(call.json_lines(request)?;),
        _ => quote!(call.json(request)?;),
    };
    let call = if v.raw_response { quote!(crate::protocol::clearml::call_raw) } else { quote!(crate::protocol::clearml::call) };
    quote! {
        let mut call = crate::transport::Request::new(#api_name, "POST", #path);
        #body
        #call(self.client, call).await
    }
}

/// A REST (OpenAPI) call: each parameter goes where the spec puts it, `body` is the JSON body.
fn rest_call(api: &Api, v: &OperationVersion, req_name: &str, response: &proc_macro2::Ident, method: String, path: &str) -> TokenStream {
    let mut bind = quote!();
    if v.params.is_empty() {
        if let Body::Json { .. } = v.body {
            bind.extend(quote!(call.json(request)?;));
        }
    } else {
        let obj = params_object(&v.params, &v.body);
        for (i, (info, _)) in TypeGen::fields(req_name, &obj).iter().enumerate() {
            let fid = ident(&info.rust);
            let wire = &info.wire;
            let value = if info.optional { quote!(value) } else { quote!(&request.#fid) };
            let add = match v.params.get(i) {
                None => quote!(call.json(#value)?;),
                Some(p) => match p.location {
                    ParamLocation::Path => quote!(call.path_param(#wire, #value)?;),
                    ParamLocation::Query => quote!(call.query(#wire, #value)?;),
                    ParamLocation::Header => quote!(call.header(#wire, #value)?;),
                    ParamLocation::Form if is_file(&p.schema) => quote!(call.form_file(#wire, #value);),
                    ParamLocation::Form => quote!(call.form_text(#wire, #value)?;),
                },
            };
            bind.extend(if info.optional {
                quote! { if let ::std::option::Option::Some(value) = &request.#fid { #add } }
            } else {
                add
            });
        }
    }
    let api_name = &api.name;
    let protocol = match api.protocol {
        Protocol::AwsRestJson => quote!(crate::protocol::aws),
        _ => quote!(crate::protocol::rest),
    };
    let send = match &v.response {
        _ if v.raw_response => quote!(#protocol::call_raw(self.client, call)),
        // several success statuses: decoded by the status the reply came with
        Some(Schema { kind: Kind::Replies(_), .. }) => quote!(#protocol::call_status(self.client, call, types::#response::from_status)),
        _ => quote!(#protocol::call(self.client, call)),
    };
    if bind.is_empty() {
        return quote! {
            let call = crate::transport::Request::new(#api_name, #method, #path);
            #send.await
        };
    }
    quote! {
        let mut call = crate::transport::Request::new(#api_name, #method, #path);
        #bind
        #send.await
    }
}

/// A form part that carries a file.
fn is_file(schema: &Schema) -> bool {
    matches!(&schema.kind, Kind::String { format: Some(f), .. } if f == "binary")
}

/// `impl crate::Client { … }`: one accessor per service of every API, named after the
/// service (`events()`, `sage_maker_metrics()`); a name two APIs share gets the API's name
/// in front.
pub fn accessors(apis: &[Api]) -> TokenStream {
    let mut taken: Vec<String> = Vec::new();
    let mut all: Vec<String> = apis.iter().flat_map(|a| a.services.iter().map(|s| field_name(&s.name))).collect();
    all.sort();
    let mut methods = Vec::new();
    for api in apis {
        let m = ident(&api.name);
        for service in &api.services {
            let base = field_name(&service.name);
            let name = if all.iter().filter(|n| **n == base).count() > 1 || taken.contains(&base) { format!("{}_{base}", api.name) } else { base };
            taken.push(name.clone());
            let fid = ident(&name);
            let hid = ident(&handle_name(service));
            let doc = format!(" The `{}` service of {} (`{}`).", service.name, api.title, api.source);
            methods.push(quote! {
                #[doc = #doc]
                pub fn #fid(&self) -> #m::#hid<'_> { #m::#hid::new(self) }
            });
        }
    }
    let signed = apis.iter().filter_map(|a| a.signing_name.as_ref().map(|n| (a.name.as_str(), n.as_str()))).map(|(a, n)| quote!((#a, #n),));
    quote! {
        impl crate::Client { #(#methods)* }
        /// The APIs whose requests are signed with AWS Signature Version 4, each with the
        /// service name it signs for (the model's `signingName`).
        pub const SIGNING_NAMES: &[(&str, &str)] = &[#(#signed)*];
    }
}
