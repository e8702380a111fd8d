//! specmill-codegen: spec files → one IR → generated Rust and reference docs.
//!
//! `load` reads ClearML HOCON schemas, AWS service models and OpenAPI 3.0 documents into
//! [`ir::Api`]s; `emit` turns them into two trees ([`Tree`]): the server's `generated/` and
//! the client crate's `client/src/generated/`. [`generate_dir`] does both, [`write_all`] and
//! [`check_all`] put the result on disk or compare it with what is there ([`write_if_changed`]
//! and [`check`] do it for one tree).

pub mod emit;
pub mod cases;
pub mod diff;
pub mod example;
pub mod ir;
pub mod json_schema;
pub mod load;
pub mod names;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub use emit::{Files, Generated, Tree};

/// The directory each tree is written to.
pub type OutDirs = BTreeMap<Tree, PathBuf>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Load(#[from] load::LoadError),
    #[error("generating code: {0}")]
    Emit(String),
    #[error("{0}: {1}")]
    Io(PathBuf, std::io::Error),
}

/// Load every spec under `specs` and generate the files of every tree.
pub fn generate_dir(specs: &Path) -> Result<Generated, Error> {
    generate_dir_reporting(specs).map(|(files, _)| files)
}

/// [`generate_dir`], with the loaders' warnings: what a spec has that was skipped.
pub fn generate_dir_reporting(specs: &Path) -> Result<(Generated, Vec<String>), Error> {
    let (apis, warnings) = load::load_dir_reporting(specs)?;
    Ok((emit::generate(&apis).map_err(Error::Emit)?, warnings))
}

/// Every tree at its place in the workspace rooted at `root` ([`Tree::dir`]).
pub fn workspace_dirs(root: &Path) -> OutDirs {
    Tree::ALL.iter().map(|t| (*t, root.join(t.dir()))).collect()
}

fn dir_of(dirs: &OutDirs, tree: Tree) -> Result<&Path, Error> {
    dirs.get(&tree).map(PathBuf::as_path).ok_or_else(|| Error::Emit(format!("no output directory for the {tree:?} tree")))
}

/// [`write_if_changed`] for every tree of `generated`.
pub fn write_all(dirs: &OutDirs, generated: &Generated) -> Result<Vec<PathBuf>, Error> {
    let mut changed = Vec::new();
    for (tree, files) in generated {
        changed.extend(write_if_changed(dir_of(dirs, *tree)?, files)?);
    }
    Ok(changed)
}

/// [`check`] for every tree of `generated`; each line names the tree's directory.
pub fn check_all(dirs: &OutDirs, generated: &Generated) -> Result<Vec<String>, Error> {
    let mut diffs = Vec::new();
    for (tree, files) in generated {
        let dir = dir_of(dirs, *tree)?;
        diffs.extend(check(dir, files)?.into_iter().map(|d| format!("{}/{d}", dir.display())));
    }
    Ok(diffs)
}

/// Write `files` under `out`, touching only files whose content changed, and removing
/// generated files no spec produces any more. Returns the paths written or removed.
pub fn write_if_changed(out: &Path, files: &Files) -> Result<Vec<PathBuf>, Error> {
    let mut changed = Vec::new();
    for (rel, content) in files {
        let path = out.join(rel);
        if std::fs::read_to_string(&path).ok().as_deref() == Some(content.as_str()) {
            continue;
        }
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| Error::Io(parent.to_path_buf(), e))?;
        }
        std::fs::write(&path, content).map_err(|e| Error::Io(path.clone(), e))?;
        changed.push(path);
    }
    for stale in existing_files(out)? {
        if !files.contains_key(&stale) {
            let path = out.join(&stale);
            std::fs::remove_file(&path).map_err(|e| Error::Io(path.clone(), e))?;
            changed.push(path);
        }
    }
    Ok(changed)
}

/// Differences between `files` and what is under `out`: one line per missing, stale or
/// extra file. Empty when `out` is exactly what the specs produce.
pub fn check(out: &Path, files: &Files) -> Result<Vec<String>, Error> {
    let mut diffs = Vec::new();
    for (rel, content) in files {
        match std::fs::read_to_string(out.join(rel)) {
            Ok(c) if &c == content => {}
            Ok(_) => diffs.push(format!("{rel}: differs from what the specs produce")),
            Err(_) => diffs.push(format!("{rel}: missing")),
        }
    }
    for extra in existing_files(out)? {
        if !files.contains_key(&extra) {
            diffs.push(format!("{extra}: no spec produces it"));
        }
    }
    Ok(diffs)
}

/// Generated files (`*.rs`, `*.md`, `*.py`, `*.json`) under `out`, relative, `/`-separated.
fn existing_files(out: &Path) -> Result<Vec<String>, Error> {
    let mut found = Vec::new();
    if out.is_dir() {
        walk(out, out, &mut found)?;
    }
    Ok(found)
}

fn walk(root: &Path, dir: &Path, found: &mut Vec<String>) -> Result<(), Error> {
    for entry in std::fs::read_dir(dir).map_err(|e| Error::Io(dir.to_path_buf(), e))? {
        let path = entry.map_err(|e| Error::Io(dir.to_path_buf(), e))?.path();
        if path.is_dir() {
            walk(root, &path, found)?;
        } else if matches!(path.extension().and_then(|e| e.to_str()), Some("rs" | "md" | "py" | "json")) {
            found.push(path.strip_prefix(root).unwrap_or(&path).to_string_lossy().replace('\\', "/"));
        }
    }
    Ok(())
}

/// The files whose change must regenerate the code: every spec file and every codegen source.
pub fn inputs(specs: &Path, codegen_dir: &Path) -> Result<Vec<PathBuf>, Error> {
    let mut v = load::spec_files(specs)?;
    for sub in ["src", "templates"] {
        let d = codegen_dir.join(sub);
        if d.is_dir() {
            let mut files = Vec::new();
            walk_all(&d, &mut files).map_err(|e| Error::Io(d.clone(), e))?;
            v.extend(files);
        }
    }
    v.sort();
    Ok(v)
}

fn walk_all(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let p = entry?.path();
        if p.is_dir() {
            walk_all(&p, out)?;
        } else {
            out.push(p);
        }
    }
    Ok(())
}
