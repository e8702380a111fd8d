//! The store against real databases: every test below runs once on a fresh SQLite file
//! and once on a fresh PostgreSQL database (`SPECMILL_TEST_POSTGRES_URL`, default
//! `postgres://postgres@127.0.0.1:5432/test`). Without a reachable PostgreSQL the
//! postgres half prints `SKIP postgres: …`, or fails when `CI` is set.

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Barrier};

use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::sqlite::SqliteConnection;
use diesel::{Connection, QueryableByName, RunQueryDsl};
use serde_json::{json, Map, Value};
use specmill_runtime::store::testdb;
use specmill_runtime::store::{
    Backend, NewEvent, NewScalar, Scalar, ScalarOrder, ScalarQuery, Store, StoreError,
    TimelineCursor, TimelineItem, TimelineQuery, SCALAR_EVENT_TYPE,
};

// ---------------------------------------------------------------- harness

struct Db {
    store: Store,
    url: String,
}

fn ci() -> bool {
    std::env::var_os("CI").is_some_and(|v| !v.is_empty())
}

/// Reports a skipped PostgreSQL half on the real stderr (the test harness captures
/// `eprintln!` of passing tests, which would hide the skip).
fn skip_postgres(reason: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "SKIP postgres: {reason}");
}

fn on_sqlite(test: fn(&Db)) {
    let path = testdb::fresh_sqlite_path();
    let url = path.to_str().expect("utf-8 temp path").to_string();
    let store = Store::open(&url).expect("open fresh SQLite store");
    assert_eq!(store.backend(), Backend::Sqlite);
    test(&Db { store, url });
    // reached only when the test passed: keep failing databases for inspection
    if let Some(dir) = path.parent() {
        let _ = std::fs::remove_dir_all(dir);
    }
}

fn on_postgres(test: fn(&Db)) {
    let admin = match testdb::probe_postgres() {
        Ok(url) => url,
        Err(reason) if ci() => panic!("PostgreSQL is required when CI is set: {reason}"),
        Err(reason) => {
            skip_postgres(&reason);
            return;
        }
    };
    let url = testdb::fresh_postgres_database(&admin).expect("create fresh PostgreSQL database");
    let store = Store::open(&url).expect("open fresh PostgreSQL store");
    assert_eq!(store.backend(), Backend::Postgres);
    test(&Db {
        store,
        url: url.clone(),
    });
    testdb::drop_postgres_database(&admin, &url).expect("drop test database");
}

/// `both_backends!(a, b)` makes `sqlite::a`, `postgres::a`, `sqlite::b`, ...
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $( #[test] fn $name() { super::on_sqlite(super::$name) } )*
        }
        mod postgres {
            $( #[test] fn $name() { super::on_postgres(super::$name) } )*
        }
    };
}

both_backends!(
    migrations_are_applied_and_idempotent,
    ensure_run_is_idempotent_and_tenant_scoped,
    ensure_run_is_race_safe,
    special_values_round_trip_exactly,
    put_scalars_upserts_by_point_key,
    put_scalars_is_one_transaction_and_checks_the_run,
    concurrent_writers_all_succeed,
    latest_scalars_picks_the_highest_step,
    scalar_query_filters_orders_and_pages,
    events_upsert_by_key_and_keep_unkeyed,
    timeline_merges_and_pages_every_item_once,
    timeline_type_filter_and_count,
    extra_and_payload_json_round_trip,
    settings_are_set_once_and_shared,
);

// ---------------------------------------------------------------- helpers

fn obj(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        other => panic!("not an object: {other}"),
    }
}

fn scalar(
    metric: &str,
    variant: &str,
    step: Option<i64>,
    ts_us: i64,
    value: f64,
    key: &str,
) -> NewScalar {
    NewScalar {
        metric: metric.into(),
        variant: variant.into(),
        step,
        ts_us,
        value,
        source: "clearml".into(),
        point_key: key.into(),
        extra: None,
    }
}

fn event(event_type: &str, ts_us: i64, key: Option<&str>, payload: Value) -> NewEvent {
    NewEvent {
        event_type: event_type.into(),
        metric: "m".into(),
        variant: "v".into(),
        iter: Some(ts_us / 10),
        ts_us,
        point_key: key.map(str::to_string),
        payload: obj(payload),
    }
}

fn all_scalars(store: &Store, run_id: i64) -> Vec<Scalar> {
    store.scalars(&ScalarQuery::for_run(run_id)).unwrap()
}

fn raw_exec(db: &Db, sql: &str) {
    match db.store.backend() {
        Backend::Sqlite => SqliteConnection::establish(&db.url)
            .unwrap()
            .batch_execute(sql)
            .unwrap(),
        Backend::Postgres => PgConnection::establish(&db.url)
            .unwrap()
            .batch_execute(sql)
            .unwrap(),
    }
}

#[derive(QueryableByName)]
struct VersionRow {
    #[diesel(sql_type = diesel::sql_types::Text)]
    version: String,
}

fn raw_migration_versions(db: &Db) -> Vec<String> {
    let sql = "SELECT version FROM __diesel_schema_migrations ORDER BY version";
    let rows: Vec<VersionRow> = match db.store.backend() {
        Backend::Sqlite => diesel::sql_query(sql)
            .load(&mut SqliteConnection::establish(&db.url).unwrap())
            .unwrap(),
        Backend::Postgres => diesel::sql_query(sql)
            .load(&mut PgConnection::establish(&db.url).unwrap())
            .unwrap(),
    };
    rows.into_iter().map(|r| r.version).collect()
}

// ---------------------------------------------------------------- tests

