//! Re-sent batches never duplicate a point, for every API that writes points: each API's
//! write endpoints get the same batch twice, then again after another batch (whose points
//! overlap it with other values), then from two clients at once; after each round the store
//! (`Server::store()`) and the API's own read must show every point once, with the value of
//! its last write, under that API's identity rule (README, "One store, one run"):
//! ClearML (task, iter, metric, variant) for every event type but logs, SageMaker (metric,
//! step, timestamp), Dioptra (job, name, step), Comet (metricName, step, timestamp), or
//! (metricName, step) for a write without a timestamp, Lens W&B (name, step). Where the read
//! counts points from the per-bucket aggregates (ClearML's scroll total, Dioptra's snapshot
//! total), the count must match too: a re-sent point must not be counted twice there either.

mod common;

use std::collections::BTreeMap;
use std::sync::Barrier;

use common::Server;
use serde_json::{json, Value};
use specmill_runtime::store::{ScalarQuery, TimelineQuery};

both_backends! {
    clearml_scalars => clearml_scalars;
    clearml_events => clearml_events;
    sagemaker_batch_put_metrics => sagemaker_batch_put_metrics;
    dioptra_job_metrics => dioptra_job_metrics;
    comet_metrics_with_timestamps => comet_metrics_with_timestamps;
    comet_metrics_without_timestamps => comet_metrics_without_timestamps;
    lens_wandb_metrics => lens_wandb_metrics;
    lens_wandb_logs => lens_wandb_logs;
    lens_wandb_batch => lens_wandb_batch;
}

/// A point as the test writes it; its time (where an API carries one) follows from its step.
#[derive(Clone, Debug)]
struct P {
    metric: String,
    step: i64,
    value: f64,
}

/// 2024-01-02T03:00:00Z, in seconds.
const T0: i64 = 1_704_164_400;

/// The time of a point at `step`, in ms.
fn ts_ms(step: i64) -> i64 {
    (T0 + step) * 1000
}

fn series(metric: &str, steps: std::ops::Range<i64>, base: f64) -> Vec<P> {
    steps.map(|step| P { metric: metric.into(), step, value: base + step as f64 * 0.25 }).collect()
}

/// (metric, step) → value: what a run must hold.
type Points = BTreeMap<(String, i64), f64>;

/// A read's points, refused if any (metric, step) is there twice.
fn unique(api: &str, what: &str, points: Vec<(String, i64, f64)>) -> Points {
    let mut out = Points::new();
    for (metric, step, value) in points {
        if let Some(before) = out.insert((metric.clone(), step), value) {
            panic!("{api}: {what} shows ({metric}, {step}) twice: {before} and {value}");
        }
    }
    out
}

/// An API under test: how a batch is written (with one client's agent) and how the API's
/// own read shows the run's points, with the count it reports when it reports one.
struct Writer<'a> {
    api: &'static str,
    /// The run (task, trial component, job, experiment, workload) uid.
    uid: String,
    /// The `source` the API's points carry in the store.
    source: &'static str,
    send: Box<dyn Fn(&ureq::Agent, &[P]) + Sync + 'a>,
    read: Box<dyn Fn() -> (Vec<(String, i64, f64)>, Option<i64>) + 'a>,
}

/// Send a batch twice, another overlapping batch, the first again, then two batches from two
/// clients at once (each sent twice by each); check store and read after each round.
fn resends_never_duplicate(s: &Server, w: &Writer) {
    let a: Vec<P> = [series("loss", 0..8, 0.0), series("acc", 0..8, 100.0)].concat();
    // Overlaps `a` on loss 4..8 with other values.
    let b: Vec<P> = [series("loss", 4..12, 50.0), series("lr", 0..4, 200.0)].concat();
    let c: Vec<P> = series("both", 0..30, 300.0);
    let mut expected = Points::new();
    let apply = |expected: &mut Points, batch: &[P]| {
        for p in batch {
            expected.insert((p.metric.clone(), p.step), p.value);
        }
    };
    let agent = ureq::agent();
    let rounds: [(&str, &[P]); 4] = [("first", &a), ("re-sent", &a), ("another batch", &b), ("re-sent after another batch", &a)];
    for (round, batch) in rounds {
        (w.send)(&agent, batch);
        apply(&mut expected, batch);
        check(s, w, round, &expected);
    }
    // Two clients at once, each sending `c` and `a` twice, interleaved differently.
    let barrier = Barrier::new(2);
    std::thread::scope(|scope| {
        for order in [[&c, &a, &c, &a], [&a, &c, &a, &c]] {
            let (send, barrier) = (&w.send, &barrier);
            scope.spawn(move || {
                let agent = ureq::agent();
                barrier.wait();
                for batch in order {
                    send(&agent, batch);
                }
            });
        }
    });
    apply(&mut expected, &c);
    check(s, w, "sent by two clients at once", &expected);
}

