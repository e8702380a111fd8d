//! The ClearML events reads and deletes beyond the vertical slice, over real HTTP on SQLite
//! and PostgreSQL: scalar data and latest values, metric listings, the multi-task and
//! vector histograms, plots, debug images (2.1, 2.7, samples), delete_for_task and
//! download_task_log; their scroll ids (paging, tampering, other tasks, other tenants) and
//! every error they answer. Well-formed requests go through the typed client
//! (`specmill-client`); requests the types cannot express, and the error replies' exact
//! bytes, go over raw HTTP.

mod common;

use std::collections::BTreeSet;

use common::{block_on, tampered, typed, untyped, Backend, Server};
use serde_json::{json, Value};
use specmill_client::{ClearMlError, Error};

/// The reply of a ClearML call through the typed client, as JSON:
/// `events!(s, get_task_metrics_v2_7, json!({…}))` sends to `/v2.7/events.get_task_metrics`.
macro_rules! events {
    ($s:expr, $method:ident, $body:expr) => {{
        let client = $s.client();
        let reply = block_on(client.events().$method(&typed($body)));
        untyped(&reply.unwrap_or_else(|e| panic!("{}: {e}", stringify!($method))))
    }};
}

both_backends! {
    get_scalar_metric_data => get_scalar_metric_data;
    get_task_latest_scalar_values => get_task_latest_scalar_values;
    get_task_metrics => get_task_metrics;
    metrics_and_variants => metrics_and_variants;
    multi_task_scalar_metrics_iter_histogram => multi_task_scalar_metrics_iter_histogram;
    vector_metrics_iter_histogram => vector_metrics_iter_histogram;
    get_task_plots => get_task_plots;
    get_multi_task_plots => get_multi_task_plots;
    debug_images => debug_images;
    debug_image_samples => debug_image_samples;
    delete_for_task => delete_for_task;
    download_task_log => download_task_log;
}

const T0: i64 = 1_700_000_000_000;

/// `events.add_batch` through the typed client (a JSON-lines body of typed events).
fn add(s: &Server, events: &[Value]) {
    let batch: Vec<specmill_client::clearml::types::AddV2_1Request> = events.iter().cloned().map(typed).collect();
    let reply = block_on(s.client().events().add_batch_v2_1(&batch)).unwrap_or_else(|e| panic!("add_batch: {e}"));
    assert_eq!(reply.added, Some(events.len() as i64), "{reply:?}");
}

fn scalar(task: &str, metric: &str, variant: &str, iter: i64, value: f64, ts: i64) -> Value {
    json!({"task": task, "type": "training_stats_scalar", "metric": metric, "variant": variant, "iter": iter, "value": value, "timestamp": ts})
}

fn plot(task: &str, metric: &str, variant: &str, iter: i64) -> Value {
    json!({"task": task, "type": "plot", "metric": metric, "variant": variant, "iter": iter, "plot_str": format!("{{\"data\": [{iter}]}}"), "timestamp": T0 + iter})
}

fn image(task: &str, metric: &str, variant: &str, iter: i64, url: &str) -> Value {
    json!({"task": task, "type": "training_debug_image", "metric": metric, "variant": variant, "iter": iter, "url": url, "timestamp": T0 + iter})
}

/// `data` of a 200 reply (the version that ran is checked when `version` is given).
fn call_v(s: &Server, path: &str, body: Value, version: Option<&str>) -> Value {
    let r = s.json("POST", path, body.clone());
    assert_eq!(r.status, 200, "{path} {body}: {}", r.text);
    let v = r.json();
    assert_eq!(v["meta"]["result_code"], 200);
    if let Some(version) = version {
        assert_eq!(v["meta"]["endpoint"]["actual_version"], version, "{path}");
    }
    v["data"].clone()
}

fn call(s: &Server, path: &str, body: Value) -> Value {
    call_v(s, path, body, None)
}

/// The message of an error reply with this code and subcode.
fn fails(s: &Server, path: &str, body: Value, code: u16, subcode: u64) -> String {
    let r = s.json("POST", path, body.clone());
    assert_eq!(r.status, code, "{path} {body}: {}", r.text);
    let v = r.json();
    assert_eq!(
        (v["meta"]["result_code"].as_u64(), v["meta"]["result_subcode"].as_u64()),
        (Some(code as u64), Some(subcode)),
        "{path} {body}: {}",
        r.text
    );
    assert_eq!(v["data"], json!({}));
    v["meta"]["result_msg"].as_str().unwrap_or_default().to_string()
}

fn str_of(v: &Value) -> String {
    v.as_str().unwrap_or_else(|| panic!("not a string: {v}")).to_string()
}

/// Pages of a scroll: every page's items (under `items`), until the `"FFFF"` page.
fn scroll_all(s: &Server, path: &str, body: Value, items: &str) -> (Vec<Vec<Value>>, Vec<Value>) {
    let mut pages = Vec::new();
    let mut datas = Vec::new();
    let mut scroll: Option<String> = None;
    loop {
        let mut req = body.clone();
        if let Some(id) = &scroll {
            req["scroll_id"] = json!(id);
        }
        let d = call(s, path, req);
        let page = d[items].as_array().unwrap_or_else(|| panic!("no {items}: {d}")).clone();
        assert_eq!(d["returned"], json!(page.len()), "{d}");
        let id = str_of(&d["scroll_id"]);
        datas.push(d);
        if page.is_empty() {
            assert_eq!(id, "FFFF");
            break;
        }
        pages.push(page);
        assert_ne!(id, "FFFF");
        scroll = Some(id);
        assert!(pages.len() < 20, "the scroll does not end");
    }
    (pages, datas)
}

