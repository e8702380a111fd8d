//! `add` and `add_batch`: events into the store, with clearml-server's defaults and
//! per-event errors.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};
use specmill_runtime::protocol::clearml::{Error, ItemError};
use specmill_runtime::protocol::RequestContext;
use specmill_runtime::store::{now_us, NewEvent, NewScalar, SCALAR_EVENT_TYPE};

use super::{ClearmlEvents, EVENT_TYPES, SOURCE};
use crate::api::blocking;
use crate::generated::clearml::types::{AddBatchV2_1Response, AddV2_1Request, AddV2_1Response};

enum Write {
    Scalar(NewScalar),
    Event(NewEvent),
}

impl ClearmlEvents {
    pub(super) async fn add(&self, ctx: &RequestContext, request: AddV2_1Request) -> Result<AddV2_1Response, Error> {
        let r = self.add_events(ctx, vec![Ok(request)]).await?;
        match serde_json::to_value(r) {
            Ok(Value::Object(m)) => Ok(m),
            _ => Err(Error::internal("reply does not serialize")),
        }
    }

    /// Store every event that is valid, in one transaction per task; count the others by
    /// message. Nothing stored at all is 400/131.
    pub(super) async fn add_events(&self, ctx: &RequestContext, items: Vec<Result<AddV2_1Request, ItemError>>) -> Result<AddBatchV2_1Response, Error> {
        let mut errors_info: BTreeMap<String, i64> = BTreeMap::new();
        let mut by_task: BTreeMap<String, (Vec<NewScalar>, Vec<NewEvent>)> = BTreeMap::new();
        let received_us = now_us();
        let worker = ctx.worker.as_deref().unwrap_or("<unknown>");
        for item in items {
            match item.map_err(|e| event_error(&e)).and_then(|ev| to_write(ev, received_us, worker)) {
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
        .map_err(Error::from)?;
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
}

/// An event that does not decode, in clearml-server's words and order of checks.
fn event_error(e: &ItemError) -> String {
    let Some(m) = e.raw.as_object() else { return e.message.clone() };
    let Some(t) = m.get("type") else { return "Event must have a 'type' field".into() };
    let t = t.as_str().map(|t| t.replace(' ', "_")).unwrap_or_else(|| t.to_string());
    if !EVENT_TYPES.contains(&t.as_str()) {
        return format!("Invalid event type {t}");
    }
    if !m.contains_key("task") {
        return "Event must have a 'task' field".into();
    }
    e.message.clone()
}

/// `YYYY-MM-DDTHH:MM:SS.mmmZ`, as clearml-server writes `@timestamp`.
fn iso_ms(us: i64) -> String {
    chrono::DateTime::from_timestamp_micros(us).map(|t| t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()).unwrap_or_default()
}

fn str_of(m: &Map<String, Value>, k: &str) -> String {
    m.get(k).and_then(Value::as_str).unwrap_or("").to_string()
}

/// Turn one `add` request into a store write, with the server-set fields of clearml-server:
/// `timestamp` (ms, now if absent), `@timestamp` (the time received), `worker` (the caller's
/// worker header, if absent), `metric`/`variant` default `""`, `values` → `value`.
fn to_write(ev: AddV2_1Request, received_us: i64, worker: &str) -> Result<(String, Write), String> {
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
    m.insert("@timestamp".into(), json!(iso_ms(received_us)));
    m.entry("worker").or_insert_with(|| json!(worker));
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
