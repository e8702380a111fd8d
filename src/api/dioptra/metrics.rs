//! Job metrics: write, latest per name, snapshots (paged by offset, in step order), and an
//! experiment's jobs with their latest metrics (paged, sorted, filtered by search).

use std::collections::BTreeMap;

use serde_json::json;
use specmill_runtime::protocol::dioptra::Error;
use specmill_runtime::protocol::RequestContext;
use specmill_runtime::search;
use specmill_runtime::store::experiments::{JobField, JobList, JobSort, JobTerm};
use specmill_runtime::store::series::PointQuery;
use specmill_runtime::store::{now_us, NewScalar, Scalar, ScalarOrder, SCALAR_EVENT_TYPE};

use super::{iso, parse_timestamp, parse_value, path_segment, url_encode, value_out, Dioptra, SOURCE};
use crate::api::{blocking, display_name};
use crate::generated::dioptra::types::{
    AppendJobMetricRequest, ExperimentJobsMetricsPage, GetExperimentMetricsRequest, GetJobLatestMetricsRequest,
    GetJobMetricSnapshotsRequest, JobIdMetrics, Metric, MetricSnapshot, MetricsSnapshotPage,
};

/// The paging envelope's members: `(isComplete, first, next, prev)`. `link(index)` makes
/// the URL of the page at `index`.
fn envelope(index: i64, page_length: i64, total: i64, link: impl Fn(i64) -> String) -> (bool, String, Option<String>, Option<String>) {
    let complete = total <= index.saturating_add(page_length);
    let next = (!complete).then(|| link(index.saturating_add(page_length)));
    let prev = (index > 0).then(|| link((index - page_length).max(0)));
    (complete, link(0), next, prev)
}

/// Orders points of one series by Dioptra's "latest": highest step (none lowest), then
/// newest, then last stored.
fn latest_key(s: &Scalar) -> (bool, i64, i64, i64) {
    (s.step.is_some(), s.step.unwrap_or(0), s.ts_us, s.id)
}

/// One `{name, value}` per display name, from the latest point of each (metric, variant):
/// where several series share a display name, the latest of them. Ordered by name.
fn latest_by_name(points: impl IntoIterator<Item = Scalar>) -> Vec<Metric> {
    let mut best: BTreeMap<String, Scalar> = BTreeMap::new();
    for p in points {
        let name = display_name(&p.metric, &p.variant);
        match best.get(&name) {
            Some(b) if latest_key(b) >= latest_key(&p) => {}
            _ => {
                best.insert(name, p);
            }
        }
    }
    best.into_iter().map(|(name, s)| Metric { name, value: value_out(s.value) }).collect()
}

pub(super) async fn append_job_metric(d: &Dioptra, ctx: &RequestContext, request: AppendJobMetricRequest) -> Result<Metric, Error> {
    let body = request.body;
    let value = parse_value(&body.value).ok_or_else(|| Error::field("value", "Not a valid number."))?;
    let ts_us = match &body.timestamp {
        Some(t) => parse_timestamp(t).ok_or_else(|| Error::field("timestamp", "Not a valid datetime."))?,
        None => now_us(),
    };
    let point = NewScalar {
        metric: body.name.clone(),
        variant: String::new(),
        step: Some(body.step),
        ts_us,
        value,
        source: SOURCE.into(),
        point_key: format!("{SOURCE}|{}|{}", body.name, body.step),
        extra: None,
    };
    let store = d.store.clone();
    let tenant = ctx.tenant.clone();
    let id = request.id;
    let found = blocking(move || match store.run_by_id(&tenant, id)? {
        Some(run) => store.put_scalars(run.id, &[point]).map(|_| true),
        None => Ok(false),
    })
    .await
    .map_err(Error::from)?;
    if !found {
        return Err(Error::not_found("job", "job_id", json!(id)));
    }
    Ok(Metric { name: body.name, value: value_out(value) })
}

pub(super) async fn get_job_latest_metrics(
    d: &Dioptra,
    ctx: &RequestContext,
    request: GetJobLatestMetricsRequest,
) -> Result<Vec<Metric>, Error> {
    let store = d.store.clone();
    let tenant = ctx.tenant.clone();
    let rows = blocking(move || match store.run_by_id(&tenant, request.id)? {
        Some(run) => store.latest_scalars(run.id),
        None => Ok(Vec::new()),
    })
    .await
    .map_err(Error::from)?;
    Ok(latest_by_name(rows))
}