fn get_scalar_metric_data(s: &Server) {
    let mut evs = Vec::new();
    for i in 0..601 {
        for v in ["a", "b"] {
            evs.push(scalar("sm", "loss", v, i, i as f64 / 2.0, T0 + i * 1000));
        }
    }
    for i in 0..10 {
        evs.push(scalar("sm", "acc", "x", i, 1.0, T0));
    }
    add(s, &evs);
    add(s, &[scalar("sm2", "loss", "a", 0, 1.0, T0)]);

    // 1202 loss events: pages of 500, 500 and 202, then "FFFF"; highest iteration first.
    let (pages, datas) = scroll_all(s, "/v2.1/events.get_scalar_metric_data", json!({"task": "sm", "metric": "loss"}), "events");
    assert_eq!(pages.iter().map(Vec::len).collect::<Vec<_>>(), vec![500, 500, 202]);
    assert!(datas.iter().all(|d| d["total"] == 1202), "{:?}", datas.iter().map(|d| &d["total"]).collect::<Vec<_>>());
    let seen: Vec<Value> = pages.concat();
    let iters: Vec<i64> = seen.iter().map(|e| e["iter"].as_i64().unwrap()).collect();
    assert!(iters.windows(2).all(|w| w[0] >= w[1]), "not by iteration descending");
    let keys: BTreeSet<(String, i64)> = seen.iter().map(|e| (str_of(&e["variant"]), e["iter"].as_i64().unwrap())).collect();
    assert_eq!(keys.len(), 1202, "every event exactly once");
    assert!(seen.iter().all(|e| e["metric"] == "loss" && e["task"] == "sm" && e["type"] == "training_stats_scalar"));
    let top: BTreeSet<String> = seen[..2].iter().map(|e| str_of(&e["variant"])).collect();
    assert_eq!(top, ["a", "b"].iter().map(|s| s.to_string()).collect());
    for e in &seen[..2] {
        assert_eq!((e["iter"].clone(), e["value"].clone(), e["timestamp"].clone()), (json!(600), json!(300.0), json!(T0 + 600_000)), "{e}");
    }
    let last = seen.last().unwrap();
    assert_eq!((last["iter"].clone(), last["value"].clone()), (json!(0), json!(0.0)));

    // An empty metric selects every metric (clearml-server filters only on a non-empty one).
    let d = call(s, "/events.get_scalar_metric_data", json!({"task": "sm", "metric": ""}));
    assert_eq!((d["total"].clone(), d["returned"].clone()), (json!(1212), json!(500)));
    // An exhausted scroll stays exhausted.
    let d = call(s, "/events.get_scalar_metric_data", json!({"task": "sm", "metric": "loss", "scroll_id": "FFFF"}));
    assert_eq!((d["events"].clone(), d["scroll_id"].clone()), (json!([]), json!("FFFF")));

    // Errors.
    let first = str_of(&datas[0]["scroll_id"]);
    // The spec makes `task` and `metric` optional: no task names no task, no metric is every metric.
    let msg = fails(s, "/events.get_scalar_metric_data", json!({}), 400, 101);
    assert_eq!(msg, "Invalid task id: ids=()");
    let every = call(s, "/events.get_scalar_metric_data", json!({"task": "sm"}));
    let all = call(s, "/events.get_scalar_metric_data", json!({"task": "sm", "metric": ""}));
    assert_eq!((every["total"].clone(), every["returned"].clone()), (all["total"].clone(), all["returned"].clone()));
    let msg = fails(s, "/events.get_scalar_metric_data", json!({"task": "nope", "metric": "loss"}), 400, 101);
    assert_eq!(msg, "Invalid task id: ids=(nope)");
    let bad = tampered(&first);
    let msg = fails(s, "/events.get_scalar_metric_data", json!({"task": "sm", "metric": "loss", "scroll_id": bad}), 400, 1104);
    assert_eq!(msg, format!("Invalid scroll id: scroll_id={bad}"));
    fails(s, "/events.get_scalar_metric_data", json!({"task": "sm", "metric": "loss", "scroll_id": "garbage"}), 400, 1104);
    // a scroll of another task, or of another endpoint, is not this scroll
    fails(s, "/events.get_scalar_metric_data", json!({"task": "sm2", "metric": "loss", "scroll_id": first}), 400, 1104);
    let other = call(s, "/events.get_task_events", json!({"task": "sm", "batch_size": 1}));
    fails(s, "/events.get_scalar_metric_data", json!({"task": "sm", "metric": "loss", "scroll_id": other["scroll_id"]}), 400, 1104);
    fails(s, "/events.get_scalar_metric_data", json!({"task": "sm", "metric": "loss", "scroll_id": 5}), 400, 12);
}

fn get_task_latest_scalar_values(s: &Server) {
    let mut evs: Vec<Value> = (0..150).map(|i| scalar("lv", "loss", "train", i, i as f64, T0 + i * 10)).collect();
    evs.push(scalar("lv", "neg", "v", 0, -1.0, T0));
    evs.push(scalar("lv", "neg", "v", 1, -3.0, T0 + 1));
    evs.push(plot("lv", "p", "v", 500));
    add(s, &evs);
    // A non-finite value (written through SageMaker) at the highest step of its series.
    let r = s.send(
        "PUT",
        "/BatchPutMetrics",
        "application/json",
        r#"{"TrialComponentName": "lv", "MetricData": [{"MetricName": "nanm", "Timestamp": 1700000000, "Step": 4, "Value": 2.0}, {"MetricName": "nanm", "Timestamp": 1700000000, "Step": 5, "Value": "NaN"}]}"#,
    );
    assert_eq!(r.status, 200, "{}", r.text);

    let d = call_v(s, "/v2.1/events.get_task_latest_scalar_values", json!({"task": "lv"}), Some("2.1"));
    // last_value: at the highest iteration; last_100_value: mean of the finite values among
    // the last 100 (50..149 → 99.5); last_10_value: what clearml-server sends (the last
    // value); values ≤ 0 count.
    assert_eq!(
        d["metrics"],
        json!([
            {"name": "loss", "variants": [{"name": "train", "last_value": 149.0, "last_100_value": 99.5, "last_10_value": 149.0}]},
            // a NaN last value is left out (the spec types it as a number)
            {"name": "nanm", "variants": [{"name": "", "last_100_value": 2.0}]},
            {"name": "neg", "variants": [{"name": "v", "last_value": -3.0, "last_100_value": -2.0, "last_10_value": -3.0}]},
        ]),
        "{d}"
    );
    assert_eq!(d["last_iter"], 500, "the highest iteration over every event type");
    assert_eq!((d["name"].clone(), d["status"].clone()), (json!(""), json!("in_progress")));
    assert_eq!(d["last_timestamp"], json!((T0 + 1490) as f64));

    let msg = fails(s, "/events.get_task_latest_scalar_values", json!({}), 400, 11);
    assert_eq!(msg, "Missing required fields: missing=(task)");
    fails(s, "/events.get_task_latest_scalar_values", json!({"task": "nope"}), 400, 101);
}

