//! Lens's training-performance API over real HTTP, on SQLite and PostgreSQL: sources,
//! available metrics, metric data (the `metrics` forms incl. Grafana's `{a,b}`,
//! `data_source`, `start`/`end`, NaN and metadata filtering), iteration times (dedup,
//! order, targets), both mounts, `cluster`, errors; and the W&B exporter's routes
//! (`/wandb/metrics`, `/wandb/logs`, `/wandb/batch`) whose points every API reads.

mod common;

use common::Server;
use serde_json::{json, Value};

both_backends! {
    reads_of_an_unknown_workload_are_empty => reads_of_an_unknown_workload_are_empty;
    sources_and_available => sources_and_available;
    data_forms_filters_and_ranges => data_forms_filters_and_ranges;
    iteration_times_dedup_and_order => iteration_times_dedup_and_order;
    wandb_routes_store_for_every_api => wandb_routes_store_for_every_api;
    errors_are_lens_shaped => errors_are_lens_shaped;
    long_data_is_streamed_in_pages => long_data_is_streamed_in_pages;
}

const T0: i64 = 1_701_734_400_000; // ms

fn get(s: &Server, path: &str) -> Value {
    let r = s.send("GET", path, "application/json", "");
    assert_eq!(r.status, 200, "{path}: {}", r.text);
    r.json()
}

fn post(s: &Server, path: &str, body: Value) -> Value {
    let r = s.json("POST", path, body.clone());
    assert_eq!(r.status, 200, "{path} {body}: {}", r.text);
    r.json()
}

/// ClearML scalars (as JSON lines) for `task`.
fn clearml(s: &Server, task: &str, points: &[(&str, &str, i64, f64, i64)]) {
    let body = points
        .iter()
        .map(|(metric, variant, iter, value, ts)| {
            json!({"task": task, "type": "training_stats_scalar", "metric": metric, "variant": variant, "iter": iter, "value": value, "timestamp": ts})
                .to_string()
        })
        .collect::<Vec<_>>()
        .join("\n");
    let r = s.send("POST", "/events.add_batch", "application/json-lines", &body);
    assert_eq!(r.status, 200, "{}", r.text);
}

/// W&B log entries for `workload`: (step, seconds, data).
fn wandb_logs(s: &Server, workload: &str, entries: &[(i64, f64, Value)]) {
    let logs: Vec<Value> = entries.iter().map(|(step, ts, data)| json!({"step": step, "timestamp": ts, "data": data})).collect();
    let v = post(s, "/v1/wandb/logs", json!({"source": "wandb", "workload_uid": workload, "run_id": "run-1", "logs": logs}));
    assert_eq!(v, json!({"status": "ok", "message": "training data reported successfully", "count": entries.len()}));
}

fn names(v: &Value) -> Vec<String> {
    v["data"].as_array().unwrap().iter().map(|p| p["metric_name"].as_str().unwrap().to_string()).collect()
}

fn reads_of_an_unknown_workload_are_empty(s: &Server) {
    for prefix in ["/v1", "/lens/v1"] {
        let base = format!("{prefix}/workloads/nobody/metrics");
        assert_eq!(get(s, &format!("{base}/sources?cluster=c1")), json!({"workload_uid": "nobody", "data_sources": [], "total_count": 0}));
        assert_eq!(get(s, &format!("{base}/available")), json!({"workload_uid": "nobody", "metrics": [], "total_count": 0}));
        assert_eq!(get(s, &format!("{base}/data")), json!({"workload_uid": "nobody", "data": [], "total_count": 0}));
        assert_eq!(
            get(s, &format!("{base}/iteration-times?data_source=wandb")),
            json!({"workload_uid": "nobody", "data_source": "wandb", "data": [], "total_count": 0})
        );
    }
}

