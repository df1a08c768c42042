//! SQLite, via sqlx (feature `sqlite`): token state and API keys that survive a restart and
//! are shared by the processes of one host.
//!
//! One [`SqliteTokenStore`] serves as both the [`TokenStore`](crate::tokens::TokenStore)
//! (`tokens.rs`) and the [`ApiKeyStore`](crate::apikey::ApiKeyStore) (`api_keys.rs`), on one
//! pool and one schema (`secure-api/migrations`).

mod api_keys;
mod tokens;

use super::StoreUnavailable;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions};
use std::str::FromStr as _;
use std::time::Duration;

/// The schema, embedded from `secure-api/migrations`.
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// How long a statement waits for another connection's write lock before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Token state and API keys in a SQLite database: a
/// [`TokenStore`](crate::tokens::TokenStore) with the semantics of
/// [`MemoryTokenStore`](crate::tokens::MemoryTokenStore) and an
/// [`ApiKeyStore`](crate::apikey::ApiKeyStore) with those of
/// [`MemoryApiKeyStore`](crate::apikey::MemoryApiKeyStore), but persistent.
///
/// Refresh tokens are stored only by their hash, with the
/// [`Principal`](crate::tokens::Principal) as JSON. Spending a token is one `BEGIN IMMEDIATE`
/// transaction, so two concurrent refreshes with the same token — from two tasks or two
/// processes sharing the file — cannot both succeed. Expired refresh tokens and revocations
/// are purged as new tokens are inserted.
///
/// API keys are stored by their SHA-256, never the key, with their roles and scopes as JSON.
/// They are records an administrator made: nothing purges them, and a revoked key stays
/// (with its first revocation time) for audit.
///
/// ```no_run
/// use secure_api::Security;
/// use secure_api::store::SqliteTokenStore;
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let store = SqliteTokenStore::open("sqlite://state.db").await?;
/// let security = Security::builder()
///     .issuer("https://auth.example.com")
///     .audience("notes-api")
///     .ephemeral_key()
///     .token_store(store.clone())
///     .api_key_store(store)
///     .build()?;
/// # Ok(()) }
/// ```
///
/// Give the store a database of its own: its migrations are tracked in sqlx's
/// `_sqlx_migrations` table, which would clash with an application's own migrations.
#[derive(Debug, Clone)]
pub struct SqliteTokenStore {
    pool: SqlitePool,
}

impl SqliteTokenStore {
    /// Opens (creating it if missing) the database at `path_or_url` — a file path or a
    /// `sqlite:` URL such as `sqlite://tokens.db` or `sqlite::memory:` — in WAL mode with a
    /// 5 s busy timeout, and brings its schema up to date.
    ///
    /// An in-memory database lives as long as the store and is served by one connection.
    pub async fn open(path_or_url: &str) -> Result<Self, StoreUnavailable> {
        let options = SqliteConnectOptions::from_str(path_or_url)
            .map_err(unavailable("cannot parse the database path or URL"))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .busy_timeout(BUSY_TIMEOUT);
        let in_memory = path_or_url.contains(":memory:") || path_or_url.contains("mode=memory");
        let pool_options = if in_memory {
            // Every connection to a named in-memory database shares it, but it vanishes with
            // the last one: keep exactly one, for ever.
            SqlitePoolOptions::new()
                .max_connections(1)
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None)
        } else {
            SqlitePoolOptions::new()
        };
        let pool = pool_options
            .connect_with(options)
            .await
            .map_err(unavailable("cannot open the database"))?;
        Self::from_pool(pool).await
    }

    /// A store on an existing pool, whose schema is brought up to date first. The pool's
    /// connections should have a busy timeout (sqlx's default is 5 s).
    pub async fn from_pool(pool: SqlitePool) -> Result<Self, StoreUnavailable> {
        MIGRATOR
            .run(&pool)
            .await
            .map_err(|error| StoreUnavailable(format!("sqlite store: migration: {error}")))?;
        Ok(Self { pool })
    }

    /// The connection pool.
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// Closes the pool and waits until every connection is closed; the store (and its clones)
    /// can then answer only errors.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Maps a database error to [`StoreUnavailable`], naming the operation. sqlx's messages carry
/// SQLite's, which name tables and columns, never bound values: no token, key or hash leaks.
fn unavailable(operation: &'static str) -> impl FnOnce(sqlx::Error) -> StoreUnavailable {
    move |error| StoreUnavailable(format!("sqlite store: {operation}: {error}"))
}

/// SQLite integers are `i64`; times past `i64::MAX` seconds are stored as `i64::MAX`.
fn to_sql(seconds: u64) -> i64 {
    i64::try_from(seconds).unwrap_or(i64::MAX)
}

fn from_sql(seconds: i64) -> u64 {
    u64::try_from(seconds).unwrap_or(0)
}