fn get_task_metrics(s: &Server) {
    add(
        s,
        &[
            scalar("tm1", "loss", "a", 0, 1.0, T0),
            scalar("tm1", "acc", "a", 0, 1.0, T0),
            scalar("tm1", "acc", "b", 0, 1.0, T0),
            plot("tm1", "conf", "x", 1),
            json!({"task": "tm1", "type": "log", "msg": "hi", "timestamp": T0}),
            image("tm2", "img", "v", 0, "u"),
        ],
    );
    let path = "/v2.7/events.get_task_metrics";
    let d = events!(s, get_task_metrics_v2_7, json!({"tasks": ["tm1", "tm2"], "event_type": "training_stats_scalar"}));
    assert_eq!(d, json!({"metrics": [{"task": "tm1", "metrics": ["acc", "loss"]}, {"task": "tm2", "metrics": []}]}));
    let d = call(s, path, json!({"tasks": ["tm2", "tm1"], "event_type": "plot"}));
    assert_eq!(d, json!({"metrics": [{"task": "tm2", "metrics": []}, {"task": "tm1", "metrics": ["conf"]}]}));
    let d = call(s, path, json!({"tasks": ["tm2"], "event_type": "training_debug_image"}));
    assert_eq!(d, json!({"metrics": [{"task": "tm2", "metrics": ["img"]}]}));
    let d = call(s, path, json!({"tasks": ["tm1"], "event_type": "log"}));
    assert_eq!(d, json!({"metrics": [{"task": "tm1", "metrics": [""]}]}), "logs have the empty metric");
    let d = call(s, path, json!({"tasks": ["tm1"], "event_type": "training_stats_vector"}));
    assert_eq!(d, json!({"metrics": [{"task": "tm1", "metrics": []}]}));

    // Without `event_type` (optional in the spec) every type counts.
    let every = call(s, path, json!({"tasks": ["tm1"]}));
    let every: Vec<String> = every["metrics"][0]["metrics"].as_array().unwrap().iter().map(str_of).collect();
    assert!(every.len() >= 2 && every.windows(2).all(|w| w[0] < w[1]), "{every:?}");
    fails(s, path, json!({"event_type": "plot"}), 400, 11);
    fails(s, path, json!({"tasks": [], "event_type": "plot"}), 400, 12);
    let msg = fails(s, path, json!({"tasks": ["tm1", "x1", "x2"], "event_type": "plot"}), 400, 101);
    assert_eq!(msg, "Invalid task id: ids=(x1, x2)");
    let r = s.json("POST", path, json!({"tasks": ["tm1"], "event_type": "bogus"}));
    assert_eq!(r.status, 400, "{}", r.text);
}

fn metrics_and_variants(s: &Server) {
    let mut evs = vec![scalar("mv", "loss", "b", 0, 1.0, T0), scalar("mv", "loss", "a", 1, 1.0, T0), scalar("mv", "acc", "x", 0, 1.0, T0)];
    for (m, v, it) in [("hist", "v2", 0), ("hist", "v1", 0), ("hist", "v1", 1), ("other", "z", 3)] {
        evs.push(json!({"task": "mv", "type": "training_stats_vector", "metric": m, "variant": v, "iter": it, "values": [1.0, 2.0]}));
    }
    add(s, &evs);
    add(s, &[scalar("mv-empty", "x", "y", 0, 1.0, T0)]);
    let d = events!(s, get_scalar_metrics_and_variants_v2_1, json!({"task": "mv"}));
    assert_eq!(d, json!({"metrics": {"acc": ["x"], "loss": ["a", "b"]}}));
    let keys: Vec<&String> = d["metrics"].as_object().unwrap().keys().collect();
    assert_eq!(keys, vec!["acc", "loss"], "sorted");
    // Raw: the spec types this reply's `metrics` as a list (a TODO upstream) while
    // clearml-server, and this server, send a map, so the typed client cannot decode it.
    let d = call_v(s, "/v2.1/events.get_vector_metrics_and_variants", json!({"task": "mv"}), Some("2.1"));
    // The spec types `metrics` as an array of objects.
    assert_eq!(d, json!({"metrics": [{"metric": "hist", "variants": ["v1", "v2"]}, {"metric": "other", "variants": ["z"]}]}));
    let d = call(s, "/events.get_vector_metrics_and_variants", json!({"task": "mv-empty"}));
    assert_eq!(d, json!({"metrics": []}));

    for path in ["/events.get_scalar_metrics_and_variants", "/events.get_vector_metrics_and_variants"] {
        assert_eq!(fails(s, path, json!({}), 400, 11), "Missing required fields: missing=(task)");
        assert_eq!(fails(s, path, json!({"task": "nope"}), 400, 101), "Invalid task id: ids=(nope)");
    }
}

fn multi_task_scalar_metrics_iter_histogram(s: &Server) {
    let mut evs = Vec::new();
    for i in 0..100 {
        evs.push(scalar("h1", "m", "v", i, i as f64, T0 + i * 1000));
        evs.push(scalar("h2", "m", "v", i, 2.0 * i as f64, T0 + i * 1000));
    }
    for i in 0..3 {
        evs.push(scalar("h2", "only2", "z", i, 7.0, T0 + i));
    }
    add(s, &evs);
    let path = "/v2.1/events.multi_task_scalar_metrics_iter_histogram";
    // clearml-server's worked example: iterations 0..99, value = iter, samples=10.
    let d = events!(s, multi_task_scalar_metrics_iter_histogram_v2_1, json!({"tasks": ["h1", "h2"], "samples": 10}));
    let tens: Vec<i64> = (0..10).map(|i| i * 10).collect();
    assert_eq!(
        d["metrics"]["m"]["v"]["h1"],
        json!({"name": "", "x": tens, "y": (0..10).map(|i| i as f64 * 10.0 + 4.5).collect::<Vec<_>>()})
    );
    assert_eq!(
        d["metrics"]["m"]["v"]["h2"],
        json!({"name": "", "x": tens, "y": (0..10).map(|i| i as f64 * 20.0 + 9.0).collect::<Vec<_>>()})
    );
    // a series with fewer points than samples is not downsampled; h1 has no such metric
    assert_eq!(d["metrics"]["only2"], json!({"z": {"h2": {"name": "", "x": [0, 1, 2], "y": [7.0, 7.0, 7.0]}}}));
    let tasks: Vec<&String> = d["metrics"]["m"]["v"].as_object().unwrap().keys().collect();
    assert_eq!(tasks, vec!["h1", "h2"]);
    // default samples (6000): every point; key=timestamp: x in ms.
    let d = call(s, path, json!({"tasks": ["h1"]}));
    assert_eq!(d["metrics"]["m"]["v"]["h1"]["x"], json!((0..100).collect::<Vec<i64>>()));
    let d = call(s, path, json!({"tasks": ["h2", "h1"], "key": "timestamp"}));
    assert_eq!(d["metrics"]["m"]["v"]["h2"]["x"], json!((0..100).map(|i| T0 + i * 1000).collect::<Vec<i64>>()));
    assert_eq!(d["metrics"]["m"]["v"]["h2"]["y"][99], json!(198.0));

    fails(s, path, json!({}), 400, 11);
    fails(s, path, json!({"tasks": []}), 400, 12);
    let eleven: Vec<String> = (0..11).map(|i| format!("h{i}")).collect();
    fails(s, path, json!({"tasks": eleven}), 400, 12);
    // `samples` 0 returns all the points (the spec's text), a negative amount is refused.
    let all = call(s, path, json!({"tasks": ["h1"], "samples": 0}));
    assert_eq!(all["metrics"]["m"]["v"]["h1"]["x"].as_array().unwrap().len(), 100, "{all}");
    fails(s, path, json!({"tasks": ["h1"], "samples": -1}), 400, 12);
    let msg = fails(s, path, json!({"tasks": ["h1", "x1", "x2"]}), 400, 101);
    assert_eq!(msg, "Invalid task id: company=default, ids=(x1, x2)");
    // The comma-separated string form never reaches the service: the schema types `tasks`
    // as an array (a 400, not a 500).
    let r = s.json("POST", path, json!({"tasks": "h1,h2"}));
    assert_eq!(r.status, 400, "{}", r.text);
}

