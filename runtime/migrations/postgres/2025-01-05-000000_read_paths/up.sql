-- Read paths at scale (issue 9). Keep in step with ../../sqlite, src/store/schema.rs
-- and src/store/rollup.rs (WIDTHS).

-- Per-bucket aggregates of each scalar series, for the ClearML histogram: for each width
-- of the 1-2-5 ladder from 5 to 10^7, the bucket starting at floor(step / width) * width
-- (a NULL step counts as 0) holds the number and sum of the finite values in it, and the
-- number of all points (any value). Maintained inside the scalar write transaction.
CREATE TABLE scalar_rollup (
    run_id   BIGINT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    metric   TEXT COLLATE "C" NOT NULL,
    variant  TEXT COLLATE "C" NOT NULL,
    width    BIGINT NOT NULL,
    bucket   BIGINT NOT NULL,
    n        BIGINT NOT NULL,
    total    DOUBLE PRECISION NOT NULL,
    points   BIGINT NOT NULL,
    PRIMARY KEY (run_id, width, metric, variant, bucket)
);

-- existing points
WITH w (width) AS (VALUES (5), (10), (20), (50), (100), (200), (500), (1000), (2000), (5000), (10000), (20000), (50000), (100000), (200000), (500000), (1000000), (2000000), (5000000), (10000000))
INSERT INTO scalar_rollup (run_id, metric, variant, width, bucket, n, total, points)
SELECT run_id, metric, variant, width, bucket,
       SUM(CASE WHEN special IN (0, 4) THEN 1 ELSE 0 END),
       SUM(CASE WHEN special IN (0, 4) THEN value ELSE 0 END),
       COUNT(*)
FROM (SELECT s.run_id, s.metric, s.variant, s.value, s.special, w.width,
             (CASE WHEN COALESCE(s.step, 0) >= 0 THEN COALESCE(s.step, 0) / w.width
                   ELSE -((-COALESCE(s.step, 0) - 1) / w.width) - 1 END) * w.width AS bucket
      FROM scalars s CROSS JOIN w) b
GROUP BY run_id, metric, variant, width, bucket;

-- get_scalar_metric_data: one metric of a run by step, then ts_us and id (keyset pages)
CREATE INDEX scalars_metric_step ON scalars (run_id, metric, step, ts_us, id);

-- per-series reads ordered by step then ts_us (Dioptra snapshots, histogram bounds)
DROP INDEX scalars_series;
CREATE INDEX scalars_series ON scalars (run_id, metric, variant, step, ts_us, id);
