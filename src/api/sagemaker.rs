//! SageMaker Metrics over the store: a trial component is a run (its name is the run's uid).
//!
//! - `BatchPutMetrics` stores the valid items of a batch and reports the others in
//!   `Errors` (`VALIDATION_ERROR` with the item's index); a problem with the request itself
//!   (more than 10 items, a bad trial component name) refuses it whole with a 400
//!   `ValidationException`. A point's identity is (metric, step, timestamp): re-sending it
//!   overwrites instead of duplicating, so a client's retry never adds points.
//! - `BatchGetMetrics` answers each query on its own: points grouped by step or by time
//!   bucket (`Period`), one statistic per group (`MetricStat`), X values per `XAxisType`,
//!   `Start`/`End` bounding the points on the X axis; `Status` per query.
//!
//! The model's patterns are matched against the whole value here (as the AWS service does),
//! which is stricter than the generated check (matched anywhere, the Smithy rule).

use std::collections::BTreeMap;
use std::sync::LazyLock;

use specmill_runtime::protocol::sagemaker::Error;
use specmill_runtime::protocol::{NativeError, RequestContext, RequestProblem};
use specmill_runtime::store::{NewScalar, Scalar, ScalarOrder, ScalarQuery, Store, StoreError};
use specmill_runtime::validate::{Regex, Violation};
use specmill_runtime::wire::Double;

use super::{blocking, display_name};
use crate::generated::sagemaker::types::{
    BatchGetMetricsRequest, BatchGetMetricsResponse, BatchPutMetricsError, BatchPutMetricsRequest, BatchPutMetricsResponse, MetricQuery,
    MetricQueryResult, MetricQueryResultStatus, MetricStatistic, Period, PutMetricsErrorCode, RawMetricData, XAxisType,
};
use crate::generated::sagemaker::{SageMakerMetricsService, OP_BATCH_GET_METRICS, OP_BATCH_PUT_METRICS};

pub const SOURCE: &str = "sagemaker";

/// Most points one `BatchGetMetrics` query reads; past it the query is `Truncated`.
pub const MAX_QUERY_POINTS: usize = 100_000;

/// Longest `Message` the model allows.
const MAX_MESSAGE: usize = 2048;

/// The model's patterns (`ExperimentEntityName`, `MetricName`, `SageMakerResourceArn`).
pub const TRIAL_COMPONENT_NAME_PATTERN: &str = "^[a-z0-9](-*[a-z0-9]){0,119}";
pub const METRIC_NAME_PATTERN: &str = ".+";
pub const RESOURCE_ARN_PATTERN: &str = r"arn:aws[a-z\-]*:sagemaker:[a-z0-9\-]*:[0-9]{12}:[a-z\-].*/.*";

/// `pattern` as a regex that must match the whole value.
fn full(pattern: &str) -> Regex {
    Regex::new(&format!("^(?:{pattern})$")).expect("the model's patterns compile")
}

static TRIAL_COMPONENT_NAME: LazyLock<Regex> = LazyLock::new(|| full(TRIAL_COMPONENT_NAME_PATTERN));
static METRIC_NAME: LazyLock<Regex> = LazyLock::new(|| full(METRIC_NAME_PATTERN));
static RESOURCE_ARN: LazyLock<Regex> = LazyLock::new(|| full(RESOURCE_ARN_PATTERN));

/// Timestamps a point may carry: 0001-01-01T00:00:00Z up to (not including) 10000-01-01.
const MIN_TIMESTAMP_S: f64 = -62_135_596_800.0;
const END_TIMESTAMP_S: f64 = 253_402_300_800.0;

pub struct SageMakerMetrics {
    store: Store,
}

impl SageMakerMetrics {
    pub fn new(store: Store) -> Self {
        SageMakerMetrics { store }
    }
}

impl SageMakerMetricsService for SageMakerMetrics {
    async fn batch_put_metrics(&self, ctx: &RequestContext, request: BatchPutMetricsRequest) -> Result<BatchPutMetricsResponse, Error> {
        self.put(ctx, request, Vec::new()).await
    }

