//! Regenerate `generated/` (the server's modules) and `client/src/generated/` (the
//! `specmill-client` crate's) from `specs/` with the codegen library. Files whose content is
//! unchanged are not rewritten, so a build never triggers another. With
//! `SPECMILL_CODEGEN_CHECK=1` (CI) nothing is written and the build fails when a committed
//! tree differs from what the specs produce.

use std::path::PathBuf;

fn main() {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let specs = root.join("specs");
    let dirs = specmill_codegen::workspace_dirs(&root);
    println!("cargo:rerun-if-changed={}", specs.display());
    println!("cargo:rerun-if-env-changed=SPECMILL_CODEGEN_CHECK");
    match specmill_codegen::inputs(&specs, &root.join("codegen")) {
        Ok(inputs) => {
            for input in inputs {
                println!("cargo:rerun-if-changed={}", input.display());
            }
        }
        Err(e) => fail(&e.to_string()),
    }
    let (files, warnings) = specmill_codegen::generate_dir_reporting(&specs).unwrap_or_else(|e| fail(&e.to_string()));
    for w in warnings {
        println!("cargo:warning={w}");
    }
    if std::env::var_os("SPECMILL_CODEGEN_CHECK").is_some_and(|v| v != "0") {
        let diffs = specmill_codegen::check_all(&dirs, &files).unwrap_or_else(|e| fail(&e.to_string()));
        if !diffs.is_empty() {
            fail(&format!("generated code is stale; rebuild without SPECMILL_CODEGEN_CHECK and commit:\n  {}", diffs.join("\n  ")));
        }
    } else if let Err(e) = specmill_codegen::write_all(&dirs, &files) {
        fail(&e.to_string());
    }
}

fn fail(msg: &str) -> ! {
    eprintln!("specmill codegen failed: {msg}");
    for line in msg.lines() {
        println!("cargo:warning={line}");
    }
    std::process::exit(1)
}