/// The run's points in the store (of the API's source) and through the API's read are
/// `expected`, each once.
fn check(s: &Server, w: &Writer, round: &str, expected: &Points) {
    let store = s.store();
    let run = store.run_by_uid("default", &w.uid).unwrap().unwrap_or_else(|| panic!("{}: no run {}", w.api, w.uid));
    let stored = store.scalars(&ScalarQuery::for_run(run.id)).unwrap();
    let stored: Vec<(String, i64, f64)> = stored
        .into_iter()
        .filter(|p| p.source == w.source)
        .map(|p| (p.metric, p.step.expect("a step"), p.value))
        .collect();
    assert_eq!(&unique(w.api, &format!("the store ({round})"), stored), expected, "{}: the store ({round})", w.api);
    let (read, total) = (w.read)();
    assert_eq!(&unique(w.api, &format!("its read ({round})"), read), expected, "{}: its read ({round})", w.api);
    if let Some(total) = total {
        assert_eq!(total, expected.len() as i64, "{}: the count its read reports ({round})", w.api);
    }
}

/// `r`'s status is 200, else the panic names `what`.
fn ok(r: Result<ureq::Response, ureq::Error>, what: &str) -> Value {
    match r {
        Ok(r) if r.status() == 200 => r.into_json().unwrap_or_else(|e| panic!("{what}: {e}")),
        Ok(r) => panic!("{what}: {}", r.status()),
        Err(ureq::Error::Status(code, r)) => panic!("{what}: {code} {}", r.into_string().unwrap_or_default()),
        Err(e) => panic!("{what}: {e}"),
    }
}

// ---- ClearML: events.add_batch (JSON lines) ----

fn clearml_event(task: &str, p: &P) -> Value {
    json!({"type": "training_stats_scalar", "task": task, "iter": p.step, "metric": p.metric, "variant": "v", "value": p.value, "timestamp": ts_ms(p.step)})
}

fn add_batch(agent: &ureq::Agent, s: &Server, events: &[Value]) {
    let body: Vec<String> = events.iter().map(Value::to_string).collect();
    let r = agent.post(&s.url("/events.add_batch")).set("Content-Type", "application/json-lines").send_string(&body.join("\n"));
    let v = ok(r, "events.add_batch");
    assert_eq!(v["data"]["added"], events.len(), "{v}");
}

fn clearml_scalars(s: &Server) {
    let task = "idem-clearml";
    let w = Writer {
        api: "clearml",
        uid: task.into(),
        source: "clearml",
        send: Box::new(|agent, batch| add_batch(agent, s, &batch.iter().map(|p| clearml_event(task, p)).collect::<Vec<_>>())),
        // get_scalar_metric_data without a metric: every scalar of the task, its total from the aggregates.
        read: Box::new(|| {
            let v = s.json("POST", "/events.get_scalar_metric_data", json!({"task": task})).json();
            let d = &v["data"];
            let events = d["events"].as_array().unwrap_or_else(|| panic!("{v}"));
            assert!(events.len() < 500, "one page holds them all");
            let points = events.iter().map(|e| (e["metric"].as_str().unwrap().to_string(), e["iter"].as_i64().unwrap(), e["value"].as_f64().unwrap())).collect();
            (points, d["total"].as_f64().map(|t| t as i64))
        }),
    };
    resends_never_duplicate(s, &w);
}

