-- Files attached to runs (Comet assets), kept in the database. Keep in step with
-- ../../postgres and src/store/schema.rs.

CREATE TABLE assets (
    id          INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    run_id      BIGINT  NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    asset_id    TEXT    NOT NULL UNIQUE,
    file_name   TEXT    NOT NULL,
    asset_type  TEXT    NOT NULL,
    step        BIGINT,
    epoch       BIGINT,
    context     TEXT,
    metadata    TEXT,
    source      TEXT    NOT NULL,
    file_size   BIGINT  NOT NULL,
    created_us  BIGINT  NOT NULL,
    content     BLOB    NOT NULL
);
-- the rowid (id) is implicitly the last key column of each: listings come in upload order
CREATE INDEX assets_run_name ON assets (run_id, file_name);
CREATE INDEX assets_run ON assets (run_id);
