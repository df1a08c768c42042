//! Where refresh families and revoked access tokens live: the [`TokenStore`] trait, what it
//! stores, and the in-memory store.

use crate::store::{BoxFuture, StoreUnavailable};
use crate::time::now;
use serde::Serialize;
use std::collections::HashMap;
use std::sync::Mutex;

/// Who a login established, and how: what the issued tokens will say.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize, Serialize)]
pub struct Principal {
    /// The `sub` claim.
    pub subject: String,
    /// The `roles` claim.
    pub roles: Vec<String>,
    /// The `scope` claim.
    pub scopes: Vec<String>,
    /// Authentication methods (RFC 8176), e.g. `["pwd"]` or `["pwd", "otp"]`.
    pub amr: Vec<String>,
    /// When the user authenticated, in seconds since the epoch.
    pub auth_time: u64,
}

impl Principal {
    /// A principal that authenticated just now with `amr`.
    pub fn new(subject: impl Into<String>, amr: &[&str]) -> Self {
        Self {
            subject: subject.into(),
            roles: Vec::new(),
            scopes: Vec::new(),
            amr: amr.iter().map(|method| (*method).to_owned()).collect(),
            auth_time: now(),
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
}

/// A refresh token as the store keeps it: by the hash of the token, never the token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshRecord {
    /// The key the token is found by: `<family>.<SHA-256 of the token, hex>`. The family
    /// comes first so that a store keeping each family in one place (Redis Cluster) finds it
    /// from the key alone.
    pub hash: String,
    /// The rotation chain this token belongs to; reuse revokes the whole family.
    pub family: String,
    /// Who the token was issued to, with the roles and factors of the original login.
    pub principal: Principal,
    /// Expiry, in seconds since the epoch.
    pub expires_at: u64,
}

/// The outcome of spending a refresh token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Spend {
    /// The token was live and is now spent.
    Fresh(RefreshRecord),
    /// The token had been spent before: someone holds a copy. Its family is now revoked.
    Reused {
        /// The revoked family.
        family: String,
        /// Whose family it was.
        subject: String,
    },
    /// Unknown, expired, or of a revoked family.
    Invalid,
}

/// Where refresh families and revoked access tokens live. Every operation is atomic on its
/// own; `spend` in particular must mark a token spent and report its prior state in one step,
/// so that two concurrent refreshes with one token cannot both succeed.
pub trait TokenStore: Send + Sync + 'static {
    /// Records a newly issued refresh token.
    fn insert(&self, record: RefreshRecord) -> BoxFuture<'_, Result<(), StoreUnavailable>>;
    /// Spends a refresh token by hash; on reuse, revokes its family before answering.
    fn spend<'a>(
        &'a self,
        hash: &'a str,
        now: u64,
    ) -> BoxFuture<'a, Result<Spend, StoreUnavailable>>;
    /// Revokes a whole refresh family (logout, reuse).
    fn revoke_family<'a>(&'a self, family: &'a str) -> BoxFuture<'a, Result<(), StoreUnavailable>>;
    /// The family of a refresh token, if it is known and belongs to `subject`.
    fn family_of<'a>(
        &'a self,
        hash: &'a str,
        subject: &'a str,
    ) -> BoxFuture<'a, Result<Option<String>, StoreUnavailable>>;
    /// Revokes an access token by `jti` until `until` (its own expiry).
    fn revoke_access<'a>(
        &'a self,
        jti: &'a str,
        until: u64,
    ) -> BoxFuture<'a, Result<(), StoreUnavailable>>;
    /// Whether an access token was revoked.
    fn is_revoked<'a>(
        &'a self,
        jti: &'a str,
        now: u64,
    ) -> BoxFuture<'a, Result<bool, StoreUnavailable>>;
}

/// The in-memory token store: the default for a single instance.
///
/// It holds at most [`DEFAULT_MAX_TOKENS`] refresh tokens (or
/// [`with_max_tokens`](Self::with_max_tokens)), and as many revoked access tokens. Expired
/// entries are swept once a minute, and at once when the store is full; a revoked family is
/// remembered until its last token would have expired. When a sweep leaves it full, a new
/// refresh token or revocation is refused ([`StoreUnavailable`]: the sign-in or logout is
/// answered 503) — no session is dropped to make room.
#[derive(Debug)]
pub struct MemoryTokenStore {
    state: Mutex<MemoryTokens>,
    max_tokens: usize,
}

