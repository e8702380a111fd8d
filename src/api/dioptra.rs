//! Dioptra job metrics over the store: a job is a run, its job id the run's numeric id.

use chrono::{DateTime, NaiveDateTime, Utc};
use serde_json::json;
use specmill_runtime::protocol::dioptra::Error;
use specmill_runtime::protocol::RequestContext;
use specmill_runtime::store::{now_us, NewScalar, Store};

use super::{blocking, display_name};
use crate::generated::dioptra::types::{
    AppendJobMetricRequest, GetJobLatestMetricsRequest, Metric, MetricValue, MetricValueIn, MetricValueNamed,
};
use crate::generated::dioptra::DioptraService;

pub const SOURCE: &str = "dioptra";

pub struct Dioptra {
    store: Store,
}

impl Dioptra {
    pub fn new(store: Store) -> Self {
        Dioptra { store }
    }
}

/// A metric value as Dioptra accepts it: a number, or a string Python's `float()` reads
/// (`"1.5"`, `"nan"`, `"NaN"`, `"inf"`, `"Infinity"`, `"-inf"`, …).
pub fn parse_value(v: &MetricValueIn) -> Option<f64> {
    match v {
        MetricValueIn::Number(n) => Some(*n),
        MetricValueIn::String(s) => {
            let t = s.trim().replace('_', "");
            match t.to_ascii_lowercase().as_str() {
                "nan" | "+nan" | "-nan" => Some(f64::NAN),
                "inf" | "+inf" | "infinity" | "+infinity" => Some(f64::INFINITY),
                "-inf" | "-infinity" => Some(f64::NEG_INFINITY),
                _ => t.parse::<f64>().ok(),
            }
        }
    }
}

/// How Dioptra writes a value: finite values as numbers, the others as `"nan"`/`"inf"`/`"-inf"`.
pub fn value_out(v: f64) -> MetricValue {
    if v.is_nan() {
        MetricValue::Named(MetricValueNamed::Nan)
    } else if v == f64::INFINITY {
        MetricValue::Named(MetricValueNamed::Inf)
    } else if v == f64::NEG_INFINITY {
        MetricValue::Named(MetricValueNamed::NegInf)
    } else {
        MetricValue::Number(v)
    }
}

/// ISO 8601 with an offset (normalised to UTC); a naive timestamp is taken as UTC.
pub fn parse_timestamp(s: &str) -> Option<i64> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s.trim()) {
        return Some(t.with_timezone(&Utc).timestamp_micros());
    }
    for fmt in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s.trim(), fmt) {
            return Some(t.and_utc().timestamp_micros());
        }
    }
    None
}

impl DioptraService for Dioptra {
    /// Upsert on (job, name, step); 404 when the job does not exist.
    async fn append_job_metric(&self, ctx: &RequestContext, request: AppendJobMetricRequest) -> Result<Metric, Error> {
        let body = request.body;
        let value = parse_value(&body.value).ok_or_else(|| Error::field("value", "Not a valid number."))?;
        let ts_us = match &body.timestamp {
            Some(t) => parse_timestamp(t).ok_or_else(|| Error::field("timestamp", "Not a valid datetime."))?,
            None => now_us(),
        };
        let point = NewScalar {
            metric: body.name.clone(),
            variant: String::new(),
            step: Some(body.step),
            ts_us,
            value,
            source: SOURCE.into(),
            point_key: format!("{SOURCE}|{}|{}", body.name, body.step),
            extra: None,
        };
        let store = self.store.clone();
        let tenant = ctx.tenant.clone();
        let id = request.id;
        let found = blocking(move || match store.run_by_id(&tenant, id)? {
            Some(run) => store.put_scalars(run.id, &[point]).map(|_| true),
            None => Ok(false),
        })
        .await
        .map_err(|_| Error::internal())?;
        if !found {
            return Err(Error::not_found("job", "job_id", json!(id)));
        }
        Ok(Metric { name: body.name, value: value_out(value) })
    }

    /// The value at the highest step of each metric name (an unknown job: `[]`).
    async fn get_job_latest_metrics(&self, ctx: &RequestContext, request: GetJobLatestMetricsRequest) -> Result<Vec<Metric>, Error> {
        let store = self.store.clone();
        let tenant = ctx.tenant.clone();
        let rows = blocking(move || match store.run_by_id(&tenant, request.id)? {
            Some(run) => store.latest_scalars(run.id),
            None => Ok(Vec::new()),
        })
        .await
        .map_err(|_| Error::internal())?;
        Ok(rows.into_iter().map(|s| Metric { name: display_name(&s.metric, &s.variant), value: value_out(s.value) }).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_and_timestamps() {
        assert!(parse_value(&MetricValueIn::String("NaN".into())).unwrap().is_nan());
        assert_eq!(parse_value(&MetricValueIn::String("-Infinity".into())), Some(f64::NEG_INFINITY));
        assert_eq!(parse_value(&MetricValueIn::String(" 1.5 ".into())), Some(1.5));
        assert_eq!(parse_value(&MetricValueIn::String("abc".into())), None);
        assert_eq!(parse_timestamp("2024-01-15T10:30:00+02:00"), parse_timestamp("2024-01-15T08:30:00Z"));
        assert_eq!(parse_timestamp("2024-01-15T08:30:00"), parse_timestamp("2024-01-15T08:30:00+00:00"));
        assert_eq!(parse_timestamp("yesterday"), None);
    }
}
