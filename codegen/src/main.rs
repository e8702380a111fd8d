//! `specmill-codegen SPECS OUT [--check]`: generate (or check) the Rust for a spec directory.

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let check = args.iter().any(|a| a == "--check");
    let paths: Vec<&String> = args.iter().filter(|a| !a.starts_with("--")).collect();
    let (specs, out) = match paths.as_slice() {
        [s, o] => (PathBuf::from(s), PathBuf::from(o)),
        _ => {
            eprintln!("usage: specmill-codegen SPECS_DIR OUT_DIR [--check]");
            return ExitCode::from(2);
        }
    };
    let files = match specmill_codegen::generate_dir(&specs) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = if check { specmill_codegen::check(&out, &files) } else { specmill_codegen::write_if_changed(&out, &files).map(|c| c.iter().map(|p| format!("wrote {}", p.display())).collect()) };
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