/// The refresh tokens a [`MemoryTokenStore`] holds at most by default (≈ 30 MiB of records).
pub const DEFAULT_MAX_TOKENS: usize = 100_000;

/// How often expired entries are swept, in seconds.
const SWEEP_SECS: u64 = 60;

#[derive(Debug, Default)]
struct MemoryTokens {
    refresh: HashMap<String, (RefreshRecord, bool)>,
    /// Each family's last expiry: how long a revocation of it must be remembered.
    families: HashMap<String, u64>,
    revoked_families: HashMap<String, u64>,
    revoked_access: HashMap<String, u64>,
    last_sweep: u64,
    last_full_sweep: u64,
}

impl MemoryTokens {
    /// Drops what has expired: at most every `SWEEP_SECS`, or (`full`) once a second while
    /// the store is full, so that a flood of sign-ins cannot make every one of them scan it.
    fn sweep(&mut self, now: u64, full: bool) {
        let last = match full {
            true => &mut self.last_full_sweep,
            false => &mut self.last_sweep,
        };
        let due = match full {
            true => now > *last,
            false => now >= *last + SWEEP_SECS,
        };
        if !due {
            return;
        }
        *last = now;
        self.refresh
            .retain(|_, (record, _)| record.expires_at > now);
        for until in [
            &mut self.families,
            &mut self.revoked_families,
            &mut self.revoked_access,
        ] {
            until.retain(|_, until| *until > now);
        }
    }

    /// Makes room for one more entry in a map of `len` entries, or says there is none.
    fn room(
        &mut self,
        len: impl Fn(&Self) -> usize,
        max: usize,
        now: u64,
    ) -> Result<(), StoreUnavailable> {
        self.sweep(now, false);
        if len(self) >= max {
            self.sweep(now, true);
        }
        match len(self) < max {
            true => Ok(()),
            false => Err(StoreUnavailable(format!(
                "the in-memory token store holds its maximum of {max} entries"
            ))),
        }
    }
}

impl Default for MemoryTokenStore {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryTokenStore {
    /// An empty store holding at most [`DEFAULT_MAX_TOKENS`] refresh tokens.
    pub fn new() -> Self {
        Self::with_max_tokens(DEFAULT_MAX_TOKENS)
    }

    /// An empty store holding at most `max` refresh tokens (and `max` revoked access tokens).
    pub fn with_max_tokens(max: usize) -> Self {
        Self {
            state: Mutex::default(),
            max_tokens: max,
        }
    }

    fn with<T>(&self, change: impl FnOnce(&mut MemoryTokens) -> T) -> T {
        let mut state = self
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        change(&mut state)
    }
}

impl TokenStore for MemoryTokenStore {
    fn insert(&self, record: RefreshRecord) -> BoxFuture<'_, Result<(), StoreUnavailable>> {
        let inserted = self.with(|state| {
            state.room(|state| state.refresh.len(), self.max_tokens, now())?;
            let last = state.families.entry(record.family.clone()).or_default();
            *last = (*last).max(record.expires_at);
            state.refresh.insert(record.hash.clone(), (record, false));
            Ok(())
        });
        Box::pin(std::future::ready(inserted))
    }

