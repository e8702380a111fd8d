//! Facts about an experiment kept as run metadata (parameters, others, tags, system details,
//! git metadata, HTML, code, graph) and its output, kept as log events.

use serde_json::{json, Map, Value};
use specmill_runtime::protocol::comet::Error;
use specmill_runtime::protocol::RequestContext;
use specmill_runtime::store::meta::ValueSummary;
use specmill_runtime::store::{now_us, NewEvent, TimelineItem, TimelineQuery};

use super::{now_ms, written, Comet};
use crate::generated::comet::types::{
    GitMetadata, GitMetadataRequest, HtmlRequest, LogOtherRequest, OtherSummary, OtherSummaryList, Output, OutputRequest, ParameterRequest,
    Summary, SummaryList, SystemDetails, SystemDetailsRequest, Tags, TagsRequest, WriteResponse,
};

/// `run_meta` kinds: value summaries of parameters and of others, the tag set, system details
/// and git metadata (one JSON value per member), and whole documents (HTML, code, graph).
pub const KIND_PARAM: &str = "param";
pub const KIND_OTHER: &str = "other";
pub const KIND_TAG: &str = "tag";
pub const KIND_SYSTEM: &str = "system";
pub const KIND_GIT: &str = "git";
pub const KIND_DOCUMENT: &str = "document";
pub const DOC_HTML: &str = "html";
pub const DOC_CODE: &str = "code";
pub const DOC_GRAPH: &str = "graph";

/// The other that names the experiment (`set_name`).
pub const OTHER_NAME: &str = "Name";

/// Event type of output lines: ClearML's console log, so both APIs see the same output.
pub const LOG_EVENT_TYPE: &str = "log";

/// Key prefix of `logAdditionalSystemInfoList` items among the system details.
const ADDITIONAL_PREFIX: &str = "logAdditionalSystemInfoList:";
const ADDITIONAL_LIST: &str = "logAdditionalSystemInfoList";

/// The system details every reply carries, with their value when never set (the seed's
/// `to_json(full=True)` example).
fn system_defaults() -> Map<String, Value> {
    let mut m = Map::new();
    for k in [
        "user",
        "pythonVersion",
        "pythonVersionVerbose",
        "pid",
        "osType",
        "os",
        "osRelease",
        "machine",
        "processor",
        "ip",
        "hostname",
        "env",
    ] {
        m.insert(k.into(), Value::Null);
    }
    m.insert("gpuStaticInfoList".into(), json!([]));
    m.insert(ADDITIONAL_LIST.into(), json!([]));
    m.insert("systemMetricNames".into(), json!([]));
    m.insert("maxTotalMemory".into(), Value::Null);
    m.insert("networkInterfaceIps".into(), Value::Null);
    m.insert("command".into(), Value::Null);
    m.insert("executable".into(), Value::Null);
    m.insert("osPackages".into(), json!([]));
    m.insert("installedPackages".into(), json!([]));
    m.insert("totalRam".into(), Value::Null);
    m
}

