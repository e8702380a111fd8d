//! PostgreSQL stopped and started again under load (on a private PostgreSQL server, so the
//! shared one stays up for every other test): while it is down every API answers its own
//! 503, which its clients retry; once it is back the server reconnects by itself; and no
//! acknowledged point is lost or doubled (a retried batch overwrites by each API's identity).

mod common;

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::ingest::{self, Api};
use common::pg_cluster::Cluster;
use common::Server;
use serde_json::json;
use specmill_runtime::store::testdb;

/// Readers through four APIs' read routes during the whole run: each reply is a success or
/// the API's native 503. Returns the count of 503s seen.
fn spawn_readers(base: &str, targets: &[ingest::Target], stop: &Arc<AtomicBool>, unavailable: &Arc<AtomicUsize>) -> Vec<std::thread::JoinHandle<()>> {
    targets
        .iter()
        .filter(|t| t.api != Api::SageMaker)
        .map(|t| {
            let (base, t, stop, unavailable) = (base.to_string(), t.clone(), stop.clone(), unavailable.clone());
            std::thread::spawn(move || {
                let agent = ureq::AgentBuilder::new().timeout(Duration::from_secs(30)).build();
                while !stop.load(Ordering::Relaxed) {
                    let req = match t.api {
                        Api::ClearMl => agent.post(&format!("{base}/events.get_task_latest_scalar_values")).send_json(json!({"task": t.uid})),
                        Api::Dioptra => agent.get(&format!("{base}/api/v1/jobs/{}/metrics", t.route_id)).call(),
                        Api::Lens => agent.get(&format!("{base}/v1/workloads/{}/metrics/available", t.uid)).call(),
                        Api::Comet => agent.get(&format!("{base}/api/rest/v2/experiment/metrics/get-all?experimentKey={}", t.route_id)).call(),
                        Api::SageMaker => unreachable!(),
                    };
                    match req {
                        Ok(r) => assert_eq!(r.status(), 200),
                        Err(ureq::Error::Status(status, r)) => {
                            let error_type = r.header("x-amzn-ErrorType").map(str::to_string);
                            let text = r.into_string().unwrap();
                            assert_eq!(status, 503, "{:?} read answered {status}: {text}", t.api);
                            ingest::assert_unavailable(t.api, error_type.as_deref(), &text);
                            unavailable.fetch_add(1, Ordering::SeqCst);
                        }
                        Err(e) => panic!("{:?} read: {e}", t.api),
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
            })
        })
        .collect()
}

/// Waits until `acked` has grown by `more` points since `from`, or panics after a minute.
fn wait_for_acks(acked: &ingest::Acked, from: usize, more: usize, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while acked.total() < from + more {
        assert!(Instant::now() < deadline, "{what}: only {} of {more} more points acknowledged in a minute", acked.total() - from);
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn postgres_restarts_under_load_lose_nothing() {
    let Some(cluster) = Cluster::start() else { return };
    let url = testdb::fresh_postgres_database(&cluster.admin_url()).expect("a database on the private server");
    let mut s = Server::start_on(&url);
    let targets = ingest::targets(&s, "restarted");
    let (acked, next_step, stop) = (Arc::new(ingest::Acked::default()), Arc::new(AtomicI64::new(0)), Arc::new(AtomicBool::new(false)));
    let read_503s = Arc::new(AtomicUsize::new(0));
    let mut threads = ingest::spawn_writers(&s.base, &targets, 2, &next_step, &acked, &stop, true);
    wait_for_acks(&acked, 0, 300, "before the first restart");
    // (once the writes have made every run)
    threads.extend(spawn_readers(&s.base, &targets, &stop, &read_503s));
    // two operator restarts (fast shutdown) and one crash (immediate: WAL recovery)
    for (round, crash) in [(1, false), (2, true), (3, false)] {
        let (before, write_503s) = (acked.total(), acked.unavailable.load(Ordering::SeqCst));
        if crash {
            cluster.crash();
        } else {
            cluster.stop();
        }
        // longer than the 3 s a read waits for a pooled connection, so reads meet the outage too
        std::thread::sleep(Duration::from_millis(4000));
        let down = acked.unavailable.load(Ordering::SeqCst) - write_503s;
        assert_eq!(s.exited(), None, "round {round}: the server exited while PostgreSQL was down");
        assert!(down > 0, "round {round}: no write was answered 503 while PostgreSQL was down");
        cluster.start_again();
        wait_for_acks(&acked, before, 300, &format!("after restart {round}"));
        eprintln!("restart {round} ({}): {down} writes answered 503 while down; writes acknowledged again after it", if crash { "immediate" } else { "fast" });
    }
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        t.join().unwrap();
    }
    let store = s.store();
    let checked = ingest::check(&store, &targets, &acked);
    for api in ingest::APIS {
        assert!(acked.steps.lock().unwrap().get(&api).is_some_and(|s| !s.is_empty()), "{api:?} acknowledged nothing");
    }
    let (writes, reads) = (acked.unavailable.load(Ordering::SeqCst), read_503s.load(Ordering::SeqCst));
    assert!(reads > 0, "no read was answered 503 while PostgreSQL was down");
    eprintln!("3 PostgreSQL restarts under load: {checked} acknowledged points checked, none lost or doubled; {writes} write and {reads} read 503s, all in each API's native format");
    drop(s);
}