fn vector_metrics_iter_histogram(s: &Server) {
    let vec_ev = |variant: &str, iter: i64, values: Value| json!({"task": "vh", "type": "training_stats_vector", "metric": "hist", "variant": variant, "iter": iter, "values": values});
    add(
        s,
        &[
            vec_ev("a", 3, json!([3.0, 3.5])),
            vec_ev("a", 1, json!([1.0])),
            vec_ev("a", 2, json!([2.0, 2.5, 2.75])),
            vec_ev("b", 0, json!([9.0])),
        ],
    );
    let path = "/v2.1/events.vector_metrics_iter_histogram";
    let d = events!(s, vector_metrics_iter_histogram_v2_1, json!({"task": "vh", "metric": "hist", "variant": "a"}));
    assert_eq!(d, json!({"metric": "hist", "variant": "a", "vectors": [[1.0], [2.0, 2.5, 2.75], [3.0, 3.5]], "iterations": [1, 2, 3]}));
    let d = call(s, path, json!({"task": "vh", "metric": "hist", "variant": "nope"}));
    assert_eq!(d, json!({"metric": "hist", "variant": "nope", "vectors": [], "iterations": []}));

    assert_eq!(fails(s, path, json!({"task": "vh", "metric": "hist"}), 400, 11), "Missing required fields: missing=(variant)");
    fails(s, path, json!({"metric": "hist", "variant": "a"}), 400, 11);
    fails(s, path, json!({"task": "nope", "metric": "hist", "variant": "a"}), 400, 101);
}

fn get_task_plots(s: &Server) {
    let mut evs: Vec<Value> = (0..5).map(|i| plot("p1", "roc", "a", i)).collect();
    evs.extend((0..3).map(|i| plot("p1", "roc", "b", i)));
    evs.push(plot("p1", "cm", "x", 6));
    let mut invalid = plot("p1", "cm", "x", 7);
    invalid["valid_plot"] = json!(false);
    evs.push(invalid);
    add(s, &evs);
    let path = "/v2.1/events.get_task_plots";
    let key = |e: &Value| (str_of(&e["metric"]), str_of(&e["variant"]), e["iter"].as_i64().unwrap());
    // iters=1: the last iteration of each plot; cm/x's (7) is not a valid plot.
    let d = events!(s, get_task_plots_v2_1, json!({"task": "p1"}));
    let plots = d["plots"].as_array().unwrap();
    assert_eq!(plots.iter().map(key).collect::<Vec<_>>(), vec![("roc".into(), "a".into(), 4), ("roc".into(), "b".into(), 2)]);
    assert_eq!((d["returned"].clone(), d["total"].clone()), (json!(2), json!(2.0)));
    assert_eq!(
        (plots[0]["type"].clone(), plots[0]["task"].clone(), plots[0]["plot_str"].clone()),
        (json!("plot"), json!("p1"), json!("{\"data\": [4]}"))
    );
    let d = call(s, path, json!({"task": "p1", "iters": 2}));
    let got: Vec<_> = d["plots"].as_array().unwrap().iter().map(key).collect();
    let want: Vec<(String, String, i64)> = [("cm", "x", 6), ("roc", "a", 4), ("roc", "a", 3), ("roc", "b", 2), ("roc", "b", 1)]
        .iter()
        .map(|(m, v, i)| (m.to_string(), v.to_string(), *i))
        .collect();
    assert_eq!(got, want);
    let next = call(s, path, json!({"task": "p1", "scroll_id": d["scroll_id"]}));
    assert_eq!((next["plots"].clone(), next["scroll_id"].clone()), (json!([]), json!("FFFF")));

    // 600 plots: pages of 500 and 100, each plot once.
    add(s, &(0..600).map(|i| plot("p2", "many", &format!("v{i:03}"), 1)).collect::<Vec<_>>());
    let (pages, datas) = scroll_all(s, path, json!({"task": "p2"}), "plots");
    assert_eq!(pages.iter().map(Vec::len).collect::<Vec<_>>(), vec![500, 100]);
    assert!(datas.iter().take(2).all(|d| d["total"] == 600.0));
    let variants: BTreeSet<String> = pages.concat().iter().map(|e| str_of(&e["variant"])).collect();
    assert_eq!(variants.len(), 600);

    let first = str_of(&datas[0]["scroll_id"]);
    fails(s, path, json!({}), 400, 11);
    fails(s, path, json!({"task": "nope"}), 400, 101);
    fails(s, path, json!({"task": "p1", "iters": -1}), 400, 12);
    fails(s, path, json!({"task": "p2", "scroll_id": tampered(&first)}), 400, 1104);
    fails(s, path, json!({"task": "p1", "scroll_id": first}), 400, 1104);
    let d = call(s, path, json!({"task": "p1", "scroll_id": "FFFF"}));
    assert_eq!((d["plots"].clone(), d["scroll_id"].clone()), (json!([]), json!("FFFF")));
}

