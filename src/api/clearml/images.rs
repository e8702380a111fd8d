//! Debug images: `debug_images` 2.1 (the images of a task's last iterations, a scroll by
//! iteration) and 2.7 (per task, iteration by iteration, earlier or later), and the
//! per-variant history of `get_debug_image_sample` / `next_debug_image_sample`.
//!
//! clearml-server keeps the navigation state of 2.7 and of the samples in Redis under a
//! random id; here the state travels in the scroll id itself (a sealed token, bound to the
//! tenant and to the endpoint), so any replica continues it and nothing expires. Each call
//! answers a new scroll id holding the updated state.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use specmill_runtime::protocol::clearml::Error;
use specmill_runtime::protocol::RequestContext;
use specmill_runtime::store::queries::{LastIters, UrlRef};
use specmill_runtime::store::Event;

use super::metrics::{MAX_METRICS, MAX_VARIANTS};
use super::plots::{iterations, render, IterScroll};
use super::ClearmlEvents;
use crate::api::blocking;
use crate::generated::clearml::types::*;

pub(super) const IMAGE_EVENT_TYPE: &str = "training_debug_image";
/// Events per (iteration, metric, variant) in a `debug_images` 2.7 reply: Elasticsearch's
/// default `top_hits` size, which clearml-server leaves as it is.
const EVENTS_PER_VARIANT: usize = 3;
const DEBUG_IMAGES_V1_TOKEN: &str = "clearml.debug_images.2.1";
const DEBUG_IMAGES_TOKEN: &str = "clearml.debug_images.2.7";
const SAMPLE_TOKEN: &str = "clearml.debug_image_sample";

/// A variant of a metric in the 2.7 navigation: images at or below
/// `last_invalid_iteration` were overwritten by later ones (their URL recycled).
#[derive(Debug, Clone, PartialEq, Eq)]
struct VariantState {
    variant: String,
    last_invalid_iteration: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct MetricState {
    metric: String,
    variants: Vec<VariantState>,
}

/// One task of the 2.7 navigation: the metrics asked for (`None`: all), the snapshot its
/// metric and variant states are computed on (the images with `id <= max_id`: those the
/// state was initialised with; an overwritten image keeps its id and iteration), and the
/// iterations returned so far. clearml-server stores the metric states themselves; deriving
/// them again keeps the scroll id small whatever the number of variants.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct TaskState {
    task: String,
    run: i64,
    metrics: Option<BTreeSet<String>>,
    max_id: i64,
    last_min_iter: Option<i64>,
    last_max_iter: Option<i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct ImagesState {
    tasks: Vec<TaskState>,
}

/// The valid iterations of one variant's images: from the first whose URL was not
/// overwritten later to the last.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct VariantRange {
    name: String,
    min_iteration: i64,
    max_iteration: i64,
}

/// Where a debug image sample history is: task, metric, the current image and the valid
/// iterations of every variant of the metric.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct SampleState {
    task: String,
    metric: String,
    variant: Option<String>,
    iteration: Option<i64>,
    variant_states: Vec<VariantRange>,
}

/// The refs of one variant, grouped by URL: each URL's highest iteration.
fn url_max_iters<'a>(refs: &[&'a UrlRef]) -> BTreeMap<&'a str, i64> {
    let mut by_url: BTreeMap<&str, i64> = BTreeMap::new();
    for r in refs {
        let e = by_url.entry(r.url.as_str()).or_insert(r.iter);
        *e = (*e).max(r.iter);
    }
    by_url
}

/// The recycled-URL border of one variant (clearml-server's `last_invalid_iteration`): of
/// the URL written at the highest iteration, the second-highest iteration it was written at.
fn last_invalid_iteration(refs: &[&UrlRef]) -> Option<i64> {
    let by_url = url_max_iters(refs);
    // highest max iteration; of equal ones the first URL in key order
    let (url, _) = by_url.iter().fold(None::<(&str, i64)>, |best, (u, i)| match best {
        Some((_, b)) if b >= *i => best,
        _ => Some((u, *i)),
    })?;
    let mut iters: Vec<i64> = refs.iter().filter(|r| r.url == url).map(|r| r.iter).collect();
    iters.sort_unstable_by(|a, b| b.cmp(a));
    iters.get(1).copied()
}

