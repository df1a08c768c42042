//! Token lifecycle: short-lived access tokens (RFC 9068), opaque refresh tokens rotated on
//! every use with reuse detection, and revocation — over a [`TokenStore`].

use crate::limit::{BoxFuture, StoreUnavailable};
use crate::problem::Problem;
use crate::security::{ConfigError, Security};
use axum::http::StatusCode;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The `typ` header of the access tokens this crate issues and, by default, the only one it
/// accepts (RFC 9068 §2.1, RFC 8725 §3.11): an ID token or any other JWT signed with the same
/// key cannot pass for an access token.
pub const ACCESS_TOKEN_TYPE: &str = "at+jwt";

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

/// What a login or a refresh answers (the shape of an OAuth 2.0 token response).
#[derive(Debug, Clone, Serialize)]
pub struct TokenPair {
    /// The signed access token.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: u64,
    /// The opaque refresh token: 256 random bits, stored server-side only as a hash.
    pub refresh_token: String,
}

/// A refresh token as the store keeps it: by the hash of the token, never the token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshRecord {
    /// SHA-256 of the token, hex.
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

/// The in-memory token store: the default for a single instance. Expired entries are dropped
/// as new ones arrive.
#[derive(Debug, Default)]
pub struct MemoryTokenStore {
    state: Mutex<MemoryTokens>,
}

#[derive(Debug, Default)]
struct MemoryTokens {
    refresh: HashMap<String, (RefreshRecord, bool)>,
    revoked_families: HashSet<String>,
    revoked_access: HashMap<String, u64>,
}