fn get_multi_task_plots(s: &Server) {
    add(
        s,
        &[
            plot("mp1", "roc", "a", 1),
            plot("mp1", "roc", "a", 2),
            plot("mp1", "cm", "x", 2),
            plot("mp2", "roc", "a", 5),
            plot("mp2", "roc", "a", 4),
        ],
    );
    let path = "/v2.1/events.get_multi_task_plots";
    let d = call_v(s, path, json!({"tasks": ["mp1", "mp2"]}), Some("2.1"));
    let plots = &d["plots"];
    // the last iteration of each task; metric → variant → task → "<iter>" → {name, plots}
    assert_eq!(plots.as_object().unwrap().keys().collect::<Vec<_>>(), vec!["roc", "cm"], "descending keys: {plots}");
    assert_eq!(plots["roc"]["a"].as_object().unwrap().keys().collect::<Vec<_>>(), vec!["mp2", "mp1"]);
    assert_eq!(plots["roc"]["a"]["mp2"].as_object().unwrap().keys().collect::<Vec<_>>(), vec!["5"]);
    let leaf = &plots["roc"]["a"]["mp2"]["5"];
    assert_eq!(leaf["name"], "");
    let evs = leaf["plots"].as_array().unwrap();
    assert_eq!(evs.len(), 1);
    assert_eq!(
        (evs[0]["task"].clone(), evs[0]["iter"].clone(), evs[0]["plot_str"].clone()),
        (json!("mp2"), json!(5), json!("{\"data\": [5]}"))
    );
    assert_eq!(plots["roc"]["a"]["mp1"]["2"]["plots"][0]["iter"], 2);
    assert_eq!(plots["cm"]["x"]["mp1"]["2"]["plots"][0]["metric"], "cm");
    assert_eq!((d["returned"].clone(), d["total"].clone()), (json!(2), json!(3.0)), "returned = number of metrics");
    // iters=2: two iterations per task
    let d = call(s, path, json!({"tasks": ["mp1", "mp2"], "iters": 2}));
    assert_eq!(d["plots"]["roc"]["a"]["mp1"].as_object().unwrap().keys().collect::<Vec<_>>(), vec!["2", "1"]);
    assert_eq!(d["plots"]["roc"]["a"]["mp2"].as_object().unwrap().keys().collect::<Vec<_>>(), vec!["5", "4"]);
    assert_eq!(d["total"], 5.0);
    let next = call(s, path, json!({"tasks": ["mp2", "mp1"], "iters": 2, "scroll_id": d["scroll_id"]}));
    assert_eq!((next["plots"].clone(), next["returned"].clone(), next["scroll_id"].clone()), (json!({}), json!(0), json!("FFFF")));

    fails(s, path, json!({}), 400, 11);
    fails(s, path, json!({"tasks": []}), 400, 12);
    fails(s, path, json!({"tasks": ["mp1"], "iters": -1}), 400, 12);
    assert_eq!(fails(s, path, json!({"tasks": ["mp1", "x1", "x2"]}), 400, 101), "Invalid task id: ids=(x1, x2)");
    fails(s, path, json!({"tasks": ["mp1", "mp2"], "scroll_id": tampered(&str_of(&d["scroll_id"]))}), 400, 1104);
    fails(s, path, json!({"tasks": ["mp1"], "scroll_id": d["scroll_id"]}), 400, 1104);
}

/// (metric, variant, iter) of an image event.
type Image = (String, String, i64);

/// The iterations of one task of a `debug_images` 2.7 reply: (iter, its images).
fn images_of(d: &Value, task_index: usize) -> Vec<(i64, Vec<Image>)> {
    d["metrics"][task_index]["iterations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|it| {
            let evs = it["events"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| (str_of(&e["metric"]), str_of(&e["variant"]), e["iter"].as_i64().unwrap()))
                .collect();
            (it["iter"].as_i64().unwrap(), evs)
        })
        .collect()
}

fn ev(metric: &str, variant: &str, iter: i64) -> Image {
    (metric.to_string(), variant.to_string(), iter)
}