/// One iteration of a `debug_images` 2.7 reply: the iteration and its events' ids.
type Iteration = (i64, Vec<i64>);

/// Groups refs (ordered by metric, variant, iteration) by metric then variant.
fn by_metric_variant(refs: &[UrlRef]) -> BTreeMap<&str, BTreeMap<&str, Vec<&UrlRef>>> {
    let mut out: BTreeMap<&str, BTreeMap<&str, Vec<&UrlRef>>> = BTreeMap::new();
    for r in refs {
        out.entry(r.metric.as_str()).or_default().entry(r.variant.as_str()).or_default().push(r);
    }
    out
}

/// The metric states of one task's navigation, from the images of its snapshot
/// (`id <= max_id`), over `metrics` (`None`: every metric with images), at most 100 metrics
/// of 100 variants.
fn metric_states(metrics: Option<&BTreeSet<String>>, max_id: i64, refs: &[UrlRef]) -> Vec<MetricState> {
    let snapshot: Vec<UrlRef> = refs.iter().filter(|r| r.id <= max_id).cloned().collect();
    by_metric_variant(&snapshot)
        .into_iter()
        .filter(|(m, _)| metrics.is_none_or(|wanted| wanted.contains(*m)))
        .take(MAX_METRICS)
        .map(|(metric, variants)| MetricState {
            metric: metric.to_string(),
            variants: variants
                .iter()
                .take(MAX_VARIANTS)
                .map(|(v, refs)| VariantState { variant: v.to_string(), last_invalid_iteration: last_invalid_iteration(refs) })
                .collect(),
        })
        .collect()
}

/// The next `iters` iterations of one task's images (the first call: the latest ones;
/// then earlier than the earliest returned, or later than the latest returned), as
/// clearml-server picks them: per iteration, per metric and variant (by name) up to 3
/// images by URL descending, only those of known variants above their recycled-URL border;
/// iterations left without images are dropped. Returns (iteration, event ids), highest
/// iteration first, and moves the state.
fn next_iterations(state: &mut TaskState, refs: &[UrlRef], iters: i64, navigate_earlier: bool) -> Vec<Iteration> {
    let states = metric_states(state.metrics.as_ref(), state.max_id, refs);
    if states.is_empty() {
        return Vec::new();
    }
    let earlier = navigate_earlier || state.last_max_iter.is_none();
    let known: HashMap<(&str, &str), Option<i64>> = states
        .iter()
        .flat_map(|m| m.variants.iter().map(move |v| ((m.metric.as_str(), v.variant.as_str()), v.last_invalid_iteration)))
        .collect();
    let metrics: BTreeSet<&str> = states.iter().map(|m| m.metric.as_str()).collect();
    let in_range = |it: i64| match (earlier, state.last_min_iter, state.last_max_iter) {
        (true, Some(min), _) => it < min,
        (false, _, Some(max)) => it > max,
        _ => true,
    };
    let mut by_iter: BTreeMap<i64, Vec<&UrlRef>> = BTreeMap::new();
    for r in refs.iter().filter(|r| metrics.contains(r.metric.as_str()) && in_range(r.iter)) {
        by_iter.entry(r.iter).or_default().push(r);
    }
    let take = usize::try_from(iters).unwrap_or(usize::MAX);
    let chosen: Vec<(i64, Vec<&UrlRef>)> =
        if earlier { by_iter.into_iter().rev().take(take).collect() } else { by_iter.into_iter().take(take).collect() };
    let mut out: Vec<Iteration> = Vec::new();
    for (iter, refs) in chosen {
        let mut groups: BTreeMap<(&str, &str), Vec<&UrlRef>> = BTreeMap::new();
        for r in refs {
            groups.entry((r.metric.as_str(), r.variant.as_str())).or_default().push(r);
        }
        let mut ids = Vec::new();
        for (key, mut group) in groups {
            group.sort_by(|a, b| b.url.cmp(&a.url).then(a.id.cmp(&b.id)));
            let valid = match known.get(&key) {
                None => false,
                Some(border) => border.is_none_or(|b| iter > b),
            };
            if valid {
                ids.extend(group.iter().take(EVENTS_PER_VARIANT).map(|r| r.id));
            }
        }
        if !ids.is_empty() {
            out.push((iter, ids));
        }
    }
    if !earlier {
        out.reverse();
    }
    if let (Some(first), Some(last)) = (out.first(), out.last()) {
        state.last_max_iter = Some(first.0);
        state.last_min_iter = Some(last.0);
    }
    out
}

