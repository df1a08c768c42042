//! Where API keys are kept: the [`ApiKeyStore`] trait, what it keeps, and the in-memory
//! store.

use crate::store::{BoxFuture, StoreUnavailable};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::RwLock;

/// Everything known about a key except the key: what listings show and what a verified key
/// grants.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct ApiKeyInfo {
    /// The key id: not secret, it names the key in listings, audit events and revocation.
    pub id: String,
    /// Whose key it is (a service account); it is the subject of requests made with it.
    pub owner: String,
    /// What the key is for, as its creator described it.
    pub name: String,
    /// The roles a request made with the key holds.
    pub roles: Vec<String>,
    /// The scopes a request made with the key holds.
    pub scopes: Vec<String>,
    /// When it was created, in seconds since the epoch.
    pub created_at: u64,
    /// When it stops working, in seconds since the epoch; `None`: never.
    pub expires_at: Option<u64>,
    /// When it was revoked, in seconds since the epoch.
    pub revoked_at: Option<u64>,
    /// When it last authenticated a request, to the minute (see [`LAST_USED_PRECISION`]).
    #[cfg_attr(
        feature = "openapi",
        schemars(description = "When it last authenticated a request, to the minute.")
    )]
    pub last_used_at: Option<u64>,
}

/// How stale a key's `last_used_at` may be before a request writes it again: a key in use
/// costs one write a minute, not one per request.
pub const LAST_USED_PRECISION: u64 = 60;

/// A key as a store keeps it: its facts and the SHA-256 of the key, never the key.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKeyRecord {
    /// What the key is and grants.
    pub info: ApiKeyInfo,
    /// SHA-256 of the whole key text.
    pub hash: [u8; 32],
}

impl std::fmt::Debug for ApiKeyRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiKeyRecord")
            .field("info", &self.info)
            .finish_non_exhaustive()
    }
}

/// Where API keys live. Every method answers [`StoreUnavailable`] when the store cannot be
/// asked; the guard then denies (fail closed).
///
/// The method names carry `key` so that one type can be a `TokenStore`, a `RateLimitStore`
/// and an `ApiKeyStore` at once without ambiguity.
pub trait ApiKeyStore: Send + Sync + 'static {
    /// Keeps a new key. A record whose id is already taken is an error, never an overwrite.
    fn insert_key<'a>(
        &'a self,
        record: &'a ApiKeyRecord,
    ) -> BoxFuture<'a, Result<(), StoreUnavailable>>;

    /// The key with this id, revoked and expired ones included.
    fn find_key<'a>(
        &'a self,
        id: &'a str,
    ) -> BoxFuture<'a, Result<Option<ApiKeyRecord>, StoreUnavailable>>;

    /// Every key of `owner` (of every owner with `None`), oldest first.
    fn list_keys<'a>(
        &'a self,
        owner: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Vec<ApiKeyRecord>, StoreUnavailable>>;

    /// Marks the key revoked at `at` (seconds since the epoch); `false` if there is no such
    /// key. Revoking a revoked key keeps the first time.
    fn revoke_key<'a>(
        &'a self,
        id: &'a str,
        at: u64,
    ) -> BoxFuture<'a, Result<bool, StoreUnavailable>>;

    /// Records that the key authenticated a request at `at`.
    fn touch_key<'a>(&'a self, id: &'a str, at: u64)
    -> BoxFuture<'a, Result<(), StoreUnavailable>>;
}

impl<T: ApiKeyStore + ?Sized> ApiKeyStore for std::sync::Arc<T> {
    fn insert_key<'a>(
        &'a self,
        record: &'a ApiKeyRecord,
    ) -> BoxFuture<'a, Result<(), StoreUnavailable>> {
        (**self).insert_key(record)
    }
    fn find_key<'a>(
        &'a self,
        id: &'a str,
    ) -> BoxFuture<'a, Result<Option<ApiKeyRecord>, StoreUnavailable>> {
        (**self).find_key(id)
    }
    fn list_keys<'a>(
        &'a self,
        owner: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Vec<ApiKeyRecord>, StoreUnavailable>> {
        (**self).list_keys(owner)
    }
    fn revoke_key<'a>(
        &'a self,
        id: &'a str,
        at: u64,
    ) -> BoxFuture<'a, Result<bool, StoreUnavailable>> {
        (**self).revoke_key(id, at)
    }
    fn touch_key<'a>(
        &'a self,
        id: &'a str,
        at: u64,
    ) -> BoxFuture<'a, Result<(), StoreUnavailable>> {
        (**self).touch_key(id, at)
    }
}

