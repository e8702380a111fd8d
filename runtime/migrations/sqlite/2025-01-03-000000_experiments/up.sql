-- Dioptra experiments and the jobs (runs) in them. Keep in step with ../../postgres and
-- src/store/schema.rs.

-- An experiment of a tenant; its name is unique within its (Dioptra) group.
CREATE TABLE experiments (
    id          INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    tenant      TEXT    NOT NULL,
    group_id    BIGINT  NOT NULL,
    name        TEXT    NOT NULL,
    description TEXT,
    created_us  BIGINT  NOT NULL,
    updated_us  BIGINT  NOT NULL,
    UNIQUE (tenant, group_id, name)
);

-- A run that is a job of an experiment (at most one experiment per run, as in Dioptra),
-- with the job's own attributes.
CREATE TABLE experiment_jobs (
    run_id                 INTEGER PRIMARY KEY NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    experiment_id          BIGINT  NOT NULL REFERENCES experiments (id) ON DELETE CASCADE,
    description            TEXT,
    status                 TEXT    NOT NULL,
    timeout                TEXT,
    queue_id               BIGINT,
    entrypoint_id          BIGINT,
    entrypoint_snapshot_id BIGINT,
    job_values             TEXT,
    created_us             BIGINT  NOT NULL,
    updated_us             BIGINT  NOT NULL
);
CREATE INDEX experiment_jobs_experiment ON experiment_jobs (experiment_id, run_id);
