-- specmill store, SQLite flavour. Keep in step with ../../postgres and src/store/schema.rs.
-- INTEGER PRIMARY KEY is SQLite's 64-bit rowid (BIGINT); AUTOINCREMENT keeps ids
-- from ever being reused, so ids grow with insertion order.

CREATE TABLE runs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    tenant      TEXT    NOT NULL,
    uid         TEXT    NOT NULL,
    name        TEXT    NOT NULL DEFAULT '',
    created_by  TEXT    NOT NULL,
    created_us  BIGINT  NOT NULL,
    updated_us  BIGINT  NOT NULL,
    UNIQUE (tenant, uid)
);

-- value holds the finite value (0 for specials); special: 0 finite, 1 NaN, 2 +inf,
-- 3 -inf, 4 -0.0 (SQLite folds -0.0 to 0 when it stores a REAL).
CREATE TABLE scalars (
    id          INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    run_id      BIGINT   NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    metric      TEXT     NOT NULL,
    variant     TEXT     NOT NULL DEFAULT '',
    step        BIGINT,
    ts_us       BIGINT   NOT NULL,
    value       DOUBLE   NOT NULL,
    special     SMALLINT NOT NULL CHECK (special BETWEEN 0 AND 4),
    source      TEXT     NOT NULL,
    point_key   TEXT     NOT NULL,
    extra       TEXT,
    UNIQUE (run_id, point_key)
);
CREATE INDEX scalars_series ON scalars (run_id, metric, variant, step);
-- the rowid (id) is implicitly the last key column, so this also serves ORDER BY ts_us, id
CREATE INDEX scalars_time ON scalars (run_id, ts_us);

CREATE TABLE events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    run_id      BIGINT  NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    event_type  TEXT    NOT NULL,
    metric      TEXT    NOT NULL DEFAULT '',
    variant     TEXT    NOT NULL DEFAULT '',
    iter        BIGINT,
    ts_us       BIGINT  NOT NULL,
    point_key   TEXT,
    payload     TEXT    NOT NULL,
    UNIQUE (run_id, event_type, point_key)
);
CREATE INDEX events_type_time ON events (run_id, event_type, ts_us);
-- timeline over all event types
CREATE INDEX events_time ON events (run_id, ts_us);

CREATE TABLE run_meta (
    run_id  BIGINT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    kind    TEXT   NOT NULL,
    key     TEXT   NOT NULL,
    value   TEXT   NOT NULL,
    ts_us   BIGINT NOT NULL,
    PRIMARY KEY (run_id, kind, key)
);
