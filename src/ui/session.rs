//! Who is looking: the dashboard signs in with the credentials the APIs take (a login form),
//! and keeps a sealed session cookie. With no credentials configured the server is open
//! (and listens on loopback only), so the dashboard is too: everyone is tenant `default`.

use std::future::{ready, Ready};

use actix_web::http::{header, StatusCode};
use actix_web::{web, FromRequest, HttpRequest, HttpResponse};
use askama::Template;
use serde::{Deserialize, Serialize};
use specmill_runtime::protocol::DEFAULT_TENANT;

use super::{html, redirect, Ui};

/// The cookie that carries the session.
pub const COOKIE: &str = "specmill_ui";
/// The token kind of dashboard sessions (sealed with the server's token key).
const SESSION_KIND: &str = "ui.session";
/// How long a session lasts.
const SESSION_SECONDS: i64 = 12 * 3600;

/// The signed-in viewer of a page: the tenant whose runs it shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Viewer {
    pub tenant: String,
    /// Who signed in; `None` on an open server.
    pub user: Option<String>,
    exp: i64,
}

fn now_s() -> i64 {
    chrono::Utc::now().timestamp()
}

/// The value of cookie `name` in the request's `Cookie` headers.
fn cookie(req: &HttpRequest, name: &str) -> Option<String> {
    req.headers()
        .get_all(header::COOKIE)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| {
            let (k, v) = pair.trim().split_once('=')?;
            (k == name).then(|| v.to_string())
        })
}

impl Viewer {
    fn of(req: &HttpRequest) -> Option<Viewer> {
        let ui = req.app_data::<web::Data<Ui>>()?;
        if ui.auth.is_open() {
            return Some(Viewer { tenant: DEFAULT_TENANT.to_string(), user: None, exp: i64::MAX });
        }
        let token = cookie(req, COOKIE)?;
        let viewer: Viewer = ui.auth.tokens().open(SESSION_KIND, "", &token)?;
        (viewer.exp >= now_s() && ui.auth.has_tenant(&viewer.tenant)).then_some(viewer)
    }
}

impl FromRequest for Viewer {
    type Error = actix_web::Error;
    type Future = Ready<Result<Viewer, actix_web::Error>>;

    /// A signed-in viewer, else (for pages) a redirect to the login form that comes back
    /// here, or (for the chart data) a 401 in JSON.
    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        ready(Viewer::of(req).ok_or_else(|| {
            let res = if req.path().starts_with("/ui/chart") {
                HttpResponse::Unauthorized().json(serde_json::json!({ "error": "sign in at /ui/login" }))
            } else {
                let back = match req.query_string() {
                    "" => req.path().to_string(),
                    q => format!("{}?{q}", req.path()),
                };
                redirect(&format!("/ui/login?next={}", super::query_value(&back)))
            };
            actix_web::error::InternalError::from_response("not signed in", res).into()
        }))
    }
}

#[derive(Template)]
#[template(path = "ui/login.html")]
struct LoginPage<'a> {
    viewer: Option<&'a Viewer>,
    next: &'a str,
    error: Option<&'a str>,
    open: bool,
}

#[derive(Deserialize)]
pub struct Next {
    next: Option<String>,
}

/// Only dashboard paths are followed after signing in (no open redirect).
fn safe_next(next: Option<&str>) -> &str {
    match next {
        Some(n) if n.starts_with("/ui/") && !n.starts_with("//") && !n.contains('\\') => n,
        _ => "/ui/",
    }
}

pub async fn form(ui: web::Data<Ui>, query: web::Query<Next>) -> HttpResponse {
    html(&LoginPage { viewer: None, next: safe_next(query.next.as_deref()), error: None, open: ui.auth.is_open() })
}

#[derive(Deserialize)]
pub struct Credentials {
    #[serde(default)]
    user: String,
    #[serde(default)]
    secret: String,
    next: Option<String>,
}

/// Checks the form's credentials; on success sets the session cookie and goes on to `next`.
pub async fn login(ui: web::Data<Ui>, form: web::Form<Credentials>) -> HttpResponse {
    let next = safe_next(form.next.as_deref()).to_string();
    if ui.auth.is_open() {
        return redirect(&next);
    }
    let Some((tenant, user)) = ui.auth.dashboard_login(form.user.trim(), &form.secret) else {
        tracing::info!(user = %form.user, "dashboard login refused");
        let mut res = html(&LoginPage { viewer: None, next: &next, error: Some("Those credentials are not configured on this server."), open: false });
        *res.status_mut() = StatusCode::UNAUTHORIZED;
        return res;
    };
    let viewer = Viewer { tenant, user: Some(user), exp: now_s() + SESSION_SECONDS };
    let token = ui.auth.tokens().seal(SESSION_KIND, "", &viewer);
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, next))
        .insert_header((header::SET_COOKIE, format!("{COOKIE}={token}; Path=/ui; Max-Age={SESSION_SECONDS}; HttpOnly; SameSite=Lax")))
        .finish()
}

pub async fn logout() -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, "/ui/login"))
        .insert_header((header::SET_COOKIE, format!("{COOKIE}=; Path=/ui; Max-Age=0; HttpOnly; SameSite=Lax")))
        .finish()
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn only_dashboard_paths_are_followed() {
        assert_eq!(safe_next(Some("/ui/runs/3?x=1")), "/ui/runs/3?x=1");
        for bad in ["https://evil.example/", "//evil.example/ui/", "/ui\\..", "/v2.1/events.add", ""] {
            assert_eq!(safe_next(Some(bad)), "/ui/", "{bad}");
        }
        assert_eq!(safe_next(None), "/ui/");
    }
}