/// Per variant of a metric (by name, at most 100) the valid iterations of its images:
/// `min_iteration` the smallest of the per-URL highest iterations, `max_iteration` the last.
fn variant_ranges(refs: &[UrlRef]) -> Vec<VariantRange> {
    let mut by_variant: BTreeMap<&str, Vec<&UrlRef>> = BTreeMap::new();
    for r in refs {
        by_variant.entry(r.variant.as_str()).or_default().push(r);
    }
    by_variant
        .into_iter()
        .take(MAX_VARIANTS)
        .filter_map(|(name, refs)| {
            let min_iteration = url_max_iters(&refs).into_values().min()?;
            let max_iteration = refs.iter().map(|r| r.iter).max()?;
            Some(VariantRange { name: name.to_string(), min_iteration, max_iteration })
        })
        .collect()
}

/// From the current image (`variant` at `iteration`), the next one: first another variant
/// at the same iteration (the previous name when navigating earlier, else the next), among
/// variants valid there; else the nearest other iteration (earlier: highest iteration then
/// variant first; later: lowest first), among images at or above their variant's
/// `min_iteration`.
fn next_sample<'a>(state: &SampleState, variant: &str, iteration: i64, refs: &'a [UrlRef], earlier: bool) -> Option<&'a UrlRef> {
    let ranges: HashMap<&str, &VariantRange> = state.variant_states.iter().map(|v| (v.name.as_str(), v)).collect();
    let same_iteration = refs
        .iter()
        .filter(|r| r.iter == iteration)
        .filter(|r| if earlier { r.variant.as_str() < variant } else { r.variant.as_str() > variant })
        .filter(|r| ranges.get(r.variant.as_str()).is_some_and(|v| v.min_iteration <= iteration));
    let found = if earlier {
        same_iteration.max_by(|a, b| a.variant.cmp(&b.variant))
    } else {
        same_iteration.min_by(|a, b| a.variant.cmp(&b.variant))
    };
    if found.is_some() {
        return found;
    }
    let other = refs.iter().filter(|r| {
        let Some(v) = ranges.get(r.variant.as_str()) else { return false };
        let allowed = if earlier { v.min_iteration < iteration && r.iter < iteration } else { r.iter > iteration };
        allowed && r.iter >= v.min_iteration
    });
    if earlier {
        other.max_by(|a, b| (a.iter, &a.variant).cmp(&(b.iter, &b.variant)))
    } else {
        other.min_by(|a, b| (a.iter, &a.variant).cmp(&(b.iter, &b.variant)))
    }
}

/// A sample reply; members without a value are sent as null, as clearml-server does.
fn sample_reply(scroll_id: Option<String>, event: Option<Map<String, Value>>, range: Option<&VariantRange>) -> DebugImageSampleReposnse {
    // Members without a value are left out: the spec types them as an object and integers
    // (clearml-server sends nulls there).
    DebugImageSampleReposnse {
        scroll_id,
        event,
        min_iteration: range.map(|r| r.min_iteration),
        max_iteration: range.map(|r| r.max_iteration),
        extra: Map::new(),
    }
}

impl ClearmlEvents {
    /// The image events (with a URL) of a run, of one metric or all.
    async fn image_refs(&self, run_id: i64, metric: Option<String>) -> Result<Vec<UrlRef>, Error> {
        let store = self.store.clone();
        blocking(move || store.url_refs(run_id, IMAGE_EVENT_TYPE, metric.as_deref())).await.map_err(Error::from)
    }

    /// The stored events of `ids`, by id.
    async fn events_by_id(&self, runs: Vec<i64>, ids: Vec<i64>) -> Result<HashMap<i64, Event>, Error> {
        let store = self.store.clone();
        let events = blocking(move || store.events_by_ids(&runs, &ids)).await.map_err(Error::from)?;
        Ok(events.into_iter().map(|e| (e.id, e)).collect())
    }

