//! The OpenAPI files this project writes (`specs/openapi/*.yaml`, and the document of every
//! route it generates, `generated/openapi.json`) are valid OpenAPI 3.0 documents, as a real validator says: `openapi-spec-validator`, run from the test
//! virtualenv (`.venv`, made by `.ci/run` from `tests/python/requirements.txt`). Without
//! the virtualenv or the validator the test prints `SKIP` locally and fails in CI.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The spec files: every `.yaml` of `specs/openapi`, sorted.
fn openapi_files(root: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(root.join("specs/openapi"))
        .expect("specs/openapi")
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml"))
        .collect();
    files.sort();
    files
}

/// Skips (prints why) outside CI; fails in CI.
fn unavailable(reason: &str) {
    if std::env::var_os("CI").is_some() {
        panic!("the OpenAPI validator is required in CI: {reason}");
    }
    eprintln!("SKIP openapi-spec-validator: {reason}");
}

#[test]
fn openapi_files_validate() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let files = openapi_files(root);
    let names: Vec<String> = files.iter().map(|p| p.file_name().unwrap().to_string_lossy().into_owned()).collect();
    for expected in ["dioptra.yaml", "lens.yaml"] {
        assert!(names.iter().any(|n| n == expected), "specs/openapi/{expected} is missing: {names:?}");
    }
    let python = root.join(".venv/bin/python");
    if !python.exists() {
        return unavailable(&format!("no virtualenv at {}", python.display()));
    }
    let probe = Command::new(&python).args(["-c", "import openapi_spec_validator"]).output().expect("run the virtualenv's python");
    if !probe.status.success() {
        return unavailable(&format!(
            "openapi-spec-validator is not installed in .venv (tests/python/requirements.txt): {}",
            String::from_utf8_lossy(&probe.stderr).trim()
        ));
    }
    for file in files.iter().chain([&root.join("generated/openapi.json")]) {
        let out =
            Command::new(&python).args(["-m", "openapi_spec_validator"]).arg(file).current_dir(root).output().expect("run the validator");
        let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(out.status.success(), "{} is not a valid OpenAPI document:\n{text}", file.display());
        assert!(text.contains("OK"), "{}: {text}", file.display());
    }
}

/// The validator is a real one: a broken document fails it.
#[test]
fn the_validator_rejects_a_broken_document() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let python = root.join(".venv/bin/python");
    let ready =
        python.exists() && Command::new(&python).args(["-c", "import openapi_spec_validator"]).output().is_ok_and(|o| o.status.success());
    if !ready {
        return unavailable("no virtualenv with openapi-spec-validator");
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let broken = dir.path().join("broken.yaml");
    // a path parameter that is not required, and a response without a description
    std::fs::write(
        &broken,
        "openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths:\n  /a/{id}:\n    get:\n      parameters:\n        - {name: id, in: path, schema: {type: string}}\n      responses:\n        '200': {}\n",
    )
    .unwrap();
    let out = Command::new(&python).args(["-m", "openapi_spec_validator"]).arg(&broken).output().expect("run the validator");
    assert!(!out.status.success(), "accepted: {}", String::from_utf8_lossy(&out.stdout));
}
