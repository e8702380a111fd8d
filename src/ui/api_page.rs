//! `GET /ui/api`: the API surface generated from the specs: families → operations →
//! versions, with each version's route, request and response types and an example curl.

use actix_web::{web, HttpResponse};
use askama::Template;
use specmill_runtime::protocol::RouteInfo;

use super::{html, Viewer};
use crate::generated;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/api", web::get().to(page));
}

#[derive(Template)]
#[template(path = "ui/api.html")]
struct ApiPage<'a> {
    viewer: Option<&'a Viewer>,
    routes: Vec<&'static RouteInfo>,
}

async fn page(viewer: Viewer) -> HttpResponse {
    let routes = generated::ROUTES.iter().flat_map(|t| t.iter()).collect();
    html(&ApiPage { viewer: Some(&viewer), routes })
}