    /// Version 2.1: the image events of the task's last `iters` (default 1; 0 counts as 1)
    /// distinct iterations, highest iteration first, in scroll pages of 500.
    pub(super) async fn images_v2_1(
        &self,
        ctx: &RequestContext,
        request: DebugImagesV2_1Request,
    ) -> Result<DebugImagesV2_1Response, Error> {
        let iters = iterations(request.iters.filter(|n| *n != 0))?;
        let run_id = self.run_id(ctx, &request.task).await?;
        let start = IterScroll::new(vec![run_id], IMAGE_EVENT_TYPE, LastIters::PerRun(iters), false);
        let page = self.iter_scroll(ctx, DEBUG_IMAGES_V1_TOKEN, start, request.scroll_id.as_deref()).await?;
        let images: Vec<Map<String, Value>> = page.events.into_iter().map(|e| render(&request.task, e)).collect();
        Ok(DebugImagesV2_1Response {
            task: Some(request.task),
            returned: Some(images.len() as i64),
            images: Some(images),
            total: Some(page.total as f64),
            scroll_id: Some(page.scroll_id),
            extra: Map::new(),
        })
    }

    /// Version 2.7: `{"metrics": [{"task": id, "iterations": [{"iter": n, "events": [...]}]}],
    /// "scroll_id": …}`, `iters` (default 1) iterations per task, highest first. The first
    /// call starts at the latest iteration; a call with the scroll id continues earlier
    /// (`navigate_earlier`, default) or later; `refresh` rebuilds the state of the asked
    /// tasks (new metrics and variants, recycled URLs) and starts again from the latest.
    /// A `metric` member in an entry of `metrics` (older schemas) narrows that task to it.
    pub(super) async fn images_v2_7(
        &self,
        ctx: &RequestContext,
        request: DebugImagesV2_7Request,
    ) -> Result<DebugImagesV2_7Response, Error> {
        if request.metrics.is_empty() {
            return Err(Error::validation("metrics: at least 1 task metric is required"));
        }
        let iters = iterations(request.iters)?;
        let mut wanted: Vec<(String, Option<BTreeSet<String>>)> = Vec::new();
        for tm in &request.metrics {
            let metric = tm.extra.get("metric").and_then(Value::as_str).map(str::to_string);
            let pos = match wanted.iter().position(|(t, _)| *t == tm.task) {
                Some(pos) => pos,
                None => {
                    wanted.push((tm.task.clone(), Some(BTreeSet::new())));
                    wanted.len() - 1
                }
            };
            // no metric: every metric of the task
            match (metric, &mut wanted[pos].1) {
                (Some(m), Some(set)) => {
                    set.insert(m);
                }
                (None, slot) => *slot = None,
                (Some(_), None) => {}
            }
        }
        let tasks: Vec<String> = wanted.iter().map(|(t, _)| t.clone()).collect();
        let runs = self.require_runs(ctx, &tasks).await?;
        let scroll_id = request.scroll_id.as_deref().filter(|s| !s.is_empty());
        let refresh = request.refresh.unwrap_or(false);
        let mut state = match scroll_id {
            Some(id) if !refresh => {
                self.tokens.open::<ImagesState>(DEBUG_IMAGES_TOKEN, &ctx.tenant, id).ok_or_else(|| Error::invalid_scroll_id(id))?
            }
            other => {
                if let Some(id) = other {
                    // a refresh still needs a scroll id this server issued
                    self.tokens.open::<ImagesState>(DEBUG_IMAGES_TOKEN, &ctx.tenant, id).ok_or_else(|| Error::invalid_scroll_id(id))?;
                }
                let store = self.store.clone();
                let run_ids: Vec<i64> = runs.iter().map(|r| r.id).collect();
                let max_ids: Vec<i64> =
                    blocking(move || run_ids.iter().map(|r| store.max_event_id(&[*r])).collect()).await.map_err(Error::from)?;
                let tasks = wanted
                    .into_iter()
                    .zip(runs.iter().zip(max_ids))
                    .map(|((task, metrics), (run, max_id))| TaskState {
                        task,
                        run: run.id,
                        metrics,
                        max_id,
                        last_min_iter: None,
                        last_max_iter: None,
                    })
                    .collect();
                ImagesState { tasks }
            }
        };
        let navigate_earlier = request.navigate_earlier.unwrap_or(true);
        let mut per_task: Vec<(String, Vec<Iteration>)> = Vec::with_capacity(state.tasks.len());
        for task_state in state.tasks.iter_mut() {
            let refs = self.image_refs(task_state.run, None).await?;
            let its = next_iterations(task_state, &refs, iters, navigate_earlier);
            per_task.push((task_state.task.clone(), its));
        }
        let ids: Vec<i64> = per_task.iter().flat_map(|(_, its)| its.iter().flat_map(|(_, ids)| ids.iter().copied())).collect();
        let runs: Vec<i64> = state.tasks.iter().map(|t| t.run).collect();
        let mut events = if ids.is_empty() { HashMap::new() } else { self.events_by_id(runs, ids).await? };
        let metrics = per_task
            .into_iter()
            .map(|(task, its)| {
                let iterations: Vec<Value> = its
                    .into_iter()
                    .map(|(iter, ids)| {
                        let evs: Vec<Map<String, Value>> =
                            ids.into_iter().filter_map(|id| events.remove(&id)).map(|e| render(&task, e)).collect();
                        json!({ "iter": iter, "events": evs })
                    })
                    .collect();
                let mut item = Map::new();
                item.insert("task".into(), json!(task));
                item.insert("iterations".into(), Value::Array(iterations));
                item
            })
            .collect();
        let scroll_id = self.tokens.seal(DEBUG_IMAGES_TOKEN, &ctx.tenant, &state);
        Ok(DebugImagesV2_7Response { metrics: Some(metrics), scroll_id: Some(scroll_id), extra: Map::new() })
    }

