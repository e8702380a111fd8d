//! Metric points: scalars of the run. Comet writes them with source `comet` and the identity
//! (metricName, step, timestamp), or (metricName, step) when the write has no timestamp;
//! reads see the points of every API.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};
use specmill_runtime::protocol::comet::Error;
use specmill_runtime::protocol::RequestContext;
use specmill_runtime::store::{NewScalar, Scalar, ScalarOrder, ScalarQuery};

use super::{now_ms, written, Comet, SOURCE};
use crate::api::display_name;
use crate::generated::comet::types::{MetricList, MetricPoint, MetricRequest, Summary, SummaryList, WriteResponse};

/// A metric value as JSON gives it: a number, a boolean (1/0), or a string that reads as a
/// number (`"0.5"`, `"NaN"`, `"Infinity"`, `"-inf"`, …).
pub fn metric_value(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::Bool(b) => Some(if *b { 1.0 } else { 0.0 }),
        Value::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    }
}

/// A value as Comet reads it back: integral values without a fraction (`3`), others in their
/// shortest form (`0.25`, `1e-7`), and `NaN`, `Infinity`, `-Infinity`.
pub fn value_text(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 { "Infinity" } else { "-Infinity" }.into()
    } else if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        serde_json::Number::from_f64(v)
            .map(|n| n.to_string())
            .unwrap_or_else(|| v.to_string())
    }
}

/// The point key of a Comet metric write: its identity (name, step, timestamp), the
/// timestamp `None` when the write had none but a step.
fn point_key(name: &str, step: Option<i64>, ts_ms: Option<i64>) -> String {
    format!("{SOURCE}|{}", json!([name, step, ts_ms]))
}

fn point(s: &Scalar) -> MetricPoint {
    let extra = |k: &str| s.extra.as_ref().and_then(|m| m.get(k)).cloned().unwrap_or(Value::Null);
    MetricPoint {
        metric_name: display_name(&s.metric, &s.variant),
        metric_value: value_text(s.value),
        timestamp: s.ts_us.div_euclid(1000),
        step: s.step.map(Value::from).unwrap_or(Value::Null),
        epoch: extra("epoch"),
        run_context: extra("runContext"),
        offset: s.id,
    }
}

/// One summary being built: the points holding the highest, lowest and newest value.
struct Extremes<'a> {
    max: &'a Scalar,
    min: &'a Scalar,
    current: &'a Scalar,
}

/// `a` beats `b` as the highest (or, with `lowest`, the lowest) value; NaN never does, and a
/// tie keeps the earlier point.
fn beats(a: f64, b: f64, lowest: bool) -> bool {
    if a.is_nan() {
        return false;
    }
    if b.is_nan() {
        return true;
    }
    if lowest {
        a < b
    } else {
        a > b
    }
}

/// Per metric name (sorted), the summary of `points` (given oldest first).
pub fn summaries(points: &[Scalar]) -> Vec<Summary> {
    let mut by_name: BTreeMap<String, Extremes> = BTreeMap::new();
    for p in points {
        let e = by_name.entry(display_name(&p.metric, &p.variant)).or_insert(Extremes {
            max: p,
            min: p,
            current: p,
        });
        if beats(p.value, e.max.value, false) {
            e.max = p;
        }
        if beats(p.value, e.min.value, true) {
            e.min = p;
        }
        if (p.ts_us, p.id) >= (e.current.ts_us, e.current.id) {
            e.current = p;
        }
    }
    let step = |s: &Scalar| s.step.map(Value::from).unwrap_or(Value::Null);
    by_name
        .into_iter()
        .map(|(name, e)| Summary {
            name,
            value_max: value_text(e.max.value),
            value_min: value_text(e.min.value),
            value_current: value_text(e.current.value),
            timestamp_max: e.max.ts_us.div_euclid(1000),
            timestamp_min: e.min.ts_us.div_euclid(1000),
            timestamp_current: e.current.ts_us.div_euclid(1000),
            step_max: step(e.max),
            step_min: step(e.min),
            step_current: step(e.current),
            editable: false,
        })
        .collect()
}

impl Comet {
    /// Store one point; a write with the same (name, step, timestamp) overwrites it. A write
    /// without a timestamp (comet_ml's `log_metric` sends none unless given) is stamped with
    /// the server's time, and its identity is (name, step): the client retries a 5xx POST,
    /// and the retry of such a write must overwrite the point, not add one at a later time.
    /// With neither step nor timestamp nothing tells a retry from a new value: a new point.
    pub(super) async fn log_metric(&self, ctx: &RequestContext, r: MetricRequest) -> Result<WriteResponse, Error> {
        let raw = serde_json::to_value(&r.metric_value).unwrap_or(Value::Null);
        let value = metric_value(&raw).ok_or_else(|| Error::bad_request(format!("metricValue `{raw}` is not a number")))?;
        let run = self.experiment(ctx, &r.experiment_key).await?;
        let ts_ms = r.timestamp.unwrap_or_else(now_ms);
        let mut extra = Map::new();
        if let Some(epoch) = r.epoch {
            extra.insert("epoch".into(), json!(epoch));
        }
        if let Some(context) = &r.context {
            extra.insert("runContext".into(), json!(context));
        }
        let point = NewScalar {
            point_key: point_key(&r.metric_name, r.step, r.timestamp.or(r.step.is_none().then_some(ts_ms))),
            metric: r.metric_name,
            variant: String::new(),
            step: r.step,
            ts_us: ts_ms.saturating_mul(1000),
            value,
            source: SOURCE.into(),
            extra: (!extra.is_empty()).then_some(extra),
        };
        let id = run.id;
        self.call(move |s| s.put_scalars(id, &[point])).await?;
        Ok(written(&run))
    }