/// The history of display name `name` of job `id`: one page in step order, and the total.
pub(super) async fn get_job_metric_snapshots(
    d: &Dioptra,
    ctx: &RequestContext,
    request: GetJobMetricSnapshotsRequest,
) -> Result<MetricsSnapshotPage, Error> {
    let (index, page_length) = (request.index, i64::from(request.page_length));
    let metric_name = path_segment(&request.name);
    let store = d.store.clone();
    let tenant = ctx.tenant.clone();
    let name = metric_name.clone();
    let (rows, total) = blocking(move || {
        let Some(run) = store.run_by_id(&tenant, request.id)? else { return Ok((Vec::new(), 0)) };
        let pairs: Vec<(String, String)> =
            store.metric_variants(run.id, SCALAR_EVENT_TYPE)?.into_iter().filter(|(m, v)| display_name(m, v) == name).collect();
        if pairs.is_empty() {
            return Ok((Vec::new(), 0));
        }
        let mut metrics: Vec<String> = pairs.iter().map(|(m, _)| m.clone()).collect();
        let mut variants: Vec<String> = pairs.iter().map(|(_, v)| v.clone()).collect();
        metrics.dedup();
        variants.sort();
        variants.dedup();
        let mut q = PointQuery {
            run_id: run.id,
            metrics: Some(metrics.clone()),
            variants: Some(variants.clone()),
            order: ScalarOrder::StepAsc,
            ..Default::default()
        };
        if let [(metric, variant)] = pairs.as_slice() {
            // one series: a page of its index range
            return store.series_page(run.id, metric, variant, index, page_length);
        }
        if metrics.len() == 1 || variants.len() == 1 {
            // the metric × variant product is exactly the pairs: page in the database
            let total = store.count_points(&q)?;
            q.offset = index;
            q.limit = Some(page_length);
            return Ok((store.points(&q)?, total));
        }
        // names that several metrics spell alike (`a/b` as metric, or metric `a` variant `b`)
        let all: Vec<Scalar> = store.points(&q)?.into_iter().filter(|s| pairs.contains(&(s.metric.clone(), s.variant.clone()))).collect();
        let total = all.len() as i64;
        Ok((all.into_iter().skip(index as usize).take(page_length as usize).collect(), total))
    })
    .await
    .map_err(Error::from)?;
    let base = format!("/api/v1/jobs/{}/metrics/{}/snapshots", request.id, url_encode(&metric_name));
    let (is_complete, first, next, prev) = envelope(index, page_length, total, |i| format!("{base}?index={i}&pageLength={page_length}"));
    let data = rows
        .into_iter()
        .map(|s| MetricSnapshot {
            name: metric_name.clone(),
            value: value_out(s.value),
            step: s.step.unwrap_or(0),
            timestamp: iso(s.ts_us),
        })
        .collect();
    Ok(MetricsSnapshotPage { index, is_complete, total_num_results: total, first, next, prev, data })
}

/// `sortBy` as a job sort key (`None` for absent or empty).
fn job_sort(sort_by: Option<&str>) -> Result<Option<JobSort>, Error> {
    Ok(Some(match sort_by.unwrap_or("") {
        "" => return Ok(None),
        "id" => JobSort::Id,
        "description" => JobSort::Description,
        "createdOn" => JobSort::CreatedOn,
        "lastModifiedOn" => JobSort::LastModifiedOn,
        "status" => JobSort::Status,
        "experiment" => JobSort::Experiment,
        "entrypoint" => JobSort::Entrypoint,
        "queue" => JobSort::Queue,
        other => return Err(Error::not_sortable("job", other)),
    }))
}

/// `search` parsed into job terms (422 `SearchParseError` when it cannot be).
fn job_terms(search_text: &str) -> Result<Vec<JobTerm>, Error> {
    let names: Vec<&str> = JobField::ALL.iter().map(|(n, _)| *n).collect();
    let terms = search::parse(search_text, &names).map_err(|e| Error::search_parse(search_text, &e.reason))?;
    Ok(terms
        .into_iter()
        .map(|t| JobTerm { field: t.field.and_then(|f| JobField::ALL.iter().find(|(n, _)| *n == f).map(|(_, f)| *f)), pattern: t.pattern })
        .collect())
}