    /// Violations inside `MetricData[i]` are that item's problem (reported in `Errors`, the
    /// other items stored); any other violation refuses the request.
    async fn batch_put_metrics_invalid(
        &self,
        ctx: &RequestContext,
        request: BatchPutMetricsRequest,
        violations: Vec<Violation>,
    ) -> Result<BatchPutMetricsResponse, Error> {
        self.put(ctx, request, violations).await
    }

    async fn batch_get_metrics(&self, ctx: &RequestContext, request: BatchGetMetricsRequest) -> Result<BatchGetMetricsResponse, Error> {
        self.get(ctx, request, Vec::new()).await
    }

    /// Violations inside `MetricQueries[i]` make that query a `ValidationError`; any other
    /// violation refuses the request.
    async fn batch_get_metrics_invalid(
        &self,
        ctx: &RequestContext,
        request: BatchGetMetricsRequest,
        violations: Vec<Violation>,
    ) -> Result<BatchGetMetricsResponse, Error> {
        self.get(ctx, request, violations).await
    }
}

/// The index `i` of a violation at `<list>[i]` or below it; `None` for the request itself
/// (the list's own length included).
fn item_index(path: &str, list: &str) -> Option<usize> {
    let rest = path.strip_prefix(list)?.strip_prefix('[')?;
    let (digits, after) = rest.split_once(']')?;
    if !(after.is_empty() || after.starts_with('.') || after.starts_with('[')) {
        return None;
    }
    digits.parse().ok()
}

fn violation(path: String, message: impl Into<String>) -> Violation {
    Violation { path, message: message.into() }
}

/// What the generated (match-anywhere) validation does not check: the model's patterns in
/// full, and timestamps a calendar can hold.
fn put_violations(request: &BatchPutMetricsRequest, already: &[Violation]) -> Vec<Violation> {
    let mut out = Vec::new();
    let flagged = |path: &str| already.iter().any(|v| v.path == path);
    let name = &request.trial_component_name;
    if !name.is_empty() && !TRIAL_COMPONENT_NAME.is_match(name) && !flagged("TrialComponentName") {
        out.push(violation(
            "TrialComponentName".into(),
            format!("value does not match the pattern {TRIAL_COMPONENT_NAME_PATTERN} in full (lowercase letters, digits and hyphens)"),
        ));
    }
    for (i, m) in request.metric_data.iter().enumerate() {
        let path = format!("MetricData[{i}].MetricName");
        if !m.metric_name.is_empty() && !METRIC_NAME.is_match(&m.metric_name) && !flagged(&path) {
            out.push(violation(path, format!("value does not match the pattern {METRIC_NAME_PATTERN} in full (no line breaks)")));
        }
        let ts = m.timestamp.0;
        if !(MIN_TIMESTAMP_S..END_TIMESTAMP_S).contains(&ts) {
            out.push(violation(format!("MetricData[{i}].Timestamp"), format!("{ts} is outside the years 1 to 9999")));
        }
    }
    out
}

/// The store's form of one item.
fn new_scalar(m: &RawMetricData) -> NewScalar {
    let ts_us = m.timestamp.as_micros();
    let step = m.step.map(i64::from);
    NewScalar {
        metric: m.metric_name.clone(),
        variant: String::new(),
        step,
        ts_us,
        value: m.value.0,
        source: SOURCE.into(),
        point_key: format!("{SOURCE}|{}|{}|{ts_us}", m.metric_name, step.map(|s| s.to_string()).unwrap_or_default()),
        extra: None,
    }
}

