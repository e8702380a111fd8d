-- Dioptra experiments and the jobs (runs) in them. Keep in step with ../../sqlite and
-- src/store/schema.rs. Text columns use the "C" collation (bytewise, as SQLite).

-- An experiment of a tenant; its name is unique within its (Dioptra) group.
CREATE TABLE experiments (
    id          BIGSERIAL PRIMARY KEY,
    tenant      TEXT COLLATE "C" NOT NULL,
    group_id    BIGINT NOT NULL,
    name        TEXT COLLATE "C" NOT NULL,
    description TEXT COLLATE "C",
    created_us  BIGINT NOT NULL,
    updated_us  BIGINT NOT NULL,
    UNIQUE (tenant, group_id, name)
);

-- A run that is a job of an experiment (at most one experiment per run, as in Dioptra),
-- with the job's own attributes.
CREATE TABLE experiment_jobs (
    run_id                 BIGINT PRIMARY KEY REFERENCES runs (id) ON DELETE CASCADE,
    experiment_id          BIGINT NOT NULL REFERENCES experiments (id) ON DELETE CASCADE,
    description            TEXT COLLATE "C",
    status                 TEXT COLLATE "C" NOT NULL,
    timeout                TEXT COLLATE "C",
    queue_id               BIGINT,
    entrypoint_id          BIGINT,
    entrypoint_snapshot_id BIGINT,
    job_values             TEXT,
    created_us             BIGINT NOT NULL,
    updated_us             BIGINT NOT NULL
);
CREATE INDEX experiment_jobs_experiment ON experiment_jobs (experiment_id, run_id);
