//! The spine end to end over real HTTP, on SQLite and on PostgreSQL: ClearML events,
//! SageMaker BatchPutMetrics, Lens metrics data, Dioptra job metrics, one cross-API read,
//! and every other generated route answering its API's native "not implemented".

mod common;

use common::Server;
use serde_json::{json, Value};

both_backends! {
    clearml_events => clearml_events;
    clearml_versions => clearml_versions;
    sagemaker_scalar_read_by_every_api => sagemaker_scalar_read_by_every_api;
    sagemaker_rejects_bad_requests => sagemaker_rejects_bad_requests;
    dioptra_job_metrics => dioptra_job_metrics;
    every_route_answers_natively => every_route_answers_natively;
}

fn meta(v: &Value) -> &Value {
    &v["meta"]
}

fn clearml_events(s: &Server) {
    // add: one event, as the SDK sends it (GET with a body, plus "method").
    let r = s.send("GET", "/events.add", "application/json", &json!({"task": "t1", "type": "training_stats_scalar", "metric": "loss", "variant": "train", "iter": 0, "value": 1.5, "method": "get"}).to_string());
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json()["data"]["added"], 1, "{}", r.text);
    // add_batch: JSON lines; one line lacks a type.
    let lines = [
        json!({"task": "t1", "type": "training_stats_scalar", "metric": "loss", "variant": "train", "iter": 1, "value": 1.25, "timestamp": 1700000001000i64, "method": "get"}),
        json!({"task": "t1", "type": "training_stats_scalar", "metric": "loss", "variant": "train", "iter": 2, "value": 1.0, "timestamp": 1700000002000i64}),
        json!({"task": "t1", "type": "log", "msg": "hello", "level": "info", "timestamp": 1700000003000i64}),
        json!({"task": "t1", "type": "log", "msg": "world", "level": "info", "timestamp": 1700000004000i64}),
        json!({"task": "t1", "metric": "no type"}),
    ];
    let body = lines.iter().map(|l| l.to_string()).collect::<Vec<_>>().join("\n");
    let r = s.send("POST", "/v2.13/events.add_batch", "application/json-lines", &body);
    assert_eq!(r.status, 200, "{}", r.text);
    let data = &r.json()["data"];
    assert_eq!(data["added"], 4);
    assert_eq!(data["errors"], 1);
    assert_eq!(data["errors_info"]["Event must have a 'type' field"], 1);
    // A batch of which nothing can be added is 400/131 with the reasons counted.
    let bad = [json!({"task": "t1"}), json!({"task": "t1", "type": "nope"}), json!({"type": "log"})];
    let body = bad.iter().map(|l| l.to_string()).collect::<Vec<_>>().join("\n");
    let r = s.send("POST", "/events.add_batch", "application/json-lines", &body);
    assert_eq!((r.status, r.json()["meta"]["result_subcode"].clone()), (400, json!(131)), "{}", r.text);
    let msg = r.json()["meta"]["result_msg"].as_str().unwrap().to_string();
    assert!(msg.starts_with("Events not added: ") && msg.contains("Event must have a 'type' field=1") && msg.contains("Invalid event type nope=1"), "{msg}");
    // The worker header names the worker of events that do not.
    let resp = ureq::post(&s.url("/events.add")).set("X-ClearML-Worker", "gpu-7").send_string(&json!({"task": "t-worker", "type": "log", "msg": "w"}).to_string()).unwrap();
    assert_eq!(resp.status(), 200);
    // An empty body takes its fields from the query string.
    let r = s.send("GET", "/events.get_task_log?task=t-worker&batch_size=5", "application/json", "");
    assert_eq!(r.json()["data"]["events"][0]["worker"], "gpu-7", "{}", r.text);
    // An empty batch and a line that is not JSON are refused whole.
    let r = s.send("POST", "/events.add_batch", "application/json-lines", "");
    assert_eq!((r.status, r.json()["meta"]["result_subcode"].clone()), (400, json!(17)), "{}", r.text);
    let r = s.send("POST", "/events.add_batch", "application/json-lines", "{\"task\": \"t1\", \"type\": \"log\"}\n{oops");
    assert_eq!(r.status, 400);
    assert!(r.json()["meta"]["result_msg"].as_str().unwrap().contains("in batch item #1"), "{}", r.text);
    let r = s.send("POST", "/events.add_batch", "application/json-lines", "[1, 2]");
    assert_eq!(r.json()["meta"]["result_msg"], "json lines must contain objects, found: list");
    // Re-sending the same scalar (task, iter, metric, variant) overwrites it.
    let r = s.send("POST", "/events.add_batch", "application/json-lines", &lines[1].to_string());
    assert_eq!(r.status, 200, "{}", r.text);

    // get_task_events: scroll through every event two at a time, oldest first.
    let mut seen = Vec::new();
    let mut scroll: Option<String> = None;
    for _ in 0..10 {
        let mut req = json!({"task": "t1", "batch_size": 2, "order": "asc"});
        if let Some(id) = &scroll {
            req["scroll_id"] = json!(id);
        }
        let r = s.json("POST", "/events.get_task_events", req);
        assert_eq!(r.status, 200, "{}", r.text);
        let d = r.json()["data"].clone();
        assert_eq!(d["total"], 5.0);
        let events = d["events"].as_array().unwrap().clone();
        if events.is_empty() {
            assert_eq!(d["scroll_id"], "FFFF");
            break;
        }
        seen.extend(events);
        scroll = d["scroll_id"].as_str().map(str::to_string);
    }
    assert_eq!(seen.len(), 5, "{seen:?}");
    let iters: Vec<Value> = seen.iter().filter(|e| e["type"] == "training_stats_scalar").map(|e| e["iter"].clone()).collect();
    assert_eq!(iters.len(), 3);
    let first_scalar = seen.iter().find(|e| e["iter"] == 1).unwrap();
    assert_eq!(first_scalar["method"], "get", "unknown fields are kept: {first_scalar}");
    assert_eq!(first_scalar["worker"], "<unknown>", "the server sets the worker: {first_scalar}");
    assert!(first_scalar["@timestamp"].as_str().unwrap().ends_with('Z'));
    assert_eq!(first_scalar["value"], 1.25);
    assert_eq!(first_scalar["timestamp"], 1700000001000i64);

    // An unknown task is 400/101, not 404.
    let r = s.json("POST", "/events.get_task_events", json!({"task": "nope"}));
    assert_eq!(r.status, 400);
    assert_eq!(meta(&r.json())["result_subcode"], 101);
    // A missing required field is 400/11.
    let r = s.json("POST", "/events.get_task_events", json!({}));
    assert_eq!((r.status, meta(&r.json())["result_subcode"].clone()), (400, json!(11)), "{}", r.text);

    // get_task_log in its three versions.
    let r = s.json("POST", "/v1.5/events.get_task_log", json!({"task": "t1"}));
    let d = &r.json()["data"];
    assert_eq!(d["events"][0]["msg"], "world", "1.5 defaults to newest first: {d}");
    assert_eq!(d["total"], 2);
    let r = s.json("POST", "/v1.7/events.get_task_log", json!({"task": "t1", "from": "head", "order": "asc"}));
    assert_eq!(r.json()["data"]["events"][0]["msg"], "hello");
    let r = s.json("POST", "/v2.9/events.get_task_log", json!({"task": "t1", "batch_size": 1}));
    let d = &r.json()["data"];
    assert_eq!(d["events"][0]["msg"], "world");
    assert!(d.get("scroll_id").is_none());
    let r = s.json("POST", "/v2.9/events.get_task_log", json!({"task": "t1", "batch_size": 5, "from_timestamp": 1700000004000i64}));
    let msgs: Vec<Value> = r.json()["data"]["events"].as_array().unwrap().iter().map(|e| e["msg"].clone()).collect();
    assert_eq!(msgs, vec![json!("hello")], "strictly earlier than from_timestamp");
    // A page is completed with the events sharing its last timestamp (batch_size 1 → 3 events).
    let same_ts: Vec<Value> = (0..3).map(|i| json!({"task": "t1", "type": "log", "msg": format!("tie {i}"), "timestamp": 1600000000000i64})).collect();
    let body = same_ts.iter().map(|l| l.to_string()).collect::<Vec<_>>().join("\n");
    assert_eq!(s.send("POST", "/events.add_batch", "application/json-lines", &body).status, 200);
    let r = s.json("POST", "/v2.9/events.get_task_log", json!({"task": "t1", "batch_size": 1, "from_timestamp": 1700000000000i64}));
    let d = &r.json()["data"];
    assert_eq!((d["returned"].clone(), d["total"].clone()), (json!(3), json!(5.0)), "{d}");

    // scalar_metrics_iter_histogram: metric → variant → {name, x, y}.
    let r = s.json("POST", "/events.scalar_metrics_iter_histogram", json!({"task": "t1"}));
    let d = &r.json()["data"];
    assert_eq!(d["loss"]["train"]["x"], json!([0, 1, 2]), "{d}");
    assert_eq!(d["loss"]["train"]["y"], json!([1.5, 1.25, 1.0]));
    // `samples` 0 returns all the points, as the spec says; a negative amount is refused.
    let r = s.json("POST", "/events.scalar_metrics_iter_histogram", json!({"task": "t1", "samples": 0}));
    assert_eq!(r.json()["data"]["loss"]["train"]["x"], json!([0, 1, 2]), "{}", r.text);
    let r = s.json("POST", "/events.scalar_metrics_iter_histogram", json!({"task": "t1", "samples": -1}));
    assert_eq!(r.status, 400);
}

