//! Redis: rate limits, failure counts, one-time values, token state and API keys shared by
//! every instance of an API — on one Redis or a Redis Cluster.
//!
//! One [`RedisStore`] serves as the [`RateLimitStore`](crate::limit::RateLimitStore), the
//! [`TokenStore`](crate::tokens::TokenStore) and the
//! [`ApiKeyStore`](crate::apikey::ApiKeyStore). Each decision is one Lua script — one round
//! trip, atomic — whose keys share a hash tag, so that on a cluster it runs on the one node
//! that owns them (`keys.rs` has the layout, `scripts.rs` the scripts). On one Redis, rate
//! decisions that arrive together share a script (`batches.rs`). Every key is
//! prefixed. Every key but those of API keys expires on its own, so Redis memory stays
//! bounded; API keys are records an administrator made, and stay — revoked ones too, for
//! audit — until removed by hand (`api_keys.rs`). Every call is bounded by a timeout; a Redis
//! that is down or slow makes the guard deny with 503 (fail closed), and the connection comes
//! back by itself when Redis does — or, on a cluster, when a replica has taken over.

mod api_keys;
mod batches;
mod connection;
mod denials;
mod keys;
mod limits;
mod scripts;
mod tokens;

use super::StoreUnavailable;
use crate::error::ConfigError;
use batches::Batches;
use connection::{Client, Connection};
use denials::Denials;
use keys::Keys;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::OnceCell;

/// The variable `SecurityBuilder::from_env` reads a Redis from, named in configuration errors.
const VARIABLE: &str = "SECURE_API_REDIS_URL";

/// Rate limits, failure counts, one-time values, token state and API keys in Redis or a
/// Redis Cluster (Valkey speaks the same protocol). Cloning shares the connection.
///
/// API keys (their hashes, never the keys) all live under the one hash tag `apikeys`, on one
/// node of a cluster, and do not expire: revoked keys stay for audit. Everything else expires
/// on its own.
///
/// ```no_run
/// # fn main() -> Result<(), secure_api::ConfigError> {
/// use secure_api::store::RedisStore;
/// let single = RedisStore::new("redis://redis.internal:6379/0")?;
/// let cluster = RedisStore::cluster(&["redis://10.0.0.1:7000", "redis://10.0.0.2:7000"])?;
/// // What `SECURE_API_REDIS_URL` holds: one URL, or the nodes of a cluster.
/// let either = RedisStore::from_urls("rediss://a.internal:7000,rediss://b.internal:7000")?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct RedisStore {
    inner: Arc<Inner>,
}

struct Inner {
    client: Client,
    connection: OnceCell<Connection>,
    /// Rate decisions sent in batches, on one Redis (`batches.rs`).
    batches: OnceCell<Batches>,
    keys: Keys,
    timeout: Duration,
    /// The 429s Redis gave, answered here until their retry time (`denials.rs`).
    denials: Denials,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URLs may hold a password: they are not printed.
        let mode = match self.inner.client {
            Client::Single(_) => "single",
            Client::Cluster(_) => "cluster",
        };
        f.debug_struct("RedisStore")
            .field("mode", &mode)
            .field("prefix", &self.inner.keys.prefix())
            .field("timeout", &self.inner.timeout)
            .finish_non_exhaustive()
    }
}

impl RedisStore {
    /// A store for the Redis at `url` (`redis://host:6379/0`, `rediss://…` for TLS, always
    /// with certificate verification; `valkey://` and `valkeys://` too). Nothing is connected
    /// until the first request, so an API can start while Redis is down — and will deny
    /// until it is up.
    pub fn new(url: &str) -> Result<Self, ConfigError> {
        let node = connection::parse(url).map_err(invalid)?;
        Client::single(node)
            .map(Self::with_client)
            .map_err(|error| invalid(format!("{:?}", error.kind())))
    }

    /// A store for the Redis Cluster that `nodes` belong to (URLs as for [`new`](Self::new),
    /// with one password and one TLS mode). One node is enough to find the others; list
    /// more, so that the store can start while one of them is down. Requests follow the
    /// slots as they move, and a failover is followed once a replica has taken over; until
    /// then the keys of the lost master are unavailable (requests on them are denied).
    pub fn cluster(nodes: &[&str]) -> Result<Self, ConfigError> {
        if nodes.is_empty() {
            return Err(invalid("a cluster needs at least one node"));
        }
        let nodes = nodes
            .iter()
            .map(|node| connection::parse(node))
            .collect::<Result<Vec<_>, _>>()
            .map_err(invalid)?;
        if !connection::alike(&nodes) {
            return Err(invalid(
                "the nodes of a cluster need one user, one password and one scheme \
                 (redis:// or rediss://)",
            ));
        }
        Client::cluster(nodes)
            .map(Self::with_client)
            .map_err(|error| invalid(format!("{:?}", error.kind())))
    }

