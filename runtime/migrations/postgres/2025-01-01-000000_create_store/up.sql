-- specmill store, PostgreSQL flavour. Keep in step with ../../sqlite and src/store/schema.rs.
-- Key text columns use the "C" collation so that text compares and sorts bytewise,
-- exactly as SQLite's default BINARY collation does.

CREATE TABLE runs (
    id          BIGSERIAL PRIMARY KEY,
    tenant      TEXT COLLATE "C" NOT NULL,
    uid         TEXT COLLATE "C" NOT NULL,
    name        TEXT COLLATE "C" NOT NULL DEFAULT '',
    created_by  TEXT COLLATE "C" NOT NULL,
    created_us  BIGINT NOT NULL,
    updated_us  BIGINT NOT NULL,
    UNIQUE (tenant, uid)
);

-- value holds the finite value (0 for specials); special: 0 finite, 1 NaN, 2 +inf,
-- 3 -inf, 4 -0.0 (kept identical to the SQLite encoding).
CREATE TABLE scalars (
    id          BIGSERIAL PRIMARY KEY,
    run_id      BIGINT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    metric      TEXT COLLATE "C" NOT NULL,
    variant     TEXT COLLATE "C" NOT NULL DEFAULT '',
    step        BIGINT,
    ts_us       BIGINT NOT NULL,
    value       DOUBLE PRECISION NOT NULL,
    special     SMALLINT NOT NULL CHECK (special BETWEEN 0 AND 4),
    source      TEXT COLLATE "C" NOT NULL,
    point_key   TEXT COLLATE "C" NOT NULL,
    extra       TEXT,
    UNIQUE (run_id, point_key)
);
CREATE INDEX scalars_series ON scalars (run_id, metric, variant, step);
-- id is spelled out so ORDER BY ts_us, id (timeline keyset) reads the index in order
CREATE INDEX scalars_time ON scalars (run_id, ts_us, id);

CREATE TABLE events (
    id          BIGSERIAL PRIMARY KEY,
    run_id      BIGINT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    event_type  TEXT COLLATE "C" NOT NULL,
    metric      TEXT COLLATE "C" NOT NULL DEFAULT '',
    variant     TEXT COLLATE "C" NOT NULL DEFAULT '',
    iter        BIGINT,
    ts_us       BIGINT NOT NULL,
    point_key   TEXT COLLATE "C",
    payload     TEXT NOT NULL,
    UNIQUE (run_id, event_type, point_key)
);
CREATE INDEX events_type_time ON events (run_id, event_type, ts_us, id);
-- timeline over all event types
CREATE INDEX events_time ON events (run_id, ts_us, id);

CREATE TABLE run_meta (
    run_id  BIGINT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    kind    TEXT COLLATE "C" NOT NULL,
    key     TEXT COLLATE "C" NOT NULL,
    value   TEXT NOT NULL,
    ts_us   BIGINT NOT NULL,
    PRIMARY KEY (run_id, kind, key)
);
