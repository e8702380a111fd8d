//! The write path over real HTTP: an acknowledged write is committed (it survives the
//! server being killed right after the reply), and a body over `--max-body-bytes` is a 413
//! in each API's own error format that changes nothing in the store.

mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use common::{Backend, Reply, Server};
use serde_json::{json, Value};
use specmill_runtime::store::{ScalarOrder, ScalarQuery};

per_backend! {
    acknowledged_writes_survive_sigkill => acknowledged_writes_survive_sigkill;
    oversized_bodies_get_native_413s => oversized_bodies_get_native_413s;
}

/// Clients write single Dioptra points concurrently; once some hundreds are acknowledged the
/// server is killed with SIGKILL while writes are still in flight. Every acknowledged point
/// is then in the store with its value.
fn acknowledged_writes_survive_sigkill(backend: Backend) {
    let Some(mut s) = Server::start(backend) else { return };
    let run = s.store().ensure_run("default", "durable", "test").unwrap();
    const CLIENTS: usize = 8;
    const PER_CLIENT: usize = 400;
    let acked = Arc::new(Mutex::new(Vec::<(String, i64, f64)>::new()));
    let count = Arc::new(AtomicUsize::new(0));
    let finished = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|c| {
            let (url, acked, count, finished, stop) =
                (s.url(&format!("/api/v1/jobs/{}/metrics", run.id)), acked.clone(), count.clone(), finished.clone(), stop.clone());
            std::thread::spawn(move || {
                let agent = ureq::agent();
                for step in 0..PER_CLIENT as i64 {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let (name, value) = (format!("m{c}"), step as f64 + c as f64 / 10.0);
                    match agent.post(&url).send_json(json!({"name": name, "value": value, "step": step})) {
                        Ok(r) if r.status() == 200 => {
                            acked.lock().unwrap().push((name, step, value));
                            count.fetch_add(1, Ordering::SeqCst);
                        }
                        Ok(r) => panic!("unexpected status {}", r.status()),
                        // the server is gone: this write was never acknowledged
                        Err(ureq::Error::Transport(_)) => break,
                        Err(e) => panic!("{e}"),
                    }
                }
                finished.fetch_add(1, Ordering::SeqCst);
            })
        })
        .collect();
    while count.load(Ordering::SeqCst) < CLIENTS * PER_CLIENT / 4 && finished.load(Ordering::SeqCst) < CLIENTS {
        std::thread::yield_now();
    }
    s.kill();
    stop.store(true, Ordering::Relaxed);
    for c in clients {
        c.join().unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    assert!(acked.len() >= CLIENTS * PER_CLIENT / 4, "{} acknowledged", acked.len());
    let store = s.store();
    let stored = store.scalars(&ScalarQuery { run_id: run.id, order: ScalarOrder::StepAsc, ..Default::default() }).unwrap();
    let stored: std::collections::HashMap<(String, i64), f64> =
        stored.into_iter().map(|p| ((p.metric, p.step.unwrap()), p.value)).collect();
    let lost: Vec<_> = acked.iter().filter(|(n, step, v)| stored.get(&(n.clone(), *step)) != Some(v)).collect();
    assert!(lost.is_empty(), "{} of {} acknowledged points lost, e.g. {:?}", lost.len(), acked.len(), &lost[..lost.len().min(5)]);
}

const LIMIT: usize = 4096;

/// A JSON string of about `n` bytes.
fn padding(n: usize) -> String {
    "x".repeat(n)
}