impl SageMakerMetrics {
    /// Store the items without violations in one transaction; report the others.
    async fn put(
        &self,
        ctx: &RequestContext,
        request: BatchPutMetricsRequest,
        mut violations: Vec<Violation>,
    ) -> Result<BatchPutMetricsResponse, Error> {
        let extra = put_violations(&request, &violations);
        violations.extend(extra);
        if violations.iter().any(|v| item_index(&v.path, "MetricData").is_none()) {
            return Err(Error::bad_request(&OP_BATCH_PUT_METRICS, RequestProblem::Invalid(violations)));
        }
        let mut bad: Vec<usize> = violations.iter().filter_map(|v| item_index(&v.path, "MetricData")).collect();
        bad.sort_unstable();
        bad.dedup();
        let points: Vec<NewScalar> =
            request.metric_data.iter().enumerate().filter(|(i, _)| bad.binary_search(i).is_err()).map(|(_, m)| new_scalar(m)).collect();
        if !points.is_empty() {
            let store = self.store.clone();
            let tenant = ctx.tenant.clone();
            let name = request.trial_component_name.clone();
            blocking(move || {
                let run = store.ensure_run(&tenant, &name, SOURCE)?;
                store.put_scalars(run.id, &points)
            })
            .await
            .map_err(Error::from)?;
        }
        let errors: Vec<BatchPutMetricsError> = bad
            .into_iter()
            .map(|i| BatchPutMetricsError { code: Some(PutMetricsErrorCode::ValidationError), metric_index: Some(i as i32) })
            .collect();
        Ok(BatchPutMetricsResponse { errors: (!errors.is_empty()).then_some(errors) })
    }

    async fn get(&self, ctx: &RequestContext, request: BatchGetMetricsRequest, violations: Vec<Violation>) -> Result<BatchGetMetricsResponse, Error> {
        if violations.iter().any(|v| item_index(&v.path, "MetricQueries").is_none()) {
            return Err(Error::bad_request(&OP_BATCH_GET_METRICS, RequestProblem::Invalid(violations)));
        }
        let mut per_query: BTreeMap<usize, Vec<Violation>> = BTreeMap::new();
        for v in violations {
            per_query.entry(item_index(&v.path, "MetricQueries").unwrap_or_default()).or_default().push(v);
        }
        let plans: Vec<Result<Plan, String>> = request
            .metric_queries
            .iter()
            .enumerate()
            .map(|(i, q)| match per_query.get(&i) {
                Some(v) => Err(describe(v)),
                None => Plan::new(i, q),
            })
            .collect();
        let store = self.store.clone();
        let tenant = ctx.tenant.clone();
        let results = blocking(move || {
            Ok(plans
                .into_iter()
                .map(|plan| match plan {
                    Err(message) => result(MetricQueryResultStatus::ValidationError, Some(message), Vec::new()),
                    Ok(plan) => plan.run(&store, &tenant).unwrap_or_else(|e| {
                        tracing::error!(error = %e, "BatchGetMetrics query failed");
                        result(MetricQueryResultStatus::InternalError, Some(format!("The query could not be read: {e}")), Vec::new())
                    }),
                })
                .collect())
        })
        .await
        .map_err(Error::from)?;
        Ok(BatchGetMetricsResponse { metric_query_results: Some(results) })
    }
}

/// Violations in the wording of the 400 `ValidationException`.
fn describe(violations: &[Violation]) -> String {
    violations.iter().map(|x| format!("Value at '{}' failed to satisfy constraint: {}", x.path, x.message)).collect::<Vec<_>>().join("; ")
}

/// `message` cut to the model's 2048 characters.
fn capped(message: String) -> String {
    if message.chars().count() <= MAX_MESSAGE {
        return message;
    }
    let mut out: String = message.chars().take(MAX_MESSAGE - 1).collect();
    out.push('…');
    out
}

fn result(status: MetricQueryResultStatus, message: Option<String>, groups: Vec<(i64, f64)>) -> MetricQueryResult {
    let (x, y): (Vec<i64>, Vec<Double>) = groups.into_iter().map(|(x, y)| (x, Double(y))).unzip();
    MetricQueryResult { status, message: message.map(capped), x_axis_values: x, metric_values: y }
}

/// How points are grouped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Grouping {
    /// One group per step.
    Step,
    /// Buckets of this many seconds, aligned on the epoch.
    Seconds(i64),
}

impl Grouping {
    fn of(period: Period) -> Grouping {
        match period {
            Period::IterationNumber => Grouping::Step,
            Period::OneMinute => Grouping::Seconds(60),
            Period::FiveMinute => Grouping::Seconds(300),
            Period::OneHour => Grouping::Seconds(3600),
        }
    }

    /// The group of a point (its step, or the start of its bucket in epoch seconds).
    fn key(self, s: &Scalar) -> i64 {
        match self {
            Grouping::Step => s.step.unwrap_or_default(),
            Grouping::Seconds(p) => s.ts_us.div_euclid(1_000_000 * p) * p,
        }
    }
}

