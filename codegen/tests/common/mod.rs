//! Compiling emitted code: the server tree of some APIs written out as a trybuild pass case
//! (a `main.rs` that includes it), built against the crates emitted code names
//! (`specmill_runtime`, `actix_web`, `serde`, `serde_json`: this crate's dependencies and
//! dev-dependencies, which trybuild gives every case). trybuild builds in its own target
//! directory (`target/tests/trybuild`), so the first run compiles those crates once.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use specmill_codegen::ir::Api;
use specmill_codegen::{emit, write_if_changed, Tree};

/// Where the cases of this test binary are written.
pub fn cases_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("compile")
}

/// A pass case that includes the server tree at `tree` (a directory holding the generated
/// `mod.rs`) and touches its route table: returns the case's path.
pub fn case_including(name: &str, tree: &Path) -> PathBuf {
    let tree = tree.canonicalize().unwrap_or_else(|e| panic!("{}: {e}", tree.display()));
    let main = format!(
        "// A trybuild pass case: the emitted server tree must compile.\n#[path = {:?}]\nmod generated;\n\nfn main() {{\n    assert!(!generated::ROUTES.is_empty());\n}}\n",
        tree.join("mod.rs").display().to_string()
    );
    let path = cases_dir().join(format!("{name}.rs"));
    std::fs::create_dir_all(cases_dir()).unwrap();
    if std::fs::read_to_string(&path).ok().as_deref() != Some(main.as_str()) {
        std::fs::write(&path, main).unwrap();
    }
    path
}

/// Emit the server tree of `apis` under the cases directory and make a pass case of it.
pub fn emit_case(name: &str, apis: &[Api]) -> PathBuf {
    let generated = emit::generate(apis).unwrap_or_else(|e| panic!("{name}: {e}"));
    let tree = cases_dir().join(name);
    write_if_changed(&tree, &generated[&Tree::Server]).unwrap();
    case_including(name, &tree)
}

/// Build every case in one trybuild project (one cargo invocation); panics with the
/// compiler's output when one does not compile.
pub fn compile(cases: &[PathBuf]) {
    let t = trybuild::TestCases::new();
    for c in cases {
        t.pass(c);
    }
    // TestCases runs on drop
}

/// A line for the CI log, written to the process's stderr past the test harness's capture
/// (which takes only `print!`/`eprint!`), so the counts of a passing corpus test show in
/// `.ci/run`'s output. `.ci/run` repeats the lines starting with `corpus:` at the end.
pub fn report(line: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}
