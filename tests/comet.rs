//! Comet REST v2 over real HTTP, on SQLite and on PostgreSQL: the wire details comet_ml
//! depends on (content types, error bodies, string summaries, JSON POST replies, no 5xx for
//! bad input), experiments as runs shared with the other APIs, merged system details, assets
//! and API keys.

mod common;

use common::{Backend, Reply, Server};
use serde_json::{json, Value};

both_backends! {
    version_check_and_account => version_check_and_account;
    experiments_and_metadata => experiments_and_metadata;
    metrics_are_idempotent_and_summarized => metrics_are_idempotent_and_summarized;
    bad_input_is_a_4xx_with_a_comet_body => bad_input_is_a_4xx_with_a_comet_body;
    experiments_are_runs_of_every_api => experiments_are_runs_of_every_api;
    parameters_others_tags_and_documents => parameters_others_tags_and_documents;
    output_and_system_details => output_and_system_details;
    assets_upload_list_download => assets_upload_list_download;
}

const A: &str = "/api/rest/v2";
const C: &str = "/clientlib/rest/v2";

/// A GET as the client sends it (its JSON writes say `application/json;charset=utf-8`).
fn get(s: &Server, path: &str) -> Reply {
    s.send("GET", path, "application/json", "")
}

fn post(s: &Server, path: &str, body: Value) -> Reply {
    s.send("POST", path, "application/json;charset=utf-8", &body.to_string())
}

/// A successful GET exactly as the client accepts it: 200, `application/json` and nothing else.
fn get_ok(s: &Server, path: &str) -> Value {
    let r = get(s, path);
    assert_eq!(r.status, 200, "GET {path}: {}", r.text);
    assert_eq!(r.header("content-type"), Some("application/json"), "GET {path}");
    r.json()
}

/// A successful POST: below 400 with a JSON body.
fn post_ok(s: &Server, path: &str, body: Value) -> Value {
    let r = post(s, path, body);
    assert!(r.status < 400, "POST {path}: {} {}", r.status, r.text);
    r.json()
}

/// `{"msg","code","sdk_error_code"}` with `status`.
fn assert_comet_error(r: &Reply, status: u16) {
    assert_eq!(r.status, status, "{}", r.text);
    let v = r.json();
    assert!(v["msg"].as_str().is_some_and(|m| !m.is_empty()), "{v}");
    assert_eq!(v["code"], status, "{v}");
    assert!(v["sdk_error_code"].is_i64(), "{v}");
    assert_eq!(v.as_object().unwrap().len(), 3, "{v}");
}

fn create(s: &Server, workspace: &str, project: &str, name: Option<&str>) -> String {
    let mut body = json!({"workspaceName": workspace, "projectName": project});
    if let Some(n) = name {
        body["experimentName"] = json!(n);
    }
    let v = post_ok(s, &format!("{A}/write/experiment/create"), body);
    let key = v["experimentKey"].as_str().unwrap().to_string();
    assert_eq!(key.len(), 32);
    assert!(key.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()), "{key}");
    assert_eq!(
        (v["workspaceName"].as_str(), v["projectName"].as_str()),
        (Some(workspace), Some(project))
    );
    key
}

fn metric(s: &Server, key: &str, name: &str, value: Value, step: Option<i64>, epoch: Option<i64>, ts: Option<i64>) -> Reply {
    let mut body = json!({"experimentKey": key, "metricName": name, "metricValue": value});
    if let Some(v) = step {
        body["step"] = json!(v);
    }
    if let Some(v) = epoch {
        body["epoch"] = json!(v);
    }
    if let Some(v) = ts {
        body["timestamp"] = json!(v);
    }
    post(s, &format!("{A}/write/experiment/metric"), body)
}