pub(super) async fn get_experiment_metrics(
    d: &Dioptra,
    ctx: &RequestContext,
    request: GetExperimentMetricsRequest,
) -> Result<ExperimentJobsMetricsPage, Error> {
    let sort = job_sort(request.sort_by.as_deref())?;
    let search_text = request.search.clone().unwrap_or_default();
    let terms = job_terms(&search_text)?;
    let (index, page_length) = (request.index, i64::from(request.page_length));
    let list = JobList {
        tenant: ctx.tenant.clone(),
        experiment_id: request.id,
        terms,
        sort,
        descending: request.descending,
        offset: index,
        limit: page_length,
    };
    let store = d.store.clone();
    let (jobs, total, latest) = blocking(move || {
        let (jobs, total) = store.experiment_jobs(&list)?;
        let ids: Vec<i64> = jobs.iter().map(|j| j.run.id).collect();
        Ok((jobs, total, store.latest_scalars_of_runs(&ids)?))
    })
    .await
    .map_err(Error::from)?;
    let mut by_run: BTreeMap<i64, Vec<Scalar>> = BTreeMap::new();
    for s in latest {
        by_run.entry(s.run_id).or_default().push(s);
    }
    let data =
        jobs.iter().map(|j| JobIdMetrics { id: j.run.id, metrics: latest_by_name(by_run.remove(&j.run.id).unwrap_or_default()) }).collect();
    // the links keep the query that selected the jobs
    let mut query = String::new();
    if let Some(s) = request.sort_by.as_deref().filter(|s| !s.is_empty()) {
        query.push_str(&format!("&sortBy={}&descending={}", url_encode(s), request.descending));
    }
    if !search_text.is_empty() {
        query.push_str(&format!("&search={}", url_encode(&search_text)));
    }
    let base = format!("/api/v1/experiments/{}/metrics", request.id);
    let (is_complete, first, next, prev) =
        envelope(index, page_length, total, |i| format!("{base}?index={i}&pageLength={page_length}{query}"));
    Ok(ExperimentJobsMetricsPage { index, is_complete, total_num_results: total, first, next, prev, data })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(id: i64, metric: &str, variant: &str, step: Option<i64>, ts_us: i64, value: f64) -> Scalar {
        Scalar {
            id,
            run_id: 1,
            metric: metric.into(),
            variant: variant.into(),
            step,
            ts_us,
            value,
            source: "t".into(),
            point_key: id.to_string(),
            extra: None,
        }
    }

    #[test]
    fn latest_merges_series_that_share_a_name() {
        let got = latest_by_name([
            point(1, "loss", "", Some(3), 10, 0.3),
            point(2, "loss", "loss", Some(5), 5, 0.5),
            point(3, "acc", "val", None, 99, 0.9),
            point(4, "acc", "", Some(0), 1, 0.1),
        ]);
        let names: Vec<(String, MetricValueOut)> = got.iter().map(|m| (m.name.clone(), MetricValueOut::of(&m.value))).collect();
        assert_eq!(
            names,
            vec![
                ("acc".into(), MetricValueOut::N(0.1)),
                ("acc/val".into(), MetricValueOut::N(0.9)),
                ("loss".into(), MetricValueOut::N(0.5))
            ]
        );
    }

    #[derive(Debug, PartialEq)]
    enum MetricValueOut {
        N(f64),
        S(String),
    }

    impl MetricValueOut {
        fn of(v: &crate::generated::dioptra::types::MetricValue) -> Self {
            match v {
                crate::generated::dioptra::types::MetricValue::Number(n) => MetricValueOut::N(*n),
                crate::generated::dioptra::types::MetricValue::Named(s) => MetricValueOut::S(s.as_str().into()),
            }
        }
    }

    #[test]
    fn envelopes_move_by_offset() {
        let link = |i: i64| format!("?index={i}");
        assert_eq!(envelope(0, 2, 5, link), (false, "?index=0".into(), Some("?index=2".into()), None));
        assert_eq!(envelope(2, 2, 5, link), (false, "?index=0".into(), Some("?index=4".into()), Some("?index=0".into())));
        assert_eq!(envelope(4, 2, 5, link), (true, "?index=0".into(), None, Some("?index=2".into())));
        assert_eq!(envelope(1, 10, 5, link), (true, "?index=0".into(), None, Some("?index=0".into())));
        assert_eq!(envelope(0, 10, 0, link), (true, "?index=0".into(), None, None));
    }

    #[test]
    fn sort_keys_and_search_terms() {
        assert_eq!(job_sort(None).unwrap(), None);
        assert_eq!(job_sort(Some("")).unwrap(), None);
        assert_eq!(job_sort(Some("createdOn")).unwrap(), Some(JobSort::CreatedOn));
        assert!(job_sort(Some("bogus")).is_err());
        let terms = job_terms("status:fin*, resnet").unwrap();
        assert_eq!(terms[0].field, Some(JobField::Status));
        assert_eq!(terms[1].field, None);
        assert!(job_terms("bogus:x").is_err());
    }
}