fn sources_and_available(s: &Server) {
    let w = "wl-available";
    // W&B rows: metadata keys (`run_id`, `step`, …), and iteration keys, are hidden.
    wandb_logs(
        s,
        w,
        &[
            (
                1,
                1701734400.0,
                json!({"loss": 0.9, "accuracy": 0.1, "run_id": 7, "step": 1, "history": 0, "iteration": 1, "target_iteration": 100}),
            ),
            (2, 1701734460.0, json!({"loss": 0.8, "accuracy": 0.2, "note": "text is skipped", "flag": true, "nothing": null})),
        ],
    );
    // ClearML scalars: metadata names of W&B are metrics from other sources; `iteration` never is.
    clearml(
        s,
        w,
        &[("loss", "loss", 1, 0.85, T0), ("loss", "val", 1, 0.95, T0), ("run_id", "", 1, 1.0, T0), ("iteration", "", 1, 1.0, T0)],
    );
    // A NaN (SageMaker's spelling): stored, but neither counted nor returned.
    let r = s.json(
        "PUT",
        "/BatchPutMetrics",
        json!({"TrialComponentName": w, "MetricData": [
            {"MetricName": "loss", "Timestamp": 1701734500, "Step": 3, "Value": "NaN"},
            {"MetricName": "lr", "Timestamp": 1701734500, "Step": 3, "Value": "Infinity"}
        ]}),
    );
    assert_eq!(r.status, 200, "{}", r.text);

    let v = get(s, &format!("/v1/workloads/{w}/metrics/sources?cluster=any"));
    assert_eq!(
        v,
        json!({"workload_uid": w, "data_sources": [{"name": "clearml", "count": 4}, {"name": "sagemaker", "count": 2}, {"name": "wandb", "count": 9}], "total_count": 3})
    );
    let v = get(s, &format!("/lens/v1/workloads/{w}/metrics/available"));
    assert_eq!(
        v,
        json!({"workload_uid": w, "metrics": [
            {"name": "accuracy", "data_source": ["wandb"], "count": 2},
            {"name": "loss", "data_source": ["clearml", "wandb"], "count": 3},
            {"name": "loss/val", "data_source": ["clearml"], "count": 1},
            {"name": "run_id", "data_source": ["clearml"], "count": 1}
        ], "total_count": 4})
    );
    let v = get(s, &format!("/v1/workloads/{w}/metrics/available?data_source=wandb&cluster=c"));
    assert_eq!(
        v["metrics"],
        json!([{"name": "accuracy", "data_source": ["wandb"], "count": 2}, {"name": "loss", "data_source": ["wandb"], "count": 2}])
    );
    let v = get(s, &format!("/v1/workloads/{w}/metrics/available?data_source=tensorflow"));
    assert_eq!((v["metrics"].clone(), v["total_count"].clone()), (json!([]), json!(0)));
    // An empty data_source is no filter.
    assert_eq!(get(s, &format!("/v1/workloads/{w}/metrics/available?data_source="))["total_count"], 4);
}