/// Plots, vectors and debug images keep the identity of scalars (task, iter, metric, variant)
/// per event type; log events have none and are appended on every send, as clearml-server
/// does (each gets a fresh id there).
fn clearml_events(s: &Server) {
    let task = "idem-events";
    let events: Vec<Value> = (0..4)
        .flat_map(|i| {
            [
                json!({"type": "plot", "task": task, "iter": i, "metric": "roc", "variant": "v", "plot_str": format!("{{\"data\": [{i}]}}"), "timestamp": ts_ms(i)}),
                json!({"type": "training_stats_vector", "task": task, "iter": i, "metric": "hist", "variant": "v", "values": [i, i + 1], "timestamp": ts_ms(i)}),
                json!({"type": "training_debug_image", "task": task, "iter": i, "metric": "img", "variant": "v", "url": format!("http://x/{i}.png"), "timestamp": ts_ms(i)}),
                json!({"type": "log", "task": task, "iter": i, "msg": format!("line {i}"), "level": "info", "timestamp": ts_ms(i)}),
            ]
        })
        .collect();
    let sends = |n: usize| {
        let barrier = Barrier::new(n);
        std::thread::scope(|scope| {
            for _ in 0..n {
                let (events, barrier) = (&events, &barrier);
                scope.spawn(move || {
                    let agent = ureq::agent();
                    barrier.wait();
                    add_batch(&agent, s, events);
                });
            }
        });
    };
    let counts = |round: &str, logs: i64| {
        let store = s.store();
        let run = store.run_by_uid("default", task).unwrap().expect("the task");
        for (event_type, want) in [("plot", 4), ("training_stats_vector", 4), ("training_debug_image", 4), ("log", logs)] {
            let q = TimelineQuery { run_id: run.id, types: Some(vec![event_type.to_string()]), descending: false, after: None, limit: 10_000 };
            let items = store.timeline(&q).unwrap();
            assert_eq!(items.len() as i64, want, "{event_type} in the store ({round})");
            let v = s.json("POST", "/events.get_task_events", json!({"task": task, "event_type": event_type, "batch_size": 1000})).json();
            let d = &v["data"];
            assert_eq!(d["events"].as_array().map(Vec::len), Some(want as usize), "{event_type} through get_task_events ({round}): {v}");
            assert_eq!(d["total"].as_f64(), Some(want as f64), "{event_type} total ({round}): {v}");
            if event_type != "log" {
                let mut iters: Vec<i64> = d["events"].as_array().unwrap().iter().map(|e| e["iter"].as_i64().unwrap()).collect();
                iters.sort();
                assert_eq!(iters, vec![0, 1, 2, 3], "{event_type} ({round})");
            }
        }
    };
    sends(1);
    counts("first", 4);
    sends(1);
    counts("re-sent", 8);
    sends(2);
    counts("sent by two clients at once", 16);
}

// ---- SageMaker: BatchPutMetrics (at most 10 items per call) ----

fn sagemaker_batch_put_metrics(s: &Server) {
    let tc = "idem-sagemaker";
    const ARN: &str = "arn:aws:sagemaker:us-east-1:123456789012:experiment-trial-component/";
    let w = Writer {
        api: "sagemaker",
        uid: tc.into(),
        source: "sagemaker",
        send: Box::new(|agent, batch| {
            for chunk in batch.chunks(10) {
                let items: Vec<Value> = chunk
                    .iter()
                    .map(|p| json!({"MetricName": p.metric, "Timestamp": ts_ms(p.step) as f64 / 1000.0, "Step": p.step, "Value": p.value}))
                    .collect();
                let v = ok(agent.put(&s.url("/BatchPutMetrics")).send_json(json!({"TrialComponentName": tc, "MetricData": items})), "BatchPutMetrics");
                assert!(v.get("Errors").is_none(), "{v}");
            }
        }),
        // Per metric and step: the count of points (must be 1) and the last value.
        read: Box::new(|| {
            let metrics = ["loss", "acc", "lr", "both"];
            let queries: Vec<Value> = metrics
                .iter()
                .flat_map(|m| {
                    ["Count", "Last"].map(|stat| {
                        json!({"MetricName": m, "ResourceArn": format!("{ARN}{tc}"), "MetricStat": stat, "Period": "IterationNumber", "XAxisType": "IterationNumber"})
                    })
                })
                .collect();
            let v = s.json("POST", "/BatchGetMetrics", json!({"MetricQueries": queries})).json();
            let results = v["MetricQueryResults"].as_array().unwrap_or_else(|| panic!("{v}"));
            let mut points = Vec::new();
            for (i, m) in metrics.iter().enumerate() {
                let (count, last) = (&results[2 * i], &results[2 * i + 1]);
                assert_eq!(count["Status"], "Complete", "{v}");
                let steps = count["XAxisValues"].as_array().unwrap();
                for (step, n) in steps.iter().zip(count["MetricValues"].as_array().unwrap()) {
                    assert_eq!(n.as_f64(), Some(1.0), "{m} at step {step}: {v}");
                }
                assert_eq!(last["XAxisValues"], count["XAxisValues"]);
                for (step, value) in steps.iter().zip(last["MetricValues"].as_array().unwrap()) {
                    points.push((m.to_string(), step.as_i64().unwrap(), value.as_f64().unwrap()));
                }
            }
            (points, None)
        }),
    };
    resends_never_duplicate(s, &w);
}

