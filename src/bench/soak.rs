//! `specmill soak`: a bounded run of mixed writes and reads at a steady rate against a
//! server child on a fresh store (loopback only), sampling the server's memory, open files
//! and threads and the request latencies window by window. It fails on any error reply,
//! on a crash, and on growth: memory, open files or latency that keep climbing once the
//! server has warmed up. Connections to the database server are counted apart from the
//! open files: the connection pool opens more of them when every one is busy (up to its
//! size), which is bounded, not a leak.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;

use super::http::Client;
use super::ingest::{self, Api, Writer};
use super::process::{status_bytes, ServerChild};
use super::report::Latencies;
use super::stores::{Backend, FreshStore};

/// What to run.
#[derive(Debug, Clone)]
pub struct Options {
    pub backend: Backend,
    pub duration: Duration,
    /// Points written per second over all APIs (paced; the figure reached is reported).
    pub points_per_s: f64,
    /// Reads per second over all read kinds.
    pub reads_per_s: f64,
    /// Samples taken over the run (one per window).
    pub windows: usize,
    pub postgres_url: String,
}

/// Share of the write rate per API (ClearML batches of 1000, SageMaker of 10, the others
/// one point per request).
const SHARES: [(Api, f64); 4] = [(Api::Clearml, 0.4), (Api::Sagemaker, 0.2), (Api::Dioptra, 0.2), (Api::Comet, 0.2)];
/// Paced writer threads per single-point API (each request waits for its commit).
const SINGLE_POINT_THREADS: usize = 16;
/// Windows at the start that are warm-up (caches filling, pools opening): not compared.
const WARM_UP: f64 = 0.2;
/// Growth allowed between the first and last quarter after warm-up.
const RSS_FACTOR: f64 = 1.25;
const RSS_SLACK: u64 = 16 << 20;
const FD_SLACK: u64 = 8;
const LATENCY_FACTOR: f64 = 2.0;
const LATENCY_SLACK_MS: f64 = 50.0;

/// One window's counts.
#[derive(Debug, Default, Clone)]
struct Counts {
    writes: u64,
    points: u64,
    reads: u64,
    errors: u64,
    write_latencies: Latencies,
    read_latencies: Latencies,
    /// Read latencies per read kind (index into the read list).
    read_kinds: Vec<Latencies>,
}

/// What was sampled at the end of a window.
#[derive(Debug, Clone)]
pub struct Sample {
    pub at: Duration,
    pub rss: u64,
    /// Open files other than connections to the database server.
    pub fds: u64,
    /// Connections to the database server (the pool grows to its size under load, so they
    /// are not counted in `fds`: a bounded pool is not a leak).
    pub db_conns: u64,
    pub threads: u64,
    pub points: u64,
    pub reads: u64,
    pub errors: u64,
    pub write_p99_ms: f64,
    pub read_p99_ms: f64,
    /// Median latency of each read kind in the window.
    pub read_p50_by_kind_ms: Vec<f64>,
}

/// The run's samples and verdict.
#[derive(Debug)]
pub struct Report {
    pub samples: Vec<Sample>,
    pub problems: Vec<String>,
    pub error_messages: Vec<String>,
    pub points: u64,
    pub reads: u64,
    pub errors: u64,
    pub elapsed: Duration,
    /// The reads, by kind (`METHOD path`).
    pub read_kinds: Vec<String>,
}

/// The process's open files: (all but its TCP connections to `db_port`, those connections).
fn open_files(pid: u32, db_port: Option<u16>) -> (u64, u64) {
    let links: Vec<String> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| d.filter_map(|e| std::fs::read_link(e.ok()?.path()).ok()).map(|p| p.display().to_string()).collect())
        .unwrap_or_default();
    let db_sockets = db_port.map(|port| db_socket_inodes(pid, port)).unwrap_or_default();
    let db = links.iter().filter(|l| l.strip_prefix("socket:[").and_then(|r| r.strip_suffix(']')).is_some_and(|i| db_sockets.contains(i))).count();
    ((links.len() - db) as u64, db as u64)
}