fn debug_images(s: &Server) {
    // img/a: a new URL each iteration; img/b: URLs recycled every 3 iterations (b_2 was
    // written at 2 and 5, so b at or below 2 was overwritten); other/c: iterations 0, 1;
    // img/nourl: an image event without a URL.
    let mut evs = Vec::new();
    for i in 0..6 {
        evs.push(image("di", "img", "a", i, &format!("a_{i}")));
        evs.push(image("di", "img", "b", i, &format!("b_{}", i % 3)));
    }
    evs.extend([image("di", "other", "c", 0, "c_0"), image("di", "other", "c", 1, "c_1")]);
    evs.push(json!({"task": "di", "type": "training_debug_image", "metric": "img", "variant": "nourl", "iter": 3}));
    add(s, &evs);
    add(s, &[scalar("di2", "x", "y", 0, 1.0, T0)]);

    // 2.1: the images of the last iterations, highest first.
    let d = call_v(s, "/v2.1/events.debug_images", json!({"task": "di"}), Some("2.1"));
    assert_eq!((d["task"].clone(), d["returned"].clone(), d["total"].clone()), (json!("di"), json!(2), json!(2.0)));
    let imgs = d["images"].as_array().unwrap();
    assert!(imgs.iter().all(|e| e["iter"] == 5 && e["type"] == "training_debug_image" && e["task"] == "di"), "{d}");
    let urls: BTreeSet<String> = imgs.iter().map(|e| str_of(&e["url"])).collect();
    assert_eq!(urls, ["a_5", "b_2"].iter().map(|s| s.to_string()).collect());
    let d = call(s, "/v2.1/events.debug_images", json!({"task": "di", "iters": 3}));
    let iters: Vec<i64> = d["images"].as_array().unwrap().iter().map(|e| e["iter"].as_i64().unwrap()).collect();
    assert_eq!(iters, vec![5, 5, 4, 4, 3, 3, 3], "2.1 does not ask for a URL");
    let d = call(s, "/v2.1/events.debug_images", json!({"task": "di", "iters": 0}));
    assert_eq!(d["returned"], 2, "iters 0 counts as 1");
    // 501 images at one iteration: pages of 500 and 1.
    add(s, &(0..501).map(|i| image("dip", "m", &format!("v{i:03}"), 7, "u")).collect::<Vec<_>>());
    let (pages, _) = scroll_all(s, "/v2.1/events.debug_images", json!({"task": "dip"}), "images");
    assert_eq!(pages.iter().map(Vec::len).collect::<Vec<_>>(), vec![500, 1]);
    assert_eq!(pages.concat().iter().map(|e| str_of(&e["variant"])).collect::<BTreeSet<_>>().len(), 501);
    fails(s, "/v2.1/events.debug_images", json!({}), 400, 11);
    fails(s, "/v2.1/events.debug_images", json!({"task": "nope"}), 400, 101);
    fails(s, "/v2.1/events.debug_images", json!({"task": "di", "iters": -2}), 400, 12);
    fails(s, "/v2.1/events.debug_images", json!({"task": "di", "scroll_id": "x.y"}), 400, 1104);

    // 2.7: iteration by iteration, 2 at a time, from the latest.
    let path = "/v2.7/events.debug_images";
    let d = call_v(s, path, json!({"metrics": [{"task": "di"}, {"task": "di2"}], "iters": 2}), Some("2.7"));
    assert_eq!(d["metrics"][0]["task"], "di");
    assert_eq!(images_of(&d, 0), vec![(5, vec![ev("img", "a", 5), ev("img", "b", 5)]), (4, vec![ev("img", "a", 4), ev("img", "b", 4)])]);
    assert_eq!(d["metrics"][1], json!({"task": "di2", "iterations": []}));
    let first_event = &d["metrics"][0]["iterations"][0]["events"][0];
    assert_eq!((first_event["url"].clone(), first_event["task"].clone()), (json!("a_5"), json!("di")));
    let scroll1 = str_of(&d["scroll_id"]);
    let d = call(s, path, json!({"metrics": [{"task": "di"}, {"task": "di2"}], "iters": 2, "scroll_id": scroll1}));
    // b at 2 was overwritten by b at 5 (recycled URL): dropped
    assert_eq!(images_of(&d, 0), vec![(3, vec![ev("img", "a", 3), ev("img", "b", 3)]), (2, vec![ev("img", "a", 2)])]);
    let d = call(s, path, json!({"metrics": [{"task": "di"}], "iters": 2, "scroll_id": d["scroll_id"]}));
    assert_eq!(
        images_of(&d, 0),
        vec![(1, vec![ev("img", "a", 1), ev("other", "c", 1)]), (0, vec![ev("img", "a", 0), ev("other", "c", 0)])]
    );
    let d = call(s, path, json!({"metrics": [{"task": "di"}], "iters": 2, "scroll_id": d["scroll_id"]}));
    assert!(images_of(&d, 0).is_empty(), "nothing earlier: {d}");
    let d = call(s, path, json!({"metrics": [{"task": "di"}], "iters": 2, "navigate_earlier": false, "scroll_id": d["scroll_id"]}));
    assert_eq!(
        images_of(&d, 0),
        vec![(3, vec![ev("img", "a", 3), ev("img", "b", 3)]), (2, vec![ev("img", "a", 2)])],
        "later, highest first"
    );
    // An older scroll id still continues from where it was.
    let d = call(s, path, json!({"metrics": [{"task": "di"}], "iters": 1, "scroll_id": scroll1}));
    assert_eq!(images_of(&d, 0), vec![(3, vec![ev("img", "a", 3), ev("img", "b", 3)])]);
    // refresh: new images are seen and the navigation starts again from the latest.
    add(s, &[image("di", "img", "a", 6, "a_6")]);
    let d = call(s, path, json!({"metrics": [{"task": "di"}], "iters": 2, "refresh": true, "scroll_id": scroll1}));
    assert_eq!(images_of(&d, 0), vec![(6, vec![ev("img", "a", 6)]), (5, vec![ev("img", "a", 5), ev("img", "b", 5)])]);
    // At most 100 variants of a metric (clearml-server's cap); the scroll id stays small.
    let d = call(s, path, json!({"metrics": [{"task": "dip"}]}));
    let evs = &d["metrics"][0]["iterations"][0]["events"];
    assert_eq!(evs.as_array().map(Vec::len), Some(100));
    assert_eq!((evs[0]["variant"].clone(), evs[99]["variant"].clone()), (json!("v000"), json!("v099")));
    assert!(str_of(&d["scroll_id"]).len() < 400, "{}", d["scroll_id"]);
    // One metric of a task (a `metric` member in the entry).
    let d = call(s, path, json!({"metrics": [{"task": "di", "metric": "other"}], "iters": 5}));
    assert_eq!(images_of(&d, 0), vec![(1, vec![ev("other", "c", 1)]), (0, vec![ev("other", "c", 0)])]);

    fails(s, path, json!({}), 400, 11);
    fails(s, path, json!({"metrics": []}), 400, 12);
    fails(s, path, json!({"metrics": [{"task": "di"}], "iters": -1}), 400, 12);
    // 0, which the spec's plain integer allows, is the default (1).
    assert_eq!(call(s, path, json!({"metrics": [{"task": "di"}], "iters": 0}))["metrics"][0]["iterations"].as_array().unwrap().len(), 1);
    assert_eq!(fails(s, path, json!({"metrics": [{"task": "di"}, {"task": "x1"}]}), 400, 101), "Invalid task id: ids=(x1)");
    fails(s, path, json!({"metrics": [{"task": "di"}], "scroll_id": tampered(&scroll1)}), 400, 1104);
    let v21 = call(s, "/v2.1/events.debug_images", json!({"task": "di"}));
    fails(s, path, json!({"metrics": [{"task": "di"}], "scroll_id": v21["scroll_id"]}), 400, 1104);
}

/// (variant, iter, min_iteration, max_iteration) of a sample reply; its scroll id.
fn sample(d: &Value) -> (Option<(String, i64, i64, i64)>, String) {
    let got = d["event"].as_object().map(|e| {
        (str_of(&e["variant"]), e["iter"].as_i64().unwrap(), d["min_iteration"].as_i64().unwrap(), d["max_iteration"].as_i64().unwrap())
    });
    (got, str_of(&d["scroll_id"]))
}

fn at(variant: &str, iter: i64, min: i64, max: i64) -> Option<(String, i64, i64, i64)> {
    Some((variant.to_string(), iter, min, max))
}