fn clearml_versions(s: &Server) {
    s.json("POST", "/events.add", json!({"task": "tv", "type": "log", "msg": "m"}));
    // No version: the highest the spec defines; requested version echoed.
    let r = s.json("POST", "/events.get_task_log", json!({"task": "tv"}));
    let m = r.json()["meta"].clone();
    assert_eq!((m["endpoint"]["requested_version"].clone(), m["endpoint"]["actual_version"].clone()), (json!(specmill::generated::clearml::MAX_VERSION), json!("2.9")));
    // Highest ≤ requested; below 2.1 versions are floats.
    let r = s.json("POST", "/v1.6/events.get_task_log", json!({"task": "tv"}));
    let m = r.json()["meta"].clone();
    assert_eq!((m["endpoint"]["requested_version"].clone(), m["endpoint"]["actual_version"].clone()), (json!(1.6), json!(1.5)));
    let r = s.json("POST", "/v2.13/events.get_task_log/", json!({"task": "tv"}));
    assert_eq!(r.json()["meta"]["endpoint"]["actual_version"], "2.9");
    // Above the max: resolved to the highest.
    let r = s.json("POST", "/v9.99/events.get_task_log", json!({"task": "tv"}));
    assert_eq!(r.json()["meta"]["endpoint"]["actual_version"], "2.9");
    // Below the lowest: 404 in the envelope.
    let r = s.json("POST", "/v1.5/events.add", json!({"task": "tv", "type": "log"}));
    assert_eq!(r.status, 404);
    assert_eq!(r.json()["meta"]["result_msg"], "Unable to find endpoint for name events.add and version 1.5");
    assert_eq!(r.json()["meta"]["endpoint"]["actual_version"], Value::Null);
    // Unknown endpoint: the same 404 envelope.
    let r = s.json("POST", "/events.nope", json!({}));
    assert_eq!((r.status, r.json()["meta"]["result_code"].clone()), (404, json!(404)));
    // OPTIONS: 200, empty.
    let r = s.send("OPTIONS", "/events.add", "application/json", "");
    assert_eq!((r.status, r.text.as_str()), (200, ""));
    // The transaction header is echoed as meta.trx.
    let resp = ureq::post(&s.url("/events.get_task_log")).set("X-ClearML-Trx", "trx-1").send_string(r#"{"task":"tv"}"#).unwrap();
    let v: Value = serde_json::from_str(&resp.into_string().unwrap()).unwrap();
    assert_eq!(v["meta"]["trx"], "trx-1");
}

fn sagemaker_scalar_read_by_every_api(s: &Server) {
    let r = s.send(
        "PUT",
        "/BatchPutMetrics",
        "application/json",
        r#"{"TrialComponentName": "my-tc-1", "MetricData": [{"MetricName": "loss", "Timestamp": 1704164645.678901, "Step": 0, "Value": 0.5}, {"MetricName": "loss", "Timestamp": 1704164646, "Step": 1, "Value": 0.25}, {"MetricName": "acc", "Timestamp": 1704164647.125, "Value": 1}, {"MetricName": "acc", "Timestamp": 1704164648, "Step": 2, "Value": "NaN"}]}"#,
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.header("x-amzn-RequestId").is_some());
    // Re-sending the same batch (a client retry) adds nothing.
    let again = s.send("PUT", "/BatchPutMetrics", "application/json", r#"{"TrialComponentName": "my-tc-1", "MetricData": [{"MetricName": "loss", "Timestamp": 1704164646, "Step": 1, "Value": 0.25}]}"#);
    assert_eq!(again.status, 200);

    // ClearML: the trial component is a task.
    let r = s.json("POST", "/events.get_task_events", json!({"task": "my-tc-1", "event_type": "training_stats_scalar"}));
    let d = &r.json()["data"];
    assert_eq!(d["total"], 4.0, "{d}");
    let loss: Vec<(Value, Value)> =
        d["events"].as_array().unwrap().iter().filter(|e| e["metric"] == "loss").map(|e| (e["iter"].clone(), e["value"].clone())).collect();
    assert_eq!(loss, vec![(json!(0), json!(0.5)), (json!(1), json!(0.25))]);

    // Lens, under both mounts: the workload uid is the trial component name.
    for prefix in ["/v1", "/lens/v1"] {
        let r = s.send("GET", &format!("{prefix}/workloads/my-tc-1/metrics/data?metrics=loss"), "application/json", "");
        assert_eq!(r.status, 200, "{}", r.text);
        let v = r.json();
        assert_eq!(v["total_count"], 2);
        assert_eq!(v["data"][0], json!({"metric_name": "loss", "value": 0.5, "timestamp": 1704164645678i64, "iteration": 0, "data_source": "sagemaker"}));
    }
    let r = s.send("GET", "/v1/workloads/my-tc-1/metrics/data?start=1704164646000&end=1704164647200", "application/json", "");
    let names: Vec<Value> = r.json()["data"].as_array().unwrap().iter().map(|p| p["metric_name"].clone()).collect();
    assert_eq!(names, vec![json!("loss"), json!("acc")], "{}", r.text);
    let r = s.send("GET", "/v1/workloads/my-tc-1/metrics/data?start=abc&end=1", "application/json", "");
    assert_eq!((r.status, r.json()), (400, json!({"error": "invalid start time format"})));

    // Dioptra: the run's numeric id is the job id; latest = highest step, NaN as "nan".
    let run = s.store().run_by_uid("default", "my-tc-1").unwrap().expect("run exists");
    let r = s.send("GET", &format!("/api/v1/jobs/{}/metrics", run.id), "application/json", "");
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json(), json!([{"name": "acc", "value": "nan"}, {"name": "loss", "value": 0.25}]));
}

fn sagemaker_rejects_bad_requests(s: &Server) {
    let items: Vec<Value> = (0..11).map(|i| json!({"MetricName": "m", "Timestamp": 1, "Step": i, "Value": 1})).collect();
    let r = s.json("PUT", "/BatchPutMetrics", json!({"TrialComponentName": "tc", "MetricData": items}));
    assert_eq!(r.status, 400);
    assert_eq!(r.header("x-amzn-ErrorType"), Some("ValidationException"));
    assert_eq!(r.json()["__type"], "ValidationException");
    assert!(r.json()["message"].as_str().unwrap().contains("MetricData"), "{}", r.text);
    let r = s.send("PUT", "/BatchPutMetrics", "application/json", "{not json");
    assert_eq!((r.status, r.header("x-amzn-ErrorType")), (400, Some("ValidationException")));
    // Nothing was stored by either.
    assert!(s.store().run_by_uid("default", "tc").unwrap().is_none());
}

fn dioptra_job_metrics(s: &Server) {
    let run = s.store().ensure_run("default", "job-run", "test").unwrap();
    let path = format!("/api/v1/jobs/{}/metrics", run.id);
    let r = s.json("POST", &path, json!({"name": "accuracy", "value": 0.5, "step": 1, "timestamp": "2024-01-15T10:30:00+02:00"}));
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json(), json!({"name": "accuracy", "value": 0.5}));
    s.json("POST", &path, json!({"name": "accuracy", "value": "inf", "step": 3}));
    s.json("POST", &path, json!({"name": "accuracy", "value": 0.7, "step": 2}));
    s.json("POST", &path, json!({"name": "loss", "value": "-Infinity"}));
    // Re-posting step 2 overwrites it.
    s.json("POST", &path, json!({"name": "accuracy", "value": 0.8, "step": 2}));
    let r = s.send("GET", &path, "application/json", "");
    assert_eq!(r.json(), json!([{"name": "accuracy", "value": "inf"}, {"name": "loss", "value": "-inf"}]));
    // Readable through Lens too (Dioptra wrote it).
    let r = s.send("GET", "/v1/workloads/job-run/metrics/data?metrics=accuracy", "application/json", "");
    let vals: Vec<Value> = r.json()["data"].as_array().unwrap().iter().map(|p| p["value"].clone()).collect();
    assert_eq!(vals, vec![json!(0.5), json!(0.8)], "{}", r.text);
    // Errors in Dioptra's own shapes.
    let r = s.json("POST", "/api/v1/jobs/99999/metrics", json!({"name": "a", "value": 1}));
    assert_eq!(r.status, 404);
    assert_eq!(r.json()["error"], "EntityDoesNotExistError");
    assert_eq!(r.json()["originating_path"], "/api/v1/jobs/99999/metrics?");
    let r = s.json("POST", &path, json!({"name": "a", "value": 1, "foo": 2}));
    assert_eq!((r.status, r.json()), (400, json!({"errors": {"foo": ["Unknown field."]}})));
    let r = s.json("POST", &path, json!({"name": "train/loss", "value": 1}));
    assert_eq!(r.status, 400);
    assert!(r.json()["errors"]["name"].is_array(), "{}", r.text);
    let r = s.json("POST", &path, json!({"name": "a", "value": "abc"}));
    assert_eq!(r.status, 400, "{}", r.text);
    let r = s.send("GET", "/api/v1/jobs/424242/metrics", "application/json", "");
    assert_eq!((r.status, r.json()), (200, json!([])));
}

