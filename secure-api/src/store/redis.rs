//! Redis: rate limits and token state shared by every instance of an API.
//!
//! One [`RedisStore`] serves as both the [`RateLimitStore`] and the [`TokenStore`]. Each
//! decision is one Lua script — one round trip, atomic — loaded once and called by `EVALSHA`
//! (reloaded on `NOSCRIPT`). Every key is prefixed and expires on its own, so Redis memory
//! stays bounded. Every call is bounded by a timeout; a Redis that is down or slow makes the
//! guard deny with 503 (fail closed), and the connection comes back by itself when Redis does.
//!
//! The scripts touch keys they derive from their arguments, so they need a single Redis (with
//! replicas if you like), not Redis Cluster.

use super::{BoxFuture, StoreUnavailable};
use crate::error::ConfigError;
use crate::limit::{Bucket, RateDecision, RateLimitStore, Subject};
use crate::tokens::{Principal, RefreshRecord, Spend, TokenStore};
use redis::Script;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use std::sync::{Arc, LazyLock};
use std::time::Duration;
use tokio::sync::OnceCell;

/// GCRA, the same algorithm as the in-memory limiter: a bucket of `max` requests that earns
/// one back every `interval`. The key holds the theoretical arrival time (TAT) in
/// microseconds of Redis' own clock, so every instance shares one clock, and expires when the
/// bucket is full again.
///
/// KEYS[1] = bucket key; ARGV[1] = interval µs; ARGV[2] = max.
/// Returns {allowed, remaining, retry_after µs, reset µs}.
static GCRA: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
local interval = tonumber(ARGV[1])
local max = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local new_tat = tat + interval
local allow_at = new_tat - interval * max
if now < allow_at then
  return {0, 0, allow_at - now, tat - now}
end
redis.call('SET', KEYS[1], new_tat, 'PX', math.ceil((new_tat - now) / 1000))
return {1, math.floor((now - allow_at) / interval), 0, new_tat - now}
",
    )
});

/// Spends a refresh token. KEYS[1] = token key; ARGV[1] = now (s); ARGV[2] = key prefix.
/// Returns {'fresh', family, principal, expires_at} | {'reused', family, principal} |
/// {'invalid'}. On reuse the family is revoked until its last token would have expired.
static SPEND: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local record = redis.call('HMGET', KEYS[1], 'family', 'principal', 'expires_at', 'spent')
local family = record[1]
if not family then return {'invalid'} end
if redis.call('EXISTS', ARGV[2] .. 'revoked_family:' .. family) == 1 then return {'invalid'} end
if tonumber(record[3]) <= tonumber(ARGV[1]) then return {'invalid'} end
if record[4] == '1' then
  local last = redis.call('GET', ARGV[2] .. 'family:' .. family) or record[3]
  redis.call('SET', ARGV[2] .. 'revoked_family:' .. family, '1', 'EXAT', last)
  return {'reused', family, record[2]}
end
redis.call('HSET', KEYS[1], 'spent', '1')
return {'fresh', family, record[2], record[3]}
",
    )
});

/// Revokes a family until its last token would have expired. KEYS[1] = family key,
/// KEYS[2] = revoked-family key.
static REVOKE_FAMILY: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local last = redis.call('GET', KEYS[1])
if last then redis.call('SET', KEYS[2], '1', 'EXAT', last) end
return 1
",
    )
});

/// Rate limits and token state in Redis. Cloning shares the connection.
#[derive(Clone)]
pub struct RedisStore {
    inner: Arc<Inner>,
}

struct Inner {
    client: redis::Client,
    connection: OnceCell<ConnectionManager>,
    prefix: String,
    timeout: Duration,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may hold a password: it is not printed.
        f.debug_struct("RedisStore")
            .field("prefix", &self.inner.prefix)
            .field("timeout", &self.inner.timeout)
            .finish_non_exhaustive()
    }
}

impl RedisStore {
    /// A store for the Redis at `url` (`redis://host:6379/0`, `rediss://…` for TLS, with
    /// certificate verification). Nothing is connected until the first request, so an API
    /// can start while Redis is down — and will deny until it is up.
    pub fn new(url: &str) -> Result<Self, ConfigError> {
        let client = redis::Client::open(url).map_err(|error| ConfigError::Invalid {
            name: "SECURE_API_REDIS_URL".into(),
            // redis-rs describes the URL's shape, never its password.
            reason: format!("{:?}", error.kind()),
        })?;
        Ok(Self {
            inner: Arc::new(Inner {
                client,
                connection: OnceCell::new(),
                prefix: "secure_api:".to_owned(),
                timeout: Duration::from_millis(500),
            }),
        })
    }

