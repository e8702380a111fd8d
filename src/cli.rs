//! Command line: `serve`, `migrate`, `codegen [--check | --diff OLD NEW]`, `contract`, `bench`. Flags have environment variables.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "specmill", version, about = "One ML metrics store, five experiment-tracking APIs, generated from their spec files")]
pub struct Cli {
    /// Store URL: a SQLite file path or `postgres://…` (default `./specmill.db`). For
    /// `contract`: the server's store, checked to be unchanged by refused requests.
    #[arg(long, env = "DATABASE_URL", global = true)]
    pub database_url: Option<String>,
    /// Config file (TOML) with the tenants and their credentials; none: open on loopback.
    #[arg(long, env = "SPECMILL_CONFIG", global = true)]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve every API (the default command).
    Serve {
        /// Address to listen on.
        #[arg(long, env = "SPECMILL_LISTEN", default_value = "127.0.0.1:8008")]
        listen: SocketAddr,
        /// HTTP worker threads (default: one per core).
        #[arg(long, env = "SPECMILL_WORKERS")]
        workers: Option<usize>,
        /// Largest request body in bytes; a larger one gets a 413 in the API's own error format.
        #[arg(long, env = "SPECMILL_MAX_BODY_BYTES", default_value_t = crate::server::MAX_BODY)]
        max_body_bytes: usize,
        /// Listen on a non-loopback address even with no credentials configured (anyone who
        /// can reach the port then reads and writes every run).
        #[arg(long, env = "SPECMILL_ALLOW_OPEN")]
        allow_open: bool,
        /// A directory whose immediate subdirectories (`v1/`, `v2/`, …) are spec directories
        /// the dashboard's API page compares (`/ui/api/diff`), as `codegen --diff` does.
        #[arg(long, env = "SPECMILL_SPEC_VERSIONS")]
        spec_versions: Option<PathBuf>,
    },
    /// Apply pending store migrations and exit.
    Migrate,
    /// Regenerate or check the generated code of a spec directory, or compare two spec directories (`--diff`).
    Codegen {
        /// Spec directory.
        #[arg(long, default_value = "specs")]
        specs: PathBuf,
        /// Output directory of the server's modules.
        #[arg(long, default_value = "generated")]
        out: PathBuf,
        /// Output directory of the client crate's modules.
        #[arg(long, default_value = "client/src/generated")]
        client_out: PathBuf,
        /// Compare instead of writing; exit 1 when they differ.
        #[arg(long)]
        check: bool,
        /// Instead: print what changes from the specs in OLD to those in NEW for clients of the
        /// served API; exit 1 when a change breaks existing clients, 2 when a directory does not load.
        #[arg(long, num_args = 2, value_names = ["OLD", "NEW"], conflicts_with = "check")]
        diff: Option<Vec<PathBuf>>,
        /// With `--diff`: print the changes as JSON instead of a table.
        #[arg(long, requires = "diff")]
        json: bool,
    },
    /// Run the contract tests generated from a spec directory against a running server;
    /// exit 1 on any failure.
    Contract {
        /// Spec directory.
        #[arg(long, default_value = "specs")]
        specs: PathBuf,
        /// Base URL of the server.
        #[arg(long, default_value = "http://127.0.0.1:8008")]
        url: String,
        /// Operation versions that may still answer "not implemented" (`api operation version` per line).
        #[arg(long)]
        allowlist: Option<PathBuf>,
        /// Print every case with its outcome before the summary.
        #[arg(long)]
        verbose: bool,
    },
    /// Measure the server against the store's own bulk insert: starts `specmill serve` as a
    /// child on a fresh store per backend and prints one table per backend.
    Bench {
        /// Which stores to measure.
        #[arg(long, value_enum, default_value_t = BenchBackend::Sqlite)]
        backend: BenchBackend,
        /// Points of the read set (10 metrics of points/10 steps, one run), which is also the
        /// floor's bulk insert; also the most points one ingest phase writes.
        #[arg(long, default_value_t = 1_000_000)]
        points: u64,
        /// Concurrent HTTP clients per batched ingest phase (one run each).
        #[arg(long, default_value_t = 4)]
        clients: usize,
        /// Concurrent HTTP clients per single-point ingest phase (Dioptra, Comet): many
        /// small writers, as a fleet of training jobs is, which group commit batches.
        #[arg(long, default_value_t = 64)]
        single_point_clients: usize,
        /// Time limit of each ingest phase, in seconds.
        #[arg(long, default_value_t = 5.0)]
        ingest_seconds: f64,
        /// PostgreSQL server to create the fresh database on (default: env
        /// `SPECMILL_TEST_POSTGRES_URL`, else `postgres://postgres@127.0.0.1:5432/test`).
        #[arg(long)]
        postgres_url: Option<String>,
        /// Spec directory whose full codegen is timed.
        #[arg(long, default_value = "specs")]
        specs: PathBuf,
    },
    /// A bounded soak: mixed writes (four APIs) and reads at a steady rate against a server
    /// child on a fresh store, sampling its memory, open files, threads and latencies; fails
    /// on any error, a crash, or growth after warm-up.
    Soak {
        /// Which store (one).
        #[arg(long, value_enum, default_value_t = BenchBackend::Sqlite)]
        backend: BenchBackend,
        /// How long, in seconds.
        #[arg(long, default_value_t = 600.0)]
        seconds: f64,
        /// Points written per second over all APIs.
        #[arg(long, default_value_t = 2000.0)]
        points_per_s: f64,
        /// Reads per second.
        #[arg(long, default_value_t = 20.0)]
        reads_per_s: f64,
        /// Sampling windows over the run.
        #[arg(long, default_value_t = 20)]
        windows: usize,
        /// PostgreSQL server to create the fresh database on (as for `bench`).
        #[arg(long)]
        postgres_url: Option<String>,
    },
}

/// The stores `specmill bench` measures.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum BenchBackend {
    Sqlite,
    Postgres,
    Both,
}
