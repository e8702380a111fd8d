//! SageMaker Metrics over HTTP, on SQLite and PostgreSQL: BatchPutMetrics' per-item and
//! request-level errors, re-sends, BatchGetMetrics' statistics, periods, X axes, bounds and
//! per-query statuses, and SigV4 authentication on a server with credentials. Well-formed
//! requests go through the typed client (`specmill-client`); malformed bytes and hand-made
//! signatures go over raw HTTP.

mod common;

use common::{block_on, now_s, signed, typed, untyped, Backend, Reply, Server};
use serde_json::{json, Value};
use specmill_client::sagemaker::types as sm;
use specmill_client::{AwsError, Client, Error};
use specmill_runtime::sigv4;
use specmill_runtime::store::{NewScalar, ScalarQuery};

both_backends! {
    put_reports_bad_items_and_stores_the_rest => put_reports_bad_items_and_stores_the_rest;
    put_refuses_request_level_violations => put_refuses_request_level_violations;
    resending_never_duplicates => resending_never_duplicates;
    get_statistics_and_periods => get_statistics_and_periods;
    get_axes_bounds_and_steps => get_axes_bounds_and_steps;
    get_statuses_per_query => get_statuses_per_query;
    get_reads_other_apis_and_non_finite_values => get_reads_other_apis_and_non_finite_values;
    get_truncates_past_the_point_limit => get_truncates_past_the_point_limit;
}

/// 2024-01-02T03:00:00Z: a multiple of 60, 300 and 3600 seconds.
const T: i64 = 1_704_164_400;
const ARN: &str = "arn:aws:sagemaker:us-east-1:123456789012:experiment-trial-component/";

/// Raw HTTP, for the replies' headers and for bodies the model does not allow.
fn put(s: &Server, tc: &str, items: Value) -> Reply {
    s.json("PUT", "/BatchPutMetrics", json!({"TrialComponentName": tc, "MetricData": items}))
}

fn put_request(tc: &str, items: Value) -> sm::BatchPutMetricsRequest {
    typed(json!({"TrialComponentName": tc, "MetricData": items}))
}

/// BatchPutMetrics through the typed client.
fn put_typed(client: &Client, tc: &str, items: Value) -> Result<sm::BatchPutMetricsResponse, Error> {
    block_on(client.sage_maker_metrics().batch_put_metrics(&put_request(tc, items)))
}

/// A BatchPutMetrics the server takes (through the typed client).
fn put_ok(s: &Server, tc: &str, items: Value) -> sm::BatchPutMetricsResponse {
    put_typed(&s.client(), tc, items).unwrap_or_else(|e| panic!("BatchPutMetrics {tc}: {e}"))
}

fn get(s: &Server, queries: Value) -> Reply {
    s.json("POST", "/BatchGetMetrics", json!({ "MetricQueries": queries }))
}

fn q(tc: &str, metric: &str, stat: &str, period: &str, axis: &str) -> Value {
    json!({"MetricName": metric, "ResourceArn": format!("{ARN}{tc}"), "MetricStat": stat, "Period": period, "XAxisType": axis})
}

/// BatchGetMetrics through the typed client.
fn get_typed(client: &Client, queries: Value) -> Result<sm::BatchGetMetricsResponse, Error> {
    block_on(client.sage_maker_metrics().batch_get_metrics(&typed(json!({ "MetricQueries": queries }))))
}

/// The one result of a one-query request (typed client), as JSON.
fn one(s: &Server, query: Value) -> Value {
    let r = get_typed(&s.client(), json!([query])).unwrap_or_else(|e| panic!("BatchGetMetrics: {e}"));
    let results = r.metric_query_results.unwrap_or_default();
    assert_eq!(results.len(), 1, "{results:?}");
    untyped(&results[0])
}

/// (X values, metric values) of a complete result.
fn series(result: &Value) -> (Vec<i64>, Vec<Value>) {
    assert_eq!(result["Status"], "Complete", "{result}");
    assert!(result.get("Message").is_none(), "{result}");
    let x = result["XAxisValues"].as_array().unwrap().iter().map(|v| v.as_i64().unwrap()).collect();
    (x, result["MetricValues"].as_array().unwrap().clone())
}

fn floats(values: &[Value]) -> Vec<f64> {
    values.iter().map(|v| v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))).collect()
}

fn assert_close(got: &[f64], want: &[f64]) {
    assert_eq!(got.len(), want.len(), "{got:?} vs {want:?}");
    for (g, w) in got.iter().zip(want) {
        assert!((g - w).abs() < 1e-9, "{got:?} vs {want:?}");
    }
}

