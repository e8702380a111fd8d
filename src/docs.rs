//! The generated OpenAPI document of every route (`GET /openapi.json`) and a small page that
//! renders it (`GET /docs`). Both are compiled in: the document is `generated/openapi.json`.

use actix_web::{web, HttpResponse};

/// `generated/openapi.json`, written by specmill-codegen from `specs/`.
pub const OPENAPI_JSON: &str = include_str!("../generated/openapi.json");
const DOCS_HTML: &str = include_str!("assets/docs.html");

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/openapi.json", web::get().to(openapi_json)).route("/docs", web::get().to(docs_page));
}

async fn openapi_json() -> HttpResponse {
    HttpResponse::Ok().content_type("application/json").body(OPENAPI_JSON)
}

async fn docs_page() -> HttpResponse {
    HttpResponse::Ok().content_type("text/html; charset=utf-8").body(DOCS_HTML)
}
