//! Scale-out on PostgreSQL: two `specmill serve` processes on one database, requests sent to
//! either with no sticky routing; and `specmill migrate` run by two processes at once.
//! Without a reachable PostgreSQL these print SKIP locally and fail when `CI` is set.

mod common;

use std::collections::BTreeSet;
use std::process::Command;

use base64::Engine;
use common::{Backend, Server};
use serde_json::{json, Value};
use specmill_runtime::store::testdb;

const CONFIG: &str = r#"
[[tenant]]
name = "acme"
[[tenant.clearml]]
access_key = "AK-ACME"
secret_key = "secret-acme"
[[tenant.dioptra]]
username = "alice"
password = "wonderland"
"#;

fn basic() -> String {
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode("AK-ACME:secret-acme"))
}

/// A ClearML call with credentials `auth` (an `Authorization` header value); its `data`.
fn clearml(s: &Server, auth: &str, path: &str, body: Value) -> Value {
    let r = s.json_with("POST", path, &[("Authorization", auth)], body.clone());
    assert_eq!(r.status, 200, "{} {path} {body}: {}", s.base, r.text);
    r.json()["data"].clone()
}

fn add_batch(s: &Server, auth: &str, task: &str, metric: &str, iters: std::ops::Range<i64>) {
    let lines: Vec<String> = iters
        .clone()
        .map(|i| json!({"type": "training_stats_scalar", "task": task, "metric": metric, "variant": "v", "iter": i, "value": i as f64}).to_string())
        .collect();
    let req = ureq::post(&s.url("/events.add_batch")).set("Authorization", auth).set("Content-Type", "application/json-lines");
    let resp = req.send_string(&lines.join("\n")).unwrap_or_else(|e| panic!("add_batch on {}: {e}", s.base));
    let v: Value = serde_json::from_str(&resp.into_string().unwrap()).unwrap();
    assert_eq!(v["data"]["added"].as_i64(), Some(iters.end - iters.start), "{v}");
}

#[test]
fn two_replicas_share_one_postgres_database() {
    let Some(a) = Server::start_with_config(Backend::Postgres, CONFIG) else { return };
    let b = a.replica();
    let servers = [&a, &b];

    // Token auth across replicas: a token from one opens the other (they share the key in
    // the store).
    let r = a.json_with("GET", "/auth.login", &[("Authorization", &basic())], json!({}));
    assert_eq!(r.status, 200, "{}", r.text);
    let token = format!("Bearer {}", r.json()["data"]["token"].as_str().unwrap());
    add_batch(&a, &token, "shared", "loss", 0..1200);
    let r = b.json_with("POST", "/events.get_task_log", &[("Authorization", &token)], json!({"task": "shared"}));
    assert_eq!(r.status, 200, "a token of replica A on replica B: {}", r.text);
    let r = b.json_with("POST", "/events.get_task_log", &[("Authorization", "Bearer not.a.token")], json!({"task": "shared"}));
    assert_eq!(r.status, 401, "{}", r.text);

    // Writes through either are read through the other at once.
    let d = clearml(&b, &token, "/events.get_task_latest_scalar_values", json!({"task": "shared"}));
    assert_eq!(d["metrics"][0]["variants"][0]["last_value"], 1199.0, "{d}");
    add_batch(&b, &token, "shared", "acc", 0..5);
    let d = clearml(&a, &token, "/events.get_task_metrics", json!({"tasks": ["shared"], "event_type": "training_stats_scalar"}));
    let metrics: BTreeSet<String> = d["metrics"][0]["metrics"].as_array().unwrap().iter().map(|m| m.as_str().unwrap().to_string()).collect();
    assert_eq!(metrics, ["acc", "loss"].iter().map(|s| s.to_string()).collect(), "{d}");

    // A ClearML scroll started on one replica continues on the other, page by page.
    let mut seen = BTreeSet::new();
    let mut scroll: Option<String> = None;
    for page in 0.. {
        let s = servers[page % 2];
        let mut req = json!({"task": "shared", "metric": "loss"});
        if let Some(id) = &scroll {
            req["scroll_id"] = json!(id);
        }
        let d = clearml(s, &token, "/events.get_scalar_metric_data", req);
        let events = d["events"].as_array().unwrap();
        let id = d["scroll_id"].as_str().unwrap().to_string();
        if events.is_empty() {
            assert_eq!(id, "FFFF");
            break;
        }
        for e in events {
            assert!(seen.insert(e["iter"].as_i64().unwrap()), "{e} twice");
        }
        scroll = Some(id);
        assert!(page < 10, "the scroll does not end");
    }
    assert_eq!(seen, (0..1200).collect::<BTreeSet<i64>>());

    // Dioptra: a session cookie from one replica opens the other; a page cursor (the
    // `next` link) started on one continues on the other; writes cross over.
    let r = a.json("POST", "/api/v1/auth/login", json!({"username": "alice", "password": "wonderland"}));
    assert_eq!(r.status, 200, "{}", r.text);
    let session = r.header("set-cookie").unwrap().split(';').next().unwrap().to_string();
    let cookie = [("Cookie", session.as_str())];
    let r = b.json_with("POST", "/api/v1/experiments/", &cookie, json!({"name": "scale", "group": 1}));
    assert_eq!(r.status, 200, "a session of replica A on replica B: {}", r.text);
    let exp = r.json()["id"].as_i64().unwrap();
    let r = a.json_with("POST", &format!("/api/v1/experiments/{exp}/jobs"), &cookie, json!({"queue": 1, "entrypoint": 1}));
    assert_eq!(r.status, 200, "{}", r.text);
    let job = r.json()["id"].as_i64().unwrap();
    for step in 0..25 {
        let s = servers[step % 2];
        let r = s.json_with("POST", &format!("/api/v1/jobs/{job}/metrics"), &cookie, json!({"name": "acc", "value": step, "step": step}));
        assert_eq!(r.status, 200, "{}", r.text);
    }
    let r = b.json_with("GET", &format!("/api/v1/jobs/{job}/metrics"), &cookie, Value::Null);
    assert_eq!(r.json(), json!([{"name": "acc", "value": 24.0}]), "{}", r.text);
    let mut steps = Vec::new();
    let mut path = Some(format!("/api/v1/jobs/{job}/metrics/acc/snapshots?index=0&pageLength=4"));
    let mut page = 0;
    while let Some(p) = path {
        let s = servers[page % 2];
        let r = ureq::get(&s.url(&p)).set("Cookie", &session).call().unwrap_or_else(|e| panic!("{p}: {e}"));
        let v: Value = serde_json::from_str(&r.into_string().unwrap()).unwrap();
        assert_eq!(v["totalNumResults"], 25, "{v}");
        steps.extend(v["data"].as_array().unwrap().iter().map(|d| d["step"].as_i64().unwrap()));
        path = v.get("next").and_then(Value::as_str).map(str::to_string);
        page += 1;
        assert!(page < 20, "the pages do not end");
    }
    assert_eq!(steps, (0..25).collect::<Vec<i64>>());
    assert_eq!(page, 7);
}

