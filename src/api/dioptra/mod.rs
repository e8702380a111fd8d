//! Dioptra over the store: a job is a run (its job id is the run's numeric id), so runs of
//! every API are jobs; experiments group runs (`store::experiments`).
//!
//! - `metrics`: POST/GET job metrics, snapshots, and the experiment's jobs with their
//!   latest metrics (paging, sorting, the search language);
//! - `experiments`: creating experiments and jobs, attaching runs, reading a job.

mod experiments;
mod metrics;

use chrono::{DateTime, NaiveDateTime, Utc};
use specmill_runtime::auth::{Auth, DioptraRefusal};
use specmill_runtime::protocol::dioptra::{Error, SESSION_COOKIE};
use specmill_runtime::protocol::RequestContext;
use specmill_runtime::store::Store;

use crate::generated::dioptra::types::{
    AppendJobMetricRequest, AttachExperimentRunRequest, CreateExperimentJobRequest, CreateExperimentRequest, Experiment,
    ExperimentJobsMetricsPage, GetExperimentMetricsRequest, GetJobLatestMetricsRequest, GetJobMetricSnapshotsRequest, GetJobRequest, Job,
    Metric, MetricValue, MetricValueIn, MetricValueNamed, MetricsSnapshotPage, AuthLogoutRequest, LoginRequest, LoginResponse, LogoutResponse,
};
use crate::generated::dioptra::DioptraService;

pub const SOURCE: &str = "dioptra";

pub struct Dioptra {
    store: Store,
    auth: Auth,
}

impl Dioptra {
    pub fn new(store: Store, auth: Auth) -> Self {
        Dioptra { store, auth }
    }
}

/// `Set-Cookie` values: the session (and Flask-Login's remember cookie) for `token`, or
/// their removal when `token` is None.
fn session_cookies(token: Option<&str>) -> [String; 2] {
    let (value, age) = match token {
        Some(t) => (t, String::new()),
        None => ("", "; Max-Age=0".to_string()),
    };
    [SESSION_COOKIE, "dioptra_remember_token"].map(|name| format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax{age}"))
}

/// A metric value as Dioptra accepts it: a number, or a string Python's `float()` reads
/// (`"1.5"`, `"nan"`, `"NaN"`, `"inf"`, `"Infinity"`, `"-inf"`, …).
pub fn parse_value(v: &MetricValueIn) -> Option<f64> {
    match v {
        MetricValueIn::Number(n) => Some(*n),
        MetricValueIn::String(s) => {
            let t = s.trim().replace('_', "");
            match t.to_ascii_lowercase().as_str() {
                "nan" | "+nan" | "-nan" => Some(f64::NAN),
                "inf" | "+inf" | "infinity" | "+infinity" => Some(f64::INFINITY),
                "-inf" | "-infinity" => Some(f64::NEG_INFINITY),
                _ => t.parse::<f64>().ok(),
            }
        }
    }
}

/// How Dioptra writes a value: finite values as numbers, the others as `"nan"`/`"inf"`/`"-inf"`.
pub fn value_out(v: f64) -> MetricValue {
    if v.is_nan() {
        MetricValue::Named(MetricValueNamed::Nan)
    } else if v == f64::INFINITY {
        MetricValue::Named(MetricValueNamed::Inf)
    } else if v == f64::NEG_INFINITY {
        MetricValue::Named(MetricValueNamed::NegInf)
    } else {
        MetricValue::Number(v)
    }
}

/// ISO 8601 with an offset (normalised to UTC); a naive timestamp is taken as UTC.
pub fn parse_timestamp(s: &str) -> Option<i64> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s.trim()) {
        return Some(t.with_timezone(&Utc).timestamp_micros());
    }
    for fmt in ["%Y-%m-%dT%H:%M:%S%.f%:z", "%Y-%m-%d %H:%M:%S%.f%:z", "%Y-%m-%dT%H:%M%:z"] {
        if let Ok(t) = DateTime::parse_from_str(s.trim(), fmt) {
            return Some(t.with_timezone(&Utc).timestamp_micros());
        }
    }
    for fmt in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s.trim(), fmt) {
            return Some(t.and_utc().timestamp_micros());
        }
    }
    None
}

/// A time as Dioptra writes it (Python's `isoformat()` of a UTC datetime): seconds, the
/// microseconds when there are any, and `+00:00`.
pub fn iso(us: i64) -> String {
    let t = DateTime::<Utc>::from_timestamp_micros(us).unwrap_or_default();
    if us.rem_euclid(1_000_000) == 0 {
        t.format("%Y-%m-%dT%H:%M:%S+00:00").to_string()
    } else {
        t.format("%Y-%m-%dT%H:%M:%S%.6f+00:00").to_string()
    }
}

/// Percent-encodes `s` for a URL path segment or query value (everything but RFC 3986's
/// unreserved characters).
pub fn url_encode(s: &str) -> String {
    specmill_runtime::sigv4::uri_encode(s, false)
}

