CREATE TABLE scalar_rollup_rowid (
    run_id   BIGINT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    metric   TEXT NOT NULL,
    variant  TEXT NOT NULL,
    width    BIGINT NOT NULL,
    bucket   BIGINT NOT NULL,
    n        BIGINT NOT NULL,
    total    DOUBLE NOT NULL,
    points   BIGINT NOT NULL,
    PRIMARY KEY (run_id, width, metric, variant, bucket)
);
INSERT INTO scalar_rollup_rowid (run_id, metric, variant, width, bucket, n, total, points)
SELECT run_id, metric, variant, width, bucket, n, total, points FROM scalar_rollup;
DROP TABLE scalar_rollup;
ALTER TABLE scalar_rollup_rowid RENAME TO scalar_rollup;
