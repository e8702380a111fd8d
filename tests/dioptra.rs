//! Dioptra's job and experiment metrics over real HTTP, on SQLite and PostgreSQL: writing
//! metrics (names, values, timestamps, steps, upserts), latest values, snapshot paging,
//! experiments and jobs (created, attached, read), the experiment's jobs with paging,
//! sorting and the search language (injection attempts included), runs of the other APIs
//! as jobs, and every error in Dioptra's shapes.

mod common;

use common::{Backend, Server};
use serde_json::{json, Value};

both_backends! {
    metric_writes_follow_dioptras_rules => metric_writes_follow_dioptras_rules;
    latest_is_the_highest_step => latest_is_the_highest_step;
    snapshots_page_by_offset_in_step_order => snapshots_page_by_offset_in_step_order;
    experiments_and_jobs => experiments_and_jobs;
    experiment_metrics_page_and_sort => experiment_metrics_page_and_sort;
    experiment_metrics_search => experiment_metrics_search;
    search_injection_attempts_are_values => search_injection_attempts_are_values;
    clearml_sagemaker_and_dioptra_points_of_one_run => clearml_sagemaker_and_dioptra_points_of_one_run;
}

fn get(s: &Server, path: &str) -> common::Reply {
    s.send("GET", path, "application/json", "")
}

/// A new experiment; its id.
fn experiment(s: &Server, name: &str) -> i64 {
    let r = s.json("POST", "/api/v1/experiments/", json!({"name": name, "group": 1}));
    assert_eq!(r.status, 200, "{}", r.text);
    r.json()["id"].as_i64().unwrap()
}

/// A new job of `experiment`; its id.
fn job(s: &Server, experiment: i64, body: Value) -> i64 {
    let r = s.json("POST", &format!("/api/v1/experiments/{experiment}/jobs"), body);
    assert_eq!(r.status, 200, "{}", r.text);
    r.json()["id"].as_i64().unwrap()
}

fn post_metric(s: &Server, job: i64, body: Value) -> Value {
    let r = s.json("POST", &format!("/api/v1/jobs/{job}/metrics"), body.clone());
    assert_eq!(r.status, 200, "{body}: {}", r.text);
    r.json()
}