    /// Prefixes every key (default `secure_api:`), to share a Redis between applications.
    pub fn with_prefix(self, prefix: impl Into<String>) -> Self {
        self.with_inner(|inner| inner.prefix = prefix.into())
    }

    /// The longest a call may take before the request is denied (default 500 ms).
    pub fn with_timeout(self, timeout: Duration) -> Self {
        self.with_inner(|inner| inner.timeout = timeout)
    }

    fn with_inner(self, change: impl FnOnce(&mut Inner)) -> Self {
        let mut inner = Arc::try_unwrap(self.inner).unwrap_or_else(|shared| Inner {
            client: shared.client.clone(),
            connection: OnceCell::new(),
            prefix: shared.prefix.clone(),
            timeout: shared.timeout,
        });
        change(&mut inner);
        Self {
            inner: Arc::new(inner),
        }
    }

    /// The connection, made on first use. The manager reconnects by itself after Redis went
    /// away; each call is still bounded by the timeout.
    async fn connection(&self) -> Result<ConnectionManager, StoreUnavailable> {
        let inner = &self.inner;
        let connect = || async {
            let config = ConnectionManagerConfig::new()
                .set_connection_timeout(inner.timeout)
                .set_response_timeout(inner.timeout)
                .set_number_of_retries(1)
                .set_max_delay(1_000);
            ConnectionManager::new_with_config(inner.client.clone(), config)
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
        operation: impl AsyncFnOnce(&mut ConnectionManager) -> redis::RedisResult<T>,
    ) -> Result<T, StoreUnavailable> {
        let mut connection = self.connection().await?;
        tokio::time::timeout(self.inner.timeout, operation(&mut connection))
            .await
            .map_err(|_| StoreUnavailable("redis: timed out".into()))?
            .map_err(unavailable)
    }

    fn key(&self, parts: &[&str]) -> String {
        let mut key = self.inner.prefix.clone();
        key.push_str(&parts.join(":"));
        key
    }
}

fn unavailable(error: redis::RedisError) -> StoreUnavailable {
    // The kind and category only: a message could echo a key, and keys hold subjects.
    StoreUnavailable(format!("redis: {} ({:?})", error.category(), error.kind()))
}

fn subject_key(subject: &Subject) -> String {
    match subject {
        Subject::Ip(address) => format!("ip:{address}"),
        Subject::User(user) => format!("user:{user}"),
        Subject::Global => "global".to_owned(),
    }
}

impl RateLimitStore for RedisStore {
    fn check<'a>(
        &'a self,
        bucket: &'a Bucket,
        subject: &'a Subject,
    ) -> BoxFuture<'a, Result<RateDecision, StoreUnavailable>> {
        Box::pin(async move {
            let rate = bucket.rate;
            let interval_us = (rate.window.as_micros() / u128::from(rate.max.max(1))).max(1);
            let key = self.key(&[
                "rate",
                bucket.name,
                &format!("{}/{}", rate.max, rate.window.as_secs()),
                &subject_key(subject),
            ]);
            let (allowed, remaining, retry_after_us, reset_us): (i64, i64, i64, i64) = self
                .call(async |connection| {
                    GCRA.key(&key)
                        .arg(interval_us as u64)
                        .arg(rate.max)
                        .invoke_async(connection)
                        .await
                })
                .await?;
            let micros = |value: i64| Duration::from_micros(value.max(0) as u64);
            Ok(RateDecision {
                allowed: allowed == 1,
                rate,
                remaining: remaining.clamp(0, i64::from(u32::MAX)) as u32,
                retry_after: micros(retry_after_us),
                reset: micros(reset_us),
            })
        })
    }
}

fn principal_from(json: &str) -> Result<Principal, StoreUnavailable> {
    serde_json::from_str(json).map_err(|error| {
        StoreUnavailable(format!(
            "redis: unreadable refresh record ({:?})",
            error.classify()
        ))
    })
}

