//! Emitted code for a small fixture spec of each format (`tests/fixtures/specs/`: ClearML
//! HOCON with an include file and version references, an AWS rest-json model, an OpenAPI
//! document), compared with the committed snapshots in `tests/snapshots/` and, in the same
//! test, compiled (trybuild), as progenitor and typify test theirs. After a deliberate
//! change to an emitter, `EXPECTORATE=overwrite cargo test -p specmill-codegen --test
//! snapshots` rewrites the snapshots; review them with `git diff`.

mod common;

use std::path::{Path, PathBuf};

fn here() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests")
}

#[test]
fn fixtures_emit_their_snapshots_and_the_snapshots_compile() {
    let generated = specmill_codegen::generate_dir(&here().join("fixtures/specs")).unwrap();
    let mut compared = 0;
    for (tree, files) in &generated {
        let dir = here().join("snapshots").join(match tree {
            specmill_codegen::Tree::Server => "server",
            specmill_codegen::Tree::Client => "client",
        });
        for (rel, text) in files {
            let path = dir.join(rel);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap(); // for EXPECTORATE=overwrite
            expectorate::assert_contents(path, text);
            compared += 1;
        }
        // a snapshot no fixture produces any more is stale
        let stale = specmill_codegen::check(&dir, files).unwrap();
        assert!(stale.is_empty(), "{}: {stale:?}", dir.display());
    }
    assert!(compared >= 20, "{compared} files");
    common::compile(&[common::case_including("fixture_snapshots", Path::new(&here().join("snapshots/server")))]);
}
