-- The demo's own data: users and the notes they own.
CREATE TABLE users (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    username      TEXT    NOT NULL UNIQUE,
    password_hash TEXT    NOT NULL,
    roles         TEXT    NOT NULL,          -- space-separated
    email_sealed  TEXT    NOT NULL           -- AEAD ciphertext (secure_api::seal)
);

CREATE TABLE notes (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    owner_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    title    TEXT    NOT NULL,
    body     TEXT    NOT NULL
);

CREATE INDEX notes_owner ON notes (owner_id);