impl MemoryTokenStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
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
        self.with(|state| {
            let now = now();
            state
                .refresh
                .retain(|_, (record, _)| record.expires_at > now);
            state.revoked_access.retain(|_, until| *until > now);
            state.refresh.insert(record.hash.clone(), (record, false));
        });
        Box::pin(std::future::ready(Ok(())))
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
            if state.revoked_families.contains(&record.family) || record.expires_at <= now {
                return Spend::Invalid;
            }
            if *spent {
                let family = record.family.clone();
                let subject = record.principal.subject.clone();
                state.revoked_families.insert(family.clone());
                return Spend::Reused { family, subject };
            }
            *spent = true;
            Spend::Fresh(record.clone())
        });
        Box::pin(std::future::ready(Ok(spend)))
    }

    fn revoke_family<'a>(&'a self, family: &'a str) -> BoxFuture<'a, Result<(), StoreUnavailable>> {
        self.with(|state| state.revoked_families.insert(family.to_owned()));
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
        self.with(|state| state.revoked_access.insert(jti.to_owned(), until));
        Box::pin(std::future::ready(Ok(())))
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

/// Why a token could not be issued, refreshed or revoked.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// The refresh token is unknown, expired, spent or revoked. The client learns no more.
    #[error("the refresh token is not valid")]
    InvalidRefreshToken,
    /// The token store could not be reached; nothing was issued.
    #[error(transparent)]
    Unavailable(#[from] StoreUnavailable),
    /// No key can sign, or signing failed.
    #[error(transparent)]
    Config(#[from] ConfigError),
}

impl From<TokenError> for Problem {
    fn from(error: TokenError) -> Problem {
        match error {
            TokenError::InvalidRefreshToken => Problem::new(
                StatusCode::UNAUTHORIZED,
                "The refresh token is not valid; sign in again.",
            ),
            TokenError::Unavailable(error) => {
                tracing::error!(target: "secure_api::audit", %error, "token store unavailable");
                Problem::unavailable()
            }
            TokenError::Config(error) => {
                tracing::error!(target: "secure_api::config", %error, "cannot sign tokens");
                Problem::internal()
            }
        }
    }
}

impl axum::response::IntoResponse for TokenError {
    fn into_response(self) -> axum::response::Response {
        Problem::from(self).into_response()
    }
}

pub(crate) fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs()
}

fn random_id() -> String {
    format!("{:032x}", rand::random::<u128>())
}

/// SHA-256 of a refresh token, hex: what the store keys it by.
pub(crate) fn refresh_hash(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

fn new_refresh_token() -> String {
    use base64::Engine as _;
    let bytes: [u8; 32] = rand::random();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

impl Security {
    /// Issues an access token and a new refresh family for a principal that just logged in.
    pub async fn issue(&self, principal: &Principal) -> Result<TokenPair, TokenError> {
        self.issue_in_family(principal, random_id()).await
    }

    async fn issue_in_family(
        &self,
        principal: &Principal,
        family: String,
    ) -> Result<TokenPair, TokenError> {
        let access_ttl = self.inner.access_token_ttl;
        let access_token = self.sign_access_token(principal, access_ttl)?;
        let refresh_token = new_refresh_token();
        self.inner
            .token_store
            .insert(RefreshRecord {
                hash: refresh_hash(&refresh_token),
                family,
                principal: principal.clone(),
                expires_at: now() + self.inner.refresh_token_ttl.as_secs(),
            })
            .await?;
        Ok(TokenPair {
            access_token,
            token_type: "Bearer",
            expires_in: access_ttl.as_secs(),
            refresh_token,
        })
    }

    /// Spends a refresh token and returns a new pair in the same family. Presenting a token
    /// that was already spent revokes its whole family — the legitimate holder and the thief
    /// alike must sign in again — and is audited.
    pub async fn refresh(&self, refresh_token: &str) -> Result<TokenPair, TokenError> {
        let spend = self
            .inner
            .token_store
            .spend(&refresh_hash(refresh_token), now())
            .await?;
        match spend {
            Spend::Fresh(record) => {
                let principal = record.principal;
                let pair = self.issue_in_family(&principal, record.family).await?;
                tracing::info!(
                    target: "secure_api::audit",
                    outcome = "allow",
                    reason = "refresh",
                    subject = principal.subject,
                );
                Ok(pair)
            }
            Spend::Reused { family, subject } => {
                tracing::warn!(
                    target: "secure_api::audit",
                    outcome = "deny",
                    reason = "refresh_token_reuse",
                    subject,
                    family,
                    "a spent refresh token was presented again; its family is revoked"
                );
                Err(TokenError::InvalidRefreshToken)
            }
            Spend::Invalid => {
                tracing::warn!(
                    target: "secure_api::audit",
                    outcome = "deny",
                    reason = "refresh_token_invalid",
                );
                Err(TokenError::InvalidRefreshToken)
            }
        }
    }

    /// Logs out: revokes the caller's access token until it expires and, if given, the
    /// refresh family of `refresh_token` (only if it belongs to the same subject).
    pub async fn logout(
        &self,
        user: &crate::AuthUser,
        refresh_token: Option<&str>,
    ) -> Result<(), TokenError> {
        let store = &self.inner.token_store;
        if let Some(jti) = user.jti() {
            store.revoke_access(jti, user.expires_at()).await?;
        }
        if let Some(token) = refresh_token
            && let Some(family) = store
                .family_of(&refresh_hash(token), user.subject())
                .await?
        {
            store.revoke_family(&family).await?;
        }
        tracing::info!(
            target: "secure_api::audit",
            outcome = "allow",
            reason = "logout",
            subject = user.subject(),
        );
        Ok(())
    }

    /// Signs an access token for `principal`, valid for `ttl`.
    pub fn sign_access_token(
        &self,
        principal: &Principal,
        ttl: Duration,
    ) -> Result<String, ConfigError> {
        let now = now();
        let claims = serde_json::json!({
            "iss": self.issuer(),
            "aud": self.audience(),
            "sub": principal.subject,
            "iat": now,
            "nbf": now,
            "exp": now + ttl.as_secs(),
            "jti": random_id(),
            "roles": principal.roles,
            "scope": principal.scopes.join(" "),
            "amr": principal.amr,
            "auth_time": principal.auth_time,
        });
        self.sign(&claims)
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

    #[tokio::test]
    async fn revoked_access_tokens_expire_from_the_list() {
        let store = MemoryTokenStore::new();
        store.revoke_access("j1", now() + 60).await.expect("revoke");
        assert!(store.is_revoked("j1", now()).await.expect("check"));
        assert!(!store.is_revoked("j1", now() + 61).await.expect("check"));
        assert!(!store.is_revoked("j2", now()).await.expect("check"));
    }

    #[test]
    fn refresh_tokens_are_256_bits_and_hashed() {
        let token = new_refresh_token();
        assert_eq!(token.len(), 43);
        assert_ne!(token, new_refresh_token());
        assert_eq!(refresh_hash(&token).len(), 64);
        assert!(!refresh_hash(&token).contains(&token));
    }
}