fn debug_image_samples(s: &Server) {
    // a: URLs recycled every 3 iterations (valid from 3); b: unique URLs 0..5; c: 4..5.
    let mut evs = Vec::new();
    for i in 0..6 {
        evs.push(image("ds", "img", "a", i, &format!("a_{}", i % 3)));
        evs.push(image("ds", "img", "b", i, &format!("b_{i}")));
    }
    evs.extend([image("ds", "img", "c", 4, "c_4"), image("ds", "img", "c", 5, "c_5"), image("ds", "other", "a", 1, "o")]);
    add(s, &evs);
    add(s, &[image("ds2", "img", "a", 0, "x")]);
    let get = "/v2.12/events.get_debug_image_sample";
    let next = "/v2.12/events.next_debug_image_sample";

    let d = call_v(s, get, json!({"task": "ds", "metric": "img", "variant": "a"}), Some("2.12"));
    assert_eq!(sample(&d).0, at("a", 5, 3, 5), "the latest image; {d}");
    assert_eq!((d["event"]["url"].clone(), d["event"]["task"].clone()), (json!("a_2"), json!("ds")));
    let d = call(s, get, json!({"task": "ds", "metric": "img", "variant": "a", "iteration": 4}));
    assert_eq!(sample(&d).0, at("a", 4, 3, 5));
    // below the variant's first valid iteration, or an unknown variant: no event, no range
    // (left out: the spec types them as an object and integers)
    let d = call(s, get, json!({"task": "ds", "metric": "img", "variant": "a", "iteration": 2}));
    assert_eq!(d.as_object().unwrap().len(), 1, "{d}");
    assert!(d["scroll_id"].is_string());
    let d = call(s, get, json!({"task": "ds", "metric": "img", "variant": "zz"}));
    assert_eq!(d.as_object().unwrap().keys().collect::<Vec<_>>(), ["scroll_id"], "{d}");

    // Earlier from b at 4: a at 4; then b, a at 3; then only b below 3 (a starts at 3).
    let d = call(s, get, json!({"task": "ds", "metric": "img", "variant": "b", "iteration": 4}));
    let (got, mut id) = sample(&d);
    assert_eq!(got, at("b", 4, 0, 5));
    let from_b4 = id.clone();
    let mut walk = Vec::new();
    loop {
        let d = call_v(s, next, json!({"task": "ds", "scroll_id": id}), Some("2.12"));
        let (got, new_id) = sample(&d);
        match got {
            Some(g) => walk.push(g),
            None => {
                assert_eq!(new_id, id, "nothing found: the same scroll id");
                break;
            }
        }
        id = new_id;
        assert!(walk.len() < 20);
    }
    assert_eq!(
        walk,
        vec![at("a", 4, 3, 5), at("b", 3, 0, 5), at("a", 3, 3, 5), at("b", 2, 0, 5), at("b", 1, 0, 5), at("b", 0, 0, 5)]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
    );
    // Later from b at 4: c at 4, then a, b, c at 5.
    let mut id = from_b4.clone();
    let mut walk = Vec::new();
    loop {
        let d = call(s, next, json!({"task": "ds", "scroll_id": id, "navigate_earlier": false}));
        let (got, new_id) = sample(&d);
        let Some(g) = got else { break };
        walk.push(g);
        id = new_id;
        assert!(walk.len() < 20);
    }
    assert_eq!(
        walk,
        vec![at("c", 4, 4, 5), at("a", 5, 3, 5), at("b", 5, 0, 5), at("c", 5, 4, 5)].into_iter().flatten().collect::<Vec<_>>()
    );
    // refresh: the variants' ranges are recomputed.
    add(s, &[image("ds", "img", "b", 6, "b_6")]);
    let d = call(s, get, json!({"task": "ds", "metric": "img", "variant": "b", "scroll_id": from_b4, "refresh": true}));
    assert_eq!(sample(&d).0, at("b", 6, 0, 6));

    // Errors.
    fails(s, get, json!({"task": "ds", "metric": "img"}), 400, 11);
    fails(s, get, json!({"task": "nope", "metric": "img", "variant": "a"}), 400, 101);
    let msg = fails(s, get, json!({"task": "ds", "metric": "other", "variant": "a", "scroll_id": from_b4}), 400, 1104);
    assert_eq!(msg, format!("Invalid scroll id (Task and metric stored in the state do not match the passed ones): scroll_id={from_b4}"));
    fails(s, get, json!({"task": "ds2", "metric": "img", "variant": "a", "scroll_id": from_b4}), 400, 1104);
    let bad = tampered(&from_b4);
    assert_eq!(
        fails(s, get, json!({"task": "ds", "metric": "img", "variant": "a", "scroll_id": bad}), 400, 1104),
        format!("Invalid scroll id: scroll_id={bad}")
    );
    fails(s, next, json!({"task": "ds"}), 400, 11);
    fails(s, next, json!({"task": "nope", "scroll_id": from_b4}), 400, 101);
    assert_eq!(fails(s, next, json!({"task": "ds2", "scroll_id": from_b4}), 400, 1104), format!("Invalid scroll id: scroll_id={from_b4}"));
    fails(s, next, json!({"task": "ds", "scroll_id": bad}), 400, 1104);
    let images = call(s, "/v2.7/events.debug_images", json!({"metrics": [{"task": "ds"}]}));
    fails(s, next, json!({"task": "ds", "scroll_id": images["scroll_id"]}), 400, 1104);
}

fn delete_for_task(s: &Server) {
    add(
        s,
        &[
            scalar("dt", "loss", "a", 0, 1.0, T0),
            scalar("dt", "loss", "a", 1, 1.0, T0),
            scalar("dt", "acc", "a", 0, 1.0, T0),
            plot("dt", "p", "v", 0),
            image("dt", "i", "v", 0, "u"),
            json!({"task": "dt", "type": "log", "msg": "a", "timestamp": T0}),
            json!({"task": "dt", "type": "log", "msg": "b", "timestamp": T0}),
            scalar("keep", "loss", "a", 0, 1.0, T0),
        ],
    );
    let path = "/v2.1/events.delete_for_task";
    let d = events!(s, delete_for_task_v2_1, json!({"task": "dt"}));
    assert_eq!(d, json!({"deleted": true, "deleted_count": 7}));
    // the task stays, empty; other tasks keep their events
    let d = call(s, "/events.get_task_events", json!({"task": "dt"}));
    assert_eq!((d["total"].clone(), d["events"].clone()), (json!(0.0), json!([])));
    assert_eq!(call(s, "/events.get_task_events", json!({"task": "keep"}))["total"], 1.0);
    let d = call(s, path, json!({"task": "dt", "allow_locked": true}));
    assert_eq!(d, json!({"deleted": false, "deleted_count": 0}));

    assert_eq!(fails(s, path, json!({}), 400, 11), "Missing required fields: missing=(task)");
    assert_eq!(fails(s, path, json!({"task": "nope"}), 400, 101), "Invalid task id (or task published): company=default, id=nope");
    assert_eq!(fails(s, path, json!({"task": "nope", "allow_locked": true}), 400, 101), "Invalid task id: company=default, id=nope");
    // The typed client decodes the error envelope.
    match block_on(s.client().events().delete_for_task_v2_1(&typed(json!({"task": "nope"})))) {
        Err(Error::ClearMl(ClearMlError { status: 400, result_code: 400, result_subcode: 101, result_msg, endpoint, .. })) => {
            assert_eq!(result_msg, "Invalid task id (or task published): company=default, id=nope");
            assert_eq!(endpoint, "events.delete_for_task");
        }
        other => panic!("not a ClearML 400/101: {other:?}"),
    }
}

