//! The AWS loader and the emitters on every rest-json service model botocore ships (the
//! newest API version of each service, from the botocore of the test virtualenv `.venv`
//! that `.ci/run` makes from tests/python/requirements.txt; `SPECMILL_PYTHON` names another
//! interpreter). Prints one table of the model features met and whether the server serves
//! them; run with `--nocapture` to see it.

mod common;

use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use specmill_codegen::ir::Api;
use specmill_codegen::load::aws::{self, Feature, Report, Support};

/// At least this many rest-json models load (measured: every one of botocore 1.44's 265).
const LOADED_FLOOR: usize = 265;

/// The Python of the test virtualenv, as the root crate's tests find it.
fn python() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("SPECMILL_PYTHON") {
        return Some(PathBuf::from(p));
    }
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/python");
    if venv.exists() {
        return Some(venv);
    }
    if std::env::var_os("CI").is_some() {
        panic!("no Python client environment: .ci/run creates .venv with tests/python/requirements.txt");
    }
    eprintln!("SKIP botocore models: no .venv (python3 -m venv .venv && .venv/bin/pip install -r tests/python/requirements.txt)");
    None
}

/// Writes the newest `service-2.json` of every botocore service, decompressed, under `out`
/// and prints `service<TAB>api-version<TAB>protocol<TAB>file` per model.
const EXTRACT: &str = r#"
import gzip, json, os, sys, botocore
data = os.path.join(os.path.dirname(botocore.__file__), "data")
out = os.path.join(sys.argv[1], botocore.__version__)
os.makedirs(out, exist_ok=True)
for service in sorted(os.listdir(data)):
    versions = sorted(v for v in os.listdir(os.path.join(data, service)) if os.path.isdir(os.path.join(data, service, v))) if os.path.isdir(os.path.join(data, service)) else []
    if not versions:
        continue
    src = os.path.join(data, service, versions[-1], "service-2.json")
    dst = os.path.join(out, service + ".json")
    if not os.path.exists(dst):
        if os.path.exists(src + ".gz"):
            text = gzip.open(src + ".gz").read()
        elif os.path.exists(src):
            text = open(src, "rb").read()
        else:
            continue
        # both tests extract at once: a file appears whole or not at all
        tmp = "%s.%d" % (dst, os.getpid())
        open(tmp, "wb").write(text)
        os.replace(tmp, dst)
    protocol = json.load(open(dst, "rb"))["metadata"].get("protocol", "")
    print(service, versions[-1], protocol, dst, sep="\t")
"#;

/// `(service, api version, protocol, decompressed model file)` of every botocore service.
fn botocore_models() -> Option<Vec<(String, String, String, PathBuf)>> {
    let python = python()?;
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("botocore");
    let run = Command::new(&python).arg("-c").arg(EXTRACT).arg(&out).output().unwrap_or_else(|e| panic!("{}: {e}", python.display()));
    assert!(run.status.success(), "botocore extraction failed: {}", String::from_utf8_lossy(&run.stderr));
    let text = String::from_utf8(run.stdout).unwrap();
    let models: Vec<_> = text
        .lines()
        .map(|l| {
            let mut f = l.split('\t');
            let mut next = || f.next().unwrap().to_string();
            (next(), next(), next(), PathBuf::from(next()))
        })
        .collect();
    assert!(models.len() > 100, "botocore has only {} models", models.len());
    Some(models)
}

fn read_model(file: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap_or_else(|e| panic!("{}: {e}", file.display()))
}

/// The API name of a service: a Rust module name.
fn api_name(service: &str) -> String {
    service.replace('-', "_")
}

fn panic_text(e: Box<dyn std::any::Any + Send>) -> String {
    e.downcast_ref::<String>().cloned().or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string())).unwrap_or_default()
}

fn load(service: &str, version: &str, file: &Path) -> Result<(Api, Report), String> {
    let model = read_model(file);
    let rel = format!("{service}/{version}/service-2.json");
    match catch_unwind(AssertUnwindSafe(|| aws::load_model_report(&model, &rel, &api_name(service)))) {
        Ok(r) => r,
        Err(e) => Err(format!("PANIC {}", panic_text(e))),
    }
}

/// What became of one model.
struct Outcome {
    service: String,
    report: Option<Report>,
    /// Load or emission failure, `PANIC …` when one panicked.
    failure: Option<String>,
}