/// One query, checked and ready to run.
#[derive(Debug, Clone, PartialEq)]
struct Plan {
    trial_component: String,
    metric: String,
    stat: MetricStatistic,
    grouping: Grouping,
    axis: XAxisType,
    start: Option<i64>,
    end: Option<i64>,
}

/// The trial component of an ARN: its last path segment.
fn trial_component_of(arn: &str) -> Result<&str, String> {
    if !RESOURCE_ARN.is_match(arn) {
        return Err(format!("ResourceArn '{arn}' is not a SageMaker ARN (pattern {RESOURCE_ARN_PATTERN}, matched in full)."));
    }
    match arn.rsplit('/').next() {
        Some(name) if !name.is_empty() => Ok(name),
        _ => Err(format!("ResourceArn '{arn}' names no trial component after its last '/'.")),
    }
}

impl Plan {
    fn new(i: usize, q: &MetricQuery) -> Result<Plan, String> {
        let trial_component = trial_component_of(&q.resource_arn).map_err(|m| format!("MetricQueries[{i}]: {m}"))?;
        if !METRIC_NAME.is_match(&q.metric_name) {
            return Err(format!("MetricQueries[{i}]: MetricName does not match the pattern {METRIC_NAME_PATTERN} in full."));
        }
        if let (Some(s), Some(e)) = (q.start, q.end) {
            if s > e {
                return Err(format!("MetricQueries[{i}]: Start ({s}) is after End ({e})."));
            }
        }
        Ok(Plan {
            trial_component: trial_component.to_string(),
            metric: q.metric_name.clone(),
            stat: q.metric_stat,
            grouping: Grouping::of(q.period),
            axis: q.x_axis_type,
            start: q.start,
            end: q.end,
        })
    }

    /// Only points with a step count when steps are the groups or the X axis.
    fn needs_step(&self) -> bool {
        self.grouping == Grouping::Step || self.axis == XAxisType::IterationNumber
    }

    /// The store query for one (metric, variant) that may show as `self.metric`.
    fn scalar_query(&self, run_id: i64, metric: &str, variant: &str) -> ScalarQuery {
        let mut q = ScalarQuery {
            run_id,
            metrics: Some(vec![metric.to_string()]),
            variants: Some(vec![variant.to_string()]),
            order: if self.grouping == Grouping::Step { ScalarOrder::StepAsc } else { ScalarOrder::TsAsc },
            limit: Some(MAX_QUERY_POINTS as i64 + 1),
            ..Default::default()
        };
        match self.axis {
            XAxisType::IterationNumber => {
                q.step_from = self.start;
                q.step_to = self.end;
            }
            XAxisType::Timestamp => {
                q.ts_from_us = self.start.map(|s| s.saturating_mul(1_000_000));
                q.ts_to_us = self.end.map(|e| e.saturating_mul(1_000_000).saturating_add(999_999));
            }
        }
        if self.needs_step() && q.step_from.is_none() {
            // a step bound leaves out the points without a step
            q.step_from = Some(i64::MIN);
        }
        q
    }

    /// The points of the metric (by the name APIs without variants show: `metric` or
    /// `metric/variant`), in group order, at most `MAX_QUERY_POINTS + 1`.
    fn points(&self, store: &Store, run_id: i64) -> Result<Vec<Scalar>, StoreError> {
        let name = self.metric.as_str();
        let mut pairs = vec![(name, ""), (name, name)];
        pairs.extend(name.match_indices('/').map(|(k, _)| (&name[..k], &name[k + 1..])));
        let mut points = Vec::new();
        for (metric, variant) in pairs {
            points.extend(
                store.scalars(&self.scalar_query(run_id, metric, variant))?.into_iter().filter(|s| display_name(&s.metric, &s.variant) == name),
            );
        }
        match self.grouping {
            Grouping::Step => points.sort_by_key(|s| (s.step, s.ts_us, s.id)),
            Grouping::Seconds(_) => points.sort_by_key(|s| (s.ts_us, s.id)),
        }
        points.truncate(MAX_QUERY_POINTS + 1);
        Ok(points)
    }