fn version_check_and_account(s: &Server) {
    let v = get_ok(s, "/clientlib/isAlive/ver");
    let version: Vec<u64> = v["version"].as_str().unwrap().split('.').map(|p| p.parse().unwrap()).collect();
    assert!(version >= vec![3, 20, 60], "get-all needs 3.20.60: {v}");
    assert_eq!(get_ok(s, &format!("{A}/workspaces")), json!({"workspaceNames": ["default"]}));
    assert_eq!(
        get_ok(s, &format!("{A}/account-details")),
        json!({"userName": "default", "defaultWorkspaceName": "default"})
    );
    create(s, "team", "p", None);
    assert_eq!(
        get_ok(s, &format!("{A}/workspaces")),
        json!({"workspaceNames": ["default", "team"]})
    );

    // With keys configured: the version check stays open, the rest wants a key.
    let Some(secured) = Server::start_with_config(
        Backend::Sqlite,
        "[[tenant]]\nname = \"default\"\n[[tenant.clearml]]\naccess_key = \"AK\"\nsecret_key = \"SK\"\n[[tenant.comet]]\napi_key = \"my-comet-key\"\n",
    ) else {
        return;
    };
    assert_eq!(get(&secured, "/clientlib/isAlive/ver").status, 200);
    let r = get(&secured, &format!("{A}/workspaces"));
    assert_comet_error(&r, 401);
    assert_eq!(r.json()["sdk_error_code"], 90212);
    assert_comet_error(
        &post(
            &secured,
            &format!("{A}/write/experiment/create"),
            json!({"workspaceName": "w", "projectName": "p"}),
        ),
        401,
    );
    let r = secured.json_with(
        "POST",
        &format!("{A}/write/experiment/create"),
        &[("Authorization", "my-comet-key")],
        json!({"workspaceName": "w", "projectName": "p"}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let key = r.json()["experimentKey"].as_str().unwrap().to_string();
    let resp = ureq::get(&secured.url(&format!("{A}/experiment/metadata?experimentKey={key}")))
        .set("Authorization", "my-comet-key")
        .call()
        .unwrap();
    assert_eq!(
        (resp.status(), resp.content_type().to_string()),
        (200, "application/json".to_string())
    );
}

fn experiments_and_metadata(s: &Server) {
    let key = create(s, "ws", "proj", Some("first try"));
    let m = get_ok(s, &format!("{A}/experiment/metadata?experimentKey={key}"));
    assert_eq!(m["experimentKey"], key.as_str());
    assert_eq!(m["experimentName"], "first try");
    assert_eq!((m["workspaceName"].clone(), m["projectName"].clone()), (json!("ws"), json!("proj")));
    assert_eq!(m["projectId"].as_str().unwrap().len(), 32);
    for k in ["fileName", "filePath", "optimizationId"] {
        assert_eq!(m[k], Value::Null, "{k} is sent as null: {m}");
    }
    assert_eq!(
        (m["archived"].clone(), m["running"].clone(), m["throttle"].clone()),
        (json!(false), json!(false), json!(false))
    );
    assert_eq!(
        m["durationMillis"],
        m["endTimeMillis"].as_i64().unwrap() - m["startTimeMillis"].as_i64().unwrap()
    );
    // The name is also the other `Name` (what `get_name()` reads).
    let others = get_ok(s, &format!("{A}/experiment/log-other?experimentKey={key}"));
    assert_eq!(others["values"][0]["name"], "Name");
    assert_eq!(others["values"][0]["valueCurrent"], "first try");

    // An experiment without a name has a null name; set_name renames it.
    let other = create(s, "ws", "proj", None);
    assert_eq!(
        get_ok(s, &format!("{A}/experiment/metadata?experimentKey={other}"))["experimentName"],
        Value::Null
    );
    post_ok(
        s,
        &format!("{A}/write/experiment/log-other"),
        json!({"experimentKey": other, "key": "Name", "value": "renamed"}),
    );
    assert_eq!(
        get_ok(s, &format!("{A}/experiment/metadata?experimentKey={other}"))["experimentName"],
        "renamed"
    );

    // Start and end times: a start alone puts the end one second later, and the reverse.
    post_ok(
        s,
        &format!("{A}/write/experiment/set-start-end-time"),
        json!({"experimentKey": key, "startTimeMillis": 1700000000000i64, "endTimeMillis": null}),
    );
    let m = get_ok(s, &format!("{A}/experiment/metadata?experimentKey={key}"));
    assert_eq!(
        (
            m["startTimeMillis"].clone(),
            m["endTimeMillis"].clone(),
            m["durationMillis"].clone()
        ),
        (json!(1700000000000i64), json!(1700000001000i64), json!(1000))
    );
    post_ok(
        s,
        &format!("{A}/write/experiment/set-start-end-time"),
        json!({"experimentKey": key, "startTimeMillis": null, "endTimeMillis": 1700000060000i64}),
    );
    let m = get_ok(s, &format!("{A}/experiment/metadata?experimentKey={key}"));
    assert_eq!(
        (m["startTimeMillis"].clone(), m["durationMillis"].clone()),
        (json!(1700000000000i64), json!(60000))
    );
    post_ok(
        s,
        &format!("{A}/write/experiment/file-path"),
        json!({"experimentKey": key, "filePath": "/src/train.py"}),
    );
    let m = get_ok(s, &format!("{A}/experiment/metadata?experimentKey={key}"));
    assert_eq!(
        (m["filePath"].clone(), m["fileName"].clone()),
        (json!("/src/train.py"), json!("train.py"))
    );

    // The project listing (the client's fallback lookup by name).
    let list = get_ok(s, &format!("{A}/experiments?workspaceName=ws&projectName=proj&archived=False"));
    let keys: Vec<&str> = list["experiments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["experimentKey"].as_str().unwrap())
        .collect();
    assert_eq!(keys, [key.as_str(), other.as_str()]);
    assert_eq!(
        get_ok(s, &format!("{A}/experiments?workspaceName=ws&projectName=nope"))["experiments"],
        json!([])
    );

    // An unknown key: 404 for GETs (the client raises NotFound) and POSTs alike.
    assert_comet_error(&get(s, &format!("{A}/experiment/metadata?experimentKey=unknown")), 404);
    assert_comet_error(&get(s, &format!("{A}/experiment/tags?experimentKey=unknown")), 404);
    assert_comet_error(&metric(s, "unknown", "loss", json!(1), None, None, None), 404);
    // No key at all: 400.
    assert_comet_error(&get(s, &format!("{A}/experiment/metadata")), 400);
    // Git patches are not stored: a 200 whose body starts with {"msg" (the client's "no patch").
    let r = get(s, &format!("{A}/experiment/git/patch?experimentKey={key}"));
    assert_eq!(r.status, 200);
    assert!(r.text.starts_with("{\"msg\""), "{}", r.text);
}

fn metrics_are_idempotent_and_summarized(s: &Server) {
    let key = create(s, "ws", "p", None);
    let t0 = 1700000000000i64;
    for (i, v) in [0.9, 0.4, 0.7].iter().enumerate() {
        let r = metric(
            s,
            &key,
            "loss",
            json!(v),
            Some(i as i64),
            Some(i as i64 / 2),
            Some(t0 + i as i64 * 1000),
        );
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.json(), json!({"experimentKey": key}));
    }
    // A retry of the same write (same name, step and timestamp) overwrites, never duplicates.
    assert_eq!(metric(s, &key, "loss", json!(0.4), Some(1), Some(0), Some(t0 + 1000)).status, 200);
    // Values as JSON gives them: numbers, numeric strings, NaN as a string, booleans.
    assert_eq!(metric(s, &key, "acc", json!("0.75"), Some(0), None, Some(t0)).status, 200);
    assert_eq!(metric(s, &key, "acc", json!("NaN"), Some(1), None, Some(t0 + 1000)).status, 200);
    assert_eq!(metric(s, &key, "flag", json!(true), None, None, None).status, 200);

    let all = get_ok(s, &format!("{A}/experiment/metrics/get-all?experimentKey={key}"))["metrics"].clone();
    let loss: Vec<&Value> = all.as_array().unwrap().iter().filter(|p| p["metricName"] == "loss").collect();
    assert_eq!(loss.len(), 3, "{all}");
    assert_eq!(
        loss.iter()
            .map(|p| (
                p["metricValue"].clone(),
                p["step"].clone(),
                p["epoch"].clone(),
                p["timestamp"].clone()
            ))
            .collect::<Vec<_>>(),
        vec![
            (json!("0.9"), json!(0), json!(0), json!(t0)),
            (json!("0.4"), json!(1), json!(0), json!(t0 + 1000)),
            (json!("0.7"), json!(2), json!(1), json!(t0 + 2000)),
        ]
    );
    assert_eq!(loss[0]["runContext"], Value::Null);
    assert!(loss[0]["offset"].is_i64());
    let one = get_ok(s, &format!("{A}/experiment/metrics/get-metric?experimentKey={key}&metricName=acc"))["metrics"].clone();
    assert_eq!(
        one.as_array().unwrap().iter().map(|p| p["metricValue"].clone()).collect::<Vec<_>>(),
        vec![json!("0.75"), json!("NaN")]
    );
    assert_eq!(
        get_ok(s, &format!("{A}/experiment/metrics/get-metric?experimentKey={key}&metricName=none")),
        json!({"metrics": []})
    );

    let summary = get_ok(s, &format!("{A}/experiment/metrics/summary?experimentKey={key}"))["values"].clone();
    let names: Vec<&str> = summary.as_array().unwrap().iter().map(|v| v["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["acc", "flag", "loss"]);
    let loss = &summary[2];
    assert_eq!(
        loss,
        &json!({"name": "loss", "valueMax": "0.9", "valueMin": "0.4", "valueCurrent": "0.7",
                "timestampMax": t0, "timestampMin": t0 + 1000, "timestampCurrent": t0 + 2000,
                "stepMax": 0, "stepMin": 1, "stepCurrent": 2, "editable": false})
    );
    // NaN never wins max/min, but it is the current value when newest; every value is a string.
    let acc = &summary[0];
    assert_eq!(
        (acc["valueMax"].clone(), acc["valueMin"].clone(), acc["valueCurrent"].clone()),
        (json!("0.75"), json!("0.75"), json!("NaN"))
    );
    assert_eq!(summary[1]["valueCurrent"], "1");
}

fn bad_input_is_a_4xx_with_a_comet_body(s: &Server) {
    let key = create(s, "ws", "p", None);
    // Not a number, not JSON (Python's bare NaN token), a missing member, a wrong type.
    assert_comet_error(&metric(s, &key, "loss", json!("abc"), None, None, None), 400);
    assert_comet_error(&metric(s, &key, "loss", json!({"v": 1}), None, None, None), 400);
    let body = format!(r#"{{"experimentKey": "{key}", "metricName": "loss", "metricValue": NaN}}"#);
    assert_comet_error(
        &s.send("POST", &format!("{A}/write/experiment/metric"), "application/json", &body),
        400,
    );
    assert_comet_error(
        &post(
            s,
            &format!("{A}/write/experiment/metric"),
            json!({"experimentKey": key, "metricValue": 1}),
        ),
        400,
    );
    assert_comet_error(&metric(s, &key, "", json!(1), None, None, None), 400);
    assert_comet_error(
        &post(
            s,
            &format!("{A}/write/experiment/metric"),
            json!({"experimentKey": key, "metricName": "l", "metricValue": 1, "step": "x"}),
        ),
        400,
    );
    assert_comet_error(
        &s.send("POST", &format!("{A}/write/experiment/create"), "application/json", "{oops"),
        400,
    );
    assert_comet_error(
        &post(
            s,
            &format!("{A}/write/experiment/tags"),
            json!({"experimentKey": key, "addedTags": "one"}),
        ),
        400,
    );
    // Not a form.
    assert_comet_error(
        &s.send(
            "POST",
            &format!("{A}/write/experiment/upload-asset?experimentKey={key}"),
            "application/json",
            "{}",
        ),
        400,
    );
    // Nothing was stored by any of them.
    assert_eq!(
        get_ok(s, &format!("{A}/experiment/metrics/get-all?experimentKey={key}")),
        json!({"metrics": []})
    );
}

fn experiments_are_runs_of_every_api(s: &Server) {
    let key = create(s, "ws", "p", None);
    assert_eq!(metric(s, &key, "loss", json!(0.5), Some(3), None, Some(1700000000000)).status, 200);
    // Lens: the workload uid is the experiment key; the data source is `comet`.
    let r = s.send(
        "GET",
        &format!("/v1/workloads/{key}/metrics/data?metrics=loss"),
        "application/json",
        "",
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        r.json()["data"],
        json!([{"metric_name": "loss", "value": 0.5, "timestamp": 1700000000000i64, "iteration": 3, "data_source": "comet"}])
    );
    // ClearML: the experiment is a task.
    let r = s.json(
        "POST",
        "/events.get_task_events",
        json!({"task": key, "event_type": "training_stats_scalar"}),
    );
    let e = &r.json()["data"]["events"][0];
    assert_eq!(
        (e["metric"].clone(), e["iter"].clone(), e["value"].clone()),
        (json!("loss"), json!(3), json!(0.5)),
        "{}",
        r.text
    );
    // Dioptra: the job id is the run id.
    let run = s.store().run_by_uid("default", &key).unwrap().expect("the experiment is a run");
    assert_eq!(run.created_by, "comet");
    let r = s.send("GET", &format!("/api/v1/jobs/{}/metrics", run.id), "application/json", "");
    assert_eq!((r.status, r.json()), (200, json!([{"name": "loss", "value": 0.5}])), "{}", r.text);

    // The reverse: points of ClearML and SageMaker show in the experiment of that key.
    let point = json!({"task": key, "type": "training_stats_scalar", "metric": "acc", "variant": "val", "iter": 7, "value": 0.8,
                       "timestamp": 1700000005000i64});
    let r = s.json("POST", "/events.add", point);
    assert_eq!(r.status, 200, "{}", r.text);
    let r = s.send(
        "PUT",
        "/BatchPutMetrics",
        "application/json",
        &json!({"TrialComponentName": key, "MetricData": [{"MetricName": "lr", "Timestamp": 1700000006.0, "Step": 1, "Value": 0.01}]})
            .to_string(),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let all = get_ok(s, &format!("{A}/experiment/metrics/get-all?experimentKey={key}"))["metrics"].clone();
    let seen: Vec<(Value, Value, Value)> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["metricName"].clone(), p["metricValue"].clone(), p["step"].clone()))
        .collect();
    assert_eq!(
        seen,
        vec![
            (json!("loss"), json!("0.5"), json!(3)),
            (json!("acc/val"), json!("0.8"), json!(7)),
            (json!("lr"), json!("0.01"), json!(1))
        ]
    );
    // A ClearML task nobody created through Comet is an experiment of the default workspace.
    s.json(
        "POST",
        "/events.add",
        json!({"task": "clearml-task-1", "type": "training_stats_scalar", "metric": "m", "variant": "v", "iter": 0, "value": 2}),
    );
    let m = get_ok(s, &format!("{A}/experiment/metadata?experimentKey=clearml-task-1"));
    assert_eq!(
        (m["workspaceName"].clone(), m["projectName"].clone()),
        (json!("default"), json!("general"))
    );
    let summary = get_ok(s, &format!("{A}/experiment/metrics/summary?experimentKey=clearml-task-1"));
    assert_eq!(summary["values"][0]["name"], "m/v");
    assert_eq!(summary["values"][0]["valueCurrent"], "2");
}

fn parameters_others_tags_and_documents(s: &Server) {
    let key = create(s, "ws", "p", None);
    let w = |path: &str, body: Value| post_ok(s, &format!("{A}/write/experiment/{path}"), body);
    w(
        "parameter",
        json!({"experimentKey": key, "parameterName": "batch", "parameterValue": 32, "timestamp": 1000}),
    );
    w(
        "parameter",
        json!({"experimentKey": key, "parameterName": "batch", "parameterValue": 64, "step": 5, "timestamp": 2000}),
    );
    w(
        "parameter",
        json!({"experimentKey": key, "parameterName": "batch", "parameterValue": 48, "step": 9, "timestamp": 3000}),
    );
    w(
        "parameter",
        json!({"experimentKey": key, "parameterName": "layers", "parameterValue": [64, 32]}),
    );
    w(
        "parameter",
        json!({"experimentKey": key, "parameterName": "opt", "parameterValue": "adam"}),
    );
    let params = get_ok(s, &format!("{A}/experiment/parameters?experimentKey={key}"))["values"].clone();
    assert_eq!(
        params[0],
        json!({"name": "batch", "valueMax": "64", "valueMin": "32", "valueCurrent": "48",
               "timestampMax": 2000, "timestampMin": 1000, "timestampCurrent": 3000,
               "stepMax": 5, "stepMin": null, "stepCurrent": 9, "editable": true})
    );
    assert_eq!(
        (params[1]["name"].clone(), params[1]["valueCurrent"].clone()),
        (json!("layers"), json!("[64,32]"))
    );
    assert_eq!(params[2]["valueCurrent"], "adam");

    w(
        "log-other",
        json!({"experimentKey": key, "key": "dataset", "value": "mnist", "timestamp": 5}),
    );
    w("log-other", json!({"experimentKey": key, "key": "seed", "value": 7}));
    let others = get_ok(s, &format!("{A}/experiment/log-other?experimentKey={key}"))["values"].clone();
    assert_eq!(
        others[0],
        json!({"name": "dataset", "valueMax": "mnist", "valueMin": "mnist", "valueCurrent": "mnist",
               "timestampMax": 5, "timestampMin": 5, "timestampCurrent": 5, "editable": true})
    );
    assert_eq!(others[1]["valueCurrent"], "7");

    w("tags", json!({"experimentKey": key, "addedTags": ["zeta", "alpha"]}));
    w("tags", json!({"experimentKey": key, "addedTags": ["alpha", "mid"]}));
    assert_eq!(
        get_ok(s, &format!("{A}/experiment/tags?experimentKey={key}")),
        json!({"tags": ["zeta", "alpha", "mid"]})
    );

    assert_eq!(
        get_ok(s, &format!("{A}/experiment/html?experimentKey={key}")),
        json!({"html": null})
    );
    w(
        "html",
        json!({"experimentKey": key, "html": "<b>a</b>", "override": false, "timestamp": 1700000000000000i64}),
    );
    w("html", json!({"experimentKey": key, "html": "<i>b</i>", "override": false}));
    assert_eq!(
        get_ok(s, &format!("{A}/experiment/html?experimentKey={key}")),
        json!({"html": "<b>a</b><i>b</i>"})
    );
    w("html", json!({"experimentKey": key, "html": "<p>c</p>", "override": true}));
    assert_eq!(
        get_ok(s, &format!("{A}/experiment/html?experimentKey={key}")),
        json!({"html": "<p>c</p>"})
    );

    assert_eq!(
        get_ok(s, &format!("{A}/experiment/code?experimentKey={key}")),
        json!({"code": null})
    );
    w("code", json!({"experimentKey": key, "code": "print(1)\n"}));
    assert_eq!(
        get_ok(s, &format!("{A}/experiment/code?experimentKey={key}")),
        json!({"code": "print(1)\n"})
    );
    w("graph", json!({"experimentKey": key, "graph": "{\"layers\": 2}"}));
    assert_eq!(
        get_ok(s, &format!("{A}/experiment/graph?experimentKey={key}")),
        json!({"graph": "{\"layers\": 2}"})
    );

    assert_eq!(
        get_ok(s, &format!("{A}/experiment/git/metadata?experimentKey={key}")),
        json!({"user": null, "root": null, "branch": null, "parent": null, "origin": null})
    );
    w(
        "git/metadata",
        json!({"experimentKey": key, "user": "u", "root": "r", "branch": "main", "parent": "p1", "origin": "git@x:y.git"}),
    );
    assert_eq!(
        get_ok(s, &format!("{A}/experiment/git/metadata?experimentKey={key}")),
        json!({"user": "u", "root": "r", "branch": "main", "parent": "p1", "origin": "git@x:y.git"})
    );
}

fn output_and_system_details(s: &Server) {
    let key = create(s, "ws", "p", None);
    let lines = |texts: &[&str], stderr: bool| -> Value {
        Value::Array(
            texts
                .iter()
                .enumerate()
                .map(|(i, t)| json!({"stderr": stderr, "output": t, "localTimestamp": 123456, "offset": i}))
                .collect(),
        )
    };
    post_ok(
        s,
        &format!("{C}/write/experiment/output"),
        json!({"experimentKey": key, "runContext": null, "outputLines": lines(&["epoch 1\n", "epoch 2\n"], false)}),
    );
    post_ok(
        s,
        &format!("{C}/write/experiment/output"),
        json!({"experimentKey": key, "runContext": "train", "outputLines": lines(&["oops\n"], true)}),
    );
    assert_eq!(
        get_ok(s, &format!("{A}/experiment/output?experimentKey={key}")),
        json!({"output": "epoch 1\nepoch 2\noops\n"})
    );
    // ClearML's log shows the same lines (stderr at level error).
    let r = s.json("POST", "/events.get_task_log", json!({"task": key, "order": "asc"}));
    let events = r.json()["data"]["events"].clone();
    let got: Vec<(Value, Value)> = events
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["msg"].clone(), e["level"].clone()))
        .collect();
    assert_eq!(
        got,
        vec![
            (json!("epoch 1"), json!("info")),
            (json!("epoch 2"), json!("info")),
            (json!("oops"), json!("error"))
        ],
        "{}",
        r.text
    );

    // System details: partial updates are merged; additional info merges by key.
    let sd = |body: Value| post_ok(s, &format!("{C}/write/experiment/system-details"), body);
    sd(json!({"experimentKey": key, "hostname": "box"}));
    sd(json!({"experimentKey": key, "pid": 42}));
    sd(json!({"experimentKey": key, "command": ["train.py", "--lr", "0.1"]}));
    sd(json!({"experimentKey": key, "logAdditionalSystemInfoList": [{"key": "a", "value": 1}]}));
    sd(json!({"experimentKey": key, "logAdditionalSystemInfoList": [{"key": "b", "value": "x"}]}));
    sd(json!({"experimentKey": key, "logAdditionalSystemInfoList": [{"key": "a", "value": 2}]}));
    sd(
        json!({"experimentKey": key, "gpuStaticInfoList": [{"gpuIndex": 0, "name": "G"}], "installedPackages": ["numpy==2"],
              "futureField": {"x": 1}}),
    );
    sd(json!({"experimentKey": key, "hostname": "box2"}));
    let d = get_ok(s, &format!("{A}/experiment/system-details?experimentKey={key}"));
    assert_eq!(d["experimentKey"], key.as_str());
    assert_eq!((d["hostname"].clone(), d["pid"].clone()), (json!("box2"), json!(42)));
    assert_eq!(d["command"], json!(["train.py", "--lr", "0.1"]));
    assert_eq!(d["gpuStaticInfoList"], json!([{"gpuIndex": 0, "name": "G"}]));
    assert_eq!(d["installedPackages"], json!(["numpy==2"]));
    assert_eq!(d["futureField"], json!({"x": 1}));
    let mut additional = d["logAdditionalSystemInfoList"].as_array().unwrap().clone();
    additional.sort_by_key(|v| v["key"].as_str().unwrap().to_string());
    assert_eq!(additional, vec![json!({"key": "a", "value": 2}), json!({"key": "b", "value": "x"})]);
    // Never-set members are there, null or empty.
    for k in [
        "user",
        "os",
        "ip",
        "pythonVersion",
        "maxTotalMemory",
        "totalRam",
        "networkInterfaceIps",
    ] {
        assert_eq!(d[k], Value::Null, "{k}: {d}");
    }
    assert_eq!((d["osPackages"].clone(), d["systemMetricNames"].clone()), (json!([]), json!([])));
}

/// A form as `requests` builds it: part `file` (file name `file`) and optionally `metadata`.
fn form(content: &[u8], metadata: Option<&str>) -> (String, Vec<u8>) {
    let boundary = "cometboundary42";
    let mut body = format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"file\"\r\n\r\n").into_bytes();
    body.extend_from_slice(content);
    if let Some(m) = metadata {
        body.extend_from_slice(format!("\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"metadata\"\r\n\r\n{m}").as_bytes());
    }
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

fn upload(s: &Server, query: &str, content: &[u8], metadata: Option<&str>) -> (u16, Value) {
    let (ct, body) = form(content, metadata);
    let resp = match ureq::post(&s.url(&format!("{A}/write/experiment/upload-asset?{query}")))
        .set("Content-Type", &ct)
        .send_bytes(&body)
    {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("upload: {e}"),
    };
    let status = resp.status();
    (status, serde_json::from_str(&resp.into_string().unwrap()).unwrap())
}

fn download(s: &Server, query: &str) -> (u16, String, Vec<u8>) {
    let resp = match ureq::get(&s.url(&format!("{A}/experiment/asset/get-asset?{query}"))).call() {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("download: {e}"),
    };
    let (status, ct) = (resp.status(), resp.header("content-type").unwrap_or("").to_string());
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut resp.into_reader(), &mut bytes).unwrap();
    (status, ct, bytes)
}

fn assets_upload_list_download(s: &Server) {
    let key = create(s, "ws", "p", None);
    let binary: Vec<u8> = (0..=255u8).cycle().take(3000).collect();
    // As log_asset sends it, including the stray `metadata=<dict key>` query parameter.
    let (status, v) = upload(
        s,
        &format!("experimentKey={key}&fileName=weights.bin&step=3&overwrite=True&context=train&metadata=kind&extension=bin"),
        &binary,
        Some(r#"{"kind": "weights"}"#),
    );
    assert_eq!(status, 200, "{v}");
    let asset_id = v["assetId"].as_str().unwrap().to_string();
    assert_eq!((v["fileName"].clone(), v["fileSize"].clone()), (json!("weights.bin"), json!(3000)));
    let (status, v) = upload(s, &format!("experimentKey={key}&fileName=pic.png&type=image"), b"png", None);
    assert_eq!(status, 200, "{v}");

    let list = get_ok(s, &format!("{A}/experiment/asset/list?experimentKey={key}&type=all"))["assets"].clone();
    assert_eq!(list.as_array().unwrap().len(), 2, "{list}");
    let a = &list[0];
    assert_eq!(a["assetId"], asset_id.as_str());
    assert_eq!(
        (
            a["fileName"].clone(),
            a["fileSize"].clone(),
            a["step"].clone(),
            a["runContext"].clone()
        ),
        (json!("weights.bin"), json!(3000), json!(3), json!("train"))
    );
    assert_eq!(
        (a["type"].clone(), a["dir"].clone(), a["image"].clone()),
        (json!("asset"), json!("assets"), json!(false))
    );
    assert_eq!(a["metadata"], r#"{"kind": "weights"}"#);
    assert_eq!(
        a["link"],
        format!("{A}/experiment/asset/get-asset?experimentKey={key}&assetId={asset_id}")
    );
    assert_eq!(
        (list[1]["type"].clone(), list[1]["image"].clone(), list[1]["dir"].clone()),
        (json!("image"), json!(true), json!("images"))
    );
    let images = get_ok(s, &format!("{A}/experiment/asset/list?experimentKey={key}&type=image"))["assets"].clone();
    assert_eq!(images.as_array().unwrap().len(), 1);

    // Download: the bytes as uploaded, with or without the experiment key.
    let (status, ct, bytes) = download(s, &format!("experimentKey={key}&assetId={asset_id}&allow301=False"));
    assert_eq!((status, ct.as_str()), (200, "application/octet-stream"));
    assert_eq!(bytes, binary);
    assert_eq!(download(s, &format!("assetId={asset_id}")).2, binary);
    let other = create(s, "ws", "p", None);
    assert_eq!(download(s, &format!("experimentKey={other}&assetId={asset_id}")).0, 404);
    assert_eq!(download(s, "assetId=nope").0, 404);

    // overwrite=True replaces the assets of the same name.
    let (status, v) = upload(s, &format!("experimentKey={key}&fileName=weights.bin&overwrite=True"), b"v2", None);
    assert_eq!(status, 200, "{v}");
    let list = get_ok(s, &format!("{A}/experiment/asset/list?experimentKey={key}"))["assets"].clone();
    let names: Vec<(Value, Value)> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["fileName"].clone(), a["fileSize"].clone()))
        .collect();
    assert_eq!(names, vec![(json!("pic.png"), json!(3)), (json!("weights.bin"), json!(2))]);

    // Over the size limit: 413, nothing stored; bad metadata: 400; an unknown experiment: 404.
    let big = vec![b'x'; 10 * 1024 * 1024 + 1];
    let (status, v) = upload(s, &format!("experimentKey={key}&fileName=big.bin"), &big, None);
    assert_eq!((status, v["code"].clone()), (413, json!(413)), "{v}");
    let (status, v) = upload(s, &format!("experimentKey={key}&fileName=m.txt"), b"m", Some("[1, 2]"));
    assert_eq!((status, v["code"].clone()), (400, json!(400)), "{v}");
    let (status, _) = upload(s, "experimentKey=unknown&fileName=x", b"x", None);
    assert_eq!(status, 404);
    assert_eq!(
        get_ok(s, &format!("{A}/experiment/asset/list?experimentKey={key}"))["assets"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

/// API keys from the config: each key reaches only its own tenant's experiments.
fn api_keys_separate_tenants(backend: Backend) {
    const CONFIG: &str = r#"
[[tenant]]
name = "acme"
[[tenant.comet]]
api_key = "CK-ACME"
[[tenant]]
name = "globex"
[[tenant.comet]]
api_key = "CK-GLOBEX"
"#;
    let Some(s) = Server::start_with_config(backend, CONFIG) else { return };
    let with_key = |method: &str, path: &str, key: Option<&str>, body: Value| {
        let mut headers = vec![("Content-Type", "application/json")];
        if let Some(k) = key {
            headers.push(("Authorization", k));
        }
        s.json_with(method, path, &headers[1..], body)
    };
    // The version check needs no key; everything else does.
    assert_eq!(get(&s, "/clientlib/isAlive/ver").status, 200);
    assert_comet_error(&with_key("GET", &format!("{A}/workspaces"), None, json!({})), 401);
    assert_comet_error(&with_key("GET", &format!("{A}/workspaces"), Some("CK-NOPE"), json!({})), 401);
    let r = with_key("POST", &format!("{A}/write/experiment/create"), Some("CK-ACME"), json!({"workspaceName": "acme", "projectName": "p"}));
    assert!(r.status < 400, "{}", r.text);
    let key = r.json()["experimentKey"].as_str().unwrap().to_string();
    let r = with_key("POST", &format!("{A}/write/experiment/metric"), Some("CK-ACME"), json!({"experimentKey": key, "metricName": "loss", "metricValue": 0.5, "step": 1}));
    assert!(r.status < 400, "{}", r.text);
    let path = format!("{A}/experiment/metrics/get-all?experimentKey={key}");
    let r = with_key("GET", &path, Some("CK-ACME"), json!({}));
    assert_eq!(r.json()["metrics"][0]["metricValue"], "0.5", "{}", r.text);
    // Another tenant's key does not see the experiment.
    assert_comet_error(&with_key("GET", &format!("{A}/experiment/metadata?experimentKey={key}"), Some("CK-GLOBEX"), json!({})), 404);
}

per_backend! {
    api_keys_separate_tenants => api_keys_separate_tenants;
}
