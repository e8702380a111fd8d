//! `specmill bench`: how close the server comes to its store's own speed. Per backend, on a
//! fresh store: the floor (the read set bulk-inserted with `Store::put_scalars`), ingest
//! through four APIs over real HTTP from concurrent clients, reads of the read set, the
//! server's peak RSS, the store's size per million points and the time of a full codegen;
//! one table per backend, every figure from the same run.
//!
//! The server is this executable started as `serve` in a child process.

pub mod dashboard;
pub mod floor;
pub mod http;
pub mod ingest;
pub mod process;
pub mod reads;
pub mod report;
pub mod soak;
pub mod stores;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;

use self::ingest::{Api, Limits};
use self::process::{RssSampler, ServerChild};
use self::report::{Row, Table};
use self::stores::{Backend, FreshStore};

/// What to measure.
#[derive(Debug, Clone)]
pub struct Options {
    pub backends: Vec<Backend>,
    /// Points of the read set and the floor; the most one ingest phase writes.
    pub points: u64,
    /// Clients of the batched ingest phases.
    pub clients: usize,
    /// Clients of the single-point ingest phases.
    pub single_point_clients: usize,
    pub ingest: Duration,
    /// PostgreSQL server (admin URL) to create the fresh database on.
    pub postgres_url: String,
    pub specs: PathBuf,
}

const MIB: f64 = 1024.0 * 1024.0;
/// Full codegen runs timed; the best counts.
const CODEGEN_RUNS: usize = 3;

/// Measures every backend of `opts` in turn, printing each table to stdout as it is done
/// (progress goes to stderr). Fails when a backend could not be measured or any table
/// reports a problem (the tables are printed first).
pub fn run(opts: &Options) -> anyhow::Result<Vec<Table>> {
    let mut tables = Vec::new();
    for backend in &opts.backends {
        let table = measure(*backend, opts).with_context(|| format!("benchmark on {}", backend.label()))?;
        println!("{}", table.render());
        tables.push(table);
    }
    let problems: usize = tables.iter().map(|t| t.problems.len()).sum();
    anyhow::ensure!(problems == 0, "{problems} problems while measuring (listed under the tables)");
    Ok(tables)
}

fn progress(backend: Backend, what: &str) {
    eprintln!("bench [{}]: {what}", backend.label());
}