/// The most keys a [`MemoryApiKeyStore`] holds unless told otherwise.
pub const DEFAULT_MAX_API_KEYS: usize = 100_000;

/// API keys in this process's memory: the default for one instance, gone on restart. At
/// most [`DEFAULT_MAX_API_KEYS`] keys (revoked ones count until the process ends): keys are
/// made by administrators, so the cap is a guard against a runaway script, not an attacker.
#[derive(Debug)]
pub struct MemoryApiKeyStore {
    keys: RwLock<HashMap<String, ApiKeyRecord>>,
    max_keys: usize,
}

impl Default for MemoryApiKeyStore {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryApiKeyStore {
    /// An empty store of at most [`DEFAULT_MAX_API_KEYS`] keys.
    pub fn new() -> Self {
        Self::with_max_keys(DEFAULT_MAX_API_KEYS)
    }

    /// An empty store of at most `max_keys` keys.
    pub fn with_max_keys(max_keys: usize) -> Self {
        Self {
            keys: RwLock::new(HashMap::new()),
            max_keys,
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<String, ApiKeyRecord>> {
        self.keys
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<String, ApiKeyRecord>> {
        self.keys
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl ApiKeyStore for MemoryApiKeyStore {
    fn insert_key<'a>(
        &'a self,
        record: &'a ApiKeyRecord,
    ) -> BoxFuture<'a, Result<(), StoreUnavailable>> {
        let mut keys = self.write();
        let outcome = if keys.contains_key(&record.info.id) {
            Err(StoreUnavailable("an API key with this id exists".into()))
        } else if keys.len() >= self.max_keys {
            Err(StoreUnavailable(format!(
                "the in-memory API key store holds its maximum of {} keys",
                self.max_keys
            )))
        } else {
            keys.insert(record.info.id.clone(), record.clone());
            Ok(())
        };
        Box::pin(std::future::ready(outcome))
    }

    fn find_key<'a>(
        &'a self,
        id: &'a str,
    ) -> BoxFuture<'a, Result<Option<ApiKeyRecord>, StoreUnavailable>> {
        let found = self.read().get(id).cloned();
        Box::pin(std::future::ready(Ok(found)))
    }

    fn list_keys<'a>(
        &'a self,
        owner: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Vec<ApiKeyRecord>, StoreUnavailable>> {
        let mut listed: Vec<ApiKeyRecord> = self
            .read()
            .values()
            .filter(|record| owner.is_none_or(|owner| record.info.owner == owner))
            .cloned()
            .collect();
        listed
            .sort_by(|a, b| (a.info.created_at, &a.info.id).cmp(&(b.info.created_at, &b.info.id)));
        Box::pin(std::future::ready(Ok(listed)))
    }

    fn revoke_key<'a>(
        &'a self,
        id: &'a str,
        at: u64,
    ) -> BoxFuture<'a, Result<bool, StoreUnavailable>> {
        let revoked = self.write().get_mut(id).map(|record| {
            record.info.revoked_at.get_or_insert(at);
        });
        Box::pin(std::future::ready(Ok(revoked.is_some())))
    }

    fn touch_key<'a>(
        &'a self,
        id: &'a str,
        at: u64,
    ) -> BoxFuture<'a, Result<(), StoreUnavailable>> {
        if let Some(record) = self.write().get_mut(id) {
            record.info.last_used_at = Some(at);
        }
        Box::pin(std::future::ready(Ok(())))
    }
}
