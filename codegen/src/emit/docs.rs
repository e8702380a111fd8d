//! Non-Rust artifacts rendered with askama templates (`codegen/templates/`).

use askama::Template;

use super::server::RouteRow;
use crate::ir::{Api, Protocol};

pub struct RowView {
    pub method: String,
    pub path: String,
    pub version: String,
    pub operation: String,
    pub trait_name: String,
    pub trait_method: String,
    pub request_type: String,
    pub response_type: String,
}

pub struct ApiView {
    pub name: String,
    pub title: String,
    pub source: String,
    pub note: String,
    pub rows: Vec<RowView>,
}

#[derive(Template)]
#[template(path = "routes.md", escape = "none")]
struct RoutesPage {
    total: usize,
    apis: Vec<ApiView>,
}

/// `generated/ROUTES.md`: API, method, path, version and Rust items of every route.
pub fn routes_markdown(apis: &[Api], rows: &[RouteRow]) -> Result<String, String> {
    let views = apis
        .iter()
        .map(|api| ApiView {
            name: api.name.clone(),
            title: api.title.clone(),
            source: api.source.clone(),
            note: match api.protocol {
                Protocol::ClearMl => "Any HTTP method; also served without the version prefix (the highest version) and with a trailing slash. A request for version R runs the highest version ≤ R.".into(),
                Protocol::AwsRestJson => "AWS rest-json: the operation is chosen by method and path; members travel in the JSON body.".into(),
                Protocol::OpenApi => format!("Mounted under {}.", api.mounts.iter().map(|m| format!("`{m}`")).collect::<Vec<_>>().join(", ")),
            },
            rows: rows
                .iter()
                .filter(|r| r.api == api.name)
                .map(|r| RowView {
                    method: r.method.clone().unwrap_or_else(|| "any".into()),
                    path: r.path.clone(),
                    version: r.version.clone().unwrap_or_else(|| "–".into()),
                    operation: r.operation.clone(),
                    trait_name: r.trait_name.clone(),
                    trait_method: r.trait_method.clone(),
                    request_type: r.request_type.clone(),
                    response_type: r.response_type.clone(),
                })
                .collect(),
        })
        .collect();
    let page = RoutesPage { total: rows.iter().map(|r| (&r.api, &r.operation, &r.version)).collect::<std::collections::BTreeSet<_>>().len(), apis: views };
    page.render().map_err(|e| e.to_string())
}