/// A path segment as the client meant it: the router leaves `%2F`, `%25` and `%2B`
/// encoded (they would change the path's meaning), so they are decoded here, in one pass.
pub fn path_segment(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(i) = rest.find('%') {
        out.push_str(&rest[..i]);
        let code = rest.get(i + 1..i + 3).map(str::to_ascii_uppercase);
        match code.as_deref() {
            Some("2F") => out.push('/'),
            Some("25") => out.push('%'),
            Some("2B") => out.push('+'),
            _ => {
                out.push('%');
                rest = &rest[i + 1..];
                continue;
            }
        }
        rest = &rest[i + 3..];
    }
    out.push_str(rest);
    out
}

impl DioptraService for Dioptra {
    /// Checks the user name and password of the config's `[[tenant.dioptra]]` users and sets
    /// the session cookies. Open server (no credentials configured): every login succeeds.
    async fn auth_login(&self, ctx: &RequestContext, request: LoginRequest) -> Result<LoginResponse, Error> {
        if !self.auth.is_open() {
            let token = self.auth.dioptra_login(&request.username, &request.password).map_err(|r| match r {
                DioptraRefusal::UnknownUser => Error::service(401, "UserDoesNotExistError", "A user with that name does not exist.", serde_json::json!({"username": request.username})),
                DioptraRefusal::WrongPassword => Error::service(401, "UserPasswordError", "Password Verification Failed.", serde_json::json!({})),
            })?;
            for cookie in session_cookies(Some(&token)) {
                ctx.add_reply_header("set-cookie", cookie);
            }
        }
        Ok(LoginResponse { username: request.username, status: "Login successful".into() })
    }

    /// Clears the session cookies. Sessions are signed tokens kept by the client, so
    /// `everywhere` cannot end the user's other sessions; it is echoed.
    async fn auth_logout(&self, ctx: &RequestContext, request: AuthLogoutRequest) -> Result<LogoutResponse, Error> {
        for cookie in session_cookies(None) {
            ctx.add_reply_header("set-cookie", cookie);
        }
        Ok(LogoutResponse { username: ctx.user.clone().unwrap_or_default(), status: "Logout successful".into(), everywhere: request.everywhere })
    }

    async fn create_experiment(&self, ctx: &RequestContext, request: CreateExperimentRequest) -> Result<Experiment, Error> {
        experiments::create_experiment(self, ctx, request).await
    }

    async fn create_experiment_job(&self, ctx: &RequestContext, request: CreateExperimentJobRequest) -> Result<Job, Error> {
        experiments::create_experiment_job(self, ctx, request).await
    }

    async fn attach_experiment_run(&self, ctx: &RequestContext, request: AttachExperimentRunRequest) -> Result<Job, Error> {
        experiments::attach_experiment_run(self, ctx, request).await
    }

    async fn get_job(&self, ctx: &RequestContext, request: GetJobRequest) -> Result<Job, Error> {
        experiments::get_job(self, ctx, request).await
    }

    /// Upsert on (job, name, step); 404 when the job does not exist.
    async fn append_job_metric(&self, ctx: &RequestContext, request: AppendJobMetricRequest) -> Result<Metric, Error> {
        metrics::append_job_metric(self, ctx, request).await
    }

    /// The value at the highest step of each metric name (an unknown job: `[]`).
    async fn get_job_latest_metrics(&self, ctx: &RequestContext, request: GetJobLatestMetricsRequest) -> Result<Vec<Metric>, Error> {
        metrics::get_job_latest_metrics(self, ctx, request).await
    }

    async fn get_job_metric_snapshots(
        &self,
        ctx: &RequestContext,
        request: GetJobMetricSnapshotsRequest,
    ) -> Result<MetricsSnapshotPage, Error> {
        metrics::get_job_metric_snapshots(self, ctx, request).await
    }

    async fn get_experiment_metrics(
        &self,
        ctx: &RequestContext,
        request: GetExperimentMetricsRequest,
    ) -> Result<ExperimentJobsMetricsPage, Error> {
        metrics::get_experiment_metrics(self, ctx, request).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_and_timestamps() {
        assert!(parse_value(&MetricValueIn::String("NaN".into())).unwrap().is_nan());
        assert_eq!(parse_value(&MetricValueIn::String("-Infinity".into())), Some(f64::NEG_INFINITY));
        assert_eq!(parse_value(&MetricValueIn::String(" 1.5 ".into())), Some(1.5));
        assert_eq!(parse_value(&MetricValueIn::String("1e400".into())), Some(f64::INFINITY));
        assert_eq!(parse_value(&MetricValueIn::String("abc".into())), None);
        assert_eq!(parse_timestamp("2024-01-15T10:30:00+02:00"), parse_timestamp("2024-01-15T08:30:00Z"));
        assert_eq!(parse_timestamp("2024-01-15T08:30:00"), parse_timestamp("2024-01-15T08:30:00+00:00"));
        assert_eq!(parse_timestamp("2024-01-15 10:30:00.5+02:00"), parse_timestamp("2024-01-15T08:30:00.5Z"));
        assert_eq!(parse_timestamp("yesterday"), None);
    }

    #[test]
    fn times_and_urls_as_dioptra_writes_them() {
        let t = parse_timestamp("2024-01-15T10:30:00+02:00").unwrap();
        assert_eq!(iso(t), "2024-01-15T08:30:00+00:00");
        assert_eq!(iso(t + 1500), "2024-01-15T08:30:00.001500+00:00");
        assert_eq!(url_encode("loss/train a%"), "loss%2Ftrain%20a%25");
        assert_eq!(path_segment("acc%2Fval%252F%2b%"), "acc/val%2F+%");
    }
}

/// Properties (issue 10): Dioptra's timestamps, metric values and path segments.
#[cfg(test)]
mod props {
    use super::*;
    use proptest::prelude::*;

