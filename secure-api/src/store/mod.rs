//! What every store of shared state has in common — rate limits ([`crate::limit`]), token
//! state ([`crate::tokens`]) and API keys ([`crate::apikey`]) alike — and the stores that live
//! outside the process.

use std::future::Future;
use std::pin::Pin;

#[cfg(feature = "redis")]
mod redis;
#[cfg(feature = "sqlite")]
mod sqlite;

#[cfg(feature = "redis")]
pub use redis::RedisStore;
#[cfg(feature = "sqlite")]
pub use sqlite::SqliteTokenStore;

/// A boxed future, so that stores can be used as trait objects.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A store could not be asked (unreachable, timed out, refused the operation). Whatever asked
/// denies the request then (fail closed); the text is for the server's log, never the client.
#[derive(Debug, thiserror::Error)]
#[error("the store is unavailable: {0}")]
pub struct StoreUnavailable(pub String);