fn metric_writes_follow_dioptras_rules(s: &Server) {
    let exp = experiment(s, "writes");
    let id = job(s, exp, json!({"queue": 1, "entrypoint": 1}));
    let path = format!("/api/v1/jobs/{id}/metrics");
    // Names: a letter or underscore, then letters, digits, underscores; not a lone `_`.
    for name in ["a", "_a", "loss", "Val_Acc2"] {
        assert_eq!(post_metric(s, id, json!({"name": name, "value": 1})), json!({"name": name, "value": 1.0}));
    }
    for name in ["_", "1abc", "train/loss", "val-loss", ""] {
        let r = s.json("POST", &path, json!({"name": name, "value": 1}));
        assert_eq!((r.status, r.json()), (400, json!({"errors": {"name": ["String does not match expected pattern."]}})), "{name}");
    }
    // Values: numbers, numeric strings and the special spellings; answered as Dioptra does.
    for (value, out) in [
        (json!(0.25), json!(0.25)),
        (json!("1.5"), json!(1.5)),
        (json!(" 2e3 "), json!(2000.0)),
        (json!("nan"), json!("nan")),
        (json!("NaN"), json!("nan")),
        (json!("inf"), json!("inf")),
        (json!("Infinity"), json!("inf")),
        (json!("-inf"), json!("-inf")),
        (json!("-Infinity"), json!("-inf")),
        (json!("1e400"), json!("inf")),
    ] {
        assert_eq!(post_metric(s, id, json!({"name": "v", "value": value})), json!({"name": "v", "value": out}), "{value}");
    }
    for value in [json!("abc"), json!(true), json!(null), json!([1]), json!({})] {
        let r = s.json("POST", &path, json!({"name": "v", "value": value}));
        assert_eq!((r.status, r.json()), (400, json!({"errors": {"value": ["Not a valid number."]}})), "{value}");
    }
    let r = s.json("POST", &path, json!({"name": "v"}));
    assert_eq!((r.status, r.json()), (400, json!({"errors": {"value": ["Missing data for required field."]}})));
    let r = s.json("POST", &path, json!({"value": 1}));
    assert_eq!((r.status, r.json()), (400, json!({"errors": {"name": ["Missing data for required field."]}})));
    let r = s.json("POST", &path, json!({"name": "v", "value": 1, "foo": 2}));
    assert_eq!((r.status, r.json()), (400, json!({"errors": {"foo": ["Unknown field."]}})));
    // Bodies that are not JSON, or members of the wrong JSON type.
    for body in ["{not json", "[1, 2]", r#"{"name": "v", "value": 1, "step": "4"}"#, r#"{"name": "v", "value": NaN}"#] {
        let r = s.send("POST", &path, "application/json", body);
        assert_eq!(r.status, 400, "{body}: {}", r.text);
        assert!(r.json()["message"].as_str().unwrap().starts_with("Failed to decode JSON object: "), "{body}: {}", r.text);
        assert_eq!(r.json().as_object().unwrap().len(), 1, "{}", r.text);
    }
    // Timestamps: an offset is normalised to UTC, a naive time is UTC, `Z` is accepted.
    for (step, ts) in [(1, "2024-01-15T10:30:00+02:00"), (2, "2024-01-15T08:30:00"), (3, "2024-01-15T08:30:00.250Z")] {
        post_metric(s, id, json!({"name": "t", "value": step, "step": step, "timestamp": ts}));
    }
    let snaps = get(s, &format!("{path}/t/snapshots")).json();
    let times: Vec<Value> = snaps["data"].as_array().unwrap().iter().map(|d| d["timestamp"].clone()).collect();
    assert_eq!(
        times,
        vec![json!("2024-01-15T08:30:00+00:00"), json!("2024-01-15T08:30:00+00:00"), json!("2024-01-15T08:30:00.250000+00:00")]
    );
    let r = s.json("POST", &path, json!({"name": "t", "value": 1, "timestamp": "yesterday"}));
    assert_eq!((r.status, r.json()), (400, json!({"errors": {"timestamp": ["Not a valid datetime."]}})));
    let r = s.json("POST", &path, json!({"name": "t", "value": 1, "timestamp": 1705307400}));
    assert_eq!(r.status, 400);
    assert!(r.json()["message"].is_string(), "{}", r.text);
    // Without a timestamp: the server's time.
    let before = chrono_like_now_prefix();
    post_metric(s, id, json!({"name": "now", "value": 1}));
    let stamp = get(s, &format!("{path}/now/snapshots")).json()["data"][0]["timestamp"].as_str().unwrap().to_string();
    assert!(stamp.starts_with(&before) && stamp.ends_with("+00:00"), "{stamp} vs {before}");
    // Step: default 0, negative allowed; (job, name, step) is the key: re-posting overwrites.
    post_metric(s, id, json!({"name": "u", "value": 1}));
    post_metric(s, id, json!({"name": "u", "value": 2}));
    post_metric(s, id, json!({"name": "u", "value": 3, "step": -1}));
    let snaps = get(s, &format!("{path}/u/snapshots")).json();
    assert_eq!(snaps["totalNumResults"], 2);
    assert_eq!(snaps["data"][0]["step"], -1);
    assert_eq!((snaps["data"][1]["step"].clone(), snaps["data"][1]["value"].clone()), (json!(0), json!(2.0)));
    // Overwriting with a special value and back (upstream fails here on SQLite).
    post_metric(s, id, json!({"name": "w", "value": 1, "step": 5}));
    post_metric(s, id, json!({"name": "w", "value": "nan", "step": 5}));
    assert_eq!(get(s, &format!("{path}/w/snapshots")).json()["data"][0]["value"], "nan");
    post_metric(s, id, json!({"name": "w", "value": 4, "step": 5}));
    assert_eq!(get(s, &format!("{path}/w/snapshots")).json()["data"][0]["value"], 4.0);
    // A missing job: 404 in Dioptra's service-error shape.
    let r = s.json("POST", "/api/v1/jobs/99999/metrics", json!({"name": "a", "value": 1}));
    assert_eq!(r.status, 404);
    assert_eq!(
        r.json(),
        json!({
            "error": "EntityDoesNotExistError",
            "message": "Not Found - Failed to locate job with job_id having value (99999).",
            "detail": {"entity_type": "job", "job_id": 99999},
            "originating_path": "/api/v1/jobs/99999/metrics?"
        })
    );
    let r = s.json("POST", "/api/v1/jobs/99999/metrics?x=1", json!({"name": "a", "value": 1}));
    assert_eq!(r.json()["originating_path"], "/api/v1/jobs/99999/metrics?x=1");
    // A job id that is no integer.
    let r = s.json("POST", "/api/v1/jobs/abc/metrics", json!({"name": "a", "value": 1}));
    assert_eq!((r.status, r.json()["errors"]["id"].clone()), (400, json!(["Not a valid integer."])), "{}", r.text);
    let r = s.json("POST", "/api/v1/jobs/-1/metrics", json!({"name": "a", "value": 1}));
    assert_eq!((r.status, r.json()), (400, json!({"errors": {"id": ["Must be greater than or equal to 0."]}})));
}

/// The UTC date and hour now, as Dioptra's timestamps begin (`2024-01-15T08`).
fn chrono_like_now_prefix() -> String {
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    let days = secs.div_euclid(86400);
    let hour = secs.rem_euclid(86400) / 3600;
    // civil from days (Howard Hinnant's algorithm)
    let z = days + 719468;
    let era = z.div_euclid(146097);
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}T{hour:02}")
}

fn latest_is_the_highest_step(s: &Server) {
    let exp = experiment(s, "latest");
    let id = job(s, exp, json!({"queue": 1, "entrypoint": 1}));
    // Steps arrive out of order and with timestamps that disagree with them.
    post_metric(s, id, json!({"name": "loss", "value": 0.3, "step": 3, "timestamp": "2024-01-01T00:00:00Z"}));
    post_metric(s, id, json!({"name": "loss", "value": 0.9, "step": 1, "timestamp": "2024-06-01T00:00:00Z"}));
    post_metric(s, id, json!({"name": "acc", "value": "-inf", "step": 0}));
    post_metric(s, id, json!({"name": "acc", "value": 0.5, "step": 2}));
    post_metric(s, id, json!({"name": "Zeta", "value": "nan"}));
    let r = get(s, &format!("/api/v1/jobs/{id}/metrics"));
    assert_eq!(r.status, 200);
    assert_eq!(r.json(), json!([{"name": "Zeta", "value": "nan"}, {"name": "acc", "value": 0.5}, {"name": "loss", "value": 0.3}]));
    // Unknown jobs: 200 and an empty list (no existence check, as Dioptra).
    assert_eq!(get(s, "/api/v1/jobs/424242/metrics").json(), json!([]));
    let r = get(s, "/api/v1/jobs/abc/metrics");
    assert_eq!((r.status, r.json()["errors"]["id"].clone()), (400, json!(["Not a valid integer."])));
}