// ---- Dioptra: POST /api/v1/jobs/{id}/metrics (one point per call) ----

fn dioptra_job_metrics(s: &Server) {
    let run = s.store().ensure_run("default", "idem-dioptra", "test").unwrap();
    let metrics_path = format!("/api/v1/jobs/{}/metrics", run.id);
    let w = Writer {
        api: "dioptra",
        uid: run.uid.clone(),
        source: "dioptra",
        send: Box::new(|agent, batch| {
            for p in batch {
                let ts = chrono_iso(ts_ms(p.step));
                ok(agent.post(&s.url(&metrics_path)).send_json(json!({"name": p.metric, "value": p.value, "step": p.step, "timestamp": ts})), "append metric");
            }
        }),
        // Each name's snapshots; their total comes from the aggregates.
        read: Box::new(|| {
            let mut points = Vec::new();
            let mut total = 0;
            for m in ["loss", "acc", "lr", "both"] {
                let v = s.json("GET", &format!("/api/v1/jobs/{}/metrics/{m}/snapshots?pageLength=1000", run.id), Value::Null).json();
                for p in v["data"].as_array().unwrap_or_else(|| panic!("{v}")) {
                    points.push((m.to_string(), p["step"].as_i64().unwrap(), p["value"].as_f64().unwrap()));
                }
                total += v["totalNumResults"].as_i64().unwrap_or_else(|| panic!("{v}"));
            }
            (points, Some(total))
        }),
    };
    resends_never_duplicate(s, &w);
}

/// `ms` as ISO 8601 in UTC.
fn chrono_iso(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms).expect("a time").format("%Y-%m-%dT%H:%M:%S%.3f+00:00").to_string()
}

// ---- Comet: write/experiment/metric (one point per call) ----

const COMET: &str = "/api/rest/v2";

fn comet_experiment(s: &Server) -> String {
    let v = s.json("POST", &format!("{COMET}/write/experiment/create"), json!({"workspaceName": "ws", "projectName": "p"})).json();
    v["experimentKey"].as_str().unwrap_or_else(|| panic!("{v}")).to_string()
}

fn comet_read(s: &Server, key: &str) -> (Vec<(String, i64, f64)>, Option<i64>) {
    let v = s.json("GET", &format!("{COMET}/experiment/metrics/get-all?experimentKey={key}"), Value::Null).json();
    let points = v["metrics"]
        .as_array()
        .unwrap_or_else(|| panic!("{v}"))
        .iter()
        .map(|m| (m["metricName"].as_str().unwrap().to_string(), m["step"].as_i64().unwrap(), m["metricValue"].as_str().unwrap().parse().unwrap()))
        .collect();
    (points, None)
}

fn comet_writer(s: &Server, with_timestamps: bool) -> Writer<'_> {
    let key = comet_experiment(s);
    let url = s.url(&format!("{COMET}/write/experiment/metric"));
    let k = key.clone();
    Writer {
        api: "comet",
        uid: key.clone(),
        source: "comet",
        send: Box::new(move |agent, batch| {
            for p in batch {
                let mut body = json!({"experimentKey": k, "metricName": p.metric, "metricValue": p.value, "step": p.step});
                if with_timestamps {
                    body["timestamp"] = json!(ts_ms(p.step));
                }
                ok(agent.post(&url).send_json(body), "write/experiment/metric");
            }
        }),
        read: Box::new(move || comet_read(s, &key)),
    }
}

/// As `log_metric(..., timestamp=t)` sends it: (metricName, step, timestamp) is the identity.
fn comet_metrics_with_timestamps(s: &Server) {
    resends_never_duplicate(s, &comet_writer(s, true));
}

