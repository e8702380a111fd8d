use std::process::ExitCode;

use clap::Parser;
use specmill::cli::{BenchBackend, Cli, Command};
use std::path::Path;

use specmill_runtime::auth::Config as AuthConfig;
use specmill_runtime::store::Store;

fn main() -> ExitCode {
    let cli = Cli::parse();
    // the benchmark prints a table: its own store work (migrations) is not news
    let default_filter = if matches!(cli.command, Some(Command::Bench { .. } | Command::Soak { .. })) { "warn" } else { "info" };
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_env("SPECMILL_LOG").unwrap_or_else(|_| default_filter.into()))
        .init();
    let command = cli.command.unwrap_or(Command::Serve {
        listen: ([127, 0, 0, 1], 8008).into(),
        workers: None,
        max_body_bytes: specmill::server::MAX_BODY,
        allow_open: false,
        spec_versions: None,
    });
    if let Command::Codegen { diff: Some(dirs), json, .. } = &command {
        return codegen_diff(&dirs[0], &dirs[1], *json);
    }
    match run(cli.database_url.as_deref(), cli.config.as_deref(), command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// `codegen --diff OLD NEW`: the changes as a table (or JSON); exit 0 when none breaks a
/// client, 1 when one does, 2 when a spec directory does not load.
fn codegen_diff(old: &Path, new: &Path, json: bool) -> ExitCode {
    let (old_apis, new_apis) = match (specmill_codegen::load::load_dir(old), specmill_codegen::load::load_dir(new)) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let diff = specmill_codegen::diff::diff(&old_apis, &new_apis);
    let text = if json { serde_json::to_string_pretty(&diff).map(|t| t + "\n") } else { Ok(diff.render_text()) };
    match text {
        // a closed pipe (`| head`) is no reason to change the verdict
        Ok(text) => drop(std::io::Write::write_all(&mut std::io::stdout().lock(), text.as_bytes())),
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    }
    ExitCode::from(u8::from(diff.is_breaking()))
}

/// The store of `serve` and `migrate` when none is given.
const DEFAULT_DATABASE_URL: &str = "./specmill.db";

fn run(database_url_arg: Option<&str>, config: Option<&Path>, command: Command) -> anyhow::Result<()> {
    let database_url = database_url_arg.unwrap_or(DEFAULT_DATABASE_URL);
    match command {
        Command::Serve { listen, workers, max_body_bytes, allow_open, spec_versions } => {
            let config = match config {
                Some(path) => AuthConfig::load(path).map_err(anyhow::Error::msg)?,
                None => AuthConfig::default(),
            };
            let store = Store::open(database_url)?;
            let opts = specmill::server::ServeOptions { addr: listen, workers, max_body: max_body_bytes, allow_open, spec_versions };
            actix_web::rt::System::new().block_on(specmill::server::serve_with(store, config, opts))?;
        }
        Command::Migrate => {
            let (_store, applied) = Store::open_migrated(database_url)?;
            println!("store at {database_url}: {} migrations applied now", applied.len());
        }
        Command::Codegen { specs, out, client_out, check, .. } => {
            let files = specmill_codegen::generate_dir(&specs)?;
            let dirs = specmill_codegen::OutDirs::from([(specmill_codegen::Tree::Server, out), (specmill_codegen::Tree::Client, client_out)]);
            if check {
                let diffs = specmill_codegen::check_all(&dirs, &files)?;
                if !diffs.is_empty() {
                    anyhow::bail!("generated code is stale:\n  {}", diffs.join("\n  "));
                }
                let count: usize = files.values().map(|f| f.len()).sum();
                println!("{} match {} ({count} files)", dirs.values().map(|d| d.display().to_string()).collect::<Vec<_>>().join(" and "), specs.display());
            } else {
                for p in specmill_codegen::write_all(&dirs, &files)? {
                    println!("wrote {}", p.display());
                }
            }
        }
        Command::Bench { backend, points, clients, single_point_clients, ingest_seconds, postgres_url, specs } => {
            use specmill::bench::stores::Backend;
            anyhow::ensure!(
                points > 0 && clients > 0 && single_point_clients > 0,
                "--points, --clients and --single-point-clients must be at least 1"
            );
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
                single_point_clients,
                ingest: std::time::Duration::from_secs_f64(ingest_seconds),
                postgres_url: postgres_url.unwrap_or_else(specmill_runtime::store::testdb::postgres_admin_url_setting),
                specs,
            };
            specmill::bench::run(&opts)?;
        }
        Command::Soak { backend, seconds, points_per_s, reads_per_s, windows, postgres_url } => {
            use specmill::bench::stores::Backend;
            anyhow::ensure!(seconds.is_finite() && seconds > 0.0, "--seconds must be positive");
            anyhow::ensure!(points_per_s > 0.0 && reads_per_s > 0.0 && windows >= 5, "rates must be positive and --windows at least 5");
            let postgres_url = postgres_url.unwrap_or_else(specmill_runtime::store::testdb::postgres_admin_url_setting);
            let backends = match backend {
                BenchBackend::Sqlite => vec![Backend::Sqlite],
                BenchBackend::Postgres => vec![Backend::Postgres],
                BenchBackend::Both => vec![Backend::Sqlite, Backend::Postgres],
            };
            let mut failed = 0;
            for backend in backends {
                let opts = specmill::bench::soak::Options {
                    backend,
                    duration: std::time::Duration::from_secs_f64(seconds),
                    points_per_s,
                    reads_per_s,
                    windows,
                    postgres_url: postgres_url.clone(),
                };
                let report = specmill::bench::soak::run(&opts)?;
                println!("{}", report.render(&opts));
                failed += usize::from(!report.problems.is_empty());
            }
            anyhow::ensure!(failed == 0, "the soak found problems (listed above)");
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
