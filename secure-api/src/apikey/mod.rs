//! API keys for machine clients: made by an administrator for a service account, sent in the
//! `X-API-Key` header, accepted by handlers marked `#[secure(api_key)]` or
//! `#[secure(bearer_or_api_key)]`.
//!
//! - **Format** `<prefix>_<id>_<secret><checksum>` (`sapi_…` unless configured): secret
//!   scanners match the prefix, and the checksum turns a typo into "malformed" without a
//!   lookup. The key id is not secret; it names the key everywhere.
//! - **At rest** only the SHA-256 of the key is kept, found by the key id and compared in
//!   constant time. The key is shown once, when it is made.
//! - **Scoped, owned, expiring, revocable**: each key carries roles and scopes that the
//!   handler's requirement is checked against, an owner (the subject of its requests), an
//!   optional expiry, and its last-used time.
//! - **Never in a URL**: a key in a query string is refused, since URLs end up in logs.
//!
//! ```no_run
//! use secure_api::Security;
//! use secure_api::apikey::NewApiKey;
//! use std::time::Duration;
//!
//! # async fn run(security: Security) -> Result<(), Box<dyn std::error::Error>> {
//! let created = security
//!     .api_keys()
//!     .create(
//!         NewApiKey::new("svc-reports", "nightly export")
//!             .with_scopes(&["reports:read"])
//!             .expires_in(Duration::from_secs(90 * 24 * 3600)),
//!     )
//!     .await?;
//! println!("the key, shown once: {}", created.key.expose());
//! security.api_keys().revoke(&created.info.id).await?;
//! # Ok(()) }
//! ```

mod format;
mod store;

pub use format::DEFAULT_PREFIX;
pub use store::{
    ApiKeyInfo, ApiKeyRecord, ApiKeyStore, DEFAULT_MAX_API_KEYS, LAST_USED_PRECISION,
    MemoryApiKeyStore,
};

use crate::store::StoreUnavailable;
use crate::time::now;
use std::sync::Arc;
use std::time::Duration;

/// The header API keys are sent in: the most common convention (AWS API Gateway, and most
/// APIs that take keys), and one that proxies do not log the way they log URLs.
pub const HEADER: &str = "x-api-key";

/// The longest owner, name, role or scope a key may have, in characters (as the error says,
/// and as a JSON Schema's `maxLength` counts them).
const MAX_FIELD_LEN: usize = 200;

/// The API keys of an application: making, listing and revoking them, and checking a
/// presented key. Reached through [`Security::api_keys`](crate::Security::api_keys).
#[derive(Clone)]
pub struct ApiKeys {
    store: Arc<dyn ApiKeyStore>,
    prefix: Arc<str>,
}

impl std::fmt::Debug for ApiKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiKeys")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

/// A key to make: whose, what for, what it grants, for how long.
#[derive(Debug, Clone)]
pub struct NewApiKey {
    owner: String,
    name: String,
    roles: Vec<String>,
    scopes: Vec<String>,
    expires_in: Option<Duration>,
}

impl NewApiKey {
    /// A key for `owner` (a service account: the subject of its requests), described by
    /// `name`, granting nothing beyond authentication until given roles or scopes.
    pub fn new(owner: impl Into<String>, name: impl Into<String>) -> Self {
        Self {
            owner: owner.into(),
            name: name.into(),
            roles: Vec::new(),
            scopes: Vec::new(),
            expires_in: None,
        }
    }

    /// With these roles.
    pub fn with_roles(mut self, roles: &[&str]) -> Self {
        self.roles = roles.iter().map(|role| (*role).to_owned()).collect();
        self
    }

    /// With these scopes.
    pub fn with_scopes(mut self, scopes: &[&str]) -> Self {
        self.scopes = scopes.iter().map(|scope| (*scope).to_owned()).collect();
        self
    }

    /// Stops working after `lifetime`; without it the key works until revoked.
    pub fn expires_in(mut self, lifetime: Duration) -> Self {
        self.expires_in = Some(lifetime);
        self
    }
}

/// A key just made: the key itself, which is shown this once and never stored, and what
/// is stored about it.
#[derive(Debug)]
pub struct CreatedApiKey {
    /// The key, for its holder.
    pub key: ApiKey,
    /// What listings will show of it.
    pub info: ApiKeyInfo,
}

/// The text of an API key. Its `Debug` shows the key id only, so it cannot end up in a log
/// by accident.
pub struct ApiKey {
    text: String,
}

impl ApiKey {
    /// The key, to hand to its holder once.
    pub fn expose(&self) -> &str {
        &self.text
    }
}

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // `<prefix>_<id>`: the secret after the last `_` is base62, so it holds none.
        let named = self.text.rsplit_once('_').map_or("", |(named, _)| named);
        write!(f, "ApiKey({named}…)")
    }
}

