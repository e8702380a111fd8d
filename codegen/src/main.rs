//! `specmill-codegen SPECS OUT [CLIENT_OUT] [--check]`: generate (or check) the Rust for a
//! spec directory: the server tree in OUT, the client crate's tree in CLIENT_OUT (by default
//! `client/src/generated` next to OUT, as in the workspace).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use specmill_codegen::{OutDirs, Tree};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let check = args.iter().any(|a| a == "--check");
    let paths: Vec<&String> = args.iter().filter(|a| !a.starts_with("--")).collect();
    let (specs, out, client_out) = match paths.as_slice() {
        [s, o] => {
            let out = PathBuf::from(o);
            let client = out.parent().unwrap_or(Path::new(".")).join(Tree::Client.dir());
            (PathBuf::from(s), out, client)
        }
        [s, o, c] => (PathBuf::from(s), PathBuf::from(o), PathBuf::from(c)),
        _ => {
            eprintln!("usage: specmill-codegen SPECS_DIR OUT_DIR [CLIENT_OUT_DIR] [--check]");
            return ExitCode::from(2);
        }
    };
    let dirs = OutDirs::from([(Tree::Server, out), (Tree::Client, client_out)]);
    let files = match specmill_codegen::generate_dir(&specs) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = if check {
        specmill_codegen::check_all(&dirs, &files)
    } else {
        specmill_codegen::write_all(&dirs, &files).map(|c| c.iter().map(|p| format!("wrote {}", p.display())).collect())
    };
    match result {
        Ok(lines) => {
            for l in &lines {
                println!("{l}");
            }
            if check && !lines.is_empty() {
                return ExitCode::FAILURE;
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
