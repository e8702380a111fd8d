//! `GET /ui/`: every run of the viewer's tenant, whichever API wrote it, with the names each
//! API knows it by; searched with Dioptra's search language (`q`), sorted (`sort`, `dir`)
//! and paged (`page`).

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Deserialize;
use specmill_runtime::search::{self, Term};
use specmill_runtime::store::run_list::{RunField, RunListQuery, RunSort, RunSummary, RunTerm};

use super::{blocking, format_time, html, message, query_value, store_failed, Ui, Viewer};

/// Runs per page.
pub const PAGE_SIZE: i64 = 50;

/// Sort keys as the query names them, with the column title.
const SORTS: [(&str, RunSort, &str); 5] = [
    ("name", RunSort::Name, "Name"),
    ("uid", RunSort::Uid, "Key"),
    ("created", RunSort::Created, "Created"),
    ("activity", RunSort::LastActivity, "Last activity"),
    ("metrics", RunSort::Metrics, "Metrics"),
];

#[derive(Deserialize)]
pub struct RunsQuery {
    q: Option<String>,
    sort: Option<String>,
    dir: Option<String>,
    page: Option<i64>,
}

pub struct RunRow {
    pub summary: RunSummary,
    /// What each API that wrote it calls the run.
    pub aliases: String,
    pub activity: String,
    pub created: String,
}

pub struct SortLink {
    pub title: &'static str,
    pub key: &'static str,
    pub href: String,
    /// "▲"/"▼" on the current sort column.
    pub mark: &'static str,
}

#[derive(Template)]
#[template(path = "ui/runs.html")]
struct RunsPage<'a> {
    viewer: Option<&'a Viewer>,
    q: String,
    error: Option<String>,
    rows: Vec<RunRow>,
    total: i64,
    first: i64,
    sorts: Vec<SortLink>,
    prev: Option<String>,
    next: Option<String>,
}

/// Search terms of `q` as run terms: free text matches name or key, fields as [`RunField`].
fn terms(q: &str) -> Result<Vec<RunTerm>, String> {
    let fields: Vec<&str> = RunField::ALL.iter().map(|(n, _)| *n).collect();
    let parsed: Vec<Term> = search::parse(q, &fields).map_err(|e| e.to_string())?;
    Ok(parsed
        .into_iter()
        .map(|t| RunTerm {
            field: t.field.as_deref().and_then(|f| RunField::ALL.iter().find(|(n, _)| *n == f).map(|(_, k)| *k)),
            pattern: t.pattern,
        })
        .collect())
}

fn href(q: &str, sort: &str, dir: &str, page: i64) -> String {
    format!("/ui/?q={}&sort={sort}&dir={dir}&page={page}", query_value(q))
}

pub async fn page(ui: web::Data<Ui>, viewer: Viewer, query: web::Query<RunsQuery>) -> HttpResponse {
    let q = query.q.clone().unwrap_or_default();
    let sort_key = query.sort.as_deref().unwrap_or("activity");
    let Some((sort_key, sort, _)) = SORTS.iter().find(|(k, _, _)| *k == sort_key).copied() else {
        return message(StatusCode::BAD_REQUEST, Some(&viewer), "Unknown sort", "Sort by name, uid, created, activity or metrics.");
    };
    // newest activity first unless asked otherwise
    let descending = match query.dir.as_deref() {
        Some("asc") => false,
        Some("desc") => true,
        None => matches!(sort, RunSort::LastActivity | RunSort::Created | RunSort::Metrics),
        Some(_) => return message(StatusCode::BAD_REQUEST, Some(&viewer), "Unknown direction", "dir is asc or desc."),
    };
    let page_no = query.page.unwrap_or(1).max(1);
    let dir = if descending { "desc" } else { "asc" };
    let sorts = SORTS
        .iter()
        .map(|(key, _, title)| {
            let current = *key == sort_key;
            let flip = if current && !descending { "desc" } else if current { "asc" } else { "asc" };
            SortLink { title, key, href: href(&q, key, flip, 1), mark: if !current { "" } else if descending { "▼" } else { "▲" } }
        })
        .collect();
    let (terms, error) = match terms(&q) {
        Ok(t) => (t, None),
        Err(e) => (Vec::new(), Some(e)),
    };
    let mut page = RunsPage { viewer: Some(&viewer), q: q.clone(), error, rows: Vec::new(), total: 0, first: 0, sorts, prev: None, next: None };
    if page.error.is_some() {
        let mut res = html(&page);
        *res.status_mut() = StatusCode::BAD_REQUEST;
        return res;
    }
    let list = RunListQuery { tenant: viewer.tenant.clone(), terms, sort, descending, offset: (page_no - 1) * PAGE_SIZE, limit: PAGE_SIZE };
    let store = ui.store.clone();
    let (runs, total) = match blocking(move || store.run_list(&list)).await {
        Ok(r) => r,
        Err(e) => return store_failed(&viewer, e),
    };
    page.total = total;
    page.first = (page_no - 1) * PAGE_SIZE + 1;
    page.prev = (page_no > 1).then(|| href(&q, sort_key, dir, page_no - 1));
    page.next = (page_no * PAGE_SIZE < total).then(|| href(&q, sort_key, dir, page_no + 1));
    page.rows = runs
        .into_iter()
        .map(|s| RunRow {
            activity: format_time(s.last_activity_us),
            created: format_time(s.run.created_us),
            aliases: super::aliases(&s.sources, s.run.id),
            summary: s,
        })
        .collect();
    html(&page)
}
