//! Contract tests generated from the spec files: every operation version of every spec gets
//! a minimal and a full valid request and the negative cases its schemas imply; each is sent
//! to a live server through its API's protocol and the reply is judged against the spec
//! (`specmill contract`, `tests/contract.rs`).
//!
//! `plan` builds the cases from the IR, `send` puts them on the wire, `native` reads each
//! API's error format, `check` validates against the schemas, `allowlist` holds the
//! not-implemented rule and `summary` counts and prints.

pub mod allowlist;
pub mod check;
pub mod native;
pub mod plan;
pub mod send;
pub mod summary;

use std::collections::BTreeSet;
use std::path::PathBuf;

use serde_json::Value;
use specmill_codegen::ir::{Api, Kind, Schema};
use specmill_runtime::store::Store;

pub use allowlist::Allowlist;
use check::Checker;
use native::Native;
use plan::{Case, Expect, OpId, Phase};
use send::{Reply, Sender};
pub use summary::Report;

/// What to test against what.
#[derive(Debug, Clone)]
pub struct Options {
    /// The spec directory (as `specmill codegen` reads it).
    pub specs: PathBuf,
    /// The server's base URL.
    pub url: String,
    /// The allowlist of not-implemented operation versions (none: empty).
    pub allowlist: Option<PathBuf>,
    /// The server's store: when given, every negative case must leave it unchanged.
    pub database_url: Option<String>,
}

/// How one case went.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// A valid request answered 2xx with a body that matches the response schema.
    Validated,
    /// A valid request answered 2xx with a raw (non-JSON) body, or with no response schema.
    Accepted,
    /// A valid request refused for a reason that is not about validity (an unknown task).
    Semantic(String),
    /// An invalid request refused with a 4xx in the API's native format.
    Refused(String),
    /// An invalid request whose items the 2xx reply refuses one by one.
    ItemErrors,
    /// "Not implemented" in the API's native format.
    NotImplemented,
    /// A negative case the JSON Schema still accepts: not sent.
    NotInvalid(String),
    Failed(String),
}

#[derive(Debug, Clone)]
pub struct CaseResult {
    pub op: OpId,
    pub label: String,
    /// The request as `METHOD path body` (the body cut short).
    pub request: String,
    pub negative: bool,
    pub outcome: Outcome,
}

/// Run every case of the specs against the server and judge the replies.
pub fn run(opts: &Options) -> anyhow::Result<Report> {
    let apis = specmill_codegen::load::load_dir(&opts.specs)?;
    let allow = match &opts.allowlist {
        Some(p) => Allowlist::parse(&std::fs::read_to_string(p).map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))?)
            .map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))?,
        None => Allowlist::default(),
    };
    let store = opts.database_url.as_deref().map(Store::open).transpose()?;
    let sender = Sender::new(&opts.url)?;
    run_apis(&apis, &allow, &sender, store.as_ref())
}

fn run_apis(apis: &[Api], allow: &Allowlist, sender: &Sender, store: Option<&Store>) -> anyhow::Result<Report> {
    let mut report = Report::default();
    let mut all: Vec<(usize, Case)> = Vec::new();
    for (i, api) in apis.iter().enumerate() {
        let plan = plan::plan(api);
        report.add_api(&api.name, plan.op_versions, plan.skips);
        all.extend(plan.cases.into_iter().map(|c| (i, c)));
    }
    // Writes, then reads (which then find data), then every negative case (on a store with
    // data, so "unchanged" means something), then deletes.
    let rank = |c: &Case| match (&c.expect, c.phase) {
        (Expect::Valid, Phase::Write) => 0,
        (Expect::Valid, Phase::Read) => 1,
        (Expect::Invalid { .. }, _) => 2,
        (Expect::Valid, Phase::Delete) => 3,
    };
    all.sort_by_key(|(_, c)| rank(c));
    let mut checker = Checker::default();
    let mut fingerprint = match store {
        Some(s) => Some(s.fingerprint()?),
        None => None,
    };
    for (i, case) in &all {
        let api = &apis[*i];
        let outcome = match &case.expect {
            Expect::Valid => {
                let outcome = match sender.send(&case.request) {
                    Ok(reply) => judge_valid(api, case, &reply, &mut checker),
                    Err(e) => Outcome::Failed(format!("no reply: {e}")),
                };
                if let (Some(s), Some(_)) = (store, &fingerprint) {
                    fingerprint = Some(s.fingerprint()?);
                }
                outcome
            }
            Expect::Invalid { .. } => match still_valid(api, case, &mut checker) {
                Some(why) => Outcome::NotInvalid(why),
                None => {
                    let mut outcome = match sender.send(&case.request) {
                        Ok(reply) => judge_invalid(api, case, &reply, allow),
                        Err(e) => Outcome::Failed(format!("no reply: {e}")),
                    };
                    if let (Some(s), Some(before)) = (store, &fingerprint) {
                        let after = s.fingerprint()?;
                        if &after != before && !matches!(outcome, Outcome::Failed(_)) {
                            outcome = Outcome::Failed(format!("the store changed: {before} → {after}"));
                        }
                        fingerprint = Some(after);
                    }
                    outcome
                }
            },
        };
        let body = String::from_utf8_lossy(&case.request.body);
        let body: String = body.chars().take(200).collect();
        let request = format!("{} {} {body}", case.request.method, case.request.path);
        report.record(CaseResult { op: case.op.clone(), label: case.label.clone(), request, negative: case.expect != Expect::Valid, outcome });
    }
    // The allowlist: an operation is implemented when a valid request of it got anything
    // but "not implemented".
    let known: BTreeSet<OpId> = report.apis.iter().flat_map(|a| a.op_versions.iter().cloned()).collect();
    let mut not_implemented = BTreeSet::new();
    let mut working = BTreeSet::new();
    for r in report.cases.iter().filter(|r| !r.negative) {
        match r.outcome {
            Outcome::NotImplemented => not_implemented.insert(r.op.clone()),
            _ => working.insert(r.op.clone()),
        };
    }
    for (op, why) in allowlist::judge(allow, &known, &not_implemented, &working) {
        report.fail_op(&op, why);
    }
    report.not_implemented = not_implemented.into_iter().filter(|o| !working.contains(o)).collect();
    Ok(report)
}

