//! The read paths built for scale (issue 9), on SQLite and PostgreSQL: the ClearML histogram
//! from the per-bucket aggregates equals the histogram of the points it summarises (as
//! points arrive, are overwritten or deleted), the `get_scalar_metric_data` scroll returns
//! every row of its snapshot exactly once while rows are appended, and the Dioptra
//! snapshot page of one series equals the same page of the sorted series.

mod common;

use std::collections::BTreeMap;

use common::Server;
use serde_json::{json, Value};
use specmill_runtime::store::rollup::WIDTHS;
use specmill_runtime::store::series::PointQuery;
use specmill_runtime::store::{NewScalar, Scalar, ScalarOrder, Store};

both_backends! {
    histogram_follows_the_points => histogram_follows_the_points;
    rollup_equals_the_points => rollup_equals_the_points;
    scroll_returns_each_row_once_while_appending => scroll_returns_each_row_once_while_appending;
    snapshot_pages_of_one_series => snapshot_pages_of_one_series;
}

const T0: i64 = 1_700_000_000_000;

fn add(s: &Server, events: &[Value]) {
    for chunk in events.chunks(1000) {
        let body = chunk.iter().map(Value::to_string).collect::<Vec<_>>().join("\n");
        let r = s.send("POST", "/events.add_batch", "application/json-lines", &body);
        assert_eq!(r.status, 200, "{}", r.text);
    }
}

fn scalar(task: &str, metric: &str, variant: &str, iter: i64, value: f64) -> Value {
    json!({"task": task, "type": "training_stats_scalar", "metric": metric, "variant": variant, "iter": iter, "value": value, "timestamp": T0 + iter})
}

fn call(s: &Server, path: &str, body: Value) -> Value {
    let r = s.json("POST", path, body.clone());
    assert_eq!(r.status, 200, "{path} {body}: {}", r.text);
    r.json()["data"].clone()
}

/// The value written at iteration `i` (small integers: every sum is exact).
fn value_at(i: i64) -> f64 {
    ((i * 7) % 11) as f64
}

/// `{name, x, y}` of `points` bucketed by `width`, the mean of each bucket.
fn expected(variant: &str, points: &BTreeMap<i64, f64>, width: i64) -> Value {
    let mut buckets: BTreeMap<i64, (f64, f64)> = BTreeMap::new();
    for (i, v) in points {
        let b = buckets.entry(i.div_euclid(width) * width).or_default();
        b.0 += v;
        b.1 += 1.0;
    }
    let x: Vec<i64> = buckets.keys().copied().collect();
    let y: Vec<f64> = buckets.values().map(|(s, n)| s / n).collect();
    json!({"name": variant, "x": x, "y": y})
}

