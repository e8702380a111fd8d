//! Counting and printing: per API the operation versions, the cases sent, the valid
//! requests answered 2xx with a validated body or refused for a non-validity reason, the
//! invalid ones refused, what was skipped, what is not implemented, and every failure.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use specmill_codegen::cases::Skip;

use super::plan::OpId;
use super::{CaseResult, Outcome};

#[derive(Debug, Clone, Default)]
pub struct ApiSummary {
    pub api: String,
    pub op_versions: Vec<OpId>,
    /// Requests sent.
    pub sent: usize,
    /// Valid requests: 2xx with a body that matches the response schema.
    pub validated: usize,
    /// Valid requests: 2xx without a JSON body to check (raw replies).
    pub accepted: usize,
    /// Valid requests refused for a reason that is not about validity (unknown task).
    pub semantic_4xx: usize,
    /// Invalid requests refused with a native 4xx (or per-item errors).
    pub refused: usize,
    /// Negative cases not built or not sent, by reason.
    pub skipped: BTreeMap<String, usize>,
    pub failures: Vec<String>,
}

#[derive(Debug, Clone, Default)]
pub struct Report {
    pub apis: Vec<ApiSummary>,
    pub cases: Vec<CaseResult>,
    /// Operation versions whose valid requests answered "not implemented".
    pub not_implemented: Vec<OpId>,
}

impl Report {
    pub(super) fn add_api(&mut self, api: &str, op_versions: Vec<OpId>, skips: Vec<(OpId, Skip)>) {
        let mut s = ApiSummary { api: api.to_string(), op_versions, ..ApiSummary::default() };
        for (_, skip) in skips {
            *s.skipped.entry(skip.reason.to_string()).or_default() += 1;
        }
        self.apis.push(s);
    }

    fn api_mut(&mut self, api: &str) -> &mut ApiSummary {
        if let Some(i) = self.apis.iter().position(|a| a.api == api) {
            return &mut self.apis[i];
        }
        self.apis.push(ApiSummary { api: api.to_string(), ..ApiSummary::default() });
        self.apis.last_mut().expect("just pushed")
    }

    pub(super) fn record(&mut self, r: CaseResult) {
        let s = self.api_mut(&r.op.api);
        if !matches!(r.outcome, Outcome::NotInvalid(_)) {
            s.sent += 1;
        }
        match &r.outcome {
            Outcome::Validated => s.validated += 1,
            Outcome::Accepted => s.accepted += 1,
            Outcome::Semantic(_) => s.semantic_4xx += 1,
            Outcome::Refused(_) | Outcome::ItemErrors => s.refused += 1,
            Outcome::NotImplemented => {}
            Outcome::NotInvalid(_) => *s.skipped.entry("the JSON Schema accepts the changed request".into()).or_default() += 1,
            Outcome::Failed(why) => s.failures.push(format!("{} [{}]: {why}", r.op, r.label)),
        }
        self.cases.push(r);
    }

    pub(super) fn fail_op(&mut self, op: &OpId, why: String) {
        self.api_mut(&op.api).failures.push(format!("{op}: {why}"));
    }

    pub fn failures(&self) -> usize {
        self.apis.iter().map(|a| a.failures.len()).sum()
    }

    pub fn passed(&self) -> bool {
        self.failures() == 0
    }

    /// The cases of one operation version (`api operation version`), as `label → outcome`.
    pub fn cases_of(&self, op: &str) -> Vec<&CaseResult> {
        self.cases.iter().filter(|c| c.op.to_string() == op).collect()
    }

    /// One line per case: operation, label, outcome.
    pub fn render_cases(&self) -> String {
        let mut out = String::new();
        for c in &self.cases {
            let _ = writeln!(out, "{} [{}] {:?}\n    {}", c.op, c.label, c.outcome, c.request);
        }
        out
    }

    /// The printed summary.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "contract tests: {} APIs, {} cases", self.apis.len(), self.cases.len());
        let _ = writeln!(
            out,
            "{:<10} {:>6} {:>6} {:>10} {:>9} {:>9} {:>8} {:>8} {:>8}",
            "api", "ops", "sent", "2xx+valid", "2xx raw", "sem. 4xx", "refused", "skipped", "failed"
        );
        for a in &self.apis {
            let _ = writeln!(
                out,
                "{:<10} {:>6} {:>6} {:>10} {:>9} {:>9} {:>8} {:>8} {:>8}",
                a.api,
                a.op_versions.len(),
                a.sent,
                a.validated,
                a.accepted,
                a.semantic_4xx,
                a.refused,
                a.skipped.values().sum::<usize>(),
                a.failures.len()
            );
        }
        let _ = writeln!(out, "not implemented ({}):", self.not_implemented.len());
        for op in &self.not_implemented {
            let _ = writeln!(out, "  {op}");
        }
        let mut reasons: BTreeMap<&str, usize> = BTreeMap::new();
        for a in &self.apis {
            for (why, n) in &a.skipped {
                *reasons.entry(why).or_default() += n;
            }
        }
        let _ = writeln!(out, "skipped negative cases, by reason:");
        for (why, n) in reasons {
            let _ = writeln!(out, "  {n:>5}  {why}");
        }
        let _ = writeln!(out, "failures ({}):", self.failures());
        for a in &self.apis {
            for f in &a.failures {
                let _ = writeln!(out, "  {f}");
            }
        }
        out
    }
}