fn assert_validation_exception(r: &Reply, needle: &str) {
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(r.header("x-amzn-ErrorType"), Some("ValidationException"));
    assert!(r.header("x-amzn-RequestId").is_some_and(|id| !id.is_empty()));
    assert!(r.header("content-type").unwrap().starts_with("application/json"));
    let v = r.json();
    assert_eq!(v["__type"], "ValidationException");
    assert!(v["message"].as_str().unwrap().contains(needle), "{needle:?} not in {v}");
}

fn count(s: &Server, tc: &str) -> usize {
    let store = s.store();
    match store.run_by_uid("default", tc).unwrap() {
        Some(run) => store.scalars(&ScalarQuery::for_run(run.id)).unwrap().len(),
        None => 0,
    }
}

fn put_reports_bad_items_and_stores_the_rest(s: &Server) {
    let items = json!([
        {"MetricName": "ok", "Timestamp": T, "Step": 0, "Value": 1},
        {"MetricName": "neg", "Timestamp": T, "Step": -1, "Value": 1},
        {"MetricName": "ok", "Timestamp": T + 1, "Step": 1, "Value": 2},
        {"MetricName": "x".repeat(256), "Timestamp": T, "Value": 1},
        {"MetricName": "a\nb", "Timestamp": T, "Value": 1},
        {"MetricName": "far", "Timestamp": 1e13, "Value": 1},
        {"MetricName": "", "Timestamp": T, "Value": 1},
        {"MetricName": "ok", "Timestamp": T + 2, "Value": "Infinity"},
    ]);
    let r = put_ok(s, "items-tc", items.clone());
    let errors: Vec<(Option<sm::PutMetricsErrorCode>, Option<i32>)> = r.errors.unwrap_or_default().into_iter().map(|e| (e.code, e.metric_index)).collect();
    let want: Vec<(Option<sm::PutMetricsErrorCode>, Option<i32>)> = [1, 3, 4, 5, 6].iter().map(|i| (Some(sm::PutMetricsErrorCode::ValidationError), Some(*i))).collect();
    assert_eq!(errors, want);
    assert!(put(s, "items-tc", items).header("x-amzn-RequestId").is_some());
    let store = s.store();
    let run = store.run_by_uid("default", "items-tc").unwrap().unwrap();
    let stored: Vec<(String, Option<i64>, f64)> =
        store.scalars(&ScalarQuery::for_run(run.id)).unwrap().into_iter().map(|p| (p.metric, p.step, p.value)).collect();
    assert_eq!(stored, vec![("ok".into(), None, f64::INFINITY), ("ok".into(), Some(0), 1.0), ("ok".into(), Some(1), 2.0)]);

    // A batch whose every item is bad stores nothing and creates no run.
    let r = put_ok(s, "all-bad", json!([{"MetricName": "m", "Timestamp": T, "Step": -5, "Value": 1}]));
    assert_eq!(untyped(&r), json!({"Errors": [{"Code": "VALIDATION_ERROR", "MetricIndex": 0}]}));
    assert!(s.store().run_by_uid("default", "all-bad").unwrap().is_none());
    // No errors: no Errors member.
    let r = put(s, "items-tc", json!([{"MetricName": "ok", "Timestamp": T + 3, "Value": 3}]));
    assert_eq!((r.status, r.json()), (200, json!({})));
    assert_eq!(put_ok(s, "items-tc", json!([{"MetricName": "ok", "Timestamp": T + 3, "Value": 3}])).errors, None);
}

fn put_refuses_request_level_violations(s: &Server) {
    let item = json!({"MetricName": "m", "Timestamp": T, "Value": 1});
    let eleven: Vec<Value> = (0..11).map(|i| json!({"MetricName": "m", "Timestamp": T, "Step": i, "Value": 1})).collect();
    assert_validation_exception(
        &put(s, "tc-11", json!(eleven)),
        "Value at 'MetricData' failed to satisfy constraint: 11 items is more than the maximum 10",
    );
    // The typed client sends what the model's types can hold and decodes the refusal.
    match put_typed(&s.client(), "tc-11", json!(eleven)) {
        Err(Error::Aws(AwsError { status: 400, code, message })) => {
            assert_eq!(code, "ValidationException");
            assert!(message.contains("11 items is more than the maximum 10"), "{message}");
        }
        other => panic!("not a ValidationException: {other:?}"),
    }
    assert_validation_exception(&put(s, "tc-0", json!([])), "MetricData");
    // The model's pattern, matched in full: upper case anywhere, underscores, a trailing hyphen.
    for name in ["MY_TC", "my_TC", "my-tc-", "tc name", "Tc"] {
        assert_validation_exception(&put(s, name, json!([item])), "TrialComponentName");
    }
    assert_validation_exception(&put(s, &"a".repeat(121), json!([item])), "length 121 is more than the maximum 120");
    // A bad name beside a bad item: the whole request is refused, both are named.
    let r = put(s, "BAD", json!([item, {"MetricName": "m", "Timestamp": T, "Step": -1, "Value": 1}]));
    assert_validation_exception(&r, "MetricData[1].Step");
    assert!(r.json()["message"].as_str().unwrap().contains("TrialComponentName"));
    // Bodies that do not decode.
    let r = s.send("PUT", "/BatchPutMetrics", "application/json", "{not json");
    assert_eq!((r.status, r.header("x-amzn-ErrorType")), (400, Some("ValidationException")));
    assert_validation_exception(&put(s, "tc-v", json!([{"MetricName": "m", "Timestamp": T}])), "Value");
    assert_validation_exception(&put(s, "tc-v", json!([{"MetricName": "m", "Timestamp": T, "Value": "abc"}])), "abc");
    assert_validation_exception(&put(s, "tc-v", json!([{"MetricName": "m", "Timestamp": "notatime", "Value": 1}])), "");
    // Nothing was stored by any of them.
    for tc in ["tc-11", "tc-0", "my_TC", "BAD", "tc-v"] {
        assert!(s.store().run_by_uid("default", tc).unwrap().is_none(), "{tc}");
    }
    // The lowercase names the pattern allows.
    for name in ["a", "my-tc-1", "x--y", "0abc"] {
        assert_eq!(put(s, name, json!([item])).status, 200, "{name}");
    }
}