fn migrations_are_applied_and_idempotent(db: &Db) {
    // open() applied every migration folder (`2025-01-05-000000_name` is version 20250105000000)
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations/sqlite");
    let mut names: Vec<String> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    assert!(names.len() >= 5, "{names:?}");
    let all: Vec<String> = names.iter().map(|n| n.split('_').next().unwrap().replace('-', "")).collect();
    assert_eq!(raw_migration_versions(db), all);
    assert_eq!(db.store.migrate().unwrap(), Vec::<String>::new());
    assert_eq!(db.store.migrate().unwrap(), Vec::<String>::new());

    // a second open of the same database applies nothing and sees the same data
    let run = db.store.ensure_run("t", "persist", "clearml").unwrap();
    let again = Store::open(&db.url).unwrap();
    assert_eq!(again.backend(), db.store.backend());
    assert_eq!(again.migrate().unwrap(), Vec::<String>::new());
    assert_eq!(again.run_by_uid("t", "persist").unwrap(), Some(run));
    assert_eq!(raw_migration_versions(db), all);

    // with the schema gone, migrate() applies it again and names what it applied
    drop(again);
    raw_exec(
        db,
        "DROP TABLE run_sources; DROP TABLE scalar_rollup; DROP TABLE assets; DROP TABLE experiment_jobs; DROP TABLE experiments; DROP TABLE settings; DROP TABLE run_meta; \
         DROP TABLE events; DROP TABLE scalars; DROP TABLE runs; \
         DELETE FROM __diesel_schema_migrations;",
    );
    assert_eq!(db.store.migrate().unwrap(), names);
    assert_eq!(db.store.migrate().unwrap(), Vec::<String>::new());
    assert_eq!(db.store.run_by_uid("t", "persist").unwrap(), None);
    let run = db.store.ensure_run("t", "persist", "clearml").unwrap();
    assert_eq!(run.uid, "persist");
}

fn settings_are_set_once_and_shared(db: &Db) {
    let first = db.store.setting_or_init("token_key", || "k1".to_string()).unwrap();
    assert_eq!(first, "k1");
    // Later callers (another replica opening the same store) get the stored value.
    let again = Store::open(&db.url).unwrap();
    assert_eq!(again.setting_or_init("token_key", || "k2".to_string()).unwrap(), "k1");
    assert_eq!(again.setting_or_init("other", || "v".to_string()).unwrap(), "v");
}

fn ensure_run_is_idempotent_and_tenant_scoped(db: &Db) {
    let s = &db.store;
    let before = specmill_runtime::store::now_us();
    let r1 = s.ensure_run("tenant-a", "task-1", "clearml").unwrap();
    assert!(r1.id > 0);
    assert_eq!(r1.tenant, "tenant-a");
    assert_eq!(r1.uid, "task-1");
    assert_eq!(r1.name, "");
    assert_eq!(r1.created_by, "clearml");
    assert!(r1.created_us >= before && r1.created_us <= specmill_runtime::store::now_us());
    assert_eq!(r1.updated_us, r1.created_us);

    // get, not create: the first creator stays
    let again = s.ensure_run("tenant-a", "task-1", "sagemaker").unwrap();
    assert_eq!(again, r1);

    // same uid in another tenant is another run
    let r2 = s.ensure_run("tenant-b", "task-1", "comet").unwrap();
    assert_ne!(r2.id, r1.id);
    assert_eq!(
        (r2.tenant.as_str(), r2.created_by.as_str()),
        ("tenant-b", "comet")
    );

    assert_eq!(
        s.run_by_uid("tenant-a", "task-1").unwrap(),
        Some(r1.clone())
    );
    assert_eq!(
        s.run_by_uid("tenant-b", "task-1").unwrap(),
        Some(r2.clone())
    );
    assert_eq!(s.run_by_uid("tenant-c", "task-1").unwrap(), None);
    assert_eq!(s.run_by_uid("tenant-a", "task-2").unwrap(), None);
    assert_eq!(s.run_by_id("tenant-a", r1.id).unwrap(), Some(r1.clone()));
    assert_eq!(s.run_by_id("tenant-b", r2.id).unwrap(), Some(r2.clone()));
    assert_eq!(
        s.run_by_id("tenant-b", r1.id).unwrap(),
        None,
        "wrong tenant"
    );
    assert_eq!(
        s.run_by_id("tenant-a", r2.id).unwrap(),
        None,
        "wrong tenant"
    );
    assert_eq!(
        s.run_by_id("tenant-a", r2.id.max(r1.id) + 1000).unwrap(),
        None
    );

    // uids are compared exactly
    let upper = s.ensure_run("tenant-a", "TASK-1", "clearml").unwrap();
    assert_ne!(upper.id, r1.id);
    // the data of one tenant's run is not visible through the other's
    s.put_scalars(r1.id, &[scalar("loss", "", Some(1), 10, 0.5, "k")])
        .unwrap();
    assert_eq!(all_scalars(s, r1.id).len(), 1);
    assert_eq!(all_scalars(s, r2.id).len(), 0);
}