fn data_forms_filters_and_ranges(s: &Server) {
    let w = "wl-data";
    // accuracy and loss at three steps a minute apart (W&B), loss/lr from ClearML.
    wandb_logs(
        s,
        w,
        &[
            (100, 1701734400.0, json!({"loss": 0.5432, "accuracy": 0.8765})),
            (200, 1701734460.0, json!({"loss": 0.4321, "accuracy": 0.9})),
            (300, 1701734520.0, json!({"loss": 0.3, "accuracy": 0.95, "step": 300})),
        ],
    );
    clearml(s, w, &[("lr", "", 100, 0.001, T0 + 30_000), ("loss", "val", 100, 0.6, T0 + 30_000)]);
    let dioptra_run = s.store().run_by_uid("default", w).unwrap().unwrap().id;
    let r = s.json("POST", &format!("/api/v1/jobs/{dioptra_run}/metrics"), json!({"name": "loss", "value": "nan", "step": 400}));
    assert_eq!(r.status, 200, "{}", r.text);

    let base = format!("/v1/workloads/{w}/metrics/data");
    // Everything (NaN and the W&B `step` key left out), oldest first.
    let all = get(s, &base);
    assert_eq!(all["total_count"], 8);
    assert!(all.get("data_source").is_none(), "no filter, no echo: {all}");
    assert_eq!(all["data"][0], json!({"metric_name": "loss", "value": 0.5432, "timestamp": T0, "iteration": 100, "data_source": "wandb"}));
    assert_eq!(
        all["data"][1],
        json!({"metric_name": "accuracy", "value": 0.8765, "timestamp": T0, "iteration": 100, "data_source": "wandb"})
    );
    let times: Vec<i64> = all["data"].as_array().unwrap().iter().map(|p| p["timestamp"].as_i64().unwrap()).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "{times:?}");
    assert_eq!(all["data"][2]["data_source"], "clearml");
    // `metrics`: all (any case), lists, Grafana's braces, display names.
    for q in ["metrics=all", "metrics=ALL", "metrics=%7B%7D", "metrics=", "metrics=%20all%20"] {
        assert_eq!(get(s, &format!("{base}?{q}"))["total_count"], 8, "{q}");
    }
    let v = get(s, &format!("{base}?metrics=loss"));
    assert_eq!(names(&v), vec!["loss", "loss", "loss"]);
    let v = get(s, &format!("{base}?metrics=loss,accuracy"));
    assert_eq!(v["total_count"], 6);
    let v = get(s, &format!("{base}?metrics=%7Bloss,accuracy%7D"));
    assert_eq!(v["total_count"], 6, "Grafana's multi-value form");
    let r = s.send("GET", &format!("{base}?metrics={{loss,accuracy}}"), "application/json", "");
    assert_eq!((r.status, r.json()["total_count"].clone()), (200, json!(6)), "unencoded braces: {}", r.text);
    let v = get(s, &format!("{base}?metrics=%7B%20loss%20,%20lr%20%7D"));
    assert_eq!(names(&v), vec!["loss", "lr", "loss", "loss"]);
    let v = get(s, &format!("{base}?metrics=loss/val,nope"));
    assert_eq!((names(&v), v["data"][0]["data_source"].clone()), (vec!["loss/val".to_string()], json!("clearml")));
    assert_eq!(get(s, &format!("{base}?metrics=LOSS"))["total_count"], 0, "names are case-sensitive");
    assert_eq!(get(s, &format!("{base}?metrics=,"))["total_count"], 0);
    assert_eq!(get(s, &format!("{base}?metrics=step"))["total_count"], 0, "W&B metadata");
    // data_source: filters and is echoed.
    let v = get(s, &format!("{base}?data_source=wandb&metrics=loss"));
    assert_eq!((v["data_source"].clone(), v["total_count"].clone()), (json!("wandb"), json!(3)));
    let v = get(s, &format!("{base}?data_source=clearml"));
    assert_eq!(names(&v), vec!["lr", "loss/val"]);
    assert_eq!(get(s, &format!("{base}?data_source=dioptra"))["total_count"], 0, "its only point is NaN");
    assert_eq!(get(s, &format!("{base}?data_source=log"))["total_count"], 0);
    // start/end: ms, both inclusive, only together.
    let v = get(s, &format!("{base}?start={}&end={}", T0 + 30_000, T0 + 60_000));
    assert_eq!(names(&v), vec!["lr", "loss/val", "loss", "accuracy"]);
    let v = get(s, &format!("{base}?start={}&end={}&metrics=loss", T0, T0));
    assert_eq!(v["total_count"], 1);
    assert_eq!(get(s, &format!("{base}?start={}&end={}", T0 + 1, T0 + 29_999))["total_count"], 0);
    assert_eq!(get(s, &format!("{base}?start={}", T0 + 60_000))["total_count"], 8, "a lone start is ignored");
    assert_eq!(get(s, &format!("{base}?end={}", T0))["total_count"], 8, "a lone end is ignored");
    assert_eq!(get(s, &format!("{base}?start={}&end={}", T0 + 60_000, T0))["total_count"], 0, "an empty range");
    // Both mounts, and `cluster` is accepted.
    assert_eq!(get(s, &format!("/lens/v1/workloads/{w}/metrics/data?cluster=tw325&metrics=accuracy"))["total_count"], 3);
}