    /// The image of `variant` at `iteration` or the latest one before it (the latest of all
    /// without `iteration`), among its valid iterations; with `min_iteration` and
    /// `max_iteration` of the variant. A scroll id of another task or metric is 400/1104;
    /// `refresh` recomputes the variants' ranges. An unknown variant answers no event and no range.
    pub(super) async fn debug_image_sample(
        &self,
        ctx: &RequestContext,
        request: GetDebugImageSampleV2_12Request,
    ) -> Result<GetDebugImageSampleV2_12Response, Error> {
        let run_id = self.run_id(ctx, &request.task).await?;
        let refs = self.image_refs(run_id, Some(request.metric.clone())).await?;
        let mut state = match request.scroll_id.as_deref().filter(|s| !s.is_empty()) {
            Some(id) => {
                let mut state: SampleState = self.tokens.open(SAMPLE_TOKEN, &ctx.tenant, id).ok_or_else(|| Error::invalid_scroll_id(id))?;
                if state.task != request.task || state.metric != request.metric {
                    return Err(Error::new(
                        400,
                        1104,
                        format!("Invalid scroll id (Task and metric stored in the state do not match the passed ones): scroll_id={id}"),
                    ));
                }
                if request.refresh.unwrap_or(false) {
                    state.variant_states = variant_ranges(&refs);
                }
                state
            }
            None => SampleState {
                task: request.task.clone(),
                metric: request.metric.clone(),
                variant: None,
                iteration: None,
                variant_states: variant_ranges(&refs),
            },
        };
        let Some(range) = state.variant_states.iter().find(|v| v.name == request.variant).cloned() else {
            return Ok(sample_reply(Some(self.tokens.seal(SAMPLE_TOKEN, &ctx.tenant, &state)), None, None));
        };
        let found = refs
            .iter()
            .filter(|r| r.variant == request.variant && r.iter >= range.min_iteration && request.iteration.is_none_or(|i| r.iter <= i))
            .max_by_key(|r| (r.iter, r.id));
        let Some(found) = found else {
            return Ok(sample_reply(Some(self.tokens.seal(SAMPLE_TOKEN, &ctx.tenant, &state)), None, None));
        };
        let (id, iter) = (found.id, found.iter);
        let event = self.events_by_id(vec![run_id], vec![id]).await?.remove(&id);
        state.variant = Some(request.variant.clone());
        state.iteration = Some(iter);
        let scroll_id = self.tokens.seal(SAMPLE_TOKEN, &ctx.tenant, &state);
        Ok(sample_reply(Some(scroll_id), event.map(|e| render(&request.task, e)), Some(&range)))
    }

