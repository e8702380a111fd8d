//! The checked-in list of operation versions that may still answer "not implemented", and
//! its rule: it may only shrink. An operation that answers "not implemented" must be on it;
//! an operation on it that works (or that no spec defines) fails the run until it is removed.

use std::collections::BTreeSet;

use super::plan::OpId;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Allowlist {
    pub entries: BTreeSet<OpId>,
}

impl Allowlist {
    /// One `api operation version` per line (`-` for an unversioned API); `#` starts a comment.
    pub fn parse(text: &str) -> Result<Allowlist, String> {
        let mut entries = BTreeSet::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let parts: Vec<&str> = line.split_whitespace().collect();
            let [api, operation, version] = parts.as_slice() else {
                return Err(format!("line {}: expected `api operation version`, got `{line}`", n + 1));
            };
            entries.insert(OpId { api: api.to_string(), operation: operation.to_string(), version: version.to_string() });
        }
        Ok(Allowlist { entries })
    }

    pub fn contains(&self, op: &OpId) -> bool {
        self.entries.contains(op)
    }
}

/// The allowlist's verdicts: `(operation, why it fails the run)`.
///
/// - `not_implemented`: operations whose valid requests answered "not implemented";
/// - `working`: operations whose valid requests got any other answer;
/// - `known`: every operation version of the specs.
pub fn judge(allow: &Allowlist, known: &BTreeSet<OpId>, not_implemented: &BTreeSet<OpId>, working: &BTreeSet<OpId>) -> Vec<(OpId, String)> {
    let mut out = Vec::new();
    for op in not_implemented.difference(&allow.entries) {
        if !working.contains(op) {
            out.push((op.clone(), "answers \"not implemented\" but is not in the allowlist".to_string()));
        }
    }
    for op in &allow.entries {
        if !known.contains(op) {
            out.push((op.clone(), "is in the allowlist but no spec defines it: remove it".to_string()));
        } else if working.contains(op) {
            out.push((op.clone(), "is in the allowlist but works now: remove it (the list only shrinks)".to_string()));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(s: &str) -> OpId {
        let p: Vec<&str> = s.split(' ').collect();
        OpId { api: p[0].into(), operation: p[1].into(), version: p[2].into() }
    }

    fn set(ops: &[&str]) -> BTreeSet<OpId> {
        ops.iter().map(|s| op(s)).collect()
    }

    #[test]
    fn parses_lines_and_comments() {
        let a = Allowlist::parse("# header\n\nclearml get_task_log 2.13  # new\nlens get_x -\n").unwrap();
        assert_eq!(a.entries, set(&["clearml get_task_log 2.13", "lens get_x -"]));
        assert!(Allowlist::parse("clearml get_task_log").is_err());
    }

    #[test]
    fn the_list_only_shrinks() {
        let known = set(&["clearml a 2.1", "clearml b 2.1", "lens c -"]);
        let allow = Allowlist::parse("clearml a 2.1\nclearml b 2.1\n").unwrap();
        // Both allowlisted ops still answer "not implemented": fine.
        assert!(judge(&allow, &known, &set(&["clearml a 2.1", "clearml b 2.1"]), &set(&["lens c -"])).is_empty());
        // An allowlisted op that answers 2xx fails the run.
        let v = judge(&allow, &known, &set(&["clearml a 2.1"]), &set(&["clearml b 2.1", "lens c -"]));
        assert_eq!(v.len(), 1, "{v:?}");
        assert_eq!(v[0].0, op("clearml b 2.1"));
        assert!(v[0].1.contains("works now"));
        // An op outside the list that answers "not implemented" fails the run.
        let v = judge(&Allowlist::default(), &known, &set(&["lens c -"]), &set(&["clearml a 2.1"]));
        assert_eq!(v, vec![(op("lens c -"), "answers \"not implemented\" but is not in the allowlist".to_string())]);
        // An entry no spec defines is stale.
        let stale = Allowlist::parse("clearml gone 9.9").unwrap();
        assert!(judge(&stale, &known, &BTreeSet::new(), &known)[0].1.contains("no spec defines it"));
    }
}