/// Inodes of the process's TCP sockets whose remote port is `port` (`/proc/<pid>/net/tcp*`:
/// `rem_address` is `HEXIP:HEXPORT`, the inode is the tenth column).
fn db_socket_inodes(pid: u32, port: u16) -> std::collections::HashSet<String> {
    let mut inodes = std::collections::HashSet::new();
    for table in ["tcp", "tcp6"] {
        let text = std::fs::read_to_string(format!("/proc/{pid}/net/{table}")).unwrap_or_default();
        for line in text.lines().skip(1) {
            let cols: Vec<&str> = line.split_whitespace().collect();
            let remote_port = cols.get(2).and_then(|a| a.rsplit(':').next()).and_then(|p| u16::from_str_radix(p, 16).ok());
            if let (Some(p), Some(inode)) = (remote_port, cols.get(9)) {
                if p == port {
                    inodes.insert(inode.to_string());
                }
            }
        }
    }
    inodes
}

/// The port of a PostgreSQL URL (5432 when it names none); None for SQLite.
fn db_port(url: &str) -> Option<u16> {
    let rest = url.strip_prefix("postgres://").or_else(|| url.strip_prefix("postgresql://"))?;
    let authority = rest.split(['/', '?']).next().unwrap_or("");
    let host = authority.rsplit('@').next().unwrap_or("");
    Some(host.rsplit_once(':').and_then(|(_, p)| p.parse().ok()).unwrap_or(5432))
}

fn threads(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status.lines().find_map(|l| l.strip_prefix("Threads:")).and_then(|v| v.trim().parse().ok()).unwrap_or(0)
}