fn resending_never_duplicates(s: &Server) {
    let batch = json!([
        {"MetricName": "loss", "Timestamp": T as f64 + 0.25, "Step": 0, "Value": 0.5},
        {"MetricName": "loss", "Timestamp": T + 1, "Step": 1, "Value": 0.25},
        {"MetricName": "acc", "Timestamp": T + 1, "Value": 0.9},
    ]);
    for _ in 0..3 {
        assert_eq!(put_ok(s, "retry-tc", batch.clone()).errors, None);
    }
    assert_eq!(count(s, "retry-tc"), 3);
    // The same (name, step, timestamp) with a new value overwrites; another timestamp is a new point.
    put_ok(s, "retry-tc", json!([{"MetricName": "loss", "Timestamp": T + 1, "Step": 1, "Value": 0.125}]));
    put_ok(s, "retry-tc", json!([{"MetricName": "loss", "Timestamp": T + 2, "Step": 1, "Value": 0.3}]));
    assert_eq!(count(s, "retry-tc"), 4);
    let r = one(s, q("retry-tc", "loss", "Count", "IterationNumber", "IterationNumber"));
    assert_eq!(series(&r), (vec![0, 1], vec![json!(1.0), json!(2.0)]));
    let r = one(s, q("retry-tc", "loss", "Min", "IterationNumber", "IterationNumber"));
    assert_eq!(series(&r).1, vec![json!(0.5), json!(0.125)]);
}

/// The data set the statistics tests read (metric `m`): (step, seconds after T, value).
const POINTS: &[(i64, i64, f64)] = &[(0, 0, 1.0), (0, 10, 3.0), (1, 30, 2.0), (1, 70, 6.0), (2, 130, 4.0), (3, 400, 8.0), (4, 3700, 10.0)];

fn put_dataset(s: &Server, tc: &str) {
    let items: Vec<Value> = POINTS.iter().map(|(step, off, v)| json!({"MetricName": "m", "Timestamp": T + off, "Step": step, "Value": v})).collect();
    assert_eq!(put_ok(s, tc, json!(items)).errors, None);
}

