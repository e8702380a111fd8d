-- Server-wide settings shared by every replica (e.g. the key that signs tokens).
CREATE TABLE settings (
    key TEXT NOT NULL PRIMARY KEY,
    value TEXT NOT NULL
);