    /// From the image a sample scroll id is at, the next one (`navigate_earlier`, default:
    /// the previous variant at that iteration, else the last variant of an earlier
    /// iteration; otherwise the next variant or a later iteration). Nothing there: no
    /// event and the same scroll id. A scroll id that is not one of this task's is 400/1104.
    pub(super) async fn next_debug_image_sample(
        &self,
        ctx: &RequestContext,
        request: NextDebugImageSampleV2_12Request,
    ) -> Result<NextDebugImageSampleV2_12Response, Error> {
        let run_id = self.run_id(ctx, &request.task).await?;
        let id = request.scroll_id.as_str();
        let mut state: SampleState = self
            .tokens
            .open(SAMPLE_TOKEN, &ctx.tenant, id)
            .filter(|s: &SampleState| s.task == request.task)
            .ok_or_else(|| Error::invalid_scroll_id(id))?;
        let nothing = || sample_reply(Some(id.to_string()), None, None);
        let (Some(variant), Some(iteration)) = (state.variant.clone(), state.iteration) else {
            return Ok(nothing());
        };
        let refs = self.image_refs(run_id, Some(state.metric.clone())).await?;
        let earlier = request.navigate_earlier.unwrap_or(true);
        let Some(found) = next_sample(&state, &variant, iteration, &refs, earlier) else {
            return Ok(nothing());
        };
        let (event_id, iter, variant) = (found.id, found.iter, found.variant.clone());
        let event = self.events_by_id(vec![run_id], vec![event_id]).await?.remove(&event_id);
        let range = state.variant_states.iter().find(|v| v.name == variant).cloned();
        state.variant = Some(variant);
        state.iteration = Some(iter);
        let scroll_id = self.tokens.seal(SAMPLE_TOKEN, &ctx.tenant, &state);
        Ok(sample_reply(Some(scroll_id), event.map(|e| render(&request.task, e)), range.as_ref()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(id: i64, metric: &str, variant: &str, iter: i64, url: &str) -> UrlRef {
        UrlRef { id, metric: metric.into(), variant: variant.into(), iter, url: url.into() }
    }

    #[test]
    fn recycled_urls_set_the_invalid_border() {
        // URLs cycle every 3 iterations: 0 a, 1 b, 2 c, 3 a, 4 b
        let refs: Vec<UrlRef> = ["a", "b", "c", "a", "b"].iter().enumerate().map(|(i, u)| r(i as i64, "m", "v", i as i64, u)).collect();
        let all: Vec<&UrlRef> = refs.iter().collect();
        // the URL of the highest iteration (b, at 4) was also written at 1
        assert_eq!(last_invalid_iteration(&all), Some(1));
        let ranges = variant_ranges(&refs);
        // per-URL highest iterations: a 3, b 4, c 2 → min 2
        assert_eq!(ranges, vec![VariantRange { name: "v".into(), min_iteration: 2, max_iteration: 4 }]);
        let unique: Vec<UrlRef> = (0..3).map(|i| r(i, "m", "v", i, &format!("u{i}"))).collect();
        assert_eq!(last_invalid_iteration(&unique.iter().collect::<Vec<_>>()), None);
    }

    #[test]
    fn navigation_moves_through_iterations() {
        let refs: Vec<UrlRef> =
            (0..5).flat_map(|i| [r(i * 2, "m", "a", i, &format!("a{i}")), r(i * 2 + 1, "m", "b", i, &format!("b{i}"))]).collect();
        let mut st = TaskState { task: "t".into(), run: 1, metrics: None, max_id: 9, last_min_iter: None, last_max_iter: None };
        let first = next_iterations(&mut st, &refs, 2, false); // the first call goes from the latest
        assert_eq!(first, vec![(4, vec![8, 9]), (3, vec![6, 7])]);
        assert_eq!(next_iterations(&mut st, &refs, 2, true), vec![(2, vec![4, 5]), (1, vec![2, 3])]);
        assert_eq!(next_iterations(&mut st, &refs, 2, false), vec![(4, vec![8, 9]), (3, vec![6, 7])]);
        assert_eq!(next_iterations(&mut st, &refs, 2, false), vec![]);
        // images written after the state began: new iterations of known variants count,
        // unknown variants (and metrics) do not
        let mut more = refs.clone();
        more.extend([r(10, "m", "a", 5, "a5"), r(11, "m", "new", 5, "n5"), r(12, "z", "a", 6, "z6")]);
        assert_eq!(next_iterations(&mut st, &more, 2, false), vec![(5, vec![10])]);
    }
}
