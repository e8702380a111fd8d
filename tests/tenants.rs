//! One tenant model across the five APIs: two tenants, each with ClearML keys, AWS keys, a
//! Comet key, a Dioptra user and a Lens token, write a run with the same uid through every
//! API, and every read through every API with one tenant's credentials sees that tenant's
//! points only. Tokens the server mints (ClearML JWTs, Dioptra sessions, ClearML scroll
//! ids) carry their tenant: altered, they are refused in the API's own shape; intact, they
//! read their own tenant's data, and a scroll id does not continue under another tenant.
//! (Each API's own refusals are tested beside it: tests/clearml_auth.rs, tests/sagemaker.rs,
//! tests/comet.rs, tests/dioptra.rs.)

mod common;

use common::{basic, block_on, clearml_login, dioptra_login, signed, tampered, typed, Backend, Reply, Server};
use serde_json::{json, Value};
use specmill_client::Error;

const CONFIG: &str = r#"
[[tenant]]
name = "acme"
[[tenant.clearml]]
access_key = "AK-ACME"
secret_key = "secret-acme"
[[tenant.aws]]
access_key_id = "AKIAACME000000000001"
secret_access_key = "acme/aws/secret"
[[tenant.comet]]
api_key = "CK-ACME"
[[tenant.dioptra]]
username = "alice"
password = "wonderland"
[[tenant.lens]]
token = "LT-ACME"

[[tenant]]
name = "globex"
[[tenant.clearml]]
access_key = "AK-GLOBEX"
secret_key = "secret-globex"
[[tenant.aws]]
access_key_id = "AKIAGLOBEX0000000001"
secret_access_key = "globex/aws/secret"
[[tenant.comet]]
api_key = "CK-GLOBEX"
[[tenant.dioptra]]
username = "bob"
password = "builder"
[[tenant.lens]]
token = "LT-GLOBEX"
"#;

/// The uid both tenants write to: ClearML task, SageMaker trial component, Comet experiment
/// key, Lens workload (and, through its numeric id, a Dioptra job).
const UID: &str = "shared-run";
/// 2024-01-02T03:00:00Z.
const T: i64 = 1_704_164_400;
/// The metric each API writes (as the APIs without variants name it).
const METRICS: [&str; 5] = ["clearml_m", "comet_m", "dioptra_m", "sagemaker_m", "wandb_m"];
/// Points each API writes: steps 0 and 1.
const STEPS: [i64; 2] = [0, 1];

struct Tenant {
    name: &'static str,
    clearml: (&'static str, &'static str),
    aws: (&'static str, &'static str),
    comet: &'static str,
    dioptra: (&'static str, &'static str),
    lens: &'static str,
    /// Every point the tenant writes has this value.
    value: f64,
}

const ACME: Tenant = Tenant {
    name: "acme",
    clearml: ("AK-ACME", "secret-acme"),
    aws: ("AKIAACME000000000001", "acme/aws/secret"),
    comet: "CK-ACME",
    dioptra: ("alice", "wonderland"),
    lens: "LT-ACME",
    value: 0.25,
};

const GLOBEX: Tenant = Tenant {
    name: "globex",
    clearml: ("AK-GLOBEX", "secret-globex"),
    aws: ("AKIAGLOBEX0000000001", "globex/aws/secret"),
    comet: "CK-GLOBEX",
    dioptra: ("bob", "builder"),
    lens: "LT-GLOBEX",
    value: 0.75,
};

/// A tenant's sessions with the server (what its clients hold after logging in).
struct Session {
    clearml_token: String,
    dioptra_cookie: String,
    /// The Dioptra experiment and job (the run `UID`) of the tenant.
    experiment: i64,
    job: i64,
}

