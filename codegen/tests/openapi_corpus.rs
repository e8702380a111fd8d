//! Public OpenAPI 3.0 documents (pinned npm packages, installed by `.ci/run` with `npm ci` in
//! `tests/corpus/`) load, emit and compile.

mod common;

use std::path::{Path, PathBuf};

use specmill_codegen::load;

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/corpus/node_modules")
}

#[test]
fn explore() {
    let dir = corpus().join("@readme/oas-examples/3.0/json");
    let mut entries: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).filter(|p| p.extension().is_some_and(|e| e == "json")).collect();
    entries.sort();
    for p in entries {
        let stem = p.file_stem().unwrap().to_string_lossy().into_owned();
        match load::openapi::load_file(&p, &stem) {
            Ok(api) => {
                let ops: usize = api.services.iter().map(|s| s.operations.len()).sum();
                match specmill_codegen::emit::generate(&[api]) {
                    Ok(_) => println!("OK   {stem}: {ops} ops"),
                    Err(e) => println!("EMIT {stem}: {e}"),
                }
            }
            Err(e) => println!("FAIL {stem}: {e}"),
        }
    }
}