fn judge_valid(api: &Api, case: &Case, reply: &Reply, checker: &mut Checker) -> Outcome {
    let status = reply.status;
    if (200..300).contains(&status) {
        if case.raw_response {
            return Outcome::Accepted;
        }
        let Some(schema) = &case.response else { return Outcome::Accepted };
        let payload = match native::payload(&api.name, reply) {
            Ok(p) => p,
            Err(e) => return Outcome::Failed(e),
        };
        return match checker.check(&format!("{} response", case.op), api, schema, &payload) {
            Ok(()) => Outcome::Validated,
            Err(errors) => Outcome::Failed(format!("{status}: the body does not match the response schema: {}", errors.join("; "))),
        };
    }
    let native = native::recognise(&api.name, reply);
    match (status, native) {
        (_, Native::NotImplemented) if status == 501 => Outcome::NotImplemented,
        (400..=499, Native::Refusal(why)) => Outcome::Semantic(format!("{status} {why}")),
        (400..=499, Native::Validation(why)) => Outcome::Failed(format!("{status}: a valid request refused as invalid: {why}")),
        (_, Native::Foreign(why)) => Outcome::Failed(format!("{status} not in the API's error format: {why}")),
        (_, other) => Outcome::Failed(format!("{status}: {other:?}")),
    }
}

fn judge_invalid(api: &Api, case: &Case, reply: &Reply, allow: &Allowlist) -> Outcome {
    let status = reply.status;
    if (200..300).contains(&status) {
        if native::reports_item_errors(&api.name, reply) {
            return Outcome::ItemErrors;
        }
        return Outcome::Failed(format!("{status}: an invalid request was accepted: {}", send::excerpt(reply)));
    }
    match native::recognise(&api.name, reply) {
        Native::Validation(why) | Native::Refusal(why) if (400..500).contains(&status) => Outcome::Refused(format!("{status} {why}")),
        Native::NotImplemented if allow.contains(&case.op) => Outcome::NotImplemented,
        Native::Foreign(why) => Outcome::Failed(format!("{status} not in the API's error format: {why}")),
        other => Outcome::Failed(format!("{status}: not a 4xx refusal: {other:?}")),
    }
}

/// Why a negative case is not invalid after all, per the JSON Schema of what it changed
/// (`None`: it is invalid, send it).
fn still_valid(api: &Api, case: &Case, checker: &mut Checker) -> Option<String> {
    if let Some((param, text)) = &case.param {
        let Some(text) = text else { return None }; // a required parameter left out
        let value = param_json(api, &param.schema, text);
        let key = format!("{} parameter {}", case.op, param.name);
        return checker.check(&key, api, &param.schema, &value).ok().map(|_| format!("`{text}` is a valid `{}`", param.name));
    }
    let (Some(schema), Some(body)) = (&case.body_schema, &case.body) else { return None };
    checker.check(&format!("{} request", case.op), api, schema, body).ok().map(|_| "the changed body still matches the request schema".into())
}

/// A parameter's text as the JSON value its schema describes.
fn param_json(api: &Api, schema: &Schema, text: &str) -> Value {
    let mut s = schema;
    while let Kind::Ref(r) = &s.kind {
        match api.types.named.get(r) {
            Some(n) => s = n,
            None => break,
        }
    }
    match &s.kind {
        Kind::Integer { .. } | Kind::Number { .. } | Kind::Timestamp(_) => {
            serde_json::from_str::<serde_json::Number>(text).map(Value::Number).unwrap_or_else(|_| Value::String(text.into()))
        }
        Kind::Boolean => match text {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => Value::String(text.into()),
        },
        _ => Value::String(text.into()),
    }
}
