//! The ClearML events service over the store: a task is a run (the task id is the run's
//! uid, created on first write); scalar events are scalar points, the other event types
//! are events with their JSON kept.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use specmill_runtime::protocol::clearml::{Batch, Error};
use specmill_runtime::protocol::RequestContext;
use specmill_runtime::store::{
    now_us, NewEvent, NewScalar, Scalar, ScalarOrder, ScalarQuery, Store, TimelineCursor, TimelineItem, TimelineQuery, SCALAR_EVENT_TYPE,
};

use super::blocking;
use crate::generated::clearml::types::*;
use crate::generated::clearml::EventsService;

pub const SOURCE: &str = "clearml";
const EVENT_TYPES: &[&str] = &["training_stats_scalar", "training_stats_vector", "training_debug_image", "plot", "log"];
/// At most this many same-timestamp events complete a get_task_log 2.9 page.
const MAX_BOUNDARY_EVENTS: i64 = 10_000;
/// The scroll id ClearML returns once a scroll is exhausted.
const SCROLL_END: &str = "FFFF";

pub struct ClearmlEvents {
    store: Store,
}

impl ClearmlEvents {
    pub fn new(store: Store) -> Self {
        ClearmlEvents { store }
    }

    async fn add_events(&self, ctx: &RequestContext, items: Vec<Result<AddV2_1Request, String>>) -> Result<AddBatchV2_1Response, Error> {
        let mut errors_info: BTreeMap<String, i64> = BTreeMap::new();
        let mut by_task: BTreeMap<String, (Vec<NewScalar>, Vec<NewEvent>)> = BTreeMap::new();
        let received_us = now_us();
        for item in items {
            match item.and_then(|ev| to_write(ev, received_us)) {
                Ok((task, Write::Scalar(s))) => by_task.entry(task).or_default().0.push(s),
                Ok((task, Write::Event(e))) => by_task.entry(task).or_default().1.push(e),
                Err(msg) => *errors_info.entry(msg).or_default() += 1,
            }
        }
        let errors: i64 = errors_info.values().sum();
        let store = self.store.clone();
        let tenant = ctx.tenant.clone();
        let added = blocking(move || {
            let mut added = 0;
            for (task, (scalars, events)) in by_task {
                let run = store.ensure_run(&tenant, &task, SOURCE)?;
                added += store.put_scalars(run.id, &scalars)? as i64;
                added += store.put_events(run.id, &events)? as i64;
            }
            Ok(added)
        })
        .await
        .map_err(Error::internal)?;
        if added == 0 {
            let detail = errors_info.iter().map(|(m, n)| format!("{m}={n}")).collect::<Vec<_>>().join(", ");
            return Err(Error::new(400, 131, format!("Events not added: {detail}")));
        }
        Ok(AddBatchV2_1Response {
            added: Some(added),
            errors: Some(errors),
            errors_info: Some(errors_info.into_iter().map(|(k, v)| (k, json!(v))).collect()),
            extra: Map::new(),
        })
    }

    async fn run_id(&self, ctx: &RequestContext, task: &str) -> Result<i64, Error> {
        let store = self.store.clone();
        let (tenant, uid) = (ctx.tenant.clone(), task.to_string());
        let run = blocking(move || store.run_by_uid(&tenant, &uid)).await.map_err(Error::internal)?;
        run.map(|r| r.id).ok_or_else(|| Error::invalid_task_id(task))
    }

    /// One page of a scroll over a task's timeline.
    async fn scroll(&self, ctx: &RequestContext, task: &str, start: ScrollState, scroll_id: Option<&str>) -> Result<Page, Error> {
        let run_id = self.run_id(ctx, task).await?;
        let state = match scroll_id.filter(|s| !s.is_empty()) {
            Some(SCROLL_END) => return Ok(Page { events: Vec::new(), total: 0, scroll_id: SCROLL_END.into() }),
            Some(id) => ScrollState::decode(id, run_id).ok_or_else(|| Error::invalid_scroll_id(id))?,
            None => start,
        };
        let store = self.store.clone();
        let (types, descending, after, limit) = (state.types.clone(), state.descending, state.after, state.batch);
        let (items, total) = blocking(move || {
            let items = store.timeline(&TimelineQuery { run_id, types: types.clone(), descending, after, limit })?;
            let total = store.count_timeline(run_id, types.as_deref())?;
            Ok((items, total))
        })
        .await
        .map_err(Error::internal)?;
        let scroll_id = match items.last() {
            Some(last) => ScrollState { after: Some(last.cursor()), run: run_id, ..state }.encode(),
            None => SCROLL_END.into(),
        };
        Ok(Page { events: items.iter().map(|i| event_json(task, i)).collect(), total, scroll_id })
    }
}