fn get_statistics_and_periods(s: &Server) {
    put_dataset(s, "stats-tc");
    let check = |stat: &str, period: &str, axis: &str, x: &[i64], want: &[f64]| {
        let r = one(s, q("stats-tc", "m", stat, period, axis));
        let (gx, gv) = series(&r);
        assert_eq!(gx, x, "{stat} {period} {axis}");
        assert_close(&floats(&gv), want);
    };
    // One group per step: 0:[1,3] 1:[2,6] 2:[4] 3:[8] 4:[10].
    let steps = [0, 1, 2, 3, 4];
    check("Min", "IterationNumber", "IterationNumber", &steps, &[1.0, 2.0, 4.0, 8.0, 10.0]);
    check("Max", "IterationNumber", "IterationNumber", &steps, &[3.0, 6.0, 4.0, 8.0, 10.0]);
    check("Avg", "IterationNumber", "IterationNumber", &steps, &[2.0, 4.0, 4.0, 8.0, 10.0]);
    check("Count", "IterationNumber", "IterationNumber", &steps, &[2.0, 2.0, 1.0, 1.0, 1.0]);
    check("StdDev", "IterationNumber", "IterationNumber", &steps, &[1.0, 2.0, 0.0, 0.0, 0.0]);
    check("Last", "IterationNumber", "IterationNumber", &steps, &[3.0, 6.0, 4.0, 8.0, 10.0]);
    // Minutes: [T,T+60):1,3,2  [T+60):6  [T+120):4  [T+360):8  [T+3660):10.
    let minutes = [T, T + 60, T + 120, T + 360, T + 3660];
    check("Min", "OneMinute", "Timestamp", &minutes, &[1.0, 6.0, 4.0, 8.0, 10.0]);
    check("Max", "OneMinute", "Timestamp", &minutes, &[3.0, 6.0, 4.0, 8.0, 10.0]);
    check("Avg", "OneMinute", "Timestamp", &minutes, &[2.0, 6.0, 4.0, 8.0, 10.0]);
    check("Count", "OneMinute", "Timestamp", &minutes, &[3.0, 1.0, 1.0, 1.0, 1.0]);
    check("StdDev", "OneMinute", "Timestamp", &minutes, &[(2.0f64 / 3.0).sqrt(), 0.0, 0.0, 0.0, 0.0]);
    check("Last", "OneMinute", "Timestamp", &minutes, &[2.0, 6.0, 4.0, 8.0, 10.0]);
    // Five minutes: [T,T+300):1,3,2,6,4  [T+300):8  [T+3600):10.
    let fives = [T, T + 300, T + 3600];
    check("Min", "FiveMinute", "Timestamp", &fives, &[1.0, 8.0, 10.0]);
    check("Max", "FiveMinute", "Timestamp", &fives, &[6.0, 8.0, 10.0]);
    check("Avg", "FiveMinute", "Timestamp", &fives, &[3.2, 8.0, 10.0]);
    check("Count", "FiveMinute", "Timestamp", &fives, &[5.0, 1.0, 1.0]);
    check("StdDev", "FiveMinute", "Timestamp", &fives, &[2.96f64.sqrt(), 0.0, 0.0]);
    check("Last", "FiveMinute", "Timestamp", &fives, &[4.0, 8.0, 10.0]);
    // Hours: [T,T+3600):1,3,2,6,4,8  [T+3600):10.
    let hours = [T, T + 3600];
    check("Min", "OneHour", "Timestamp", &hours, &[1.0, 10.0]);
    check("Max", "OneHour", "Timestamp", &hours, &[8.0, 10.0]);
    check("Avg", "OneHour", "Timestamp", &hours, &[4.0, 10.0]);
    check("Count", "OneHour", "Timestamp", &hours, &[6.0, 1.0]);
    check("StdDev", "OneHour", "Timestamp", &hours, &[(34.0f64 / 6.0).sqrt(), 0.0]);
    check("Last", "OneHour", "Timestamp", &hours, &[8.0, 10.0]);
    // Several queries in one request come back in request order.
    let r = get_typed(&s.client(), json!([q("stats-tc", "m", "Count", "OneHour", "Timestamp"), q("stats-tc", "m", "Max", "IterationNumber", "IterationNumber")]));
    let results = untyped(&r.unwrap().metric_query_results);
    assert_eq!(series(&results[0]).0, hours);
    assert_eq!(series(&results[1]).0, steps);
}

