//! `GET /ui/compare?run=1&run=2&metric=loss` (or `runs=1,2`): one metric of several runs on
//! one chart, each run's series downsampled on its own as ClearML's multi-task histogram does.

use std::collections::BTreeSet;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};
use askama::Template;
use specmill_runtime::store::{Run, Store, StoreError};

use super::chart::{self, Axis};
use super::run::ChartView;
use super::{blocking, html, message, query_value, store_failed, Ui, Viewer};

#[derive(Template)]
#[template(path = "ui/compare.html")]
struct ComparePage<'a> {
    viewer: Option<&'a Viewer>,
    runs: Vec<Run>,
    /// The runs as a `runs=` value.
    run_ids: String,
    metrics: Vec<String>,
    metric: String,
    axis: Axis,
    chart: Option<ChartView>,
}

impl ComparePage<'_> {
    fn metric_link(&self, metric: &str) -> String {
        format!("/ui/compare?runs={}&metric={}&x={}", self.run_ids, query_value(metric), self.axis.name())
    }

    fn axis_link(&self, x: &str) -> String {
        format!("/ui/compare?runs={}&metric={}&x={x}", self.run_ids, query_value(&self.metric))
    }
}

/// What the query asks: run ids (`run` repeated, or `runs` comma-separated), metric, axis.
fn parse(query: &str) -> Result<(Vec<i64>, Option<String>, Axis), String> {
    let mut ids = String::new();
    let (mut metric, mut axis) = (None, Axis::Step);
    for (k, v) in form_urlencoded::parse(query.as_bytes()) {
        match k.as_ref() {
            "run" | "runs" => {
                ids.push_str(&v);
                ids.push(',');
            }
            "metric" if !v.is_empty() => metric = Some(v.into_owned()),
            "x" => axis = Axis::parse(Some(&v)).ok_or("the x axis is `step` or `time`")?,
            _ => {}
        }
    }
    Ok((chart::parse_run_ids(&ids)?, metric, axis))
}

struct Compared {
    runs: Vec<Run>,
    metrics: Vec<String>,
    metric: String,
    chart: Option<ChartView>,
}

fn load(store: &Store, tenant: &str, ids: &[i64], metric: Option<String>, axis: Axis) -> Result<Result<Compared, i64>, StoreError> {
    let runs = match chart::own_runs(store, tenant, ids)? {
        Ok(runs) => runs,
        Err(id) => return Ok(Err(id)),
    };
    let mut metrics = BTreeSet::new();
    let mut common: Option<BTreeSet<String>> = None;
    for run in &runs {
        let of_run: BTreeSet<String> = store.scalar_series(run.id)?.into_iter().map(|(m, _)| m).collect();
        common = Some(match common {
            None => of_run.clone(),
            Some(c) => c.intersection(&of_run).cloned().collect(),
        });
        metrics.extend(of_run);
    }
    // the metric asked for, else the first one every run has, else the first one any run has
    let metric = metric.or_else(|| common.and_then(|c| c.into_iter().next())).or_else(|| metrics.iter().next().cloned()).unwrap_or_default();
    let chart = if metric.is_empty() {
        None
    } else {
        ChartView::all(chart::charts(store, &runs, Some(&metric), axis, None, &[chart::SAMPLES, chart::TABLE_SAMPLES])?).pop()
    };
    Ok(Ok(Compared { runs, metrics: metrics.into_iter().collect(), metric, chart }))
}

pub async fn page(req: HttpRequest, ui: actix_web::web::Data<Ui>, viewer: Viewer) -> HttpResponse {
    let (ids, metric, axis) = match parse(req.query_string()) {
        Ok(q) => q,
        Err(e) => return message(StatusCode::BAD_REQUEST, Some(&viewer), "Pick runs to compare", &e),
    };
    let (store, tenant) = (ui.store.clone(), viewer.tenant.clone());
    let ids2 = ids.clone();
    match blocking(move || load(&store, &tenant, &ids2, metric, axis)).await {
        Ok(Ok(c)) => html(&ComparePage {
            viewer: Some(&viewer),
            run_ids: ids.iter().map(|i| i.to_string()).collect::<Vec<_>>().join(","),
            runs: c.runs,
            metrics: c.metrics,
            metric: c.metric,
            axis,
            chart: c.chart,
        }),
        Ok(Err(id)) => message(StatusCode::NOT_FOUND, Some(&viewer), "No such run", &format!("Tenant {} has no run {id}.", viewer.tenant)),
        Err(e) => store_failed(&viewer, e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_come_repeated_or_comma_separated() {
        assert_eq!(parse("run=3&run=1&metric=loss").unwrap(), (vec![3, 1], Some("loss".into()), Axis::Step));
        assert_eq!(parse("runs=1,2,2&x=time").unwrap(), (vec![1, 2], None, Axis::Time));
        assert!(parse("runs=a").unwrap_err().contains("not a number"));
        assert!(parse("metric=loss").unwrap_err().contains("1 to 10"));
        assert!(parse("runs=1&x=epoch").is_err());
        assert!(parse(&(1..=11).map(|i| format!("run={i}")).collect::<Vec<_>>().join("&")).is_err());
    }
}