    fn run(&self, store: &Store, tenant: &str) -> Result<MetricQueryResult, StoreError> {
        let Some(run) = store.run_by_uid(tenant, &self.trial_component)? else {
            return Ok(result(
                MetricQueryResultStatus::ValidationError,
                Some(format!("The trial component '{}' does not exist.", self.trial_component)),
                Vec::new(),
            ));
        };
        let mut points = self.points(store, run.id)?;
        let truncated = points.len() > MAX_QUERY_POINTS;
        if truncated {
            // leave out the group the limit cuts into, so every value returned is exact
            let cut = self.grouping.key(&points[MAX_QUERY_POINTS]);
            points.truncate(MAX_QUERY_POINTS);
            while points.last().is_some_and(|s| self.grouping.key(s) == cut) {
                points.pop();
            }
        }
        let groups = self.groups(&points);
        Ok(if truncated {
            let message = format!(
                "More than {MAX_QUERY_POINTS} points match; the values cover the groups of the first {} of them (in group order). \
                 Narrow Start and End to read the rest.",
                points.len()
            );
            result(MetricQueryResultStatus::Truncated, Some(message), groups)
        } else {
            result(MetricQueryResultStatus::Complete, None, groups)
        })
    }

    /// (X, statistic) per group of `points` (sorted in group order).
    fn groups(&self, points: &[Scalar]) -> Vec<(i64, f64)> {
        points
            .chunk_by(|a, b| self.grouping.key(a) == self.grouping.key(b))
            .map(|group| {
                // the group's latest point (by timestamp, then the one written last)
                let last = group.iter().max_by_key(|s| (s.ts_us, s.id)).expect("groups are not empty");
                let x = match (self.grouping, self.axis) {
                    (Grouping::Step, XAxisType::IterationNumber) => self.grouping.key(last),
                    (Grouping::Seconds(_), XAxisType::Timestamp) => self.grouping.key(last),
                    (Grouping::Step, XAxisType::Timestamp) => last.ts_us.div_euclid(1_000_000),
                    (Grouping::Seconds(_), XAxisType::IterationNumber) => last.step.unwrap_or_default(),
                };
                let values: Vec<f64> = group.iter().map(|s| s.value).collect();
                (x, statistic(self.stat, &values, last.value))
            })
            .collect()
    }
}