fn ensure_run_is_race_safe(db: &Db) {
    const THREADS: usize = 8;
    const UIDS: usize = 5;
    let barrier = Arc::new(Barrier::new(THREADS));
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let store = db.store.clone();
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                barrier.wait();
                (0..UIDS)
                    .map(|u| {
                        // start at different uids so threads collide in different orders
                        let uid = format!("race-{}", (u + t) % UIDS);
                        let run = store.ensure_run("t", &uid, "lens").unwrap();
                        (uid, run.id)
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut ids: BTreeMap<String, HashSet<i64>> = BTreeMap::new();
    for h in handles {
        for (uid, id) in h.join().unwrap() {
            ids.entry(uid).or_default().insert(id);
        }
    }
    assert_eq!(ids.len(), UIDS);
    let mut distinct = HashSet::new();
    for (uid, set) in &ids {
        assert_eq!(set.len(), 1, "{uid} got several ids: {set:?}");
        let id = *set.iter().next().unwrap();
        assert!(distinct.insert(id));
        assert_eq!(db.store.run_by_uid("t", uid).unwrap().unwrap().id, id);
    }
}

fn special_values_round_trip_exactly(db: &Db) {
    let s = &db.store;
    let run = s.ensure_run("t", "specials", "clearml").unwrap();
    let values = [
        f64::NAN,
        f64::INFINITY,
        f64::NEG_INFINITY,
        -0.0,
        0.0,
        1e-300,
        -1e-300,
        f64::MAX,
        f64::MIN,
        f64::MIN_POSITIVE,
        5e-324, // smallest subnormal
        0.1,
        1.0 / 3.0,
        -123_456_789.123_456_78,
        9_007_199_254_740_993.0,
        1e300,
    ];
    let points: Vec<NewScalar> = values
        .iter()
        .enumerate()
        .map(|(i, v)| {
            scalar(
                &format!("m{i:02}"),
                "",
                Some(i as i64),
                1_000 + i as i64,
                *v,
                &format!("k{i}"),
            )
        })
        .collect();
    assert_eq!(s.put_scalars(run.id, &points).unwrap(), values.len());

    let check = |got: &[Scalar], how: &str| {
        assert_eq!(got.len(), values.len(), "{how}");
        for (i, (g, want)) in got.iter().zip(values).enumerate() {
            assert_eq!(g.metric, format!("m{i:02}"), "{how}");
            if want.is_nan() {
                assert!(g.value.is_nan(), "{how}: point {i}: {} is not NaN", g.value);
            } else {
                assert_eq!(
                    g.value.to_bits(),
                    want.to_bits(),
                    "{how}: point {i}: {} != {want}",
                    g.value
                );
            }
        }
    };
    check(&all_scalars(s, run.id), "scalars()");
    check(&s.latest_scalars(run.id).unwrap(), "latest_scalars()");
    let timeline = s
        .timeline(&TimelineQuery {
            run_id: run.id,
            limit: 100,
            ..Default::default()
        })
        .unwrap();
    let via_timeline: Vec<Scalar> = timeline
        .into_iter()
        .map(|i| match i {
            TimelineItem::Scalar(s) => s,
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    check(&via_timeline, "timeline()");

    // overwriting a special with a finite value (and back) leaves no trace
    s.put_scalars(run.id, &[scalar("m00", "", Some(0), 1_000, 2.5, "k0")])
        .unwrap();
    s.put_scalars(
        run.id,
        &[scalar("m01", "", Some(1), 1_001, f64::NEG_INFINITY, "k1")],
    )
    .unwrap();
    let got = all_scalars(s, run.id);
    assert_eq!(got[0].value, 2.5);
    assert_eq!(got[1].value, f64::NEG_INFINITY);
}

fn put_scalars_upserts_by_point_key(db: &Db) {
    let s = &db.store;
    let run = s.ensure_run("t", "upsert", "clearml").unwrap();
    let first = vec![
        scalar("loss", "train", Some(1), 100, 1.0, "a"),
        scalar("loss", "train", Some(2), 200, 2.0, "b"),
        scalar("loss", "train", Some(3), 300, 3.0, "c"),
    ];
    assert_eq!(s.put_scalars(run.id, &first).unwrap(), 3);
    let before = all_scalars(s, run.id);
    assert_eq!(
        before.iter().map(|p| p.value).collect::<Vec<_>>(),
        vec![1.0, 2.0, 3.0]
    );
    let b_id = before[1].id;

    // re-send "b" with everything changed
    let mut resent = scalar("acc", "val", Some(7), 700, 0.75, "b");
    resent.source = "comet".into();
    resent.extra = Some(obj(json!({"note": "resent"})));
    assert_eq!(s.put_scalars(run.id, &[resent]).unwrap(), 1);
    let after = all_scalars(s, run.id);
    assert_eq!(after.len(), 3, "no duplicate row");
    let b = after.iter().find(|p| p.point_key == "b").unwrap();
    assert_eq!(b.id, b_id, "same row, updated in place");
    assert_eq!(b.run_id, run.id);
    assert_eq!((b.metric.as_str(), b.variant.as_str()), ("acc", "val"));
    assert_eq!((b.step, b.ts_us, b.value), (Some(7), 700, 0.75));
    assert_eq!(b.source, "comet");
    assert_eq!(b.extra, Some(obj(json!({"note": "resent"}))));
    // the others are untouched
    let a = after.iter().find(|p| p.point_key == "a").unwrap();
    assert_eq!(
        (a.metric.as_str(), a.step, a.value, a.source.as_str()),
        ("loss", Some(1), 1.0, "clearml")
    );

    // re-send clears extra and step when the new point has none
    assert_eq!(
        s.put_scalars(run.id, &[scalar("acc", "val", None, 701, 0.5, "b")])
            .unwrap(),
        1
    );
    let b = all_scalars(s, run.id)
        .into_iter()
        .find(|p| p.point_key == "b")
        .unwrap();
    assert_eq!((b.step, b.ts_us, b.value, b.extra), (None, 701, 0.5, None));

    // the same key twice in one batch: the last wins, one row
    let dup = vec![
        scalar("loss", "train", Some(4), 400, 4.0, "d"),
        scalar("loss", "train", Some(4), 401, 4.5, "d"),
    ];
    assert_eq!(s.put_scalars(run.id, &dup).unwrap(), 1);
    let d: Vec<_> = all_scalars(s, run.id)
        .into_iter()
        .filter(|p| p.point_key == "d")
        .collect();
    assert_eq!(d.len(), 1);
    assert_eq!((d[0].ts_us, d[0].value), (401, 4.5));

    // same point_key in another run is another point
    let other = s.ensure_run("t", "upsert-2", "clearml").unwrap();
    s.put_scalars(other.id, &[scalar("loss", "train", Some(1), 100, 9.0, "a")])
        .unwrap();
    assert_eq!(
        all_scalars(s, run.id)
            .iter()
            .find(|p| p.point_key == "a")
            .unwrap()
            .value,
        1.0
    );
    assert_eq!(all_scalars(s, other.id)[0].value, 9.0);

    // a batch larger than one INSERT statement, re-sent, is written in full each time
    let big: Vec<NewScalar> = (0..1234)
        .map(|i| {
            scalar(
                "big",
                "",
                Some(i),
                10_000 + i,
                i as f64,
                &format!("big-{i}"),
            )
        })
        .collect();
    assert_eq!(s.put_scalars(run.id, &big).unwrap(), 1234);
    assert_eq!(s.put_scalars(run.id, &big).unwrap(), 1234);
    let q = ScalarQuery {
        metrics: Some(vec!["big".into()]),
        ..ScalarQuery::for_run(run.id)
    };
    let got = s.scalars(&q).unwrap();
    assert_eq!(got.len(), 1234);
    assert!(got
        .iter()
        .enumerate()
        .all(|(i, p)| p.step == Some(i as i64) && p.value == i as f64));
    assert_eq!(s.put_scalars(run.id, &[]).unwrap(), 0);
}

fn put_scalars_is_one_transaction_and_checks_the_run(db: &Db) {
    let s = &db.store;
    let run = s.ensure_run("t", "tx", "clearml").unwrap();
    std::thread::sleep(std::time::Duration::from_millis(2));
    s.put_scalars(run.id, &[scalar("m", "", Some(1), 1, 1.0, "a")])
        .unwrap();
    let bumped = s.run_by_id("t", run.id).unwrap().unwrap();
    assert!(bumped.updated_us > run.updated_us, "updated_us bumped");
    assert_eq!(bumped.created_us, run.created_us);

    // an unknown run is refused (foreign key) and nothing is written
    let missing = run.id + 10_000;
    let err = s
        .put_scalars(missing, &[scalar("m", "", Some(1), 1, 1.0, "x")])
        .unwrap_err();
    assert!(matches!(err, StoreError::Query(_)), "{err:?}");
    assert_eq!(all_scalars(s, missing).len(), 0);
    let err = s
        .put_events(missing, &[event("log", 1, None, json!({"msg": "x"}))])
        .unwrap_err();
    assert!(matches!(err, StoreError::Query(_)), "{err:?}");
    assert_eq!(s.count_timeline(missing, None).unwrap(), 0);

    // a batch that fails part-way (its second INSERT chunk) leaves nothing behind.
    // PostgreSQL refuses NUL bytes in text, which gives a row that fails late;
    // SQLite stores them, so there the failure comes from the unknown run instead.
    let before = all_scalars(s, run.id);
    let mut big: Vec<NewScalar> = (0..700)
        .map(|i| scalar("m", "", Some(i), i, 1.0, &format!("p{i}")))
        .collect();
    let target = match s.backend() {
        Backend::Postgres => {
            big[650].metric = "bad\0metric".into();
            run.id
        }
        Backend::Sqlite => missing,
    };
    assert!(s.put_scalars(target, &big).is_err());
    assert_eq!(all_scalars(s, run.id), before);
    assert_eq!(
        s.run_by_id("t", run.id).unwrap().unwrap().updated_us,
        bumped.updated_us
    );
}

fn concurrent_writers_all_succeed(db: &Db) {
    const THREADS: i64 = 4;
    const BATCHES: i64 = 15;
    let run = db.store.ensure_run("t", "concurrent", "clearml").unwrap();
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let store = db.store.clone();
            std::thread::spawn(move || {
                for b in 0..BATCHES {
                    let points: Vec<NewScalar> = (0..20)
                        .map(|i| {
                            let step = b * 20 + i;
                            scalar(
                                &format!("w{t}"),
                                "",
                                Some(step),
                                step,
                                step as f64,
                                &format!("{t}-{step}"),
                            )
                        })
                        .collect();
                    assert_eq!(store.put_scalars(run.id, &points).unwrap(), 20);
                    let ev = event("log", b, None, json!({"t": t, "b": b}));
                    assert_eq!(store.put_events(run.id, &[ev]).unwrap(), 1);
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(
        all_scalars(&db.store, run.id).len() as i64,
        THREADS * BATCHES * 20
    );
    assert_eq!(
        db.store
            .count_timeline(run.id, Some(&["log".to_string()]))
            .unwrap(),
        THREADS * BATCHES
    );
}

fn latest_scalars_picks_the_highest_step(db: &Db) {
    let s = &db.store;
    let run = s.ensure_run("t", "latest", "clearml").unwrap();
    let noise = s.ensure_run("t", "latest-noise", "clearml").unwrap();
    s.put_scalars(noise.id, &[scalar("loss", "train", Some(99), 1, 99.0, "n")])
        .unwrap();
    let points = vec![
        // highest step wins regardless of time or insertion order
        scalar("loss", "train", Some(1), 500, 1.0, "lt1"),
        scalar("loss", "train", Some(5), 100, 5.0, "lt5"),
        scalar("loss", "train", Some(3), 900, 3.0, "lt3"),
        // equal steps: the later ts_us wins
        scalar("loss", "val", Some(2), 20, 2.2, "lv2b"),
        scalar("loss", "val", Some(2), 10, 2.1, "lv2a"),
        scalar("loss", "val", Some(1), 99, 1.0, "lv1"),
        // only NULL steps: the later ts_us wins
        scalar("acc", "", None, 5, 0.5, "a5"),
        scalar("acc", "", None, 9, 0.9, "a9"),
        // a NULL step counts lower than any step, even a negative one
        scalar("lr", "", None, 1_000, 1.0, "lrn"),
        scalar("lr", "", Some(-3), 1, -3.0, "lr-3"),
        // full tie on step and ts_us: the highest id (written last) wins
        scalar("tie", "x", Some(4), 40, 1.0, "t1"),
        scalar("tie", "x", Some(4), 40, 2.0, "t2"),
        // bytewise order of names: "Z" < "a"
        scalar("Zeta", "", Some(0), 1, 7.0, "z"),
    ];
    s.put_scalars(run.id, &points).unwrap();
    let latest = s.latest_scalars(run.id).unwrap();
    let got: Vec<(&str, &str, Option<i64>, f64, &str)> = latest
        .iter()
        .map(|p| {
            (
                p.metric.as_str(),
                p.variant.as_str(),
                p.step,
                p.value,
                p.point_key.as_str(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            ("Zeta", "", Some(0), 7.0, "z"),
            ("acc", "", None, 0.9, "a9"),
            ("loss", "train", Some(5), 5.0, "lt5"),
            ("loss", "val", Some(2), 2.2, "lv2b"),
            ("lr", "", Some(-3), -3.0, "lr-3"),
            ("tie", "x", Some(4), 2.0, "t2"),
        ]
    );
    assert!(latest.iter().all(|p| p.run_id == run.id));
    // the n latest of each series, in the same order: stepped ones from the highest step
    // down, then unstepped ones from the latest
    let recent: Vec<String> = s.recent_scalars(run.id, 2).unwrap().into_iter().map(|p| p.point_key).collect();
    assert_eq!(recent, ["z", "a9", "a5", "lt5", "lt3", "lv2b", "lv2a", "lr-3", "lrn", "t2", "t1"]);
    assert_eq!(s.max_iteration(run.id).unwrap(), Some(5));
    assert_eq!(s.max_iteration(noise.id).unwrap(), Some(99));

    // a later higher step takes over
    s.put_scalars(run.id, &[scalar("loss", "train", Some(6), 1, 6.0, "lt6")])
        .unwrap();
    let lt = s
        .latest_scalars(run.id)
        .unwrap()
        .into_iter()
        .find(|p| p.variant == "train")
        .unwrap();
    assert_eq!((lt.step, lt.value), (Some(6), 6.0));
    let empty = s.ensure_run("t", "latest-empty", "clearml").unwrap();
    assert!(s.latest_scalars(empty.id).unwrap().is_empty());
}

fn scalar_query_filters_orders_and_pages(db: &Db) {
    let s = &db.store;
    let run = s.ensure_run("t", "query", "sagemaker").unwrap();
    let other = s.ensure_run("t", "query-other", "sagemaker").unwrap();
    s.put_scalars(other.id, &[scalar("m1", "a", Some(1), 1010, 0.0, "o")])
        .unwrap();
    let mut points = Vec::new();
    for step in 0..10i64 {
        for (metric, variant) in [("m1", "a"), ("m1", "b"), ("m2", "a")] {
            let ts = 1000 + step * 10;
            let key = format!("{metric}/{variant}/{step}");
            points.push(scalar(metric, variant, Some(step), ts, step as f64, &key));
        }
    }
    // no step, and a step tie with equal ts (id decides)
    points.push(scalar("m1", "a", None, 5000, -1.0, "m1/a/none"));
    points.push(scalar("m1", "a", None, 1, -2.0, "m1/a/none-early"));
    points.push(scalar("m1", "a", Some(5), 1050, 55.0, "m1/a/5-dup"));
    s.put_scalars(run.id, &points).unwrap();

    let q = |f: &dyn Fn(&mut ScalarQuery)| {
        let mut q = ScalarQuery::for_run(run.id);
        f(&mut q);
        s.scalars(&q).unwrap()
    };
    let keys = |v: &[Scalar]| v.iter().map(|p| p.point_key.clone()).collect::<Vec<_>>();

    assert_eq!(q(&|_| {}).len(), 33);
    assert!(q(&|_| {}).iter().all(|p| p.run_id == run.id));

    // metric / variant filters
    let m1 = q(&|q| q.metrics = Some(vec!["m1".into()]));
    assert_eq!(m1.len(), 23);
    assert!(m1.iter().all(|p| p.metric == "m1"));
    let m1b = q(&|q| {
        q.metrics = Some(vec!["m1".into()]);
        q.variants = Some(vec!["b".into()]);
    });
    assert_eq!(
        keys(&m1b),
        (0..10).map(|i| format!("m1/b/{i}")).collect::<Vec<_>>()
    );
    let va = q(&|q| q.variants = Some(vec!["a".into()]));
    assert_eq!(va.len(), 23);
    assert!(va.iter().all(|p| p.variant == "a"));
    let both = q(&|q| q.metrics = Some(vec!["m2".into(), "nope".into(), "m1".into()]));
    assert_eq!(both.len(), 33);
    assert!(q(&|q| q.metrics = Some(vec![])).is_empty());
    assert!(q(&|q| q.variants = Some(vec![])).is_empty());
    assert!(
        q(&|q| q.metrics = Some(vec!["M1".into()])).is_empty(),
        "case-sensitive"
    );

    // ts range, inclusive at both ends
    let ts = q(&|q| {
        q.metrics = Some(vec!["m2".into()]);
        q.ts_from_us = Some(1020);
        q.ts_to_us = Some(1050);
    });
    assert_eq!(
        ts.iter().map(|p| p.ts_us).collect::<Vec<_>>(),
        vec![1020, 1030, 1040, 1050]
    );
    assert_eq!(q(&|q| q.ts_from_us = Some(5000)).len(), 1);
    assert_eq!(q(&|q| q.ts_to_us = Some(1)).len(), 1);
    assert!(q(&|q| {
        q.ts_from_us = Some(2000);
        q.ts_to_us = Some(1999);
    })
    .is_empty());

    // step range, inclusive; points without a step never match a bound
    let st = q(&|q| {
        q.metrics = Some(vec!["m1".into()]);
        q.variants = Some(vec!["a".into()]);
        q.step_from = Some(4);
        q.step_to = Some(6);
    });
    assert_eq!(keys(&st), vec!["m1/a/4", "m1/a/5", "m1/a/5-dup", "m1/a/6"]);
    assert_eq!(q(&|q| q.step_to = Some(0)).len(), 3);
    assert_eq!(q(&|q| q.step_from = Some(9)).len(), 3);

    // StepAsc: NULL steps first, then step, ts_us, id
    let m1a = |order| {
        q(&|q| {
            q.metrics = Some(vec!["m1".into()]);
            q.variants = Some(vec!["a".into()]);
            q.order = order;
        })
    };
    let asc = keys(&m1a(ScalarOrder::StepAsc));
    let mut want: Vec<String> = vec!["m1/a/none-early".into(), "m1/a/none".into()];
    for i in 0..10 {
        want.push(format!("m1/a/{i}"));
        if i == 5 {
            want.push("m1/a/5-dup".into()); // same step and ts, higher id
        }
    }
    assert_eq!(asc, want);
    let mut rev = want.clone();
    rev.reverse();
    assert_eq!(keys(&m1a(ScalarOrder::StepDesc)), rev);
    // TsAsc: ts_us, then id
    let mut by_ts = want.clone();
    by_ts.retain(|k| k != "m1/a/none-early" && k != "m1/a/none");
    by_ts.insert(0, "m1/a/none-early".into());
    by_ts.push("m1/a/none".into());
    assert_eq!(keys(&m1a(ScalarOrder::TsAsc)), by_ts);
    by_ts.reverse();
    assert_eq!(keys(&m1a(ScalarOrder::TsDesc)), by_ts);
    let all_ts = q(&|q| q.order = ScalarOrder::TsAsc);
    assert!(all_ts
        .windows(2)
        .all(|w| (w[0].ts_us, w[0].id) < (w[1].ts_us, w[1].id)));
    let all_step_desc = q(&|q| q.order = ScalarOrder::StepDesc);
    assert_eq!(all_step_desc[0].step, Some(9));
    assert_eq!(all_step_desc.last().unwrap().step, None);

    // offset / limit pages add up to the whole, in order
    let full = q(&|q| q.order = ScalarOrder::StepAsc);
    for size in [1i64, 4, 7, 33, 50] {
        let mut paged = Vec::new();
        let mut offset = 0;
        loop {
            let page = q(&|q| {
                q.offset = offset;
                q.limit = Some(size);
            });
            assert!(page.len() as i64 <= size);
            if page.is_empty() {
                break;
            }
            offset += page.len() as i64;
            paged.extend(page);
        }
        assert_eq!(paged, full, "page size {size}");
    }
    assert_eq!(
        q(&|q| q.offset = 30),
        full[30..].to_vec(),
        "offset without limit"
    );
    assert!(q(&|q| q.limit = Some(0)).is_empty());
    assert!(q(&|q| q.offset = 33).is_empty());
    assert_eq!(q(&|q| q.limit = Some(2)), full[..2].to_vec());
}

fn events_upsert_by_key_and_keep_unkeyed(db: &Db) {
    let s = &db.store;
    let run = s.ensure_run("t", "events", "clearml").unwrap();
    let batch = vec![
        event("image", 100, Some("img/1"), json!({"url": "a.png"})),
        event("plot", 100, Some("img/1"), json!({"plot": 1})), // same key, other type
        event("log", 110, None, json!({"msg": "hello"})),
        event("log", 110, None, json!({"msg": "hello"})), // identical, still two rows
    ];
    assert_eq!(s.put_events(run.id, &batch).unwrap(), 4);

    let items = |types: &[&str]| {
        let types: Vec<String> = types.iter().map(|t| t.to_string()).collect();
        s.timeline(&TimelineQuery {
            run_id: run.id,
            types: Some(types),
            limit: 100,
            ..Default::default()
        })
        .unwrap()
        .into_iter()
        .map(|i| match i {
            TimelineItem::Event(e) => e,
            other => panic!("unexpected {other:?}"),
        })
        .collect::<Vec<_>>()
    };
    let images = items(&["image"]);
    assert_eq!(images.len(), 1);
    let img_id = images[0].id;
    assert_eq!(images[0].payload, obj(json!({"url": "a.png"})));
    assert_eq!(images[0].point_key.as_deref(), Some("img/1"));
    assert_eq!(
        (
            images[0].metric.as_str(),
            images[0].variant.as_str(),
            images[0].iter
        ),
        ("m", "v", Some(10))
    );
    let logs = items(&["log"]);
    assert_eq!(logs.len(), 2);
    assert!(logs
        .iter()
        .all(|l| l.point_key.is_none() && l.payload == obj(json!({"msg": "hello"}))));
    assert_ne!(logs[0].id, logs[1].id);

    // re-send: keyed overwrites in place, unkeyed adds
    let mut resent = event("image", 120, Some("img/1"), json!({"url": "b.png", "w": 2}));
    resent.metric = "m2".into();
    resent.variant = "v2".into();
    resent.iter = None;
    let batch2 = vec![resent, event("log", 130, None, json!({"msg": "hello"}))];
    assert_eq!(s.put_events(run.id, &batch2).unwrap(), 2);
    let images = items(&["image"]);
    assert_eq!(images.len(), 1);
    assert_eq!(images[0].id, img_id);
    assert_eq!(images[0].payload, obj(json!({"url": "b.png", "w": 2})));
    assert_eq!(
        (images[0].metric.as_str(), images[0].variant.as_str()),
        ("m2", "v2")
    );
    assert_eq!((images[0].iter, images[0].ts_us), (None, 120));
    assert_eq!(
        items(&["plot"])[0].payload,
        obj(json!({"plot": 1})),
        "other type untouched"
    );
    assert_eq!(items(&["log"]).len(), 3);

    // repeated key within one batch: last wins; order of the rest is the input order
    let batch3 = vec![
        event("vector", 200, Some("vec"), json!({"v": [1]})),
        event("log", 200, None, json!({"n": 1})),
        event("vector", 200, Some("vec"), json!({"v": [2]})),
        event("log", 200, None, json!({"n": 2})),
    ];
    assert_eq!(s.put_events(run.id, &batch3).unwrap(), 3);
    let vecs = items(&["vector"]);
    assert_eq!(vecs.len(), 1);
    assert_eq!(vecs[0].payload, obj(json!({"v": [2]})));
    let at200: Vec<Value> = items(&["log", "vector"])
        .into_iter()
        .filter(|e| e.ts_us == 200)
        .map(|e| Value::Object(e.payload))
        .collect();
    assert_eq!(
        at200,
        vec![json!({"n": 1}), json!({"v": [2]}), json!({"n": 2})]
    );
    assert_eq!(s.put_events(run.id, &[]).unwrap(), 0);
    assert_eq!(s.count_timeline(run.id, None).unwrap(), 8);
}

/// A run with scalars and events sharing timestamps; returns its id.
fn timeline_fixture(s: &Store, uid: &str) -> i64 {
    let run = s.ensure_run("t", uid, "clearml").unwrap();
    let mut points = Vec::new();
    let mut events = Vec::new();
    // many items on few timestamps, both kinds, interleaved writes
    for round in 0..3 {
        for (i, ts) in [100, 100, 100, 200, 300, 300, 50].into_iter().enumerate() {
            let n = round * 10 + i as i64;
            points.push(scalar("loss", "", Some(n), ts, n as f64, &format!("s{n}")));
            if i % 2 == 0 {
                events.push(event("log", ts, None, json!({ "n": n })));
            }
            if i == 1 {
                events.push(event("plot", ts, Some(&format!("p{n}")), json!({ "n": n })));
            }
        }
        s.put_scalars(run.id, &points).unwrap();
        s.put_events(run.id, &events).unwrap();
        points.clear();
        events.clear();
    }
    run.id
}

fn key_of(item: &TimelineItem) -> (i64, u8, i64) {
    let c = item.cursor();
    (c.ts_us, c.kind, c.id)
}

fn page_through(
    s: &Store,
    run_id: i64,
    types: Option<Vec<String>>,
    descending: bool,
    size: i64,
) -> Vec<TimelineItem> {
    let mut out: Vec<TimelineItem> = Vec::new();
    let mut after = None;
    for _ in 0..1000 {
        let q = TimelineQuery {
            run_id,
            types: types.clone(),
            descending,
            after,
            limit: size,
        };
        let page = s.timeline(&q).unwrap();
        assert!(page.len() as i64 <= size);
        let Some(last) = page.last() else { return out };
        // the cursor survives a trip through JSON (as in a scroll id)
        let text = serde_json::to_string(&last.cursor()).unwrap();
        after = Some(serde_json::from_str::<TimelineCursor>(&text).unwrap());
        out.extend(page);
    }
    panic!("paging did not terminate");
}

fn timeline_merges_and_pages_every_item_once(db: &Db) {
    let s = &db.store;
    let run_id = timeline_fixture(s, "timeline");
    let noise = timeline_fixture(s, "timeline-noise");

    // expected: every scalar and event of the run, sorted by (ts_us, kind, id)
    let scalars = all_scalars(s, run_id);
    assert_eq!(scalars.len(), 21);
    let mut expected: Vec<(i64, u8, i64)> = scalars.iter().map(|p| (p.ts_us, 0, p.id)).collect();
    let full = s
        .timeline(&TimelineQuery {
            run_id,
            limit: 1000,
            ..Default::default()
        })
        .unwrap();
    let events: Vec<_> = full
        .iter()
        .filter_map(|i| match i {
            TimelineItem::Event(e) => Some(e.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(events.len(), 15, "4 logs + 1 plot per round");
    assert!(events.iter().all(|e| e.run_id == run_id));
    expected.extend(events.iter().map(|e| (e.ts_us, 1, e.id)));
    expected.sort();
    let got: Vec<_> = full.iter().map(key_of).collect();
    assert_eq!(got, expected);
    assert_eq!(full.first().unwrap().ts_us(), 50);
    assert_eq!(full.last().unwrap().ts_us(), 300);
    // at one timestamp, scalars (kind 0) come before events (kind 1)
    let at100: Vec<u8> = full
        .iter()
        .filter(|i| i.ts_us() == 100)
        .map(|i| i.cursor().kind)
        .collect();
    assert_eq!(at100, [vec![0u8; 9], vec![1u8; 9]].concat());

    let desc = s
        .timeline(&TimelineQuery {
            run_id,
            descending: true,
            limit: 1000,
            ..Default::default()
        })
        .unwrap();
    let mut reversed = expected.clone();
    reversed.reverse();
    assert_eq!(desc.iter().map(key_of).collect::<Vec<_>>(), reversed);

    // paging visits every item exactly once, in order, whatever the page size
    for size in [1, 2, 3, 5, 8, 9, 35, 36, 100] {
        let asc = page_through(s, run_id, None, false, size);
        assert_eq!(
            asc.iter().map(key_of).collect::<Vec<_>>(),
            expected,
            "asc, page {size}"
        );
        let desc = page_through(s, run_id, None, true, size);
        assert_eq!(
            desc.iter().map(key_of).collect::<Vec<_>>(),
            reversed,
            "desc, page {size}"
        );
    }
    // the first page is the head of the order
    let head = s
        .timeline(&TimelineQuery {
            run_id,
            limit: 4,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(
        head.iter().map(key_of).collect::<Vec<_>>(),
        expected[..4].to_vec()
    );

    // resume from any item, in both directions
    for (i, k) in expected.iter().enumerate() {
        let after = Some(TimelineCursor {
            ts_us: k.0,
            kind: k.1,
            id: k.2,
        });
        let rest = s
            .timeline(&TimelineQuery {
                run_id,
                after,
                limit: 1000,
                ..Default::default()
            })
            .unwrap();
        assert_eq!(
            rest.iter().map(key_of).collect::<Vec<_>>(),
            expected[i + 1..].to_vec()
        );
        let before = s
            .timeline(&TimelineQuery {
                run_id,
                after,
                descending: true,
                limit: 1000,
                ..Default::default()
            })
            .unwrap();
        let mut want = expected[..i].to_vec();
        want.reverse();
        assert_eq!(before.iter().map(key_of).collect::<Vec<_>>(), want);
    }
    // a cursor that is no item: between timestamps
    let after = Some(TimelineCursor {
        ts_us: 150,
        kind: 1,
        id: i64::MAX,
    });
    let rest = s
        .timeline(&TimelineQuery {
            run_id,
            after,
            limit: 1000,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(rest.len(), expected.iter().filter(|k| k.0 > 150).count());
    assert!(rest.iter().all(|i| i.ts_us() > 150));
    let after = Some(TimelineCursor {
        ts_us: 100,
        kind: 0,
        id: i64::MAX,
    }); // past all scalars at 100
    let rest = s
        .timeline(&TimelineQuery {
            run_id,
            after,
            limit: 1000,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(rest[0].ts_us(), 100);
    assert_eq!(rest[0].cursor().kind, 1);
    assert_eq!(
        rest.len(),
        expected.iter().filter(|k| (k.0, k.1) > (100, 0)).count()
    );

    assert!(s
        .timeline(&TimelineQuery {
            run_id,
            limit: 0,
            ..Default::default()
        })
        .unwrap()
        .is_empty());
    assert_eq!(s.count_timeline(run_id, None).unwrap(), 36);
    assert_eq!(s.count_timeline(noise, None).unwrap(), 36);
}

fn timeline_type_filter_and_count(db: &Db) {
    let s = &db.store;
    let run_id = timeline_fixture(s, "timeline-types");
    let types = |t: &[&str]| Some(t.iter().map(|x| x.to_string()).collect::<Vec<_>>());

    let only_scalars = page_through(s, run_id, types(&[SCALAR_EVENT_TYPE]), false, 4);
    assert_eq!(only_scalars.len(), 21);
    assert!(only_scalars
        .iter()
        .all(|i| matches!(i, TimelineItem::Scalar(_))));
    assert!(only_scalars
        .iter()
        .all(|i| i.event_type() == SCALAR_EVENT_TYPE));
    assert!(only_scalars
        .windows(2)
        .all(|w| key_of(&w[0]) < key_of(&w[1])));

    let logs = page_through(s, run_id, types(&["log"]), true, 5);
    assert_eq!(logs.len(), 12);
    assert!(logs.iter().all(|i| i.event_type() == "log"));
    assert!(logs.windows(2).all(|w| key_of(&w[0]) > key_of(&w[1])));

    let mixed = page_through(s, run_id, types(&["plot", SCALAR_EVENT_TYPE]), false, 3);
    assert_eq!(mixed.len(), 24);
    assert!(mixed
        .iter()
        .all(|i| ["plot", SCALAR_EVENT_TYPE].contains(&i.event_type())));
    assert!(mixed.windows(2).all(|w| key_of(&w[0]) < key_of(&w[1])));

    assert!(page_through(s, run_id, types(&[]), false, 3).is_empty());
    assert!(page_through(s, run_id, types(&["image"]), false, 3).is_empty());

    let count = |t: Option<Vec<String>>| s.count_timeline(run_id, t.as_deref()).unwrap();
    assert_eq!(count(None), 36);
    assert_eq!(count(types(&[SCALAR_EVENT_TYPE])), 21);
    assert_eq!(count(types(&["log"])), 12);
    assert_eq!(count(types(&["log", "plot"])), 15);
    assert_eq!(count(types(&["plot", SCALAR_EVENT_TYPE])), 24);
    assert_eq!(count(types(&[])), 0);
    assert_eq!(count(types(&["image"])), 0);
}

fn extra_and_payload_json_round_trip(db: &Db) {
    let s = &db.store;
    let run = s.ensure_run("t", "json", "clearml").unwrap();
    let rich = json!({
        "zeta": 1,
        "alpha": {"nested": [1, 2.5, -0.125, null, true, false, "x"], "empty": {}},
        "big": i64::MAX,
        "bigger": u64::MAX,
        "neg": i64::MIN,
        "float": 0.1,
        "tiny": 1e-300,
        "unicode": "ünïcødé ✓ \u{0} \"quoted\" \\ 日本",
        "list": [],
        "": "empty key"
    });
    let rich = obj(rich);
    let mut with_extra = scalar("m", "", Some(1), 1, 1.0, "rich");
    with_extra.extra = Some(rich.clone());
    let mut empty_extra = scalar("m", "", Some(2), 2, 2.0, "empty");
    empty_extra.extra = Some(Map::new());
    let no_extra = scalar("m", "", Some(3), 3, 3.0, "none");
    s.put_scalars(run.id, &[with_extra, empty_extra, no_extra])
        .unwrap();
    s.put_events(
        run.id,
        &[event("plot", 10, Some("p"), Value::Object(rich.clone()))],
    )
    .unwrap();
    s.put_events(run.id, &[event("log", 11, None, json!({}))])
        .unwrap();

    let got = all_scalars(s, run.id);
    assert_eq!(got[0].extra.as_ref(), Some(&rich));
    // key order is kept as written
    let keys: Vec<&String> = got[0].extra.as_ref().unwrap().keys().collect();
    assert_eq!(keys, rich.keys().collect::<Vec<_>>());
    assert_eq!(keys[0], "zeta");
    assert_eq!(got[0].extra.as_ref().unwrap()["bigger"], json!(u64::MAX));
    assert_eq!(got[1].extra, Some(Map::new()));
    assert_eq!(got[2].extra, None);

    let items = s
        .timeline(&TimelineQuery {
            run_id: run.id,
            limit: 10,
            ..Default::default()
        })
        .unwrap();
    let events: Vec<_> = items
        .into_iter()
        .filter_map(|i| match i {
            TimelineItem::Event(e) => Some(e),
            _ => None,
        })
        .collect();
    assert_eq!(events.len(), 2);
    assert_eq!(events[0].payload, rich);
    assert_eq!(
        serde_json::to_string(&events[0].payload).unwrap(),
        serde_json::to_string(&rich).unwrap(),
        "byte-identical including key order"
    );
    assert_eq!(events[1].payload, Map::new());
    let latest = s.latest_scalars(run.id).unwrap();
    assert_eq!(latest.len(), 1);
    assert_eq!(latest[0].point_key, "none");
    assert_eq!(latest[0].extra, None);
}

// ---------------------------------------------------------------- SQLite-only

#[test]
fn sqlite_url_forms_and_pragmas() {
    let path = testdb::fresh_sqlite_path();
    let dir = path.parent().unwrap().to_path_buf();
    let p = path.to_str().unwrap();

    let plain = Store::open(p).unwrap();
    let run = plain.ensure_run("t", "u", "clearml").unwrap();
    plain
        .put_scalars(run.id, &[scalar("m", "", Some(1), 1, 1.0, "k")])
        .unwrap();
    // the same file through the other spellings
    for url in [
        format!("sqlite://{p}"),
        format!("sqlite:{p}"),
        format!("file:{p}"),
    ] {
        let s = Store::open(&url).unwrap_or_else(|e| panic!("{url}: {e}"));
        assert_eq!(s.backend(), Backend::Sqlite);
        assert_eq!(
            s.run_by_uid("t", "u").unwrap().map(|r| r.id),
            Some(run.id),
            "{url}"
        );
        assert_eq!(all_scalars(&s, run.id).len(), 1);
    }
    // WAL is on (persistent in the file) and a WAL file sits next to the database
    #[derive(QueryableByName)]
    struct Mode {
        #[diesel(sql_type = diesel::sql_types::Text)]
        journal_mode: String,
    }
    let mode: Vec<Mode> = diesel::sql_query("PRAGMA journal_mode")
        .load(&mut SqliteConnection::establish(p).unwrap())
        .unwrap();
    assert_eq!(mode[0].journal_mode, "wal");
    assert!(dir.join("store.db-wal").exists());

    // a missing directory is created
    let nested = dir.join("a/b/c.db");
    let s = Store::open(nested.to_str().unwrap()).unwrap();
    s.ensure_run("t", "x", "lens").unwrap();
    assert!(nested.exists());
    drop((plain, s));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bad_urls_are_refused() {
    for url in [
        "",
        "   ",
        "mysql://root@localhost/db",
        ":memory:",
        "sqlite://:memory:",
        "file::memory:",
        "sqlite://",
    ] {
        match Store::open(url) {
            Err(StoreError::InvalidUrl(_)) => {}
            other => panic!("{url:?}: expected InvalidUrl, got {other:?}"),
        }
    }
    // nothing listens on port 1: a connection error, at once
    let started = std::time::Instant::now();
    match Store::open("postgres://postgres@127.0.0.1:1/nope") {
        Err(StoreError::Connection(_)) => {}
        other => panic!("expected Connection error, got {other:?}"),
    }
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
}

#[test]
fn postgres_is_available_or_skipped_explicitly() {
    match testdb::probe_postgres() {
        Ok(url) => {
            assert_eq!(testdb::postgres_admin_url(), Some(url.clone()));
            let db = testdb::fresh_postgres_database(&url).unwrap();
            assert!(db.contains("/specmill_t_"), "{db}");
            let other = testdb::fresh_postgres_database(&url).unwrap();
            assert_ne!(db, other);
            testdb::drop_postgres_database(&url, &db).unwrap();
            testdb::drop_postgres_database(&url, &other).unwrap();
            // dropped: connecting now fails
            assert!(PgConnection::establish(&db).is_err());
        }
        Err(reason) if ci() => panic!("PostgreSQL is required when CI is set: {reason}"),
        Err(reason) => skip_postgres(&reason),
    }
}
