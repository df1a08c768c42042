//! `Security`: the application-wide state every guard reads — the token verifier, the token
//! issuer, the rate limits, the trusted proxies and the audit counters. It is built by
//! [`SecurityBuilder`](crate::SecurityBuilder) and only read afterwards.

use crate::apikey::ApiKeys;
use crate::audit::{Counter, Counters};
use crate::client::TrustedProxies;
use crate::error::ConfigError;
use crate::jwt::{Algorithm, ClaimProfile, Identity, TokenRejection, Verifier};
use crate::limit::{Limits, RateLimitStore};
use crate::tokens::{Issuer, Principal, TokenError, TokenPair};
use std::sync::Arc;
use std::time::Duration;

/// The application-wide security configuration. Put it in the router's state (directly or
/// through `FromRef`); every `#[secure]` handler reads it.
///
/// Cloning is cheap: clones share keys and rate-limit state.
#[derive(Clone)]
pub struct Security {
    inner: Arc<Inner>,
}

/// The parts of [`Security`], each owned by the module of its concern.
pub(crate) struct Inner {
    pub(crate) verifier: Verifier,
    pub(crate) issuer: Issuer,
    pub(crate) limits: Limits,
    pub(crate) api_keys: ApiKeys,
    pub(crate) trusted_proxies: TrustedProxies,
    pub(crate) counters: Counters,
}

impl Security {
    pub(crate) fn new(inner: Inner) -> Self {
        Self {
            inner: Arc::new(inner),
        }
    }

    /// Where every budget and one-time state lives (in memory, or the Redis of
    /// [`SecurityBuilder::redis`](crate::SecurityBuilder::redis)). Give it to `Login` and
    /// `Totp` so that their lock-outs and replay checks hold across every instance.
    pub fn limit_store(&self) -> Arc<dyn RateLimitStore> {
        Arc::clone(&self.inner.limits.store)
    }

    /// The API keys of machine clients: make, list and revoke them (an administrator's
    /// routes), for handlers marked `#[secure(api_key)]` or `#[secure(bearer_or_api_key)]`.
    pub fn api_keys(&self) -> &ApiKeys {
        &self.inner.api_keys
    }

    /// The configured issuer.
    pub fn issuer(&self) -> &str {
        self.inner.verifier.issuer()
    }

    /// The configured audience; `None` when tokens are bound by `client_id` alone
    /// ([`ClaimProfile::bind_client_ids`]).
    pub fn audience(&self) -> Option<&str> {
        self.inner.verifier.audience()
    }

    /// Where roles and scopes are read and how tokens are bound to this API; its `Display`
    /// says it in one line (the startup log, [`Manifest::with_claims`](crate::routing::Manifest::with_claims)).
    pub fn claims(&self) -> &ClaimProfile {
        self.inner.verifier.claims()
    }

    /// The algorithms tokens may be signed with: exactly those of the configured keys.
    pub fn algorithms(&self) -> Vec<Algorithm> {
        self.inner
            .verifier
            .keys()
            .map(|key| key.algorithm())
            .collect()
    }

    /// The public halves of every asymmetric key of this configuration, as a JWK Set
    /// (RFC 7517 §5): each with its `kid`, `alg` and `use: "sig"`. Serve it (e.g. at
    /// `/.well-known/jwks.json`) so that other services verify the tokens this one signs with
    /// a private key (`Key::private_pem`) — they read it with
    /// [`Key::from_jwk_set`](crate::jwt::Key::from_jwk_set). An HMAC secret is never in it:
    /// with HMAC keys only, `keys` is empty.
    pub fn jwks(&self) -> serde_json::Value {
        let keys: Vec<serde_json::Value> = self
            .inner
            .verifier
            .keys()
            .filter_map(|key| key.public_jwk())
            .collect();
        serde_json::json!({ "keys": keys })
    }

    /// Allow, deny and throttle counts per handler and reason, since start (O2): what to
    /// watch for suspicious activity.
    pub fn counters(&self) -> Vec<Counter> {
        self.inner.counters.snapshot()
    }

    /// Verifies a compact JWT against the key set and the configured claims.
    pub fn verify(&self, token: &str) -> Result<Identity, TokenRejection> {
        self.inner.verifier.verify(token)
    }

    /// Whether this configuration can issue tokens ([`issue`](Self::issue),
    /// [`mint`](Self::mint)): it has a key that signs (an HMAC secret or a private key) and
    /// an audience to write in them. A configuration that only verifies (public keys, keys
    /// fetched from a provider, or tokens bound by `client_id` alone) cannot; a service that
    /// issues tokens checks this at start-up rather than answer 500 to its first login.
    pub fn can_issue_tokens(&self) -> bool {
        self.inner.issuer.can_issue()
    }

    /// Issues an access token and a new refresh family for a principal that just logged in.
    pub async fn issue(&self, principal: &Principal) -> Result<TokenPair, TokenError> {
        self.inner.issuer.issue(principal).await
    }

    /// Spends a refresh token and returns a new pair in the same family. Presenting a token
    /// that was already spent revokes its whole family — the legitimate holder and the thief
    /// alike must sign in again — and is audited.
    pub async fn refresh(&self, refresh_token: &str) -> Result<TokenPair, TokenError> {
        self.inner.issuer.refresh(refresh_token).await
    }

    /// Logs out: revokes the caller's access token until it expires and, if given, the
    /// refresh family of `refresh_token` (only if it belongs to the same subject).
    pub async fn logout(
        &self,
        user: &Identity,
        refresh_token: Option<&str>,
    ) -> Result<(), TokenError> {
        self.inner.issuer.logout(user, refresh_token).await
    }

    /// Signs an access token for `principal`, valid for `ttl`.
    pub fn sign_access_token(
        &self,
        principal: &Principal,
        ttl: Duration,
    ) -> Result<String, ConfigError> {
        self.inner.issuer.sign_access_token(principal, ttl)
    }

    /// Signs an access token for `subject` with the first key that can sign (an HMAC or a
    /// private key),
    /// valid for `ttl`, with no refresh token. Meant for development and tests; see
    /// [`Security::issue`] for the full lifecycle.
    pub fn mint(
        &self,
        subject: &str,
        roles: &[&str],
        scopes: &[&str],
        ttl: Duration,
    ) -> Result<String, ConfigError> {
        let principal = Principal::new(subject, &[])
            .with_roles(roles)
            .with_scopes(scopes);
        self.sign_access_token(&principal, ttl)
    }

    /// The parts the guard and the issuing code read.
    pub(crate) fn parts(&self) -> &Inner {
        &self.inner
    }
}

impl std::fmt::Debug for Security {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Security")
            .field("issuer", &self.issuer())
            .field("audience", &self.audience())
            .field("claims", self.claims())
            .field("keys", &self.inner.verifier.keys().collect::<Vec<_>>())
            .field("default_rate", &self.inner.limits.default_rate)
            .finish_non_exhaustive()
    }
}

/// An uninhabited state type. Its only purpose is a second `FromRef<_> for Security` impl
/// besides axum's `FromRef<T> for T`: with just that one, rustc settles an unknown router
/// state to `Security` itself, and an application state that lacks the configuration is then
/// reported as a confusing type mismatch instead of the missing `FromRef` impl.
#[doc(hidden)]
pub enum __NoState {}

impl axum::extract::FromRef<__NoState> for Security {
    fn from_ref(state: &__NoState) -> Security {
        match *state {}
    }
}