fn iteration_times_dedup_and_order(s: &Server) {
    let w = "wl-iters";
    // W&B entries out of order, iteration 200 reported twice (the second later).
    wandb_logs(
        s,
        w,
        &[
            (200, 1701734460.0, json!({"loss": 0.4, "target_iteration": 10000})),
            (100, 1701734400.0, json!({"loss": 0.5, "target_iteration": 10000})),
            (300, 1701734520.0, json!({"loss": 0.3})),
        ],
    );
    post(s, "/v1/wandb/logs", json!({"workload_uid": w, "logs": [{"step": 200, "timestamp": 1701734999.0, "data": {"accuracy": 0.9}}]}));
    // ClearML reports iteration 100 earlier than W&B did, and a new iteration 50.
    clearml(s, w, &[("loss", "train", 100, 0.55, T0 - 5_000), ("loss", "train", 50, 0.7, T0 - 10_000)]);
    let base = format!("/v1/workloads/{w}/metrics/iteration-times");
    let v = get(s, &base);
    let got: Vec<(String, f64, i64, i64, String)> = v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["metric_name"].as_str().unwrap().into(),
                p["value"].as_f64().unwrap(),
                p["timestamp"].as_i64().unwrap(),
                p["iteration"].as_i64().unwrap(),
                p["data_source"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            ("iteration".into(), 50.0, T0 - 10_000, 50, "clearml".into()),
            ("iteration".into(), 100.0, T0 - 5_000, 100, "clearml".into()),
            ("iteration".into(), 200.0, T0 + 60_000, 200, "wandb".into()),
            ("target_iteration".into(), 10000.0, T0 + 60_000, 200, "wandb".into()),
            ("iteration".into(), 300.0, T0 + 120_000, 300, "wandb".into()),
        ],
        "sorted by iteration, the earliest report of each, across sources"
    );
    assert_eq!(v["total_count"], 5);
    // Within one source: iteration 100 is W&B's, with its target.
    let v = get(s, &format!("{base}?data_source=wandb"));
    assert_eq!(v["data_source"], "wandb");
    let got: Vec<(Value, Value)> = v["data"].as_array().unwrap().iter().map(|p| (p["metric_name"].clone(), p["value"].clone())).collect();
    assert_eq!(
        got,
        vec![
            (json!("iteration"), json!(100.0)),
            (json!("target_iteration"), json!(10000.0)),
            (json!("iteration"), json!(200.0)),
            (json!("target_iteration"), json!(10000.0)),
            (json!("iteration"), json!(300.0))
        ]
    );
    assert_eq!(v["data"][0]["timestamp"], T0);
    // The time range selects reports before the earliest one is chosen.
    let v = get(s, &format!("{base}?start={}&end={}", T0, T0 + 60_000));
    let iters: Vec<Value> =
        v["data"].as_array().unwrap().iter().filter(|p| p["metric_name"] == "iteration").map(|p| p["value"].clone()).collect();
    assert_eq!(iters, vec![json!(100.0), json!(200.0)]);
    assert_eq!(v["data"][0]["data_source"], "wandb", "ClearML's earlier report of 100 is out of the range");
    assert_eq!(get(s, &format!("{base}?start={}", T0 + 1))["total_count"], 5, "a lone bound is ignored");
    // iteration and target_iteration are not metrics of `data` or `available`.
    let v = get(s, &format!("/v1/workloads/{w}/metrics/available"));
    let listed: Vec<Value> = v["metrics"].as_array().unwrap().iter().map(|m| m["name"].clone()).collect();
    assert_eq!(listed, vec![json!("accuracy"), json!("loss"), json!("loss/train")]);
}

