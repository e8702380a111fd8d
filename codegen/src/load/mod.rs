//! Loaders: one per spec format, each producing [`crate::ir::Api`]s. Loaders know spec
//! formats and nothing about Rust.

pub mod aws;
pub mod clearml;
pub mod jsonschema;
pub mod openapi;

use std::path::{Path, PathBuf};

use crate::ir::Api;

/// A spec file that could not be read, with the reason (and line, when the parser knows it).
#[derive(Debug, thiserror::Error)]
#[error("{file}: {reason}")]
pub struct LoadError {
    pub file: PathBuf,
    pub reason: String,
}

impl LoadError {
    pub fn new(file: impl Into<PathBuf>, reason: impl Into<String>) -> LoadError {
        LoadError { file: file.into(), reason: reason.into() }
    }
}

/// Every spec file under `dir` that a loader reads, sorted (the inputs of the build).
pub fn spec_files(dir: &Path) -> Result<Vec<PathBuf>, LoadError> {
    let mut out = Vec::new();
    collect(dir, &mut out)?;
    out.sort();
    Ok(out)
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), LoadError> {
    let entries = std::fs::read_dir(dir).map_err(|e| LoadError::new(dir, e.to_string()))?;
    for entry in entries {
        let path = entry.map_err(|e| LoadError::new(dir, e.to_string()))?.path();
        if path.is_dir() {
            collect(&path, out)?;
        } else if matches!(path.extension().and_then(|e| e.to_str()), Some("conf" | "json" | "yaml" | "yml")) {
            out.push(path);
        }
    }
    Ok(())
}

/// Load every API under `dir`:
/// - each directory holding `*.conf` files is one ClearML API named after the directory,
///   one service per file (files starting with `_` are include-only);
/// - each `*.json` AWS service model (`metadata` + `shapes`) is one API named after its directory;
/// - each `*.yaml`/`*.yml` OpenAPI document is one API named by `x-specmill-api` (or its file
///   stem); a YAML file without `openapi:` is a fragment the documents `$ref` (shared schemas).
///
/// APIs come back sorted by name.
pub fn load_dir(dir: &Path) -> Result<Vec<Api>, LoadError> {
    load_dir_reporting(dir).map(|(apis, _)| apis)
}

/// [`load_dir`], with the warnings of the loaders (OpenAPI: what a document has that was
/// skipped), each naming its file.
pub fn load_dir_reporting(dir: &Path) -> Result<(Vec<Api>, Vec<String>), LoadError> {
    let mut warnings = Vec::new();
    let files = spec_files(dir)?;
    let mut apis = Vec::new();
    let mut clearml_dirs: Vec<PathBuf> = Vec::new();
    for file in &files {
        let rel = file.strip_prefix(dir).unwrap_or(file).to_string_lossy().replace('\\', "/");
        match file.extension().and_then(|e| e.to_str()) {
            Some("conf") => {
                let parent = file.parent().unwrap_or(dir).to_path_buf();
                if !clearml_dirs.contains(&parent) {
                    clearml_dirs.push(parent);
                }
            }
            Some("json") => apis.push(aws::load_file(file, &rel, &dir_name(file))?),
            // a YAML file without `openapi:` is a fragment other documents `$ref` (shared schemas)
            _ if is_fragment(file) => {}
            _ => apis.push(openapi::load_file_reporting(file, &rel, &mut warnings)?),
        }
    }
    for d in clearml_dirs {
        let rel = d.strip_prefix(dir).unwrap_or(&d).to_string_lossy().replace('\\', "/");
        let name = d.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "clearml".into());
        apis.push(clearml::load_dir(&d, &rel, &name)?);
    }
    apis.sort_by(|a, b| a.name.cmp(&b.name));
    for pair in apis.windows(2) {
        if pair[0].name == pair[1].name {
            return Err(LoadError::new(dir, format!("two spec files define the API `{}`", pair[0].name)));
        }
    }
    Ok((apis, warnings))
}

/// A YAML file with no top-level `openapi` member: a part of other documents, not an API.
fn is_fragment(file: &Path) -> bool {
    let Ok(text) = std::fs::read_to_string(file) else { return false };
    match serde_yaml::from_str::<serde_json::Value>(&text) {
        Ok(v) => v.get("openapi").is_none() && v.is_object(),
        Err(_) => false, // the loader reports it
    }
}

fn dir_name(file: &Path) -> String {
    file.parent()
        .and_then(|p| p.file_name())
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "api".into())
}

/// Documentation strings of AWS models are HTML; keep their text.
pub(crate) fn html_to_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                out.push(' ');
            }
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    let text = out.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", "\"").replace("&amp;", "&");
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}
