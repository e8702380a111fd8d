-- The API families of each run (the runs list shows them, and `api:` searches them): the
-- run's created_by and the source of every point written to it. Maintained inside the
-- write transaction (src/store/runs.rs, experiments.rs, scalars.rs), so a list page never
-- scans the points. Keep in step with ../../sqlite and src/store/schema.rs.
CREATE TABLE run_sources (
    run_id  BIGINT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    source  TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (run_id, source)
);

-- existing runs and points (UNION drops the duplicates)
INSERT INTO run_sources (run_id, source)
SELECT id, created_by FROM runs
UNION
SELECT DISTINCT run_id, source FROM scalars;
