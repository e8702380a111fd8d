//! Plots: `get_task_plots` (the last iterations of each plot of a task) and
//! `get_multi_task_plots` (the last iterations of each task, nested by metric, variant,
//! task and iteration); and the scroll by iteration they share with `debug_images` 2.1.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use specmill_runtime::protocol::clearml::Error;
use specmill_runtime::protocol::RequestContext;
use specmill_runtime::store::queries::{IterQuery, LastIters};
use specmill_runtime::store::{Event, TimelineItem};

use super::render::event_json;
use super::scroll::SCROLL_END;
use super::ClearmlEvents;
use crate::api::blocking;
use crate::generated::clearml::types::*;

pub(super) const PLOT_EVENT_TYPE: &str = "plot";
/// Events per page of the iteration scrolls.
const PAGE: i64 = 500;
const TASK_PLOTS_TOKEN: &str = "clearml.get_task_plots";
const MULTI_TASK_PLOTS_TOKEN: &str = "clearml.get_multi_task_plots";

/// Where a scroll by iteration (highest first) is: its selection, the snapshot bound and
/// the last (iter, id) returned.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct IterScroll {
    pub runs: Vec<i64>,
    pub event_type: String,
    pub last_iters: LastIters,
    pub valid_plots: bool,
    pub max_id: Option<i64>,
    pub after: Option<(i64, i64)>,
}

impl IterScroll {
    pub fn new(runs: Vec<i64>, event_type: &str, last_iters: LastIters, valid_plots: bool) -> IterScroll {
        IterScroll { runs, event_type: event_type.to_string(), last_iters, valid_plots, max_id: None, after: None }
    }
}

pub(super) struct IterPage {
    pub events: Vec<Event>,
    pub total: i64,
    pub scroll_id: String,
}

/// The number of latest iterations asked for: default 1 (also for 0, which the spec's
/// plain integer allows and clearml-server treats as unset), else at least 1.
pub(super) fn iterations(iters: Option<i64>) -> Result<i64, Error> {
    match iters {
        None | Some(0) => Ok(1),
        Some(n) if n >= 1 => Ok(n),
        Some(n) => Err(Error::validation(format!("iters {n} is lower than minimum 1"))),
    }
}

pub(super) fn render(task: &str, event: Event) -> Map<String, Value> {
    event_json(task, &TimelineItem::Event(event))
}

impl ClearmlEvents {
    /// One page (500 events, highest iteration first) of the scroll of `kind`: from `start`,
    /// or from where `scroll_id` left off (it must be a scroll of `kind`, of this tenant, over
    /// the same tasks: else 400/1104). `"FFFF"` (exhausted) answers an empty page.
    pub(super) async fn iter_scroll(
        &self,
        ctx: &RequestContext,
        kind: &str,
        start: IterScroll,
        scroll_id: Option<&str>,
    ) -> Result<IterPage, Error> {
        let state = match scroll_id.filter(|s| !s.is_empty()) {
            Some(SCROLL_END) => return Ok(IterPage { events: Vec::new(), total: 0, scroll_id: SCROLL_END.into() }),
            Some(id) => {
                let mut want = start.runs.clone();
                want.sort_unstable();
                self.tokens
                    .open::<IterScroll>(kind, &ctx.tenant, id)
                    .filter(|s| {
                        let mut runs = s.runs.clone();
                        runs.sort_unstable();
                        runs == want && s.max_id.is_some()
                    })
                    .ok_or_else(|| Error::invalid_scroll_id(id))?
            }
            None => start,
        };
        let store = self.store.clone();
        let (state, events, total) = blocking(move || {
            let max_id = match state.max_id {
                Some(id) => id,
                None => store.max_event_id(&state.runs)?,
            };
            let query = IterQuery {
                last_iters: Some(state.last_iters),
                valid_plots_only: state.valid_plots,
                max_id: Some(max_id),
                descending: true,
                after: state.after,
                limit: PAGE,
                ..IterQuery::new(state.runs.clone(), &state.event_type)
            };
            let events = store.events_by_iter(&query)?;
            let total = store.count_events_by_iter(&query)?;
            Ok((IterScroll { max_id: Some(max_id), ..state }, events, total))
        })
        .await
        .map_err(Error::from)?;
        let scroll_id = match events.last() {
            Some(last) => self.tokens.seal(kind, &ctx.tenant, &IterScroll { after: Some((last.iter.unwrap_or(0), last.id)), ..state }),
            None => SCROLL_END.into(),
        };
        Ok(IterPage { events, total, scroll_id })
    }