struct Page {
    events: Vec<Map<String, Value>>,
    total: i64,
    scroll_id: String,
}

/// A scroll id: the whole position, so any replica can continue it (hex of a JSON object).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct ScrollState {
    run: i64,
    types: Option<Vec<String>>,
    descending: bool,
    after: Option<TimelineCursor>,
    batch: i64,
}

impl ScrollState {
    fn encode(&self) -> String {
        serde_json::to_vec(self).unwrap_or_default().iter().map(|b| format!("{b:02x}")).collect()
    }
    fn decode(id: &str, run: i64) -> Option<ScrollState> {
        if id.len() % 2 != 0 || !id.is_ascii() {
            return None;
        }
        let bytes: Option<Vec<u8>> = (0..id.len()).step_by(2).map(|i| u8::from_str_radix(&id[i..i + 2], 16).ok()).collect();
        let s: ScrollState = serde_json::from_slice(&bytes?).ok()?;
        (s.run == run && s.batch > 0).then_some(s)
    }
}

enum Write {
    Scalar(NewScalar),
    Event(NewEvent),
}

fn str_of(m: &Map<String, Value>, k: &str) -> String {
    m.get(k).and_then(Value::as_str).unwrap_or("").to_string()
}

/// Turn one `add` request into a store write, with the server-set fields of clearml-server:
/// `timestamp` (ms, now if absent), `@timestamp`, `metric`/`variant` default `""`.
fn to_write(ev: AddV2_1Request, received_us: i64) -> Result<(String, Write), String> {
    let mut m = match serde_json::to_value(&ev).map_err(|e| e.to_string())? {
        Value::Object(m) => m,
        _ => return Err("Event must be an object".into()),
    };
    if !m.contains_key("type") {
        return Err("Event must have a 'type' field".into());
    }
    let event_type = str_of(&m, "type").replace(' ', "_");
    if !EVENT_TYPES.contains(&event_type.as_str()) {
        return Err(format!("Invalid event type {event_type}"));
    }
    let task = str_of(&m, "task");
    if task.is_empty() {
        return Err("Invalid task id".into());
    }
    let ts_ms = m.get("timestamp").and_then(Value::as_f64).unwrap_or((received_us / 1000) as f64);
    let ts_us = (ts_ms * 1000.0).round() as i64;
    let iter = m.get("iter").and_then(Value::as_i64);
    let (metric, variant) = (str_of(&m, "metric"), str_of(&m, "variant"));
    if let Some(v) = m.remove("values") {
        m.insert("value".into(), v);
    }
    m.insert("metric".into(), json!(metric));
    m.insert("variant".into(), json!(variant));
    m.insert("timestamp".into(), json!(ts_ms as i64));
    let key = format!("{}|{}|{metric}|{variant}", task, iter.map(|i| i.to_string()).unwrap_or_default());
    if event_type == SCALAR_EVENT_TYPE {
        let value = m.get("value").and_then(Value::as_f64).unwrap_or(f64::NAN);
        for k in ["type", "task", "iter", "metric", "variant", "value", "timestamp"] {
            m.remove(k);
        }
        let point = NewScalar { metric, variant, step: iter, ts_us, value, source: SOURCE.into(), point_key: format!("{SOURCE}|{key}"), extra: Some(m) };
        return Ok((task, Write::Scalar(point)));
    }
    let point_key = (event_type != "log").then(|| key.clone());
    let event = NewEvent { event_type, metric, variant, iter, ts_us, point_key, payload: m };
    Ok((task, Write::Event(event)))
}

/// A stored point or event as ClearML returns it (the stored fields plus the ones kept).
fn event_json(task: &str, item: &TimelineItem) -> Map<String, Value> {
    match item {
        TimelineItem::Scalar(s) => scalar_json(task, s),
        TimelineItem::Event(e) => {
            let mut m = e.payload.clone();
            m.insert("type".into(), json!(e.event_type));
            m.insert("task".into(), json!(task));
            m
        }
    }
}