    /// The run's points in time order (then storage order), all or those named `name`.
    async fn points(&self, ctx: &RequestContext, key: &str) -> Result<Vec<Scalar>, Error> {
        let run = self.experiment(ctx, key).await?;
        let q = ScalarQuery {
            order: ScalarOrder::TsAsc,
            ..ScalarQuery::for_run(run.id)
        };
        self.call(move |s| s.scalars(&q)).await
    }

    pub(super) async fn metric_points(&self, ctx: &RequestContext, key: &str, name: Option<String>) -> Result<MetricList, Error> {
        let points = self.points(ctx, key).await?;
        let metrics = points
            .iter()
            .map(point)
            .filter(|p| name.as_ref().is_none_or(|n| &p.metric_name == n))
            .collect();
        Ok(MetricList { metrics })
    }

    pub(super) async fn metrics_summary(&self, ctx: &RequestContext, key: &str) -> Result<SummaryList, Error> {
        let points = self.points(ctx, key).await?;
        Ok(SummaryList {
            values: summaries(&points),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scalar(id: i64, metric: &str, step: Option<i64>, ts_ms: i64, value: f64) -> Scalar {
        Scalar {
            id,
            run_id: 1,
            metric: metric.into(),
            variant: String::new(),
            step,
            ts_us: ts_ms * 1000,
            value,
            source: SOURCE.into(),
            point_key: String::new(),
            extra: None,
        }
    }

    #[test]
    fn values_read_and_print_as_comet_does() {
        assert_eq!(metric_value(&json!(0.5)), Some(0.5));
        assert_eq!(metric_value(&json!("2.5")), Some(2.5));
        assert_eq!(metric_value(&json!(true)), Some(1.0));
        assert!(metric_value(&json!("NaN")).unwrap().is_nan());
        assert_eq!(metric_value(&json!("-Infinity")), Some(f64::NEG_INFINITY));
        assert_eq!(metric_value(&json!("abc")), None);
        assert_eq!(metric_value(&json!([1])), None);
        assert_eq!(metric_value(&Value::Null), None);
        let shown: Vec<String> = [3.0, 0.25, 1e-7, -2.0, 1e20, f64::NAN, f64::INFINITY, f64::NEG_INFINITY]
            .map(value_text)
            .to_vec();
        assert_eq!(shown, ["3", "0.25", "1e-7", "-2", "1e+20", "NaN", "Infinity", "-Infinity"]);
    }

    #[test]
    fn point_keys_are_unambiguous() {
        assert_ne!(point_key("a|1", None, Some(5)), point_key("a", Some(1), Some(5)));
        assert_eq!(point_key("loss", Some(2), Some(7)), "comet|[\"loss\",2,7]");
        // a write with a step and no timestamp: one point per step, apart from timestamped ones
        assert_eq!(point_key("loss", Some(2), None), "comet|[\"loss\",2,null]");
    }

    #[test]
    fn summaries_pick_extremes_and_the_newest() {
        let pts = [
            scalar(1, "loss", Some(0), 1000, 0.9),
            scalar(2, "loss", Some(1), 2000, f64::NAN),
            scalar(3, "loss", Some(2), 3000, 0.1),
            scalar(4, "loss", Some(3), 2500, 0.5),
            scalar(5, "acc", None, 10, 1.0),
        ];
        let s = summaries(&pts);
        assert_eq!(s.iter().map(|x| x.name.as_str()).collect::<Vec<_>>(), ["acc", "loss"]);
        let loss = &s[1];
        assert_eq!(
            (loss.value_max.as_str(), loss.step_max.clone(), loss.timestamp_max),
            ("0.9", json!(0), 1000)
        );
        assert_eq!((loss.value_min.as_str(), loss.step_min.clone()), ("0.1", json!(2)));
        assert_eq!((loss.value_current.as_str(), loss.timestamp_current), ("0.1", 3000));
        assert_eq!(s[0].step_current, Value::Null);
    }
}

/// Properties (issue 10): a value as Comet prints it reads back as itself.
#[cfg(test)]
mod props {
    use super::*;
    use proptest::prelude::*;

    fn same(a: Option<f64>, b: f64) -> bool {
        a.is_some_and(|a| a == b || (a.is_nan() && b.is_nan()))
    }

    proptest! {
        #[test]
        fn printed_values_read_back(v in any::<f64>()) {
            let text = value_text(v);
            prop_assert!(same(metric_value(&Value::String(text.clone())), v), "{} -> {:?}", v, text);
            if v.is_finite() {
                // the JSON number form as well
                prop_assert!(same(metric_value(&serde_json::from_str(&text).unwrap()), v), "{}", text);
            }
        }

        #[test]
        fn any_value_is_read_or_refused(s in "\\PC{0,12}|[0-9eE.+-]{0,12}", n in any::<i64>(), b in any::<bool>()) {
            if let Some(v) = metric_value(&Value::String(s.clone())) {
                prop_assert!(s.trim().parse::<f64>().is_ok_and(|x| x.to_bits() == v.to_bits() || (x.is_nan() && v.is_nan())));
            }
            prop_assert_eq!(metric_value(&json!(n)), Some(n as f64));
            prop_assert_eq!(metric_value(&json!(b)), Some(if b { 1.0 } else { 0.0 }));
            prop_assert_eq!(metric_value(&json!([1])), None);
        }
    }
}
