//! The dashboard under `/ui/`: server-rendered pages (askama templates in `templates/ui/`)
//! over the same store and the same credentials as the APIs. Every page is usable without
//! JavaScript (tables); with it, the vendored uPlot draws the charts, and zooming re-queries
//! the server for the new range.
//!
//! - `runs`: every run of the caller's tenant, whichever API wrote it (search, sort, paging)
//! - `run`: one chart per metric, latest values, logs, plots, debug images, Comet facts
//! - `compare`: one metric of several runs on one chart
//! - `api_page`: the generated API surface and `codegen --diff` of two spec directories
//! - `chart`: the downsampled series behind every chart (the ClearML histogram's code)
//! - `session`: the login form and the session cookie; `assets`: the static files

mod api_page;
mod assets;
mod chart;
mod compare;
mod run;
mod runs;
mod session;

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use askama::Template;
use specmill_runtime::auth::Auth;
use specmill_runtime::store::{Store, StoreError};

pub use session::Viewer;

/// What every dashboard handler shares.
#[derive(Clone)]
pub struct Ui {
    pub store: Store,
    pub auth: Auth,
    /// A directory whose subdirectories are spec directories the API page can diff.
    pub spec_versions: Option<std::path::PathBuf>,
}

/// Register the dashboard on `cfg`.
pub fn configure(cfg: &mut web::ServiceConfig, ui: Ui) {
    cfg.app_data(web::Data::new(ui))
        .route("/ui", web::get().to(|| async { redirect("/ui/") }))
        .service(
            web::scope("/ui")
                // pages and their chart data compress well (gzip, when the browser asks); the
                // APIs' replies are left as their clients expect them
                .wrap(actix_web::middleware::Compress::default())
                .app_data(web::QueryConfig::default().error_handler(bad_query))
                .route("/", web::get().to(runs::page))
                .route("/runs/{id}", web::get().to(run::page))
                .route("/compare", web::get().to(compare::page))
                .route("/chart", web::get().to(chart::data))
                .route("/login", web::get().to(session::form))
                .route("/login", web::post().to(session::login))
                .route("/logout", web::post().to(session::logout))
                .route("/static/{file}", web::get().to(assets::file))
                .configure(api_page::configure)
                .default_service(web::to(not_found)),
        );
}

/// The version tag the pages put on the static files' URLs.
pub fn assets_tag() -> &'static str {
    assets::asset_tag()
}

/// A 303 to `to`.
pub fn redirect(to: &str) -> HttpResponse {
    HttpResponse::SeeOther().insert_header((header::LOCATION, to)).finish()
}

/// An HTML page from a template (a render failure is a 500 with a plain message).
pub fn html<T: Template>(page: &T) -> HttpResponse {
    match page.render() {
        Ok(body) => HttpResponse::Ok()
            .content_type("text/html; charset=utf-8")
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .body(body),
        Err(e) => {
            tracing::error!(error = %e, "dashboard template failed");
            HttpResponse::InternalServerError().content_type("text/plain; charset=utf-8").body("the page could not be rendered")
        }
    }
}

#[derive(Template)]
#[template(path = "ui/message.html")]
struct Message<'a> {
    viewer: Option<&'a Viewer>,
    title: &'a str,
    text: &'a str,
}

/// A page that only says something (not found, bad request, store unavailable).
pub fn message(status: actix_web::http::StatusCode, viewer: Option<&Viewer>, title: &str, text: &str) -> HttpResponse {
    let mut res = html(&Message { viewer, title, text });
    *res.status_mut() = status;
    res
}

/// A query string the page cannot read: JSON for the chart data, a page otherwise.
fn bad_query(err: actix_web::error::QueryPayloadError, req: &actix_web::HttpRequest) -> actix_web::Error {
    let text = format!("The query string could not be read: {err}");
    let res = if req.path().starts_with("/ui/chart") {
        HttpResponse::BadRequest().json(serde_json::json!({ "error": text }))
    } else {
        message(actix_web::http::StatusCode::BAD_REQUEST, None, "Bad request", &text)
    };
    actix_web::error::InternalError::from_response(err, res).into()
}

async fn not_found(viewer: Option<Viewer>) -> HttpResponse {
    message(actix_web::http::StatusCode::NOT_FOUND, viewer.as_ref(), "Not found", "There is no dashboard page here.")
}

/// A store failure as a page: 503 when the database is out of reach, else 500.
pub fn store_failed(viewer: &Viewer, e: StoreError) -> HttpResponse {
    use actix_web::http::StatusCode;
    if e.is_unavailable() {
        tracing::warn!(error = %e, "store unavailable");
        message(StatusCode::SERVICE_UNAVAILABLE, Some(viewer), "Store unavailable", "The database is out of reach; try again shortly.")
    } else {
        tracing::error!(error = %e, "dashboard store call failed");
        message(StatusCode::INTERNAL_SERVER_ERROR, Some(viewer), "Store error", "The store could not answer this page.")
    }
}

/// Run a blocking store call off the async workers.
pub async fn blocking<T, F>(f: F) -> Result<T, StoreError>
where
    F: FnOnce() -> Result<T, StoreError> + Send + 'static,
    T: Send + 'static,
{
    match web::block(f).await {
        Ok(r) => r,
        Err(e) => Err(StoreError::Unavailable(e.to_string())),
    }
}

/// Microseconds since the epoch as `2026-12-03 12:19:41 UTC`.
pub fn format_time(us: i64) -> String {
    chrono::DateTime::from_timestamp_micros(us).map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string()).unwrap_or_default()
}

/// A metric value as the tables show it: up to 6 significant digits, NaN and ±inf by name.
pub fn format_value(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 { "inf".into() } else { "-inf".into() }
    } else if v != 0.0 && (v.abs() >= 1e6 || v.abs() < 1e-4) {
        format!("{v:.5e}")
    } else {
        let s = format!("{v:.6}");
        let s = s.trim_end_matches('0').trim_end_matches('.');
        if s == "-0" { "0".into() } else { s.to_string() }
    }
}

/// What the APIs that wrote a run call its key (ClearML task id, SageMaker trial component
/// name, …), joined, followed by its Dioptra job id: every run is a Dioptra job by its id.
pub fn aliases(sources: &[String], id: i64) -> String {
    let mut names: Vec<String> = sources
        .iter()
        .filter_map(|s| match s.as_str() {
            "clearml" => Some("ClearML task"),
            "sagemaker" => Some("SageMaker trial component"),
            "comet" => Some("Comet experiment key"),
            "lens" => Some("Lens workload"),
            _ => None,
        })
        .map(str::to_string)
        .collect();
    names.push(format!("Dioptra job {id}"));
    names.join(" · ")
}

/// `text` percent-encoded for a query string value.
pub fn query_value(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_and_query_strings_format() {
        assert_eq!(format_value(0.5), "0.5");
        assert_eq!(format_value(3.0), "3");
        assert_eq!(format_value(-0.0), "0");
        assert_eq!(format_value(f64::NAN), "NaN");
        assert_eq!(format_value(f64::NEG_INFINITY), "-inf");
        assert_eq!(format_value(1.25e-7), "1.25000e-7");
        assert_eq!(format_value(123456789.0), "1.23457e8");
        assert_eq!(query_value("a b/ü&"), "a%20b%2F%C3%BC%26");
        assert_eq!(format_time(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(aliases(&["clearml".into(), "comet".into(), "dioptra".into()], 7), "ClearML task · Comet experiment key · Dioptra job 7");
    }
}
