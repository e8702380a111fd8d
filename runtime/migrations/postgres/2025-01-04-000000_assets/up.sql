-- Files attached to runs (Comet assets), kept in the database. Keep in step with
-- ../../sqlite and src/store/schema.rs. Text columns use the "C" collation (bytewise, as
-- SQLite).

CREATE TABLE assets (
    id          BIGSERIAL PRIMARY KEY,
    run_id      BIGINT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    asset_id    TEXT COLLATE "C" NOT NULL UNIQUE,
    file_name   TEXT COLLATE "C" NOT NULL,
    asset_type  TEXT COLLATE "C" NOT NULL,
    step        BIGINT,
    epoch       BIGINT,
    context     TEXT COLLATE "C",
    metadata    TEXT,
    source      TEXT COLLATE "C" NOT NULL,
    file_size   BIGINT NOT NULL,
    created_us  BIGINT NOT NULL,
    content     BYTEA NOT NULL
);
CREATE INDEX assets_run_name ON assets (run_id, file_name, id);
CREATE INDEX assets_run ON assets (run_id, id);
