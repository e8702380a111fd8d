//! Ad-hoc read-path measurement (issue 9, helper "reads"): loads 10 metrics × N steps into a
//! fresh store (through `Store::put_scalars`, or over HTTP `add_batch` with `--http-load`),
//! starts a specmill binary on it and times the reads.
//! usage: read_bench <specmill-binary> <database-url> [--steps N] [--http-load]

use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use specmill_runtime::store::{NewScalar, Store};

const T0_MS: i64 = 1_700_000_000_000;
const METRICS: i64 = 10;

fn pct(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let bin = &args[1];
    let url = &args[2];
    let steps: i64 = args.iter().position(|a| a == "--steps").map(|i| args[i + 1].parse().unwrap()).unwrap_or(100_000);
    let http_load = args.iter().any(|a| a == "--http-load");
    let reps: usize = args.iter().position(|a| a == "--reps").map(|i| args[i + 1].parse().unwrap()).unwrap_or(20);

    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let base = format!("http://127.0.0.1:{port}");
    let mut child = Command::new(bin)
        .args(["--database-url", url, "serve", "--listen", &format!("127.0.0.1:{port}"), "--workers", "2"])
        .env("SPECMILL_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        std::thread::sleep(Duration::from_millis(50));
    }
    let agent = ureq::AgentBuilder::new().timeout(Duration::from_secs(600)).build();
    let t = Instant::now();
    let run_id;
    if http_load {
        for chunk_start in (0..steps).step_by(100) {
            let mut body = String::new();
            for i in chunk_start..(chunk_start + 100).min(steps) {
                for m in 0..METRICS {
                    let ev = json!({"task": "bench", "type": "training_stats_scalar", "metric": format!("m{m}"), "variant": "",
                        "iter": i, "value": (i % 97) as f64 * 0.5 + m as f64, "timestamp": T0_MS + i * 10});
                    body.push_str(&ev.to_string());
                    body.push('\n');
                }
            }
            let r = agent.post(&format!("{base}/events.add_batch")).set("Content-Type", "application/json-lines").send_string(&body).unwrap();
            assert_eq!(r.status(), 200);
        }
        // the first run of a fresh store (not opened here: that would migrate an older store)
        run_id = 1;
    } else {
        let store = Store::open(url).unwrap();
        let run = store.ensure_run("default", "bench", "bench").unwrap();
        run_id = run.id;
        for chunk_start in (0..steps).step_by(1000) {
            let mut points = Vec::with_capacity(10_000);
            for i in chunk_start..(chunk_start + 1000).min(steps) {
                for m in 0..METRICS {
                    let mut extra = serde_json::Map::new();
                    extra.insert("worker".into(), json!("bench"));
                    points.push(NewScalar {
                        metric: format!("m{m}"),
                        variant: String::new(),
                        step: Some(i),
                        ts_us: (T0_MS + i * 10) * 1000,
                        value: (i % 97) as f64 * 0.5 + m as f64,
                        source: "clearml".into(),
                        point_key: format!("clearml|bench|{i}|m{m}|"),
                        extra: Some(extra),
                    });
                }
            }
            store.put_scalars(run.id, &points).unwrap();
        }
    }
    let load = t.elapsed().as_secs_f64();
    println!("loaded {} points in {load:.1}s ({:.0} points/s, {})", steps * METRICS, (steps * METRICS) as f64 / load, if http_load { "HTTP add_batch" } else { "Store::put_scalars" });

    let post = |path: &str, body: Value| -> (Value, f64) {
        let t = Instant::now();
        let r = agent.post(&format!("{base}{path}")).send_json(body).unwrap();
        let v: Value = r.into_json().unwrap();
        (v, t.elapsed().as_secs_f64() * 1000.0)
    };
    let get = |path: &str| -> (String, f64) {
        let t = Instant::now();
        let r = agent.get(&format!("{base}{path}")).call().unwrap();
        let s = r.into_string().unwrap();
        (s, t.elapsed().as_secs_f64() * 1000.0)
    };

    // histogram samples=6000
    let mut lat = Vec::new();
    for _ in 0..reps {
        let (v, ms) = post("/events.scalar_metrics_iter_histogram", json!({"task": "bench", "samples": 6000}));
        assert_eq!(v["data"].as_object().unwrap().len(), METRICS as usize);
        lat.push(ms);
    }
    let pts = {
        let (v, _) = post("/events.scalar_metrics_iter_histogram", json!({"task": "bench", "samples": 6000}));
        v["data"]["m0"][""]["x"].as_array().unwrap().len()
    };
    println!("histogram samples=6000: p50 {:.1} ms, p99 {:.1} ms ({pts} buckets per series)", pct(&mut lat.clone(), 0.5), pct(&mut lat, 0.99));
    let mut lat = Vec::new();
    for _ in 0..(reps / 2).max(1) {
        let (v, ms) = post("/events.multi_task_scalar_metrics_iter_histogram", json!({"tasks": ["bench"], "samples": 6000}));
        assert_eq!(v["data"]["metrics"].as_object().unwrap().len(), METRICS as usize);
        lat.push(ms);
    }
    println!("multi_task histogram samples=6000: p50 {:.1} ms, p99 {:.1} ms", pct(&mut lat.clone(), 0.5), pct(&mut lat, 0.99));

    // scroll one whole metric
    for _ in 0..(reps / 10).max(1) {
        let t = Instant::now();
        let mut rows = 0;
        let mut pages = Vec::new();
        let (mut v, ms) = post("/events.get_scalar_metric_data", json!({"task": "bench", "metric": "m3"}));
        pages.push(ms);
        loop {
            let n = v["data"]["returned"].as_i64().unwrap();
            if n == 0 {
                break;
            }
            rows += n;
            let sid = v["data"]["scroll_id"].clone();
            let (nv, ms) = post("/events.get_scalar_metric_data", json!({"task": "bench", "metric": "m3", "scroll_id": sid}));
            pages.push(ms);
            v = nv;
        }
        let secs = t.elapsed().as_secs_f64();
        assert_eq!(rows, steps);
        println!(
            "get_scalar_metric_data scroll: {rows} rows in {secs:.2}s = {:.0} rows/s; page p50 {:.2} ms p99 {:.2} ms",
            rows as f64 / secs,
            pct(&mut pages.clone(), 0.5),
            pct(&mut pages, 0.99)
        );
    }

    // Lens: one metric over a window of 10% of the run
    let (from, to) = (T0_MS + steps * 10 * 4 / 10, T0_MS + steps * 10 * 5 / 10 - 1);
    let mut lat = Vec::new();
    let mut n = 0;
    for _ in 0..(reps / 2).max(1) {
        let (s, ms) = get(&format!("/v1/workloads/bench/metrics/data?metrics=m1&start={from}&end={to}"));
        let v: Value = serde_json::from_str(&s).unwrap();
        n = v["total_count"].as_i64().unwrap();
        lat.push(ms);
    }
    println!("lens metrics/data one metric, 10% window ({n} rows): p50 {:.1} ms, p99 {:.1} ms", pct(&mut lat.clone(), 0.5), pct(&mut lat, 0.99));

    // Dioptra snapshots: page through the whole series, 1000 per page
    let t = Instant::now();
    let mut lat = Vec::new();
    let mut rows = 0;
    let mut index = 0;
    loop {
        let (s, ms) = get(&format!("/api/v1/jobs/{run_id}/metrics/m5/snapshots?index={index}&pageLength=1000"));
        lat.push(ms);
        let v: Value = serde_json::from_str(&s).unwrap();
        let k = v["data"].as_array().unwrap().len() as i64;
        rows += k;
        if k == 0 || v["isComplete"] == json!(true) {
            break;
        }
        index += k;
    }
    let secs = t.elapsed().as_secs_f64();
    println!(
        "dioptra snapshots: {rows} rows in {} pages, {secs:.2}s = {:.0} rows/s; page p50 {:.1} ms p99 {:.1} ms",
        lat.len(),
        rows as f64 / secs,
        pct(&mut lat.clone(), 0.5),
        pct(&mut lat, 0.99)
    );
    let _ = child.kill();
    let _ = child.wait();
}
