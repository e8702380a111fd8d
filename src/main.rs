use std::process::ExitCode;

use clap::Parser;
use specmill::cli::{BenchBackend, Cli, Command};
use std::path::Path;

use specmill_runtime::auth::Config as AuthConfig;
use specmill_runtime::store::Store;

fn main() -> ExitCode {
    let cli = Cli::parse();
    // the benchmark prints a table: its own store work (migrations) is not news
    let default_filter = if matches!(cli.command, Some(Command::Bench { .. })) { "warn" } else { "info" };
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_env("SPECMILL_LOG").unwrap_or_else(|_| default_filter.into()))
        .init();
    let command = cli.command.unwrap_or(Command::Serve { listen: ([127, 0, 0, 1], 8008).into(), workers: None });
    match run(cli.database_url.as_deref(), cli.config.as_deref(), command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// The store of `serve` and `migrate` when none is given.
const DEFAULT_DATABASE_URL: &str = "./specmill.db";

fn run(database_url_arg: Option<&str>, config: Option<&Path>, command: Command) -> anyhow::Result<()> {
    let database_url = database_url_arg.unwrap_or(DEFAULT_DATABASE_URL);
    match command {
        Command::Serve { listen, workers } => {
            let config = match config {
                Some(path) => AuthConfig::load(path).map_err(anyhow::Error::msg)?,
                None => AuthConfig::default(),
            };
            let store = Store::open(database_url)?;
            actix_web::rt::System::new().block_on(specmill::server::serve(listen, store, config, workers))?;
        }
        Command::Migrate => {
            let store = Store::open(database_url)?;
            let applied = store.migrate()?;
            println!("store at {database_url}: {} migrations applied now", applied.len());
        }
        Command::Codegen { specs, out, check } => {
            let files = specmill_codegen::generate_dir(&specs)?;
            if check {
                let diffs = specmill_codegen::check(&out, &files)?;
                if !diffs.is_empty() {
                    anyhow::bail!("{} is stale:\n  {}", out.display(), diffs.join("\n  "));
                }
                println!("{} matches {} ({} files)", out.display(), specs.display(), files.len());
            } else {
                for p in specmill_codegen::write_if_changed(&out, &files)? {
                    println!("wrote {}", p.display());
                }
            }
        }
        Command::Bench { backend, points, clients, ingest_seconds, postgres_url, specs } => {
            use specmill::bench::stores::Backend;
            anyhow::ensure!(points > 0 && clients > 0, "--points and --clients must be at least 1");
            anyhow::ensure!(ingest_seconds.is_finite() && ingest_seconds > 0.0, "--ingest-seconds must be positive");
            let backends = match backend {
                BenchBackend::Sqlite => vec![Backend::Sqlite],
                BenchBackend::Postgres => vec![Backend::Postgres],
                BenchBackend::Both => vec![Backend::Sqlite, Backend::Postgres],
            };
            let opts = specmill::bench::Options {
                backends,
                points,
                clients,
                ingest: std::time::Duration::from_secs_f64(ingest_seconds),
                postgres_url: postgres_url.unwrap_or_else(specmill_runtime::store::testdb::postgres_admin_url_setting),
                specs,
            };
            specmill::bench::run(&opts)?;
        }
        Command::Contract { specs, url, allowlist, verbose } => {
            let opts = specmill::contract::Options { specs, url, allowlist, database_url: database_url_arg.map(str::to_string) };
            let report = specmill::contract::run(&opts)?;
            if verbose {
                print!("{}", report.render_cases());
            }
            print!("{}", report.render());
            if !report.passed() {
                anyhow::bail!("{} contract failures", report.failures());
            }
        }
    }
    Ok(())
}
