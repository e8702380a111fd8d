//! The contract tests generated from `specs/` (`specmill::contract`) against a fresh server
//! on each backend, with the checked-in allowlist `tests/contract/not_implemented.txt`.

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::{Backend, Server};
use specmill::contract::{run, Options, Outcome};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn options(s: &Server) -> Options {
    Options {
        specs: root().join("specs"),
        url: s.base.clone(),
        allowlist: Some(root().join("tests/contract/not_implemented.txt")),
        database_url: Some(s.database_url.clone()),
    }
}

fn every_operation_keeps_its_contract(backend: Backend) {
    let Some(s) = Server::start(backend) else { return };
    let report = run(&options(&s)).expect("the harness runs");
    let printed = report.render();
    println!("{printed}");
    assert!(report.passed(), "contract failures on {backend:?}:\n{printed}");
    assert_eq!(report.apis.len(), 5, "{printed}");
    for a in &report.apis {
        // Every API had valid requests answered 2xx with a validated body, and invalid ones refused.
        assert!(a.validated > 0 && a.refused > 0, "{}: {printed}", a.api);
        assert!(a.sent >= a.op_versions.len() * 2, "{}: {printed}", a.api);
    }
    // Each kind of negative case was sent somewhere and refused.
    for label in ["required member removed at", "wrong type at", "above maximum at", "longer than maxLength at", "not in enum at"] {
        assert!(
            report.cases.iter().any(|c| c.label.starts_with(label) && matches!(c.outcome, Outcome::Refused(_) | Outcome::ItemErrors)),
            "no refused `{label}` case:\n{printed}"
        );
    }
}

/// The CLI exits non-zero and says why when an allowlisted operation works: the list only shrinks.
fn an_allowlisted_operation_that_works_fails_the_run(backend: Backend) {
    let Some(s) = Server::start(backend) else { return };
    let dir = tempfile::tempdir().unwrap();
    let allow = dir.path().join("allow.txt");
    std::fs::write(&allow, "# test\nlens get_workload_metrics_sources -\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_specmill"))
        .args(["--database-url", &s.database_url, "contract", "--url", &s.base, "--allowlist"])
        .arg(&allow)
        .arg("--specs")
        .arg(root().join("specs"))
        .env("SPECMILL_LOG", "warn")
        .output()
        .expect("run specmill contract");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "{stdout}");
    assert!(stdout.contains("lens get_workload_metrics_sources -: is in the allowlist but works now"), "{stdout}");
    assert!(stdout.contains("failures (1):"), "{stdout}");
}

per_backend! {
    every_operation_keeps_its_contract => every_operation_keeps_its_contract;
    an_allowlisted_operation_that_works_fails_the_run => an_allowlisted_operation_that_works_fails_the_run;
}
