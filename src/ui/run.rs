//! `GET /ui/runs/{id}`: one run, whichever APIs wrote it: one chart per metric (every
//! variant of it overlaid), the latest value of each series, logs, plots, debug images,
//! Comet's parameters, tags and other values, and assets.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Deserialize;
use serde_json::Value;
use specmill_runtime::store::assets::AssetInfo;
use specmill_runtime::store::meta::MetaEntry;
use specmill_runtime::store::{Event, Run, Scalar, Store, StoreError, TimelineItem, TimelineQuery};

use super::chart::{self, Axis, Chart};
use super::{blocking, format_time, format_value, html, message, store_failed, Ui, Viewer};

/// How many of the latest log lines, plots and debug images the page shows.
const LATEST_EVENTS: i64 = 100;

/// Meta kinds Comet writes that the page lists (see `api/comet/facts.rs`).
const FACT_KINDS: [(&str, &str); 3] = [("param", "Parameters"), ("tag", "Tags"), ("other", "Other values")];

/// One chart with the table shown in its place without JavaScript.
pub struct ChartView {
    pub chart: Chart,
    /// The chart's data as JSON (for the script; `</` escaped).
    pub json: String,
    pub table: Chart,
}

impl ChartView {
    pub fn new(chart: Chart, table: Chart) -> ChartView {
        ChartView { json: script_json(&chart), chart, table }
    }

    /// The views of what [`chart::charts`] gives for `[SAMPLES, TABLE_SAMPLES]`: each chart
    /// with its table (the same metrics, in the same order).
    pub fn all(mut sets: Vec<Vec<Chart>>) -> Vec<ChartView> {
        let tables = sets.pop().unwrap_or_default();
        let charts = sets.pop().unwrap_or_default();
        charts.into_iter().zip(tables).map(|(c, t)| ChartView::new(c, t)).collect()
    }
}

/// `value` as JSON that is safe inside a `<script>` element.
pub fn script_json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "null".into()).replace("</", "<\\/")
}

pub struct LogLine {
    pub time: String,
    pub level: String,
    pub text: String,
}

pub struct EventRow {
    pub time: String,
    pub metric: String,
    pub variant: String,
    pub iter: String,
    /// The image URL (debug images) or the plot's JSON.
    pub detail: String,
}

/// One key of a Comet fact kind: its current value, and the range when it changed.
pub struct Fact {
    pub key: String,
    pub value: String,
    /// "min … max" when other values were logged under the key.
    pub range: String,
}

pub struct FactGroup {
    pub title: &'static str,
    pub entries: Vec<Fact>,
}

/// The latest point of one series, formatted.
pub struct LatestRow {
    pub metric: String,
    pub variant: String,
    pub value: String,
    pub step: String,
    pub time: String,
    pub source: String,
}

impl From<Scalar> for LatestRow {
    fn from(s: Scalar) -> LatestRow {
        LatestRow {
            value: format_value(s.value),
            step: s.step.map(|i| i.to_string()).unwrap_or_default(),
            time: format_time(s.ts_us),
            metric: s.metric,
            variant: s.variant,
            source: s.source,
        }
    }
}

pub struct AssetRow {
    pub file_name: String,
    pub asset_type: String,
    pub step: String,
    pub file_size: i64,
    pub created: String,
}

impl From<AssetInfo> for AssetRow {
    fn from(a: AssetInfo) -> AssetRow {
        AssetRow {
            step: a.step.map(|i| i.to_string()).unwrap_or_default(),
            created: format_time(a.created_us),
            file_name: a.file_name,
            asset_type: a.asset_type,
            file_size: a.file_size,
        }
    }
}

#[derive(Template)]
#[template(path = "ui/run.html")]
struct RunPage<'a> {
    viewer: Option<&'a Viewer>,
    created: String,
    updated: String,
    aliases: String,
    axis: Axis,
    d: RunData,
}

#[derive(Deserialize)]
pub struct RunQuery {
    x: Option<String>,
}

struct RunData {
    run: Run,
    sources: Vec<String>,
    charts: Vec<ChartView>,
    latest: Vec<LatestRow>,
    logs: Vec<LogLine>,
    plots: Vec<EventRow>,
    images: Vec<EventRow>,
    facts: Vec<FactGroup>,
    assets: Vec<AssetRow>,
}