fn download_task_log(s: &Server) {
    // 2500 log lines (read in pages of 1000), one without a level, one with quotes.
    let mut evs: Vec<Value> = (0..2500)
        .map(|i| json!({"task": "dl", "type": "log", "level": "info", "worker": "w1", "msg": format!("line {i}"), "timestamp": T0 + i}))
        .collect();
    evs[1] = json!({"task": "dl", "type": "log", "worker": "w2", "msg": "no level", "timestamp": T0 + 1});
    evs[2]["msg"] = json!("it's");
    evs.push(scalar("dl", "loss", "a", 0, 1.0, T0));
    add(s, &evs);
    add(s, &[scalar("dl-empty", "loss", "a", 0, 1.0, T0)]);
    let path = "/v2.1/events.download_task_log";

    // json (default): the event without type and task, timestamp last as asctime.
    let r = s.json("POST", path, json!({"task": "dl"}));
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.header("content-type").unwrap_or_default().starts_with("text/plain"), "{:?}", r.headers);
    assert_eq!(r.header("content-disposition"), Some("attachment; filename=task_dl.log"));
    let lines: Vec<&str> = r.text.lines().collect();
    assert_eq!(lines.len(), 2500);
    assert!(r.text.ends_with('\n'));
    let first: Value = serde_json::from_str(lines[0]).unwrap();
    let keys: Vec<&String> = first.as_object().unwrap().keys().collect();
    assert_eq!(keys.last().map(|k| k.as_str()), Some("asctime"), "{first}");
    assert!(first.get("type").is_none() && first.get("task").is_none() && first.get("timestamp").is_none(), "{first}");
    assert_eq!(
        (first["msg"].clone(), first["level"].clone(), first["worker"].clone(), first["asctime"].clone()),
        (json!("line 0"), json!("info"), json!("w1"), json!(T0))
    );
    assert!(!lines[0].contains(": "), "compact JSON: {}", lines[0]);
    let msgs: Vec<String> = lines.iter().map(|l| str_of(&serde_json::from_str::<Value>(l).unwrap()["msg"])).collect();
    assert_eq!(msgs[2499], "line 2499");
    assert_eq!(msgs.iter().collect::<BTreeSet<_>>().len(), 2500, "each line once, oldest first");
    let r = s.json("POST", path, json!({"task": "dl", "line_type": "json"}));
    assert_eq!(r.text.lines().count(), 2500);

    // text: "{asctime} {worker} {level} {msg}" by default; a missing field is empty.
    let r = s.json("POST", path, json!({"task": "dl", "line_type": "text"}));
    assert_eq!(r.status, 200, "{}", r.text);
    // The typed client gets the same file (a raw reply: bytes).
    let file = block_on(s.client().events().download_task_log_v2_1(&typed(json!({"task": "dl", "line_type": "text"})))).unwrap();
    assert_eq!(String::from_utf8(file).unwrap(), r.text);
    let lines: Vec<&str> = r.text.lines().collect();
    assert_eq!(lines.len(), 2500);
    assert_eq!(lines[0], format!("{T0} w1 info line 0"));
    assert_eq!(lines[1], format!("{} w2  no level", T0 + 1));
    assert_eq!(lines[2499], format!("{} w1 info line 2499", T0 + 2499));
    let r = s.json("POST", path, json!({"task": "dl", "line_type": "text", "line_format": "[{level}] {msg!r} {{{timestamp}}}\n"}));
    let lines: Vec<&str> = r.text.lines().collect();
    assert_eq!(lines[2], format!("[info] \"it's\" {{{}}}", T0 + 2));
    assert_eq!(lines[0], format!("[info] 'line 0' {{{T0}}}"));
    // a task without logs: an empty file
    let r = s.json("POST", path, json!({"task": "dl-empty"}));
    assert_eq!((r.status, r.text.as_str()), (200, ""));

    let msg = fails(s, path, json!({"task": "dl", "line_type": "text", "line_format": "{asctime} {foo} {msg} {bar}"}), 400, 16);
    assert_eq!(msg, "Invalid value for fields (undefined placeholders in line format): placeholders=(foo, bar)");
    let msg = fails(s, path, json!({"task": "dl", "line_type": "text", "line_format": "{msg:>10}"}), 400, 16);
    assert!(msg.starts_with("Invalid value for fields (invalid line format): error="), "{msg}");
    fails(s, path, json!({"task": "dl", "line_type": "text", "line_format": "{}"}), 400, 16);
    fails(s, path, json!({"task": "dl", "line_type": "text", "line_format": ""}), 400, 11);
    // the json line type ignores the line format
    assert_eq!(s.json("POST", path, json!({"task": "dl", "line_format": "{nope}"})).status, 200);
    assert_eq!(fails(s, path, json!({}), 400, 11), "Missing required fields: missing=(task)");
    fails(s, path, json!({"task": "nope"}), 400, 101);
    let r = s.json("POST", path, json!({"task": "dl", "line_type": "xml"}));
    assert_eq!(r.status, 400, "{}", r.text);
}


/// A scroll id issued to one tenant is refused (400/1104) to another, even for a task of
/// the same id.
fn scroll_ids_are_tenant_bound(backend: Backend) {
    let Some(s) = Server::start_with_config(backend, common::CLEARML_TENANTS) else { return };
    let (acme, globex) = (common::basic("AK-ACME", "secret-acme"), common::basic("AK-GLOBEX", "secret-globex"));
    let post = |who: &str, path: &str, body: Value| s.json_with("POST", path, &[("Authorization", who)], body);
    for who in [&acme, &globex] {
        let r = post(who, "/events.add_batch", json!([scalar("t", "loss", "a", 0, 1.0, T0), image("t", "img", "a", 0, "u")]));
        assert_eq!(r.status, 200, "{}", r.text);
    }
    let d = post(&acme, "/events.get_scalar_metric_data", json!({"task": "t", "metric": "loss"})).json()["data"].clone();
    let scroll = str_of(&d["scroll_id"]);
    let r = post(&acme, "/events.get_scalar_metric_data", json!({"task": "t", "metric": "loss", "scroll_id": scroll}));
    assert_eq!(r.status, 200, "{}", r.text);
    let r = post(&globex, "/events.get_scalar_metric_data", json!({"task": "t", "metric": "loss", "scroll_id": scroll}));
    assert_eq!((r.status, r.json()["meta"]["result_subcode"].clone()), (400, json!(1104)), "{}", r.text);
    let d = post(&acme, "/events.get_debug_image_sample", json!({"task": "t", "metric": "img", "variant": "a"})).json()["data"].clone();
    assert_eq!(d["event"]["url"], "u");
    let r = post(&globex, "/events.next_debug_image_sample", json!({"task": "t", "scroll_id": d["scroll_id"]}));
    assert_eq!((r.status, r.json()["meta"]["result_subcode"].clone()), (400, json!(1104)), "{}", r.text);
}

per_backend! {
    scroll_ids_are_tenant_bound => scroll_ids_are_tenant_bound;
}
