//! The write path over real HTTP: an acknowledged write is committed (it survives the
//! server being killed right after the reply), and a body over `--max-body-bytes` is a 413
//! in each API's own error format that changes nothing in the store.

mod common;

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::{ingest, Backend, Reply, Server};
use serde_json::{json, Value};

per_backend! {
    acknowledged_writes_survive_repeated_sigkills => acknowledged_writes_survive_repeated_sigkills;
    oversized_bodies_get_native_413s => oversized_bodies_get_native_413s;
}

/// Server kills per backend.
const KILLS: usize = 20;

/// Clients write through all five APIs at once (two per API, batches where the API takes
/// them); at a random moment the server is killed with SIGKILL while writes are in flight,
/// then started again on the same store. Twenty times. After each restart the store passes
/// its integrity check, and every point any API acknowledged, in this cycle or before, is
/// there exactly once with its value (`SPECMILL_TEST_SEED` repeats a run's kill moments).
fn acknowledged_writes_survive_repeated_sigkills(backend: Backend) {
    let Some(mut first) = Server::start(backend) else { return };
    let targets = ingest::targets(&first, "killed");
    // every cycle starts its own server on this one's store (which it drops at the end)
    first.kill();
    let (mut rng, seed) = ingest::Rng::seeded();
    let acked = Arc::new(ingest::Acked::default());
    let next_step = Arc::new(AtomicI64::new(0));
    let mut server = None;
    for kill in 0..KILLS {
        let mut s = first.replica();
        let stop = Arc::new(AtomicBool::new(false));
        let writers = ingest::spawn_writers(&s.base, &targets, 2, &next_step, &acked, &stop, false);
        let before = acked.total();
        std::thread::sleep(Duration::from_millis(50 + rng.below(400)));
        s.kill();
        stop.store(true, Ordering::Relaxed);
        for w in writers {
            w.join().unwrap();
        }
        let store = s.store();
        assert_eq!(store.check_integrity().unwrap(), Ok(()), "kill {kill} (seed {seed})");
        let checked = ingest::check(&store, &targets, &acked);
        eprintln!("{backend:?} kill {kill}: {} points acknowledged before it, {checked} checked in all", acked.total() - before);
        server = Some(s);
    }
    drop(server);
    for api in ingest::APIS {
        assert!(acked.steps.lock().unwrap().get(&api).is_some_and(|s| !s.is_empty()), "{api:?} acknowledged nothing (seed {seed})");
    }
    let total = acked.total();
    assert!(total >= KILLS * 50, "only {total} points acknowledged over {KILLS} kills (seed {seed})");
    eprintln!("{backend:?}: {KILLS} SIGKILLs survived, {total} acknowledged points checked after each, none lost or doubled (seed {seed})");
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