/// As `APIExperiment.log_metric(name, value, step=n)` sends it, with no timestamp (the server's
/// time): the client retries a 5xx POST 3 times, and a retry must not add a point, so such a
/// write is identified by (metricName, step).
fn comet_metrics_without_timestamps(s: &Server) {
    let w = comet_writer(s, false);
    resends_never_duplicate(s, &w);
    // With neither step nor timestamp nothing tells a retry from a new value: each write is a point.
    let url = s.url(&format!("{COMET}/write/experiment/metric"));
    for _ in 0..2 {
        ok(ureq::post(&url).send_json(json!({"experimentKey": w.uid, "metricName": "free", "metricValue": 1})), "write/experiment/metric");
    }
    let v = s.json("GET", &format!("{COMET}/experiment/metrics/get-metric?experimentKey={}&metricName=free", w.uid), Value::Null).json();
    assert_eq!(v["metrics"].as_array().map(Vec::len), Some(2), "{v}");
}

// ---- Lens: the W&B exporter's POST /wandb/{metrics,logs,batch} ----

fn lens_read(s: &Server, uid: &str) -> (Vec<(String, i64, f64)>, Option<i64>) {
    let v = s.json("GET", &format!("/v1/workloads/{uid}/metrics/data?data_source=wandb"), Value::Null).json();
    let points = v["data"]
        .as_array()
        .unwrap_or_else(|| panic!("{v}"))
        .iter()
        .map(|p| (p["metric_name"].as_str().unwrap().to_string(), p["iteration"].as_i64().unwrap(), p["value"].as_f64().unwrap()))
        .collect();
    (points, v["total_count"].as_i64())
}

fn wandb_metrics(uid: &str, batch: &[P]) -> Value {
    let metrics: Vec<Value> =
        batch.iter().map(|p| json!({"name": p.metric, "value": p.value, "step": p.step, "timestamp": ts_ms(p.step) as f64 / 1000.0})).collect();
    json!({"workload_uid": uid, "run_id": "r1", "metrics": metrics})
}

/// One log entry per step, holding every metric of that step.
fn wandb_logs(uid: &str, batch: &[P]) -> Value {
    let mut by_step: BTreeMap<i64, serde_json::Map<String, Value>> = BTreeMap::new();
    for p in batch {
        by_step.entry(p.step).or_default().insert(p.metric.clone(), json!(p.value));
    }
    let logs: Vec<Value> = by_step.into_iter().map(|(step, data)| json!({"step": step, "timestamp": ts_ms(step) as f64 / 1000.0, "data": data})).collect();
    json!({"workload_uid": uid, "run_id": "r1", "logs": logs})
}

fn lens_writer<'a>(s: &'a Server, route: &'static str) -> Writer<'a> {
    let uid = format!("idem-lens-{route}");
    let u = uid.clone();
    Writer {
        api: "lens",
        uid: uid.clone(),
        source: "wandb",
        send: Box::new(move |agent, batch| {
            let (body, count) = match route {
                "metrics" => (wandb_metrics(&u, batch), batch.len()),
                "logs" => {
                    let b = wandb_logs(&u, batch);
                    let n = b["logs"].as_array().unwrap().len();
                    (b, n)
                }
                // The first half as a metrics part, the rest as a logs part.
                _ => {
                    let (m, l) = batch.split_at(batch.len() / 2);
                    (json!({"metrics": wandb_metrics(&u, m), "logs": wandb_logs(&u, l)}), 0)
                }
            };
            let v = ok(agent.post(&s.url(&format!("/v1/wandb/{route}"))).send_json(body), route);
            match route {
                "batch" => assert_eq!(v["success"], true, "{v}"),
                _ => assert_eq!(v["count"], count, "{v}"),
            }
        }),
        read: Box::new(move || lens_read(s, &uid)),
    }
}

fn lens_wandb_metrics(s: &Server) {
    resends_never_duplicate(s, &lens_writer(s, "metrics"));
}

fn lens_wandb_logs(s: &Server) {
    resends_never_duplicate(s, &lens_writer(s, "logs"));
}

fn lens_wandb_batch(s: &Server) {
    resends_never_duplicate(s, &lens_writer(s, "batch"));
}