fn scalar_json(task: &str, s: &Scalar) -> Map<String, Value> {
    let mut m = s.extra.clone().unwrap_or_default();
    m.insert("type".into(), json!(SCALAR_EVENT_TYPE));
    m.insert("task".into(), json!(task));
    if let Some(step) = s.step {
        m.insert("iter".into(), json!(step));
    }
    m.insert("metric".into(), json!(s.metric));
    m.insert("variant".into(), json!(s.variant));
    m.insert("value".into(), json!(s.value));
    m.insert("timestamp".into(), json!(s.ts_us.div_euclid(1000)));
    m
}

fn batch_size(requested: Option<i64>) -> Result<i64, Error> {
    match requested {
        None => Ok(500),
        Some(n) if (1..=10_000).contains(&n) => Ok(n),
        Some(n) => Err(Error::validation(format!("batch_size {n} is out of range 1..10000"))),
    }
}

fn log_types() -> Option<Vec<String>> {
    Some(vec!["log".to_string()])
}

/// clearml-server's cap on the points of one histogram group.
const MAX_GROUP_POINTS: i64 = 6000;
/// clearml-server's cap on the variants of one histogram group.
const MAX_GROUP_VARIANTS: usize = 50;

/// The bucket width of one series: 1 when it has fewer points than `samples`, else
/// `ceil((max - min + 1) / samples)`; with the points that width is expected to give.
fn series_interval(points: &[(i64, f64)], samples: i64) -> (i64, i64) {
    let min = points.iter().map(|p| p.0).min().unwrap_or(0);
    let max = points.iter().map(|p| p.0).max().unwrap_or(0);
    let range = max - min + 1;
    let interval = if (points.len() as i64) < samples { 1 } else { ((range as f64 / samples as f64).ceil() as i64).max(1) };
    (interval, (range as f64 / interval as f64).ceil() as i64)
}

/// Bucket widths of several series, grouped as clearml-server groups them: series sorted by
/// width; a group closes when a width exceeds the group's first width by more than 10 %,
/// when it holds 50 series, or when its expected points would pass 6000; every series of a
/// group uses the group's largest width. Returns one width per input series.
pub fn group_intervals(series: &[&[(i64, f64)]], samples: i64) -> Vec<i64> {
    let measured: Vec<(i64, i64)> = series.iter().map(|p| series_interval(p, samples)).collect();
    let mut order: Vec<usize> = (0..series.len()).collect();
    order.sort_by_key(|i| measured[*i].0);
    let mut widths = vec![1; series.len()];
    let mut group: Vec<usize> = Vec::new();
    let mut group_points = 0;
    let mut close = |group: &mut Vec<usize>| {
        let width = group.iter().map(|i| measured[*i].0).max().unwrap_or(1);
        for i in group.drain(..) {
            widths[i] = width;
        }
    };
    for i in order {
        let (interval, points) = measured[i];
        if let Some(first) = group.first().map(|f| measured[*f].0) {
            if interval > first + first / 10 || group.len() >= MAX_GROUP_VARIANTS || group_points + points > MAX_GROUP_POINTS {
                close(&mut group);
                group_points = 0;
            }
        }
        group.push(i);
        group_points += points;
    }
    close(&mut group);
    widths
}

/// One series bucketed by `interval` (bucket key = floor(x / interval) * interval), `y` the
/// mean of the values in the bucket; buckets without points are left out.
pub fn histogram(points: &[(i64, f64)], interval: i64) -> (Vec<i64>, Vec<f64>) {
    let interval = interval.max(1);
    let mut buckets: BTreeMap<i64, (f64, u32)> = BTreeMap::new();
    for (x, y) in points {
        let b = buckets.entry(x.div_euclid(interval) * interval).or_insert((0.0, 0));
        b.0 += y;
        b.1 += 1;
    }
    buckets.into_iter().map(|(k, (sum, n))| (k, sum / n as f64)).unzip()
}

impl EventsService for ClearmlEvents {
    async fn add_v2_1(&self, ctx: &RequestContext, request: AddV2_1Request) -> Result<AddV2_1Response, Error> {
        let r = self.add_events(ctx, vec![Ok(request)]).await?;
        match serde_json::to_value(r) {
            Ok(Value::Object(m)) => Ok(m),
            _ => Err(Error::internal("reply does not serialize")),
        }
    }

    async fn add_batch_v2_1(&self, ctx: &RequestContext, request: Batch<AddV2_1Request>) -> Result<AddBatchV2_1Response, Error> {
        self.add_events(ctx, request.items).await
    }

