//! Writers through all five APIs at once, for the durability tests: each sends batches of
//! points with unique (metric, step) to its own run, counts the points its API
//! acknowledged, and checks afterwards that each of them is in the store exactly once.
#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};
use specmill_runtime::store::{ScalarOrder, ScalarQuery, Store};

use super::Server;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Api {
    ClearMl,
    SageMaker,
    Dioptra,
    Lens,
    Comet,
}

pub const APIS: [Api; 5] = [Api::ClearMl, Api::SageMaker, Api::Dioptra, Api::Lens, Api::Comet];

/// One API's run: its string key, and the id its routes name (Dioptra job id, Comet key).
#[derive(Clone, Debug)]
pub struct Target {
    pub api: Api,
    pub uid: String,
    pub route_id: String,
}

/// The metric each API writes (one per API, so a point's identity is (api, step)).
fn metric(api: Api) -> &'static str {
    match api {
        Api::ClearMl => "clearml_loss",
        Api::SageMaker => "sagemaker_loss",
        Api::Dioptra => "dioptra_loss",
        Api::Lens => "lens_loss",
        Api::Comet => "comet_loss",
    }
}

/// A point's value: a function of its step, so a re-sent point carries the same value.
pub fn value(api: Api, step: i64) -> f64 {
    step as f64 * 0.5 + APIS.iter().position(|a| *a == api).unwrap() as f64
}

/// Creates one run per API on `s` (tenant `default`, an open server).
pub fn targets(s: &Server, tag: &str) -> Vec<Target> {
    APIS.iter()
        .map(|&api| {
            let uid = format!("{tag}-{api:?}").to_lowercase();
            let route_id = match api {
                Api::Dioptra => s.store().ensure_run("default", &uid, "test").unwrap().id.to_string(),
                Api::Comet => {
                    let r = s.json("POST", "/api/rest/v2/write/experiment/create", json!({"workspaceName": "w", "projectName": tag}));
                    assert_eq!(r.status, 200, "{}", r.text);
                    r.json()["experimentKey"].as_str().unwrap().to_string()
                }
                _ => uid.clone(),
            };
            let uid = if api == Api::Comet { route_id.clone() } else { uid };
            Target { api, uid, route_id }
        })
        .collect()
}

/// How a write went.
#[derive(Debug)]
pub enum Outcome {
    Acked,
    /// The API's own 503 (checked to be in its native format): not written, retry.
    Unavailable,
    /// The connection failed: the server is gone (or going).
    Gone,
}

/// Sends `steps` through `t`'s API to `base` (one request). Panics on any reply other than
/// success or the API's native 503.
pub fn send(agent: &ureq::Agent, base: &str, t: &Target, steps: &[i64]) -> Outcome {
    let m = metric(t.api);
    let (method, path, content_type, body) = match t.api {
        Api::ClearMl => {
            let lines: Vec<String> = steps
                .iter()
                .map(|&s| json!({"type": "training_stats_scalar", "task": t.uid, "metric": m, "variant": "v", "iter": s, "value": value(t.api, s), "timestamp": 1_700_000_000_000i64 + s}).to_string())
                .collect();
            ("POST", "/events.add_batch".to_string(), "application/json-lines", lines.join("\n"))
        }
        Api::SageMaker => {
            let data: Vec<Value> = steps
                .iter()
                .map(|&s| json!({"MetricName": m, "Timestamp": 1_700_000_000.0 + s as f64, "Step": s, "Value": value(t.api, s)}))
                .collect();
            ("PUT", "/BatchPutMetrics".to_string(), "application/json", json!({"TrialComponentName": t.uid, "MetricData": data}).to_string())
        }
        Api::Dioptra => {
            let s = single(steps);
            ("POST", format!("/api/v1/jobs/{}/metrics", t.route_id), "application/json", json!({"name": m, "value": value(t.api, s), "step": s}).to_string())
        }
        Api::Lens => {
            let points: Vec<Value> = steps.iter().map(|&s| json!({"name": m, "value": value(t.api, s), "step": s})).collect();
            ("POST", "/v1/wandb/metrics".to_string(), "application/json", json!({"workload_uid": t.uid, "metrics": points}).to_string())
        }
        Api::Comet => {
            let s = single(steps);
            let body = json!({"experimentKey": t.route_id, "metricName": m, "metricValue": value(t.api, s), "step": s, "timestamp": 1_700_000_000_000i64 + s});
            ("POST", "/api/rest/v2/write/experiment/metric".to_string(), "application/json", body.to_string())
        }
    };
    let reply = agent.request(method, &format!("{base}{path}")).set("Content-Type", content_type).send_string(&body);
    let resp = match reply {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(ureq::Error::Transport(_)) => return Outcome::Gone,
    };
    let status = resp.status();
    let error_type = resp.header("x-amzn-ErrorType").map(str::to_string);
    let text = match resp.into_string() {
        Ok(t) => t,
        // the reply was cut off: the server died while answering
        Err(_) => return Outcome::Gone,
    };
    if status == 200 || (status == 201 && t.api == Api::Dioptra) {
        if t.api == Api::ClearMl {
            let v: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{t:?}: {e}: {text}"));
            assert_eq!(v["meta"]["result_code"], 200, "{text}");
        }
        return Outcome::Acked;
    }
    assert_eq!(status, 503, "{:?} write answered {status}: {text}", t.api);
    assert_unavailable(t.api, error_type.as_deref(), &text);
    Outcome::Unavailable
}