fn wandb_routes_store_for_every_api(s: &Server) {
    // /wandb/metrics: one point per value, under workload_uid (else pod_name).
    let v = post(
        s,
        "/v1/wandb/metrics",
        json!({"source": "wandb", "workload_uid": "wl-wandb", "pod_name": "pod-0", "run_id": "abc", "timestamp": 1701734400.0, "metrics": [
            {"name": "loss", "value": 0.5, "step": 1, "timestamp": 1701734401.5, "tags": {"phase": "train"}},
            {"name": "loss", "value": 0.4, "step": 2},
            {"name": "grad_norm", "value": 3}
        ]}),
    );
    assert_eq!(v, json!({"status": "ok", "message": "metrics reported successfully", "count": 3}));
    let v = get(s, "/v1/workloads/wl-wandb/metrics/data?metrics=loss,grad_norm");
    let got: Vec<(Value, Value, Value, Value)> = v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["metric_name"].clone(), p["value"].clone(), p["timestamp"].clone(), p["iteration"].clone()))
        .collect();
    assert_eq!(
        got,
        vec![
            (json!("loss"), json!(0.4), json!(T0), json!(2)),
            (json!("grad_norm"), json!(3.0), json!(T0), json!(0)),
            (json!("loss"), json!(0.5), json!(T0 + 1_500), json!(1)),
        ],
        "a value's own time, else the request's; step 0 by default"
    );
    // Re-sending (name, step) replaces the value but keeps the first time; other names stay.
    post(
        s,
        "/v1/wandb/metrics",
        json!({"workload_uid": "wl-wandb", "metrics": [{"name": "loss", "value": 0.45, "step": 1, "timestamp": 1701739999.0}]}),
    );
    let v = get(s, "/v1/workloads/wl-wandb/metrics/data?metrics=loss");
    assert_eq!(
        v["data"][1],
        json!({"metric_name": "loss", "value": 0.45, "timestamp": T0 + 1_500, "iteration": 1, "data_source": "wandb"})
    );
    assert_eq!(v["total_count"], 2);
    // pod_name when there is no workload_uid; /lens/v1 too.
    post(
        s,
        "/lens/v1/wandb/metrics",
        json!({"pod_name": "pod-7", "metrics": [{"name": "loss", "value": 1, "step": 1, "timestamp": 1701734400}]}),
    );
    assert_eq!(get(s, "/v1/workloads/pod-7/metrics/data")["total_count"], 1);
    // No metrics: accepted, nothing stored (the run exists, empty).
    let v = post(s, "/v1/wandb/metrics", json!({"workload_uid": "wl-empty"}));
    assert_eq!(v["count"], 0);
    assert_eq!(get(s, "/v1/workloads/wl-empty/metrics/sources")["total_count"], 0);

    // /wandb/batch: both parts, each reported.
    let v = post(
        s,
        "/v1/wandb/batch",
        json!({
            "metrics": {"workload_uid": "wl-batch", "metrics": [{"name": "lr", "value": 0.01, "step": 5, "timestamp": 1701734400}]},
            "logs": {"workload_uid": "wl-batch", "logs": [{"step": 5, "timestamp": 1701734400, "data": {"loss": 0.2, "acc": 0.9}}, {"step": 6, "data": {"loss": 0.1}}]},
            "detection": {"framework": "megatron"}
        }),
    );
    assert_eq!(
        v,
        json!({"status": "ok", "success": true, "results": {"metrics": {"success": true, "count": 1}, "logs": {"success": true, "count": 2}}})
    );
    assert_eq!(get(s, "/v1/workloads/wl-batch/metrics/data")["total_count"], 4);
    // A part that fails does not fail the request.
    let v = post(s, "/v1/wandb/batch", json!({"logs": {"logs": [{"step": 1, "data": {"x": 1}}]}}));
    assert_eq!(
        v,
        json!({"status": "ok", "success": false, "results": {"logs": {"success": false, "error": "either workload_uid or pod_name is required"}}})
    );
    let v = post(s, "/v1/wandb/batch", json!({}));
    assert_eq!(v, json!({"status": "ok", "success": true, "results": {}}));

    // Every API reads what the exporter wrote: ClearML (metric, empty variant), Dioptra.
    let r = s.json("POST", "/events.get_task_latest_scalar_values", json!({"task": "wl-batch"}));
    assert_eq!(r.status, 200, "{}", r.text);
    let metrics: Vec<Value> = r.json()["data"]["metrics"].as_array().unwrap().iter().map(|m| m["name"].clone()).collect();
    assert_eq!(metrics, vec![json!("acc"), json!("loss"), json!("lr")], "{}", r.text);
    let id = s.store().run_by_uid("default", "wl-batch").unwrap().unwrap().id;
    let r = s.send("GET", &format!("/api/v1/jobs/{id}/metrics"), "application/json", "");
    assert_eq!(r.json(), json!([{"name": "acc", "value": 0.9}, {"name": "loss", "value": 0.1}, {"name": "lr", "value": 0.01}]));
    let v = get(s, "/v1/workloads/wl-batch/metrics/sources");
    assert_eq!(v["data_sources"], json!([{"name": "wandb", "count": 4}]));
}