fn get_axes_bounds_and_steps(s: &Server) {
    put_dataset(s, "axes-tc");
    // Steps on a time axis: X is the timestamp (whole seconds) of each step's latest point.
    let r = one(s, q("axes-tc", "m", "Avg", "IterationNumber", "Timestamp"));
    assert_eq!(series(&r).0, vec![T + 10, T + 70, T + 130, T + 400, T + 3700]);
    assert_close(&floats(&series(&r).1), &[2.0, 4.0, 4.0, 8.0, 10.0]);
    // Time buckets on an iteration axis: X is the step of each bucket's latest point.
    let r = one(s, q("axes-tc", "m", "Count", "OneMinute", "IterationNumber"));
    assert_eq!(series(&r), (vec![1, 1, 2, 3, 4], vec![json!(3.0), json!(1.0), json!(1.0), json!(1.0), json!(1.0)]));

    // Start/End bound the points on the X axis, inclusive: steps here...
    let mut bounded = q("axes-tc", "m", "Max", "IterationNumber", "IterationNumber");
    bounded["Start"] = json!(1);
    bounded["End"] = json!(3);
    assert_eq!(series(&one(s, bounded.clone())), (vec![1, 2, 3], vec![json!(6.0), json!(4.0), json!(8.0)]));
    bounded["End"] = json!(1);
    assert_eq!(series(&one(s, bounded.clone())).0, vec![1]);
    bounded.as_object_mut().unwrap().remove("End");
    assert_eq!(series(&one(s, bounded)).0, vec![1, 2, 3, 4]);
    // ...epoch seconds on a time axis (a point at T+70 is in [T+60, T+400]; buckets keep their start).
    let mut bounded = q("axes-tc", "m", "Count", "FiveMinute", "Timestamp");
    bounded["Start"] = json!(T + 60);
    bounded["End"] = json!(T + 400);
    assert_eq!(series(&one(s, bounded.clone())), (vec![T, T + 300], vec![json!(2.0), json!(1.0)]));
    // A Timestamp bound on step groups bounds the points' timestamps.
    bounded["Period"] = json!("IterationNumber");
    assert_eq!(series(&one(s, bounded)).0, vec![T + 70, T + 130, T + 400]);
    // Fractional timestamps count by their whole second.
    put_ok(s, "axes-tc", json!([{"MetricName": "frac", "Timestamp": T as f64 + 59.9, "Step": 7, "Value": 1}]));
    let mut frac = q("axes-tc", "frac", "Last", "IterationNumber", "Timestamp");
    assert_eq!(series(&one(s, frac.clone())).0, vec![T + 59]);
    frac["Start"] = json!(T + 59);
    frac["End"] = json!(T + 59);
    assert_eq!(series(&one(s, frac.clone())).0, vec![T + 59]);
    frac["Start"] = json!(T + 60);
    frac["End"] = json!(T + 100);
    assert_eq!(series(&one(s, frac)).0, Vec::<i64>::new());

    // Points without a step count in time buckets on a time axis only.
    put_ok(s, "axes-tc", json!([{"MetricName": "m2", "Timestamp": T + 5, "Value": 7}, {"MetricName": "m2", "Timestamp": T + 6, "Step": 0, "Value": 1}]));
    assert_eq!(series(&one(s, q("axes-tc", "m2", "Count", "IterationNumber", "IterationNumber"))), (vec![0], vec![json!(1.0)]));
    assert_eq!(series(&one(s, q("axes-tc", "m2", "Count", "OneMinute", "Timestamp"))), (vec![T], vec![json!(2.0)]));
    assert_eq!(series(&one(s, q("axes-tc", "m2", "Count", "OneMinute", "IterationNumber"))), (vec![0], vec![json!(1.0)]));
    assert_eq!(series(&one(s, q("axes-tc", "m2", "Avg", "IterationNumber", "Timestamp"))), (vec![T + 6], vec![json!(1.0)]));
    // An unknown metric of a known trial component: complete and empty.
    assert_eq!(series(&one(s, q("axes-tc", "nope", "Avg", "OneHour", "Timestamp"))), (vec![], vec![]));
}

fn get_statuses_per_query(s: &Server) {
    put_dataset(s, "status-tc");
    let good = q("status-tc", "m", "Count", "OneHour", "Timestamp");
    let mut unknown = q("no-such-tc", "m", "Count", "OneHour", "Timestamp");
    let mut bad_arn = good.clone();
    bad_arn["ResourceArn"] = json!("arn:aws:s3:::bucket/status-tc");
    let mut no_name = good.clone();
    no_name["ResourceArn"] = json!(ARN);
    let mut prefixed = good.clone();
    prefixed["ResourceArn"] = json!(format!("see {ARN}status-tc"));
    let mut backwards = good.clone();
    backwards["Start"] = json!(T + 10);
    backwards["End"] = json!(T);
    let mut long_name = good.clone();
    long_name["MetricName"] = json!("m".repeat(256));
    unknown["MetricName"] = json!("m");
    let r = get(s, json!([good, unknown, bad_arn, no_name, prefixed, backwards, long_name]));
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.header("x-amzn-RequestId").is_some());
    let results = r.json()["MetricQueryResults"].as_array().unwrap().clone();
    assert_eq!(results.len(), 7);
    assert_eq!(series(&results[0]).0, vec![T, T + 3600]);
    let expect = [
        (1, "The trial component 'no-such-tc' does not exist."),
        (2, "Value at 'MetricQueries[2].ResourceArn' failed to satisfy constraint: value does not match the pattern"),
        (3, "names no trial component"),
        // matches the model's pattern somewhere, not in full
        (4, "is not a SageMaker ARN (pattern"),
        (5, "Start (1704164410) is after End (1704164400)"),
        (6, "Value at 'MetricQueries[6].MetricName' failed to satisfy constraint: length 256 is more than the maximum 255"),
    ];
    for (i, needle) in expect {
        let r = &results[i];
        assert_eq!(r["Status"], "ValidationError", "{i}: {r}");
        assert!(r["Message"].as_str().unwrap().contains(needle), "{i}: {needle:?} not in {r}");
        assert_eq!((r["XAxisValues"].clone(), r["MetricValues"].clone()), (json!([]), json!([])), "{i}");
    }
    // Request-level problems are a ValidationException.
    let many: Vec<Value> = (0..101).map(|_| q("status-tc", "m", "Count", "OneHour", "Timestamp")).collect();
    assert_validation_exception(&get(s, json!(many)), "101 items is more than the maximum 100");
    assert_validation_exception(&get(s, json!([])), "MetricQueries");
    let mut median = q("status-tc", "m", "Count", "OneHour", "Timestamp");
    median["MetricStat"] = json!("Median");
    assert_validation_exception(&get(s, json!([median])), "Median");
    let mut weird = q("status-tc", "m", "Count", "OneHour", "Timestamp");
    weird["XAxisType"] = json!("WallTime");
    assert_validation_exception(&get(s, json!([weird])), "WallTime");
}