/// One statistic of a group's values (`last`: the value of its latest point). NaN
/// propagates through Min, Max, Avg and StdDev; StdDev is the population deviation.
pub fn statistic(stat: MetricStatistic, values: &[f64], last: f64) -> f64 {
    let n = values.len() as f64;
    let any_nan = values.iter().any(|v| v.is_nan());
    let mean = || values.iter().sum::<f64>() / n;
    match stat {
        MetricStatistic::Count => n,
        MetricStatistic::Last => last,
        MetricStatistic::Min if any_nan => f64::NAN,
        MetricStatistic::Max if any_nan => f64::NAN,
        MetricStatistic::Min => values.iter().copied().fold(f64::INFINITY, f64::min),
        MetricStatistic::Max => values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        MetricStatistic::Avg => mean(),
        MetricStatistic::StdDev => {
            let m = mean();
            (values.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / n).sqrt()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_are_the_models() {
        let model: serde_json::Value = serde_json::from_str(include_str!("../../specs/sagemaker/sagemaker-metrics-2022-09-30.json")).unwrap();
        let shapes = &model["shapes"];
        assert_eq!(shapes["ExperimentEntityName"]["pattern"], TRIAL_COMPONENT_NAME_PATTERN);
        assert_eq!(shapes["MetricName"]["pattern"], METRIC_NAME_PATTERN);
        assert_eq!(shapes["SageMakerResourceArn"]["pattern"], RESOURCE_ARN_PATTERN);
    }

    #[test]
    fn names_match_in_full() {
        for ok in ["my-tc-1", "a", "0--9", &"a".repeat(120)] {
            assert!(TRIAL_COMPONENT_NAME.is_match(ok), "{ok}");
        }
        // "my_TC" matches the model's pattern anywhere (its first letter does), not in full
        for bad in ["MY_TC", "my_TC", "my-tc-", "-a", "a b", "a\n", &"a".repeat(121)] {
            assert!(!TRIAL_COMPONENT_NAME.is_match(bad), "{bad}");
        }
        assert!(Regex::new(TRIAL_COMPONENT_NAME_PATTERN).unwrap().is_match("my_TC"));
        assert!(METRIC_NAME.is_match("train/loss ü") && !METRIC_NAME.is_match("a\nb"));
    }

    #[test]
    fn trial_component_is_the_last_path_segment() {
        assert_eq!(trial_component_of("arn:aws:sagemaker:us-east-1:123456789012:experiment-trial-component/my-tc-1"), Ok("my-tc-1"));
        assert_eq!(trial_component_of("arn:aws-cn:sagemaker:cn-north-1:123456789012:experiment-trial-component/a/b"), Ok("b"));
        assert!(trial_component_of("arn:aws:sagemaker:us-east-1:123456789012:experiment-trial-component/").is_err());
        assert!(trial_component_of("arn:aws:s3:::bucket/key").is_err());
        assert!(trial_component_of("x arn:aws:sagemaker:us-east-1:123456789012:experiment-trial-component/a").is_err());
        assert!(trial_component_of("arn:aws:sagemaker:us-east-1:12345:experiment-trial-component/a").is_err());
    }

    #[test]
    fn violation_paths_name_their_item() {
        assert_eq!(item_index("MetricData[3].MetricName", "MetricData"), Some(3));
        assert_eq!(item_index("MetricData[12]", "MetricData"), Some(12));
        assert_eq!(item_index("MetricData", "MetricData"), None);
        assert_eq!(item_index("TrialComponentName", "MetricData"), None);
        assert_eq!(item_index("MetricDataX[1]", "MetricData"), None);
        assert_eq!(item_index("MetricQueries[0].ResourceArn", "MetricQueries"), Some(0));
    }

    #[test]
    fn statistics() {
        let v = [1.0, 3.0, 2.0, 6.0, 4.0];
        assert_eq!(statistic(MetricStatistic::Min, &v, 4.0), 1.0);
        assert_eq!(statistic(MetricStatistic::Max, &v, 4.0), 6.0);
        assert_eq!(statistic(MetricStatistic::Avg, &v, 4.0), 3.2);
        assert_eq!(statistic(MetricStatistic::Count, &v, 4.0), 5.0);
        assert!((statistic(MetricStatistic::StdDev, &v, 4.0) - 2.96f64.sqrt()).abs() < 1e-12);
        assert_eq!(statistic(MetricStatistic::Last, &v, 4.0), 4.0);
        assert_eq!(statistic(MetricStatistic::StdDev, &[5.0], 5.0), 0.0);
        let nan = [1.0, f64::NAN];
        for s in [MetricStatistic::Min, MetricStatistic::Max, MetricStatistic::Avg, MetricStatistic::StdDev] {
            assert!(statistic(s, &nan, 1.0).is_nan(), "{s:?}");
        }
        assert_eq!(statistic(MetricStatistic::Count, &nan, 1.0), 2.0);
        let inf = [1.0, f64::INFINITY];
        assert_eq!(statistic(MetricStatistic::Max, &inf, 1.0), f64::INFINITY);
        assert_eq!(statistic(MetricStatistic::Avg, &inf, 1.0), f64::INFINITY);
        assert!(statistic(MetricStatistic::StdDev, &inf, 1.0).is_nan());
        assert_eq!(statistic(MetricStatistic::Min, &[-0.5, f64::NEG_INFINITY], 0.0), f64::NEG_INFINITY);
    }

    #[test]
    fn buckets_align_on_the_epoch() {
        let at = |ts_us: i64| Scalar {
            id: 0,
            run_id: 0,
            metric: String::new(),
            variant: String::new(),
            step: None,
            ts_us,
            value: 0.0,
            source: String::new(),
            point_key: String::new(),
            extra: None,
        };
        assert_eq!(Grouping::Seconds(60).key(&at(1_704_164_459_999_999)), 1_704_164_400);
        assert_eq!(Grouping::Seconds(300).key(&at(1_704_164_699_000_000)), 1_704_164_400);
        assert_eq!(Grouping::Seconds(3600).key(&at(1_704_167_999_000_000)), 1_704_164_400);
        assert_eq!(Grouping::Seconds(60).key(&at(-1)), -60);
    }
}