fn snapshots_page_by_offset_in_step_order(s: &Server) {
    let exp = experiment(s, "snapshots");
    let id = job(s, exp, json!({"queue": 1, "entrypoint": 1}));
    for step in [4, 0, 3, 1, 2] {
        post_metric(
            s,
            id,
            json!({"name": "loss", "value": f64::from(step) / 10.0, "step": step, "timestamp": format!("2024-01-15T08:30:0{step}Z")}),
        );
    }
    post_metric(s, id, json!({"name": "other", "value": 1}));
    let base = format!("/api/v1/jobs/{id}/metrics/loss/snapshots");
    // Default page: everything, ordered by step.
    let v = get(s, &base).json();
    assert_eq!(v["index"], 0);
    assert_eq!(v["isComplete"], true);
    assert_eq!(v["totalNumResults"], 5);
    assert_eq!(v["first"], format!("{base}?index=0&pageLength=10"));
    assert!(v.get("next").is_none() && v.get("prev").is_none(), "{v}");
    let steps: Vec<Value> = v["data"].as_array().unwrap().iter().map(|d| d["step"].clone()).collect();
    assert_eq!(steps, vec![json!(0), json!(1), json!(2), json!(3), json!(4)]);
    assert_eq!(v["data"][2], json!({"name": "loss", "value": 0.2, "step": 2, "timestamp": "2024-01-15T08:30:02+00:00"}));
    // Following `next` two at a time walks the history once, in order; index is an offset.
    let mut seen = Vec::new();
    let mut url = format!("{base}?pageLength=2");
    let mut pages = 0;
    loop {
        let v = get(s, &url).json();
        pages += 1;
        seen.extend(v["data"].as_array().unwrap().iter().map(|d| d["step"].as_i64().unwrap()));
        match v.get("next").and_then(Value::as_str) {
            Some(next) => {
                assert_eq!(v["isComplete"], false);
                url = next.to_string();
            }
            None => {
                assert_eq!(v["isComplete"], true);
                break;
            }
        }
    }
    assert_eq!((seen, pages), (vec![0, 1, 2, 3, 4], 3));
    let v = get(s, &format!("{base}?index=2&pageLength=2")).json();
    let steps: Vec<Value> = v["data"].as_array().unwrap().iter().map(|d| d["step"].clone()).collect();
    assert_eq!(steps, vec![json!(2), json!(3)], "index 2 is the third snapshot, not the third page");
    assert_eq!(v["next"], format!("{base}?index=4&pageLength=2"));
    assert_eq!(v["prev"], format!("{base}?index=0&pageLength=2"));
    let v = get(s, &format!("{base}?index=1&pageLength=3")).json();
    assert_eq!(
        (v["prev"].clone(), v["isComplete"].clone(), v["data"].as_array().unwrap().len()),
        (json!(format!("{base}?index=0&pageLength=3")), json!(false), 3)
    );
    // Past the end: an empty, complete page.
    let v = get(s, &format!("{base}?index=7&pageLength=2")).json();
    assert_eq!((v["data"].clone(), v["isComplete"].clone(), v["totalNumResults"].clone()), (json!([]), json!(true), json!(5)));
    // Unknown names and jobs: an empty page (no existence check).
    for path in [format!("/api/v1/jobs/{id}/metrics/nope/snapshots"), "/api/v1/jobs/424242/metrics/loss/snapshots".to_string()] {
        let v = get(s, &path).json();
        assert_eq!(
            (v["totalNumResults"].clone(), v["data"].clone(), v["isComplete"].clone()),
            (json!(0), json!([]), json!(true)),
            "{path}"
        );
    }
    // Paging parameter errors.
    for (query, body) in [
        ("index=-1", json!({"errors": {"index": ["Must be greater than or equal to 0."]}})),
        ("pageLength=5000", json!({"errors": {"pageLength": ["Must be <= 1000"]}})),
        ("pageLength=0", json!({"errors": {"pageLength": ["Must be greater than or equal to 1."]}})),
        ("index=abc", json!({"errors": {"index": ["Not a valid integer."]}, "message": "Input payload validation failed"})),
        ("pageLength=1.5", json!({"errors": {"pageLength": ["Not a valid integer."]}, "message": "Input payload validation failed"})),
    ] {
        let r = get(s, &format!("{base}?{query}"));
        assert_eq!((r.status, r.json()), (400, body), "{query}");
    }
    assert_eq!(get(s, &format!("{base}?pageLength=1000")).status, 200);
}