    fn spend<'a>(
        &'a self,
        hash: &'a str,
        now: u64,
    ) -> BoxFuture<'a, Result<Spend, StoreUnavailable>> {
        let spend = self.with(|state| {
            let Some((record, spent)) = state.refresh.get_mut(hash) else {
                return Spend::Invalid;
            };
            if state.revoked_families.contains_key(&record.family) || record.expires_at <= now {
                return Spend::Invalid;
            }
            if *spent {
                let family = record.family.clone();
                let subject = record.principal.subject.clone();
                let until = state
                    .families
                    .get(&family)
                    .copied()
                    .unwrap_or(record.expires_at);
                state.revoked_families.insert(family.clone(), until);
                return Spend::Reused { family, subject };
            }
            *spent = true;
            Spend::Fresh(record.clone())
        });
        Box::pin(std::future::ready(Ok(spend)))
    }

    fn revoke_family<'a>(&'a self, family: &'a str) -> BoxFuture<'a, Result<(), StoreUnavailable>> {
        // A family this store does not know has no token here to revoke.
        self.with(|state| {
            if let Some(until) = state.families.get(family).copied() {
                state.revoked_families.insert(family.to_owned(), until);
            }
        });
        Box::pin(std::future::ready(Ok(())))
    }

    fn family_of<'a>(
        &'a self,
        hash: &'a str,
        subject: &'a str,
    ) -> BoxFuture<'a, Result<Option<String>, StoreUnavailable>> {
        let family = self.with(|state| {
            state
                .refresh
                .get(hash)
                .filter(|(record, _)| record.principal.subject == subject)
                .map(|(record, _)| record.family.clone())
        });
        Box::pin(std::future::ready(Ok(family)))
    }

    fn revoke_access<'a>(
        &'a self,
        jti: &'a str,
        until: u64,
    ) -> BoxFuture<'a, Result<(), StoreUnavailable>> {
        let revoked = self.with(|state| {
            if !state.revoked_access.contains_key(jti) {
                state.room(|state| state.revoked_access.len(), self.max_tokens, now())?;
            }
            state.revoked_access.insert(jti.to_owned(), until);
            Ok(())
        });
        Box::pin(std::future::ready(revoked))
    }

    fn is_revoked<'a>(
        &'a self,
        jti: &'a str,
        now: u64,
    ) -> BoxFuture<'a, Result<bool, StoreUnavailable>> {
        let revoked = self.with(|state| {
            state
                .revoked_access
                .get(jti)
                .is_some_and(|until| *until > now)
        });
        Box::pin(std::future::ready(Ok(revoked)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(hash: &str, family: &str, expires_at: u64) -> RefreshRecord {
        RefreshRecord {
            hash: hash.into(),
            family: family.into(),
            principal: Principal::new("alice", &["pwd"]),
            expires_at,
        }
    }

    #[tokio::test]
    async fn memory_store_spends_once_and_revokes_on_reuse() {
        let store = MemoryTokenStore::new();
        let later = now() + 60;
        store
            .insert(record("a", "f1", later))
            .await
            .expect("insert");
        store
            .insert(record("b", "f1", later))
            .await
            .expect("insert");
        assert!(matches!(store.spend("a", now()).await, Ok(Spend::Fresh(_))));
        assert!(matches!(
            store.spend("a", now()).await,
            Ok(Spend::Reused { ref family, .. }) if family == "f1"
        ));
        // The family is revoked: its unspent sibling is dead too.
        assert_eq!(
            store.spend("b", now()).await.expect("spend"),
            Spend::Invalid
        );
        assert_eq!(
            store.spend("nope", now()).await.expect("spend"),
            Spend::Invalid
        );
        store
            .insert(record("c", "f2", now()))
            .await
            .expect("insert");
        assert_eq!(
            store.spend("c", now()).await.expect("spend"),
            Spend::Invalid
        );
    }

    /// Full after a sweep: a new sign-in is refused, and no session is dropped for it.
    #[tokio::test]
    async fn a_full_store_refuses_new_tokens_and_keeps_the_old() {
        let store = MemoryTokenStore::with_max_tokens(2);
        let later = now() + 60;
        store
            .insert(record("a", "f1", later))
            .await
            .expect("insert");
        store
            .insert(record("b", "f2", later))
            .await
            .expect("insert");
        assert!(store.insert(record("c", "f3", later)).await.is_err());
        assert!(matches!(store.spend("a", now()).await, Ok(Spend::Fresh(_))));
        // An expired entry makes room at once.
        let store = MemoryTokenStore::with_max_tokens(1);
        store
            .insert(record("old", "f1", now()))
            .await
            .expect("insert");
        store
            .insert(record("new", "f2", later))
            .await
            .expect("room made");
    }

    #[tokio::test]
    async fn revoked_access_tokens_expire_from_the_list() {
        let store = MemoryTokenStore::new();
        store.revoke_access("j1", now() + 60).await.expect("revoke");
        assert!(store.is_revoked("j1", now()).await.expect("check"));
        assert!(!store.is_revoked("j1", now() + 61).await.expect("check"));
        assert!(!store.is_revoked("j2", now()).await.expect("check"));
    }
}