fn single(steps: &[i64]) -> i64 {
    assert_eq!(steps.len(), 1, "one point per request on this API");
    steps[0]
}

/// A 503 body in `api`'s own error format.
pub fn assert_unavailable(api: Api, error_type: Option<&str>, text: &str) {
    let v: Value = serde_json::from_str(text).unwrap_or_else(|e| panic!("{api:?} 503 body is not JSON ({e}): {text}"));
    match api {
        Api::ClearMl => assert_eq!(v["meta"]["result_code"], 503, "{text}"),
        Api::SageMaker => {
            assert_eq!(error_type.map(|t| t.split(':').next().unwrap()), Some("ServiceUnavailable"), "{text}");
            assert_eq!(v["__type"], "ServiceUnavailable", "{text}");
        }
        Api::Dioptra => assert!(v["message"].as_str().is_some_and(|m| m.starts_with("Service Unavailable")), "{text}"),
        Api::Lens => assert!(v["error"].is_string(), "{text}"),
        Api::Comet => assert_eq!(v["code"], 503, "{text}"),
    }
}

/// Points per request: batches where the API takes them.
fn batch(api: Api) -> usize {
    match api {
        Api::ClearMl | Api::SageMaker | Api::Lens => 5,
        Api::Dioptra | Api::Comet => 1,
    }
}

/// What writers have had acknowledged, per API: the steps.
#[derive(Default)]
pub struct Acked {
    pub steps: Mutex<HashMap<Api, Vec<i64>>>,
    pub count: AtomicUsize,
    pub unavailable: AtomicUsize,
}

impl Acked {
    pub fn total(&self) -> usize {
        self.count.load(Ordering::SeqCst)
    }
}

/// `clients` writer threads per API writing to `base` until `stop` is set or the server is
/// gone. With `retry_unavailable`, a batch answered 503 is sent again (as the clients do)
/// until it is acknowledged or the writer stops. Steps come from `next_step`, shared across
/// calls so that no two batches ever carry the same step.
pub fn spawn_writers(
    base: &str,
    targets: &[Target],
    clients: usize,
    next_step: &Arc<AtomicI64>,
    acked: &Arc<Acked>,
    stop: &Arc<AtomicBool>,
    retry_unavailable: bool,
) -> Vec<std::thread::JoinHandle<()>> {
    let mut handles = Vec::new();
    for t in targets {
        for _ in 0..clients {
            let (base, t, next_step, acked, stop) = (base.to_string(), t.clone(), next_step.clone(), acked.clone(), stop.clone());
            handles.push(std::thread::spawn(move || {
                let agent = ureq::AgentBuilder::new().timeout(Duration::from_secs(30)).build();
                'batches: while !stop.load(Ordering::Relaxed) {
                    let n = batch(t.api) as i64;
                    let first = next_step.fetch_add(n, Ordering::SeqCst);
                    let steps: Vec<i64> = (first..first + n).collect();
                    loop {
                        match send(&agent, &base, &t, &steps) {
                            Outcome::Acked => {
                                acked.steps.lock().unwrap().entry(t.api).or_default().extend(&steps);
                                acked.count.fetch_add(steps.len(), Ordering::SeqCst);
                                break;
                            }
                            Outcome::Unavailable => {
                                acked.unavailable.fetch_add(1, Ordering::SeqCst);
                                if !retry_unavailable || stop.load(Ordering::Relaxed) {
                                    break 'batches;
                                }
                                std::thread::sleep(Duration::from_millis(20));
                            }
                            Outcome::Gone => break 'batches,
                        }
                    }
                }
            }));
        }
    }
    handles
}

/// Checks that every acknowledged point is in `store` exactly once with its value, and that
/// no point of these runs is there twice. Returns the number of acknowledged points checked.
pub fn check(store: &Store, targets: &[Target], acked: &Acked) -> usize {
    let acked = acked.steps.lock().unwrap();
    let mut checked = 0;
    for t in targets {
        let steps = acked.get(&t.api).map(Vec::as_slice).unwrap_or(&[]);
        let Some(run) = store.run_by_uid("default", &t.uid).unwrap() else {
            // the first write makes the run: none may have been acknowledged yet
            assert!(steps.is_empty(), "{t:?}: no run, yet {} points acknowledged", steps.len());
            continue;
        };
        let stored = store.scalars(&ScalarQuery { run_id: run.id, order: ScalarOrder::StepAsc, ..Default::default() }).unwrap();
        let mut by_step: HashMap<i64, Vec<f64>> = HashMap::new();
        for p in &stored {
            assert_eq!(p.metric, metric(t.api), "{t:?}: {p:?}");
            by_step.entry(p.step.expect("a step")).or_default().push(p.value);
        }
        let twice: Vec<_> = by_step.iter().filter(|(_, v)| v.len() > 1).take(5).collect();
        assert!(twice.is_empty(), "{:?}: points stored more than once, e.g. {twice:?}", t.api);
        let lost: Vec<_> = steps.iter().filter(|s| by_step.get(s) != Some(&vec![value(t.api, **s)])).take(5).collect();
        assert!(lost.is_empty(), "{:?}: acknowledged points missing or wrong, e.g. steps {lost:?} (of {})", t.api, steps.len());
        checked += steps.len();
    }
    checked
}

/// A small xorshift generator (the test prints its seed, so a failing run can be repeated).
pub struct Rng(u64);

impl Rng {
    pub fn seeded() -> (Rng, u64) {
        let seed = std::env::var("SPECMILL_TEST_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| {
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64 | 1
        });
        (Rng(seed), seed)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}