/// Runs the soak; the report says what was seen and what failed.
pub fn run(opts: &Options) -> anyhow::Result<Report> {
    let store = match opts.backend {
        Backend::Sqlite => FreshStore::sqlite()?,
        Backend::Postgres => FreshStore::postgres(&opts.postgres_url)?,
    };
    let mut server = ServerChild::start(&store.url)?;
    let base = server.base.clone();
    let pid = server.pid();
    let experiment = ingest::dioptra_experiment(&base, "soak").map_err(anyhow::Error::msg)?;
    let window = Arc::new(Mutex::new(Counts::default()));
    let messages = Arc::new(Mutex::new(Vec::<String>::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let record_error = {
        let messages = messages.clone();
        move |e: String| {
            let mut m = messages.lock().unwrap();
            if m.len() < 5 {
                m.push(e);
            }
        }
    };

    // writers, each paced to its share of the point rate
    let mut handles = Vec::new();
    let mut keys = Vec::new();
    for (api, share) in SHARES {
        let threads = if api.points_per_request() == 1 { SINGLE_POINT_THREADS } else { 1 };
        let requests_per_s = opts.points_per_s * share / api.points_per_request() as f64 / threads as f64;
        for i in 0..threads {
            let mut w = Writer::new(&base, api, "soak", i, Some(experiment)).map_err(anyhow::Error::msg)?;
            keys.push((api, w.key()));
            let (window, stop, record_error) = (window.clone(), stop.clone(), record_error.clone());
            let every = Duration::from_secs_f64(1.0 / requests_per_s.max(1e-3));
            handles.push(std::thread::spawn(move || {
                let mut next = Instant::now();
                while !stop.load(Ordering::Relaxed) {
                    let t = Instant::now();
                    let result = w.send();
                    let took = t.elapsed();
                    let mut c = window.lock().unwrap();
                    c.writes += 1;
                    c.write_latencies.push(took);
                    match result {
                        Ok(n) => c.points += n,
                        Err(e) => {
                            c.errors += 1;
                            drop(c);
                            record_error(e);
                        }
                    }
                    next += every;
                    pace(next, &stop);
                }
            }));
        }
    }

    // readers: the reads a dashboard makes of live runs, each of a bounded cost
    let key = |api: Api| keys.iter().find(|(a, _)| *a == api).map(|(_, k)| k.clone()).expect("a writer per API");
    let (task, job, experiment_key) = (key(Api::Clearml), key(Api::Dioptra), key(Api::Comet));
    let reads: Vec<(&'static str, String, Option<String>)> = vec![
        ("POST", "/events.get_task_latest_scalar_values".into(), Some(serde_json::json!({"task": task}).to_string())),
        ("POST", "/events.scalar_metrics_iter_histogram".into(), Some(serde_json::json!({"task": task, "samples": 500}).to_string())),
        ("GET", format!("/v1/workloads/{task}/metrics/data?metrics=metric_1/train"), None),
        ("GET", format!("/api/v1/jobs/{job}/metrics"), None),
        ("GET", format!("/api/rest/v2/experiment/metrics/summary?experimentKey={experiment_key}"), None),
    ];
    let reader_threads = 2;
    for r in 0..reader_threads {
        let (window, stop, record_error, reads, base) = (window.clone(), stop.clone(), record_error.clone(), reads.clone(), base.clone());
        let every = Duration::from_secs_f64(reader_threads as f64 / opts.reads_per_s.max(1e-3));
        handles.push(std::thread::spawn(move || {
            let client = Client::new(&base);
            let mut next = Instant::now();
            let mut i = r;
            while !stop.load(Ordering::Relaxed) {
                let (method, path, body) = &reads[i % reads.len()];
                i += 1;
                let path = if path.contains("metrics/data") {
                    // the last ten seconds, as a live chart asks
                    let now_ms = specmill_runtime::store::now_us() / 1000;
                    format!("{path}&start={}&end={now_ms}", now_ms - 10_000)
                } else {
                    path.clone()
                };
                let t = Instant::now();
                let result = client.send(method, &path, "application/json", body.as_deref());
                let took = t.elapsed();
                let mut c = window.lock().unwrap();
                c.reads += 1;
                c.read_latencies.push(took);
                let kind = (i - 1) % reads.len();
                if c.read_kinds.len() <= kind {
                    c.read_kinds.resize(kind + 1, Latencies::default());
                }
                c.read_kinds[kind].push(took);
                if let Err(e) = result {
                    c.errors += 1;
                    drop(c);
                    record_error(e);
                }
                next += every;
                pace(next, &stop);
            }
        }));
    }

    // sample at the end of every window
    let started = Instant::now();
    let mut samples = Vec::new();
    let mut total = Counts::default();
    let mut problems = Vec::new();
    let step = opts.duration / opts.windows.max(1) as u32;
    for k in 1..=opts.windows.max(1) {
        let until = started + step * k as u32;
        while Instant::now() < until {
            std::thread::sleep(Duration::from_millis(50).min(until.saturating_duration_since(Instant::now())));
        }
        if let Err(e) = server.check_alive() {
            problems.push(e.to_string());
            break;
        }
        let c = std::mem::take(&mut *window.lock().unwrap());
        let (fds, db_conns) = open_files(pid, db_port(&store.url));
        samples.push(Sample {
            at: started.elapsed(),
            rss: status_bytes(pid, "VmRSS").unwrap_or(0),
            fds,
            db_conns,
            threads: threads(pid),
            points: c.points,
            reads: c.reads,
            errors: c.errors,
            write_p99_ms: c.write_latencies.percentile_ms(0.99).unwrap_or(0.0),
            read_p99_ms: c.read_latencies.percentile_ms(0.99).unwrap_or(0.0),
            read_p50_by_kind_ms: c.read_kinds.iter().map(|l| l.percentile_ms(0.5).unwrap_or(0.0)).collect(),
        });
        total.points += c.points;
        total.reads += c.reads;
        total.errors += c.errors;
    }
    stop.store(true, Ordering::Relaxed);
    for h in handles {
        h.join().map_err(|_| anyhow::anyhow!("a soak client panicked"))?;
    }
    let elapsed = started.elapsed();
    server.check_alive().context("after the soak")?;
    if total.errors > 0 {
        problems.push(format!("{} requests failed", total.errors));
    }
    problems.extend(growth(&samples));
    let error_messages = messages.lock().unwrap().clone();
    let read_kinds = reads.iter().map(|(m, p, _)| format!("{m} {}", p.split('?').next().unwrap_or(p))).collect();
    Ok(Report { samples, problems, error_messages, points: total.points, reads: total.reads, errors: total.errors, elapsed, read_kinds })
}

/// Sleeps until `next` (or returns at once when behind), waking for `stop`.
fn pace(next: Instant, stop: &AtomicBool) {
    while !stop.load(Ordering::Relaxed) {
        let left = next.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return;
        }
        std::thread::sleep(left.min(Duration::from_millis(100)));
    }
}

/// Compares the first and the last quarter of the windows after warm-up.
fn growth(samples: &[Sample]) -> Vec<String> {
    let warm = ((samples.len() as f64 * WARM_UP).ceil() as usize).min(samples.len());
    let steady = &samples[warm..];
    if steady.len() < 4 {
        return vec![format!("only {} windows after warm-up: run longer to judge growth", steady.len())];
    }
    let q = steady.len() / 4;
    let (first, last) = (&steady[..q], &steady[steady.len() - q..]);
    let max = |s: &[Sample], f: fn(&Sample) -> f64| s.iter().map(f).fold(0.0, f64::max);
    let mean = |s: &[Sample], f: fn(&Sample) -> f64| s.iter().map(f).sum::<f64>() / s.len() as f64;
    let mut problems = Vec::new();
    let (rss0, rss1) = (max(first, |s| s.rss as f64), mean(last, |s| s.rss as f64));
    if rss1 > rss0 * RSS_FACTOR + RSS_SLACK as f64 {
        problems.push(format!("memory grew: {:.1} MiB after warm-up, {:.1} MiB at the end", rss0 / 1048576.0, rss1 / 1048576.0));
    }
    let (fd0, fd1) = (max(first, |s| s.fds as f64), max(last, |s| s.fds as f64));
    if fd1 > fd0 + FD_SLACK as f64 {
        problems.push(format!("open files grew: {fd0} after warm-up, {fd1} at the end"));
    }
    for (what, f) in [("write", (|s: &Sample| s.write_p99_ms) as fn(&Sample) -> f64), ("read", |s: &Sample| s.read_p99_ms)] {
        let (l0, l1) = (mean(first, f), mean(last, f));
        if l1 > l0 * LATENCY_FACTOR + LATENCY_SLACK_MS {
            problems.push(format!("{what} p99 latency grew: {l0:.1} ms after warm-up, {l1:.1} ms at the end"));
        }
    }
    problems
}

impl Report {
    /// The samples as a Markdown table, then the totals and the verdict.
    pub fn render(&self, opts: &Options) -> String {
        use std::fmt::Write as _;
        let mut out = String::new();
        let _ = writeln!(
            out,
            "### soak: {}, {:.0} s, {:.0} points/s and {:.0} reads/s asked\n",
            opts.backend.label(),
            opts.duration.as_secs_f64(),
            opts.points_per_s,
            opts.reads_per_s
        );
        let _ = writeln!(out, "| at | RSS MiB | open files | db conns | threads | points/s | reads/s | errors | write p99 ms | read p99 ms |");
        let _ = writeln!(out, "|---|---|---|---|---|---|---|---|---|---|");
        let mut prev = Duration::ZERO;
        for s in &self.samples {
            let secs = (s.at - prev).as_secs_f64().max(1e-9);
            prev = s.at;
            let _ = writeln!(
                out,
                "| {:.0} s | {:.1} | {} | {} | {} | {:.0} | {:.1} | {} | {:.1} | {:.1} |",
                s.at.as_secs_f64(),
                s.rss as f64 / 1048576.0,
                s.fds,
                s.db_conns,
                s.threads,
                s.points as f64 / secs,
                s.reads as f64 / secs,
                s.errors,
                s.write_p99_ms,
                s.read_p99_ms
            );
        }
        let secs = self.elapsed.as_secs_f64().max(1e-9);
        let _ = writeln!(
            out,
            "\n{} points written ({:.0}/s), {} reads ({:.1}/s), {} errors in {:.0} s",
            self.points,
            self.points as f64 / secs,
            self.reads,
            self.reads as f64 / secs,
            self.errors,
            secs
        );
        if let (Some(first), Some(last)) = (self.samples.first(), self.samples.last()) {
            for (k, name) in self.read_kinds.iter().enumerate() {
                let at = |s: &Sample| s.read_p50_by_kind_ms.get(k).copied().unwrap_or(0.0);
                let _ = writeln!(out, "read p50 {name}: {:.1} ms in the first window, {:.1} ms in the last", at(first), at(last));
            }
        }
        for m in &self.error_messages {
            let _ = writeln!(out, "error: {m}");
        }
        if self.problems.is_empty() {
            let _ = writeln!(out, "soak: OK (no errors; memory, open files and latency steady after warm-up)");
        } else {
            for p in &self.problems {
                let _ = writeln!(out, "soak problem: {p}");
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn samples(rss_mib: impl Fn(usize) -> f64, fds: impl Fn(usize) -> u64, p99: impl Fn(usize) -> f64) -> Vec<Sample> {
        (0..20)
            .map(|i| Sample {
                at: Duration::from_secs(i as u64 + 1),
                rss: (rss_mib(i) * 1048576.0) as u64,
                fds: fds(i),
                db_conns: 1 + i as u64 % 16,
                threads: 20,
                points: 1000,
                reads: 20,
                errors: 0,
                write_p99_ms: p99(i),
                read_p99_ms: 5.0,
                read_p50_by_kind_ms: vec![1.0],
            })
            .collect()
    }

    #[test]
    fn steady_runs_pass_after_warm_up() {
        // a warm-up climb, then flat with noise
        let s = samples(|i| if i < 4 { 20.0 + 10.0 * i as f64 } else { 60.0 + (i % 3) as f64 }, |i| 50 + (i % 2) as u64, |i| 10.0 + (i % 4) as f64);
        assert_eq!(growth(&s), Vec::<String>::new());
    }

    #[test]
    fn growth_of_memory_files_or_latency_is_a_problem() {
        let leak = samples(|i| 40.0 + 4.0 * i as f64, |_| 50, |_| 10.0);
        assert!(growth(&leak).iter().any(|p| p.starts_with("memory grew")), "{:?}", growth(&leak));
        let fds = samples(|_| 40.0, |i| 50 + 2 * i as u64, |_| 10.0);
        assert!(growth(&fds).iter().any(|p| p.starts_with("open files grew")), "{:?}", growth(&fds));
        let slow = samples(|_| 40.0, |_| 50, |i| if i < 12 { 10.0 } else { 200.0 });
        assert!(growth(&slow).iter().any(|p| p.starts_with("write p99 latency grew")), "{:?}", growth(&slow));
        assert_eq!(growth(&slow[..4]).len(), 1, "too few windows to judge is itself reported");
    }

    #[test]
    fn database_ports_come_from_the_store_url() {
        assert_eq!(db_port("postgres://postgres@127.0.0.1:5432/specmill_t_1"), Some(5432));
        assert_eq!(db_port("postgresql://u:p@db.example:6543/x?sslmode=disable"), Some(6543));
        assert_eq!(db_port("postgres://localhost/x"), Some(5432));
        assert_eq!(db_port("/tmp/store.db"), None);
    }

    #[test]
    fn this_process_s_database_connections_are_counted_apart() {
        // a listener and a connection to it stand in for the database server
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        assert_eq!(open_files(std::process::id(), Some(port)).1, 0);
        let conns: Vec<_> = (0..3).map(|_| std::net::TcpStream::connect(("127.0.0.1", port)).unwrap()).collect();
        let (others, db) = open_files(std::process::id(), Some(port));
        assert_eq!(db, 3, "the three connections to the port (never accepted, so no server ends)");
        assert!(others > 0, "the listener and the process's other files");
        drop(conns);
        assert_eq!(open_files(std::process::id(), Some(port)).1, 0);
    }
}