    /// µs of 0001-01-01 and 10000-01-01.
    const MIN_US: i64 = -62_135_596_800_000_000;
    const END_US: i64 = 253_402_300_800_000_000;

    fn same(a: Option<f64>, b: f64) -> bool {
        a.is_some_and(|a| a == b || (a.is_nan() && b.is_nan()))
    }

    proptest! {
        #[test]
        fn written_times_read_back(us in MIN_US..END_US) {
            prop_assert_eq!(parse_timestamp(&iso(us)), Some(us), "{}", iso(us));
        }

        #[test]
        fn offsets_and_forms_read_as_utc(us in -2_208_988_800_000_000i64..7_258_118_400_000_000, offset_min in -1439i64..=1439, form in 0..4u8, frac in any::<bool>()) {
            // `us` is the local time; the instant is local - offset
            let us = if frac { us } else { us - us.rem_euclid(1_000_000) };
            let local = DateTime::<Utc>::from_timestamp_micros(us).unwrap().naive_utc();
            let sign = if offset_min < 0 { '-' } else { '+' };
            let offset = format!("{sign}{:02}:{:02}", offset_min.abs() / 60, offset_min.abs() % 60);
            let body = local.format(if frac { "%Y-%m-%dT%H:%M:%S%.6f" } else { "%Y-%m-%dT%H:%M:%S" }).to_string();
            let (text, want) = match form {
                0 => (format!("{body}{offset}"), us - offset_min * 60_000_000),
                1 => (format!("{}{offset}", body.replacen('T', " ", 1)), us - offset_min * 60_000_000),
                2 => (format!("{body}Z"), us),
                _ => (format!(" {body} "), us),
            };
            prop_assert_eq!(parse_timestamp(&text), Some(want), "{}", text);
        }

        #[test]
        fn any_text_is_a_time_or_refused(s in "\\PC{0,30}|[0-9T:Z+. -]{0,30}") {
            if let Some(us) = parse_timestamp(&s) {
                // what was read is an instant Dioptra can write and read again
                prop_assert_eq!(parse_timestamp(&iso(us)), Some(us), "{:?}", s);
            }
        }

        #[test]
        fn values_read_as_python_float_does(v in any::<f64>(), exp in any::<bool>(), pad in "[ ]{0,2}") {
            let text = if exp { format!("{pad}{v:e}{pad}") } else { format!("{pad}{v}{pad}") };
            prop_assert!(same(parse_value(&MetricValueIn::String(text.clone())), v), "{:?}", text);
            prop_assert!(same(parse_value(&MetricValueIn::Number(v)), v));
            match value_out(v) {
                MetricValue::Number(n) => prop_assert!(v.is_finite() && n.to_bits() == v.to_bits()),
                MetricValue::Named(_) => prop_assert!(!v.is_finite()),
            }
        }

        #[test]
        fn any_value_text_is_read_or_refused(s in "\\PC{0,12}|[0-9a-zA-Z_+.-]{0,12}") {
            if let Some(v) = parse_value(&MetricValueIn::String(s.clone())) {
                let t = s.trim().replace('_', "").to_ascii_lowercase();
                prop_assert!(v.is_finite() || t.contains("inf") || t.contains("nan") || t.parse::<f64>().is_ok_and(|x| x.is_infinite()), "{:?}", s);
            }
        }

        #[test]
        fn path_segments_decode_what_was_encoded(s in "\\PC{0,16}|[a/%+2Ff]{0,16}", lower in any::<bool>()) {
            let mut enc = String::new();
            for c in s.chars() {
                match c {
                    '%' => enc.push_str("%25"),
                    '/' => enc.push_str(if lower { "%2f" } else { "%2F" }),
                    '+' => enc.push_str(if lower { "%2b" } else { "%2B" }),
                    c => enc.push(c),
                }
            }
            prop_assert_eq!(path_segment(&enc), s.clone());
            if !s.contains('%') {
                prop_assert_eq!(path_segment(&s), s);
            }
        }
    }
}