fn get_reads_other_apis_and_non_finite_values(s: &Server) {
    // NaN and the infinities travel as "NaN", "Infinity", "-Infinity" both ways.
    let items = json!([
        {"MetricName": "special", "Timestamp": T, "Step": 0, "Value": "NaN"},
        {"MetricName": "special", "Timestamp": T + 1, "Step": 1, "Value": "Infinity"},
        {"MetricName": "special", "Timestamp": T + 2, "Step": 2, "Value": "-Infinity"},
        {"MetricName": "special", "Timestamp": T + 3, "Step": 2, "Value": 5},
        {"MetricName": "special", "Timestamp": T + 4, "Step": 3, "Value": -0.0},
    ]);
    assert_eq!(put_ok(s, "nan-tc", items).errors, None);
    let r = one(s, q("nan-tc", "special", "Last", "IterationNumber", "IterationNumber"));
    assert_eq!(series(&r), (vec![0, 1, 2, 3], vec![json!("NaN"), json!("Infinity"), json!(5.0), json!(-0.0)]));
    let r = one(s, q("nan-tc", "special", "Min", "IterationNumber", "IterationNumber"));
    assert_eq!(series(&r).1, vec![json!("NaN"), json!("Infinity"), json!("-Infinity"), json!(-0.0)]);
    let r = one(s, q("nan-tc", "special", "Avg", "OneHour", "Timestamp"));
    assert_eq!(series(&r).1, vec![json!("NaN")]);
    let r = one(s, q("nan-tc", "special", "Count", "OneHour", "Timestamp"));
    assert_eq!(series(&r).1, vec![json!(5.0)]);

    // A metric written with a variant (ClearML) reads as `metric/variant`; the same run is
    // the trial component.
    let store = s.store();
    let run = store.ensure_run("default", "clearml-task", "clearml").unwrap();
    let point = |metric: &str, variant: &str, step: i64, value: f64| NewScalar {
        metric: metric.into(),
        variant: variant.into(),
        step: Some(step),
        ts_us: T * 1_000_000 + step,
        value,
        source: "clearml".into(),
        point_key: format!("{metric}|{variant}|{step}"),
        extra: None,
    };
    store
        .put_scalars(
            run.id,
            &[
                point("loss", "train", 0, 1.0),
                point("loss", "train", 1, 0.5),
                point("loss", "val", 0, 9.0),
                point("a/b", "", 0, 3.0),
                point("acc", "acc", 0, 0.7),
            ],
        )
        .unwrap();
    let read = |name: &str| series(&one(s, q("clearml-task", name, "Last", "IterationNumber", "IterationNumber")));
    assert_eq!(read("loss/train"), (vec![0, 1], vec![json!(1.0), json!(0.5)]));
    assert_eq!(read("loss/val"), (vec![0], vec![json!(9.0)]));
    assert_eq!(read("loss"), (vec![], vec![]));
    assert_eq!(read("a/b"), (vec![0], vec![json!(3.0)]));
    assert_eq!(read("acc"), (vec![0], vec![json!(0.7)]));
}

fn get_truncates_past_the_point_limit(s: &Server) {
    const LIMIT: i64 = 100_000;
    let store = s.store();
    let run = store.ensure_run("default", "big-tc", "sagemaker").unwrap();
    // One point per millisecond from T: steps 0..=LIMIT, 60 000 in the first minute.
    let points: Vec<NewScalar> = (0..=LIMIT)
        .map(|i| NewScalar {
            metric: "big".into(),
            variant: String::new(),
            step: Some(i),
            ts_us: T * 1_000_000 + i * 1000,
            value: i as f64,
            source: "sagemaker".into(),
            point_key: format!("big|{i}"),
            extra: None,
        })
        .collect();
    store.put_scalars(run.id, &points).unwrap();
    let r = one(s, q("big-tc", "big", "Last", "IterationNumber", "IterationNumber"));
    assert_eq!(r["Status"], "Truncated", "{}", r["Message"]);
    assert!(r["Message"].as_str().unwrap().contains("More than 100000 points match"));
    let x = r["XAxisValues"].as_array().unwrap();
    assert_eq!((x.len(), x.last().unwrap().as_i64()), (LIMIT as usize, Some(LIMIT - 1)));
    // The minute the limit cuts into is left out: only whole groups come back.
    let r = one(s, q("big-tc", "big", "Count", "OneMinute", "Timestamp"));
    assert_eq!(r["Status"], "Truncated");
    assert_eq!((r["XAxisValues"].clone(), r["MetricValues"].clone()), (json!([T]), json!([60000.0])));
    // Bounds below the limit: complete.
    let mut rest = q("big-tc", "big", "Count", "OneMinute", "Timestamp");
    rest["Start"] = json!(T + 60);
    assert_eq!(series(&one(s, rest)), (vec![T + 60], vec![json!(40001.0)]));
    let mut rest = q("big-tc", "big", "Max", "IterationNumber", "IterationNumber");
    rest["Start"] = json!(1);
    let r = one(s, rest);
    assert_eq!(r["Status"], "Complete");
    assert_eq!(r["MetricValues"].as_array().unwrap().last(), Some(&json!(LIMIT as f64)));
}