fn histogram_follows_the_points(s: &Server) {
    let path = "/events.scalar_metrics_iter_histogram";
    let mut a: BTreeMap<i64, f64> = (0..2500).map(|i| (i, value_at(i))).collect();
    let b: BTreeMap<i64, f64> = (0..30).map(|i| (i * 3, 1.0 + i as f64)).collect();
    let mut evs: Vec<Value> = a.iter().map(|(i, v)| scalar("h", "loss", "a", *i, *v)).collect();
    evs.extend(b.iter().map(|(i, v)| scalar("h", "loss", "b", *i, *v)));
    add(s, &evs);
    // 2500 iterations at samples=100: ceil(2500 / 100) = 25, up the 1-2-5 ladder to 50;
    // 30 points, fewer than samples: every point
    let d = call(s, path, json!({"task": "h", "samples": 100}));
    assert_eq!(d["loss"]["a"], expected("a", &a, 50));
    assert_eq!(d["loss"]["b"], expected("b", &b, 1));
    // ...the same reply for both tasks of the multi-task form
    let m = call(s, "/events.multi_task_scalar_metrics_iter_histogram", json!({"tasks": ["h"], "samples": 100}));
    assert_eq!(m["metrics"]["loss"]["a"]["h"]["x"], d["loss"]["a"]["x"]);
    assert_eq!(m["metrics"]["loss"]["a"]["h"]["y"], d["loss"]["a"]["y"]);
    // samples=1000: 3 → 5; samples=6000 (default): every point of both
    let d = call(s, path, json!({"task": "h", "samples": 1000}));
    assert_eq!(d["loss"]["a"], expected("a", &a, 5));
    let d = call(s, path, json!({"task": "h"}));
    assert_eq!(d["loss"]["a"], expected("a", &a, 1));
    // samples=1250: 2, a width the aggregates do not keep (read from the points)
    let d = call(s, path, json!({"task": "h", "samples": 1250}));
    assert_eq!(d["loss"]["a"], expected("a", &a, 2));

    // more points arrive: 2500..5100 → ceil(5100 / 100) = 51 → 100
    let more: Vec<(i64, f64)> = (2500..5100).map(|i| (i, value_at(i))).collect();
    add(s, &more.iter().map(|(i, v)| scalar("h", "loss", "a", *i, *v)).collect::<Vec<_>>());
    a.extend(more);
    let d = call(s, path, json!({"task": "h", "samples": 100}));
    assert_eq!(d["loss"]["a"], expected("a", &a, 100));
    // re-sends with the same key overwrite: the buckets follow the new values
    let resent: Vec<(i64, f64)> = (0..5100).step_by(3).map(|i| (i, 100.0 + value_at(i))).collect();
    add(s, &resent.iter().map(|(i, v)| scalar("h", "loss", "a", *i, *v)).collect::<Vec<_>>());
    a.extend(resent);
    for samples in [100, 1000, 6000] {
        let width = match samples {
            100 => 100,
            1000 => 10,
            _ => 1,
        };
        let d = call(s, path, json!({"task": "h", "samples": samples}));
        assert_eq!(d["loss"]["a"], expected("a", &a, width), "samples {samples}");
        assert_eq!(d["loss"]["b"], expected("b", &b, 1));
    }
    // a task whose points are deleted has no series left
    call(s, "/events.delete_for_task", json!({"task": "h"}));
    assert_eq!(call(s, path, json!({"task": "h", "samples": 100})), json!({}));
}

/// The finite points of one series by (bucket of `width`) → (sum, count), from the points.
fn naive(points: &[Scalar], metric: &str, variant: &str, width: i64) -> Vec<(i64, f64)> {
    let mut buckets: BTreeMap<i64, (f64, i64)> = BTreeMap::new();
    for p in points.iter().filter(|p| p.metric == metric && p.variant == variant && p.value.is_finite()) {
        let b = buckets.entry(p.step.unwrap_or(0).div_euclid(width) * width).or_default();
        b.0 += p.value;
        b.1 += 1;
    }
    buckets.into_iter().map(|(k, (s, n))| (k, s / n as f64)).collect()
}

fn point(metric: &str, variant: &str, step: Option<i64>, value: f64, key: &str) -> NewScalar {
    NewScalar {
        metric: metric.into(),
        variant: variant.into(),
        step,
        ts_us: 1,
        value,
        source: "test".into(),
        point_key: key.into(),
        extra: None,
    }
}