/// Why a key could not be made.
#[derive(Debug, thiserror::Error)]
pub enum CreateKeyError {
    /// The owner, name, a role or a scope is empty, too long or holds control characters.
    #[error("invalid API key {0}: it must be 1 to 200 printable characters")]
    Invalid(&'static str),
    /// The store could not keep it.
    #[error(transparent)]
    Store(#[from] StoreUnavailable),
}

/// Why a presented key was refused. Only [`Revoked`](Self::Revoked) and
/// [`Expired`](Self::Expired) are said to the client, since they are given only to a caller
/// who holds the real key.
#[derive(Debug, thiserror::Error)]
pub enum KeyRejection {
    /// Not a key of this application's format, or its checksum does not match (a typo).
    #[error("malformed API key")]
    Malformed,
    /// No key has this id.
    #[error("unknown API key")]
    Unknown,
    /// The id exists but the secret part is wrong.
    #[error("wrong API key secret")]
    WrongSecret,
    /// The key was revoked.
    #[error("revoked API key")]
    Revoked,
    /// The key's lifetime is over.
    #[error("expired API key")]
    Expired,
    /// The store could not be asked; the guard answers 503.
    #[error(transparent)]
    Store(#[from] StoreUnavailable),
}

impl KeyRejection {
    /// A short name for audit events.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Malformed => "api_key_malformed",
            Self::Unknown => "api_key_unknown",
            Self::WrongSecret => "api_key_wrong_secret",
            Self::Revoked => "api_key_revoked",
            Self::Expired => "api_key_expired",
            Self::Store(_) => "store_unavailable",
        }
    }
}

impl ApiKeys {
    /// Keys kept in `store`, made with `prefix` (checked by the builder).
    pub(crate) fn new(store: Arc<dyn ApiKeyStore>, prefix: &str) -> Self {
        Self {
            store,
            prefix: prefix.into(),
        }
    }

    /// The prefix every key of this application starts with.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Makes a key and stores its hash. The returned key is the only copy there will ever be.
    pub async fn create(&self, new: NewApiKey) -> Result<CreatedApiKey, CreateKeyError> {
        check_field("owner", &new.owner)?;
        check_field("name", &new.name)?;
        for role in &new.roles {
            check_field("role", role)?;
        }
        for scope in &new.scopes {
            check_field("scope", scope)?;
        }
        let (id, text) = format::generate(&self.prefix);
        let created_at = now();
        let info = ApiKeyInfo {
            id,
            owner: new.owner,
            name: new.name,
            roles: new.roles,
            scopes: new.scopes,
            created_at,
            expires_at: new
                .expires_in
                .map(|lifetime| created_at.saturating_add(lifetime.as_secs())),
            revoked_at: None,
            last_used_at: None,
        };
        let record = ApiKeyRecord {
            hash: format::digest(&text),
            info,
        };
        self.store.insert_key(&record).await?;
        tracing::info!(
            target: crate::audit::TARGET,
            api_key = %record.info.id,
            owner = %record.info.owner,
            "API key created"
        );
        Ok(CreatedApiKey {
            key: ApiKey { text },
            info: record.info,
        })
    }

    /// The keys of `owner` (of everyone with `None`), revoked and expired ones included,
    /// oldest first — never their secrets.
    pub async fn list(&self, owner: Option<&str>) -> Result<Vec<ApiKeyInfo>, StoreUnavailable> {
        let records = self.store.list_keys(owner).await?;
        Ok(records.into_iter().map(|record| record.info).collect())
    }

    /// The key with this id, if any.
    pub async fn get(&self, id: &str) -> Result<Option<ApiKeyInfo>, StoreUnavailable> {
        Ok(self.store.find_key(id).await?.map(|record| record.info))
    }

    /// Revokes a key at once, for every instance sharing the store; `false` if there is no
    /// such key.
    pub async fn revoke(&self, id: &str) -> Result<bool, StoreUnavailable> {
        let revoked = self.store.revoke_key(id, now()).await?;
        if revoked {
            tracing::info!(target: crate::audit::TARGET, api_key = %id, "API key revoked");
        }
        Ok(revoked)
    }

    /// Checks a presented key: its format and checksum, then its hash against the stored one
    /// (in constant time), then revocation and expiry. A key that passes has its last-used
    /// time brought up to date, at most once a [`LAST_USED_PRECISION`].
    pub async fn verify(&self, presented: &str) -> Result<ApiKeyInfo, KeyRejection> {
        use subtle::ConstantTimeEq as _;
        let id = format::key_id(&self.prefix, presented).ok_or(KeyRejection::Malformed)?;
        let presented_hash = format::digest(presented);
        let record = self
            .store
            .find_key(id)
            .await?
            .ok_or(KeyRejection::Unknown)?;
        if !bool::from(presented_hash.ct_eq(&record.hash)) {
            return Err(KeyRejection::WrongSecret);
        }
        let info = record.info;
        let at = now();
        if info.revoked_at.is_some() {
            return Err(KeyRejection::Revoked);
        }
        if info.expires_at.is_some_and(|expires_at| expires_at <= at) {
            return Err(KeyRejection::Expired);
        }
        let stale = info
            .last_used_at
            .is_none_or(|used| at.saturating_sub(used) >= LAST_USED_PRECISION);
        if stale && let Err(error) = self.store.touch_key(&info.id, at).await {
            // Bookkeeping only: the key was verified against the store a moment ago.
            tracing::warn!(target: crate::audit::TARGET, %error, api_key = %info.id, "could not record an API key's last use");
        }
        Ok(info)
    }

    /// The id of a well-formed key of this application (its checksum matching), for audit
    /// events about a key that was refused.
    pub(crate) fn key_id<'k>(&self, key: &'k str) -> Option<&'k str> {
        format::key_id(&self.prefix, key)
    }

    /// Whether `text` starts like one of this application's keys, well-formed or not.
    pub(crate) fn looks_like_key(&self, text: &str) -> bool {
        format::looks_like_key(&self.prefix, text)
    }
}

fn check_field(what: &'static str, value: &str) -> Result<(), CreateKeyError> {
    let valid = !value.is_empty()
        && value.chars().count() <= MAX_FIELD_LEN
        && !value.chars().any(char::is_control);
    valid.then_some(()).ok_or(CreateKeyError::Invalid(what))
}

/// Whether `prefix` may start this application's keys (see [`SecurityBuilder::api_key_prefix`](crate::SecurityBuilder::api_key_prefix)).
pub(crate) fn is_valid_prefix(prefix: &str) -> bool {
    format::is_valid_prefix(prefix)
}

#[cfg(test)]
mod tests;