// ---- SigV4 on a server with credentials ----

const AUTH_CONFIG: &str = r#"
[[tenant]]
name = "acme"
[[tenant.aws]]
access_key_id = "AKIAACME000000000001"
secret_access_key = "acme/secret/key"
[[tenant]]
name = "globex"
[[tenant.aws]]
access_key_id = "AKIAGLOBEX0000000001"
secret_access_key = "globex-secret"
[[tenant.clearml]]
access_key = "CLEARML-KEY"
secret_key = "CLEARML-SECRET"
"#;

const ACME: (&str, &str) = ("AKIAACME000000000001", "acme/secret/key");
const GLOBEX: (&str, &str) = ("AKIAGLOBEX0000000001", "globex-secret");

fn assert_refused(r: &Reply, code: &str, needle: &str) {
    assert_eq!(r.status, 403, "{}", r.text);
    assert_eq!(r.header("x-amzn-ErrorType"), Some(code));
    assert!(r.header("x-amzn-RequestId").is_some_and(|id| !id.is_empty()));
    let v = r.json();
    assert_eq!(v["__type"], code);
    assert!(v["message"].as_str().unwrap().contains(needle), "{needle:?} not in {v}");
}

fn sigv4_on_a_configured_server(backend: Backend) {
    let Some(s) = Server::start_with_config(backend, AUTH_CONFIG) else { return };
    let body =
        json!({"TrialComponentName": "signed-tc", "MetricData": [{"MetricName": "loss", "Timestamp": T, "Step": 0, "Value": 0.5}]}).to_string();
    let put = |key, skew, tamper| signed(&s, "PUT", "/BatchPutMetrics", &body, key, skew, tamper);

    assert_refused(&put(None, 0, None), "MissingAuthenticationTokenException", "Missing Authentication Token");
    assert_refused(&put(Some(("AKIAUNKNOWN", "x")), 0, None), "UnrecognizedClientException", "security token");
    assert_refused(&put(Some((ACME.0, "wrong")), 0, None), "InvalidSignatureException", "does not match");
    assert_refused(&put(Some(ACME), -20 * 60, None), "InvalidSignatureException", "Signature expired");
    assert_refused(&put(Some(ACME), 20 * 60, None), "InvalidSignatureException", "not yet current");
    let tampered = body.replace("0.5", "0.6");
    assert_refused(&put(Some(ACME), 0, Some(&tampered)), "InvalidSignatureException", "does not match");
    // ClearML credentials are no AWS signature.
    let r = s.json_with(
        "PUT",
        "/BatchPutMetrics",
        &[("Authorization", "Basic Q0xFQVJNTC1LRVk6Q0xFQVJNTC1TRUNSRVQ=")],
        serde_json::from_str(&body).unwrap(),
    );
    assert_refused(&r, "InvalidSignatureException", "AWS4-HMAC-SHA256");
    // Nothing was written by a refused request.
    for tenant in ["acme", "globex", "default"] {
        assert!(s.store().run_by_uid(tenant, "signed-tc").unwrap().is_none());
    }

    // Signed: written to the key's tenant.
    let r = put(Some(ACME), 0, None);
    assert_eq!((r.status, r.text.as_str()), (200, "{}"));
    assert!(s.store().run_by_uid("acme", "signed-tc").unwrap().is_some());
    assert!(s.store().run_by_uid("default", "signed-tc").unwrap().is_none());
    // Within the 15 minutes of skew.
    assert_eq!(put(Some(ACME), -14 * 60, None).status, 200);
    assert_eq!(put(Some(ACME), 14 * 60, None).status, 200);

    // The typed client signs with its AWS keys (any region); its refusals decode as AWS errors.
    let item = json!([{"MetricName": "loss", "Timestamp": T, "Step": 1, "Value": 0.25}]);
    let client = s.client().with_aws_keys(ACME.0, ACME.1, "eu-west-1");
    assert_eq!(put_typed(&client, "typed-tc", item.clone()).unwrap().errors, None);
    assert!(s.store().run_by_uid("acme", "typed-tc").unwrap().is_some());
    let read = get_typed(&client, json!([q("typed-tc", "loss", "Last", "IterationNumber", "IterationNumber")])).unwrap();
    assert_eq!(series(&untyped(&read.metric_query_results.unwrap()[0])), (vec![1], vec![json!(0.25)]));
    for (client, code) in [
        (s.client().with_aws_keys(ACME.0, "wrong", "eu-west-1"), "InvalidSignatureException"),
        (s.client().with_aws_keys("AKIAUNKNOWN", "x", "eu-west-1"), "UnrecognizedClientException"),
        (s.client(), "MissingAuthenticationTokenException"),
    ] {
        match put_typed(&client, "typed-tc", item.clone()) {
            Err(Error::Aws(e)) => assert_eq!((e.status, e.code.as_str()), (403, code), "{e}"),
            other => panic!("not refused with {code}: {other:?}"),
        }
    }

    // Reads see only the caller's tenant.
    let get = json!({"MetricQueries": [q("signed-tc", "loss", "Last", "IterationNumber", "IterationNumber")]}).to_string();
    let r = signed(&s, "POST", "/BatchGetMetrics", &get, Some(ACME), 0, None);
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(series(&r.json()["MetricQueryResults"][0]), (vec![0], vec![json!(0.5)]));
    let r = signed(&s, "POST", "/BatchGetMetrics", &get, Some(GLOBEX), 0, None);
    assert_eq!(r.json()["MetricQueryResults"][0]["Status"], "ValidationError", "{}", r.text);
    assert_refused(&signed(&s, "POST", "/BatchGetMetrics", &get, None, 0, None), "MissingAuthenticationTokenException", "");
    // A signature for one operation does not fit the other.
    let host = s.base.trim_start_matches("http://").to_string();
    let date = sigv4::format_amz_date(now_s());
    let headers =
        vec![("Host".to_string(), host), ("Content-Type".to_string(), "application/json".to_string()), ("X-Amz-Date".to_string(), date.clone())];
    let req = sigv4::Request { method: "PUT", path: "/BatchPutMetrics", query: "", headers, body: get.as_bytes() };
    let auth = sigv4::sign(&req, ACME.0, ACME.1, "us-east-1", "sagemaker", "content-type;host;x-amz-date");
    let r = match ureq::post(&s.url("/BatchGetMetrics"))
        .set("Content-Type", "application/json")
        .set("X-Amz-Date", &date)
        .set("Authorization", &auth)
        .send_string(&get)
    {
        Ok(r) => Reply::from(r),
        Err(ureq::Error::Status(_, r)) => Reply::from(r),
        Err(e) => panic!("{e}"),
    };
    assert_refused(&r, "InvalidSignatureException", "does not match");
}