fn check_rollup(store: &Store, run_id: i64) {
    let points = store.points(&PointQuery { run_id, ..Default::default() }).unwrap();
    let mut series: Vec<(String, String)> = points.iter().map(|p| (p.metric.clone(), p.variant.clone())).collect();
    series.sort();
    series.dedup();
    assert_eq!(store.scalar_series(run_id).unwrap(), series);
    let bounds = store.series_bounds(run_id).unwrap();
    let finite: Vec<&(String, String)> =
        series.iter().filter(|(m, v)| points.iter().any(|p| &p.metric == m && &p.variant == v && p.value.is_finite())).collect();
    assert_eq!(bounds.iter().map(|b| (&b.metric, &b.variant)).collect::<Vec<_>>(), finite.iter().map(|(m, v)| (m, v)).collect::<Vec<_>>());
    for b in &bounds {
        let steps: Vec<i64> = points
            .iter()
            .filter(|p| p.metric == b.metric && p.variant == b.variant && p.value.is_finite())
            .map(|p| p.step.unwrap_or(0))
            .collect();
        assert_eq!(b.count, steps.len() as i64, "{b:?}");
        assert_eq!((b.min_step, b.max_step), (*steps.iter().min().unwrap(), *steps.iter().max().unwrap()), "{b:?}");
    }
    let mut widths: Vec<i64> = vec![1, 2, 3, 40, 150, 20_000_000];
    widths.extend(WIDTHS);
    for (m, v) in &series {
        for w in &widths {
            assert_eq!(store.series_buckets(run_id, m, v, *w).unwrap(), naive(&points, m, v, *w), "{m}/{v} width {w}");
        }
    }
}

fn rollup_equals_the_points(s: &Server) {
    let store = s.store();
    let run = store.ensure_run("default", "rollup", "test").unwrap();
    // negative, NULL and far steps; NaN and infinite values; repeated steps
    let mut batch = Vec::new();
    for i in -60..300i64 {
        let value = match i % 17 {
            0 => f64::NAN,
            1 => f64::INFINITY,
            2 => -0.0,
            _ => (i % 13) as f64,
        };
        batch.push(point("m", "a", Some(i * 7), value, &format!("a{i}")));
        batch.push(point("m", "b", Some(i / 3), 1.0 + (i % 5) as f64, &format!("b{i}")));
    }
    batch.push(point("m", "a", None, 4.0, "anull"));
    batch.push(point("m", "c", Some(12_345_678_901), 2.0, "far"));
    batch.push(point("only", "nan", Some(3), f64::NAN, "nan"));
    store.put_scalars(run.id, &batch).unwrap();
    check_rollup(&store, run.id);
    // overwrites that move points: other value, other step, other series, to NaN and back
    let moved = vec![
        point("m", "a", Some(5), 9.0, "a10"),
        point("m", "b", Some(1_000), 3.0, "a11"),
        point("m", "a", Some(14), f64::NAN, "a12"),
        point("m", "a", None, 6.0, "a0"),
        point("other", "x", Some(-3), 2.5, "b5"),
        point("only", "nan", Some(3), 8.0, "nan"),
        point("m", "c", Some(12_345_678_901), 4.0, "far"),
        // repeated keys in one write: the last one counts
        point("m", "b", Some(2), 1.0, "dup"),
        point("m", "b", Some(2_000), 7.0, "dup"),
    ];
    store.put_scalars(run.id, &moved).unwrap();
    check_rollup(&store, run.id);
    // concurrent writers (two connections; on PostgreSQL they would race without the
    // run's lock) overwriting the same keys and adding new ones
    std::thread::scope(|scope| {
        for w in 0..4i64 {
            let store = s.store();
            scope.spawn(move || {
                for round in 0..15i64 {
                    let batch: Vec<NewScalar> = (0..40i64)
                        .map(|i| {
                            let key = if i % 2 == 0 { format!("a{i}") } else { format!("w{w}-{round}-{i}") };
                            point("m", ["a", "b"][(i % 4 / 2) as usize], Some(i * 11 + w), (w * 100 + round) as f64, &key)
                        })
                        .collect();
                    store.put_scalars(run.id, &batch).unwrap();
                }
            });
        }
    });
    check_rollup(&store, run.id);
    store.delete_run_data(run.id).unwrap();
    check_rollup(&store, run.id);
    assert!(store.series_bounds(run.id).unwrap().is_empty());
}