fn ok(r: Reply, what: &str) -> Value {
    assert!(r.status < 300, "{what}: {} {}", r.status, r.text);
    r.json()
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

/// `t` writes `UID`'s points through every API, the ClearML ones first (creating the run).
fn write_everywhere(s: &Server, t: &Tenant) -> Session {
    let clearml_token = clearml_login(s, t.clearml.0, t.clearml.1);
    let mut events: Vec<Value> = STEPS
        .iter()
        .map(|&i| json!({"task": UID, "type": "training_stats_scalar", "metric": "clearml_m", "variant": "clearml_m", "iter": i, "value": t.value, "timestamp": (T + i) * 1000}))
        .collect();
    events.push(json!({"task": UID, "type": "log", "msg": t.name, "timestamp": T * 1000}));
    ok(s.json_with("POST", "/events.add_batch", &[("Authorization", &bearer(&clearml_token))], json!(events)), "events.add_batch");

    let items: Vec<Value> = STEPS.iter().map(|&i| json!({"MetricName": "sagemaker_m", "Timestamp": T + i, "Step": i, "Value": t.value})).collect();
    let body = json!({"TrialComponentName": UID, "MetricData": items}).to_string();
    ok(signed(s, "PUT", "/BatchPutMetrics", &body, Some(t.aws), 0, None), "BatchPutMetrics");

    for i in STEPS {
        let metric = json!({"experimentKey": UID, "metricName": "comet_m", "metricValue": t.value, "step": i, "timestamp": (T + i) * 1000});
        ok(s.json_with("POST", "/api/rest/v2/write/experiment/metric", &[("Authorization", t.comet)], metric), "comet metric");
    }

    let dioptra_cookie = dioptra_login(s, t.dioptra.0, t.dioptra.1);
    let cookie = [("Cookie", dioptra_cookie.as_str())];
    let experiment = ok(s.json_with("POST", "/api/v1/experiments/", &cookie, json!({"name": "exp", "group": 1})), "experiment")["id"].as_i64().unwrap();
    let job = ok(s.json_with("POST", &format!("/api/v1/experiments/{experiment}/runs"), &cookie, json!({"uid": UID})), "attach")["id"].as_i64().unwrap();
    for i in STEPS {
        let metric = json!({"name": "dioptra_m", "value": t.value, "step": i, "timestamp": format!("2024-01-02T03:00:0{i}Z")});
        ok(s.json_with("POST", &format!("/api/v1/jobs/{job}/metrics"), &cookie, metric), "dioptra metric");
    }

    let metrics: Vec<Value> = STEPS.iter().map(|&i| json!({"name": "wandb_m", "value": t.value, "step": i, "timestamp": T + i})).collect();
    let body = json!({"workload_uid": UID, "run_id": "wandb-run", "metrics": metrics});
    ok(s.json_with("POST", "/v1/wandb/metrics", &[("Authorization", &bearer(t.lens))], body), "wandb metrics");

    Session { clearml_token, dioptra_cookie, experiment, job }
}

fn number(v: &Value) -> f64 {
    match v {
        Value::String(s) => s.parse().unwrap_or_else(|_| panic!("not a number: {v}")),
        v => v.as_f64().unwrap_or_else(|| panic!("not a number: {v}")),
    }
}

/// Every value is `t`'s.
fn all_of(t: &Tenant, values: &[f64], what: &str) {
    assert!(!values.is_empty(), "{what}: no values");
    assert!(values.iter().all(|v| *v == t.value), "{what}: {values:?} are not all {}'s {}", t.name, t.value);
}

/// Every read of `UID` through every API with `t`'s credentials sees `t`'s points only.
fn reads_see_only_their_tenant(s: &Server, t: &Tenant, session: &Session) {
    // ClearML with the token: the latest value of each series.
    let auth = bearer(&session.clearml_token);
    let d = ok(s.json_with("POST", "/events.get_task_latest_scalar_values", &[("Authorization", &auth)], json!({"task": UID})), "latest")["data"].clone();
    let names: Vec<&str> = d["metrics"].as_array().unwrap().iter().map(|m| m["name"].as_str().unwrap()).collect();
    assert_eq!(names, METRICS, "{d}");
    let last: Vec<f64> = d["metrics"].as_array().unwrap().iter().flat_map(|m| m["variants"].as_array().unwrap()).map(|v| number(&v["last_value"])).collect();
    all_of(t, &last, "ClearML latest values");
    // ClearML with the key pair: every event of the task.
    let d = ok(s.json_with("POST", "/events.get_task_events", &[("Authorization", &basic(t.clearml.0, t.clearml.1))], json!({"task": UID})), "events")["data"].clone();
    let events = d["events"].as_array().unwrap();
    assert_eq!((d["total"].as_f64(), events.len()), (Some(11.0), 11), "5 APIs × 2 points and one log line: {d}");
    let values: Vec<f64> = events.iter().filter(|e| e["type"] == "training_stats_scalar").map(|e| number(&e["value"])).collect();
    all_of(t, &values, "ClearML events");
    let logs: Vec<&Value> = events.iter().filter(|e| e["type"] == "log").collect();
    assert_eq!(logs.iter().map(|e| e["msg"].clone()).collect::<Vec<_>>(), vec![json!(t.name)]);

    // SageMaker, signed with the tenant's AWS key: each API's metric.
    let queries: Vec<Value> = METRICS
        .iter()
        .map(|m| json!({"MetricName": m, "ResourceArn": format!("arn:aws:sagemaker:us-east-1:123456789012:experiment-trial-component/{UID}"), "MetricStat": "Avg", "Period": "IterationNumber", "XAxisType": "IterationNumber"}))
        .collect();
    let body = json!({"MetricQueries": queries}).to_string();
    let d = ok(signed(s, "POST", "/BatchGetMetrics", &body, Some(t.aws), 0, None), "BatchGetMetrics");
    for (m, r) in METRICS.iter().zip(d["MetricQueryResults"].as_array().unwrap()) {
        assert_eq!((r["Status"].as_str(), r["XAxisValues"].clone()), (Some("Complete"), json!(STEPS)), "{m}: {r}");
        all_of(t, &r["MetricValues"].as_array().unwrap().iter().map(number).collect::<Vec<_>>(), &format!("SageMaker {m}"));
    }

    // Comet, with the tenant's API key.
    let r = s.json_with("GET", &format!("/api/rest/v2/experiment/metrics/get-all?experimentKey={UID}"), &[("Authorization", t.comet)], json!({}));
    let d = ok(r, "comet get-all");
    let points = d["metrics"].as_array().unwrap();
    assert_eq!(points.len(), 10, "{d}");
    all_of(t, &points.iter().map(|p| number(&p["metricValue"])).collect::<Vec<_>>(), "Comet metrics");

    // Dioptra, with the tenant's session: the job's latest values, and the experiment's jobs
    // (through the search and sort of the job list).
    let cookie = [("Cookie", session.dioptra_cookie.as_str())];
    let d = ok(s.json_with("GET", &format!("/api/v1/jobs/{}/metrics", session.job), &cookie, json!({})), "dioptra latest");
    let names: Vec<&str> = d.as_array().unwrap().iter().map(|m| m["name"].as_str().unwrap()).collect();
    assert_eq!(names, METRICS, "{d}");
    all_of(t, &d.as_array().unwrap().iter().map(|m| number(&m["value"])).collect::<Vec<_>>(), "Dioptra latest");
    let path = format!("/api/v1/experiments/{}/metrics?search=*&sortBy=createdOn&descending=true", session.experiment);
    let d = ok(s.json_with("GET", &path, &cookie, json!({})), "dioptra experiment metrics");
    assert_eq!(d["data"].as_array().map(|j| j.iter().map(|j| j["id"].clone()).collect::<Vec<_>>()), Some(vec![json!(session.job)]), "{d}");
    all_of(t, &d["data"][0]["metrics"].as_array().unwrap().iter().map(|m| number(&m["value"])).collect::<Vec<_>>(), "Dioptra experiment");

    // Lens, with the tenant's token (the typed client carries it).
    let client = s.client().with_lens_token(t.lens);
    let sources = block_on(client.lens().get_workload_metrics_sources(&typed(json!({"uid": UID})))).expect("Lens sources");
    let counts: Vec<(String, i64)> = sources.data_sources.iter().map(|d| (d.name.clone(), d.count)).collect();
    let want: Vec<(String, i64)> = ["clearml", "comet", "dioptra", "sagemaker", "wandb"].iter().map(|n| (n.to_string(), 2)).collect();
    assert_eq!(counts, want);
    let r = s.json_with("GET", &format!("/v1/workloads/{UID}/metrics/data?metrics=all"), &[("Authorization", &bearer(t.lens))], json!({}));
    let d = ok(r, "lens data");
    assert_eq!(d["total_count"], 10, "{d}");
    all_of(t, &d["data"].as_array().unwrap().iter().map(|p| number(&p["value"])).collect::<Vec<_>>(), "Lens data");
}

/// Tokens minted for `t` (`session`) against `other`'s: altered ones are refused, intact
/// ones read `t`'s data only.
fn minted_tokens_are_bound(s: &Server, t: &Tenant, session: &Session, other: &Session) {
    // ClearML JWT: one altered byte is ClearML's 401/30.
    let r = s.json_with("POST", "/events.get_task_events", &[("Authorization", &bearer(&tampered(&session.clearml_token)))], json!({"task": UID}));
    assert_eq!((r.status, r.json()["meta"]["result_subcode"].clone()), (401, json!(30)), "{}", r.text);
    // Dioptra session: one altered byte is Flask-Login's 401.
    let forged = format!("session={}", tampered(session.dioptra_cookie.trim_start_matches("session=")));
    let r = s.json_with("GET", &format!("/api/v1/jobs/{}/metrics", session.job), &[("Cookie", forged.as_str())], json!({}));
    assert_eq!(r.status, 401, "{}", r.text);
    assert!(r.json()["message"].as_str().is_some_and(|m| m.starts_with("The server could not verify")), "{}", r.text);
    // The session reaches its own tenant's jobs only: the other tenant's job and experiment
    // are unknown to it (read as empty, as in Dioptra).
    let cookie = [("Cookie", session.dioptra_cookie.as_str())];
    let d = ok(s.json_with("GET", &format!("/api/v1/jobs/{}/metrics", other.job), &cookie, json!({})), "other job");
    assert_eq!(d, json!([]), "{} sees another tenant's job", t.name);
    let d = ok(s.json_with("GET", &format!("/api/v1/experiments/{}/metrics", other.experiment), &cookie, json!({})), "other experiment");
    assert_eq!(d["data"], json!([]), "{} sees another tenant's experiment", t.name);
    let r = s.json_with("POST", &format!("/api/v1/jobs/{}/metrics", other.job), &cookie, json!({"name": "x", "value": 1}));
    assert_eq!((r.status, r.json()["error"].clone()), (404, json!("EntityDoesNotExistError")), "{}", r.text);

    // ClearML scroll id: continued by its tenant it pages that tenant's events; altered, or
    // given with the other tenant's credentials, it is ClearML's 400/1104.
    let (mine, theirs) = (bearer(&session.clearml_token), bearer(&other.clearml_token));
    let send = |auth: &str, body: Value| s.json_with("POST", "/events.get_task_events", &[("Authorization", auth)], body);
    let d = ok(send(&mine, json!({"task": UID, "batch_size": 4})), "scroll start")["data"].clone();
    let scroll = d["scroll_id"].as_str().unwrap().to_string();
    let d = ok(send(&mine, json!({"task": UID, "batch_size": 4, "scroll_id": scroll})), "scroll next")["data"].clone();
    let values: Vec<f64> = d["events"].as_array().unwrap().iter().filter(|e| e["type"] == "training_stats_scalar").map(|e| number(&e["value"])).collect();
    all_of(t, &values, "ClearML scroll page");
    for (auth, id) in [(&theirs, scroll.clone()), (&mine, tampered(&scroll))] {
        let r = send(auth, json!({"task": UID, "scroll_id": id}));
        assert_eq!((r.status, r.json()["meta"]["result_subcode"].clone()), (400, json!(1104)), "{}", r.text);
    }
}

/// Lens with tokens configured: a request without a valid token is Lens's 401 and writes nothing.
fn lens_refuses_without_a_token(s: &Server) {
    for auth in [None, Some("Bearer nope"), Some("LT-ACME"), Some("Basic QUstQUNNRTpzZWNyZXQtYWNtZQ==")] {
        let headers: Vec<(&str, &str)> = auth.iter().map(|a| ("Authorization", *a)).collect();
        let r = s.json_with("GET", &format!("/v1/workloads/{UID}/metrics/sources"), &headers, json!({}));
        assert_eq!(r.status, 401, "{auth:?}: {}", r.text);
        let v = r.json();
        assert!(v["error"].as_str().is_some_and(|e| !e.is_empty()) && v.as_object().unwrap().len() == 1, "{v}");
        let body = json!({"workload_uid": "refused-run", "metrics": [{"name": "m", "value": 1.0}]});
        assert_eq!(s.json_with("POST", "/v1/wandb/metrics", &headers, body).status, 401);
    }
    match block_on(s.client().lens().get_workload_metrics_sources(&typed(json!({"uid": UID})))) {
        Err(Error::Lens(e)) => assert_eq!(e.status, 401, "{e:?}"),
        other => panic!("not refused: {other:?}"),
    }
    for tenant in ["acme", "globex", "default"] {
        assert!(s.store().run_by_uid(tenant, "refused-run").unwrap().is_none());
    }
}

fn credentials_reach_only_their_tenant(backend: Backend) {
    let Some(s) = Server::start_with_config(backend, CONFIG) else { return };
    let acme = write_everywhere(&s, &ACME);
    let globex = write_everywhere(&s, &GLOBEX);
    // Two runs with one uid, one per tenant (the Dioptra jobs are those runs).
    let store = s.store();
    let ids: Vec<i64> = ["acme", "globex"].iter().map(|t| store.run_by_uid(t, UID).unwrap().expect("a run per tenant").id).collect();
    assert_eq!(ids, vec![acme.job, globex.job]);
    assert!(store.run_by_uid("default", UID).unwrap().is_none());

    reads_see_only_their_tenant(&s, &ACME, &acme);
    reads_see_only_their_tenant(&s, &GLOBEX, &globex);
    minted_tokens_are_bound(&s, &ACME, &acme, &globex);
    minted_tokens_are_bound(&s, &GLOBEX, &globex, &acme);
    lens_refuses_without_a_token(&s);
}

/// A config with credentials but no Lens token closes Lens too: no caller can reach it
/// (it has no authentication of its own, so it is not left open as tenant `default`).
/// Without any config every API is open, Lens included (the other tests).
#[test]
fn lens_without_tokens_is_closed_on_a_server_with_credentials() {
    let Some(s) = Server::start_with_config(Backend::Sqlite, common::CLEARML_TENANTS) else { return };
    let before = s.store().fingerprint().unwrap();
    let body = json!({"workload_uid": "open-run", "metrics": [{"name": "m", "value": 1.0}]});
    for r in [
        s.json("POST", "/v1/wandb/metrics", body.clone()),
        s.json_with("POST", "/v1/wandb/metrics", &[("Authorization", "Bearer AK-ACME")], body),
        s.send("GET", "/v1/workloads/open-run/metrics/sources", "application/json", ""),
    ] {
        assert_eq!(r.status, 401, "{}", r.text);
        assert!(r.json()["error"].is_string(), "{}", r.text);
    }
    assert_eq!(s.store().fingerprint().unwrap(), before);
    assert!(s.store().run_by_uid("default", "open-run").unwrap().is_none());
}

per_backend! {
    credentials_reach_only_their_tenant => credentials_reach_only_their_tenant;
}