fn experiments_and_jobs(s: &Server) {
    // Experiments: created with a name and a group; names are unique within a group.
    let r = s.json("POST", "/api/v1/experiments/", json!({"name": "exp-a", "group": 1, "description": "first", "entrypoints": [3]}));
    assert_eq!(r.status, 200, "{}", r.text);
    let e = r.json();
    let exp = e["id"].as_i64().unwrap();
    assert_eq!((e["name"].clone(), e["description"].clone(), e["snapshot"].clone()), (json!("exp-a"), json!("first"), json!(exp)));
    assert_eq!((e["latestSnapshot"].clone(), e["hasDraft"].clone()), (json!(true), json!(false)));
    assert!(e["createdOn"].as_str().unwrap().ends_with("+00:00"), "{e}");
    let r = s.json("POST", "/api/v1/experiments/", json!({"name": "exp-a", "group": 1}));
    assert_eq!((r.status, r.json()["error"].clone()), (409, json!("EntityExistsError")), "{}", r.text);
    assert!(r.json()["message"].as_str().unwrap().starts_with("Conflict - "), "{}", r.text);
    assert_eq!(s.json("POST", "/api/v1/experiments/", json!({"name": "exp-a", "group": 2})).status, 200, "another group");
    let r = s.json("POST", "/api/v1/experiments/", json!({"group": 1}));
    assert_eq!((r.status, r.json()), (400, json!({"errors": {"name": ["Missing data for required field."]}})));
    let r = s.json("POST", "/api/v1/experiments/", json!({"name": "x", "group": 1, "bogus": 1}));
    assert_eq!((r.status, r.json()), (400, json!({"errors": {"bogus": ["Unknown field."]}})));

    // Jobs created in the experiment are new runs, queued, with a uid the other APIs use.
    let r = s.json(
        "POST",
        &format!("/api/v1/experiments/{exp}/jobs"),
        json!({"queue": 7, "entrypoint": 3, "values": {"lr": "0.1"}, "description": "baseline", "timeout": "2h", "artifactValues": {}}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let j = r.json();
    let id = j["id"].as_i64().unwrap();
    assert_eq!(j["status"], "queued");
    assert_eq!(j["description"], "baseline");
    assert_eq!(j["timeout"], "2h");
    assert_eq!(j["values"], json!({"lr": "0.1"}));
    assert_eq!(j["snapshot"], id);
    assert_eq!(
        j["experiment"],
        json!({"id": exp, "snapshotId": exp, "name": "exp-a", "url": format!("/api/v1/experiments/{exp}/snapshots/{exp}")})
    );
    let uid = j["uid"].as_str().unwrap().to_string();
    assert_eq!(uid.len(), 32, "{uid}");
    let r = s.json("POST", &format!("/api/v1/experiments/{exp}/jobs"), json!({"queue": 1}));
    assert_eq!((r.status, r.json()), (400, json!({"errors": {"entrypoint": ["Missing data for required field."]}})));
    let r = s.json("POST", "/api/v1/experiments/999/jobs", json!({"queue": 1, "entrypoint": 1}));
    assert_eq!((r.status, r.json()["detail"].clone()), (404, json!({"entity_type": "experiment", "experiment_id": 999})));
    // Default timeout, and GET /jobs/{id}.
    let id2 = job(s, exp, json!({"queue": 1, "entrypoint": 1}));
    let r = get(s, &format!("/api/v1/jobs/{id2}"));
    assert_eq!(r.status, 200);
    assert_eq!(
        (r.json()["timeout"].clone(), r.json()["status"].clone(), r.json()["experiment"]["id"].clone()),
        (json!("24h"), json!("queued"), json!(exp))
    );
    let r = get(s, "/api/v1/jobs/99999");
    assert_eq!((r.status, r.json()["detail"].clone()), (404, json!({"entity_type": "job", "job_id": 99999})));
    assert_eq!(r.json()["originating_path"], "/api/v1/jobs/99999?");
    // The job's uid is the run: ClearML and Lens reach it by that key.
    post_metric(s, id, json!({"name": "loss", "value": 0.5, "step": 1}));
    let lens = get(s, &format!("/v1/workloads/{uid}/metrics/data")).json();
    assert_eq!(lens["data"][0]["data_source"], "dioptra", "{lens}");
    let r = s.json("POST", "/events.get_task_latest_scalar_values", json!({"task": uid}));
    assert_eq!(r.status, 200, "{}", r.text);

    // A run of another API is a job too, without an experiment until one takes it.
    let r = s.send(
        "POST",
        "/events.add",
        "application/json",
        &json!({"task": "clearml-task", "type": "training_stats_scalar", "metric": "loss", "variant": "loss", "iter": 1, "value": 0.7})
            .to_string(),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let run = s.store().run_by_uid("default", "clearml-task").unwrap().unwrap();
    let j = get(s, &format!("/api/v1/jobs/{}", run.id)).json();
    assert_eq!((j["status"].clone(), j["uid"].clone()), (json!("started"), json!("clearml-task")), "{j}");
    assert!(j.get("experiment").is_none() && j.get("timeout").is_none(), "{j}");
    // Attach it by uid (the extension), then again by id with a new status.
    let runs = format!("/api/v1/experiments/{exp}/runs");
    let r = s.json("POST", &runs, json!({"uid": "clearml-task", "description": "from clearml"}));
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        (r.json()["id"].clone(), r.json()["status"].clone(), r.json()["experiment"]["id"].clone()),
        (json!(run.id), json!("started"), json!(exp))
    );
    let r = s.json("POST", &runs, json!({"id": run.id, "status": "finished"}));
    assert_eq!((r.json()["status"].clone(), r.json()["description"].clone()), (json!("finished"), json!("from clearml")), "{}", r.text);
    // One experiment per job; unknown runs and experiments; exactly one of id and uid.
    let other = experiment(s, "exp-b");
    let r = s.json("POST", &format!("/api/v1/experiments/{other}/runs"), json!({"id": run.id}));
    assert_eq!(
        (r.status, r.json()["error"].clone(), r.json()["detail"]["experiment_id"].clone()),
        (409, json!("EntityExistsError"), json!(exp))
    );
    let r = s.json("POST", &runs, json!({"uid": "nope"}));
    assert_eq!((r.status, r.json()["detail"].clone()), (404, json!({"entity_type": "job", "uid": "nope"})));
    let r = s.json("POST", &runs, json!({"id": 99999}));
    assert_eq!((r.status, r.json()["detail"].clone()), (404, json!({"entity_type": "job", "job_id": 99999})));
    let r = s.json("POST", "/api/v1/experiments/999/runs", json!({"id": run.id}));
    assert_eq!((r.status, r.json()["detail"]["entity_type"].clone()), (404, json!("experiment")));
    for body in [json!({}), json!({"id": run.id, "uid": "clearml-task"})] {
        let r = s.json("POST", &runs, body);
        assert_eq!((r.status, r.json()), (400, json!({"errors": {"_schema": ["Give exactly one of id and uid."]}})));
    }
    let r = s.json("POST", &runs, json!({"id": run.id, "status": "bogus"}));
    assert_eq!(r.status, 400, "{}", r.text);
    let r = s.json("POST", &runs, json!({"uid": ""}));
    assert_eq!((r.status, r.json()), (400, json!({"errors": {"uid": ["Shorter than minimum length 1."]}})));
    // The experiment now lists three jobs.
    let v = get(s, &format!("/api/v1/experiments/{exp}/metrics")).json();
    assert_eq!(v["totalNumResults"], 3, "{v}");
    assert_eq!(v["data"][2], json!({"id": run.id, "metrics": [{"name": "loss", "value": 0.7}]}));
}

/// An experiment with five jobs of known descriptions, statuses and latest metrics; the
/// experiment id and the job ids in creation order.
fn five_jobs(s: &Server) -> (i64, Vec<i64>) {
    let exp = experiment(s, "five");
    let specs = [
        (Some("mnist baseline"), "2h", 3, 1),
        (Some("resnet on cifar"), "24h", 1, 2),
        (None, "30m", 2, 2),
        (Some("Mnist 100% tuned_v2"), "24h", 5, 1),
        (Some("resnet mnist ensemble"), "1h", 4, 3),
    ];
    let mut ids = Vec::new();
    for (i, (description, timeout, queue, entrypoint)) in specs.into_iter().enumerate() {
        let mut body = json!({"queue": queue, "entrypoint": entrypoint, "timeout": timeout});
        if let Some(d) = description {
            body["description"] = json!(d);
        }
        let id = job(s, exp, body);
        if i != 2 {
            post_metric(s, id, json!({"name": "acc", "value": 0.1 * (i as f64 + 1.0), "step": 1}));
        }
        ids.push(id);
    }
    // statuses: queued (new jobs) except two, set through the attach extension
    for (i, status) in [(1, "finished"), (3, "failed")] {
        let r = s.json("POST", &format!("/api/v1/experiments/{exp}/runs"), json!({"id": ids[i], "status": status}));
        assert_eq!(r.status, 200, "{}", r.text);
    }
    (exp, ids)
}

fn ids_of(v: &Value) -> Vec<i64> {
    v["data"].as_array().unwrap_or_else(|| panic!("no data: {v}")).iter().map(|d| d["id"].as_i64().unwrap()).collect()
}

fn experiment_metrics_page_and_sort(s: &Server) {
    let (exp, ids) = five_jobs(s);
    let base = format!("/api/v1/experiments/{exp}/metrics");
    let v = get(s, &base).json();
    assert_eq!(ids_of(&v), ids, "ascending job id without sortBy");
    assert_eq!((v["index"].clone(), v["isComplete"].clone(), v["totalNumResults"].clone()), (json!(0), json!(true), json!(5)));
    assert_eq!(v["first"], format!("{base}?index=0&pageLength=10"));
    assert_eq!(v["data"][0], json!({"id": ids[0], "metrics": [{"name": "acc", "value": 0.1}]}));
    assert_eq!(v["data"][2], json!({"id": ids[2], "metrics": []}), "a job without metrics");
    // Paging by offset; the official client also sends experiment_id (ignored).
    let v = get(s, &format!("{base}?index=1&pageLength=2&experiment_id={exp}")).json();
    assert_eq!(ids_of(&v), ids[1..3].to_vec());
    assert_eq!(v["next"], format!("{base}?index=3&pageLength=2"));
    assert_eq!(v["prev"], format!("{base}?index=0&pageLength=2"));
    let v = get(s, &format!("{base}?index=4&pageLength=2")).json();
    assert_eq!((ids_of(&v), v["isComplete"].clone(), v.get("next").is_none()), (vec![ids[4]], json!(true), true));
    // Sorting: every documented field, both directions; jobs without the field first.
    let sorted = |q: &str| ids_of(&get(s, &format!("{base}?{q}")).json());
    assert_eq!(sorted("sortBy=description"), vec![ids[2], ids[3], ids[0], ids[4], ids[1]], "bytewise: 'M' < 'm' < 'r'");
    assert_eq!(sorted("sortBy=description&descending=true"), vec![ids[1], ids[4], ids[0], ids[3], ids[2]]);
    assert_eq!(sorted("sortBy=status"), vec![ids[3], ids[1], ids[0], ids[2], ids[4]], "failed, finished, queued ×3 by id");
    assert_eq!(sorted("sortBy=queue"), vec![ids[1], ids[2], ids[0], ids[4], ids[3]]);
    assert_eq!(sorted("sortBy=entrypoint&descending=true"), vec![ids[4], ids[2], ids[1], ids[3], ids[0]]);
    assert_eq!(sorted("sortBy=id&descending=true"), ids.iter().rev().copied().collect::<Vec<_>>());
    assert_eq!(sorted("sortBy=createdOn"), ids);
    assert_eq!(sorted("sortBy=experiment"), ids);
    assert_eq!(sorted("sortBy=lastModifiedOn&descending=true")[..2], [ids[3], ids[1]], "the attached ones changed last");
    assert_eq!(sorted("descending=true"), ids, "descending alone does not sort");
    assert_eq!(sorted("sortBy="), ids);
    // The links keep the sort.
    let v = get(s, &format!("{base}?sortBy=status&descending=true&pageLength=2")).json();
    assert_eq!(v["next"], format!("{base}?index=2&pageLength=2&sortBy=status&descending=true"));
    // Errors.
    let r = get(s, &format!("{base}?sortBy=bogus"));
    assert_eq!(r.status, 400);
    assert_eq!(
        r.json(),
        json!({
            "error": "SortParameterValidationError",
            "message": "Bad Request - The sort parameter, bogus, for job is not sortable.",
            "detail": {},
            "originating_path": format!("{base}?sortBy=bogus")
        })
    );
    for (query, key) in
        [("descending=maybe", "descending"), ("index=-1", "index"), ("pageLength=1001", "pageLength"), ("pageLength=x", "pageLength")]
    {
        let r = get(s, &format!("{base}?{query}"));
        assert_eq!(r.status, 400, "{query}");
        assert!(r.json()["errors"][key].is_array(), "{query}: {}", r.text);
    }
    // Unknown experiments: an empty page.
    let v = get(s, "/api/v1/experiments/999/metrics").json();
    assert_eq!((v["totalNumResults"].clone(), v["data"].clone(), v["isComplete"].clone()), (json!(0), json!([]), json!(true)));
}

fn experiment_metrics_search(s: &Server) {
    let (exp, ids) = five_jobs(s);
    let base = format!("/api/v1/experiments/{exp}/metrics");
    let search = |q: &str| {
        let r = s.send("GET", &format!("{base}?search={}", enc(q)), "application/json", "");
        assert_eq!(r.status, 200, "{q}: {}", r.text);
        let v = r.json();
        assert_eq!(v["totalNumResults"].as_i64().unwrap() as usize, ids_of(&v).len(), "{q}");
        ids_of(&v)
    };
    let pick = |is: &[usize]| is.iter().map(|i| ids[*i]).collect::<Vec<_>>();
    assert_eq!(search(""), ids);
    assert_eq!(search("   "), ids);
    // field:value matches the whole field, wildcards apart, ASCII case-insensitively.
    assert_eq!(search("status:finished"), pick(&[1]));
    assert_eq!(search("status:FINISHED"), pick(&[1]));
    assert_eq!(search("status:fin"), pick(&[]));
    assert_eq!(search("status:f*"), pick(&[1, 3]));
    assert_eq!(search("status:queue?"), pick(&[0, 2, 4]));
    assert_eq!(search("status:queu?"), pick(&[]));
    assert_eq!(search("timeout:24h"), pick(&[1, 3]));
    assert_eq!(search("description:*mnist*"), pick(&[0, 3, 4]));
    assert_eq!(search("description:mnist*"), pick(&[0, 3]));
    assert_eq!(search(r#"description:"resnet on cifar""#), pick(&[1]));
    assert_eq!(search("description:'resnet*'"), pick(&[1, 4]));
    assert_eq!(search("description:*"), pick(&[0, 1, 3, 4]), "a job without a description never matches it");
    assert_eq!(search("tag:anything"), pick(&[]), "tags are not modelled");
    // Free text: words in order anywhere in description, status or timeout.
    assert_eq!(search("mnist"), pick(&[0, 3, 4]));
    assert_eq!(search("resnet mnist"), pick(&[4]));
    assert_eq!(search("mnist resnet"), pick(&[]));
    assert_eq!(search("finished"), pick(&[1]));
    assert_eq!(search("30m"), pick(&[2]));
    assert_eq!(search("'on cifar'"), pick(&[1]));
    assert_eq!(search("res*net"), pick(&[1, 4]));
    // AND of terms.
    assert_eq!(search("mnist, status:queued"), pick(&[0, 4]));
    assert_eq!(search("description:*mnist*,timeout:1h"), pick(&[4]));
    // `%` and `_` are characters, not SQL wildcards; escapes.
    assert_eq!(search("'100%'"), pick(&[3]));
    assert_eq!(search("'%'"), pick(&[3]));
    assert_eq!(search("description:'*100%*'"), pick(&[3]));
    assert_eq!(search("tuned_v2"), pick(&[3]));
    assert_eq!(search("'d_v'"), pick(&[3]));
    assert_eq!(search("'_'"), pick(&[3]));
    assert_eq!(search("n\\*"), pick(&[]));
    // Paging and sorting work on the filtered set.
    let v = get(s, &format!("{base}?search={}&pageLength=1&sortBy=description&descending=true", enc("mnist"))).json();
    assert_eq!((ids_of(&v), v["totalNumResults"].clone()), (pick(&[4]), json!(3)));
    assert_eq!(v["next"], format!("{base}?index=1&pageLength=1&sortBy=description&descending=true&search=mnist"));
    // Errors: 422 SearchParseError with the query and the reason.
    let r = get(s, &format!("{base}?search={}", enc("bogus:x")));
    assert_eq!(r.status, 422);
    assert_eq!(
        r.json(),
        json!({
            "error": "SearchParseError",
            "message": "Unprocessable Entity - The provided search query could not be parsed.",
            "detail": {"query": "bogus:x", "reason": "'bogus' is not a valid field"},
            "originating_path": format!("{base}?search=bogus%3Ax")
        })
    );
    for bad in [
        "bad=assignment",
        "bad-name:x",
        "description:bad_delim|tag:cv",
        "\"forgot to close",
        "\\q",
        "description:search all",
        "a,,b",
        "a,",
        "status:",
        "''",
        "100%",
        "Description:x",
    ] {
        let r = get(s, &format!("{base}?search={}", enc(bad)));
        assert_eq!(r.status, 422, "{bad}: {}", r.text);
        assert_eq!((r.json()["error"].clone(), r.json()["detail"]["query"].clone()), (json!("SearchParseError"), json!(bad)), "{bad}");
        assert!(r.json()["detail"]["reason"].as_str().is_some_and(|s| !s.is_empty()), "{bad}");
    }
}

/// Percent-encodes a query value.
fn enc(s: &str) -> String {
    s.bytes().map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") }).collect()
}

fn search_injection_attempts_are_values(s: &Server) {
    let (exp, ids) = five_jobs(s);
    let base = format!("/api/v1/experiments/{exp}/metrics");
    let search = |q: &str| get(s, &format!("{base}?search={}", enc(q)));
    // Quoted, these are valid searches whose text is only ever a bound value: they match
    // nothing, and everything is still there afterwards.
    for q in [
        r#""' OR '1'='1""#,
        r#"description:"x' OR 1=1 --""#,
        r#""'; DROP TABLE runs; --""#,
        r#"description:"%' OR description LIKE '%""#,
        r#"'\" OR \"\"=\"'"#,
        r#""x') UNION SELECT id FROM runs --""#,
        r#"status:"queued' OR 'a'='a""#,
    ] {
        let r = search(q);
        assert_eq!(r.status, 200, "{q}: {}", r.text);
        assert_eq!((r.json()["totalNumResults"].clone(), r.json()["data"].clone()), (json!(0), json!([])), "{q}");
    }
    // Unquoted, quotes and SQL punctuation are parse errors.
    for q in ["x' OR '1'='1", "description:x' OR 1=1", "1; DROP TABLE runs", "status:queued' --", "a%", "_%_"] {
        let r = search(q);
        assert_eq!((r.status, r.json()["error"].clone()), (422, json!("SearchParseError")), "{q}: {}", r.text);
    }
    // A query of many terms is refused before it reaches the database.
    let r = search(&vec!["a"; 101].join(","));
    assert_eq!((r.status, r.json()["detail"]["reason"].clone()), (422, json!("more than 100 terms")));
    assert_eq!(search(&vec!["mnist"; 100].join(",")).status, 200);
    // `%` and `_` inside quotes are literal: only the job whose description has them.
    assert_eq!(ids_of(&search("'%'").json()), vec![ids[3]]);
    assert_eq!(ids_of(&search("description:'%'").json()), Vec::<i64>::new(), "a whole description of '%'");
    assert_eq!(ids_of(&search("description:'____'").json()), Vec::<i64>::new());
    // Raw, undecoded `%` sequences in the parameter are decoded once only.
    let r = get(s, &format!("{base}?search=%2527"));
    assert_eq!((r.status, r.json()["detail"]["query"].clone()), (422, json!("%27")), "{}", r.text);
    // The store is intact.
    let v = get(s, &base).json();
    assert_eq!(ids_of(&v), ids);
    assert_eq!(get(s, &format!("/api/v1/jobs/{}/metrics", ids[0])).json(), json!([{"name": "acc", "value": 0.1}]));
}

fn clearml_sagemaker_and_dioptra_points_of_one_run(s: &Server) {
    // ClearML writes first (creating the run), as JSON lines.
    let lines = [
        json!({"task": "shared-run", "type": "training_stats_scalar", "metric": "loss", "variant": "loss", "iter": 0, "value": 0.9, "timestamp": 1704067200000i64}),
        json!({"task": "shared-run", "type": "training_stats_scalar", "metric": "loss", "variant": "loss", "iter": 1, "value": 0.8, "timestamp": 1704067201000i64}),
        json!({"task": "shared-run", "type": "training_stats_scalar", "metric": "acc", "variant": "val", "iter": 1, "value": 0.5, "timestamp": 1704067201000i64}),
    ];
    let body = lines.iter().map(Value::to_string).collect::<Vec<_>>().join("\n");
    let r = s.send("POST", "/events.add_batch", "application/json-lines", &body);
    assert_eq!(r.status, 200, "{}", r.text);
    // SageMaker adds to the same run (the trial component name is its uid).
    let r = s.json(
        "PUT",
        "/BatchPutMetrics",
        json!({"TrialComponentName": "shared-run", "MetricData": [
            {"MetricName": "loss", "Timestamp": 1704067202, "Step": 2, "Value": 0.7},
            {"MetricName": "lr", "Timestamp": 1704067202, "Step": 2, "Value": 0.01}
        ]}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    // Dioptra: the run's numeric id is the job id.
    let id = s.store().run_by_uid("default", "shared-run").unwrap().unwrap().id;
    post_metric(s, id, json!({"name": "loss", "value": 0.6, "step": 3, "timestamp": "2024-01-01T00:00:03Z"}));
    post_metric(s, id, json!({"name": "loss", "value": "nan", "step": 4, "timestamp": "2024-01-01T00:00:04Z"}));
    // Dioptra latest: every API's points, by display name, highest step.
    let r = get(s, &format!("/api/v1/jobs/{id}/metrics"));
    assert_eq!(r.json(), json!([{"name": "acc/val", "value": 0.5}, {"name": "loss", "value": "nan"}, {"name": "lr", "value": 0.01}]));
    // Dioptra snapshots of `loss`: ClearML's, SageMaker's and Dioptra's points in step order.
    let v = get(s, &format!("/api/v1/jobs/{id}/metrics/loss/snapshots?pageLength=3")).json();
    assert_eq!(v["totalNumResults"], 5);
    let got: Vec<(Value, Value)> = v["data"].as_array().unwrap().iter().map(|d| (d["step"].clone(), d["value"].clone())).collect();
    assert_eq!(got, vec![(json!(0), json!(0.9)), (json!(1), json!(0.8)), (json!(2), json!(0.7))]);
    assert_eq!(v["data"][0]["timestamp"], "2024-01-01T00:00:00+00:00");
    let v = get(s, v["next"].as_str().unwrap()).json();
    let got: Vec<(Value, Value)> = v["data"].as_array().unwrap().iter().map(|d| (d["step"].clone(), d["value"].clone())).collect();
    assert_eq!(got, vec![(json!(3), json!(0.6)), (json!(4), json!("nan"))]);
    // A ClearML metric with a variant is addressed by its display name.
    let v = get(s, &format!("/api/v1/jobs/{id}/metrics/acc%2Fval/snapshots")).json();
    assert_eq!((v["totalNumResults"].clone(), v["data"][0]["name"].clone()), (json!(1), json!("acc/val")), "{v}");
    assert_eq!(v["first"], format!("/api/v1/jobs/{id}/metrics/acc%2Fval/snapshots?index=0&pageLength=10"));
    // Lens sees all of it with its sources (the NaN left out of data and counts).
    let v = get(s, "/v1/workloads/shared-run/metrics/available").json();
    assert_eq!(
        v["metrics"],
        json!([
            {"name": "acc/val", "data_source": ["clearml"], "count": 1},
            {"name": "loss", "data_source": ["clearml", "dioptra", "sagemaker"], "count": 4},
            {"name": "lr", "data_source": ["sagemaker"], "count": 1}
        ])
    );
    let v = get(s, "/v1/workloads/shared-run/metrics/data?metrics=loss").json();
    let got: Vec<(Value, Value, Value)> =
        v["data"].as_array().unwrap().iter().map(|p| (p["iteration"].clone(), p["value"].clone(), p["data_source"].clone())).collect();
    assert_eq!(
        got,
        vec![
            (json!(0), json!(0.9), json!("clearml")),
            (json!(1), json!(0.8), json!("clearml")),
            (json!(2), json!(0.7), json!("sagemaker")),
            (json!(3), json!(0.6), json!("dioptra"))
        ]
    );
    let v = get(s, "/v1/workloads/shared-run/metrics/sources").json();
    assert_eq!(
        v,
        json!({"workload_uid": "shared-run", "data_sources": [{"name": "clearml", "count": 3}, {"name": "dioptra", "count": 2}, {"name": "sagemaker", "count": 2}], "total_count": 3})
    );
    // Attached to an experiment, the run's latest metrics are listed there too.
    let exp = experiment(s, "shared");
    assert_eq!(s.json("POST", &format!("/api/v1/experiments/{exp}/runs"), json!({"uid": "shared-run"})).status, 200);
    let v = get(s, &format!("/api/v1/experiments/{exp}/metrics")).json();
    assert_eq!(
        v["data"],
        json!([{"id": id, "metrics": [{"name": "acc/val", "value": 0.5}, {"name": "loss", "value": "nan"}, {"name": "lr", "value": 0.01}]}])
    );
}

/// Login with the config's Dioptra users: the session cookie opens the API for its tenant;
/// without it, Flask-Login's 401; logout clears it.
fn login_and_sessions(backend: Backend) {
    const CONFIG: &str = r#"
[[tenant]]
name = "lab"
[[tenant.dioptra]]
username = "alice"
password = "wonderland"
[[tenant]]
name = "other"
[[tenant.dioptra]]
username = "bob"
password = "builder"
"#;
    let Some(s) = Server::start_with_config(backend, CONFIG) else { return };
    let login = |user: &str, password: &str| s.json("POST", "/api/v1/auth/login", json!({"username": user, "password": password}));
    // Refusals in Dioptra's shapes.
    let r = login("alice", "nope");
    assert_eq!((r.status, r.json()["error"].clone()), (401, json!("UserPasswordError")), "{}", r.text);
    let r = login("carol", "x");
    assert_eq!((r.status, r.json()["error"].clone()), (401, json!("UserDoesNotExistError")), "{}", r.text);
    let r = s.send("GET", "/api/v1/jobs/1/metrics", "application/json", "");
    assert_eq!(r.status, 401);
    assert!(r.json()["message"].as_str().unwrap().starts_with("The server could not verify"), "{}", r.text);
    // A login sets the session cookie, which opens the API for alice's tenant.
    let r = login("alice", "wonderland");
    assert_eq!((r.status, r.json()), (200, json!({"username": "alice", "status": "Login successful"})), "{}", r.text);
    let set_cookie = r.header("set-cookie").expect("a session cookie").to_string();
    let session = set_cookie.split(';').next().unwrap().to_string();
    assert!(session.starts_with("session=") && session.len() > "session=".len(), "{set_cookie}");
    let cookie = [("Cookie", session.as_str())];
    let r = s.json_with("POST", "/api/v1/experiments/", &cookie, json!({"name": "exp", "group": 1}));
    assert_eq!(r.status, 200, "{}", r.text);
    let exp = r.json()["id"].as_i64().unwrap();
    let r = s.json_with("POST", &format!("/api/v1/experiments/{exp}/jobs"), &cookie, json!({"queue": 1, "entrypoint": 1}));
    let job = r.json()["id"].as_i64().unwrap();
    let r = s.json_with("POST", &format!("/api/v1/jobs/{job}/metrics"), &cookie, json!({"name": "acc", "value": 0.9}));
    assert_eq!(r.status, 200, "{}", r.text);
    // Bob's session is another tenant: alice's job does not exist for him.
    let bob = common::dioptra_login(&s, "bob", "builder");
    let r = s.json_with("POST", &format!("/api/v1/jobs/{job}/metrics"), &[("Cookie", bob.as_str())], json!({"name": "acc", "value": 0.1}));
    assert_eq!((r.status, r.json()["error"].clone()), (404, json!("EntityDoesNotExistError")), "{}", r.text);
    // A forged cookie is refused; logout clears the cookie.
    let forged = format!("{}x", session);
    assert_eq!(s.json_with("GET", "/api/v1/jobs/1/metrics", &[("Cookie", forged.as_str())], json!({})).status, 401);
    let r = s.json_with("POST", "/api/v1/auth/logout", &cookie, json!({}));
    assert_eq!(r.json(), json!({"username": "alice", "status": "Logout successful", "everywhere": false}), "{}", r.text);
    assert!(r.header("set-cookie").unwrap().contains("Max-Age=0"));
}

per_backend! {
    login_and_sessions => login_and_sessions;
}