    async fn get_task_events_v2_1(&self, ctx: &RequestContext, request: GetTaskEventsV2_1Request) -> Result<GetTaskEventsV2_1Response, Error> {
        let types = match request.event_type.as_deref() {
            None | Some("") => None,
            Some(t) if EVENT_TYPES.contains(&t) => Some(vec![t.to_string()]),
            Some(t) => return Err(Error::validation(format!("'{t}' is not a valid event type"))),
        };
        let start = ScrollState {
            run: 0,
            types,
            descending: matches!(request.order, Some(GetTaskEventsV2_1RequestOrder::Desc)),
            after: None,
            batch: batch_size(request.batch_size)?,
        };
        let page = self.scroll(ctx, &request.task, start, request.scroll_id.as_deref()).await?;
        Ok(GetTaskEventsV2_1Response {
            returned: Some(page.events.len() as i64),
            events: Some(page.events),
            total: Some(page.total as f64),
            scroll_id: Some(page.scroll_id),
            extra: Map::new(),
        })
    }

    /// Version 1.5: a scroll over the log, newest first unless `order` is `asc`.
    async fn get_task_log_v1_5(&self, ctx: &RequestContext, request: GetTaskLogV1_5Request) -> Result<GetTaskLogV1_5Response, Error> {
        let descending = !matches!(request.order, Some(GetTaskLogV1_5RequestOrder::Asc));
        let start = ScrollState { run: 0, types: log_types(), descending, after: None, batch: batch_size(request.batch_size)? };
        let page = self.scroll(ctx, &request.task, start, request.scroll_id.as_deref()).await?;
        Ok(GetTaskLogV1_5Response {
            returned: Some(page.events.len() as i64),
            events: Some(page.events),
            total: Some(page.total),
            scroll_id: Some(page.scroll_id),
            extra: Map::new(),
        })
    }

    /// Version 1.7: scrolls from the `head` (oldest first) or the `tail` (newest first); each
    /// page is reversed when `order` (default desc) differs from the scroll direction.
    async fn get_task_log_v1_7(&self, ctx: &RequestContext, request: GetTaskLogV1_7Request) -> Result<GetTaskLogV1_7Response, Error> {
        let from_tail = matches!(request.from, Some(GetTaskLogV1_7RequestFrom::Tail));
        let want_desc = !matches!(request.order, Some(GetTaskLogV1_7RequestOrder::Asc));
        let start = ScrollState { run: 0, types: log_types(), descending: from_tail, after: None, batch: batch_size(request.batch_size)? };
        let mut page = self.scroll(ctx, &request.task, start, request.scroll_id.as_deref()).await?;
        if want_desc != from_tail {
            page.events.reverse();
        }
        Ok(GetTaskLogV1_7Response {
            returned: Some(page.events.len() as i64),
            events: Some(page.events),
            total: Some(page.total as f64),
            scroll_id: Some(page.scroll_id),
            extra: Map::new(),
        })
    }

    /// Version 2.9: no scroll; pages by `from_timestamp` (ms, exclusive), earlier by default.
    /// A page ends with every event that shares its last event's timestamp, so it may hold
    /// more than `batch_size` events.
    async fn get_task_log_v2_9(&self, ctx: &RequestContext, request: GetTaskLogV2_9Request) -> Result<GetTaskLogV2_9Response, Error> {
        let run_id = self.run_id(ctx, &request.task).await?;
        let earlier = request.navigate_earlier.unwrap_or(true);
        let limit = batch_size(request.batch_size)?;
        let after = request.from_timestamp.filter(|t| *t != 0.0).map(|t| {
            let ts_us = (t * 1000.0).round() as i64;
            if earlier {
                TimelineCursor { ts_us, kind: 0, id: i64::MIN }
            } else {
                TimelineCursor { ts_us, kind: u8::MAX, id: i64::MAX }
            }
        });
        let store = self.store.clone();
        let (items, total) = blocking(move || {
            let mut items = store.timeline(&TimelineQuery { run_id, types: log_types(), descending: earlier, after, limit })?;
            // As clearml-server does, complete the page with the other events that share the
            // last event's timestamp, so the next page (from that timestamp) skips none.
            if let Some(last) = items.last().map(|i| i.cursor()) {
                let more = store.timeline(&TimelineQuery {
                    run_id,
                    types: log_types(),
                    descending: earlier,
                    after: Some(last),
                    limit: MAX_BOUNDARY_EVENTS,
                })?;
                items.extend(more.into_iter().take_while(|i| i.ts_us() == last.ts_us));
            }
            Ok((items, store.count_timeline(run_id, Some(&["log".to_string()]))?))
        })
        .await
        .map_err(Error::internal)?;
        let mut events: Vec<Map<String, Value>> = items.iter().map(|i| event_json(&request.task, i)).collect();
        let want_desc = !matches!(request.order, Some(GetTaskLogV2_9RequestOrder::Asc));
        if want_desc != earlier {
            events.reverse();
        }
        Ok(GetTaskLogV2_9Response { returned: Some(events.len() as i64), events: Some(events), total: Some(total as f64), extra: Map::new() })
    }