/// One backend, from a fresh store to its table.
fn measure(backend: Backend, opts: &Options) -> anyhow::Result<Table> {
    let mut table = Table {
        title: format!("specmill bench: {}", backend.label()),
        context: context_lines(opts),
        ..Default::default()
    };
    progress(backend, "codegen");
    let codegen = time_codegen(&opts.specs)?;

    let store = match backend {
        Backend::Sqlite => FreshStore::sqlite()?,
        Backend::Postgres => FreshStore::postgres(&opts.postgres_url)?,
    };
    let empty_bytes = store.size_bytes()?;
    progress(backend, &format!("floor: {} points in one put_scalars", opts.points));
    let (set, floor) = floor::load(&store.url, opts.points)?;
    let loaded_bytes = store.size_bytes()?;
    let floor_rate = floor.points_per_s();
    table.rows.push(
        Row::new(format!("floor: Store::put_scalars, {} points in 1 transaction", floor.points), floor_rate, "points/s")
            .count(floor.points)
            .vs_floor(1.0),
    );

    let mut server = ServerChild::start(&store.url)?;
    let pid = server.pid();
    let tag = format!("{}-{}", std::process::id(), specmill_runtime::store::now_us());
    let batched = Limits { clients: opts.clients, max_points: opts.points, duration: opts.ingest };
    let single = Limits { clients: opts.single_point_clients, ..batched };
    let peak_reset = process::reset_peak_rss(pid);
    let sampler = RssSampler::start(pid, Duration::from_millis(50));
    for api in Api::ALL {
        progress(backend, api.label());
        let limits = if api.points_per_request() == 1 { single } else { batched };
        let phase = ingest::run(&server.base, api, limits, &tag).map_err(anyhow::Error::msg)?;
        let rate = phase.points_per_s();
        table.rows.push(
            Row::new(api.label(), rate, "points/s")
                .count(phase.points)
                .latencies(&phase.latencies)
                .vs_floor(rate / floor_rate),
        );
        if phase.errors > 0 {
            table.problems.push(format!(
                "{}: {} of {} requests failed: {}",
                api.label(),
                phase.errors,
                phase.requests,
                phase.error_messages.join(" | ")
            ));
        }
        server.check_alive()?;
    }
    let ingest_peak = sampler.finish().max(process::status_bytes(pid, "VmHWM").filter(|_| peak_reset).unwrap_or(0));

    let reads_peak_reset = process::reset_peak_rss(pid);
    for read in reads::run(&server.base, &set) {
        progress(backend, &read.label);
        table.rows.push(Row::new(read.label.clone(), read.rows_per_s(), "rows/s").count(read.rows).latencies(&read.latencies));
        table.problems.extend(read.problems.into_iter().map(|p| format!("{}: {p}", read.label)));
        server.check_alive()?;
    }
    let dashboard = dashboard::run(&server.base, &set);
    for read in dashboard.reads {
        progress(backend, &read.label);
        table.rows.push(Row::new(read.label.clone(), read.rows_per_s(), "pages/s").count(read.rows).latencies(&read.latencies));
        table.problems.extend(read.problems.into_iter().map(|p| format!("{}: {p}", read.label)));
        server.check_alive()?;
    }
    table.rows.push(Row::new("dashboard run page size (HTML with the charts' data and tables)", dashboard.page_bytes as f64 / 1024.0, "KiB"));
    table.rows.push(Row::new("dashboard zoom reply size (JSON)", dashboard.zoom_bytes as f64 / 1024.0, "KiB"));
    for (what, bytes) in [("dashboard run page size, gzip", dashboard.page_gzip_bytes), ("dashboard zoom reply size, gzip", dashboard.zoom_gzip_bytes)] {
        match bytes {
            Some(b) => table.rows.push(Row::new(what, b as f64 / 1024.0, "KiB")),
            None => table.problems.push(format!("{what}: the reply was not gzipped")),
        }
    }
    let overall_peak = process::status_bytes(pid, "VmHWM").unwrap_or(0);
    drop(server);

    table.rows.push(Row::new("server peak RSS while ingesting", ingest_peak as f64 / MIB, "MiB"));
    let reads_label = if reads_peak_reset { "server peak RSS while reading" } else { "server peak RSS (whole run)" };
    table.rows.push(Row::new(reads_label, overall_peak as f64 / MIB, "MiB"));
    let per_million = (loaded_bytes.saturating_sub(empty_bytes)) as f64 / set.points() as f64 * 1e6;
    table.rows.push(
        Row::new(format!("store size per 1M points ({} of the floor, the empty store's size subtracted)", size_source(backend)), per_million / MIB, "MiB")
            .count(set.points()),
    );
    table.rows.push(Row::new(format!("full codegen of {} (best of {CODEGEN_RUNS})", opts.specs.display()), codegen.as_secs_f64() * 1000.0, "ms"));
    drop(store);
    Ok(table)
}

fn size_source(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "file + WAL",
        Backend::Postgres => "pg_database_size",
    }
}

/// The best wall time of `generate_dir` over the spec directory.
fn time_codegen(specs: &Path) -> anyhow::Result<Duration> {
    let mut best = Duration::MAX;
    for _ in 0..CODEGEN_RUNS {
        let t = Instant::now();
        let files = specmill_codegen::generate_dir(specs).with_context(|| format!("codegen of {}", specs.display()))?;
        let d = t.elapsed();
        anyhow::ensure!(!files.is_empty(), "codegen of {} produced no files", specs.display());
        best = best.min(d);
    }
    Ok(best)
}

/// The configuration and the machine, for under the title.
fn context_lines(opts: &Options) -> Vec<String> {
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| s.lines().find_map(|l| l.strip_prefix("model name").map(|r| r.trim_start_matches([' ', '\t', ':']).to_string())))
        .unwrap_or_else(|| "unknown CPU".into());
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| s.lines().find_map(|l| l.strip_prefix("MemTotal:")?.trim().strip_suffix("kB")?.trim().parse::<f64>().ok()))
        .map(|kb| format!("{:.0} GiB", kb / MIB))
        .unwrap_or_else(|| "unknown".into());
    let build = if cfg!(debug_assertions) { "debug build" } else { "release build" };
    vec![
        format!(
            "{} points = {} metrics × {} steps in one run; {} clients per batched and {} per single-point ingest phase, at most {} s or {} points each",
            opts.points,
            floor::METRICS,
            (opts.points / floor::METRICS).max(1),
            opts.clients,
            opts.single_point_clients,
            opts.ingest.as_secs_f64(),
            opts.points
        ),
        format!("machine: {cpu}, {cores} cores, {mem} RAM; {build}; server: specmill serve, one worker per core"),
        "p50/p99: per request; reads' rows/s: rows over the time spent in requests".into(),
    ]
}
