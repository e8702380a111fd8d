DROP INDEX scalars_series;
CREATE INDEX scalars_series ON scalars (run_id, metric, variant, step);
DROP INDEX scalars_metric_step;
DROP TABLE scalar_rollup;
