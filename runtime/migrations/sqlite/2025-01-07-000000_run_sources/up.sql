-- The API families of each run (the runs list shows them, and `api:` searches them): the
-- run's created_by and the source of every point written to it. Maintained inside the
-- write transaction (src/store/runs.rs, experiments.rs, scalars.rs), so a list page never
-- scans the points. Keep in step with ../../postgres and src/store/schema.rs.
-- WITHOUT ROWID: the table is its key, read and written as one B-tree.
CREATE TABLE run_sources (
    run_id  BIGINT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    source  TEXT NOT NULL,
    PRIMARY KEY (run_id, source)
) WITHOUT ROWID;

-- existing runs and points (UNION drops the duplicates)
INSERT INTO run_sources (run_id, source)
SELECT id, created_by FROM runs
UNION
SELECT DISTINCT run_id, source FROM scalars;