fn scroll_returns_each_row_once_while_appending(s: &Server) {
    let path = "/events.get_scalar_metric_data";
    // 1300 points of "m" over three variants with repeated iterations, and another metric
    let mut evs = Vec::new();
    for i in 0..1300i64 {
        evs.push(scalar("sc", "m", ["a", "b", "c"][(i % 3) as usize], i / 2, i as f64));
    }
    evs.push(scalar("sc", "other", "a", 5, 1.0));
    add(s, &evs);
    // and a few without an iteration (last in the scroll)
    let store = s.store();
    let run = store.run_by_uid("default", "sc").unwrap().unwrap();
    let unstepped: Vec<NewScalar> =
        (0..7).map(|i| NewScalar { ts_us: (T0 + i) * 1000, ..point("m", "z", None, 1000.0 + i as f64, &format!("u{i}")) }).collect();
    store.put_scalars(run.id, &unstepped).unwrap();
    let snapshot: Vec<Scalar> = store
        .points(&PointQuery { run_id: run.id, metrics: Some(vec!["m".into()]), order: ScalarOrder::StepDesc, ..Default::default() })
        .unwrap();
    assert_eq!(snapshot.len(), 1307);

    let mut seen: Vec<(String, Option<i64>, f64)> = Vec::new();
    let mut d = call(s, path, json!({"task": "sc", "metric": "m"}));
    let mut page = 0;
    loop {
        assert_eq!(d["total"], json!(1307), "page {page}");
        let events = d["events"].as_array().unwrap().clone();
        assert_eq!(d["returned"], json!(events.len()));
        if events.is_empty() {
            break;
        }
        for e in &events {
            seen.push((e["variant"].as_str().unwrap().to_string(), e["iter"].as_i64(), e["value"].as_f64().unwrap()));
        }
        if page == 0 {
            // rows arrive during the scroll: new iterations above and below the cursor
            let more: Vec<Value> = (0..600i64).map(|i| scalar("sc", "m", "a", if i % 2 == 0 { 2000 + i } else { -1 - i }, -1.0 - i as f64)).collect();
            add(s, &more);
        }
        page += 1;
        d = call(s, path, json!({"task": "sc", "metric": "m", "scroll_id": d["scroll_id"]}));
    }
    // exactly the snapshot, in its order: step descending (unstepped last), ts and id descending
    let want: Vec<(String, Option<i64>, f64)> = snapshot.iter().map(|p| (p.variant.clone(), p.step, p.value)).collect();
    assert_eq!(seen.len(), want.len());
    if let Some(i) = (0..want.len()).find(|i| seen[*i] != want[*i]) {
        panic!("row {i}: scrolled {:?}, expected {:?}", &seen[i..(i + 3).min(seen.len())], &want[i..(i + 3).min(want.len())]);
    }
    assert_eq!(page, 3);
}

fn snapshot_pages_of_one_series(s: &Server) {
    let store = s.store();
    let run = store.ensure_run("default", "snap", "test").unwrap();
    let mut batch: Vec<NewScalar> = (0..1200i64)
        .map(|i| NewScalar { ts_us: 10_000 - i, ..point("acc", "", Some((i * 37) % 400), i as f64, &format!("k{i}")) })
        .collect();
    batch.extend((0..5).map(|i| point("acc", "", None, -1.0 - i as f64, &format!("n{i}"))));
    batch.push(point("acc", "other", Some(1), 0.0, "o"));
    store.put_scalars(run.id, &batch).unwrap();
    let sorted = store
        .points(&PointQuery {
            run_id: run.id,
            metrics: Some(vec!["acc".into()]),
            variants: Some(vec![String::new()]),
            order: ScalarOrder::StepAsc,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(sorted.len(), 1205);
    for (offset, limit) in [(0, 3), (0, 100), (3, 10), (5, 100), (1100, 500), (1205, 10), (2000, 10)] {
        let (page, total) = store.series_page(run.id, "acc", "", offset, limit).unwrap();
        assert_eq!(total, 1205);
        let want: Vec<&Scalar> = sorted.iter().skip(offset as usize).take(limit as usize).collect();
        assert_eq!(page.iter().collect::<Vec<_>>(), want, "offset {offset} limit {limit}");
    }
}