/// Two `specmill migrate` processes on one fresh database at once: both succeed, every
/// migration is applied exactly once between them, and the schema works. Repeated on a few
/// databases to give the race a chance.
#[test]
fn concurrent_migrations_apply_each_migration_once() {
    let admin = match testdb::probe_postgres() {
        Ok(admin) => admin,
        Err(reason) if std::env::var_os("CI").is_some() => panic!("PostgreSQL is required in CI: {reason}"),
        Err(reason) => {
            eprintln!("SKIP postgres: {reason}");
            return;
        }
    };
    let bin = env!("CARGO_BIN_EXE_specmill");
    let migrations = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/runtime/migrations/postgres"))
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().is_dir())
        .count();
    assert!(migrations > 0);
    for _ in 0..3 {
        let url = testdb::fresh_postgres_database(&admin).unwrap();
        let children: Vec<_> = (0..2)
            .map(|_| {
                Command::new(bin)
                    .args(["--database-url", &url, "migrate"])
                    .env("SPECMILL_LOG", "warn")
                    .stdout(std::process::Stdio::piped())
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        let mut applied = 0;
        for child in children {
            let out = child.wait_with_output().unwrap();
            let stdout = String::from_utf8_lossy(&out.stdout);
            assert!(out.status.success(), "migrate failed: {stdout} {}", String::from_utf8_lossy(&out.stderr));
            let n: usize = stdout.split(": ").nth(1).and_then(|t| t.split(' ').next()).and_then(|n| n.parse().ok()).unwrap_or_else(|| panic!("{stdout}"));
            applied += n;
        }
        assert_eq!(applied, migrations, "each migration applied once between the two");
        let store = specmill_runtime::store::Store::open(&url).unwrap();
        assert_eq!(store.migrate().unwrap(), Vec::<String>::new(), "nothing left to apply");
        let run = store.ensure_run("t", "after-migrate", "test").unwrap();
        assert_eq!(store.run_by_uid("t", "after-migrate").unwrap().map(|r| r.id), Some(run.id));
        drop(store);
        testdb::drop_postgres_database(&admin, &url).unwrap();
    }
}