    /// The plots of the last `iters` (default 1) iterations of each metric/variant of a
    /// task, valid plots only (`valid_plot` true or absent), highest iteration first, in
    /// scroll pages of 500.
    pub(super) async fn task_plots(
        &self,
        ctx: &RequestContext,
        request: GetTaskPlotsV2_1Request,
    ) -> Result<GetTaskPlotsV2_1Response, Error> {
        let iters = iterations(request.iters)?;
        let run_id = self.run_id(ctx, &request.task).await?;
        let start = IterScroll::new(vec![run_id], PLOT_EVENT_TYPE, LastIters::PerSeries(iters), true);
        let page = self.iter_scroll(ctx, TASK_PLOTS_TOKEN, start, request.scroll_id.as_deref()).await?;
        let plots: Vec<Map<String, Value>> = page.events.into_iter().map(|e| render(&request.task, e)).collect();
        Ok(GetTaskPlotsV2_1Response {
            returned: Some(plots.len() as i64),
            plots: Some(plots),
            total: Some(page.total as f64),
            scroll_id: Some(page.scroll_id),
            extra: Map::new(),
        })
    }

    /// The plots of the last `iters` (default 1) iterations of each task, highest iteration
    /// first, 500 per scroll page, as clearml-server nests them: `{metric: {variant: {task:
    /// {"<iter>": {"name": <task name>, "plots": [event, …]}}}}}` (keys in descending order);
    /// `returned` is the number of metrics. Every task must exist (400/101).
    pub(super) async fn multi_task_plots(
        &self,
        ctx: &RequestContext,
        request: GetMultiTaskPlotsV2_1Request,
    ) -> Result<GetMultiTaskPlotsV2_1Response, Error> {
        if request.tasks.is_empty() {
            return Err(Error::validation("tasks: at least 1 task is required"));
        }
        let iters = iterations(request.iters)?;
        let runs = self.require_runs(ctx, &request.tasks).await?;
        let tasks: HashMap<i64, (String, String)> = runs.iter().map(|r| (r.id, (r.uid.clone(), r.name.clone()))).collect();
        let mut run_ids: Vec<i64> = tasks.keys().copied().collect();
        run_ids.sort_unstable();
        let start = IterScroll::new(run_ids, PLOT_EVENT_TYPE, LastIters::PerRun(iters), false);
        let page = self.iter_scroll(ctx, MULTI_TASK_PLOTS_TOKEN, start, request.scroll_id.as_deref()).await?;
        let plots = nest_plots(page.events, iters as usize, &tasks);
        Ok(GetMultiTaskPlotsV2_1Response {
            returned: Some(plots.len() as i64),
            plots: Some(plots),
            total: Some(page.total as f64),
            scroll_id: Some(page.scroll_id),
            extra: Map::new(),
        })
    }
}

type IterGroups = BTreeMap<i64, Vec<Map<String, Value>>>;

/// clearml-server's `_get_top_iter_unique_events_per_task`: at most `max_per_key` events
/// per (metric, variant, task, iter), nested in that order, every level in descending key
/// order, the leaves `{"name": <task name>, "plots": [...]}`.
fn nest_plots(events: Vec<Event>, max_per_key: usize, tasks: &HashMap<i64, (String, String)>) -> Map<String, Value> {
    let mut tree: BTreeMap<String, BTreeMap<String, BTreeMap<String, IterGroups>>> = BTreeMap::new();
    for e in events {
        let Some((uid, _)) = tasks.get(&e.run_id) else { continue };
        let (metric, variant, iter) = (e.metric.clone(), e.variant.clone(), e.iter.unwrap_or(0));
        let group = tree.entry(metric).or_default().entry(variant).or_default().entry(uid.clone()).or_default().entry(iter).or_default();
        if group.len() < max_per_key {
            group.push(render(uid, e));
        }
    }
    let names: HashMap<&str, &str> = tasks.values().map(|(uid, name)| (uid.as_str(), name.as_str())).collect();
    let mut out = Map::new();
    for (metric, variants) in tree.into_iter().rev() {
        let mut by_variant = Map::new();
        for (variant, by_task) in variants.into_iter().rev() {
            let mut task_map = Map::new();
            for (task, iters) in by_task.into_iter().rev() {
                let name = names.get(task.as_str()).copied().unwrap_or("");
                let iter_map: Map<String, Value> =
                    iters.into_iter().rev().map(|(iter, plots)| (iter.to_string(), json!({ "name": name, "plots": plots }))).collect();
                task_map.insert(task, Value::Object(iter_map));
            }
            by_variant.insert(variant, Value::Object(task_map));
        }
        out.insert(metric, Value::Object(by_variant));
    }
    out
}