fn load_and_emit(service: &str, version: &str, file: &Path) -> Outcome {
    let (api, report) = match load(service, version, file) {
        Ok(r) => r,
        Err(e) => return Outcome { service: service.into(), report: None, failure: Some(format!("load: {e}")) },
    };
    let failure = match catch_unwind(AssertUnwindSafe(|| specmill_codegen::emit::generate(std::slice::from_ref(&api)))) {
        Ok(Ok(_)) => None,
        Ok(Err(e)) => Some(format!("emit: {e}")),
        Err(e) => Some(format!("emit: PANIC {}", panic_text(e))),
    };
    Outcome { service: service.into(), report: Some(report), failure }
}

#[test]
fn every_rest_json_model_loads_and_emits() {
    let Some(models) = botocore_models() else { return };
    let started = std::time::Instant::now();
    let rest_json: Vec<_> = models.iter().filter(|m| m.2 == "rest-json").collect();
    // Spread over the cores: emitting 265 models takes minutes on one.
    let next = std::sync::atomic::AtomicUsize::new(0);
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    let mut outcomes: Vec<Outcome> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                s.spawn(|| {
                    let mut out = Vec::new();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some((service, version, _, file)) = rest_json.get(i) else { break out };
                        out.push(load_and_emit(service, version, file));
                    }
                })
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().unwrap()).collect()
    });
    outcomes.sort_by(|a, b| a.service.cmp(&b.service));
    let loaded = outcomes.iter().filter(|o| o.report.is_some()).count();
    let emitted = outcomes.iter().filter(|o| o.failure.is_none()).count();
    let with_unsupported = outcomes.iter().filter(|o| o.report.as_ref().is_some_and(|r| r.unsupported().next().is_some())).count();
    let mut users: BTreeMap<Feature, usize> = BTreeMap::new();
    for f in outcomes.iter().filter_map(|o| o.report.as_ref()).flat_map(|r| r.features.keys()) {
        *users.entry(*f).or_default() += 1;
    }
    let mut table = String::from("\n| feature | how it is mapped | served | models |\n|---|---|---|---:|\n");
    for f in Feature::ALL {
        let (what, how) = f.describe();
        let served = match f.support() {
            Support::Yes => "yes",
            Support::Partly => "partly",
            Support::No => "no",
        };
        table.push_str(&format!("| {what} | {how} | {served} | {} |\n", users.get(&f).copied().unwrap_or(0)));
    }
    table.push_str(&format!(
        "\ncorpus: AWS botocore: {} models, {} rest-json: {loaded} loaded, {} failed, {emitted} emitted, {with_unsupported} with unsupported features ({:.0} s)\n",
        models.len(),
        rest_json.len(),
        rest_json.len() - loaded,
        started.elapsed().as_secs_f64()
    ));
    let failures: Vec<String> = outcomes.iter().filter_map(|o| Some(format!("{}: {}", o.service, o.failure.as_ref()?))).collect();
    for f in &failures {
        table.push_str(&format!("FAILED {f}\n"));
    }
    common::report(&table);
    let panics: Vec<&String> = failures.iter().filter(|f| f.contains("PANIC")).collect();
    assert!(panics.is_empty(), "panics: {panics:?}");
    assert!(loaded >= LOADED_FLOOR, "only {loaded} of {} rest-json models load (floor {LOADED_FLOOR})", rest_json.len());
    assert_eq!(emitted, loaded, "every loaded model emits");
}

/// Five models whose emitted server compiles: Amazon MQ (nested structures, maps, lists of
/// structures, enums, iso8601 timestamps), EventBridge Scheduler (epoch timestamps, unions of
/// targets), Amazon Managed Prometheus (unions, blob payloads), Glacier (raw and streaming
/// payloads, header-bound members) and Lex V2 runtime (recursive shapes, event streams).
const COMPILED: [&str; 5] = ["mq", "scheduler", "amp", "glacier", "lexv2-runtime"];

#[test]
fn five_models_compile() {
    let Some(models) = botocore_models() else { return };
    let cases: Vec<PathBuf> = COMPILED
        .iter()
        .map(|want| {
            let (service, version, _, file) = models.iter().find(|m| m.0 == *want).unwrap_or_else(|| panic!("botocore has no `{want}` model"));
            let (api, _) = load(service, version, file).unwrap_or_else(|e| panic!("{service}: {e}"));
            common::emit_case(&format!("aws_{}", api_name(service)), &[api])
        })
        .collect();
    let started = std::time::Instant::now();
    common::compile(&cases);
    common::report(&format!("corpus: AWS: the emitted servers of {} compiled in {:.0} s", COMPILED.join(", "), started.elapsed().as_secs_f64()));
}