    /// One URL for a single Redis, several separated by commas for the nodes of a cluster:
    /// what `SECURE_API_REDIS_URL` holds. A cluster behind one address needs
    /// [`cluster`](Self::cluster).
    pub fn from_urls(urls: &str) -> Result<Self, ConfigError> {
        let urls: Vec<&str> = urls
            .split(',')
            .map(str::trim)
            .filter(|url| !url.is_empty())
            .collect();
        match urls.as_slice() {
            [] => Err(invalid("no URL")),
            [url] => Self::new(url),
            nodes => Self::cluster(nodes),
        }
    }

    fn with_client(client: Client) -> Self {
        Self {
            inner: Arc::new(Inner {
                client,
                connection: OnceCell::new(),
                batches: OnceCell::new(),
                keys: Keys::new("secure_api:"),
                timeout: Duration::from_millis(500),
                denials: Denials::new(),
            }),
        }
    }

    /// Prefixes every key (default `secure_api:`), to share a Redis between applications.
    /// Braces are dropped from it: on a cluster they would decide where keys live.
    pub fn with_prefix(self, prefix: impl Into<String>) -> Self {
        let keys = Keys::new(&prefix.into());
        self.with_inner(|inner| inner.keys = keys)
    }

    /// The longest a call may take before the request is denied (default 500 ms).
    pub fn with_timeout(self, timeout: Duration) -> Self {
        self.with_inner(|inner| inner.timeout = timeout)
    }

    fn with_inner(self, change: impl FnOnce(&mut Inner)) -> Self {
        let mut inner = Arc::try_unwrap(self.inner).unwrap_or_else(|shared| Inner {
            client: shared.client.clone(),
            connection: OnceCell::new(),
            batches: OnceCell::new(),
            keys: shared.keys.clone(),
            timeout: shared.timeout,
            denials: Denials::new(),
        });
        change(&mut inner);
        Self {
            inner: Arc::new(inner),
        }
    }

    /// The connection, made on first use. It reconnects by itself after Redis went away;
    /// each call is still bounded by the timeout.
    async fn connection(&self) -> Result<Connection, StoreUnavailable> {
        let inner = &self.inner;
        let connect = || async {
            inner
                .client
                .connect(inner.timeout)
                .await
                .map_err(unavailable)
        };
        let connection =
            tokio::time::timeout(inner.timeout, inner.connection.get_or_try_init(connect))
                .await
                .map_err(|_| StoreUnavailable("redis: connection timed out".into()))??;
        Ok(connection.clone())
    }

    /// Runs one command or script against Redis, within the timeout.
    async fn call<T>(
        &self,
        operation: impl AsyncFnOnce(&mut Connection) -> redis::RedisResult<T>,
    ) -> Result<T, StoreUnavailable> {
        let mut connection = self.connection().await?;
        tokio::time::timeout(self.inner.timeout, operation(&mut connection))
            .await
            .map_err(|_| timed_out())?
            .map_err(unavailable)
    }

    fn keys(&self) -> &Keys {
        &self.inner.keys
    }

    fn denials(&self) -> &Denials {
        &self.inner.denials
    }
}

fn invalid(reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        name: VARIABLE.into(),
        reason: reason.into(),
    }
}

fn timed_out() -> StoreUnavailable {
    StoreUnavailable("redis: timed out".into())
}

fn unavailable(error: redis::RedisError) -> StoreUnavailable {
    // The kind and category only: a message could echo a key, and keys hold subjects.
    StoreUnavailable(format!("redis: {} ({:?})", error.category(), error.kind()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(store: &RedisStore) -> String {
        format!("{store:?}")
    }

    #[test]
    fn one_url_is_a_single_redis_and_several_a_cluster() {
        let single = RedisStore::from_urls(" redis://127.0.0.1:6379/ ").expect("one URL");
        assert!(mode(&single).contains("single"), "{single:?}");
        let cluster = RedisStore::from_urls("redis://127.0.0.1:7000,redis://127.0.0.1:7001,")
            .expect("two nodes");
        assert!(mode(&cluster).contains("cluster"), "{cluster:?}");
        assert!(RedisStore::from_urls(" , ").is_err());
        assert!(RedisStore::cluster(&[]).is_err());
    }

    #[test]
    fn urls_that_cannot_be_used_say_why_without_their_password() {
        let insecure = RedisStore::new("rediss://:hunter2@127.0.0.1:6379/#insecure")
            .expect_err("no unverified TLS")
            .to_string();
        assert!(insecure.contains("verification"), "{insecure}");
        let mixed = RedisStore::from_urls("redis://:hunter2@127.0.0.1:7000,redis://127.0.0.1:7001")
            .expect_err("one password for a cluster")
            .to_string();
        assert!(mixed.contains("password"), "{mixed}");
        let garbage = RedisStore::new("http://:hunter2@example.org").expect_err("not Redis");
        for error in [insecure, mixed, garbage.to_string()] {
            assert!(!error.contains("hunter2"), "{error}");
        }
    }
}