/// Credentials configured for ClearML only: SageMaker is closed too (no key can sign).
#[test]
fn sagemaker_is_closed_when_only_other_credentials_exist() {
    let config = "[[tenant]]\nname = \"t\"\n[[tenant.clearml]]\naccess_key = \"K\"\nsecret_key = \"S\"\n";
    let Some(s) = Server::start_with_config(Backend::Sqlite, config) else { return };
    let body = json!({"TrialComponentName": "x", "MetricData": [{"MetricName": "m", "Timestamp": T, "Value": 1}]}).to_string();
    assert_refused(&signed(&s, "PUT", "/BatchPutMetrics", &body, None, 0, None), "MissingAuthenticationTokenException", "");
    assert_refused(&signed(&s, "PUT", "/BatchPutMetrics", &body, Some(("K", "S")), 0, None), "UnrecognizedClientException", "");
}

/// Without any config the server is open: unsigned requests are tenant `default`.
#[test]
fn open_server_takes_unsigned_requests() {
    let Some(s) = Server::start(Backend::Sqlite) else { return };
    let r = put(&s, "open-tc", json!([{"MetricName": "m", "Timestamp": T, "Value": 1}]));
    assert_eq!(r.status, 200);
    assert!(s.store().run_by_uid("default", "open-tc").unwrap().is_some());
    // A signature is not checked then (any or none is accepted).
    let body = json!({"TrialComponentName": "open-tc", "MetricData": [{"MetricName": "m", "Timestamp": T + 1, "Value": 1}]}).to_string();
    assert_eq!(signed(&s, "PUT", "/BatchPutMetrics", &body, Some(("ANY", "x")), 0, None).status, 200);
}

per_backend! {
    sigv4_on_a_configured_server => sigv4_on_a_configured_server;
}