/// Operation versions implemented so far, by API; every other generated route must answer
/// its API's native "not implemented" (never a router 404, never a panic).
const IMPLEMENTED: &[(&str, &[&str])] = &[
    (
        "clearml",
        &[
            "add_v2_1",
            "add_batch_v2_1",
            "get_task_events_v2_1",
            "get_task_log_v1_5",
            "get_task_log_v1_7",
            "get_task_log_v2_9",
            "scalar_metrics_iter_histogram_v2_1",
            "login_v2_1",
            "delete_for_task_v2_1",
            "debug_images_v2_1",
            "debug_images_v2_7",
            "get_debug_image_sample_v2_12",
            "next_debug_image_sample_v2_12",
            "get_task_metrics_v2_7",
            "download_task_log_v2_1",
            "get_task_plots_v2_1",
            "get_multi_task_plots_v2_1",
            "get_vector_metrics_and_variants_v2_1",
            "vector_metrics_iter_histogram_v2_1",
            "multi_task_scalar_metrics_iter_histogram_v2_1",
            "get_task_latest_scalar_values_v2_1",
            "get_scalar_metrics_and_variants_v2_1",
            "get_scalar_metric_data_v2_1",
        ],
    ),
    ("sagemaker", &["batch_put_metrics", "batch_get_metrics"]),
    (
        "lens",
        &[
            "get_workload_metrics_data",
            "get_workload_metrics_sources",
            "get_workload_available_metrics",
            "get_workload_iteration_times",
            "post_wandb_metrics",
            "post_wandb_logs",
            "post_wandb_batch",
        ],
    ),
    (
        "dioptra",
        &[
            "append_job_metric",
            "get_job_latest_metrics",
            "get_job_metric_snapshots",
            "get_experiment_metrics",
            "create_experiment",
            "create_experiment_job",
            "attach_experiment_run",
            "get_job",
            "auth_login",
            "auth_logout",
        ],
    ),
];