    /// `{metric: {variant: {name, x, y}}}`, each series downsampled to about `samples`
    /// buckets (default 6000, 1..6000) with clearml-server's interval grouping.
    async fn scalar_metrics_iter_histogram_v2_1(
        &self,
        ctx: &RequestContext,
        request: ScalarMetricsIterHistogramV2_1Request,
    ) -> Result<ScalarMetricsIterHistogramV2_1Response, Error> {
        let samples = request.samples.unwrap_or(6000);
        if !(1..=6000).contains(&samples) {
            return Err(Error::validation(format!("samples {samples} is out of range 1..6000")));
        }
        let key = request.key.unwrap_or(ScalarKeyEnum::Iter);
        let run_id = self.run_id(ctx, &request.task).await?;
        let store = self.store.clone();
        let rows = blocking(move || store.scalars(&ScalarQuery { order: ScalarOrder::StepAsc, ..ScalarQuery::for_run(run_id) }))
            .await
            .map_err(Error::internal)?;
        let mut series: BTreeMap<(String, String), Vec<(i64, f64)>> = BTreeMap::new();
        for s in rows.iter().filter(|s| s.value.is_finite()) {
            let x = match key {
                ScalarKeyEnum::Iter => s.step.unwrap_or(0),
                _ => s.ts_us.div_euclid(1000),
            };
            series.entry((s.metric.clone(), s.variant.clone())).or_default().push((x, s.value));
        }
        let slices: Vec<&[(i64, f64)]> = series.values().map(Vec::as_slice).collect();
        let widths = group_intervals(&slices, samples);
        let mut out = Map::new();
        for (((metric, variant), points), width) in series.iter().zip(widths) {
            let (metric, variant) = (metric.clone(), variant.clone());
            let (x, y) = histogram(points, width);
            let x: Vec<Value> = match key {
                ScalarKeyEnum::IsoTime => x
                    .iter()
                    .map(|ms| {
                        json!(chrono::DateTime::from_timestamp_millis(*ms)
                            .map(|t| t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
                            .unwrap_or_default())
                    })
                    .collect(),
                _ => x.into_iter().map(|v| json!(v)).collect(),
            };
            let entry = out.entry(metric).or_insert_with(|| json!({}));
            entry[variant.as_str()] = json!({ "name": variant, "x": x, "y": y });
        }
        Ok(ScalarMetricsIterHistogramV2_1Response { images: None, extra: out })
    }
}

#[cfg(test)]
mod tests {
    use super::{group_intervals, histogram};

    #[test]
    fn histogram_buckets_like_clearml() {
        // clearml-server's own test: iterations 0..99, value = iter, samples=10.
        let points: Vec<(i64, f64)> = (0..100).map(|i| (i, i as f64)).collect();
        let widths = group_intervals(&[&points], 10);
        assert_eq!(widths, vec![10]);
        let (x, y) = histogram(&points, widths[0]);
        assert_eq!(x, (0..10).map(|i| i * 10).collect::<Vec<_>>());
        assert_eq!(y, (0..10).map(|i| i as f64 * 10.0 + 4.5).collect::<Vec<_>>());
        assert_eq!(group_intervals(&[&points], 6000), vec![1]);
    }

    #[test]
    fn variants_share_the_largest_width_of_their_group() {
        let a: Vec<(i64, f64)> = (0..1000).map(|i| (i, 1.0)).collect(); // width 100 at samples=10
        let b: Vec<(i64, f64)> = (0..1050).map(|i| (i, 1.0)).collect(); // width 105: within 10 %
        let c: Vec<(i64, f64)> = (0..5000).map(|i| (i, 1.0)).collect(); // width 500: a new group
        let short: Vec<(i64, f64)> = (0..5).map(|i| (i, 1.0)).collect(); // fewer points than samples: width 1
        assert_eq!(group_intervals(&[&a, &b, &c, &short], 10), vec![105, 105, 500, 1]);
    }
}
