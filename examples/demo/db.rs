//! The demo's SQLite database: opening and migrating it, pages of results, accounts, and the
//! one way a database failure is answered. Every query is parameterized.

use crate::state::Demo;
use axum::http::StatusCode;
use secure_api::Problem;
use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode};
use std::error::Error;
use std::str::FromStr;

/// Opens (and migrates) the database at `path`; `fresh` empties it first.
pub(crate) async fn open(path: &str, fresh: bool) -> Result<SqlitePool, Box<dyn Error>> {
    if fresh {
        remove_files(path)?;
    }
    let options = SqliteConnectOptions::from_str(path)?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .foreign_keys(true);
    let pool = SqlitePool::connect_with(options).await?;
    sqlx::migrate!("examples/demo/migrations")
        .run(&pool)
        .await?;
    Ok(pool)
}

/// Removes a SQLite database and its WAL files, if they exist.
pub(crate) fn remove_files(path: &str) -> std::io::Result<()> {
    for file in [
        path.to_owned(),
        format!("{path}-wal"),
        format!("{path}-shm"),
    ] {
        match std::fs::remove_file(&file) {
            Err(error) if error.kind() != std::io::ErrorKind::NotFound => return Err(error),
            _ => {}
        }
    }
    Ok(())
}

/// Any database failure: logged, answered as a bare 500.
pub(crate) fn error(error: sqlx::Error) -> Problem {
    tracing::error!(target: "demo", %error, "database error");
    Problem::internal()
}

/// `?limit=20&offset=0`, bounded.
#[derive(serde::Deserialize, garde::Validate, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Page {
    #[garde(range(min = 1, max = 100))]
    #[serde(default = "Page::default_limit")]
    pub(crate) limit: u32,
    #[garde(range(max = 1_000_000))]
    #[serde(default)]
    pub(crate) offset: u32,
}

impl Page {
    fn default_limit() -> u32 {
        20
    }
}

/// Inserts an account; the e-mail address is sealed before it is stored.
pub(crate) async fn create_user(
    demo: &Demo,
    username: &str,
    password_hash: &str,
    roles: &str,
    email: &str,
) -> Result<i64, Problem> {
    // The username is the associated data: a sealed address copied to another row won't open.
    let sealed = demo
        .sealer
        .seal(email.as_bytes(), username.as_bytes())
        .map_err(|_| Problem::internal())?;
    let inserted = sqlx::query_scalar::<_, i64>(
        "INSERT INTO users (username, password_hash, roles, email_sealed) VALUES (?, ?, ?, ?) \
         RETURNING id",
    )
    .bind(username)
    .bind(password_hash)
    .bind(roles)
    .bind(sealed)
    .fetch_one(&demo.db)
    .await;
    match inserted {
        Ok(id) => Ok(id),
        Err(sqlx::Error::Database(error)) if error.is_unique_violation() => Err(Problem::new(
            StatusCode::CONFLICT,
            "This username is taken.",
        )),
        Err(error) => Err(self::error(error)),
    }
}

/// Creates the `admin` account unless it exists; says whether it did.
pub(crate) async fn create_admin(demo: &Demo, password: &str) -> Result<bool, Box<dyn Error>> {
    let existing: Option<i64> = sqlx::query_scalar("SELECT id FROM users WHERE username = 'admin'")
        .fetch_optional(&demo.db)
        .await?;
    if existing.is_some() {
        return Ok(false);
    }
    let hash = demo.login.passwords().hash(password)?;
    create_user(demo, "admin", &hash, "admin", "admin@demo.invalid")
        .await
        .map_err(|problem| problem.to_string())?;
    Ok(true)
}