/// A logged value as text: a string as it is, anything else as compact JSON.
pub fn value_string(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn summary(name: String, s: ValueSummary, editable: bool) -> Summary {
    let step = |x: Option<i64>| x.map(Value::from).unwrap_or(Value::Null);
    Summary {
        name,
        value_max: s.value_max,
        value_min: s.value_min,
        value_current: s.value_current,
        timestamp_max: s.timestamp_max,
        timestamp_min: s.timestamp_min,
        timestamp_current: s.timestamp_current,
        step_max: step(s.step_max),
        step_min: step(s.step_min),
        step_current: step(s.step_current),
        editable,
    }
}

fn json_text(v: &Value) -> String {
    v.to_string()
}

fn from_json_text(s: &str) -> Value {
    serde_json::from_str(s).unwrap_or_else(|_| Value::String(s.to_string()))
}

impl Comet {
    pub(super) async fn log_parameter(&self, ctx: &RequestContext, r: ParameterRequest) -> Result<WriteResponse, Error> {
        let run = self.experiment(ctx, &r.experiment_key).await?;
        let (id, value, ts) = (run.id, value_string(&r.parameter_value), r.timestamp.unwrap_or_else(now_ms));
        self.call(move |s| s.observe_value(id, KIND_PARAM, &r.parameter_name, &value, ts, r.step))
            .await?;
        Ok(written(&run))
    }

    pub(super) async fn parameters(&self, ctx: &RequestContext, key: &str) -> Result<SummaryList, Error> {
        let id = self.experiment(ctx, key).await?.id;
        let values = self.call(move |s| s.value_summaries(id, KIND_PARAM)).await?;
        Ok(SummaryList {
            values: values.into_iter().map(|(name, s)| summary(name, s, true)).collect(),
        })
    }

    /// An other; `Name` also renames the run.
    pub(super) async fn log_other(&self, ctx: &RequestContext, r: LogOtherRequest) -> Result<WriteResponse, Error> {
        let run = self.experiment(ctx, &r.experiment_key).await?;
        let (id, value, ts) = (run.id, value_string(&r.value), r.timestamp.unwrap_or_else(now_ms));
        self.call(move |s| {
            s.observe_value(id, KIND_OTHER, &r.key, &value, ts, None)?;
            if r.key == OTHER_NAME {
                s.set_run_name(id, &value)?;
            }
            Ok(())
        })
        .await?;
        Ok(written(&run))
    }

    pub(super) async fn others(&self, ctx: &RequestContext, key: &str) -> Result<OtherSummaryList, Error> {
        let id = self.experiment(ctx, key).await?.id;
        let values = self.call(move |s| s.value_summaries(id, KIND_OTHER)).await?;
        Ok(OtherSummaryList {
            values: values
                .into_iter()
                .map(|(name, s)| OtherSummary {
                    name,
                    value_max: s.value_max,
                    value_min: s.value_min,
                    value_current: s.value_current,
                    timestamp_max: s.timestamp_max,
                    timestamp_min: s.timestamp_min,
                    timestamp_current: s.timestamp_current,
                    editable: true,
                })
                .collect(),
        })
    }

    pub(super) async fn add_tags(&self, ctx: &RequestContext, r: TagsRequest) -> Result<WriteResponse, Error> {
        let run = self.experiment(ctx, &r.experiment_key).await?;
        let id = run.id;
        self.call(move |s| s.add_meta_keys(id, KIND_TAG, &r.added_tags)).await?;
        Ok(written(&run))
    }

    pub(super) async fn tags(&self, ctx: &RequestContext, key: &str) -> Result<Tags, Error> {
        let id = self.experiment(ctx, key).await?.id;
        let entries = self.call(move |s| s.meta(id, KIND_TAG)).await?;
        Ok(Tags {
            tags: entries.into_iter().map(|e| e.key).collect(),
        })
    }

    /// Appends (or, with `override`, replaces) the HTML.
    pub(super) async fn log_html(&self, ctx: &RequestContext, r: HtmlRequest) -> Result<WriteResponse, Error> {
        let run = self.experiment(ctx, &r.experiment_key).await?;
        let id = run.id;
        self.call(move |s| {
            s.update_meta(id, KIND_DOCUMENT, DOC_HTML, move |current| {
                Ok(match current {
                    Some(old) if !r.override_ => format!("{old}{}", r.html),
                    _ => r.html.clone(),
                })
            })
        })
        .await?;
        Ok(written(&run))
    }

    /// A document (HTML, code, graph): its text, or null when none was stored.
    pub(super) async fn document(&self, ctx: &RequestContext, key: &str, doc: &'static str) -> Result<Value, Error> {
        let id = self.experiment(ctx, key).await?.id;
        let text = self.call(move |s| s.meta_value(id, KIND_DOCUMENT, doc)).await?;
        Ok(text.map(Value::String).unwrap_or(Value::Null))
    }

    pub(super) async fn set_document(
        &self,
        ctx: &RequestContext,
        key: &str,
        doc: &'static str,
        text: String,
    ) -> Result<WriteResponse, Error> {
        let run = self.experiment(ctx, key).await?;
        let id = run.id;
        self.call(move |s| s.put_meta(id, KIND_DOCUMENT, &[(doc.to_string(), text)]))
            .await?;
        Ok(written(&run))
    }

    /// Merges the members sent into the stored system details; additional info by its key.
    pub(super) async fn set_system_details(&self, ctx: &RequestContext, r: SystemDetailsRequest) -> Result<WriteResponse, Error> {
        let run = self.experiment(ctx, &r.experiment_key).await?;
        let Ok(Value::Object(mut members)) = serde_json::to_value(&r) else {
            return Err(Error::internal("system details do not serialize"));
        };
        members.remove("experimentKey");
        let mut entries = Vec::new();
        if let Some(Value::Array(items)) = members.remove(ADDITIONAL_LIST) {
            for item in items {
                let key = item.get("key").map(value_string).unwrap_or_default();
                entries.push((format!("{ADDITIONAL_PREFIX}{key}"), json_text(&item)));
            }
        }
        entries.extend(members.iter().map(|(k, v)| (k.clone(), json_text(v))));
        let id = run.id;
        self.call(move |s| s.put_meta(id, KIND_SYSTEM, &entries)).await?;
        Ok(written(&run))
    }

    pub(super) async fn system_details(&self, ctx: &RequestContext, key: &str) -> Result<SystemDetails, Error> {
        let run = self.experiment(ctx, key).await?;
        let id = run.id;
        let entries = self.call(move |s| s.meta(id, KIND_SYSTEM)).await?;
        let mut details = Map::new();
        details.insert("experimentKey".into(), json!(run.uid));
        details.extend(system_defaults());
        let mut additional = Vec::new();
        for e in entries {
            if e.key.starts_with(ADDITIONAL_PREFIX) {
                additional.push(from_json_text(&e.value));
            } else {
                details.insert(e.key, from_json_text(&e.value));
            }
        }
        details.insert(ADDITIONAL_LIST.into(), Value::Array(additional));
        Ok(details)
    }

    pub(super) async fn set_git_metadata(&self, ctx: &RequestContext, r: GitMetadataRequest) -> Result<WriteResponse, Error> {
        let run = self.experiment(ctx, &r.experiment_key).await?;
        let entries: Vec<(String, String)> = [
            ("user", r.user),
            ("root", r.root),
            ("branch", r.branch),
            ("parent", r.parent),
            ("origin", r.origin),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| (k.to_string(), v)))
        .collect();
        let id = run.id;
        self.call(move |s| s.put_meta(id, KIND_GIT, &entries)).await?;
        Ok(written(&run))
    }

    pub(super) async fn git_metadata(&self, ctx: &RequestContext, key: &str) -> Result<GitMetadata, Error> {
        let id = self.experiment(ctx, key).await?.id;
        let entries = self.call(move |s| s.meta(id, KIND_GIT)).await?;
        let get = |k: &str| {
            entries
                .iter()
                .find(|e| e.key == k)
                .map(|e| Value::String(e.value.clone()))
                .unwrap_or(Value::Null)
        };
        Ok(GitMetadata {
            user: get("user"),
            root: get("root"),
            branch: get("branch"),
            parent: get("parent"),
            origin: get("origin"),
        })
    }

    /// Each line becomes a log event received now (ClearML's `get_task_log` shows it); the
    /// line as sent, `\n` included, and the client's fields stay in the payload.
    pub(super) async fn log_output(&self, ctx: &RequestContext, r: OutputRequest) -> Result<WriteResponse, Error> {
        let run = self.experiment(ctx, &r.experiment_key).await?;
        let received_us = now_us();
        let events: Vec<NewEvent> = r
            .output_lines
            .iter()
            .map(|line| {
                let mut payload = Map::new();
                payload.insert("msg".into(), json!(line.output.strip_suffix('\n').unwrap_or(&line.output)));
                payload.insert("level".into(), json!(if line.stderr { "error" } else { "info" }));
                payload.insert("timestamp".into(), json!(received_us.div_euclid(1000)));
                payload.insert("metric".into(), json!(""));
                payload.insert("variant".into(), json!(""));
                payload.insert("output".into(), json!(line.output));
                payload.insert("stderr".into(), json!(line.stderr));
                payload.insert("localTimestamp".into(), json!(line.local_timestamp));
                payload.insert("offset".into(), json!(line.offset));
                payload.insert("runContext".into(), json!(r.run_context));
                NewEvent {
                    event_type: LOG_EVENT_TYPE.into(),
                    metric: String::new(),
                    variant: String::new(),
                    iter: None,
                    ts_us: received_us,
                    point_key: None,
                    payload,
                }
            })
            .collect();
        let id = run.id;
        self.call(move |s| s.put_events(id, &events)).await?;
        Ok(written(&run))
    }

    /// Every log line of the run in time order: Comet lines as sent, others (ClearML) with a
    /// newline added.
    pub(super) async fn output(&self, ctx: &RequestContext, key: &str) -> Result<Output, Error> {
        let id = self.experiment(ctx, key).await?.id;
        let items = self
            .call(move |s| {
                let q = TimelineQuery {
                    run_id: id,
                    types: Some(vec![LOG_EVENT_TYPE.to_string()]),
                    descending: false,
                    after: None,
                    limit: i64::MAX,
                };
                s.timeline(&q)
            })
            .await?;
        let mut output = String::new();
        for item in items {
            let TimelineItem::Event(e) = item else { continue };
            match (e.payload.get("output"), e.payload.get("msg")) {
                (Some(Value::String(line)), _) => output.push_str(line),
                (_, Some(Value::String(msg))) => {
                    output.push_str(msg);
                    output.push('\n');
                }
                _ => {}
            }
        }
        Ok(Output { output })
    }
}