/// More points than two streamed pages (20,000 each), many sharing a timestamp: the reply is
/// chunked (no Content-Length), every point comes once in time order across the page
/// boundaries, and `total_count` (sent after `data`) counts them.
fn long_data_is_streamed_in_pages(s: &Server) {
    const N: i64 = 45_678;
    let task = "wl-long";
    for chunk in (0..N).collect::<Vec<_>>().chunks(2000) {
        // ten points per millisecond: ties in time that the keyset pages must break by id
        let points: Vec<(&str, &str, i64, f64, i64)> = chunk.iter().map(|i| ("loss", "loss", *i, *i as f64, T0 + i / 10)).collect();
        clearml(s, task, &points);
    }
    let r = s.send("GET", &format!("/v1/workloads/{task}/metrics/data?metrics=loss"), "application/json", "");
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.header("content-length"), None, "a streamed reply has no length up front");
    let v = r.json();
    assert_eq!(v["workload_uid"], task);
    assert_eq!(v["total_count"], N);
    let data = v["data"].as_array().unwrap();
    assert_eq!(data.len() as i64, N);
    let iterations: Vec<i64> = data.iter().map(|p| p["iteration"].as_i64().unwrap()).collect();
    assert_eq!(iterations, (0..N).collect::<Vec<_>>(), "each point once, in time (then storage) order");
    assert!(data.windows(2).all(|w| w[0]["timestamp"].as_i64() <= w[1]["timestamp"].as_i64()));
    // a window inside the run: a bounded, still streamed read
    let (a, b) = (T0 + 100, T0 + 899);
    let v = get(s, &format!("/v1/workloads/{task}/metrics/data?start={a}&end={b}"));
    assert_eq!(v["total_count"], 8000);
    assert_eq!(v["data"].as_array().unwrap().len(), 8000);
}

fn errors_are_lens_shaped(s: &Server) {
    let err = |method: &str, path: &str, body: &str| {
        let r = s.send(method, path, "application/json", body);
        (r.status, r.json())
    };
    for op in ["data", "iteration-times"] {
        let base = format!("/v1/workloads/w/metrics/{op}");
        assert_eq!(err("GET", &format!("{base}?start=abc&end=1"), ""), (400, json!({"error": "invalid start time format"})));
        assert_eq!(err("GET", &format!("{base}?start=1&end=1.5"), ""), (400, json!({"error": "invalid end time format"})));
        assert_eq!(err("GET", &format!("{base}?start=x"), ""), (400, json!({"error": "invalid start time format"})), "even alone");
    }
    for op in ["sources", "available", "data", "iteration-times"] {
        assert_eq!(err("GET", &format!("/v1/workloads/%20/metrics/{op}"), ""), (400, json!({"error": "workload_uid is required"})), "{op}");
        let (status, body) = err("GET", &format!("/v1/workloads//metrics/{op}"), "");
        assert_eq!(status, 404, "{op}: {body}");
        assert!(body["error"].as_str().unwrap().starts_with("endpoint not found"), "{body}");
    }
    // The ingest routes.
    for path in ["/v1/wandb/metrics", "/v1/wandb/logs"] {
        assert_eq!(
            err("POST", path, r#"{"metrics": []}"#),
            (400, json!({"error": "either workload_uid or pod_name is required"})),
            "{path}"
        );
        assert_eq!(err("POST", path, r#"{"workload_uid": " "}"#).0, 400);
        let (status, body) = err("POST", path, "{oops");
        assert_eq!(status, 400);
        assert!(body["error"].as_str().unwrap().starts_with("invalid request format: "), "{body}");
    }
    let (status, body) = err("POST", "/v1/wandb/metrics", r#"{"workload_uid": "w", "metrics": [{"name": "loss"}]}"#);
    assert_eq!(status, 400);
    assert!(body["error"].as_str().unwrap().starts_with("invalid request format: "), "{body}");
    let (status, _) = err("POST", "/v1/wandb/metrics", r#"{"workload_uid": "w", "metrics": [{"name": "loss", "value": NaN}]}"#);
    assert_eq!(status, 400, "NaN is not JSON");
    let (status, body) = err("POST", "/v1/wandb/logs", r#"{"workload_uid": "w", "logs": [{"data": {}}]}"#);
    assert_eq!((status, body["error"].as_str().unwrap().contains("step")), (400, true), "{body}");
    let (status, body) = err("POST", "/v1/wandb/batch", "[1]");
    assert_eq!(status, 400);
    assert!(body["error"].as_str().unwrap().starts_with("invalid request format: "), "{body}");
    // Nothing was stored by any of them.
    assert!(s.store().run_by_uid("default", "w").unwrap().is_none());
}
