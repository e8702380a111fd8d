//! Stored points and events as ClearML returns them: the stored fields plus the kept ones.

use serde_json::{json, Map, Value};
use specmill_runtime::store::{Scalar, TimelineItem, SCALAR_EVENT_TYPE};

pub fn event_json(task: &str, item: &TimelineItem) -> Map<String, Value> {
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

pub fn scalar_json(task: &str, s: &Scalar) -> Map<String, Value> {
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
