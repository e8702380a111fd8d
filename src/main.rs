use std::process::ExitCode;

use clap::Parser;
use specmill::cli::{Cli, Command};
use std::path::Path;

use specmill_runtime::auth::Config as AuthConfig;
use specmill_runtime::store::Store;

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_env("SPECMILL_LOG").unwrap_or_else(|_| "info".into()))
        .init();
    let cli = Cli::parse();
    let command = cli.command.unwrap_or(Command::Serve {
        listen: ([127, 0, 0, 1], 8008).into(),
        workers: None,
        max_body_bytes: specmill::server::MAX_BODY,
    });
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
        Command::Serve { listen, workers, max_body_bytes } => {
            let config = match config {
                Some(path) => AuthConfig::load(path).map_err(anyhow::Error::msg)?,
                None => AuthConfig::default(),
            };
            let store = Store::open(database_url)?;
            actix_web::rt::System::new().block_on(specmill::server::serve_limited(listen, store, config, workers, max_body_bytes))?;
        }
        Command::Migrate => {
            let (_store, applied) = Store::open_migrated(database_url)?;
            println!("store at {database_url}: {} migrations applied now", applied.len());
        }
        Command::Codegen { specs, out, client_out, check } => {
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