fn latest_events(store: &Store, run_id: i64, event_type: &str) -> Result<Vec<Event>, StoreError> {
    let items = store.timeline(&TimelineQuery { run_id, types: Some(vec![event_type.to_string()]), descending: true, after: None, limit: LATEST_EVENTS })?;
    Ok(items
        .into_iter()
        .filter_map(|i| match i {
            TimelineItem::Event(e) => Some(e),
            TimelineItem::Scalar(_) => None,
        })
        .collect())
}

fn text_of(payload: &serde_json::Map<String, Value>, key: &str) -> String {
    match payload.get(key) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

fn event_row(e: &Event, detail_key: &str) -> EventRow {
    EventRow {
        time: format_time(e.ts_us),
        metric: e.metric.clone(),
        variant: e.variant.clone(),
        iter: e.iter.map(|i| i.to_string()).unwrap_or_default(),
        detail: text_of(&e.payload, detail_key),
    }
}

/// Everything the page shows of run `id` of `tenant`, or `None` when it has no such run.
fn load(store: &Store, tenant: &str, id: i64, axis: Axis) -> Result<Option<RunData>, StoreError> {
    let Some(run) = store.run_by_id(tenant, id)? else { return Ok(None) };
    let runs = std::slice::from_ref(&run);
    let charts = ChartView::all(chart::charts(store, runs, None, axis, None, &[chart::SAMPLES, chart::TABLE_SAMPLES])?);
    let logs = latest_events(store, run.id, "log")?
        .into_iter()
        .map(|e| LogLine { time: format_time(e.ts_us), level: text_of(&e.payload, "level"), text: text_of(&e.payload, "msg") })
        .collect();
    let plots = latest_events(store, run.id, "plot")?.iter().map(|e| event_row(e, "plot_str")).collect();
    let images = latest_events(store, run.id, "training_debug_image")?.iter().map(|e| event_row(e, "url")).collect();
    let mut facts = Vec::new();
    for (kind, title) in FACT_KINDS {
        // parameters and other values keep a summary of what was logged; tags are keys
        let entries: Vec<Fact> = if kind == "tag" {
            store.meta(run.id, kind)?.into_iter().map(|e: MetaEntry| Fact { key: e.key, value: String::new(), range: String::new() }).collect()
        } else {
            store
                .value_summaries(run.id, kind)?
                .into_iter()
                .map(|(key, v)| {
                    let range = if v.value_min == v.value_max { String::new() } else { format!("{} … {}", v.value_min, v.value_max) };
                    Fact { key, value: v.value_current, range }
                })
                .collect()
        };
        if !entries.is_empty() {
            facts.push(FactGroup { title, entries });
        }
    }
    Ok(Some(RunData {
        sources: store.run_sources(run.id)?,
        latest: store.latest_scalars(run.id)?.into_iter().map(LatestRow::from).collect(),
        assets: store.assets(run.id, None)?.into_iter().map(AssetRow::from).collect(),
        run,
        charts,
        logs,
        plots,
        images,
        facts,
    }))
}

pub async fn page(ui: web::Data<Ui>, viewer: Viewer, id: web::Path<String>, q: web::Query<RunQuery>) -> HttpResponse {
    let Ok(id) = id.parse::<i64>() else {
        return message(StatusCode::NOT_FOUND, Some(&viewer), "No such run", "Run ids are numbers.");
    };
    let Some(axis) = Axis::parse(q.x.as_deref()) else {
        return message(StatusCode::BAD_REQUEST, Some(&viewer), "Bad x axis", "The x axis is `step` or `time`.");
    };
    let (store, tenant) = (ui.store.clone(), viewer.tenant.clone());
    match blocking(move || load(&store, &tenant, id, axis)).await {
        Ok(Some(d)) => html(&RunPage {
            viewer: Some(&viewer),
            created: format_time(d.run.created_us),
            updated: format_time(d.run.updated_us),
            aliases: super::aliases(&d.sources, d.run.id),
            axis,
            d,
        }),
        Ok(None) => message(StatusCode::NOT_FOUND, Some(&viewer), "No such run", &format!("Tenant {} has no run {id}.", viewer.tenant)),
        Err(e) => store_failed(&viewer, e),
    }
}