impl TokenStore for RedisStore {
    fn insert(&self, record: RefreshRecord) -> BoxFuture<'_, Result<(), StoreUnavailable>> {
        Box::pin(async move {
            let principal = serde_json::to_string(&record.principal)
                .map_err(|_| StoreUnavailable("redis: cannot encode principal".into()))?;
            let token_key = self.key(&["refresh", &record.hash]);
            let family_key = self.key(&["family", &record.family]);
            let expires_at = record.expires_at;
            self.call(async |connection| {
                redis::pipe()
                    .atomic()
                    .hset_multiple(
                        &token_key,
                        &[
                            ("family", record.family.as_str()),
                            ("principal", principal.as_str()),
                            ("expires_at", &expires_at.to_string()),
                            ("spent", "0"),
                        ],
                    )
                    .ignore()
                    .expire_at(&token_key, expires_at as i64)
                    .ignore()
                    // Tokens of a family are issued in order, so the newest expires last.
                    .cmd("SET")
                    .arg(&family_key)
                    .arg(expires_at)
                    .arg("EXAT")
                    .arg(expires_at)
                    .ignore()
                    .query_async::<()>(connection)
                    .await
            })
            .await
        })
    }

    fn spend<'a>(
        &'a self,
        hash: &'a str,
        now: u64,
    ) -> BoxFuture<'a, Result<Spend, StoreUnavailable>> {
        Box::pin(async move {
            let key = self.key(&["refresh", hash]);
            let prefix = self.inner.prefix.clone();
            let reply: Vec<String> = self
                .call(async |connection| {
                    SPEND
                        .key(&key)
                        .arg(now)
                        .arg(&prefix)
                        .invoke_async(connection)
                        .await
                })
                .await?;
            match reply.as_slice() {
                [outcome, family, principal, expires_at] if outcome == "fresh" => {
                    Ok(Spend::Fresh(RefreshRecord {
                        hash: hash.to_owned(),
                        family: family.clone(),
                        principal: principal_from(principal)?,
                        expires_at: expires_at.parse().unwrap_or(0),
                    }))
                }
                [outcome, family, principal] if outcome == "reused" => Ok(Spend::Reused {
                    family: family.clone(),
                    subject: principal_from(principal)?.subject,
                }),
                _ => Ok(Spend::Invalid),
            }
        })
    }

    fn revoke_family<'a>(&'a self, family: &'a str) -> BoxFuture<'a, Result<(), StoreUnavailable>> {
        Box::pin(async move {
            let family_key = self.key(&["family", family]);
            let revoked_key = self.key(&["revoked_family", family]);
            self.call(async |connection| {
                REVOKE_FAMILY
                    .key(&family_key)
                    .key(&revoked_key)
                    .invoke_async::<()>(connection)
                    .await
            })
            .await
        })
    }

    fn family_of<'a>(
        &'a self,
        hash: &'a str,
        subject: &'a str,
    ) -> BoxFuture<'a, Result<Option<String>, StoreUnavailable>> {
        Box::pin(async move {
            let key = self.key(&["refresh", hash]);
            let (family, principal): (Option<String>, Option<String>) = self
                .call(async |connection| {
                    redis::cmd("HMGET")
                        .arg(&key)
                        .arg("family")
                        .arg("principal")
                        .query_async(connection)
                        .await
                })
                .await?;
            let (Some(family), Some(principal)) = (family, principal) else {
                return Ok(None);
            };
            let owner = principal_from(&principal)?.subject;
            Ok((owner == subject).then_some(family))
        })
    }

    fn revoke_access<'a>(
        &'a self,
        jti: &'a str,
        until: u64,
    ) -> BoxFuture<'a, Result<(), StoreUnavailable>> {
        Box::pin(async move {
            let key = self.key(&["revoked_access", jti]);
            self.call(async |connection| {
                redis::cmd("SET")
                    .arg(&key)
                    .arg(1)
                    .arg("EXAT")
                    .arg(until.max(1))
                    .query_async::<()>(connection)
                    .await
            })
            .await
        })
    }

    fn is_revoked<'a>(
        &'a self,
        jti: &'a str,
        _now: u64,
    ) -> BoxFuture<'a, Result<bool, StoreUnavailable>> {
        Box::pin(async move {
            // The key expires with the token: its presence is the answer.
            let key = self.key(&["revoked_access", jti]);
            self.call(async |connection| {
                redis::cmd("EXISTS").arg(&key).query_async(connection).await
            })
            .await
        })
    }
}
