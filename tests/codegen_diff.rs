//! `specmill codegen --diff OLD NEW` on a copy of `specs/` edited the ways specs change: the
//! binary prints each change and exits 0 when none breaks a client, 1 when one does, 2 when a
//! spec directory does not load.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

fn specs() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("specs")
}

/// A copy of `specs/` in a fresh temp dir.
fn copy_of_specs() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    common::copy_tree(&specs(), tmp.path());
    tmp
}

/// Replace the first `from` in `file` (which must hold it) with `to`.
fn edit(file: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(file).unwrap();
    assert!(text.contains(from), "{} does not contain {from:?}", file.display());
    std::fs::write(file, text.replacen(from, to, 1)).unwrap();
}

/// Exit code, stdout and stderr of `specmill codegen --diff OLD NEW [extra…]`.
fn run_diff(old: &Path, new: &Path, extra: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_specmill"))
        .args(["codegen", "--diff"])
        .arg(old)
        .arg(new)
        .args(extra)
        .output()
        .unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8(out.stdout).unwrap(), String::from_utf8(out.stderr).unwrap())
}

fn text(lines: &[&str]) -> String {
    lines.iter().map(|l| format!("{l}\n")).collect()
}

/// Non-breaking: Lens gains an optional member of `WandBMetric` and a new route.
fn non_breaking_edit(dir: &Path) {
    let lens = dir.join("openapi/lens.yaml");
    edit(
        &lens,
        "        tags:\n          type: object\n          description: Extra string tags",
        "        run_name:\n          type: string\n        tags:\n          type: object\n          description: Extra string tags",
    );
    edit(
        &lens,
        "  /wandb/batch:\n",
        "  /wandb/ping:\n    get:\n      operationId: get_wandb_ping\n      responses:\n        '200':\n          description: ok\n  /wandb/batch:\n",
    );
}

/// Breaking: ClearML's `events.get_task_log` loses version 1.7 and Lens's `WandBMetric.step` becomes required.
fn breaking_edit(dir: &Path) {
    let events = dir.join("clearml/events.conf");
    let text = std::fs::read_to_string(&events).unwrap();
    let endpoint = text.find("\n    get_task_log {").unwrap();
    let start = endpoint + text[endpoint..].find("\n        \"1.7\" {").unwrap();
    let end = start + text[start..].find("\n        \"2.9\" {").unwrap();
    std::fs::write(&events, format!("{}{}", &text[..start], &text[end..])).unwrap();
    let lens = dir.join("openapi/lens.yaml");
    edit(&lens, "      required:\n        - name\n        - value\n", "      required:\n        - name\n        - value\n        - step\n");
}

#[test]
fn identical_specs_have_no_changes() {
    let copy = copy_of_specs();
    let (code, out, err) = run_diff(&specs(), copy.path(), &[]);
    assert_eq!((code, out.as_str(), err.as_str()), (0, "no changes\n", ""));
}

#[test]
fn a_non_breaking_change_exits_0() {
    let copy = copy_of_specs();
    non_breaking_edit(copy.path());
    let (code, out, err) = run_diff(&specs(), copy.path(), &[]);
    assert_eq!(err, "");
    assert_eq!(
        out,
        text(&[
            "lens",
            "  GET /wandb/ping                                  added  new operation",
            "  POST /wandb/metrics  request.metrics[].run_name  added  added, optional string",
            "2 changes, 0 breaking",
        ])
    );
    assert_eq!(code, 0);
}

#[test]
fn a_breaking_change_exits_1() {
    let copy = copy_of_specs();
    non_breaking_edit(copy.path());
    breaking_edit(copy.path());
    let (code, out, err) = run_diff(&specs(), copy.path(), &[]);
    assert_eq!(err, "");
    assert_eq!(
        out,
        text(&[
            "clearml",
            "  events.get_task_log  1.7                              removed  BREAKING  version removed",
            "lens",
            "  GET /wandb/ping                                       added              new operation",
            "  POST /wandb/metrics       request.metrics[].step      changed  BREAKING  now required",
            "  POST /wandb/metrics       request.metrics[].run_name  added              added, optional string",
            "4 changes, 2 breaking",
        ])
    );
    assert_eq!(code, 1);
    // the other way round, the version comes back and `step` is optional again, but the route goes
    let (code, out, _) = run_diff(copy.path(), &specs(), &[]);
    assert_eq!(
        out,
        text(&[
            "clearml",
            "  events.get_task_log  1.7                              added              new version",
            "lens",
            "  GET /wandb/ping                                       removed  BREAKING  operation removed",
            "  POST /wandb/metrics       request.metrics[].run_name  removed            removed (now ignored as unknown)",
            "  POST /wandb/metrics       request.metrics[].step      changed            now optional",
            "4 changes, 1 breaking",
        ])
    );
    assert_eq!(code, 1);
}

#[test]
fn json_output() {
    let copy = copy_of_specs();
    breaking_edit(copy.path());
    let (code, out, _) = run_diff(&specs(), copy.path(), &["--json"]);
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let changes = v["changes"].as_array().unwrap();
    assert_eq!(
        changes[0],
        serde_json::json!({
            "api": "clearml", "operation": "events.get_task_log", "version": "1.7", "location": "",
            "kind": "removed", "detail": "version removed", "breaking": true
        })
    );
}

#[test]
fn a_spec_that_does_not_load_exits_2() {
    let (code, out, err) = run_diff(&specs(), Path::new("/nonexistent/specs"), &[]);
    assert_eq!((code, out.as_str()), (2, ""));
    assert!(err.starts_with("error: /nonexistent/specs: "), "{err}");
    let copy = copy_of_specs();
    edit(&copy.path().join("openapi/lens.yaml"), "openapi: 3.0.3", "openapi: [");
    let (code, _, err) = run_diff(&specs(), copy.path(), &[]);
    assert_eq!(code, 2);
    assert!(err.contains("lens.yaml"), "{err}");
    // usage: --diff needs two directories
    let out = Command::new(env!("CARGO_BIN_EXE_specmill")).args(["codegen", "--diff", "specs"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}
