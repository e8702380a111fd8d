//! Validation that generated code runs on decoded requests: each generated type implements
//! [`Validate`] from its schema's constraints, and a [`Validator`] collects every violation
//! with the path of the member that broke it (not just the first).

pub use regex::Regex;

/// One broken constraint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// Where, as `MetricData[3].MetricName` (empty for the value itself).
    pub path: String,
    pub message: String,
}

pub trait Validate {
    fn validate(&self, v: &mut Validator);
}

/// A boxed member (a schema that contains itself) validates as its value.
impl<T: Validate + ?Sized> Validate for Box<T> {
    fn validate(&self, v: &mut Validator) {
        (**self).validate(v)
    }
}

#[derive(Debug, Default)]
pub struct Validator {
    path: Vec<String>,
    pub violations: Vec<Violation>,
}

impl Validator {
    pub fn enter(&mut self, member: &str) {
        self.path.push(if self.path.is_empty() { member.to_string() } else { format!(".{member}") });
    }
    pub fn enter_index(&mut self, i: usize) {
        self.path.push(format!("[{i}]"));
    }
    pub fn leave(&mut self) {
        self.path.pop();
    }
    fn fail(&mut self, message: String) {
        self.violations.push(Violation { path: self.path.concat(), message });
    }
    pub fn length(&mut self, len: u64, min: Option<u64>, max: Option<u64>) {
        if let Some(m) = min.filter(|m| len < *m) {
            self.fail(format!("length {len} is less than the minimum {m}"));
        }
        if let Some(m) = max.filter(|m| len > *m) {
            self.fail(format!("length {len} is more than the maximum {m}"));
        }
    }
    /// The pattern is matched anywhere in the value (ECMA-262 `test` semantics, as Smithy and
    /// JSON Schema define it); a pattern that must match in full carries its own `^…$`.
    pub fn pattern(&mut self, value: &str, re: &Regex, text: &str) {
        if !re.is_match(value) {
            self.fail(format!("value does not match the pattern {text}"));
        }
    }
    /// Alternative sets of members (`present[i]`: every member of set `i` is there, named
    /// `names[i]`): at least one set, or exactly one when `exclusive`.
    pub fn alternatives(&mut self, present: &[bool], names: &[&str], exclusive: bool) {
        let given = present.iter().filter(|p| **p).count();
        if exclusive && given != 1 {
            self.fail(format!("Give exactly one of {}.", join_alternatives(names, "and")));
        } else if given == 0 {
            self.fail(format!("either {} is required", join_alternatives(names, "or")));
        }
    }
    pub fn range(&mut self, value: f64, min: Option<f64>, max: Option<f64>) {
        if let Some(m) = min.filter(|m| value < *m) {
            self.fail(format!("{value} is less than the minimum {m}"));
        }
        if let Some(m) = max.filter(|m| value > *m) {
            self.fail(format!("{value} is more than the maximum {m}"));
        }
    }
    pub fn items(&mut self, len: u64, min: Option<u64>, max: Option<u64>) {
        if let Some(m) = min.filter(|m| len < *m) {
            self.fail(format!("{len} items is fewer than the minimum {m}"));
        }
        if let Some(m) = max.filter(|m| len > *m) {
            self.fail(format!("{len} items is more than the maximum {m}"));
        }
    }
    pub fn equals(&mut self, value: &serde_json::Value, expected: &str) {
        if value.to_string() != expected {
            self.fail(format!("value must be {expected}"));
        }
    }
}

/// Every violation of `value`, or `Ok`.
pub fn validate<T: Validate + ?Sized>(value: &T) -> Result<(), Vec<Violation>> {
    let mut v = Validator::default();
    value.validate(&mut v);
    if v.violations.is_empty() {
        Ok(())
    } else {
        Err(v.violations)
    }
}

impl<T: Validate> Validate for Vec<T> {
    fn validate(&self, v: &mut Validator) {
        for (i, item) in self.iter().enumerate() {
            v.enter_index(i);
            item.validate(v);
            v.leave();
        }
    }
}

impl<T: Validate> Validate for Option<T> {
    fn validate(&self, v: &mut Validator) {
        if let Some(x) = self {
            x.validate(v);
        }
    }
}

macro_rules! unconstrained {
    ($($t:ty),*) => { $(impl Validate for $t { fn validate(&self, _: &mut Validator) {} })* };
}
unconstrained!(serde_json::Value, serde_json::Map<String, serde_json::Value>, String, bool, i32, i64, f64, crate::wire::Double, crate::wire::EpochSeconds, crate::wire::FilePart);

/// `a, b and c` / `a or b`.
fn join_alternatives(names: &[&str], word: &str) -> String {
    match names {
        [] => String::new(),
        [one] => one.to_string(),
        [rest @ .., last] => format!("{} {word} {last}", rest.join(", ")),
    }
}