fn oversized_bodies_get_native_413s(backend: Backend) {
    let Some(s) = Server::start_with_args(backend, None, &["--max-body-bytes", &LIMIT.to_string()]) else { return };
    let store = s.store();
    let run = store.ensure_run("default", "limits", "test").unwrap();
    let before = store.fingerprint().unwrap();

    // ClearML: the envelope, result_code 413, naming the endpoint and version
    let line = |i: usize| json!({"type": "training_stats_scalar", "task": "limits", "metric": "m", "variant": "v", "iter": i, "value": 1.0}).to_string();
    let lines: Vec<String> = (0..200).map(line).collect();
    let big = lines.join("\n");
    assert!(big.len() > LIMIT);
    let r = s.send("POST", "/v2.9/events.add_batch", "application/json-lines", &big);
    assert_eq!(r.status, 413, "{}", r.text);
    let meta = &r.json()["meta"];
    assert_eq!((meta["result_code"].as_i64(), meta["result_subcode"].as_i64()), (Some(413), Some(0)), "{}", r.text);
    assert_eq!(meta["endpoint"]["name"], "events.add_batch");
    assert_eq!(meta["endpoint"]["requested_version"], "2.9");
    assert!(meta["result_msg"].as_str().unwrap().contains(&LIMIT.to_string()), "{}", r.text);
    let r = s.send("POST", "/events.add", "application/json", &line(0).replace("\"v\"", &format!("\"{}\"", padding(LIMIT))));
    assert_eq!((r.status, r.json()["meta"]["result_code"].as_i64()), (413, Some(413)), "{}", r.text);

    // SageMaker: the AWS JSON error
    let data: Vec<Value> = (0..10).map(|i| json!({"MetricName": padding(500), "Timestamp": 1.0, "Step": i, "Value": 1.0})).collect();
    let r = s.json("PUT", "/BatchPutMetrics", json!({"TrialComponentName": "limits", "MetricData": data}));
    assert_eq!(r.status, 413, "{}", r.text);
    assert_eq!(r.header("x-amzn-ErrorType"), Some("RequestEntityTooLargeException"));
    assert_eq!(r.json()["__type"], "RequestEntityTooLargeException");
    assert!(r.json()["message"].as_str().unwrap().contains(&LIMIT.to_string()));

    // Dioptra: Flask's `{"message"}`
    let r = s.json("POST", &format!("/api/v1/jobs/{}/metrics", run.id), json!({"name": padding(LIMIT), "value": 1}));
    assert_eq!(r.status, 413, "{}", r.text);
    assert_eq!(r.json(), json!({"message": "The data value transmitted exceeds the capacity limit."}));

    // Lens (both mounts): `{"error"}`
    for prefix in ["/v1", "/lens/v1"] {
        let r = s.json(
            "POST",
            &format!("{prefix}/wandb/metrics"),
            json!({"workload_uid": "limits", "metrics": [{"name": padding(LIMIT), "value": 1}]}),
        );
        assert_eq!(r.status, 413, "{}", r.text);
        assert_eq!(r.json(), json!({"error": "http: request body too large"}));
    }

    // Comet: `{"msg","code","sdk_error_code"}`
    let r = s.json(
        "POST",
        "/api/rest/v2/write/experiment/metric",
        json!({"experimentKey": "limits", "metricName": padding(LIMIT), "metricValue": 1}),
    );
    assert_eq!(r.status, 413, "{}", r.text);
    let v = r.json();
    assert_eq!((v["code"].as_i64(), v["sdk_error_code"].as_i64()), (Some(413), Some(413)), "{v}");
    assert!(v["msg"].as_str().unwrap().contains(&LIMIT.to_string()), "{v}");

    // nothing reached the store
    assert_eq!(store.fingerprint().unwrap(), before);

    // bodies within the limit are served as before
    let small: Vec<String> = (0..3).map(line).collect();
    let r: Reply = s.send("POST", "/v2.9/events.add_batch", "application/json-lines", &small.join("\n"));
    assert_eq!((r.status, r.json()["data"]["added"].as_i64()), (200, Some(3)), "{}", r.text);
    let r = s.json("POST", &format!("/api/v1/jobs/{}/metrics", run.id), json!({"name": "ok", "value": 1}));
    assert_eq!(r.status, 200, "{}", r.text);
    assert_ne!(store.fingerprint().unwrap(), before);
}
