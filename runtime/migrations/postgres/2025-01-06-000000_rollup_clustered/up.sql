-- SQLite only: its rollup table becomes WITHOUT ROWID (see ../../sqlite). PostgreSQL
-- has no clustered tables; its schema is unchanged. Kept so both backends list the same
-- migrations.
SELECT 1;