/// APIs every operation of which is implemented.
const FULLY_IMPLEMENTED: &[&str] = &["comet"];

fn implemented(api: &str, method: &str) -> bool {
    FULLY_IMPLEMENTED.contains(&api) || IMPLEMENTED.iter().any(|(a, ms)| *a == api && ms.contains(&method))
}

fn every_route_answers_natively(s: &Server) {
    let (mut implemented_seen, mut unimplemented_seen) = (0, 0);
    for route in specmill::generated::ROUTES.iter().flat_map(|r| r.iter()) {
        let method = route.method.unwrap_or("POST");
        let r = s.send(method, route.example_path, route.example_content_type, route.example_body);
        let what = format!("{method} {} ({}.{}): {} {}", route.example_path, route.api, route.operation, r.status, r.text);
        // Every generated route is routed (not the fallback's 404) and answers in its own
        // format, never with a server error, whatever the minimal example asks for.
        assert!(!r.text.contains("endpoint not found"), "{what}");
        if implemented(route.api, route.trait_method) {
            assert!(r.status < 500, "{what}");
            assert_ne!(r.status, 501, "{what}");
            implemented_seen += 1;
            continue;
        }
        assert_eq!(r.status, 501, "{what}");
        match route.api {
            "clearml" => {
                let m = r.json()["meta"].clone();
                assert_eq!(m["result_code"], 501, "{what}");
                assert_eq!(m["endpoint"]["actual_version"], json!(route.version.unwrap()), "{what}");
            }
            "sagemaker" => assert_eq!(r.header("x-amzn-ErrorType"), Some("NotImplemented"), "{what}"),
            "lens" => assert!(r.json()["error"].as_str().unwrap().starts_with("not implemented"), "{what}"),
            "dioptra" => assert_eq!(r.json()["error"], "NotImplementedError", "{what}"),
            "comet" => assert!(r.json()["msg"].as_str().unwrap().starts_with("not implemented"), "{what}"),
            other => panic!("no native format known for API {other}"),
        }
        unimplemented_seen += 1;
    }
    let total: usize = specmill::generated::ROUTES.iter().map(|r| r.len()).sum();
    assert_eq!(implemented_seen + unimplemented_seen, total);
    assert!(implemented_seen > 80, "only {implemented_seen} implemented routes answered");
}
