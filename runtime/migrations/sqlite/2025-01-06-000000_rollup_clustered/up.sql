-- The rollup table clustered on its key (issue 9): a histogram read of one series is one
-- range of the table's own B-tree instead of an index range plus a table lookup per row,
-- and each rollup upsert updates one B-tree instead of two. Same columns and key as
-- 2025-01-05-000000_read_paths.
CREATE TABLE scalar_rollup_clustered (
    run_id   BIGINT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    metric   TEXT NOT NULL,
    variant  TEXT NOT NULL,
    width    BIGINT NOT NULL,
    bucket   BIGINT NOT NULL,
    n        BIGINT NOT NULL,
    total    DOUBLE NOT NULL,
    points   BIGINT NOT NULL,
    PRIMARY KEY (run_id, width, metric, variant, bucket)
) WITHOUT ROWID;
INSERT INTO scalar_rollup_clustered (run_id, metric, variant, width, bucket, n, total, points)
SELECT run_id, metric, variant, width, bucket, n, total, points FROM scalar_rollup;
DROP TABLE scalar_rollup;
ALTER TABLE scalar_rollup_clustered RENAME TO scalar_rollup;
